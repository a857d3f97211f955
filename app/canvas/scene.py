"""The canvas scene: a projection of the document's graph (items emit intent, only the
document pushes commands; gestures live in interactions.py).

`CanvasScene` builds one `NodeItem` per node and one `EdgeItem` per edge, then follows the model through the
document's bridge signals and `checked` results. It never writes the model: gestures end in Document calls
(moves are collected during a drag and pushed once, on release, as one `move_nodes`), and a refused edit
(`EditRefused`) becomes a `message`, never an exception in Qt's event loop.

Selection is kept in step both ways with `Document.selection` (node ids); a guard stops the echo. Edges can
be selected too, but only on the canvas (the document's selection is nodes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene, QGraphicsSceneMouseEvent

from app.canvas.appearance import LOD_PORTS, CanvasColors, default_colors
from app.canvas.edge_item import EdgeItem
from app.canvas.interactions import NewLinkAction
from app.canvas.node_item import NodeItem
from app.canvas.port_item import PortItem
from app.document import EditRefused
from graph_engine.blocks.resolve import spec_for
from graph_engine.graph import Edge, Node

if TYPE_CHECKING:
    from app.document import Document
    from graph_engine.validation import CheckResult, Diagnostic, NodeInfo


class CanvasScene(QGraphicsScene):
    message = Signal(str)  # a refused edit's reason, or a hint
    quick_add_requested = Signal(QPointF, object)  # scene pos, wiring {"connect_from"|"connect_to": (id, port)}

    def __init__(self, document: Document, parent=None):
        super().__init__(parent)
        self.document = document
        self.colors: CanvasColors = default_colors()
        self.item_for_node: dict[str, NodeItem] = {}
        self.edge_items: dict[Edge, EdgeItem] = {}
        self.link_action: NewLinkAction | None = None
        self._syncing_selection = False
        self._ports_visible = True
        self.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.BspTreeIndex)
        self._build_items()

        bridge = document.bridge
        self._connections: list[tuple[Any, Callable]] = [
            (bridge.node_added, self._on_node_added), (bridge.node_removed, self._on_node_removed),
            (bridge.edge_added, self._on_edge_added), (bridge.edge_removed, self._on_edge_removed),
            (bridge.node_changed, self._on_node_changed), (bridge.node_renamed, self._on_node_renamed),
            (bridge.node_moved, self._on_node_moved), (document.checked, self._on_checked),
            (document.selection_changed, self._selection_from_document),
            (document.level_changed, self._on_level_changed), (bridge.definition_changed, self._on_definition_changed),
        ]
        for signal, slot in self._connections:
            signal.connect(slot)
        self.selectionChanged.connect(self._selection_from_scene)

    def _build_items(self) -> None:
        """One card per node and one item per edge of the document's shown graph, with the last check on them."""
        document = self.document
        result = document.view_result
        by_node = self._diagnostics_by_node(result)
        for node in document.graph:
            self._add_node_item(node, result.nodes.get(node.id), by_node.get(node.id, []))
        for edge in document.graph.edges:
            self._add_edge_item(edge, label=False)
        self.apply_result(result)
        self._select_items(document.selection)

    def _on_level_changed(self) -> None:
        """The document shows another level of the block hierarchy: every item is made anew."""
        if self.link_action is not None:
            self.link_action.cancel()
        self.clearSelection()
        for item in list(self.items()):
            if item.parentItem() is None:
                self.removeItem(item)
        self.item_for_node = {}
        self.edge_items = {}
        self._build_items()

    def _on_checked(self, result: CheckResult) -> None:
        self.apply_result(self.document.view_result)  # the shown level's shapes (a definition's, inside one)

    def _on_definition_changed(self, name: str) -> None:
        """Ports, params or the name of a definition changed: the cards of its instances here follow."""
        graph = self.document.graph
        affected = self.document.project.blocks.users(name)
        for node_id, item in self.item_for_node.items():
            node = graph.nodes.get(node_id)
            if node is not None and node.op == "Block" and node.block in affected:
                item.set_spec(spec_for(graph, node), node)

    def detach(self) -> None:
        """Stop following the document (before the scene is dropped while the document lives on)."""
        for signal, slot in self._connections:
            signal.disconnect(slot)
        self._connections = []

    # ---- lookups -----------------------------------------------------------------------------------------

    def node_for_item(self, item: QGraphicsItem | None) -> str | None:
        """The id of the node an item belongs to (the card itself or one of its ports)."""
        while item is not None:
            if isinstance(item, NodeItem):
                return item.node_id
            item = item.parentItem()
        return None

    def edge_item(self, edge: Edge) -> EdgeItem | None:
        """The item drawing `edge` (None for a dangling edge of a broken file)."""
        return self.edge_items.get(edge)

    def selected_node_ids(self) -> list[str]:
        """Selected nodes in graph order (stable for copy and delete)."""
        chosen = {i.node_id for i in self.selectedItems() if isinstance(i, NodeItem)}
        return [n for n in self.document.graph.nodes if n in chosen]

    def selected_edges(self) -> list[Edge]:
        """Edges selected on the canvas (the document's selection holds nodes only)."""
        return [i.edge for i in self.selectedItems() if isinstance(i, EdgeItem)]

    def nodes_rect(self, node_ids: Iterable[str] | None = None) -> QRectF:
        """Bounding rectangle of the given node cards (all when None), in scene coordinates."""
        items = self.item_for_node.values() if node_ids is None else (
            self.item_for_node[n] for n in node_ids if n in self.item_for_node)
        rect = QRectF()
        for item in items:
            rect = rect.united(item.sceneBoundingRect())
        return rect

    # ---- model -> items ----------------------------------------------------------------------------------

    def set_view_zoom(self, zoom: float) -> None:
        """The view's zoom changed: far out, ports are hidden (see NodeItem.set_ports_visible)."""
        visible = zoom >= LOD_PORTS
        if visible != self._ports_visible:
            self._ports_visible = visible
            for item in self.item_for_node.values():
                item.set_ports_visible(visible)

    def _add_node_item(self, node: Node, info: NodeInfo | None = None,
                       diagnostics: list[Diagnostic] | None = None) -> NodeItem:
        item = NodeItem(node, info, diagnostics, spec_for(self.document.graph, node))
        item.set_ports_visible(self._ports_visible)
        self.item_for_node[node.id] = item
        self.addItem(item)
        return item

    def _add_edge_item(self, edge: Edge, label: bool = True) -> EdgeItem | None:
        src, dst = self.item_for_node.get(edge.src), self.item_for_node.get(edge.dst)
        if src is None or dst is None or edge in self.edge_items:
            return None  # a dangling edge from a broken file: validation reports it on the node
        item = EdgeItem(edge, src, dst)
        self.edge_items[edge] = item
        self.addItem(item)
        src.attach_edge(item)
        dst.attach_edge(item)
        if label:
            self._label_edge(item, self.document.view_result, shown=not any(
                e.edge.src_port == edge.src_port and e is not item for e in src.edges if e.src is src))
        return item

    def _on_node_added(self, node: Node, index: int) -> None:
        if node.id not in self.item_for_node:
            self._add_node_item(node)

    def _on_node_removed(self, node: Node, index: int) -> None:
        item = self.item_for_node.pop(node.id, None)
        if item is None:
            return
        for edge_item in list(item.edges):
            self._remove_edge_item(edge_item)
        if self.link_action is not None and self.link_action.port.node_item is item:
            self.link_action.cancel()
        self.removeItem(item)

    def _on_edge_added(self, edge: Edge) -> None:
        self._add_edge_item(edge)

    def _on_edge_removed(self, edge: Edge) -> None:
        item = self.edge_items.get(edge)
        if item is not None:
            self._remove_edge_item(item)

    def _remove_edge_item(self, item: EdgeItem) -> None:
        self.edge_items.pop(item.edge, None)
        item.src.detach_edge(item)
        item.dst.detach_edge(item)
        if item.scene() is self:
            self.removeItem(item)

    def _on_node_changed(self, node_id: str) -> None:
        item = self.item_for_node.get(node_id)
        if item is not None:
            node = self.document.graph.node(node_id)
            if node.op == "Block":  # its definition may have changed (ports, params, make unique)
                item.set_spec(spec_for(self.document.graph, node), node)
            item.set_params(node.params)
            item.set_frozen(not node.trainable)

    def _on_node_renamed(self, old: str, new: str) -> None:
        item = self.item_for_node.pop(old, None)
        if item is None:
            return
        self.item_for_node[new] = item
        item.rename(new)
        for edge_item in item.edges:
            e = edge_item.edge
            renamed = Edge(new if e.src == old else e.src, new if e.dst == old else e.dst, e.src_port, e.dst_port)
            self.edge_items.pop(e, None)
            edge_item.edge = renamed
            self.edge_items[renamed] = edge_item

    def _on_node_moved(self, node_id: str, pos: Any) -> None:
        item = self.item_for_node.get(node_id)
        if item is not None and pos is not None and (item.pos().x(), item.pos().y()) != tuple(pos):
            item.setPos(QPointF(*pos))

    def apply_result(self, result: CheckResult) -> None:
        """Show a check's shapes, counts and problems on every card and edge (only changed ones repaint)."""
        by_node = self._diagnostics_by_node(result)
        by_edge: dict[Edge, list[str]] = {}
        for d in result.diagnostics:
            if d.edge is not None:
                by_edge.setdefault(d.edge, []).append(d.message)
        for node_id, item in self.item_for_node.items():
            item.set_check_info(result.nodes.get(node_id), by_node.get(node_id, []))
        labelled: set[tuple[str, int]] = set()
        for edge in self.document.graph.edges:  # graph order: the first edge out of a port carries the label
            item = self.edge_items.get(edge)
            if item is not None:
                self._label_edge(item, result, by_edge.get(edge), shown=edge.source not in labelled)
                labelled.add(edge.source)

    @staticmethod
    def _diagnostics_by_node(result: CheckResult) -> dict[str | None, list[Diagnostic]]:
        by_node: dict[str | None, list[Diagnostic]] = {}
        for d in result.diagnostics:
            by_node.setdefault(d.node_id, []).append(d)
        return by_node

    def _label_edge(self, item: EdgeItem, result: CheckResult, messages: list[str] | None = None,
                    shown: bool = True) -> None:
        edge = item.edge
        t = result.shape(edge.src, edge.src_port)
        item.set_label("" if t is None else str(t), shown)
        if messages:
            item.set_error(True, "\n".join(messages))
        elif item.dst.shape_error:
            errors = [d.message for d in item.dst.diagnostics if d.is_error]
            item.set_error(True, errors[0] if errors else "")
        else:
            item.set_error(False)

    def set_live_stats(self, stats: dict[str, tuple[str, str]], flagged: str | None = None) -> None:
        """Training statistics per node id, (line, tooltip), shown under the cards (app/training/canvas_stats.py);
        `flagged` marks the node where a run's loss went non-finite. Nodes left out are cleared."""
        for node_id, item in self.item_for_node.items():
            text, tip = stats.get(node_id, (None, ""))
            item.set_live_stats(text, tip, node_id == flagged)

    def set_colors(self, colors: CanvasColors) -> None:
        """Repaint with another palette (the view calls this when the system palette changes)."""
        self.colors = colors
        for item in self.items():
            item.update()  # the items cache their drawing (node_item.py): each must redraw with the new colours

    # ---- selection both ways -----------------------------------------------------------------------------

    def _selection_from_scene(self) -> None:
        if self._syncing_selection:
            return
        self._syncing_selection = True
        try:
            self.document.set_selection(self.selected_node_ids())
        finally:
            self._syncing_selection = False

    def _selection_from_document(self, node_ids: list[str]) -> None:
        if self._syncing_selection:
            return
        self._select_items(node_ids)

    def _select_items(self, node_ids: Iterable[str]) -> None:
        wanted = {self.item_for_node[n] for n in node_ids if n in self.item_for_node}
        current = {i for i in self.selectedItems() if isinstance(i, NodeItem)}
        if wanted == current and not self.selected_edges():
            return
        self._syncing_selection = True
        try:
            for item in self.selectedItems():
                if item not in wanted:
                    item.setSelected(False)
            for item in wanted:
                item.setSelected(True)
        finally:
            self._syncing_selection = False

    def select_nodes(self, node_ids: Iterable[str]) -> None:
        """Select exactly these nodes (and tell the document)."""
        self._select_items(list(node_ids))
        self._selection_from_scene()

    # ---- edits (always through the document) -------------------------------------------------------------

    def run_edit(self, edit: Callable[[], Any], prefix: str = "") -> Any:
        """Call a Document edit; a refusal becomes a `message` (with `prefix`) instead of an exception."""
        try:
            return edit()
        except EditRefused as exc:
            self.message.emit(f"{prefix}{exc}" if prefix else str(exc))
            return None

    def connect_edge(self, edge: Edge) -> None:
        """Ask the document to add `edge`; a refusal becomes a `message`."""
        self.run_edit(lambda: self.document.connect(edge), f"Cannot connect {edge.src} → {edge.dst}: ")

    def commit_moves(self, dragged: Iterable[NodeItem] = ()) -> None:
        """Push one undo step for every card the user dragged away from its model position."""
        graph = self.document.graph
        items = {i for i in self.selectedItems() if isinstance(i, NodeItem)} | set(dragged)
        moves = {}
        for item in items:
            if item.node_id not in graph:
                continue
            pos = (item.pos().x(), item.pos().y())
            old = graph.node(item.node_id).pos
            if old is None or (float(old[0]), float(old[1])) != pos:
                moves[item.node_id] = (old, pos)
        if moves:
            self.document.move_nodes(moves)

    def nudge_selection(self, dx: float, dy: float) -> None:
        """Move the selected cards by (dx, dy) as one undo step (arrow keys)."""
        moves = {}
        for node_id in self.selected_node_ids():
            pos = self.item_for_node[node_id].pos()
            moves[node_id] = ((pos.x(), pos.y()), (pos.x() + dx, pos.y() + dy))
        if moves:
            self.document.move_nodes(moves)

    # ---- mouse: link drags and move tracking -------------------------------------------------------------

    def _view_scale(self, event: QGraphicsSceneMouseEvent) -> float:
        widget = event.widget()
        view = widget.parent() if widget is not None else None
        return view.transform().m11() if view is not None and hasattr(view, "transform") else 1.0

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self.link_action is not None:  # a second button during a link drag cancels it
            self.link_action.cancel()
            event.accept()
            return
        if event.button() == Qt.MouseButton.LeftButton:
            port = next((i for i in self.items(event.scenePos()) if isinstance(i, PortItem)), None)
            if port is not None:
                event.accept()
                if self.document.read_only:
                    self.message.emit("The network cannot be edited while it is training; stop the run first")
                    return
                self.link_action = NewLinkAction(self, port, self._view_scale(event))
                return
        mods = event.modifiers()
        if mods & Qt.KeyboardModifier.ShiftModifier and not mods & Qt.KeyboardModifier.ControlModifier:
            # Shift-click toggles like Ctrl-click (what Blender and most editors users expect).
            event.setModifiers(mods | Qt.KeyboardModifier.ControlModifier)
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self.link_action is not None:
            self.link_action.move(event.scenePos(), event.screenPos())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self.link_action is not None:
            action = self.link_action
            if event.button() == Qt.MouseButton.LeftButton:
                action.finish(event.scenePos())
            else:
                action.cancel()
            event.accept()
            return
        grabber = self.mouseGrabberItem()
        mods = event.modifiers()
        if mods & Qt.KeyboardModifier.ShiftModifier and not mods & Qt.KeyboardModifier.ControlModifier:
            event.setModifiers(mods | Qt.KeyboardModifier.ControlModifier)
        super().mouseReleaseEvent(event)
        if isinstance(grabber, NodeItem) and event.button() == Qt.MouseButton.LeftButton:
            self.commit_moves([grabber])

    def cancel_gesture(self) -> bool:
        """Escape: abandon a link drag. Returns whether there was one."""
        if self.link_action is not None:
            self.link_action.cancel()
            return True
        return False
