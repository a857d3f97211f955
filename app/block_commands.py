"""Undoable block edits: each redo calls one engine edit of graph_engine/blocks/edits.py (group, ungroup,
make_unique) or graph_engine/blocks/builtin.py (add a built-in block).

Undo puts back the exact graph the edit started from (node order, edge order, positions) and the library as it
was, using the graph's and the library's own edit methods, so the scene follows through the bridge as usual.
Ungrouping an instance and regrouping its layers would not do: the regrouped definition would lose its block
params and doc, and node and edge order could differ.
"""

from __future__ import annotations

from PySide6.QtGui import QUndoCommand

from graph_engine.blocks import builtin, edits
from graph_engine.blocks.model import BlockDef
from graph_engine.graph import Edge, Graph, Node


class _BlockCommand(QUndoCommand):
    """Document runs the edit once with `first_redo()` before pushing (so a refusal raises to it, not into
    Qt's push); the push's own redo then does nothing."""

    _done = False

    def first_redo(self) -> None:
        self._edit()
        self._done = True

    def redo(self) -> None:
        if self._done:
            self._done = False
            return
        self._edit()

    def _edit(self) -> None:
        raise NotImplementedError


class _Snapshot:
    """The graph's nodes and edges in order, and the definitions by name, before a block edit."""

    def __init__(self, project, graph: Graph):
        self.nodes: list[Node] = [n.copy() for n in graph]
        self.edges: list[Edge] = list(graph.edges)
        self.definitions: dict[str, BlockDef] = {d.name: d for d in project.blocks}

    def restore(self, project, graph: Graph) -> None:
        keep_edges = set(self.edges)
        for edge in [e for e in graph.edges if e not in keep_edges]:
            graph.remove_edge(edge)
        keep_nodes = {n.id for n in self.nodes}
        for node_id in [nid for nid in graph.nodes if nid not in keep_nodes]:
            graph.remove_node(node_id)
        library = project.blocks
        for name in [n for n in library.names if n not in self.definitions]:
            library.remove(name)
        for name, defn in self.definitions.items():
            if name not in library:
                library.add(defn, check_name=False)
        for index, node in enumerate(self.nodes):
            if node.id not in graph:
                graph.add_node(node.copy(), index, check_id=False)
        present = set(graph.edges)
        for index, edge in enumerate(self.edges):
            if edge not in present:
                graph.add_edge(edge, index)


class GroupCommand(_BlockCommand):
    """Group `node_ids` into a new definition with one instance in their place (edits.group)."""

    def __init__(self, project, graph: Graph, node_ids: list[str], name: str | None = None):
        super().__init__(f"Group {len(node_ids)} layer{'s' if len(node_ids) != 1 else ''} into a block")
        self.project, self.graph, self.node_ids = project, graph, list(node_ids)
        self.name, self.instance_id = name, None
        self.before = _Snapshot(project, graph)

    def _edit(self) -> None:
        # The first redo picks the names; a later redo reuses them, so redo after undo gives the same graph.
        grouped = edits.group(self.project, self.node_ids, self.name, instance_id=self.instance_id,
                              block=self._owner())
        self.name, self.instance_id = grouped.block, grouped.instance
        self.setText(f"Group into block {self.name}")

    def undo(self) -> None:
        self.before.restore(self.project, self.graph)

    def _owner(self) -> str | None:
        return next((d.name for d in self.project.blocks if d.graph is self.graph), None)


class UngroupCommand(_BlockCommand):
    """Replace a block instance by its definition's layers (edits.ungroup)."""

    def __init__(self, project, graph: Graph, instance_id: str):
        super().__init__(f"Ungroup {instance_id}")
        self.project, self.graph, self.instance_id = project, graph, instance_id
        self.before = _Snapshot(project, graph)
        self.inserted: list[str] = []

    def _edit(self) -> None:
        owner = next((d.name for d in self.project.blocks if d.graph is self.graph), None)
        self.inserted = edits.ungroup(self.project, self.instance_id, block=owner)

    def undo(self) -> None:
        self.before.restore(self.project, self.graph)


class AddBuiltinBlockCommand(_BlockCommand):
    """Copy a built-in block (and the blocks it uses) into the project when needed, and add an instance."""

    def __init__(self, project, graph: Graph, name: str, pos=None):
        super().__init__(f"Add built-in block {name}")
        self.project, self.graph, self.name, self.pos = project, graph, name, pos
        self.before = _Snapshot(project, graph)
        self.instance_id: str | None = None
        self.added: list[str] = []

    def _edit(self) -> None:
        # The first redo picks the id; a later redo reuses it, so redo after undo gives the same graph.
        node = builtin.add_builtin_instance(self.project, self.graph, self.name, self.pos, self.instance_id)
        self.instance_id = node.id
        self.setText(f"Add block {node.block} {node.id}")

    def undo(self) -> None:
        self.before.restore(self.project, self.graph)


class MakeUniqueCommand(_BlockCommand):
    """Give one instance its own copy of its definition (edits.make_unique)."""

    def __init__(self, project, graph: Graph, instance_id: str):
        super().__init__(f"Make {instance_id} unique")
        self.project, self.graph, self.instance_id = project, graph, instance_id
        node = graph.node(instance_id)
        self.old = (node.block, node.repeat)
        self.new_name: str | None = None

    def _edit(self) -> None:
        owner = next((d.name for d in self.project.blocks if d.graph is self.graph), None)
        self.new_name = edits.make_unique(self.project, self.instance_id, self.new_name, block=owner)
        self.setText(f"Make {self.instance_id} unique ({self.new_name})")

    def undo(self) -> None:
        # The instance points back at the shared definition before its copy goes (so nothing names a missing block).
        self.graph.set_instance(self.instance_id, *self.old)
        self.project.blocks.remove(self.new_name)


class SetBlockParamsCommand(QUndoCommand):
    """Replace a definition's block params (BlockLibrary.set_params), both ways."""

    def __init__(self, project, block: str, params: dict):
        super().__init__(f"Set the params of block {block}")
        self.library, self.block = project.blocks, block
        self.new, self.old = dict(params), dict(project.blocks.definition(block).params)

    def redo(self) -> None:
        self.library.set_params(self.block, self.new)

    def undo(self) -> None:
        self.library.set_params(self.block, self.old)


class RenameBlockCommand(QUndoCommand):
    """Rename a definition and every instance's reference to it (BlockLibrary.rename), both ways."""

    def __init__(self, project, old: str, new: str):
        super().__init__(f"Rename block {old} to {new}")
        self.library, self.old, self.new = project.blocks, old, new

    def redo(self) -> None:
        self.library.rename(self.old, self.new)

    def undo(self) -> None:
        self.library.rename(self.new, self.old)
