"""Builders for valid LayerLoom project dicts (format_version 1), for tests that break them on purpose.

Every builder returns a fresh, plain JSON-compatible dict that loads and checks clean; tests mutate copies.
`write_project` puts a dict (or raw text/bytes) in a real file.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

FORMAT = "layerloom"
FORMAT_VERSION = 1
TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "resources" / "templates"


def node(node_id: str, op: str, pos: list[float] | None = None, **params: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"id": node_id, "op": op}
    if params:
        item["params"] = params
    if pos is not None:
        item["pos"] = pos
    return item


def edge(src: str, dst: str, src_port: int = 0, dst_port: int = 0) -> dict[str, Any]:
    item: dict[str, Any] = {"src": src, "dst": dst}
    if src_port or dst_port:
        item["src_port"] = src_port
        item["dst_port"] = dst_port
    return item


def chain(*ids: str) -> list[dict[str, Any]]:
    """Edges id0 -> id1 -> ... on port 0."""
    return [edge(a, b) for a, b in zip(ids, ids[1:], strict=False)]


def project(nodes: list[dict], edges: list[dict], name: str = "Test net", training: dict | None = None,
            **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"format": FORMAT, "format_version": FORMAT_VERSION, "name": name,
                            "graph": {"nodes": nodes, "edges": edges}}
    if training is not None:
        data["training"] = training
    data.update(extra)
    return data


def sequential(*layers: dict[str, Any], input_shape: list[int] | None = None, name: str = "Test net",
               input_id: str = "x", output_id: str = "out", **extra: Any) -> dict[str, Any]:
    """Input -> layers... -> Output, connected in order."""
    nodes = [node(input_id, "Input", shape=list(input_shape or [16])), *layers, node(output_id, "Output")]
    return project(nodes, chain(*(n["id"] for n in nodes)), name=name, **extra)


# ---- valid networks ----------------------------------------------------------------------------------


def mlp(name: str = "Tiny MLP") -> dict[str, Any]:
    return sequential(
        node("fc1", "Linear", out_features=32),
        node("act1", "ReLU"),
        node("drop", "Dropout", p=0.1),
        node("fc2", "Linear", out_features=10),
        input_shape=[64], name=name,
        training={"dataset": {"name": "digits"}, "task": "classification", "loss": "CrossEntropyLoss",
                  "optimizer": {"name": "Adam", "lr": 0.001}, "epochs": 2, "batch_size": 32})


def cnn(name: str = "Tiny CNN") -> dict[str, Any]:
    return sequential(
        node("conv1", "Conv2d", out_channels=4, kernel_size=3, padding=1),
        node("bn1", "BatchNorm2d"),
        node("act1", "ReLU"),
        node("pool1", "MaxPool2d", kernel_size=2),
        node("flat", "Flatten"),
        node("fc", "Linear", out_features=10),
        input_shape=[1, 8, 8], name=name)


def residual(name: str = "Residual") -> dict[str, Any]:
    """x -> fc1 -> act -> fc2 -(+ x)-> Add -> out."""
    nodes = [node("x", "Input", shape=[16]), node("fc1", "Linear", out_features=16), node("act", "ReLU"),
             node("fc2", "Linear", out_features=16), node("skip", "Add"), node("out", "Output")]
    edges = [*chain("x", "fc1", "act", "fc2"), edge("fc2", "skip", 0, 0), edge("x", "skip", 0, 1),
             edge("skip", "out")]
    return project(nodes, edges, name=name)


def two_branch_concat(name: str = "Two branches") -> dict[str, Any]:
    """Two Conv2d branches joined by Concat on channels (dim 1)."""
    nodes = [node("img", "Input", shape=[3, 8, 8]),
             node("left", "Conv2d", out_channels=4, kernel_size=3, padding=1),
             node("right", "Conv2d", out_channels=6, kernel_size=1),
             node("join", "Concat", dim=1),
             node("pool", "AdaptiveAvgPool2d", output_size=1),
             node("flat", "Flatten"),
             node("head", "Linear", out_features=3),
             node("out", "Output")]
    edges = [edge("img", "left"), edge("img", "right"), edge("left", "join", 0, 0), edge("right", "join", 0, 1),
             *chain("join", "pool", "flat", "head", "out")]
    return project(nodes, edges, name=name)


def lstm_classifier(name: str = "Token LSTM") -> dict[str, Any]:
    """Token ids -> Embedding -> LSTM (output, port 0) -> Select the last step -> Linear."""
    nodes = [node("tokens", "Input", shape=[12], dtype="int64"),
             node("embed", "Embedding", num_embeddings=50, embedding_dim=8),
             node("rnn", "LSTM", hidden_size=16),
             node("last", "Select", dim=1, index=-1),
             node("head", "Linear", out_features=4),
             node("out", "Output")]
    edges = [*chain("tokens", "embed", "rnn"), edge("rnn", "last", 0, 0), *chain("last", "head", "out")]
    return project(nodes, edges, name=name)


BUILDERS = {"mlp": mlp, "cnn": cnn, "residual": residual, "two_branch_concat": two_branch_concat,
            "lstm_classifier": lstm_classifier}


def template_projects() -> dict[str, dict[str, Any]]:
    """The built-in templates (resources/templates/*.layerloom.json) when there are any, else ours."""
    found: dict[str, dict[str, Any]] = {}
    if TEMPLATE_DIR.is_dir():
        for path in sorted(TEMPLATE_DIR.glob("*.layerloom.json")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(data, dict) and data.get("format") == FORMAT:
                found[path.name.removesuffix(".layerloom.json")] = data
    return found


def seed_projects() -> dict[str, dict[str, Any]]:
    """Valid starting points for fuzzing: built-in templates plus every builder here."""
    seeds = {f"factory:{k}": b() for k, b in BUILDERS.items()}
    seeds.update({f"template:{k}": v for k, v in template_projects().items()})
    return seeds


def clone(data: Any) -> Any:
    return copy.deepcopy(data)


def rename_everywhere(data: dict[str, Any], old: str, new: Any) -> dict[str, Any]:
    """Give node `old` the id `new` in its node and in every edge (whatever `new` is)."""
    for item in data["graph"]["nodes"]:
        if item["id"] == old:
            item["id"] = new
    for item in data["graph"]["edges"]:
        for end in ("src", "dst"):
            if item[end] == old:
                item[end] = new
    return data


def find_node(data: dict[str, Any], node_id: str) -> dict[str, Any]:
    return next(n for n in data["graph"]["nodes"] if n["id"] == node_id)


def write_project(folder: Path, content: Any, name: str = "project.layerloom.json") -> Path:
    """Write a dict as JSON, str as UTF-8 text, bytes as they are."""
    path = Path(folder) / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        text = json.dumps(content, indent=1, ensure_ascii=False)
        try:
            path.write_bytes(text.encode("utf-8"))
        except UnicodeEncodeError:  # lone surrogates: JSON can still carry them as \ud800 escapes
            path.write_text(json.dumps(content, indent=1), encoding="ascii")
    return path
