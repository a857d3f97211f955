"""The diagnostics list: every problem of the last check, with the layer it belongs to.

Rows are errors first, then warnings, each group in the graph's order. Clicking a row (or Enter on it)
selects its layer through `Document.set_selection` and emits `node_activated(id)` so the main window can
centre the view on it. The list follows `document.checked` and keeps the selected row where it can.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

from PySide6.QtCore import QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QIcon,
    QKeyEvent,
    QPainter,
    QPainterPath,
    QPalette,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.document import EditRefused
from app.panels.param_editors import muted_color
from app.theme import ERROR_COLOR, WARNING_COLOR
from graph_engine.blocks.resolve import spec_for
from graph_engine.validation import ERROR, CheckResult, Diagnostic

OK_COLOR = QColor("#30a46c")
DIAGNOSTIC_ROLE = Qt.ItemDataRole.UserRole + 1


def _draw_icon(kind: str, size: int, scale: int) -> QPixmap:
    pixmap = QPixmap(size * scale, size * scale)
    pixmap.setDevicePixelRatio(scale)
    pixmap.fill(Qt.GlobalColor.transparent)
    p = QPainter(pixmap)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    s = float(size)
    white = QPen(QColor("white"), max(1.4, s / 9), Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap,
                 Qt.PenJoinStyle.RoundJoin)
    if kind == ERROR:
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(ERROR_COLOR)
        p.drawEllipse(QRectF(1, 1, s - 2, s - 2))
        p.setPen(white)
        m = s * 0.34
        p.drawLine(m, m, s - m, s - m)
        p.drawLine(s - m, m, m, s - m)
    elif kind == "ok":
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(OK_COLOR)
        p.drawEllipse(QRectF(1, 1, s - 2, s - 2))
        p.setPen(white)
        path = QPainterPath()
        path.moveTo(s * 0.3, s * 0.52)
        path.lineTo(s * 0.45, s * 0.67)
        path.lineTo(s * 0.72, s * 0.36)
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawPath(path)
    else:
        path = QPainterPath()
        path.moveTo(s / 2, 1.2)
        path.lineTo(s - 1, s - 1.5)
        path.lineTo(1, s - 1.5)
        path.closeSubpath()
        p.setPen(QPen(WARNING_COLOR, 1.2, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin))
        p.setBrush(WARNING_COLOR)
        p.drawPath(path)
        p.setPen(white)
        p.drawLine(s / 2, s * 0.38, s / 2, s * 0.62)
        p.drawPoint(s / 2, s * 0.78)
    p.end()
    return pixmap


@cache
def severity_icon(severity: str, size: int = 14) -> QIcon:
    """A red disc with a cross for errors, an amber triangle for warnings, a green tick for "ok"."""
    icon = QIcon()
    for scale in (1, 2):
        icon.addPixmap(_draw_icon(severity, size, scale))
    return icon


def summary_text(result: CheckResult) -> str:
    """ "2 errors, 1 warning", "1 error" or "No problems"."""
    errors, warnings = len(result.errors), len(result.warnings)
    parts = []
    if errors:
        parts.append(f"{errors} error{'s' if errors != 1 else ''}")
    if warnings:
        parts.append(f"{warnings} warning{'s' if warnings != 1 else ''}")
    return ", ".join(parts) if parts else "No problems"


def _sort_key(result: CheckResult, graph_order: dict[str, int]):
    def key(indexed: tuple[int, Diagnostic]):
        i, d = indexed
        where = -1 if d.node_id is None else graph_order.get(d.node_id, len(graph_order))
        return (0 if d.is_error else 1, where, i)
    return key


class _WrappingDelegate(QStyledItemDelegate):
    """A row as tall as its longest wrapped cell at the column's current width (QTreeView measures cells
    without their column width, so wrapped text would be cut to one line)."""

    def sizeHint(self, option: QStyleOptionViewItem, index) -> QSize:
        hint = super().sizeHint(option, index)
        view = self.parent()
        text = index.data(Qt.ItemDataRole.DisplayRole)
        if not isinstance(view, QTreeWidget) or not text:
            return hint
        icon = view.iconSize().width() + 6 if index.data(Qt.ItemDataRole.DecorationRole) is not None else 0
        width = max(20, view.columnWidth(index.column()) - icon - 12)
        font = index.data(Qt.ItemDataRole.FontRole) or option.font
        bound = QFontMetrics(font).boundingRect(QRect(0, 0, width, 100_000),
                                                int(Qt.TextFlag.TextWordWrap | Qt.TextFlag.TextWrapAnywhere), text)
        return QSize(hint.width(), max(hint.height(), bound.height() + 6))


class _DiagnosticTree(QTreeWidget):
    """Rows wrap their text to the column widths: a row's height is laid out again whenever a column or
    the view changes width (QTreeView keeps the heights it measured first, which cut long messages)."""

    activated_row = Signal(QTreeWidgetItem)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setItemDelegate(_WrappingDelegate(self))
        self.header().sectionResized.connect(lambda *_: self.scheduleDelayedItemsLayout())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.scheduleDelayedItemsLayout()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentItem() is not None:
            self.activated_row.emit(self.currentItem())
            event.accept()
            return
        super().keyPressEvent(event)


class DiagnosticsPanel(QWidget):
    """Every diagnostic of `document.result`: severity icon, layer, message and hint.

    Signal `node_activated(id)` when a row with a layer is clicked (the layer is selected as well).
    Methods: `refresh()`, `row_count()`, `diagnostic_at(row)`, `activate_row(row)`, `summary()`.
    """

    node_activated = Signal(str)

    def __init__(self, document, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = document
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)

        bar = QHBoxLayout()
        bar.setSpacing(6)
        self.summary_icon = QLabel(self)
        self.summary_label = QLabel(self)
        font = QFont(self.summary_label.font())
        font.setBold(True)
        self.summary_label.setFont(font)
        bar.addWidget(self.summary_icon)
        bar.addWidget(self.summary_label, 1)
        layout.addLayout(bar)

        self.tree = _DiagnosticTree(self)
        self.tree.setColumnCount(3)
        self.tree.setHeaderLabels(["Layer", "Problem", "How to fix"])
        self.tree.setRootIsDecorated(False)
        self.tree.setIndentation(0)
        self.tree.setAlternatingRowColors(True)
        self.tree.setUniformRowHeights(False)
        self.tree.setWordWrap(True)  # long messages wrap in place; the tooltip has the whole text too
        self.tree.setTextElideMode(Qt.TextElideMode.ElideRight)  # only an unbreakable word (a long id)
        self.tree.setIconSize(QSize(14, 14))
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.tree.header()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(0, 120)
        header.resizeSection(1, 320)
        self.tree.itemClicked.connect(lambda item, column: self._activate(item))
        self.tree.activated_row.connect(self._activate)
        layout.addWidget(self.tree, 1)

        self.empty_label = QLabel("Problems with the network show up here as you build it.", self)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        layout.addWidget(self.empty_label, 1)

        document.checked.connect(self._on_checked)
        self.refresh()

    # ---- public API --------------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Rebuild the rows from `document.result`, keeping the selected diagnostic when it still exists."""
        result = self.document.result
        current = self.tree.currentItem()
        kept = current.data(0, DIAGNOSTIC_ROLE) if current is not None else None
        order = {node_id: i for i, node_id in enumerate(self.document.project.graph.nodes)}
        rows = sorted(enumerate(result.diagnostics), key=_sort_key(result, order))
        muted = muted_color(self.palette())
        bold = QFont(self.tree.font())
        bold.setBold(True)
        self.tree.setUpdatesEnabled(False)
        try:
            self.tree.clear()
            restore = None
            for _, diagnostic in rows:
                layer = getattr(diagnostic, "path", "") or (diagnostic.node_id if diagnostic.node_id is not None
                                                            else "(network)")
                names = names_for(self.document.project.graph, diagnostic.node_id)
                item = QTreeWidgetItem([layer, sentence_case(diagnostic.message, names),
                                        sentence_case(diagnostic.hint, names)])
                item.setIcon(0, severity_icon(diagnostic.severity))
                item.setData(0, DIAGNOSTIC_ROLE, diagnostic)
                item.setFont(0, bold)
                item.setForeground(2, muted)
                tip = f"{diagnostic.severity}: {diagnostic.message}" + (f"\n{diagnostic.hint}" if diagnostic.hint else "")
                for column in range(3):
                    item.setToolTip(column, tip)
                if diagnostic.node_id is None:
                    item.setForeground(0, muted)
                self.tree.addTopLevelItem(item)
                if kept is not None and diagnostic == kept:
                    restore = item
            if restore is not None:
                self.tree.setCurrentItem(restore)
            if rows:  # the Layer column fits its names, within reason
                self.tree.resizeColumnToContents(0)
                header = self.tree.header()
                header.resizeSection(0, min(max(header.sectionSize(0) + 8, 90), 220))
        finally:
            self.tree.setUpdatesEnabled(True)
        has_rows = bool(rows)
        self.tree.setVisible(has_rows)
        self.empty_label.setVisible(not has_rows)
        text = summary_text(result)
        self.summary_label.setText(text)
        kind = ERROR if result.errors else ("warning" if result.warnings else "ok")
        self.summary_icon.setPixmap(severity_icon(kind, 16).pixmap(QSize(16, 16), self.devicePixelRatioF()))
        self.summary_label.setToolTip("Click a problem to select its layer on the canvas" if has_rows else "")

    def summary(self) -> str:
        return self.summary_label.text()

    def row_count(self) -> int:
        return self.tree.topLevelItemCount()

    def diagnostic_at(self, row: int) -> Diagnostic:
        return self.tree.topLevelItem(row).data(0, DIAGNOSTIC_ROLE)

    def row_for_node(self, node_id: str) -> int:
        """The first row about `node_id`, or -1."""
        for row in range(self.row_count()):
            if self.diagnostic_at(row).node_id == node_id:
                return row
        return -1

    def activate_row(self, row: int) -> None:
        item = self.tree.topLevelItem(row)
        self.tree.setCurrentItem(item)
        self._activate(item)

    # ---- internals ---------------------------------------------------------------------------------------

    def _on_checked(self, result: CheckResult) -> None:
        self.refresh()

    def _activate(self, item: QTreeWidgetItem) -> None:
        diagnostic: Diagnostic | None = item.data(0, DIAGNOSTIC_ROLE) if item is not None else None
        if diagnostic is None or diagnostic.node_id is None:
            return
        # A problem inside a block opens that block's definition at the layer at fault (layer2.0.conv1).
        levels, node_id = self.document.place_of(diagnostic)
        try:
            self.document.show_levels(levels)
        except EditRefused:
            return
        if node_id not in self.document.graph:
            return
        self.document.set_selection([node_id])
        self.node_activated.emit(node_id)


def sentence_case(text: str, names: Iterable[str] = ()) -> str:
    """Messages are written lower-case to read after "error: "; shown on their own they start with a capital,
    unless they start with a name that must keep its case ("in_features is 3 ...", "dim=5 ...")."""
    match = re.match(r"[A-Za-z_][\w]*", text)
    if not match or text[:1].isupper():
        return text
    word = match.group()
    if "_" in word or word in set(names) or text[match.end():match.end() + 1] in ("=", "(", "[", "."):
        return text
    return text[:1].upper() + text[1:]


def names_for(graph, node_id: str | None) -> tuple[str, ...]:
    """The param names of a node's layer: words a message may start with that keep their case."""
    node = graph.nodes.get(node_id) if node_id is not None else None
    spec = spec_for(graph, node) if node is not None else None
    return spec.param_names if spec is not None else ()
