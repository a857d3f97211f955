"""Frozen layers: which parts of the network a run does not train, and how many parameters that leaves.

A node with `trainable: false` (docs/FILE_FORMAT.md) is frozen: the Trainer and the exported train.py give
its parameters requires_grad False, so no optimiser sees them, and keep its normalisation layers in eval
mode, so their running statistics stay as they were loaded (graph_engine/training/recipe.py `freeze` and
`train_mode`, the code both run). Freezing a block instance freezes everything inside it; a frozen node
inside a block definition is frozen in every instance of that block.

    paths = frozen_paths(project)               # ["backbone", "stage1.0.conv1"]: module paths in the model
    trainable, frozen = parameter_split(project, check(project))

Importing this module does not import torch.
"""

from __future__ import annotations

from typing import Any

from graph_engine.graph import Graph


def frozen_paths(project: Any) -> list[str]:
    """The dotted attribute paths, in the generated model, of every frozen node (a frozen instance is one
    path: everything under it is frozen)."""
    out: list[str] = []
    _walk(project.graph, getattr(project, "blocks", None), "", out, set())
    return out


def _walk(graph: Graph, library: Any, prefix: str, out: list[str], seen: set[str]) -> None:
    for node in graph:
        path = prefix + node.id
        if not node.trainable:
            out.append(path)
            continue
        if node.op != "Block" or library is None or node.block in seen:
            continue  # a block that contains itself is an error validation reports
        defn = library.get(node.block)
        if defn is None:
            continue
        repeat = node.repeat
        copies = [f"{path}.{i}." for i in range(repeat)] if isinstance(repeat, int) and repeat > 0 else [path + "."]
        for copy_prefix in copies:
            _walk(defn.graph, library, copy_prefix, out, seen | {node.block})


def frozen_nodes(project: Any) -> list[str]:
    """The ids of the frozen nodes of the project's own graph."""
    return [n.id for n in project.graph if not n.trainable]


def parameter_split(project: Any, result: Any) -> tuple[int, int]:
    """(trainable, frozen) parameter counts of the live network, from a check result (no torch)."""
    frozen = 0
    library = getattr(project, "blocks", None)
    for node_id in result.live:
        info = result.nodes.get(node_id)
        if info is None or node_id not in project.graph:
            continue
        node = project.graph.node(node_id)
        if not node.trainable:
            frozen += info.param_count
        elif node.op == "Block" and library is not None:
            frozen += _frozen_inside(library, node, info, set())
    return result.total_params - frozen, frozen


def _frozen_inside(library: Any, node: Any, info: Any, seen: set[str]) -> int:
    defn = library.get(node.block)
    if defn is None or node.block in seen:
        return 0
    total = 0
    for run in library.runs(node, info):
        if run.result is None:
            continue
        for inner in defn.graph:
            inner_info = run.result.nodes.get(inner.id)
            if inner_info is None:
                continue
            if not inner.trainable:
                total += inner_info.param_count
            elif inner.op == "Block":
                total += _frozen_inside(library, inner, inner_info, seen | {node.block})
    return total


__all__ = ["frozen_nodes", "frozen_paths", "parameter_split"]
