"""Block edits as engine methods: group a selection into a block, ungroup an instance, make an instance's block
unique, and create definitions and instances programmatically (what the app's commands and the importer call).

Each function is one user-level edit made of the graph's and the library's own edit methods, so every change
is announced by their events (node_added, node_removed, edge_added, definition_added...). Each returns what is
needed to undo it; undoing a group is `ungroup` of its instance, and the reverse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from graph_engine.blocks import refs
from graph_engine.blocks.model import BlockDef, BlockParam
from graph_engine.blocks.names import block_name_problem, default_block_name, suggest_block_name
from graph_engine.errors import GraphEditError
from graph_engine.graph import Edge, Graph, Node
from graph_engine.identifiers import RESERVED, unique_id
from graph_engine.layout import COLUMN_GAP, ROW_GAP

PORT_OPS = ("Input", "Output", "BlockInput", "BlockOutput")
PORT_GAP = COLUMN_GAP
PORT_ROW = ROW_GAP


@dataclass
class Grouped:
    block: str  # the new definition's name
    instance: str  # the instance node that replaced the selection


def owner_graph(project, block: str | None) -> Graph:
    """The project graph (block None) or the graph of definition `block`."""
    return project.graph if block is None else project.blocks.definition(block).graph


def create_definition(project, name: str, graph: Graph | None = None, params: dict[str, BlockParam] | None = None,
                      doc: str = "") -> BlockDef:
    """Add a definition (the importer's entry point): `graph` holds BlockInput/BlockOutput ports in order."""
    return project.blocks.add(BlockDef(name, graph or Graph(), dict(params or {}), doc))


def add_instance(project, graph: Graph, node_id: str, block: str, params: dict[str, Any] | None = None,
                 repeat: int | None = None, pos=None) -> Node:
    """Add an instance of `block` to `graph` (the project's or a definition's); refuses recursion."""
    require_usable(project, graph, block)
    return graph.add_node(Node(node_id, "Block", dict(params or {}), pos, {}, block, repeat))


def require_usable(project, graph: Graph, block: str) -> None:
    """Refuse an instance of `block` inside `graph` when that would make a definition contain itself."""
    library = project.blocks
    library.definition(block)
    owner = next((d.name for d in library if d.graph is graph), None)
    if owner is None:
        return
    path = [owner] if block == owner else library.use_path(block, owner)
    if path is not None:
        chain = " -> ".join([owner] + ([] if block == owner else path[:-1]) + [owner])
        raise GraphEditError(f"block {owner} cannot contain {block}: {chain}", field="block",
                             hint="a block cannot use itself, directly or through other blocks")


def group(project, node_ids, name: str | None = None, *, block: str | None = None,
          instance_id: str | None = None) -> Grouped:
    """Move the nodes `node_ids` of the project graph (or of definition `block`) into a new definition and put
    one instance in their place. Cut edges become the ports: one BlockInput per distinct outside source, one
    BlockOutput per inside output that something outside reads, in the order the cut edges are listed."""
    graph = owner_graph(project, block)
    library = project.blocks
    chosen = [nid for nid in graph.nodes if nid in set(node_ids)]
    if not chosen:
        raise GraphEditError("select the layers to group first")
    for nid in chosen:
        if graph.node(nid).op in PORT_OPS:
            raise GraphEditError(f"{nid} is an {graph.node(nid).op}; it cannot go into a block", node_id=nid,
                                 hint="group the layers between the inputs and outputs")
    # Named after what it holds (names.default_block_name): conv + relu + pool -> ConvReluPool.
    name = name or default_block_name([graph.node(nid).block if graph.node(nid).op == "Block" else graph.node(nid).op
                                       for nid in chosen], library.names)
    problem = block_name_problem(name)
    if problem or name in library:
        raise GraphEditError(f"{name!r:.50} cannot name a new block: {problem or 'it is taken'}", field="name",
                             hint=f"try {suggest_block_name(name, library.names)!r}")
    inside = set(chosen)
    between = _between(graph, inside)
    if between:
        shown = ", ".join(sorted(between)[:5])
        raise GraphEditError(f"grouping these layers would make a loop through {shown}, which lies between them",
                             node_id=sorted(between)[0], hint=f"add {shown} to the selection, or select fewer layers")
    incoming = [e for e in graph.edges if e.dst in inside and e.src not in inside]
    outgoing = [e for e in graph.edges if e.src in inside and e.dst not in inside]
    sources = list(dict.fromkeys(e.source for e in incoming))
    results = list(dict.fromkeys(e.source for e in outgoing))
    taken = set(chosen)
    in_ports = [_port_id("x", i, len(sources), taken) for i in range(len(sources))]
    out_ports = [_port_id("y", i, len(results), taken) for i in range(len(results))]

    # The ports sit one column left and right of the grouped layers, so the definition opens laid out.
    placed = [graph.node(nid).pos for nid in chosen if graph.node(nid).pos is not None]
    left = min((p[0] for p in placed), default=0.0) - PORT_GAP
    right = max((p[0] for p in placed), default=0.0) + PORT_GAP
    top = min((p[1] for p in placed), default=0.0)
    inner = Graph()
    for i, port in enumerate(in_ports):
        inner.add_node(Node(port, "BlockInput", pos=(left, top + i * PORT_ROW)))
    for nid in chosen:
        inner.add_node(graph.node(nid).copy(), check_id=False)
    for i, port in enumerate(out_ports):
        inner.add_node(Node(port, "BlockOutput", pos=(right, top + i * PORT_ROW)))
    for edge in graph.edges:
        if edge.src in inside and edge.dst in inside:
            inner.add_edge(edge)
    for edge in incoming:
        inner.add_edge(Edge(in_ports[sources.index(edge.source)], edge.dst, 0, edge.dst_port))
    for index, (src, src_port) in enumerate(results):
        inner.add_edge(Edge(src, out_ports[index], src_port, 0))
    library.add(BlockDef(name, inner))

    index = graph.index_of(chosen[0])
    positions = [graph.node(nid).pos for nid in chosen if graph.node(nid).pos is not None]
    for nid in chosen:
        graph.remove_node(nid)
    instance_id = instance_id or unique_id(_snake(name), graph.nodes)
    pos = (sum(p[0] for p in positions) / len(positions), sum(p[1] for p in positions) / len(positions)) \
        if positions else None
    graph.add_node(Node(instance_id, "Block", {}, pos, {}, name, None), index)
    for port, (src, src_port) in enumerate(sources):
        graph.add_edge(Edge(src, instance_id, src_port, port))
    for edge in outgoing:
        graph.add_edge(Edge(instance_id, edge.dst, results.index(edge.source), edge.dst_port))
    return Grouped(name, instance_id)


def ungroup(project, instance_id: str, *, block: str | None = None, remove_unused: bool = True) -> list[str]:
    """Replace an instance by the layers of its definition (refs resolved with the instance's values, one set
    per copy when repeated). Inner ids are kept when free, else prefixed with the instance id. The definition
    is removed when nothing uses it any more (`remove_unused`). Returns the ids of the inserted nodes."""
    graph = owner_graph(project, block)
    node = graph.node(instance_id)
    if node.op != "Block":
        raise GraphEditError(f"{instance_id} is not a block instance", node_id=instance_id)
    defn = project.blocks.definition(node.block)
    values = {p.name: p.default for p in defn.params.values()}
    values.update(node.params or {})
    missing = [k for k, p in defn.params.items() if p.as_param().required and k not in (node.params or {})]
    if missing:
        raise GraphEditError(f"give {missing[0]} a value before ungrouping", node_id=instance_id, field=missing[0])
    copies = node.repeat or 1
    index = graph.index_of(instance_id)
    in_edges = {e.dst_port: e for e in graph.in_edges(instance_id)}
    out_edges = list(graph.out_edges(instance_id))
    graph.remove_node(instance_id)
    taken = set(graph.nodes)
    inserted: list[str] = []
    feeds = {port: [(e.src, e.src_port)] for port, e in in_edges.items()}  # BlockInput port -> outside sources
    for copy_index in range(copies):
        prefix = f"{instance_id}_{copy_index}_" if node.repeat is not None else f"{instance_id}_"
        mapping = {}
        for inner in defn.graph:
            if inner.op in ("BlockInput", "BlockOutput"):
                continue
            new_id = inner.id if inner.id not in taken and node.repeat is None else unique_id(prefix + inner.id, taken)
            taken.add(new_id)
            mapping[inner.id] = new_id
            params = {k: refs.resolve(v, values, list(defn.params)) if refs.is_ref(v) else v
                      for k, v in (inner.params or {}).items()}
            graph.add_node(Node(new_id, inner.op, params, inner.pos, dict(inner.extra), inner.block, inner.repeat,
                                inner.trainable and node.trainable),
                           index + len(inserted), check_id=False)
            inserted.append(new_id)
        ports_in = {nid: i for i, nid in enumerate(defn.inputs)}
        ports_out = {nid: i for i, nid in enumerate(defn.outputs)}
        outs: dict[int, list[tuple[str, int]]] = {}
        for e in defn.graph.edges:
            srcs = feeds.get(ports_in[e.src], []) if e.src in ports_in else [(mapping[e.src], e.src_port)]
            if e.dst in ports_out:
                outs.setdefault(ports_out[e.dst], []).extend(srcs)
                continue
            for src, src_port in srcs:
                graph.add_edge(Edge(src, mapping[e.dst], src_port, e.dst_port))
        feeds = outs
    for e in out_edges:
        for src, src_port in feeds.get(e.src_port, []):
            graph.add_edge(Edge(src, e.dst, src_port, e.dst_port))
    if remove_unused and not project.blocks.instances(defn.name):
        project.blocks.remove(defn.name)
    return inserted


def make_unique(project, instance_id: str, new_name: str | None = None, *, block: str | None = None) -> str:
    """Give one instance its own copy of its definition (edits to it then leave the other instances alone)."""
    graph = owner_graph(project, block)
    node = graph.node(instance_id)
    if node.op != "Block":
        raise GraphEditError(f"{instance_id} is not a block instance", node_id=instance_id)
    library = project.blocks
    defn = library.definition(node.block)
    new_name = new_name or suggest_block_name(defn.name, library.names)
    library.add(defn.copy(new_name))
    graph.set_instance(instance_id, new_name, node.repeat)
    return new_name


def _between(graph: Graph, inside: set[str]) -> set[str]:
    """Nodes outside `inside` on a path from a selected node to another (grouping them would close a loop)."""
    def reach(step) -> set[str]:
        seen: set[str] = set()
        stack = [nid for nid in inside]
        while stack:
            for nxt in step(stack.pop()):
                if nxt not in seen and nxt not in inside:
                    seen.add(nxt)
                    stack.append(nxt)
        return seen

    after = reach(lambda nid: [x.dst for x in graph.out_edges(nid)])
    before = reach(lambda nid: [x.src for x in graph.in_edges(nid)])
    return after & before


def _port_id(base: str, index: int, count: int, taken: set[str]) -> str:
    name = unique_id(base if count == 1 else f"{base}{index + 1}", taken)
    taken.add(name)
    return name


def _snake(name: str) -> str:
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()
    return text if text not in RESERVED else f"{text}_block"
