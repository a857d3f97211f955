"""The layer palette: every op of the catalog, grouped by category, searchable, dragged or double-clicked out.

Built from `CATALOG` alone (category order from `CATEGORIES`, ops in their family module's order), so a new
layer appears here as soon as its spec is registered. Dragging an op carries the mime type
`application/x-layerloom-op` with the op name as UTF-8 (docs/APP_ARCHITECTURE.md); double-click or Enter
emits `op_requested(op)` and the main window adds the layer at the view's centre.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QByteArray, QMimeData, QPoint, QRectF, QSize, Qt, QUrl, Signal
from PySide6.QtGui import (
    QColor,
    QDrag,
    QFont,
    QFontMetrics,
    QIcon,
    QKeyEvent,
    QPainter,
    QPainterPath,
    QPalette,
    QPen,
    QPixmap,
    QTextDocument,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QLineEdit,
    QSplitter,
    QTextBrowser,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.panels.param_editors import format_value, muted_color
from app.theme import category_color
from graph_engine.blocks.builtin import BUILTIN_PREFIX, builtin_blocks
from graph_engine.catalog import CATALOG, CATEGORIES, LayerSpec, specs_in
from graph_engine.catalog.spec import REQUIRED

OP_MIME_TYPE = "application/x-layerloom-op"
BLOCK_MIME_TYPE = "application/x-layerloom-block"  # a drag of one of the project's block definitions
OP_ROLE = Qt.ItemDataRole.UserRole + 1  # the op name on op items; None on category headers
CATEGORY_ROLE = Qt.ItemDataRole.UserRole + 2
BLOCK_ROLE = Qt.ItemDataRole.UserRole + 3  # the definition name on block items
BLOCKS_CATEGORY = "Blocks"
# A bare Block names no definition (its card would only say so): blocks are added from the project's own
# definitions listed under "Blocks" instead.
HIDDEN_OPS = ("Block",)


def op_mime_data(op: str) -> QMimeData:
    """What a palette drag carries: the op name under OP_MIME_TYPE (and as plain text for other targets)."""
    mime = QMimeData()
    mime.setData(OP_MIME_TYPE, QByteArray(op.encode("utf-8")))
    mime.setText(op)
    return mime


def block_mime_data(block: str) -> QMimeData:
    """What dragging a project block carries: its definition name under BLOCK_MIME_TYPE."""
    mime = QMimeData()
    mime.setData(BLOCK_MIME_TYPE, QByteArray(block.encode("utf-8")))
    mime.setText(block)
    return mime


def op_from_mime(mime: QMimeData) -> str | None:
    """The op a drop carries, when it is a palette drag of a known op."""
    if not mime.hasFormat(OP_MIME_TYPE):
        return None
    op = bytes(mime.data(OP_MIME_TYPE).data()).decode("utf-8", errors="replace")
    return op if op in CATALOG else None


def first_sentence(text: str) -> str:
    """The one-line summary of a doc string."""
    text = " ".join(text.split())
    cut = text.find(". ")
    if 0 < cut < 160:
        return text[: cut + 1]
    return text if len(text) <= 160 else text[:159] + "…"


def matches(spec: LayerSpec, query: str) -> bool:
    """Whether every word of `query` occurs (case-insensitively) in the op name, keywords, doc or category."""
    words = query.lower().split()
    if not words:
        return True
    haystack = " ".join((spec.op, " ".join(spec.keywords), spec.doc, spec.category)).lower()
    return all(word in haystack for word in words)


def category_swatch(category: str, size: int = 12, radius: float = 3.0) -> QIcon:
    """A small rounded square in the category's colour, drawn at 1x and 2x for high-DPI screens."""
    icon = QIcon()
    color = category_color(category)
    for scale in (1, 2):
        pixmap = QPixmap(size * scale, size * scale)
        pixmap.setDevicePixelRatio(scale)
        pixmap.fill(Qt.GlobalColor.transparent)
        p = QPainter(pixmap)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(QPen(color.darker(125), 1))
        p.setBrush(color)
        p.drawRoundedRect(QRectF(1.5, 1.5, size - 3, size - 3), radius, radius)
        p.end()
        icon.addPixmap(pixmap)
    return icon


def _search_icon(color: QColor) -> QIcon:
    icon = QIcon()
    for scale in (1, 2):
        pixmap = QPixmap(16 * scale, 16 * scale)
        pixmap.setDevicePixelRatio(scale)
        pixmap.fill(Qt.GlobalColor.transparent)
        p = QPainter(pixmap)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(QPen(color, 1.6, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
        p.drawEllipse(QRectF(3, 3, 7.5, 7.5))
        p.drawLine(9.6, 9.6, 13, 13)
        p.end()
        icon.addPixmap(pixmap)
    return icon


def drag_pixmap(op: str, font: QFont, palette: QPalette) -> QPixmap:
    """The chip that follows the cursor while a layer is dragged: the category colour and the op name."""
    spec = CATALOG[op]
    metrics = QFontMetrics(font)
    scale = 2
    width, height = metrics.horizontalAdvance(op) + 34, metrics.height() + 12
    pixmap = QPixmap(width * scale, height * scale)
    pixmap.setDevicePixelRatio(scale)
    pixmap.fill(Qt.GlobalColor.transparent)
    p = QPainter(pixmap)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    color = category_color(spec.category)
    path = QPainterPath()
    path.addRoundedRect(QRectF(0.5, 0.5, width - 1, height - 1), 6, 6)
    base = palette.color(QPalette.ColorRole.Base)
    base.setAlpha(235)
    p.fillPath(path, base)
    p.setPen(QPen(color, 1.5))
    p.drawPath(path)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(color)
    p.drawRoundedRect(QRectF(8, height / 2 - 5, 10, 10), 2.5, 2.5)
    p.setFont(font)
    p.setPen(palette.color(QPalette.ColorRole.Text))
    p.drawText(QRectF(24, 0, width - 28, height), Qt.AlignmentFlag.AlignVCenter, op)
    p.end()
    return pixmap


class _OpTree(QTreeWidget):
    """The category/op tree; drags carry op_mime_data, Enter requests the current op."""

    op_requested = Signal(str)
    block_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setHeaderHidden(True)
        self.setColumnCount(2)
        self.header().setStretchLastSection(False)
        self.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.header().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.setRootIsDecorated(True)
        self.setIndentation(14)
        self.setIconSize(QSize(12, 12))
        self.setUniformRowHeights(True)
        self.setAnimated(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setDefaultDropAction(Qt.DropAction.CopyAction)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.itemDoubleClicked.connect(self._double_clicked)

    def drawBranches(self, painter: QPainter, rect, index) -> None:
        # Carry a category header's tint under its expand arrow too, so the header reads as one band.
        if not index.parent().isValid():
            brush = index.data(Qt.ItemDataRole.BackgroundRole)
            if brush is not None:
                painter.fillRect(rect, brush)
        super().drawBranches(painter, rect, index)

    def mimeTypes(self) -> list[str]:
        return [OP_MIME_TYPE, BLOCK_MIME_TYPE]

    def mimeData(self, items) -> QMimeData | None:
        for item in items:
            if item.data(0, OP_ROLE):
                return op_mime_data(item.data(0, OP_ROLE))
            if item.data(0, BLOCK_ROLE):
                return block_mime_data(item.data(0, BLOCK_ROLE))
        return None

    def supportedDropActions(self) -> Qt.DropAction:
        return Qt.DropAction.CopyAction

    def startDrag(self, supported_actions) -> None:
        item = self.currentItem()
        op = item.data(0, OP_ROLE) if item is not None else None
        block = item.data(0, BLOCK_ROLE) if item is not None else None
        if block:
            drag = QDrag(self)
            drag.setMimeData(block_mime_data(block))
            drag.exec(Qt.DropAction.CopyAction, Qt.DropAction.CopyAction)
            return
        if not op:
            return
        drag = QDrag(self)
        drag.setMimeData(op_mime_data(op))
        pixmap = drag_pixmap(op, self.font(), self.palette())
        drag.setPixmap(pixmap)
        drag.setHotSpot(QPoint(12, int(pixmap.height() / pixmap.devicePixelRatio() / 2)))
        drag.exec(Qt.DropAction.CopyAction, Qt.DropAction.CopyAction)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        item = self.currentItem()
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and item is not None:
            if item.data(0, OP_ROLE):
                self.op_requested.emit(item.data(0, OP_ROLE))
            elif item.data(0, BLOCK_ROLE):
                self.block_requested.emit(item.data(0, BLOCK_ROLE))
            else:
                item.setExpanded(not item.isExpanded())
            event.accept()
            return
        super().keyPressEvent(event)

    def _double_clicked(self, item: QTreeWidgetItem, column: int) -> None:
        op = item.data(0, OP_ROLE)
        if op:
            self.op_requested.emit(op)
        elif item.data(0, BLOCK_ROLE):
            self.block_requested.emit(item.data(0, BLOCK_ROLE))


class _SearchEdit(QLineEdit):
    """Down moves into the list, Enter adds the highlighted layer, Escape clears the search."""

    down = Signal()
    enter = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key == Qt.Key.Key_Down:
            self.down.emit()
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.enter.emit()
        elif key == Qt.Key.Key_Escape and self.text():
            self.clear()
        else:
            super().keyPressEvent(event)


class PalettePanel(QWidget):
    """Every layer of the catalog by category, with a search box and the selected layer's description.

    Under "Blocks" it lists the project's own block definitions (kept current through the bridge's
    definitions_changed); dragging one carries BLOCK_MIME_TYPE, double-click or Enter emits
    `block_requested(name)`. Signals: `op_requested(op)` on double-click or Enter. Methods: `focus_search()` (Ctrl+F), `set_filter(text)`,
    `visible_ops()`, `item_for_op(op)`, `current_op()`, and `mime_data_for(op)` (what a drag carries).
    """

    op_requested = Signal(str)
    block_requested = Signal(str)

    def __init__(self, document=None, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = document
        self.setObjectName("palettePanel")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)

        self.search_edit = _SearchEdit(self)
        self.search_edit.setPlaceholderText("Search layers  (Ctrl+F)")
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.addAction(_search_icon(self.palette().color(QPalette.ColorRole.PlaceholderText)),
                                   QLineEdit.ActionPosition.LeadingPosition)
        self.search_edit.setToolTip("Filter by name, keyword (e.g. \"dense\"), description or category")
        self.search_edit.textChanged.connect(self.set_filter)
        self.search_edit.down.connect(self._enter_list)
        self.search_edit.enter.connect(self._request_current)
        layout.addWidget(self.search_edit)

        self.tree = _OpTree(self)
        self.tree.op_requested.connect(self.op_requested)
        self.tree.block_requested.connect(self.block_requested)
        self.tree.currentItemChanged.connect(self._current_changed)
        self.no_match = QLabel(self)
        self.no_match.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.no_match.setWordWrap(True)
        self.no_match.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.no_match.hide()

        self.description = QTextBrowser(self)
        self.description.setOpenExternalLinks(True)
        self.description.setFrameShape(QTextBrowser.Shape.NoFrame)
        self.description.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.description.viewport().setAutoFillBackground(False)
        self.description.setMinimumHeight(60)

        top = QWidget(self)
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.tree)
        top_layout.addWidget(self.no_match)
        self.splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.splitter.addWidget(top)
        self.splitter.addWidget(self.description)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setSizes([420, 170])
        layout.addWidget(self.splitter, 1)

        self._category_items: dict[str, QTreeWidgetItem] = {}
        self._op_items: dict[str, QTreeWidgetItem] = {}
        self._block_items: dict[str, QTreeWidgetItem] = {}
        self._builtin_items: dict[str, QTreeWidgetItem] = {}
        self._populate()
        self._add_builtin_blocks()
        self.refresh_blocks()
        if document is not None:
            document.bridge.definitions_changed.connect(self.refresh_blocks)
        self._show_description(None)

    # ---- building ----------------------------------------------------------------------------------------

    def _populate(self) -> None:
        bold = QFont(self.tree.font())
        bold.setBold(True)
        muted = muted_color(self.palette())
        for category in CATEGORIES:
            specs = [spec for spec in specs_in(category) if spec.op not in HIDDEN_OPS]
            header = QTreeWidgetItem(self.tree, [category, str(len(specs))])
            header.setData(0, OP_ROLE, None)
            header.setData(0, CATEGORY_ROLE, category)
            header.setFont(0, bold)
            header.setIcon(0, category_swatch(category))
            header.setForeground(1, muted)
            header.setTextAlignment(1, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            header.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
            header.setToolTip(0, f"{category}: {len(specs)} layer{'s' if len(specs) != 1 else ''}")
            tint = category_color(category)
            tint.setAlpha(34)
            for column in (0, 1):
                header.setBackground(column, tint)
            self._category_items[category] = header
            icon = category_swatch(category, 10, 2.5)
            for spec in specs:
                item = QTreeWidgetItem(header, [spec.op, ""])
                item.setData(0, OP_ROLE, spec.op)
                item.setData(0, CATEGORY_ROLE, category)
                item.setIcon(0, icon)
                item.setToolTip(0, f"<b>{html.escape(spec.op)}</b><br>{html.escape(first_sentence(spec.doc))}"
                                   "<br><i>Drag onto the canvas, or double-click to add</i>")
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                              | Qt.ItemFlag.ItemIsDragEnabled)
                self._op_items[spec.op] = item
            header.setExpanded(True)

    def refresh_blocks(self) -> None:
        """List the project's block definitions first under "Blocks", in library order."""
        header = self._category_items.get(BLOCKS_CATEGORY)
        if header is None:
            return
        for item in self._block_items.values():
            header.removeChild(item)
        self._block_items = {}
        library = self.document.project.blocks if self.document is not None else ()
        icon = category_swatch(BLOCKS_CATEGORY, 10, 2.5)
        bold = QFont(self.tree.font())
        bold.setItalic(True)
        for index, defn in enumerate(library):
            item = QTreeWidgetItem([defn.name, ""])
            item.setData(0, OP_ROLE, None)
            item.setData(0, BLOCK_ROLE, defn.name)
            item.setData(0, CATEGORY_ROLE, BLOCKS_CATEGORY)
            item.setIcon(0, icon)
            item.setFont(0, bold)
            item.setToolTip(0, f"<b>{html.escape(defn.name)}</b> (a block of this project)<br>"
                               f"{html.escape(first_sentence(defn.doc or ''))}"
                               "<br><i>Drag onto the canvas, or double-click to add an instance</i>")
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled)
            header.insertChild(index, item)
            self._block_items[defn.name] = item
        self.set_filter(self.search_edit.text())

    def _add_builtin_blocks(self) -> None:
        """The built-in block library (graph_engine/blocks/builtin.py) after the project's own blocks: its
        items carry BUILTIN_PREFIX + name, so a drop or double-click copies the definition into the project."""
        header = self._category_items.get(BLOCKS_CATEGORY)
        if header is None:
            return
        builtin = builtin_blocks()
        icon = category_swatch(BLOCKS_CATEGORY, 10, 2.5)
        muted = muted_color(self.palette())
        for index, name in enumerate(builtin.names):  # before the BlockInput / BlockOutput ops
            defn = builtin.get(name)
            item = QTreeWidgetItem([name, "built-in"])
            header.insertChild(index, item)
            item.setData(0, OP_ROLE, None)
            item.setData(0, BLOCK_ROLE, BUILTIN_PREFIX + name)
            item.setData(0, CATEGORY_ROLE, BLOCKS_CATEGORY)
            item.setIcon(0, icon)
            item.setForeground(1, muted)
            params = ", ".join(f"{p.name}={format_value(p.default)}" for p in defn.params.values())
            shapes = " and ".join(str(list(s)) for s in builtin.examples.get(name, ()))
            item.setToolTip(0, f"<b>{html.escape(name)}</b> (built-in block)<br>{html.escape(defn.doc)}"
                               f"<br>params: {html.escape(params)}<br>e.g. for an input of {html.escape(shapes)}"
                               "<br><i>Drag onto the canvas, or double-click: the block is copied into the "
                               "project (once) and an instance added</i>")
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled)
            self._builtin_items[name] = item

    def visible_builtin_blocks(self) -> list[str]:
        """The built-in blocks the palette lists (and the current search shows)."""
        return [name for name, item in self._builtin_items.items() if not item.isHidden()]

    def item_for_builtin(self, name: str) -> QTreeWidgetItem | None:
        return self._builtin_items.get(name)

    def visible_blocks(self) -> list[str]:
        """The project's block definitions the palette lists (and the current search shows)."""
        return [name for name, item in self._block_items.items() if not item.isHidden()]

    def item_for_block(self, block: str) -> QTreeWidgetItem | None:
        return self._block_items.get(block)

    # ---- public API --------------------------------------------------------------------------------------

    @staticmethod
    def mime_data_for(op: str) -> QMimeData:
        return op_mime_data(op)

    def focus_search(self) -> None:
        """Put the cursor in the search box with its text selected (the main window's Ctrl+F)."""
        self.search_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search_edit.selectAll()

    def item_for_op(self, op: str) -> QTreeWidgetItem | None:
        return self._op_items.get(op)

    def category_item(self, category: str) -> QTreeWidgetItem | None:
        return self._category_items.get(category)

    def visible_ops(self) -> list[str]:
        """The ops the current search shows, in palette order."""
        return [op for op, item in self._op_items.items() if not item.isHidden()]

    def current_op(self) -> str | None:
        item = self.tree.currentItem()
        return item.data(0, OP_ROLE) if item is not None and not item.isHidden() else None

    def set_filter(self, text: str) -> None:
        """Show only the ops matching `text`, with their categories expanded; an empty text shows all."""
        if self.search_edit.text() != text:
            self.search_edit.setText(text)  # comes back here through textChanged
            return
        query = text.strip()
        first: QTreeWidgetItem | None = None
        for header in self._category_items.values():
            shown = 0
            for i in range(header.childCount()):
                item = header.child(i)
                block = item.data(0, BLOCK_ROLE)
                if block:
                    block = f"{block} {item.toolTip(0)}" if block.startswith(BUILTIN_PREFIX) else block
                visible = (all(w in block.lower() for w in query.lower().split()) if block
                           else matches(CATALOG[item.data(0, OP_ROLE)], query))
                item.setHidden(not visible)
                if visible:
                    shown += 1
                    first = first or item
            header.setHidden(shown == 0)
            header.setText(1, str(shown) if query else str(header.childCount()))
            if query and shown:
                header.setExpanded(True)
            elif not query:
                header.setExpanded(True)
        nothing = first is None
        self.tree.setVisible(not nothing)
        self.no_match.setVisible(nothing)
        if nothing:
            self.no_match.setText(f"No layer matches “{html.escape(query)}”.\nTry a word like "
                                  "“conv”, “dense” or “pool”.")
        if query and first is not None:
            current = self.tree.currentItem()
            if current is None or current.isHidden() or not (current.data(0, OP_ROLE) or current.data(0, BLOCK_ROLE)):
                self.tree.setCurrentItem(first)
            self.tree.scrollToItem(self.tree.currentItem())

    # ---- interaction -------------------------------------------------------------------------------------

    def _enter_list(self) -> None:
        if self.tree.isHidden():
            return
        current = self.tree.currentItem()
        if current is None or current.isHidden():
            ops = self.visible_ops()
            if ops:
                self.tree.setCurrentItem(self._op_items[ops[0]])
        self.tree.setFocus(Qt.FocusReason.OtherFocusReason)

    def _request_current(self) -> None:
        op = self.current_op()
        if op is None:
            ops = self.visible_ops()
            op = ops[0] if self.search_edit.text().strip() and ops else None
        if op:
            self.op_requested.emit(op)

    def _current_changed(self, current: QTreeWidgetItem | None, previous) -> None:
        if current is None:
            self._show_description(None)
        elif current.data(0, OP_ROLE):
            self._show_description(current.data(0, OP_ROLE))
        elif current.data(0, BLOCK_ROLE):
            self._show_block(current.data(0, BLOCK_ROLE))
        else:
            self._show_category(current.data(0, CATEGORY_ROLE))

    # ---- description -------------------------------------------------------------------------------------

    def _muted(self) -> str:
        return muted_color(self.palette()).name()

    def _swatch_url(self, category: str) -> QUrl:
        url = QUrl(f"swatch:{category.replace('/', '_').replace(' ', '_')}")
        pixmap = category_swatch(category, 12, 3).pixmap(QSize(12, 12), self.devicePixelRatioF())
        self.description.document().addResource(QTextDocument.ResourceType.ImageResource, url, pixmap)
        return url

    def _show_description(self, op: str | None) -> None:
        muted = self._muted()
        if op is None:
            self.description.setHtml(
                f"<p style='color:{muted}'>Select a layer to read about it. Drag it onto the canvas, or "
                "double-click it (or press Enter) to add it at the centre of the view.</p>")
            return
        spec = CATALOG[op]
        url = self._swatch_url(spec.category)
        parts = [
            f"<p style='margin-bottom:4px'><img src='{url.toString()}' width=12 height=12>&nbsp;"
            f"<b style='font-size:large'>{html.escape(spec.op)}</b>"
            f"&nbsp;&nbsp;<span style='color:{muted}'>{html.escape(spec.category)}</span></p>",
            f"<p style='margin-top:0'>{html.escape(spec.doc)}</p>",
        ]
        if len(spec.inputs) > 1 or len(spec.outputs) > 1 or spec.variadic or not spec.inputs:
            ins = "any number" if spec.variadic else (", ".join(p.name for p in spec.inputs) or "none")
            outs = ", ".join(p.name for p in spec.outputs) or "none"
            parts.append(f"<p style='color:{muted}'>Inputs: {html.escape(ins)} &nbsp;·&nbsp; "
                         f"Outputs: {html.escape(outs)}</p>")
        params = [p for p in spec.params if not p.fixed]
        if params:
            rows = []
            for p in params:
                if p.is_inferred:
                    default = "auto"
                elif p.default is REQUIRED:
                    default = "required"
                else:
                    default = format_value(p.default)
                rows.append(
                    f"<tr><td style='padding-right:8px'><b>{html.escape(p.name)}</b></td>"
                    f"<td style='color:{muted}'>{html.escape(default)}</td></tr>"
                    + (f"<tr><td colspan=2 style='color:{muted}; padding-bottom:3px'>{html.escape(p.doc)}</td></tr>"
                       if p.doc else ""))
            parts.append("<table cellspacing=0 cellpadding=0>" + "".join(rows) + "</table>")
        else:
            parts.append(f"<p style='color:{muted}'>No parameters.</p>")
        if spec.doc_url:
            parts.append(f"<p><a href='{html.escape(spec.doc_url)}'>PyTorch documentation</a></p>")
        self.description.setHtml("".join(parts))

    def _show_block(self, block: str) -> None:
        if block.startswith(BUILTIN_PREFIX):
            self._show_builtin(block[len(BUILTIN_PREFIX):])
            return
        library = self.document.project.blocks if self.document is not None else None
        if library is None or block not in library:
            return
        defn = library.definition(block)
        ports = f"{len(defn.inputs)} input{'s' if len(defn.inputs) != 1 else ''}, " \
                f"{len(defn.outputs)} output{'s' if len(defn.outputs) != 1 else ''}"
        layers = sum(1 for n in defn.graph if n.op not in ("BlockInput", "BlockOutput"))
        self.description.setHtml(
            f"<p><b style='font-size:large'>{html.escape(block)}</b>&nbsp;&nbsp;<span style='color:"
            f"{self._muted()}'>block of this project</span></p>"
            + (f"<p>{html.escape(defn.doc)}</p>" if defn.doc else "")
            + f"<p style='color:{self._muted()}'>{layers} layer{'s' if layers != 1 else ''}; {ports}"
            + (f"; params: {html.escape(', '.join(defn.params))}" if defn.params else "") + "</p>")

    def _show_builtin(self, name: str) -> None:
        builtin = builtin_blocks()
        defn = builtin.get(name)
        if defn is None:
            return
        muted = self._muted()
        layers = sum(1 for n in defn.graph if n.op not in ("BlockInput", "BlockOutput"))
        uses = [u for u in builtin.needed(name) if u != name]
        rows = "".join(
            f"<tr><td style='padding-right:8px'><b>{html.escape(p.name)}</b></td>"
            f"<td style='color:{muted}'>{html.escape(format_value(p.default))}</td></tr>"
            f"<tr><td colspan=2 style='color:{muted}; padding-bottom:3px'>{html.escape(p.doc)}</td></tr>"
            for p in defn.params.values())
        shapes = " and ".join(str(list(s)) for s in builtin.examples.get(name, ()))
        self.description.setHtml(
            f"<p><b style='font-size:large'>{html.escape(name)}</b>&nbsp;&nbsp;<span style='color:{muted}'>"
            f"built-in block</span></p><p>{html.escape(defn.doc)}</p>"
            f"<table cellspacing=0 cellpadding=0>{rows}</table>"
            f"<p style='color:{muted}'>{layers} layers"
            + (f", using {html.escape(', '.join(uses))}" if uses else "")
            + f"; e.g. for an input of {html.escape(shapes)}. Dragging it in copies the block into the project"
            " once; every instance then shares that copy.</p>")

    def _show_category(self, category: str) -> None:
        url = self._swatch_url(category)
        ops = ", ".join(s.op for s in specs_in(category))
        self.description.setHtml(
            f"<p><img src='{url.toString()}' width=12 height=12>&nbsp;<b style='font-size:large'>"
            f"{html.escape(category)}</b></p><p style='color:{self._muted()}'>{html.escape(ops)}</p>")
