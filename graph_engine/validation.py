"""Checking a graph: structure (cycles, order, reachability), then shape inference in topological order.

The result is a list of `Diagnostic`s, each attributed to the node (and edge or field) that causes it, plus
for every node its resolved params, the types of its inputs and outputs, its parameter count and FLOPs.

Cost model. `Checker` is incremental: it listens to the graph's events and, on the next `check()`, re-infers
only the nodes downstream of what changed; everything else comes from its cache. Structural analysis
(cycles, topological order, reachability: linear passes over plain adjacency lists) is redone only after an edit that changes structure
(nodes or edges added, removed or renamed), never after a param edit or a move. Shape rules are analytic,
so a full check of a 1000-node graph takes milliseconds (see benchmarks/bench_check.py).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Any

from graph_engine.blocks.resolve import block_problem, spec_for
from graph_engine.catalog import closest_op
from graph_engine.catalog.spec import LayerSpec, ShapeError, TensorType
from graph_engine.graph import Edge, Graph, Node
from graph_engine.identifiers import id_problem, suggest_id
from graph_engine.params import resolve_params

ERROR = "error"
WARNING = "warning"

# Refused before anything is allocated: a layer whose weights alone would need more than 4 GiB (float32), or
# a tensor of more than 2^28 elements (1 GiB) per sample.
MAX_PARAMS_PER_NODE = 1 << 30
MAX_ELEMENTS_PER_SAMPLE = 1 << 28
BYTES_PER_ELEMENT = 4
# The same for the whole model, since many layers each under the limits can still add up to more memory than
# any machine has: at most 2^31 parameters (8 GiB of float32 weights, ~32 GiB to train with Adam), at most
# 2^28 activation values per sample summed over all layers (1 GiB per sample), and, when the batch size is
# known, an estimated training memory of at most 256 GiB.
MAX_TOTAL_PARAMS = 1 << 31
MAX_ACTIVATIONS_PER_SAMPLE = 1 << 28
MAX_TRAINING_BYTES = 256 << 30


@dataclass(frozen=True)
class Diagnostic:
    severity: str  # ERROR or WARNING
    node_id: str | None  # None for whole-graph problems (no Input, no Output)
    message: str
    hint: str = ""
    field: str | None = None  # the param or key at fault
    edge: Edge | None = None

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def __str__(self) -> str:
        where = f"{self.node_id}: " if self.node_id is not None else ""
        hint = f" ({self.hint})" if self.hint else ""
        return f"{self.severity}: {where}{self.message}{hint}"


@dataclass
class NodeInfo:
    """What checking learned about one node. `outputs` is None when it could not be inferred."""

    inputs: tuple[TensorType | None, ...] = ()
    outputs: tuple[TensorType, ...] | None = None
    params: dict[str, Any] = field(default_factory=dict)
    param_count: int = 0
    flops: int = 0
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def output(self, port: int = 0) -> TensorType | None:
        if self.outputs is None or not 0 <= port < len(self.outputs):
            return None
        return self.outputs[port]


@dataclass
class CheckResult:
    diagnostics: list[Diagnostic]
    nodes: dict[str, NodeInfo]
    order: list[str]  # topological order of the nodes that have one (all of them when acyclic)
    live: frozenset[str] = frozenset()  # nodes on some path from an Input to an Output (what code keeps)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == ERROR]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == WARNING]

    @property
    def ok(self) -> bool:
        return not any(d.severity == ERROR for d in self.diagnostics)

    def for_node(self, node_id: str) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.node_id == node_id]

    def shape(self, node_id: str, port: int = 0) -> TensorType | None:
        info = self.nodes.get(node_id)
        return info.output(port) if info else None

    @property
    def total_params(self) -> int:
        return sum(self.nodes[n].param_count for n in self.live if n in self.nodes)

    @property
    def total_flops(self) -> int:
        return sum(self.nodes[n].flops for n in self.live if n in self.nodes)


def check(graph_or_project) -> CheckResult:
    """Check a graph (or a project's graph) from scratch."""
    graph = getattr(graph_or_project, "graph", graph_or_project)
    return Checker(graph, _batch_size(getattr(graph_or_project, "training", None))).check()


def _batch_size(training: Any) -> int | None:
    value = training.get("batch_size") if isinstance(training, dict) else None
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


class Checker:
    """Incremental checking of one live graph (the app keeps one per document)."""

    def __init__(self, graph: Graph, batch_size: int | None = None):
        self.graph = graph
        self.batch_size = batch_size  # for the whole-model memory limit; None checks per sample only
        self._infos: dict[str, NodeInfo] = {}
        self._dirty: set[str] = set(graph.nodes)
        self._structure: _Structure | None = None
        self.recomputed = 0  # nodes re-inferred by the last check(): lets tests prove incrementality
        graph.node_added.sub(self._on_node_added)
        graph.node_removed.sub(self._on_node_removed)
        graph.edge_added.sub(self._on_edge)
        graph.edge_removed.sub(self._on_edge)
        graph.node_changed.sub(self._on_params)
        graph.node_renamed.sub(self._on_renamed)
        graph.structure_changed.sub(self._on_structure)

    def close(self) -> None:
        """Stop listening to the graph."""
        g = self.graph
        g.node_added.unsub(self._on_node_added)
        g.node_removed.unsub(self._on_node_removed)
        g.edge_added.unsub(self._on_edge)
        g.edge_removed.unsub(self._on_edge)
        g.node_changed.unsub(self._on_params)
        g.node_renamed.unsub(self._on_renamed)
        g.structure_changed.unsub(self._on_structure)

    # ---- change tracking ---------------------------------------------------------------------------------

    def _on_node_added(self, node: Node, index: int) -> None:
        self._structure = None
        self._dirty.add(node.id)

    def _on_node_removed(self, node: Node, index: int) -> None:
        self._structure = None
        self._infos.pop(node.id, None)
        self._dirty.discard(node.id)

    def _on_edge(self, edge: Edge) -> None:
        self._structure = None
        self._dirty.add(edge.dst)

    def _on_params(self, node_id: str) -> None:
        self._dirty.add(node_id)
        spec = spec_for(self.graph, self.graph.node(node_id)) if node_id in self.graph else None
        if spec is not None and spec.output_count is not None:
            self._structure = None  # its output ports (which edges are valid) follow its params (Chunk)

    def _on_structure(self) -> None:
        self._structure = None

    def _on_renamed(self, old: str, new: str) -> None:
        self._structure = None
        self._infos.pop(old, None)
        self._dirty.discard(old)
        self._dirty.add(new)

    # ---- checking ----------------------------------------------------------------------------------------

    def check(self) -> CheckResult:
        if self._structure is None:
            self._structure = _analyse_structure(self.graph)
        structure = self._structure
        # Early cut-off: a re-inferred node whose outputs did not change does not disturb its consumers, so
        # an edit that keeps shapes (toggling bias) costs one node, not everything downstream.
        todo = {n for n in self._dirty if n in self.graph}
        self._dirty = set()
        self.recomputed = 0
        for node_id in structure.order:
            if node_id in todo:
                old = self._infos.get(node_id)
                info = self._infer(self.graph.node(node_id), structure)
                self._infos[node_id] = info
                self.recomputed += 1
                if old is None or old.outputs != info.outputs:
                    todo.update(e.dst for e in self.graph.out_edges(node_id))
        for node_id in structure.in_cycle:  # no order: report their params, infer nothing
            if node_id in todo or node_id not in self._infos:
                self._infos[node_id] = self._infer(self.graph.node(node_id), structure, skip_shapes=True)
                self.recomputed += 1
        diagnostics = list(structure.diagnostics)
        for node_id in self.graph.nodes:
            info = self._infos.get(node_id)
            if info is not None:
                diagnostics.extend(info.diagnostics)
        diagnostics.extend(self._unexplained(diagnostics, structure))
        result = CheckResult(diagnostics, dict(self._infos), list(structure.order), structure.live)
        diagnostics.extend(model_size_problems(result, self.batch_size))
        if self.graph.library is not None:  # diagnostics from inside blocks, with their paths
            result = self.graph.library.expand(self.graph, result)
        return result

    def _unexplained(self, diagnostics: list[Diagnostic], structure: _Structure) -> list[Diagnostic]:
        """Safety net: a node left without an output shape must have a reason on it or upstream of it. Every
        consumer of a shape (codegen, training, the canvas) relies on "no errors" meaning "every shape known",
        so a node that fails silently is reported here rather than crash them later."""
        with_errors = {d.node_id for d in diagnostics if d.is_error}
        # On or after a cycle nothing is inferred, for a reason already reported.
        excused = structure.in_cycle if with_errors else ()
        silent = [n for n in self.graph.nodes if n not in with_errors and n not in excused
                  and ((info := self._infos.get(n)) is None or info.outputs is None)]
        if not silent:
            return []

        def inferred(node_id: str) -> bool:
            info = self._infos.get(node_id)
            return info is not None and info.outputs is not None

        # A node whose inputs are all known has no excuse; when nothing at all is reported, none has.
        culprits = [n for n in silent if all(inferred(e.src) for e in self.graph.in_edges(n))]
        if not culprits and not with_errors:
            culprits = silent
        return [Diagnostic(ERROR, n, "LayerLoom could not work out this layer's output shape",
                           "check its params and its input; please report this project as a bug") for n in culprits]

    def _infer(self, node: Node, structure: _Structure, skip_shapes: bool = False) -> NodeInfo:
        spec = spec_for(self.graph, node)
        info = NodeInfo()
        if spec is None:
            return info  # reported structurally
        inputs = None if skip_shapes or node.id in structure.bad_inputs else self._input_types(node, spec)
        if inputs is not None:
            info.inputs = tuple(inputs)
            dtype_problem = _dtype_problem(spec, inputs)
            if dtype_problem:
                info.diagnostics.append(Diagnostic(ERROR, node.id, *dtype_problem))
                inputs = None
        resolution = resolve_params(spec, node.params, inputs)
        info.params = resolution.values
        for problem in resolution.problems:
            info.diagnostics.append(Diagnostic(ERROR, node.id, problem.message, problem.hint, problem.field))
        if inputs is None:
            return info
        missing = [k for k, v in resolution.values.items() if v is None and not spec.param(k).nullable]
        if missing:
            if not info.diagnostics:  # a size the input should give but does not: say why, never skip silently
                info.diagnostics.append(_uninferable(node.id, spec, missing[0], inputs, resolution.values))
            return info
        try:
            outputs = tuple(spec.shape_rule(inputs, resolution.values))
        except ShapeError as exc:
            info.diagnostics.append(Diagnostic(ERROR, node.id, exc.message, exc.hint, exc.param))
            return info
        info.param_count = spec.param_count(inputs, resolution.values)
        info.flops = spec.flops(inputs, outputs, resolution.values)
        size_problem = _size_problem(spec, info.param_count, outputs)
        if size_problem:
            info.diagnostics.append(Diagnostic(ERROR, node.id, *size_problem))
            return info
        info.outputs = outputs
        return info

    def _input_types(self, node: Node, spec: LayerSpec) -> list[TensorType] | None:
        edges = sorted(self.graph.in_edges(node.id), key=lambda e: e.dst_port)
        count = spec.input_port_count(len(edges))
        types: list[TensorType | None] = [None] * count
        for edge in edges:
            src_info = self._infos.get(edge.src)
            t = src_info.output(edge.src_port) if src_info else None
            if t is None:
                return None  # upstream problem, reported there
            types[edge.dst_port] = t
        for i, t in enumerate(types):
            if t is None:
                if i == 0 or spec.variadic:
                    return None
                types[i] = types[0]  # an unconnected optional input receives input 0 (self-attention)
        return types  # type: ignore[return-value]


def _uninferable(node_id: str, spec: LayerSpec, name: str, inputs: list[TensorType], values: dict[str, Any]) -> Diagnostic:
    """The diagnostic for an inferred param the incoming tensor cannot give (Linear after a Mean that leaves
    one number per sample). The shape rule usually has the precise words, so it is asked first."""
    try:
        spec.shape_rule(inputs, values)
    except ShapeError as exc:
        return Diagnostic(ERROR, node_id, exc.message, exc.hint, exc.param or name)
    except Exception:  # noqa: BLE001 - the rule was never meant to run without this value; fall through
        pass
    shown = ", ".join(str(t) for t in inputs)
    hint = ("the input holds one number per sample: keep a dimension (e.g. Mean with keepdim) or Reshape it to [1]"
            if any(t.rank == 0 for t in inputs) else f"reshape the input so that {name} can be read from it")
    return Diagnostic(ERROR, node_id, f"{spec.op} cannot work out {name} from its input {shown}", hint, name)


def _dtype_problem(spec: LayerSpec, inputs: list[TensorType]) -> tuple[str, str] | None:
    if spec.input_dtypes is None:
        return None
    for t in inputs:
        if t.dtype not in spec.input_dtypes:
            if t.dtype == "int64":
                return (f"{spec.op} needs float values, but its input holds int64 token ids",
                        "put an Embedding in front to turn ids into vectors")
            return (f"{spec.op} needs {' or '.join(spec.input_dtypes)} input, but gets {t.dtype}",
                    "an Embedding takes int64 token ids" if spec.input_dtypes == ("int64",) else "")
    return None


def _size_problem(spec: LayerSpec, param_count: int, outputs: tuple[TensorType, ...]) -> tuple[str, str] | None:
    if param_count > MAX_PARAMS_PER_NODE:
        return (f"{spec.op} would have {param_count:,} parameters ({_bytes(param_count)} of weights)",
                "use smaller sizes; LayerLoom refuses layers over 4 GiB before allocating anything")
    for t in outputs:
        if t.numel > MAX_ELEMENTS_PER_SAMPLE:
            return (f"{spec.op} would output {t} = {t.numel:,} values per sample ({_bytes(t.numel)})",
                    "reduce the sizes; LayerLoom refuses tensors over 1 GiB per sample")
    return None


def _bytes(count: int) -> str:
    size = float(count * BYTES_PER_ELEMENT)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if size < 1024 or unit == "PiB":
            return f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} PiB"


# ---- structure -----------------------------------------------------------------------------------------


@dataclass
class _Structure:
    order: list[str]
    diagnostics: list[Diagnostic]
    in_cycle: set[str]
    bad_inputs: set[str]  # nodes whose input wiring is broken: no shape inference for them
    live: frozenset[str]


def _analyse_structure(graph: Graph) -> _Structure:
    diags: list[Diagnostic] = []
    bad_inputs: set[str] = set()
    succ: dict[str, list[str]] = {n: [] for n in graph.nodes}
    pred: dict[str, list[str]] = {n: [] for n in graph.nodes}
    for edge in graph.edges:
        if edge.src not in graph or edge.dst not in graph:
            missing = edge.src if edge.src not in graph else edge.dst
            owner = edge.dst if edge.dst in graph else (edge.src if edge.src in graph else None)
            diags.append(Diagnostic(ERROR, owner, f"an edge {_short(edge.src)} -> {_short(edge.dst)} refers to a "
                                    f"node {_short(missing)} that does not exist", "delete the edge", edge=edge))
            if edge.dst in graph:
                bad_inputs.add(edge.dst)
            continue
        succ[edge.src].append(edge.dst)
        pred[edge.dst].append(edge.src)
    for node in graph:
        diags.extend(_node_structure(graph, node, bad_inputs))
    # Every step below is linear in the graph's size: a 20,000-node chain with a back edge checks in well under
    # a second (benchmarks/bench_check_cycle.py). A search per node, as before, took minutes.
    order = _topological_order(graph, succ, pred)
    in_cycle: set[str] = set()
    if len(order) < len(succ):
        # What has no order lies on a cycle or downstream of one; only the former are reported.
        ordered = set(order)
        blocked = {n for n in succ if n not in ordered}
        cycles = _cycle_members(_trim_tails(blocked, succ, pred), succ)
        for node_id in graph.nodes:
            if node_id in cycles:
                diags.append(Diagnostic(ERROR, node_id, "this layer is part of a cycle: data would flow in a loop",
                                        "remove one of the edges that closes the loop"))
        in_cycle = blocked
    live = _reachability(graph, succ, pred, diags)
    return _Structure(order, diags, in_cycle, bad_inputs, live)


def _topological_order(graph: Graph, succ: dict[str, list[str]], pred: dict[str, list[str]]) -> list[str]:
    """Kahn's algorithm, always taking the available node that comes first in the file (a stable order for
    generated code). Nodes on or after a cycle never become available and are left out."""
    index = {node_id: i for i, node_id in enumerate(graph.nodes)}
    waiting = {n: len(p) for n, p in pred.items()}
    ready = [(index[n], n) for n, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        _, node_id = heapq.heappop(ready)
        order.append(node_id)
        for nxt in succ[node_id]:
            waiting[nxt] -= 1
            if waiting[nxt] == 0:
                heapq.heappush(ready, (index[nxt], nxt))
    return order


def _trim_tails(nodes: set[str], succ: dict[str, list[str]], pred: dict[str, list[str]]) -> set[str]:
    """`nodes` without those that lead to no other member (the long tail after a cycle): they cannot be on a
    cycle, and peeling them off is far cheaper than running Tarjan over them."""
    left = set(nodes)
    onward = {n: sum(1 for m in succ[n] if m in left) for n in left}
    stack = [n for n, count in onward.items() if count == 0]
    while stack:
        node_id = stack.pop()
        left.discard(node_id)
        for prev in pred[node_id]:
            if prev in left:
                onward[prev] -= 1
                if onward[prev] == 0:
                    stack.append(prev)
    return left


def _cycle_members(nodes: set[str], succ: dict[str, list[str]]) -> set[str]:
    """The nodes of `nodes` that lie on a cycle: members of a strongly connected component of more than one
    node, or with an edge to themselves (Tarjan's algorithm, iterative so that long chains cannot overflow)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    members: set[str] = set()
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(succ[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node_id, children = work[-1]
            advanced = False
            for child in children:
                if child not in nodes:
                    continue
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(succ[child])))
                    advanced = True
                    break
                if child in on_stack:
                    low[node_id] = min(low[node_id], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node_id])
            if low[node_id] == index[node_id]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node_id:
                        break
                if len(component) > 1 or node_id in succ[node_id]:
                    members.update(component)
    return members


def _reach(neighbours: dict[str, list[str]], sources) -> set[str]:
    """The sources and every node reachable from them along `neighbours`, in one search."""
    seen = set(sources)
    stack = list(seen)
    while stack:
        for nxt in neighbours[stack.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


def _node_structure(graph: Graph, node: Node, bad_inputs: set[str]) -> list[Diagnostic]:
    diags: list[Diagnostic] = []
    problem = id_problem(node.id)
    if problem:
        diags.append(Diagnostic(ERROR, node.id, f"{_short(node.id)} cannot be used as a layer name: {problem}",
                                f"rename it, e.g. to {suggest_id(node.id, graph.nodes)!r}", "id"))
    spec = spec_for(graph, node)
    if spec is None and node.op == "Block":
        diags.append(Diagnostic(ERROR, node.id, *block_problem(graph, node)))
        bad_inputs.add(node.id)
        return diags
    if spec is None:
        guess = closest_op(node.op)
        diags.append(Diagnostic(ERROR, node.id, f"unknown layer type {_short(node.op)}",
                                f"did you mean {guess!r}?" if guess else "pick a layer from the palette", "op"))
        bad_inputs.add(node.id)
        return diags
    diags.extend(_port_problems(graph, node, spec, bad_inputs))
    return diags


def _port_problems(graph: Graph, node: Node, spec: LayerSpec, bad_inputs: set[str]) -> list[Diagnostic]:
    diags: list[Diagnostic] = []
    edges = [e for e in graph.in_edges(node.id) if e.src in graph]
    by_port: dict[int, list[Edge]] = {}
    for e in edges:
        by_port.setdefault(e.dst_port, []).append(e)
    n_ports = spec.input_port_count(len(by_port))
    for port, port_edges in sorted(by_port.items()):
        if port >= n_ports:
            where = "has no inputs" if n_ports == 0 else f"has input ports 0..{n_ports - 1}"
            diags.append(Diagnostic(ERROR, node.id, f"{spec.op} {where}, but an edge from {_short(port_edges[0].src)} "
                                    f"goes into port {port}", "connect it to an existing port", edge=port_edges[0]))
            bad_inputs.add(node.id)
        if len(port_edges) > 1:
            sources = ", ".join(_short(e.src) for e in port_edges)
            diags.append(Diagnostic(ERROR, node.id, f"{_port_label(spec, port)} is fed twice (from {sources})",
                                    "a port takes one tensor: merge them with Add or Concat first",
                                    edge=port_edges[1]))
            bad_inputs.add(node.id)
    for port in range(n_ports):
        if port not in by_port and not (not spec.variadic and spec.inputs[port].optional):
            diags.append(Diagnostic(ERROR, node.id, f"{_port_label(spec, port)} is not connected",
                                    "drag an edge from a layer's output to it"))
            bad_inputs.add(node.id)
    if spec.variadic and len(by_port) < spec.min_inputs and by_port:
        diags.append(Diagnostic(ERROR, node.id, f"{spec.op} needs at least {spec.min_inputs} inputs",
                                "connect another tensor to it"))
    n_outputs = spec.output_port_count(node.params if isinstance(node.params, dict) else None)
    for e in graph.out_edges(node.id):
        if e.dst in graph and e.src_port >= n_outputs:
            outs = "no outputs" if not spec.outputs else f"output ports 0..{n_outputs - 1}"
            diags.append(Diagnostic(ERROR, e.dst, f"the edge from {_short(node.id)} uses its output port {e.src_port}, "
                                    f"but {spec.op} has {outs}", "connect from an existing output", edge=e))
            bad_inputs.add(e.dst)
    return diags


def _port_label(spec: LayerSpec, port: int) -> str:
    """'the input' for single-input layers, 'input 1 (memory)' where there are several."""
    if spec.variadic or len(spec.inputs) > 1:
        return f"input {port} ({spec.input_port_name(port)})"
    return "the input"


def _reachability(graph: Graph, succ: dict[str, list[str]], pred: dict[str, list[str]],
                  diags: list[Diagnostic]) -> frozenset[str]:
    inputs = [n.id for n in graph if n.op == "Input"]
    outputs = [n.id for n in graph if n.op == "Output"]
    if not inputs:
        diags.append(Diagnostic(ERROR, None, "the network has no Input", "add an Input layer from the palette"))
    if not outputs:
        diags.append(Diagnostic(ERROR, None, "the network has no Output", "add an Output layer after the last layer"))
    from_inputs = _reach(succ, inputs)
    to_outputs = _reach(pred, outputs)
    for node in graph:
        if node.op == "Input" and inputs and outputs and node.id not in to_outputs:
            diags.append(Diagnostic(WARNING, node.id, "this Input does not lead to any Output", "connect it or delete it"))
        elif node.op not in ("Input",) and node.id not in from_inputs and spec_for(graph, node) is not None \
                and spec_for(graph, node).inputs:
            if not graph.in_edges(node.id):
                continue  # "not connected" already says it
            diags.append(Diagnostic(WARNING, node.id, "no Input reaches this layer", "connect it to the network"))
        elif node.op != "Output" and node.id not in to_outputs and inputs and outputs:
            diags.append(Diagnostic(WARNING, node.id, "this layer's output is not used by any Output",
                                    "connect it, or delete it: it is left out of the generated code"))
    return frozenset(from_inputs & to_outputs)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 42 else text[:39] + "..."


def activations_per_sample(result: CheckResult) -> int:
    """Values every live node outputs for one sample (what backward keeps), summed over the model."""
    return sum(t.numel for n in result.live if (info := result.nodes.get(n)) and info.outputs for t in info.outputs)


def model_size_problems(result: CheckResult, batch_size: int | None = None) -> list[Diagnostic]:
    """Whole-model limits (see MAX_TOTAL_PARAMS): refused with a message before export or training allocates."""
    problems: list[Diagnostic] = []
    params = result.total_params
    if params > MAX_TOTAL_PARAMS:
        biggest = max(result.live, key=lambda n: result.nodes[n].param_count if n in result.nodes else 0)
        problems.append(Diagnostic(
            ERROR, None, f"the model would have {params:,} parameters in all ({_bytes(params)} of weights, about "
            f"{_bytes(4 * params)} to train)", f"use smaller layers (the largest is {biggest!r}); LayerLoom refuses "
            f"models over {MAX_TOTAL_PARAMS:,} parameters before allocating anything"))
    activations = activations_per_sample(result)
    if activations > MAX_ACTIVATIONS_PER_SAMPLE:
        problems.append(Diagnostic(
            ERROR, None, f"the layers' outputs add up to {activations:,} values per sample ({_bytes(activations)} "
            "for a single sample)", "use a smaller Input or downsample earlier; LayerLoom refuses models over "
            f"{_bytes(MAX_ACTIVATIONS_PER_SAMPLE)} of activations per sample"))
    if batch_size is not None and not problems:
        memory = estimated_memory_bytes(result, batch_size)
        if memory > MAX_TRAINING_BYTES:
            problems.append(Diagnostic(
                ERROR, None, f"training at batch size {batch_size} would need about {memory / 2**30:,.0f} GiB "
                "(weights, gradients, Adam state, activations)",
                f"lower training.batch_size or the model's sizes; LayerLoom refuses over "
                f"{MAX_TRAINING_BYTES >> 30} GiB", "batch_size"))
    return problems


def estimated_memory_bytes(result: CheckResult, batch_size: int) -> int:
    """Rough training memory: weights, gradients and Adam's two moments (4x params), plus activations kept
    for backward (every live node's outputs, twice for their gradients) at `batch_size`."""
    return BYTES_PER_ELEMENT * (4 * result.total_params + 2 * batch_size * activations_per_sample(result))


__all__ = ["ERROR", "WARNING", "CheckResult", "Checker", "Diagnostic", "NodeInfo", "activations_per_sample", "check",
           "estimated_memory_bytes", "model_size_problems"]
