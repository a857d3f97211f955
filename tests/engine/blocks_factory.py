"""Hand-written format_version 2 project dicts with blocks, for the block tests."""

from __future__ import annotations

import copy
from typing import Any


def n(node_id: str, op: str, params: dict | None = None, **keys: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"id": node_id, "op": op}
    if params:
        item["params"] = params
    item.update(keys)
    return item


def e(src: str, dst: str, src_port: int = 0, dst_port: int = 0) -> dict[str, Any]:
    item: dict[str, Any] = {"src": src, "dst": dst}
    if src_port or dst_port:
        item.update(src_port=src_port, dst_port=dst_port)
    return item


def basic_block() -> dict[str, Any]:
    """conv-bn-relu-conv-bn + skip (torchvision's BasicBlock, made a little deeper)."""
    return {
        "doc": "two 3x3 convolutions with a skip connection",
        "params": {"channels": {"kind": "int", "default": 16, "min": 1}},
        "graph": {
            "nodes": [n("x", "BlockInput"),
                      n("conv1", "Conv2d", {"out_channels": "$channels", "kernel_size": 3, "padding": 1}),
                      n("bn1", "BatchNorm2d"), n("relu", "ReLU"),
                      n("conv2", "Conv2d", {"out_channels": "$channels", "kernel_size": 3, "padding": 1}),
                      n("skip", "Add"), n("y", "BlockOutput")],
            "edges": [e("x", "conv1"), e("conv1", "bn1"), e("bn1", "relu"), e("relu", "conv2"), e("conv2", "skip"),
                      e("x", "skip", 0, 1), e("skip", "y")],
        },
    }


def stage_block() -> dict[str, Any]:
    """A block that uses blocks: a widening 1x1 conv, then `depth`... here two BasicBlocks (one repeated)."""
    return {
        "doc": "widen with a 1x1 convolution, then residual blocks",
        "params": {"width": {"kind": "int", "default": 8, "min": 1}},
        "graph": {
            "nodes": [n("x", "BlockInput"), n("widen", "Conv2d", {"out_channels": "$width * 2", "kernel_size": 1}),
                      n("res", "Block", {"channels": "$width * 2"}, block="BasicBlock", repeat=2),
                      n("act", "ReLU"), n("y", "BlockOutput")],
            "edges": [e("x", "widen"), e("widen", "res"), e("res", "act"), e("act", "y")],
        },
    }


def nested_project() -> dict[str, Any]:
    """Nested and repeated blocks, and one block used with two different input sizes."""
    return {
        "format": "layerloom", "format_version": 2, "name": "Nested net",
        "blocks": {"BasicBlock": basic_block(), "Stage": stage_block()},
        "graph": {
            "nodes": [n("image", "Input", {"shape": [3, 8, 8]}),
                      n("stem", "Conv2d", {"out_channels": 8, "kernel_size": 3, "padding": 1}),
                      n("stage1", "Block", {"width": 4}, block="Stage"),
                      n("stage2", "Block", {"width": 8}, block="Stage", repeat=2),
                      n("pool", "AdaptiveAvgPool2d", {"output_size": 1}), n("flat", "Flatten"),
                      n("head", "Linear", {"out_features": 5}), n("logits", "Output")],
            "edges": [e("image", "stem"), e("stem", "stage1"), e("stage1", "stage2"), e("stage2", "pool"),
                      e("pool", "flat"), e("flat", "head"), e("head", "logits")],
        },
    }


def two_port_project() -> dict[str, Any]:
    """A block with two inputs and two outputs (ports in listed order)."""
    block = {
        "params": {"features": {"kind": "int", "default": 6}},
        "graph": {
            "nodes": [n("a", "BlockInput"), n("b", "BlockInput"), n("total", "Add"),
                      n("proj", "Linear", {"out_features": "$features"}), n("gate", "Sigmoid"),
                      n("out_proj", "BlockOutput"), n("out_gate", "BlockOutput")],
            "edges": [e("a", "total"), e("b", "total", 0, 1), e("total", "proj"), e("b", "gate"),
                      e("proj", "out_proj"), e("gate", "out_gate")],
        },
    }
    return {
        "format": "layerloom", "format_version": 2, "name": "Two ports",
        "blocks": {"Mixer": block},
        "graph": {
            "nodes": [n("u", "Input", {"shape": [4]}), n("v", "Input", {"shape": [4]}),
                      n("mix", "Block", {"features": 3}, block="Mixer"), n("cat", "Concat", {"dim": 1}),
                      n("y", "Output")],
            "edges": [e("u", "mix"), e("v", "mix", 0, 1), e("mix", "cat"), e("mix", "cat", 1, 1), e("cat", "y")],
        },
    }


def chain_project(instances: int = 50, layers: int = 20, channels: int = 8) -> dict[str, Any]:
    """`instances` instances of one block of `layers` layers in a chain (the benchmark's project)."""
    nodes = [n("x", "BlockInput")]
    edges = []
    prev = "x"
    for i in range(layers):
        op, params = [("Conv2d", {"out_channels": "$channels", "kernel_size": 3, "padding": 1}),
                      ("BatchNorm2d", {}), ("ReLU", {}), ("Dropout", {"p": 0.1})][i % 4]
        node_id = f"layer{i}"
        nodes.append(n(node_id, op, params))
        edges.append(e(prev, node_id))
        prev = node_id
    nodes.append(n("y", "BlockOutput"))
    edges.append(e(prev, "y"))
    block = {"params": {"channels": {"kind": "int", "default": channels}}, "graph": {"nodes": nodes, "edges": edges}}
    top_nodes = [n("image", "Input", {"shape": [channels, 8, 8]})]
    top_edges = []
    prev = "image"
    for i in range(instances):
        top_nodes.append(n(f"unit{i}", "Block", {"channels": channels}, block="Unit"))
        top_edges.append(e(prev, f"unit{i}"))
        prev = f"unit{i}"
    top_nodes.append(n("out", "Output"))
    top_edges.append(e(prev, "out"))
    return {"format": "layerloom", "format_version": 2, "name": "Chain", "blocks": {"Unit": block},
            "graph": {"nodes": top_nodes, "edges": top_edges}}


def edited(data: dict[str, Any], fn) -> dict[str, Any]:
    data = copy.deepcopy(data)
    fn(data)
    return data
