"""Would this connection be valid? Asked by the canvas while dragging (to highlight valid targets) and before
an edge is added (to refuse an invalid one with its reason). Cheap: one shape rule, no full re-check."""

from __future__ import annotations

from graph_engine.blocks.resolve import spec_for
from graph_engine.catalog.spec import ShapeError
from graph_engine.graph import Edge, Graph
from graph_engine.params import resolve_params
from graph_engine.validation import CheckResult


def _name(spec) -> str:
    return getattr(spec, "block", "") or spec.op


def connection_problem(graph: Graph, result: CheckResult | None, edge: Edge) -> str | None:
    """Why `edge` cannot be added, in words for the user, or None when it can. An input port that is already
    fed is not a problem here: the canvas replaces the old edge."""
    if edge.src not in graph or edge.dst not in graph:
        return "both ends must be layers on the canvas"
    if edge.src == edge.dst:
        return "a layer cannot feed itself"
    # A block instance's ports are its definition's (graph_engine/blocks), not the bare catalog Block's.
    src_spec, dst_spec = spec_for(graph, graph.node(edge.src)), spec_for(graph, graph.node(edge.dst))
    if src_spec is None or dst_spec is None:
        return "fix the unknown layer type or block first"
    src_params = graph.node(edge.src).params
    if edge.src_port >= src_spec.output_port_count(src_params if isinstance(src_params, dict) else None):
        return f"{_name(src_spec)} has no output port {edge.src_port}"
    connected = {e.dst_port for e in graph.in_edges(edge.dst) if e != edge}
    if edge.dst_port >= dst_spec.input_port_count(len(connected | {edge.dst_port})) or (
            not dst_spec.variadic and edge.dst_port >= len(dst_spec.inputs)):
        return f"{_name(dst_spec)} has no input port {edge.dst_port}"
    if _reaches(graph, edge.dst, edge.src):
        return f"{edge.dst} already feeds {edge.src}: this edge would make a loop"
    return _shape_problem(graph, result, edge, dst_spec)


def _reaches(graph: Graph, start: str, goal: str) -> bool:
    stack, seen = [start], set()
    while stack:
        n = stack.pop()
        if n == goal:
            return True
        if n in seen:
            continue
        seen.add(n)
        stack.extend(e.dst for e in graph.out_edges(n))
    return False


def _shape_problem(graph: Graph, result: CheckResult | None, edge: Edge, spec) -> str | None:
    if result is None:
        return None
    incoming = result.shape(edge.src, edge.src_port)
    if incoming is None:
        return None  # the source has its own problem; allow the edge, validation will say more
    if spec.input_dtypes is not None and incoming.dtype not in spec.input_dtypes:
        if incoming.dtype == "int64":
            return f"{spec.op} needs float values but {edge.src} gives int64 token ids: add an Embedding"
        return f"{spec.op} needs {' or '.join(spec.input_dtypes)} values but {edge.src} gives {incoming.dtype}"
    others = {e.dst_port: result.shape(e.src, e.src_port) for e in graph.in_edges(edge.dst)
              if e.dst_port != edge.dst_port}
    count = spec.input_port_count(len(set(others) | {edge.dst_port}))
    types = [incoming if i == edge.dst_port else others.get(i) for i in range(count)]
    if spec.variadic:
        types = [t for t in types if t is not None]
        if len(types) < spec.min_inputs:
            return None  # a merge with one input so far: cannot judge yet
    elif any(t is None for t in types):
        if types[0] is None:
            return None
        types = [t if t is not None else types[0] for t in types]
    resolution = resolve_params(spec, graph.node(edge.dst).params, types)
    if any(v is None and not spec.param(k).nullable for k, v in resolution.values.items()):
        return None  # params are broken; the inspector shows that
    try:
        spec.shape_rule(types, resolution.values)
    except ShapeError as exc:
        return f"{exc.message}" + (f" ({exc.hint})" if exc.hint else "")
    return None
