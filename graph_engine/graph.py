"""The graph model: nodes, edges, and the events that announce every change.

Each public method is one user-level edit (the app wraps each in one QUndoCommand) and emits events after the
change is made. The model stores what the user wrote (`params` exactly as in the file); checking and
resolving them is validation's job, so a file with mistakes can still be loaded, shown and fixed.

Ids are validated on every edit; a file may still load with bad ids (validation reports them and the app
proposes a fixed name), but nothing reaches generated code until they are fixed.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from graph_engine.catalog import closest_op, get_spec
from graph_engine.errors import GraphEditError, InvalidIdError
from graph_engine.events import Event
from graph_engine.identifiers import id_problem, suggest_id


@dataclass
class Node:
    id: str
    op: str
    params: dict[str, Any] = field(default_factory=dict)
    pos: tuple[float, float] | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # unknown keys from the file, kept for round trips
    block: str | None = None  # op "Block" only: the definition's name (graph_engine/blocks)
    repeat: Any = None  # op "Block" only: N chained copies (None: one plain instance); checked by validation
    trainable: bool = True  # False: frozen, its weights are not trained (graph_engine/training/freezing.py)

    def copy(self) -> Node:
        return Node(self.id, self.op, copy.deepcopy(self.params), self.pos, copy.deepcopy(self.extra),
                    self.block, self.repeat, self.trainable)


@dataclass(frozen=True)
class Edge:
    src: str
    dst: str
    src_port: int = 0
    dst_port: int = 0

    @property
    def target(self) -> tuple[str, int]:
        return (self.dst, self.dst_port)

    @property
    def source(self) -> tuple[str, int]:
        return (self.src, self.src_port)


class Graph:
    """Nodes in insertion order and the edges between their ports.

    Events (arguments): node_added(node, index), node_removed(node, index), edge_added(edge),
    edge_removed(edge), node_changed(node_id) for params, node_renamed(old_id, new_id),
    node_moved(node_id, pos), and changed() after any edit that can change the checked result;
    structure_changed() when a block definition's ports change under this graph's Block nodes.
    """

    def __init__(self) -> None:
        self._nodes: dict[str, Node] = {}
        self._edges: list[Edge] = []
        self._in: dict[str, list[Edge]] = {}
        self._out: dict[str, list[Edge]] = {}
        self.version = 0  # bumped by every edit that can change validation (not by moves)
        # The project's block definitions (graph_engine.blocks.BlockLibrary) when this graph belongs to a
        # project that has any; Block nodes are resolved through it. None: no blocks.
        self.library = None
        self.node_added = Event()
        self.node_removed = Event()
        self.edge_added = Event()
        self.edge_removed = Event()
        self.node_changed = Event()
        self.node_renamed = Event()
        self.node_moved = Event()
        self.changed = Event()
        self.structure_changed = Event()  # ports of Block nodes may differ: checkers re-analyse structure

    # ---- reading -----------------------------------------------------------------------------------------

    @property
    def nodes(self) -> dict[str, Node]:
        """Read-only use: nodes by id, in order. Change them only through the edit methods."""
        return self._nodes

    @property
    def edges(self) -> list[Edge]:
        return self._edges

    def __contains__(self, node_id: object) -> bool:
        return node_id in self._nodes

    def __len__(self) -> int:
        return len(self._nodes)

    def __iter__(self) -> Iterator[Node]:
        return iter(self._nodes.values())

    def node(self, node_id: str) -> Node:
        try:
            return self._nodes[node_id]
        except (KeyError, TypeError):
            raise GraphEditError(f"there is no node {node_id!r}", node_id=str(node_id)) from None

    def in_edges(self, node_id: str) -> list[Edge]:
        return self._in.get(node_id, [])

    def out_edges(self, node_id: str) -> list[Edge]:
        return self._out.get(node_id, [])

    def index_of(self, node_id: str) -> int:
        return list(self._nodes).index(node_id)

    def edge_into(self, node_id: str, port: int) -> Edge | None:
        return next((e for e in self.in_edges(node_id) if e.dst_port == port), None)

    # ---- edits -------------------------------------------------------------------------------------------

    def add_node(self, node: Node, index: int | None = None, *, check_id: bool = True) -> Node:
        """Insert `node` (at `index` to restore an undone removal). Refuses duplicate or invalid ids."""
        if not isinstance(node.id, str):
            raise InvalidIdError("a node id must be text", node_id=repr(node.id), field="id")
        if node.id in self._nodes:
            raise GraphEditError(f"there is already a node {node.id!r}", node_id=node.id, field="id",
                                 hint=f"use another id, e.g. {suggest_id(node.id, self._nodes)!r}")
        if check_id:
            require_valid_id(node.id, self._nodes)
            if get_spec(node.op) is None:
                guess = closest_op(node.op)
                raise GraphEditError(f"unknown layer {node.op!r}", node_id=node.id, field="op",
                                     hint=f"did you mean {guess!r}?" if guess else "")
        if index is None or index >= len(self._nodes):
            self._nodes[node.id] = node
            index = len(self._nodes) - 1
        else:
            items = list(self._nodes.items())
            items.insert(index, (node.id, node))
            self._nodes = dict(items)
        self._in.setdefault(node.id, [])
        self._out.setdefault(node.id, [])
        self.version += 1
        self.node_added.emit(node, index)
        self.changed.emit()
        return node

    def remove_node(self, node_id: str) -> tuple[Node, int, list[Edge]]:
        """Remove a node and its edges; returns (node, its index, the removed edges) for undo."""
        node = self.node(node_id)
        removed = [e for e in self._edges if e.src == node_id or e.dst == node_id]
        for edge in removed:
            self.remove_edge(edge)
        index = self.index_of(node_id)
        del self._nodes[node_id]
        self._in.pop(node_id, None)
        self._out.pop(node_id, None)
        self.version += 1
        self.node_removed.emit(node, index)
        self.changed.emit()
        return node, index, removed

    def add_edge(self, edge: Edge, index: int | None = None) -> Edge:
        """Connect two ports. Refuses unknown nodes, duplicates and an input port that is already fed;
        deeper checks (shapes, cycles) are validation's and the app's `can_connect`."""
        for end in (edge.src, edge.dst):
            if end not in self._nodes:
                raise GraphEditError(f"the edge {edge.src} -> {edge.dst} names a node {end!r} that does not exist",
                                     node_id=str(end))
        if edge in self._edges:
            raise GraphEditError(f"{edge.src} is already connected to {edge.dst}", node_id=edge.dst)
        self._insert_edge(edge, index)
        return edge

    def add_edge_unchecked(self, edge: Edge) -> None:
        """Loading only: keep an edge exactly as the file has it so validation can report what is wrong."""
        self._insert_edge(edge, None)

    def _insert_edge(self, edge: Edge, index: int | None) -> None:
        if index is None:
            self._edges.append(edge)
        else:
            self._edges.insert(index, edge)
        self._out.setdefault(edge.src, []).append(edge)
        self._in.setdefault(edge.dst, []).append(edge)
        self.version += 1
        self.edge_added.emit(edge)
        self.changed.emit()

    def remove_edge(self, edge: Edge) -> int:
        """Disconnect; returns the edge's index for undo."""
        try:
            index = self._edges.index(edge)
        except ValueError:
            raise GraphEditError(f"{edge.src} is not connected to {edge.dst}", node_id=edge.dst) from None
        del self._edges[index]
        self._out[edge.src].remove(edge)
        self._in[edge.dst].remove(edge)
        self.version += 1
        self.edge_removed.emit(edge)
        self.changed.emit()
        return index

    def set_params(self, node_id: str, params: dict[str, Any]) -> dict[str, Any]:
        """Replace a node's params; returns the old ones for undo. Checking values is the caller's job
        (the inspector refuses bad values with `params.validate_value` before pushing)."""
        node = self.node(node_id)
        old = node.params
        node.params = copy.deepcopy(params)
        self.version += 1
        self.node_changed.emit(node_id)
        self.changed.emit()
        return old

    def set_param(self, node_id: str, name: str, value: Any) -> dict[str, Any]:
        params = dict(self.node(node_id).params)
        if value is None or value == "auto":
            params.pop(name, None)
        else:
            params[name] = value
        return self.set_params(node_id, params)

    def set_instance(self, node_id: str, block: str | None, repeat: Any = None) -> tuple[str | None, Any]:
        """Point a Block node at another definition and/or repeat count; returns the old pair for undo."""
        node = self.node(node_id)
        old = (node.block, node.repeat)
        node.block, node.repeat = block, repeat
        self.version += 1
        self.structure_changed.emit()  # the new definition may have other ports
        self.node_changed.emit(node_id)
        self.changed.emit()
        return old

    def set_trainable(self, node_id: str, trainable: bool) -> bool:
        """Freeze (False) or unfreeze a node; returns the old value for undo. The network's code does not
        change (freezing is a training matter), its trainable parameter count does."""
        node = self.node(node_id)
        old = node.trainable
        node.trainable = bool(trainable)
        self.version += 1
        self.node_changed.emit(node_id)
        self.changed.emit()
        return old

    def rename_node(self, old_id: str, new_id: str) -> None:
        """Give a node a new id, keeping its place and its edges."""
        node = self.node(old_id)
        if new_id == old_id:
            return
        if new_id in self._nodes:
            raise GraphEditError(f"there is already a node {new_id!r}", node_id=old_id, field="id")
        require_valid_id(new_id, self._nodes)
        items = [(new_id if k == old_id else k, v) for k, v in self._nodes.items()]
        node.id = new_id
        self._nodes = dict(items)
        self._edges = [_renamed(e, old_id, new_id) for e in self._edges]
        self._rebuild_adjacency()
        self.version += 1
        self.node_renamed.emit(old_id, new_id)
        self.changed.emit()

    def move_node(self, node_id: str, pos: tuple[float, float] | None) -> tuple[float, float] | None:
        node = self.node(node_id)
        old = node.pos
        node.pos = None if pos is None else (float(pos[0]), float(pos[1]))
        self.node_moved.emit(node_id, node.pos)
        return old

    def _rebuild_adjacency(self) -> None:
        self._in = {k: [] for k in self._nodes}
        self._out = {k: [] for k in self._nodes}
        for e in self._edges:
            self._out.setdefault(e.src, []).append(e)
            self._in.setdefault(e.dst, []).append(e)

    # ---- bulk --------------------------------------------------------------------------------------------

    def copy(self) -> Graph:
        """A detached deep copy (no listeners), e.g. the snapshot a training run is bound to."""
        g = Graph()
        for node in self._nodes.values():
            g._nodes[node.id] = node.copy()
        g._edges = list(self._edges)
        g._rebuild_adjacency()
        return g

    def subgraph(self, node_ids: Iterable[str]) -> tuple[list[Node], list[Edge]]:
        """Copies of the given nodes and the edges among them (what copy/cut puts on the clipboard)."""
        ids = [i for i in node_ids if i in self._nodes]
        chosen = set(ids)
        return ([self._nodes[i].copy() for i in ids],
                [e for e in self._edges if e.src in chosen and e.dst in chosen])


def require_valid_id(node_id: str, taken) -> None:
    problem = id_problem(node_id)
    if problem:
        raise InvalidIdError(f"{_shown(node_id)} cannot be used as an id: {problem}", node_id=_shown(node_id),
                             field="id", hint=f"try {suggest_id(node_id, taken)!r}")


def _shown(node_id: object) -> str:
    text = repr(node_id)
    return text if len(text) <= 50 else text[:47] + "..."


def _renamed(edge: Edge, old: str, new: str) -> Edge:
    return Edge(new if edge.src == old else edge.src, new if edge.dst == old else edge.dst,
                edge.src_port, edge.dst_port)
