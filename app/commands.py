"""Undoable edits: each command calls one public Graph method (never a graphics item:
the scene follows the graph's events).

Commands never touch graphics items; the scene follows the model through the bridge. Multi-step edits are
QUndoStack macros built by app.document.Document.
"""

from __future__ import annotations

import copy
from typing import Any

from PySide6.QtGui import QUndoCommand

from graph_engine.graph import Edge, Graph, Node
from graph_engine.project import Project


class AddNodeCommand(QUndoCommand):
    def __init__(self, graph: Graph, node: Node, parent: QUndoCommand | None = None):
        super().__init__(f"Add {node.op} {node.id}", parent)
        self.graph, self.node = graph, node.copy()

    def redo(self) -> None:
        self.graph.add_node(self.node.copy())
        super().redo()

    def undo(self) -> None:
        super().undo()
        self.graph.remove_node(self.node.id)


class AddEdgeCommand(QUndoCommand):
    def __init__(self, graph: Graph, edge: Edge, parent: QUndoCommand | None = None):
        super().__init__(f"Connect {edge.src} to {edge.dst}", parent)
        self.graph, self.edge = graph, edge

    def redo(self) -> None:
        self.graph.add_edge(self.edge)

    def undo(self) -> None:
        self.graph.remove_edge(self.edge)


class RemoveEdgeCommand(QUndoCommand):
    def __init__(self, graph: Graph, edge: Edge, parent: QUndoCommand | None = None):
        super().__init__(f"Disconnect {edge.src} from {edge.dst}", parent)
        self.graph, self.edge, self.index = graph, edge, None

    def redo(self) -> None:
        self.index = self.graph.remove_edge(self.edge)

    def undo(self) -> None:
        self.graph.add_edge(self.edge, self.index)


class RemoveNodeCommand(QUndoCommand):
    """Remove a node that has no edges left. Document.remove_nodes first pushes a RemoveEdgeCommand for each
    of its edges inside the same macro (each remembers its index), so undo restores the exact order.
    (Edges are macro siblings rather than child commands: PySide child commands need their Python wrappers
    kept alive by hand, and the macro gives the same single undo step.)"""

    def __init__(self, graph: Graph, node_id: str, parent: QUndoCommand | None = None):
        node = graph.node(node_id)
        super().__init__(f"Delete {node.op} {node_id}", parent)
        self.graph, self.node, self.index = graph, node.copy(), None

    def redo(self) -> None:
        self.node = self.graph.node(self.node.id).copy()
        _, self.index, _ = self.graph.remove_node(self.node.id)

    def undo(self) -> None:
        self.graph.add_node(self.node.copy(), self.index, check_id=False)


class SetParamsCommand(QUndoCommand):
    def __init__(self, graph: Graph, node_id: str, params: dict[str, Any], text: str = ""):
        super().__init__(text or f"Edit {node_id}")
        self.graph, self.node_id = graph, node_id
        self.new = dict(params)
        self.old = dict(graph.node(node_id).params)

    def redo(self) -> None:
        self.graph.set_params(self.node_id, self.new)

    def undo(self) -> None:
        self.graph.set_params(self.node_id, self.old)


class SetTrainableCommand(QUndoCommand):
    """Freeze or unfreeze nodes (Node.trainable), one undo step for all of them."""

    def __init__(self, graph: Graph, node_ids: list[str], trainable: bool):
        what = node_ids[0] if len(node_ids) == 1 else f"{len(node_ids)} layers"
        super().__init__(f"{'Unfreeze' if trainable else 'Freeze'} {what}")
        self.graph, self.trainable = graph, trainable
        self.old = {n: graph.node(n).trainable for n in node_ids}

    def redo(self) -> None:
        for node_id in self.old:
            self.graph.set_trainable(node_id, self.trainable)

    def undo(self) -> None:
        for node_id, old in self.old.items():
            self.graph.set_trainable(node_id, old)


class RenameNodeCommand(QUndoCommand):
    def __init__(self, graph: Graph, old_id: str, new_id: str):
        super().__init__(f"Rename {old_id} to {new_id}")
        self.graph, self.old_id, self.new_id = graph, old_id, new_id

    def redo(self) -> None:
        self.graph.rename_node(self.old_id, self.new_id)

    def undo(self) -> None:
        self.graph.rename_node(self.new_id, self.old_id)


class MoveNodesCommand(QUndoCommand):
    """Pushed once when a drag ends (positions of every moved node before and after)."""

    def __init__(self, graph: Graph, moves: dict[str, tuple[Any, Any]], text: str = ""):
        n = len(moves)
        super().__init__(text or (f"Move {next(iter(moves))}" if n == 1 else f"Move {n} layers"))
        self.graph, self.moves = graph, dict(moves)

    def redo(self) -> None:
        for node_id, (_, new) in self.moves.items():
            self.graph.move_node(node_id, new)

    def undo(self) -> None:
        for node_id, (old, _) in self.moves.items():
            self.graph.move_node(node_id, old)


class SetTrainingCommand(QUndoCommand):
    """Replace the project's training section (Project.set_training, which emits training_changed)."""

    def __init__(self, project: Project, new: dict[str, Any] | None, text: str, parent: QUndoCommand | None = None):
        super().__init__(text, parent)
        self.project = project
        self.old = copy.deepcopy(project.training)
        self.new = copy.deepcopy(new)

    def redo(self) -> None:
        self.project.set_training(self.new)

    def undo(self) -> None:
        self.project.set_training(self.old)
