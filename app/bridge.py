"""The one place where engine events become Qt signals (graph_engine knows no Qt: it
announces changes through plain events).

The scene and panels connect to these signals; nothing else in app/ subscribes to engine events directly.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from graph_engine.graph import Edge, Graph, Node
from graph_engine.project import Project


class GraphBridge(QObject):
    node_added = Signal(object, int)  # Node, index
    node_removed = Signal(object, int)  # Node, index
    edge_added = Signal(object)  # Edge
    edge_removed = Signal(object)  # Edge
    node_changed = Signal(str)  # params changed
    node_renamed = Signal(str, str)  # old id, new id
    node_moved = Signal(str, object)  # id, (x, y)
    changed = Signal()
    training_changed = Signal()  # the project's training section was replaced (Project.set_training)
    definitions_changed = Signal()  # a block definition was added, removed or renamed (the palette's list)
    definition_changed = Signal(str)  # something inside that definition changed (its instances' cards follow)
    project_changed = Signal()  # the project graph changed, whichever graph the bridge follows

    def __init__(self, graph: Graph, parent: QObject | None = None, project: Project | None = None):
        super().__init__(parent)
        self.graph = graph
        self._graph_links = self._links_of(graph)
        self._links = []
        if project is not None:
            self._links.append((project.training_changed, self.training_changed.emit))
            library = project.blocks
            for event in (library.definition_added, library.definition_removed, library.definition_renamed):
                self._links.append((event, self._definitions_changed))
            self._links.append((library.definition_changed, self.definition_changed.emit))
            self._links.append((project.graph.changed, self.project_changed.emit))
        for event, listener in self._links + self._graph_links:
            event.sub(listener)

    def _links_of(self, graph: Graph) -> list:
        return [
            (graph.node_added, self._node_added), (graph.node_removed, self._node_removed),
            (graph.edge_added, self._edge_added), (graph.edge_removed, self._edge_removed),
            (graph.node_changed, self.node_changed.emit), (graph.node_renamed, self.node_renamed.emit),
            (graph.node_moved, self._node_moved), (graph.changed, self.changed.emit),
        ]

    def retarget(self, graph: Graph) -> None:
        """Follow another graph (the canvas entered or left a block definition); the project's links stay."""
        for event, listener in self._graph_links:
            event.unsub(listener)
        self.graph = graph
        self._graph_links = self._links_of(graph)
        for event, listener in self._graph_links:
            event.sub(listener)

    def detach(self) -> None:
        for event, listener in self._links + self._graph_links:
            event.unsub(listener)
        self._links = []
        self._graph_links = []

    def _definitions_changed(self, *names) -> None:
        self.definitions_changed.emit()

    def _node_added(self, node: Node, index: int) -> None:
        self.node_added.emit(node, index)

    def _node_removed(self, node: Node, index: int) -> None:
        self.node_removed.emit(node, index)

    def _edge_added(self, edge: Edge) -> None:
        self.edge_added.emit(edge)

    def _edge_removed(self, edge: Edge) -> None:
        self.edge_removed.emit(edge)

    def _node_moved(self, node_id: str, pos) -> None:
        self.node_moved.emit(node_id, pos)
