"""Checking through blocks: an instance is checked by checking its definition for the instance's values.

For one (definition, block param values, input types) the definition's graph is copied with every `$ref`
resolved, each BlockInput turned into an Input of the incoming type and each BlockOutput into an Output, and
that plain graph is checked by the ordinary `validation.Checker`. The result (`InnerResult`) is cached in the
library under that key, so 50 instances of one block with the same values cost one check of its 20 layers;
any edit inside any definition clears the cache (see `BlockLibrary._touch`). Nested blocks resolve the same
way, recursively; a definition that (directly or not) contains itself is refused with the chain of names.

Diagnostics keep their place in the hierarchy. Inside a definition they are `BlockDiagnostic`s whose `path`
is relative to it (`conv1`, `b.0.conv1`); one level up the instance's id (and copy index, for a repeated
instance) is put in front, so at the top a problem reads `layer2.0.conv1: ...` with `node_id` the top-level
instance (its card shows it) and `block` / `inner_node_id` the definition and node that hold it (the
definition's canvas shows it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graph_engine.blocks import refs
from graph_engine.blocks.model import sequential_problem
from graph_engine.catalog.spec import ShapeError, TensorType
from graph_engine.graph import Edge, Graph, Node
from graph_engine.validation import Checker, CheckResult, Diagnostic

SUMMARY_HINT = "see the layers inside the block"


@dataclass(frozen=True)
class BlockDiagnostic(Diagnostic):
    """A diagnostic from inside a block: `path` from the graph it is reported in down to the node."""

    path: str = ""
    block: str = ""  # the definition holding the node at fault
    inner_node_id: str | None = None  # that node's id inside `block`

    def __str__(self) -> str:
        hint = f" ({self.hint})" if self.hint else ""
        return f"{self.severity}: {self.path}: {self.message}{hint}"


block_diagnostic = BlockDiagnostic


def is_block_diagnostic(d) -> bool:
    return isinstance(d, BlockDiagnostic)


def diagnostic_path(d) -> str | None:
    """Where a diagnostic sits in the hierarchy (`layer2.0.conv1`); a plain node id for top-level ones."""
    return d.path if is_block_diagnostic(d) else d.node_id


@dataclass
class InnerResult:
    block: str
    params: dict[str, Any]  # the block param values this result was checked with
    inputs: tuple[TensorType, ...]
    graph: Graph | None = None  # the resolved copy that was checked (codegen lowers it)
    result: Any = None  # its CheckResult (diagnostics already expanded through nested blocks)
    outputs: tuple[TensorType, ...] | None = None
    fatal: tuple[str, str] | None = None  # (message, hint): the definition cannot be used at all
    entries: list = field(default_factory=list)  # BlockDiagnostics, paths relative to the definition
    param_count: int = 0
    flops: int = 0
    activations: int = 0  # elements of every live tensor inside, per sample (for memory estimates)

    @property
    def errors(self) -> list:
        return [e for e in self.entries if e.severity == "error"]


def _freeze(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value


def inner_result(library, name: str, params: dict[str, Any], inputs: tuple[TensorType, ...]) -> InnerResult:
    key = (name, tuple((k, _freeze(v)) for k, v in params.items()), tuple(inputs))
    cached = library._inner.get(key)
    if cached is None:
        cached = library._inner[key] = _compute(library, name, dict(params), tuple(inputs))
    return cached


def instance_runs(library, name: str, repeat: int | None, params, inputs) -> list[InnerResult]:
    """One InnerResult per copy of an instance (a repeated instance feeds each copy the one before)."""
    runs: list[InnerResult] = []
    current = tuple(inputs)
    for _ in range(repeat or 1):
        run = inner_result(library, name, params, current)
        runs.append(run)
        if run.fatal or run.outputs is None:
            break
        current = run.outputs
    return runs


def _compute(library, name: str, params: dict[str, Any], inputs: tuple[TensorType, ...]) -> InnerResult:
    out = InnerResult(name, params, inputs)
    defn = library.get(name)
    if defn is None:
        out.fatal = (f"there is no block {name!r:.50}", "")
        return out
    if name in library._active:
        chain = library._active[library._active.index(name):] + [name]
        out.fatal = (f"block {name} contains itself: {' -> '.join(chain)}",
                     "a block cannot use itself, directly or through other blocks; remove that instance")
        return out
    ports_in, ports_out = defn.inputs, defn.outputs
    if not ports_in or not ports_out:
        missing = "BlockInput" if not ports_in else "BlockOutput"
        out.fatal = (f"block {name} has no {missing}", f"add a {missing} node inside {name}: it defines a port")
        return out
    problem = sequential_problem(defn)
    if problem:
        out.fatal = (problem, "chain its layers, or make the block not sequential")
        return out
    if len(inputs) != len(ports_in):
        out.fatal = (f"block {name} has {len(ports_in)} input(s) but gets {len(inputs)}", "")
        return out
    library._active.append(name)
    library.inner_checks += 1
    try:
        graph, ref_problems = _resolved_copy(library, defn, params, inputs)
        result = Checker(graph).check()
    finally:
        library._active.pop()
    out.graph, out.result = graph, result
    entries = [block_diagnostic(*p, path=p[1], block=name, inner_node_id=p[1]) for p in ref_problems]
    for d in result.diagnostics:
        if d.node_id is None:
            continue  # "no Input / no Output": ruled out by the port check above
        if is_block_diagnostic(d):
            entries.append(d)
            continue
        message = d.message
        if defn.graph.nodes.get(d.node_id) is not None and defn.graph.node(d.node_id).op == "BlockInput":
            message = message.replace("this Input", "this BlockInput")
        entries.append(block_diagnostic(d.severity, d.node_id, message, d.hint, d.field, d.edge,
                                        path=d.node_id, block=name, inner_node_id=d.node_id))
    out.entries = entries
    if not any(e.severity == "error" for e in entries):
        out.outputs = tuple(result.nodes[o].inputs[0] for o in ports_out)
    out.param_count = result.total_params
    out.flops = result.total_flops
    out.activations = _activations(library, graph, result)
    return out


def _resolved_copy(library, defn, params: dict[str, Any], inputs) -> tuple[Graph, list[tuple]]:
    """The definition's graph with refs resolved and ports turned into Input/Output nodes."""
    graph = Graph()
    graph.library = library
    problems: list[tuple] = []
    known = list(defn.params)
    port = 0
    for node in defn.graph:
        if node.op == "BlockInput":
            t = inputs[port]
            port += 1
            graph.add_node(Node(node.id, "Input", {"shape": list(t.shape), "dtype": t.dtype}), check_id=False)
            continue
        if node.op == "BlockOutput":
            graph.add_node(Node(node.id, "Output"), check_id=False)
            continue
        resolved: dict[str, Any] = {}
        raw = node.params if isinstance(node.params, dict) else {}
        for key, value in raw.items():
            if not refs.is_ref(value):
                resolved[key] = value
                continue
            try:
                resolved[key] = refs.resolve(value, params, known)
            except refs.RefError as exc:
                problems.append(("error", node.id, str(exc), "use one of the block's params, or add it to "
                                 f"{defn.name}'s params", key))
        if not isinstance(node.params, dict):
            resolved = node.params
        graph.add_node(Node(node.id, node.op, resolved, None, {}, node.block, node.repeat), check_id=False)
    for edge in defn.graph.edges:
        graph.add_edge_unchecked(Edge(edge.src, edge.dst, edge.src_port, edge.dst_port))
    return graph, problems


def _activations(library, graph: Graph, result) -> int:
    total = 0
    for node_id in result.live:
        info = result.nodes.get(node_id)
        if info is None or info.outputs is None:
            continue
        node = graph.node(node_id)
        if node.op == "Block":
            total += sum(r.activations for r in runs_of(library, node, info))
        total += sum(t.numel for t in info.outputs)
    return total


def runs_of(library, node: Node, info) -> list[InnerResult]:
    """The checked copies of an instance node, given its NodeInfo from a check (empty when not checkable)."""
    if info is None or not info.inputs or any(t is None for t in info.inputs):
        return []
    if library.get(node.block) is None or any(v is None for v in info.params.values()):
        return []
    return instance_runs(library, node.block, node.repeat, info.params, info.inputs)


# ---- the rules a BlockSpec is made of ----------------------------------------------------------------


def shape_rule(library, name: str, repeat: int | None):
    def rule(inputs, p):
        defn = library.get(name)
        if repeat is not None and defn is not None and (len(defn.inputs) != 1 or len(defn.outputs) != 1):
            raise ShapeError(f"repeat needs a block with one input and one output; {name} has "
                             f"{len(defn.inputs)} and {len(defn.outputs)}", "remove repeat", param="repeat")
        runs = instance_runs(library, name, repeat, dict(p), tuple(inputs))
        for index, run in enumerate(runs):
            if run.fatal:
                raise ShapeError(run.fatal[0], run.fatal[1], param="block")
            if run.errors:
                first = run.errors[0]
                where = f"{index}.{first.path}" if repeat is not None else first.path
                count = len(run.errors)
                raise ShapeError(f"{count} error{'s' if count > 1 else ''} inside {name}; first at {where}: "
                                 f"{first.message}", SUMMARY_HINT)
        return runs[-1].outputs

    return rule


def param_count_rule(library, name: str, repeat: int | None):
    def rule(inputs, p):
        return sum(r.param_count for r in instance_runs(library, name, repeat, dict(p), tuple(inputs)))

    return rule


def flops_rule(library, name: str, repeat: int | None):
    def rule(inputs, outputs, p):
        return sum(r.flops for r in instance_runs(library, name, repeat, dict(p), tuple(inputs)))

    return rule


# ---- expanding a check result ---------------------------------------------------------------------------


def expand(library, graph: Graph, result):
    """`result` with each instance's summary replaced by the diagnostics from inside it, paths prefixed."""
    instances = [n for n in graph if n.op == "Block"]
    if not instances:
        return result
    inside: dict[str, list] = {}
    for node in instances:
        found = []
        for index, run in enumerate(runs_of(library, node, result.nodes.get(node.id))):
            prefix = f"{node.id}.{index}." if node.repeat is not None else f"{node.id}."
            for e in run.entries:
                found.append(block_diagnostic(e.severity, node.id, e.message, e.hint, e.field, e.edge,
                                              path=prefix + e.path, block=e.block, inner_node_id=e.inner_node_id))
        inside[node.id] = found
    diagnostics = []
    placed: set[str] = set()
    for d in result.diagnostics:
        if d.node_id in inside and d.hint == SUMMARY_HINT and not is_block_diagnostic(d):
            if d.node_id not in placed:
                diagnostics.extend(inside[d.node_id])
                placed.add(d.node_id)
            continue
        diagnostics.append(d)
    for node_id, found in inside.items():
        if node_id not in placed:
            diagnostics.extend(found)
    return CheckResult(diagnostics, result.nodes, result.order, result.live)


def inside_definition(diagnostics, block: str) -> dict[str, list]:
    """The diagnostics that belong to nodes of definition `block`, by inner node id (its canvas shows them)."""
    found: dict[str, list] = {}
    for d in diagnostics:
        if is_block_diagnostic(d) and d.block == block and d.inner_node_id is not None:
            found.setdefault(d.inner_node_id, []).append(d)
    return found
