"""Lowering a checked graph to the IR: only nodes on a path from an Input to an Output are kept."""

from __future__ import annotations

from graph_engine.blocks.resolve import spec_for
from graph_engine.codegen.ir import CallFunction, CallModule, Placeholder, Program, Return
from graph_engine.codegen.namespace import Namespace
from graph_engine.errors import InvalidGraphError
from graph_engine.project import Project, class_name_for
from graph_engine.validation import CheckResult, check


def lower(project: Project, result: CheckResult | None = None) -> Program:
    """Lower `project` to a Program. Raises InvalidGraphError (with the diagnostics) when the graph has errors."""
    result = result or check(project)
    if not result.ok:
        first = result.errors[0]
        raise InvalidGraphError(f"the network has {len(result.errors)} error(s); first: {first}", result.errors)
    graph = project.graph
    block_names = project.blocks.names
    ns = Namespace(set(graph.nodes) | set(block_names))
    for node_id in graph.nodes:
        ns.claim(node_id)
    class_name = ns.create(class_name_for(project.name))
    placeholders, body, ret = lower_graph(graph, result, ns)
    program = Program(class_name, project.name, placeholders, body, ret)
    if any(node.op == "Block" for node in graph):
        from graph_engine.blocks.codegen import lower_blocks

        lower_blocks(program, project, result)
    return program


def lower_graph(graph, result: CheckResult, ns: Namespace) -> tuple[list[Placeholder], list, Return]:
    """The instructions of one graph's forward() (the project's, or a block definition's resolved copy)."""
    port_var: dict[tuple[str, int], str] = {}
    placeholders: list[Placeholder] = []
    body: list[CallModule | CallFunction] = []
    returns: list[tuple[str, str, object]] = []
    for node_id in result.order:
        if node_id not in result.live:
            continue
        node = graph.node(node_id)
        spec = spec_for(graph, node)
        info = result.nodes[node_id]
        args = _arg_vars(graph, node_id, spec, port_var)
        if node.op == "Input":
            placeholders.append(Placeholder(node_id, info.outputs[0], _int_high(graph, node_id, result)))
            port_var[(node_id, 0)] = node_id
        elif node.op == "Output":
            returns.append((args[0], node_id, info.inputs[0]))
        else:
            if spec.module:
                call = CallModule(node_id, spec, info.params, args, node_id)
            else:
                call = CallFunction(spec, info.params, args, node_id, attribute=node_id if spec.attribute else "")
            if len(info.outputs) > 1:
                call.result = ns.create(f"{node_id}_out")
                used = sorted({e.src_port for e in graph.out_edges(node_id)})
                for port in used:
                    name = node_id if port == 0 else ns.create(f"{node_id}_{spec.output_port_name(port)}")
                    call.port_vars[port] = name
                    port_var[(node_id, port)] = name
            else:
                port_var[(node_id, 0)] = node_id
            body.append(call)
    ret = Return([r[0] for r in returns], [r[1] for r in returns], [r[2] for r in returns])
    return placeholders, body, ret


def _arg_vars(graph, node_id, spec, port_var) -> list[str]:
    edges = sorted(graph.in_edges(node_id), key=lambda e: e.dst_port)
    by_port = {e.dst_port: port_var[(e.src, e.src_port)] for e in edges}
    count = spec.input_port_count(len(by_port))
    # An unconnected optional input receives input 0 (MultiheadAttention with only a query: self-attention).
    return [by_port.get(i, by_port.get(0)) for i in range(count)]


def _int_high(graph, node_id, result) -> int:
    """For int64 (token id) inputs: the smallest vocabulary the ids feed, so example ids are in range."""
    sizes = [result.nodes[e.dst].params.get("num_embeddings") for e in graph.out_edges(node_id)]
    sizes = [s for s in sizes if isinstance(s, int)]
    return min(sizes) if sizes else 2
