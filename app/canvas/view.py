"""The canvas widget: zoom, pan, fit, rubber-band selection, keyboard, palette drops, clipboard, quick-add.

Navigation: the wheel zooms around the cursor (0.1x to 4x; fit-all may go further out so a huge graph still
fits), the middle button or space+drag pans, Home fits everything. Click, Ctrl- or Shift-click and rubber-band
select. Editing keys: Delete/Backspace deletes the selection, Ctrl+C/X/V/D copy/cut/paste/duplicate, arrows
nudge the selection, typing a letter (or a double-click on empty canvas) opens the quick-add popup with that
letter typed: no letter is a shortcut, so typing `flatten` finds Flatten (Fit was F, which ate the "f"). While
the canvas has focus these keys are its own, whatever window shortcuts exist.

Public API: `fit_all()`, `center_on(node_id)`, `zoom()`, `zoom_by(factor)`, `copy()`, `cut()`, `paste()`,
`duplicate()`, `delete_selection()`, `select_all()`, `open_quick_add()`, signals `message(str)` (refusals
and hints) and `node_activated(str)` (double-click on a node). Every edit goes through the Document; a
refusal becomes a `message`.

Blocks: a double-click on a block instance, or Tab / Enter with one selected, enters it (the canvas then shows
its definition, with the breadcrumb bar on top); Esc or Backspace with nothing selected, Tab with no block
selected, or a click on a crumb goes back up.
"""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, QSizeF, Qt, Signal
from PySide6.QtGui import (
    QAction,
    QBrush,
    QColor,
    QContextMenuEvent,
    QCursor,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QKeyEvent,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QPen,
    QPixmap,
    QPixmapCache,
    QTransform,
    QWheelEvent,
)
from PySide6.QtWidgets import QFrame, QGraphicsView, QLabel, QMenu, QWidget

from app.canvas.appearance import HEADER_H, NODE_WIDTH, PORT_Y0, CanvasColors
from app.canvas.breadcrumb import BreadcrumbBar
from app.canvas.clipboard import ClipboardError, clipboard_has_nodes, clipboard_nodes, copy_to_clipboard
from app.canvas.node_item import NodeItem
from app.canvas.placement import card_size, free_spot
from app.canvas.quick_add import QuickAddPopup
from app.canvas.scene import CanvasScene
from app.document import Document
from graph_engine.blocks.resolve import spec_for
from graph_engine.graph import Edge, Node

OP_MIME = "application/x-layerloom-op"
BLOCK_MIME = "application/x-layerloom-block"  # a project block dragged from the palette's Blocks section
MIN_ZOOM = 0.1
MAX_ZOOM = 4.0
MIN_FIT_ZOOM = 0.02  # fit-all may go below MIN_ZOOM so that a very large graph still fits
MAX_FIT_ZOOM = 1.0  # a small graph is fitted at 100%, not blown up
FIT_MARGIN = 40.0
WHEEL_BASE = 1.0015  # zoom factor per eighth of a degree: one notch (120) is ~1.2x
GRID = 20.0
GRID_MIN_PIXELS = 14.0
GRID_TILE_INSET = 2.0  # the dots sit this far inside their tile so none is cut at its edge
PIXMAP_CACHE_KB = 64 * 1024
SCENE_EXTENT = 1.0e6  # the view scrolls over this square, so panning never hits an edge
NUDGE = 10.0
NUDGE_FAR = 50.0
PLACE_GAP = 70.0  # horizontal gap when a new layer is placed right of the one it is wired from
READ_ONLY_REFUSAL = "The network cannot be edited while it is training; stop the run first"
READ_ONLY_TEXT = "Read-only while training: layers can be moved and inspected, not edited"


class CanvasView(QGraphicsView):
    message = Signal(str)
    node_activated = Signal(str)

    def __init__(self, document: Document, parent: QWidget | None = None):
        self.document = document
        self.canvas = CanvasScene(document)
        super().__init__(self.canvas, parent)
        self.canvas.setParent(self)
        self.canvas.message.connect(self.message)
        self.canvas.quick_add_requested.connect(self._quick_add_from_link)
        document.read_only_changed.connect(self._read_only_changed)
        document.bridge.node_added.connect(self._update_empty_hint)
        document.bridge.node_removed.connect(self._update_empty_hint)
        document.level_changed.connect(self._level_changed)
        document.bridge.definitions_changed.connect(self._update_breadcrumb)

        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing
                            | QPainter.RenderHint.SmoothPixmapTransform)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setRubberBandSelectionMode(Qt.ItemSelectionMode.IntersectsItemShape)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setOptimizationFlags(QGraphicsView.OptimizationFlag.DontSavePainterState)
        self.setCacheMode(QGraphicsView.CacheModeFlag.CacheBackground)
        # The items cache their drawing as pixmaps in QPixmapCache (node_item.py); its 10 MB default holds
        # about one screenful of cards at 100% and would then evict and redraw them on every repaint.
        QPixmapCache.setCacheLimit(max(QPixmapCache.cacheLimit(), PIXMAP_CACHE_KB))
        # drawBackground covers every exposed pixel with the opaque grid tile: Qt need not clear it first.
        self.viewport().setAutoFillBackground(False)
        self.viewport().setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setSceneRect(QRectF(-SCENE_EXTENT, -SCENE_EXTENT, 2 * SCENE_EXTENT, 2 * SCENE_EXTENT))
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)

        self._pan_from: QPoint | None = None
        self._grid_tiles: dict[tuple, QPixmap] = {}
        self._space_held = False
        self._user_navigated = False
        self._quick_add_target: dict[str, Any] = {}
        self.quick_add = QuickAddPopup(self.viewport())
        self.quick_add.chosen.connect(self._quick_add_chosen)
        self.quick_add.closed.connect(lambda: self.setFocus(Qt.FocusReason.PopupFocusReason))

        self._read_only_label = self._overlay_label()
        self._read_only_label.setText(READ_ONLY_TEXT)
        self._read_only_label.setVisible(document.read_only)
        self._empty_label = self._overlay_label(hint=True)
        self._empty_label.setText("Drag layers here from the palette, or type a layer name to add it")
        self.breadcrumb = BreadcrumbBar(self)
        self.breadcrumb.level_requested.connect(self.document.go_to_level)
        self._apply_colors()
        self._update_empty_hint()
        self.centerOn(0, 0)

    # ---- public API --------------------------------------------------------------------------------------

    def zoom(self) -> float:
        """The current scale (1.0 = 100%)."""
        return self.transform().m11()

    def fit_all(self) -> None:
        """Zoom and scroll so every layer is visible (at most 100%)."""
        rect = self.canvas.nodes_rect()
        if rect.isNull():
            self._set_zoom(1.0)
            self.centerOn(0, 0)
            return
        rect = rect.adjusted(-FIT_MARGIN, -FIT_MARGIN, FIT_MARGIN, FIT_MARGIN)
        view = self.viewport().rect()
        if view.width() < 2 or view.height() < 2:
            return
        zoom = min(view.width() / rect.width(), view.height() / rect.height())
        self._set_zoom(min(max(zoom, MIN_FIT_ZOOM), MAX_FIT_ZOOM))
        self.centerOn(rect.center())

    def center_on(self, node_id: str) -> None:
        """Scroll so the node is in the middle of the view (zoom kept; zooms in if text is unreadable)."""
        item = self.canvas.item_for_node.get(node_id)
        if item is None:
            return
        self._user_navigated = True
        if self.zoom() < 0.6:
            self._set_zoom(1.0)
        self.centerOn(item.sceneBoundingRect().center())

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        """Zoom by `factor` keeping the scene point under `anchor` (viewport coordinates) in place."""
        current = self.zoom()
        target = current * factor
        if factor < 1:
            target = max(target, min(MIN_ZOOM, current))
        else:
            target = min(target, max(MAX_ZOOM, current))
        if abs(target - current) < 1e-9:
            return
        self._user_navigated = True
        anchor = anchor if anchor is not None else QPointF(self.viewport().rect().center())
        before = self.mapToScene(anchor.toPoint())
        self._set_zoom(target)
        after = self.mapFromScene(before)
        shift = after - anchor.toPoint()
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + shift.x())
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() + shift.y())

    def select_all(self) -> None:
        """Select every layer (Ctrl+A)."""
        self.canvas.select_nodes(self.document.graph.nodes)

    def delete_selection(self) -> None:
        """Delete the selected layers and edges as one undo step (Delete, Backspace)."""
        ids, edges = self.canvas.selected_node_ids(), self.canvas.selected_edges()
        if ids or edges:
            self.canvas.run_edit(lambda: self.document.delete(ids, edges), "Cannot delete: ")

    def copy(self) -> int:
        """Put the selected layers and the edges among them on the clipboard; returns how many."""
        ids = self.canvas.selected_node_ids()
        if not ids:
            self.message.emit("Select layers to copy")
            return 0
        count = copy_to_clipboard(self.document.graph, ids)
        self.message.emit(f"Copied {count} layer{'s' if count != 1 else ''}")
        return count

    def cut(self) -> None:
        """Copy, then delete the selection (refused while read-only)."""
        if self.document.read_only:
            self.message.emit(READ_ONLY_REFUSAL)
            return
        if self.copy():
            self.delete_selection()

    def paste(self) -> list[str]:
        """Paste the clipboard's layers with their top-left corner at the cursor (or mid-view)."""
        try:
            content = clipboard_nodes()
        except ClipboardError as exc:
            self.message.emit(str(exc))
            return []
        if not content or not content[0]:
            self.message.emit("Nothing to paste: copy some layers first")
            return []
        nodes, edges = content
        self._place_unpositioned(nodes)
        left = min(n.pos[0] for n in nodes)
        top = min(n.pos[1] for n in nodes)
        at = self._insert_point()
        offset = (round(at.x() - left), round(at.y() - top))
        return self.canvas.run_edit(lambda: self.document.paste(nodes, edges, offset), "Cannot paste: ") or []

    def duplicate(self) -> list[str]:
        """Copies of the selection (with the edges among them) next to it, without touching the clipboard."""
        ids = self.canvas.selected_node_ids()
        if not ids:
            self.message.emit("Select layers to duplicate")
            return []
        nodes, edges = self.document.graph.subgraph(ids)
        self._place_unpositioned(nodes)
        return self.canvas.run_edit(lambda: self.document.paste(nodes, edges, (40.0, 40.0)),
                                    "Cannot duplicate: ") or []

    def open_quick_add(self, text: str = "", at: QPointF | None = None,
                       wiring: dict[str, Any] | None = None) -> bool:
        """Open the type-to-add popup. Without explicit `wiring`, a single selected layer feeds the new one.
        Returns False (with a message) when the document is read-only."""
        if self.document.read_only:
            self.message.emit(READ_ONLY_REFUSAL)
            return False
        if at is None:
            at = self._insert_point()
        if wiring is None:
            wiring = {}
            selected = self.document.selection
            if len(selected) == 1 and selected[0] in self.document.graph:
                spec = spec_for(self.document.graph, self.document.graph.node(selected[0]))
                if spec is not None and spec.outputs:
                    wiring = {"connect_from": (selected[0], 0), "auto_place": True}
        self._quick_add_target = {"at": at, **wiring}
        placeholder, accepts = "Add a layer…", None
        if wiring.get("connect_from"):
            placeholder = f"Add a layer after {wiring['connect_from'][0]}…"
            accepts = lambda spec: bool(spec.inputs)  # noqa: E731
        elif wiring.get("connect_to"):
            placeholder = f"Add a layer feeding {wiring['connect_to'][0]}…"
            accepts = lambda spec: bool(spec.outputs)  # noqa: E731
        self.quick_add.popup(self.mapFromScene(at), text, placeholder, accepts)
        return True

    # ---- helpers -----------------------------------------------------------------------------------------

    def _set_zoom(self, zoom: float) -> None:
        self.setTransform(self.transform().fromScale(zoom, zoom))
        self.canvas.set_view_zoom(zoom)

    def _cursor_scene_pos(self) -> QPointF | None:
        pos = self.viewport().mapFromGlobal(QCursor.pos())
        if self.viewport().rect().contains(pos):
            return self.mapToScene(pos)
        return None

    def _insert_point(self) -> QPointF:
        at = self._cursor_scene_pos()
        return at if at is not None else self.mapToScene(self.viewport().rect().center())

    @staticmethod
    def _place_unpositioned(nodes: list[Node]) -> None:
        known = [n.pos for n in nodes if n.pos is not None]
        x = max((p[0] for p in known), default=-220.0) + 220.0
        for node in nodes:
            if node.pos is None:
                node.pos = (x, 0.0)
                x += 220.0

    def _free_spot_right_of(self, node_id: str, size: QSizeF) -> QPointF:
        """Right of `node_id` at the layout's column pitch, or the free place nearest to it."""
        item = self.canvas.item_for_node[node_id]
        return free_spot(self.canvas, QPointF(item.pos().x() + NODE_WIDTH + PLACE_GAP, item.pos().y()), size)

    def _add_layer(self, op: str, at: QPointF, wiring: dict[str, Any]) -> str | None:
        connect_from = wiring.get("connect_from")
        connect_to = wiring.get("connect_to")
        size = card_size(op)
        if connect_from and wiring.get("auto_place"):
            over_card = any(isinstance(i, NodeItem) for i in self.canvas.items(at))
            if self._cursor_scene_pos() is None or over_card:
                at = self._free_spot_right_of(connect_from[0], size)
                pos = (at.x(), at.y())
            else:
                pos = (at.x(), at.y() - PORT_Y0)
        elif connect_from:
            pos = (at.x(), at.y() - PORT_Y0)  # the new layer's input port lands where the link was dropped
        elif connect_to:
            pos = (at.x() - NODE_WIDTH, at.y() - PORT_Y0)
        else:
            pos = (at.x() - NODE_WIDTH / 2, at.y() - HEADER_H / 2)
        # Never on top of another card or an edge (it would look connected): the nearest free place.
        spot = free_spot(self.canvas, QPointF(*pos), size)
        pos = (float(round(spot.x())), float(round(spot.y())))
        if not connect_to:
            return self.canvas.run_edit(lambda: self.document.add_node(op, pos, connect_from=connect_from),
                                        f"Cannot add {op}: ")
        # Wired backwards (a link dragged out of an input): the new layer feeds that input, in one undo step.
        stack = self.document.undo_stack
        stack.beginMacro(f"Add {op}")
        try:
            node_id = self.canvas.run_edit(lambda: self.document.add_node(op, pos), f"Cannot add {op}: ")
            if node_id is not None:
                edge = Edge(node_id, connect_to[0], 0, connect_to[1])
                self.canvas.connect_edge(edge)
        finally:
            stack.endMacro()
        return node_id

    def _quick_add_chosen(self, op: str) -> None:
        target, self._quick_add_target = self._quick_add_target, {}
        at = target.pop("at", None) or self._insert_point()
        self._add_layer(op, at, target)
        self.setFocus(Qt.FocusReason.OtherFocusReason)

    def _quick_add_from_link(self, scene_pos: QPointF, wiring: dict[str, Any]) -> None:
        self.open_quick_add("", scene_pos, wiring)

    def _overlay_label(self, hint: bool = False) -> QLabel:
        label = QLabel(self)
        label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setProperty("hint", hint)
        return label

    def _apply_colors(self) -> None:
        colors = CanvasColors.from_palette(self.palette())
        self.canvas.set_colors(colors)
        self.setBackgroundBrush(colors.background)
        self.resetCachedContent()
        pill = "#3a2e12" if colors.dark else "#fff4d6"
        ink = "#f3d9a4" if colors.dark else "#7a5200"
        self._read_only_label.setStyleSheet(
            f"QLabel {{ background: {pill}; color: {ink}; border: 1px solid {colors.warning.name()};"
            " border-radius: 11px; padding: 3px 12px; font-size: 12px; }")
        self._empty_label.setStyleSheet(f"QLabel {{ color: {colors.text_dim.name()}; font-size: 14px; }}")
        self.breadcrumb.setStyleSheet(
            f"#breadcrumbBar {{ background: {colors.card.name()}; border: 1px solid {colors.card_border.name()};"
            f" border-radius: 6px; }} #breadcrumbBar QLabel, #breadcrumbBar QToolButton {{ color: {colors.text.name()};"
            f" font-size: 12px; }} #breadcrumbHint, #breadcrumbSeparator {{ color: {colors.text_dim.name()}; }}")
        self._position_overlays()

    def _position_overlays(self) -> None:
        for label in (self._read_only_label, self._empty_label):
            label.adjustSize()
        self.breadcrumb.fit_width(self.width() - 16)
        self.breadcrumb.move(8, 8)
        r = self._read_only_label
        r.move((self.width() - r.width()) // 2, 10 + (self.breadcrumb.height() + 6 if self.breadcrumb.isVisible() else 0))
        e = self._empty_label
        e.move((self.width() - e.width()) // 2, (self.height() - e.height()) // 2)

    def _update_empty_hint(self, *args) -> None:
        self._empty_label.setVisible(len(self.document.graph) == 0)

    def _level_changed(self) -> None:
        self._update_breadcrumb()
        self._update_empty_hint()
        self._user_navigated = False
        self.fit_all()

    def _update_breadcrumb(self, *args) -> None:
        doc = self.document
        path = doc.level_path if doc.current_block is None or doc.current_block in doc.project.blocks else []
        count = len(doc.project.blocks.instances(path[-1][1])) if path else 0
        if doc.network == "discriminator":
            self.breadcrumb.show_network(doc.project.name, doc.network)
        else:
            self.breadcrumb.set_path(doc.project.name, path, count)
        self._position_overlays()

    def enter_selected_block(self) -> bool:
        """Tab / Enter: show the definition of the one selected block instance. Returns whether it did."""
        selected = self.document.selection
        if len(selected) != 1 or selected[0] not in self.document.graph \
                or self.document.graph.node(selected[0]).op != "Block":
            return False
        self.canvas.run_edit(lambda: self.document.enter_block(selected[0]), "Cannot enter the block: ")
        return True

    def _read_only_changed(self, read_only: bool) -> None:
        self._read_only_label.setVisible(read_only)
        self._position_overlays()
        if read_only:
            self.canvas.cancel_gesture()
            self.quick_add.close_popup()

    # ---- painting ----------------------------------------------------------------------------------------

    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:
        colors = self.canvas.colors
        zoom = self.zoom()
        step = GRID
        while step * zoom < GRID_MIN_PIXELS:
            step *= 5
        # The dots are one pre-drawn tile of 5 x 5 grid cells (a major dot and 24 minor ones), tiled in device
        # pixels by one fill: drawing each dot with a wide cosmetic pen cost ~30 ms per full repaint. The tile
        # is a whole number of pixels, so far from the origin the dots drift by under a pixel per tile from
        # the exact scene grid; nothing is placed on the grid, so that cannot be seen. The tile is opaque (the
        # background colour under its dots), so this one fill paints the background too.
        period = 5 * step
        tile = self._grid_tile(step * zoom, colors)
        anchor = self.mapFromScene(QPointF(math.floor(rect.left() / period) * period,
                                           math.floor(rect.top() / period) * period))
        brush = QBrush(tile)
        brush.setTransform(QTransform.fromTranslate(anchor.x() - GRID_TILE_INSET, anchor.y() - GRID_TILE_INSET))
        painter.save()
        painter.resetTransform()
        painter.fillRect(self.mapFromScene(rect).boundingRect().adjusted(-1, -1, 1, 1), brush)  # no rounded-off sliver
        painter.restore()

    def _grid_tile(self, cell: float, colors: CanvasColors) -> QPixmap:
        size = max(1, round(5 * cell))
        ratio = self.devicePixelRatioF()
        key = (size, ratio, colors.grid.rgba(), colors.background.rgba())
        cached = self._grid_tiles.get(key)
        if cached is not None:
            return cached
        tile = QPixmap(round(size * ratio), round(size * ratio))
        tile.setDevicePixelRatio(ratio)
        tile.fill(colors.background)
        p = QPainter(tile)
        faint = QColor(colors.grid)
        faint.setAlphaF(0.55)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        p.setPen(QPen(faint, 1.5))
        pitch = size / 5
        for i in range(5):
            for j in range(5):
                if i or j:
                    p.drawPoint(QPointF(GRID_TILE_INSET + i * pitch, GRID_TILE_INSET + j * pitch))
        p.setPen(QPen(colors.grid, 2.5))
        p.drawPoint(QPointF(GRID_TILE_INSET, GRID_TILE_INSET))
        p.end()
        if len(self._grid_tiles) > 16:
            self._grid_tiles.clear()
        self._grid_tiles[key] = tile
        return tile

    # ---- Qt events ---------------------------------------------------------------------------------------

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange:
            self._apply_colors()
        super().changeEvent(event)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._position_overlays()
        if not self._user_navigated:
            self.fit_all()  # until the user zooms or pans, the whole graph stays in view

    def wheelEvent(self, event: QWheelEvent) -> None:
        delta = event.angleDelta().y()
        if delta == 0:
            event.ignore()
            return
        self.zoom_by(WHEEL_BASE ** delta, event.position())
        event.accept()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if self.quick_add.isVisible() and not self.quick_add.geometry().contains(event.position().toPoint()):
            self.quick_add.close_popup()
        pan = event.button() == Qt.MouseButton.MiddleButton or (
            event.button() == Qt.MouseButton.LeftButton and self._space_held)
        if pan:
            self._pan_from = event.position().toPoint()
            self._user_navigated = True
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            pos = event.position().toPoint()
            delta = pos - self._pan_from
            self._pan_from = pos
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - delta.x())
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - delta.y())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None and event.button() in (Qt.MouseButton.MiddleButton, Qt.MouseButton.LeftButton):
            self._pan_from = None
            if self._space_held:
                self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            else:
                self.viewport().unsetCursor()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            super().mouseDoubleClickEvent(event)
            return
        item = self.itemAt(event.position().toPoint())
        node_id = self.canvas.node_for_item(item)
        if node_id is not None:
            node = self.document.graph.nodes.get(node_id)
            if node is not None and node.op == "Block":
                self.canvas.run_edit(lambda: self.document.enter_block(node_id), "Cannot enter the block: ")
            else:
                self.node_activated.emit(node_id)
            event.accept()
            return
        if item is None:
            self.open_quick_add("", self.mapToScene(event.position().toPoint()), {})
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def event(self, event: QEvent) -> bool:
        # Keys the canvas handles itself win over window shortcuts while it has focus, so Delete or Ctrl+C
        # act on the canvas selection (edges included) whatever actions the window defines.
        if event.type() == QEvent.Type.ShortcutOverride and self._handles(event):
            event.accept()
            return True
        if event.type() == QEvent.Type.KeyPress and event.key() == Qt.Key.Key_Tab \
                and event.modifiers() == Qt.KeyboardModifier.NoModifier:
            self.keyPressEvent(event)  # Tab enters / leaves blocks here rather than moving the focus on
            return True
        return super().event(event)

    def _handles(self, event: QKeyEvent) -> bool:
        key, mods = event.key(), event.modifiers()
        if any(event.matches(k) for k in (QKeySequence.StandardKey.Copy, QKeySequence.StandardKey.Cut,
                                          QKeySequence.StandardKey.Paste, QKeySequence.StandardKey.SelectAll)):
            return True
        if mods & Qt.KeyboardModifier.ControlModifier:
            return key == Qt.Key.Key_D
        return key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace, Qt.Key.Key_Escape, Qt.Key.Key_Home, Qt.Key.Key_Tab,
                       Qt.Key.Key_Return, Qt.Key.Key_Enter)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self._shortcut(event):
            event.accept()
            return
        super().keyPressEvent(event)

    def _shortcut(self, event: QKeyEvent) -> bool:
        key, mods = event.key(), event.modifiers()
        ctrl = bool(mods & Qt.KeyboardModifier.ControlModifier)
        if event.matches(QKeySequence.StandardKey.Copy):
            self.copy()
        elif event.matches(QKeySequence.StandardKey.Cut):
            self.cut()
        elif event.matches(QKeySequence.StandardKey.Paste):
            self.paste()
        elif event.matches(QKeySequence.StandardKey.SelectAll):
            self.select_all()
        elif ctrl and key == Qt.Key.Key_D:
            self.duplicate()
        elif key in (Qt.Key.Key_Tab, Qt.Key.Key_Return, Qt.Key.Key_Enter) and not ctrl:
            # Blender's Tab: into the selected block, else back out of the one shown.
            if not self.enter_selected_block() and key == Qt.Key.Key_Tab:
                self.document.leave_block()
        elif key == Qt.Key.Key_Backspace and not ctrl and not self.canvas.selectedItems() \
                and self.document.current_block is not None:
            self.document.leave_block()
        elif key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and not ctrl:
            self.delete_selection()
        elif key == Qt.Key.Key_Escape:
            if not self.canvas.cancel_gesture():
                if self.canvas.selectedItems() or self.document.current_block is None:
                    self.canvas.select_nodes([])
                else:
                    self.document.leave_block()
        elif key == Qt.Key.Key_Space and not ctrl:
            if not event.isAutoRepeat():
                self._space_held = True
                self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
        elif key == Qt.Key.Key_Home and mods == Qt.KeyboardModifier.NoModifier:
            self._user_navigated = False
            self.fit_all()
        elif key in (Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Up, Qt.Key.Key_Down) and not ctrl:
            step = NUDGE_FAR if mods & Qt.KeyboardModifier.ShiftModifier else NUDGE
            dx = {Qt.Key.Key_Left: -step, Qt.Key.Key_Right: step}.get(key, 0.0)
            dy = {Qt.Key.Key_Up: -step, Qt.Key.Key_Down: step}.get(key, 0.0)
            self.canvas.nudge_selection(dx, dy)
        elif not (mods & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
                          | Qt.KeyboardModifier.MetaModifier)) and event.text()[:1].isalpha():
            self.open_quick_add(event.text())
        else:
            return False
        return True

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_held = False
            if self._pan_from is None:
                self.viewport().unsetCursor()
            event.accept()
            return
        super().keyReleaseEvent(event)

    def focusOutEvent(self, event) -> None:
        self._space_held = False
        super().focusOutEvent(event)

    # ---- drops from the palette --------------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasFormat(OP_MIME) or event.mimeData().hasFormat(BLOCK_MIME):
            event.acceptProposedAction()
        else:
            event.ignore()  # a project file dropped on the canvas goes on to the main window

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if event.mimeData().hasFormat(OP_MIME) or event.mimeData().hasFormat(BLOCK_MIME):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragLeaveEvent(self, event) -> None:
        event.accept()

    def dropEvent(self, event: QDropEvent) -> None:
        if event.mimeData().hasFormat(BLOCK_MIME):
            block = bytes(event.mimeData().data(BLOCK_MIME).data()).decode("utf-8", "replace").strip()
            event.acceptProposedAction()
            at = self.mapToScene(event.position().toPoint())
            pos = (float(round(at.x() - NODE_WIDTH / 2)), float(round(at.y() - HEADER_H / 2)))
            self.canvas.run_edit(lambda: self.document.add_block_instance(block, pos), f"Cannot add {block}: ")
            self.setFocus(Qt.FocusReason.OtherFocusReason)
            return
        if not event.mimeData().hasFormat(OP_MIME):
            event.ignore()
            return
        op = bytes(event.mimeData().data(OP_MIME).data()).decode("utf-8", "replace").strip()
        event.acceptProposedAction()
        at = self.mapToScene(event.position().toPoint())
        self._add_layer(op, at, {})
        self.setFocus(Qt.FocusReason.OtherFocusReason)

    # ---- context menu ------------------------------------------------------------------------------------

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        item = self.itemAt(event.pos())
        node_id = self.canvas.node_for_item(item)
        at = self.mapToScene(event.pos())
        menu = QMenu(self)
        if node_id is not None:
            if node_id not in self.document.selection:
                self.canvas.select_nodes([node_id])
            self._action(menu, "Edit properties", lambda: self.node_activated.emit(node_id))
            node = self.document.graph.nodes.get(node_id)
            if node is not None and node.op == "Block":
                self._action(menu, "Enter block", lambda: self.canvas.run_edit(
                    lambda: self.document.enter_block(node_id), "Cannot enter the block: "), QKeySequence(Qt.Key.Key_Tab))
                self._action(menu, "Make unique", lambda: self.canvas.run_edit(
                    lambda: self.document.make_unique(node_id), "Cannot make it unique: "))
            chosen = [self.document.graph.nodes[n] for n in self.document.selection if n in self.document.graph]
            frozen = bool(chosen) and all(not n.trainable for n in chosen)
            self._action(menu, "Unfreeze (train again)" if frozen else "Freeze (do not train)",
                         lambda: self.freeze_selection(not frozen))
            menu.addSeparator()
            self._action(menu, "Cut", self.cut, QKeySequence.StandardKey.Cut)
            self._action(menu, "Copy", self.copy, QKeySequence.StandardKey.Copy)
            self._action(menu, "Duplicate", self.duplicate, QKeySequence("Ctrl+D"))
            self._action(menu, "Delete", self.delete_selection, QKeySequence.StandardKey.Delete)
        else:
            if self.document.current_block is not None:
                self._action(menu, "Up to the enclosing graph", self.document.leave_block,
                             QKeySequence(Qt.Key.Key_Escape))
            self._action(menu, "Add layer…", lambda: self.open_quick_add("", at, {}))
            self._action(menu, "Paste", self.paste, QKeySequence.StandardKey.Paste).setEnabled(clipboard_has_nodes())
            menu.addSeparator()
            self._action(menu, "Select all", self.select_all, QKeySequence.StandardKey.SelectAll)
            self._action(menu, "Fit all", self.fit_all, QKeySequence(Qt.Key.Key_Home))
            self._action(menu, "Tidy up", lambda: self.canvas.run_edit(self.document.tidy_up))
        menu.exec(event.globalPos())

    def freeze_selection(self, frozen: bool) -> None:
        """Freeze (or unfreeze) the selected layers, one undo step: training leaves their weights as they are
        (a pretrained backbone; graph_engine/training/freezing.py)."""
        self.canvas.run_edit(lambda: self.document.set_trainable(self.document.selection, not frozen),
                             "Cannot freeze: ")

    def _action(self, menu: QMenu, text: str, slot, shortcut=None) -> QAction:
        action = menu.addAction(text)
        action.triggered.connect(slot)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutVisibleInContextMenu(True)
        return action


