"""What a block definition's canvas shows: the check of its graph as one instance uses it.

The app's canvas can show a definition reached from the project graph through a chain of instances
(`layer2` > `conv_block`). Shapes inside a definition depend on the instance (its param values and input
shapes), so the level's result is the checked copy (`inner.InnerResult`) of the first copy of the last instance
of that chain, and its problems are those of every copy of that instance, each with its full path from the
project graph (`layer2.0.conv1`), attributed to the node of the definition that holds it. A chain that cannot
be followed (an unwired instance has no input shapes) gives the problems that other instances of the
definition found (`inner.inside_definition`) and no shapes.
"""

from __future__ import annotations

from graph_engine.blocks.inner import BlockDiagnostic, inside_definition
from graph_engine.validation import CheckResult


def level_result(project, levels: list[str], result: CheckResult) -> CheckResult:
    """The CheckResult describing the definition reached through the instance ids `levels` (from the project
    graph down), given the project's check `result`."""
    library = project.blocks
    top = result
    graph = project.graph
    prefix = ""
    block = None
    for instance_id in levels:
        node = graph.node(instance_id)
        block = node.block
        runs = library.runs(node, result.nodes.get(instance_id))
        if not runs or runs[0].result is None:
            return _elsewhere(top, block)
        diagnostics, seen = [], set()
        for index, run in enumerate(runs):
            here = f"{prefix}{instance_id}.{index}." if node.repeat is not None else f"{prefix}{instance_id}."
            for e in run.entries:
                key = (e.node_id, e.severity, e.message)
                if key in seen:
                    continue  # every copy of a repeated instance failing alike is one problem on the card
                seen.add(key)
                diagnostics.append(BlockDiagnostic(e.severity, e.node_id, e.message, e.hint, e.field, e.edge,
                                                   path=here + e.path, block=e.block, inner_node_id=e.inner_node_id))
        first = runs[0].result
        result = CheckResult(diagnostics, first.nodes, first.order, first.live)
        prefix = f"{prefix}{instance_id}.0." if node.repeat is not None else f"{prefix}{instance_id}."
        graph = library.definition(block).graph
    return result


def _elsewhere(top: CheckResult, block: str) -> CheckResult:
    """No shapes, and the problems the project's check `top` found inside `block` through any instance."""
    found = inside_definition(top.diagnostics, block)
    diagnostics = [BlockDiagnostic(d.severity, inner_id, d.message, d.hint, d.field, d.edge, path=d.path,
                                   block=d.block, inner_node_id=inner_id)
                   for inner_id, ds in found.items() for d in ds]
    return CheckResult(diagnostics, {}, [], frozenset())
