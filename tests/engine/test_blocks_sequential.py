"""Sequential blocks (docs/FILE_FORMAT.md): a chain numbered like nn.Sequential, so state_dict keys are
positions (`layer2.0.downsample.0.weight`) and items of different definitions can follow one another."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from graph_engine import build_model, check, generate_code
from graph_engine.project_io import load_project, project_to_dict
from tests.engine.blocks_factory import e, n
from tests.engine.test_blocks import import_file


def _basic(down: bool) -> dict:
    nodes = [n("x", "BlockInput"),
             n("conv1", "Conv2d", {"out_channels": "$channels", "kernel_size": 3, "stride": "$stride",
                                   "padding": 1, "bias": False}),
             n("bn1", "BatchNorm2d"), n("relu", "ReLU"),
             n("conv2", "Conv2d", {"out_channels": "$channels", "kernel_size": 3, "padding": 1, "bias": False}),
             n("bn2", "BatchNorm2d"), n("add", "Add"), n("relu_1", "ReLU"), n("y", "BlockOutput")]
    edges = [e("x", "conv1"), e("conv1", "bn1"), e("bn1", "relu"), e("relu", "conv2"), e("conv2", "bn2"),
             e("bn2", "add"), e("add", "relu_1"), e("relu_1", "y")]
    if down:
        nodes.insert(-1, n("downsample", "Block", {"channels": "$channels", "stride": "$stride"},
                           block="Downsample"))
        edges += [e("x", "downsample"), e("downsample", "add", 0, 1)]
    else:
        edges.append(e("x", "add", 0, 1))
    params = {"channels": {"kind": "int"}, "stride": {"kind": "int", "default": 1}}
    return {"params": params, "graph": {"nodes": nodes, "edges": edges}}


def resnet_like() -> dict:
    """torchvision's ResNet layout: `layer2 = Sequential(BasicBlock with downsample, BasicBlock)`."""
    downsample = {"sequential": True, "params": {"channels": {"kind": "int"}, "stride": {"kind": "int"}},
                  "graph": {"nodes": [n("x", "BlockInput"),
                                      n("conv", "Conv2d", {"out_channels": "$channels", "kernel_size": 1,
                                                           "stride": "$stride", "bias": False}),
                                      n("bn", "BatchNorm2d"), n("y", "BlockOutput")],
                            "edges": [e("x", "conv"), e("conv", "bn"), e("bn", "y")]}}
    layer = {"sequential": True, "doc": "a stage: one block that changes the size, then plain ones",
             "params": {"channels": {"kind": "int"}, "stride": {"kind": "int", "default": 2},
                        "plain": {"kind": "int", "default": 1}},
             "graph": {"nodes": [n("x", "BlockInput"),
                                 n("first", "Block", {"channels": "$channels", "stride": "$stride"},
                                   block="BasicBlockDown"),
                                 n("rest", "Block", {"channels": "$channels"}, block="BasicBlock", repeat=2),
                                 n("y", "BlockOutput")],
                       "edges": [e("x", "first"), e("first", "rest"), e("rest", "y")]}}
    return {
        "format": "layerloom", "format_version": 2, "name": "Tiny resnet",
        "blocks": {"Downsample": downsample, "BasicBlock": _basic(False), "BasicBlockDown": _basic(True),
                   "Layer": layer},
        "graph": {"nodes": [n("x", "Input", {"shape": [3, 16, 16]}),
                            n("conv1", "Conv2d", {"out_channels": 8, "kernel_size": 3, "padding": 1}),
                            n("layer1", "Block", {"channels": 8, "stride": 1}, block="Layer"),
                            n("layer2", "Block", {"channels": 16}, block="Layer"),
                            n("pool", "AdaptiveAvgPool2d", {"output_size": 1}), n("flat", "Flatten"),
                            n("fc", "Linear", {"out_features": 4}),
                            n("out", "Output")],
                  "edges": [e("x", "conv1"), e("conv1", "layer1"), e("layer1", "layer2"), e("layer2", "pool"),
                            e("pool", "flat"), e("flat", "fc"), e("fc", "out")]},
    }


def _torch_reference() -> nn.Module:
    """The same network written by hand in plain PyTorch, the way torchvision writes it."""

    class Basic(nn.Module):
        def __init__(self, cin, c, stride, down):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, c, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(c)
            self.relu = nn.ReLU()
            self.conv2 = nn.Conv2d(c, c, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(c)
            if down:
                self.downsample = nn.Sequential(nn.Conv2d(cin, c, 1, stride, bias=False), nn.BatchNorm2d(c))

    net = nn.Module()
    net.conv1 = nn.Conv2d(3, 8, 3, padding=1)
    net.layer1 = nn.Sequential(Basic(8, 8, 1, True), Basic(8, 8, 1, False), Basic(8, 8, 1, False))
    net.layer2 = nn.Sequential(Basic(8, 16, 2, True), Basic(16, 16, 1, False), Basic(16, 16, 1, False))
    net.fc = nn.Linear(16, 4)
    return net


def test_sequential_blocks_have_positional_keys_equal_to_the_pytorch_layout():
    project = load_project(resnet_like())
    assert check(project).ok
    built = build_model(project)
    want = _torch_reference().state_dict()
    assert list(built.state_dict()) == list(want)
    assert "layer2.0.downsample.0.weight" in want and "layer2.2.bn2.running_var" in want
    built.load_state_dict(want, strict=True)


def test_sequential_blocks_export_as_nn_sequential_subclasses_equal_to_the_built_model(tmp_path):
    project = load_project(resnet_like())
    source = generate_code(project)
    assert "class Downsample(nn.Sequential):" in source and "class Layer(nn.Sequential):" in source
    assert "*[BasicBlock(channels=channels) for _ in range(2)]" in source
    path = tmp_path / "model.py"
    path.write_text(source)
    exported = import_file(path)
    built = build_model(project).eval()
    fresh = exported.create_model().eval()
    fresh.load_state_dict(built.state_dict(), strict=True)
    inputs = exported.example_inputs(2)
    with torch.no_grad():
        assert torch.equal(built(*inputs), fresh(*inputs))
    assert max(len(line) for line in source.splitlines()) <= 110


def test_sequential_flag_round_trips_and_is_checked_at_load():
    data = resnet_like()
    again = project_to_dict(load_project(json.loads(json.dumps(data))))
    assert again["blocks"]["Layer"]["sequential"] is True and "sequential" not in again["blocks"]["BasicBlock"]
    data["blocks"]["Layer"]["sequential"] = "yes"
    from graph_engine import ProjectError

    with pytest.raises(ProjectError) as caught:
        load_project(data)
    assert caught.value.field == "blocks.Layer.sequential"


def test_a_sequential_block_that_is_not_a_chain_is_an_error_on_its_instances():
    data = resnet_like()
    data["blocks"]["BasicBlock"]["sequential"] = True  # it has a skip connection: not a chain
    result = check(load_project(data))
    assert not result.ok
    errors = [d for d in result.errors if "must be one chain" in d.message]
    assert [(d.node_id, d.path, d.block, d.field) for d in errors] == [("layer1", "layer1.rest", "Layer", "block")]


def test_onnx_export_through_sequential_blocks(tmp_path):
    pytest.importorskip("onnxruntime")
    from graph_engine.export import export_onnx, verify_onnx

    project = load_project(resnet_like())
    exported = export_onnx(project, tmp_path / "r.onnx")
    report = verify_onnx(project, exported.path, reference_state=exported.state)
    assert report.ok, report.line()


def test_a_copied_project_keeps_required_block_params_required(tmp_path):
    """Project.copy deep-copies the block params; their REQUIRED default must survive it (saving a copy)."""
    from graph_engine.catalog.spec import REQUIRED
    from graph_engine.project_io import save_project

    project = load_project(resnet_like()).copy()
    assert project.blocks.definition("Downsample").params["channels"].default is REQUIRED
    save_project(project, tmp_path / "copy.layerloom.json")
    assert "default" not in project_to_dict(project)["blocks"]["Downsample"]["params"]["channels"]


def test_a_named_sequential_block_keeps_node_ids_as_keys_and_has_no_forward(tmp_path):
    data = resnet_like()
    data["blocks"]["Downsample"]["sequential"] = "named"
    project = load_project(data)
    assert project_to_dict(project)["blocks"]["Downsample"]["sequential"] == "named"
    keys = set(build_model(project).state_dict())
    assert {"layer1.0.downsample.conv.weight", "layer2.0.downsample.bn.running_mean"} <= keys
    source = generate_code(project)
    downsample = source[source.index("class Downsample(nn.Sequential):"):source.index("class BasicBlockDown")]
    assert "self.conv = nn.Conv2d(" in downsample and "def forward" not in downsample
    path = tmp_path / "named.py"
    path.write_text(source)
    exported = import_file(path)
    built = build_model(project).eval()
    fresh = exported.create_model().eval()
    fresh.load_state_dict(built.state_dict(), strict=True)
    inputs = exported.example_inputs(2)
    with torch.no_grad():
        assert torch.equal(built(*inputs), fresh(*inputs))
