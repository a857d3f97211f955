"""The quick-add popup: type on the canvas, pick a layer, Enter inserts it.

A small frameless panel (a line edit over a filtered list) shown inside the canvas at the cursor. The list
filters `CATALOG` by op name first, then keywords, category and doc. Up/Down (and PageUp/PageDown) move in
the list while typing continues in the line edit; Enter or a click inserts; Esc or clicking elsewhere closes.
The popup only says which op was chosen (`chosen`); the view decides where it goes and what it is wired to.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QPoint, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFontMetrics, QIcon, QKeyEvent, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.theme import category_color
from graph_engine.catalog import CATALOG, LayerSpec

_CAMEL = re.compile(r"[A-Z][a-z]*|[a-z]+|\d+[a-z]*")
POPUP_WIDTH = 280
VISIBLE_ROWS = 9


def _words(op: str) -> list[str]:
    """"BatchNorm2d" -> ["batch", "norm2d"]: a query may start at any word of the op name."""
    return [w.lower() for w in _CAMEL.findall(op)]


def _score(spec: LayerSpec, query: str) -> int | None:
    """Lower is better; None when `spec` does not match `query`."""
    op = spec.op.lower()
    if op == query:
        return 0
    if op.startswith(query):
        return 1
    if any(w.startswith(query) for w in _words(spec.op)):
        return 2
    if query in op:
        return 3
    if any(k.lower().startswith(query) for k in spec.keywords):
        return 4
    if len(query) < 3:
        return None  # two letters inside a keyword or a doc string match almost everything
    if any(query in k.lower() for k in spec.keywords) or query in spec.category.lower():
        return 5
    if query in spec.doc.lower():
        return 6
    tokens = query.split()
    if len(tokens) > 1:
        haystack = " ".join([op, spec.category.lower(), spec.doc.lower(), *(k.lower() for k in spec.keywords)])
        if all(t in haystack for t in tokens):
            return 7
    return None


def search_catalog(query: str) -> list[LayerSpec]:
    """Layers matching `query`, best first (ties keep the palette's order). An empty query lists all."""
    q = query.strip().lower()
    specs = list(CATALOG.values())
    if not q:
        return specs
    scored = [(s, i, spec) for i, spec in enumerate(specs) if (s := _score(spec, q)) is not None]
    scored.sort(key=lambda t: (t[0], t[1]))
    return [spec for _, _, spec in scored]


_icons: dict[str, QIcon] = {}


def category_icon(category: str) -> QIcon:
    """A small rounded square in the category's colour (made once per category)."""
    icon = _icons.get(category)
    if icon is None:
        pixmap = QPixmap(12, 12)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(category_color(category))
        painter.drawRoundedRect(1, 1, 10, 10, 3, 3)
        painter.end()
        icon = _icons[category] = QIcon(pixmap)
    return icon


class QuickAddPopup(QFrame):
    chosen = Signal(str)  # the op to insert
    closed = Signal()

    def __init__(self, parent: QWidget):
        super().__init__(parent)
        self.setObjectName("quickAdd")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        self.edit = QLineEdit(self)
        self.edit.setPlaceholderText("Add a layer…")
        self.edit.setClearButtonEnabled(False)
        self.list = QListWidget(self)
        self.list.setUniformItemSizes(True)
        self.list.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.list.setIconSize(QSize(12, 12))
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.doc = QLabel(self)
        self.doc.setWordWrap(True)
        self.doc.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.doc.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        font = self.doc.font()
        font.setPointSizeF(font.pointSizeF() * 0.9)
        self.doc.setFont(font)
        self.doc.setFixedHeight(round(self.doc.fontMetrics().lineSpacing() * 3 + 2))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)
        layout.addWidget(self.edit)
        layout.addWidget(self.list)
        layout.addWidget(self.doc)
        self.setFixedWidth(POPUP_WIDTH)
        self._accepts: Callable[[LayerSpec], bool] = lambda spec: True
        self.edit.textChanged.connect(self._refilter)
        self.edit.installEventFilter(self)
        self.list.itemClicked.connect(lambda item: self._accept(item))
        self.list.currentItemChanged.connect(self._show_doc)
        self.hide()

    # ---- opening and closing -----------------------------------------------------------------------------

    def popup(self, pos: QPoint, text: str = "", placeholder: str = "Add a layer…",
              accepts: Callable[[LayerSpec], bool] | None = None) -> None:
        """Show at `pos` (parent coordinates), kept inside the parent, with `text` already typed. `accepts`
        narrows the list (a layer wired from an output must have an input)."""
        self._accepts = accepts or (lambda spec: True)
        self.edit.setPlaceholderText(placeholder)
        self.edit.blockSignals(True)
        self.edit.setText(text)
        self.edit.blockSignals(False)
        self._refilter(text)
        row = self.list.sizeHintForRow(0) if self.list.count() else self.list.fontMetrics().height() + 4
        self.list.setFixedHeight(row * VISIBLE_ROWS + 2 * self.list.frameWidth())
        self.adjustSize()
        parent = self.parentWidget()
        x = min(max(pos.x(), 4), max(parent.width() - self.width() - 4, 4))
        y = min(max(pos.y(), 4), max(parent.height() - self.height() - 4, 4))
        self.move(x, y)
        self.show()
        self.raise_()
        self.edit.setFocus(Qt.FocusReason.PopupFocusReason)
        self.edit.end(False)

    def close_popup(self) -> None:
        """Hide without inserting anything."""
        if self.isVisible():
            self.hide()
            self.closed.emit()

    # ---- filtering and choosing --------------------------------------------------------------------------

    def _refilter(self, text: str) -> None:
        self.list.clear()
        for spec in search_catalog(text):
            if not self._accepts(spec):
                continue
            item = QListWidgetItem(category_icon(spec.category), f"{spec.op}")
            item.setData(Qt.ItemDataRole.UserRole, spec.op)
            item.setToolTip(f"{spec.category}: {spec.doc}")
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)
        else:
            self.doc.setText("No layer matches; Esc to close")

    def _show_doc(self, item: QListWidgetItem | None, previous=None) -> None:
        if item is None:
            return
        spec = CATALOG[item.data(Qt.ItemDataRole.UserRole)]
        text = f"{spec.category} · {spec.doc}"
        metrics = QFontMetrics(self.doc.font())
        width = max(self.doc.width(), POPUP_WIDTH - 16)
        if metrics.boundingRect(0, 0, width, 10_000, Qt.TextFlag.TextWordWrap, text).height() > self.doc.height():
            while len(text) > 20 and metrics.boundingRect(0, 0, width, 10_000, Qt.TextFlag.TextWordWrap,
                                                          text + "…").height() > self.doc.height():
                text = text[: text.rfind(" ")]
            text += "…"
        self.doc.setText(text)

    def current_op(self) -> str | None:
        """The op Enter would insert."""
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def _accept(self, item: QListWidgetItem | None = None) -> None:
        op = item.data(Qt.ItemDataRole.UserRole) if item is not None else self.current_op()
        if op is None:
            return
        self.close_popup()
        self.chosen.emit(op)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.edit:
            if event.type() == QEvent.Type.KeyPress:
                return self._key(event)
            if event.type() == QEvent.Type.FocusOut:
                QTimer.singleShot(0, self._close_if_unfocused)
        return super().eventFilter(watched, event)

    def _key(self, event: QKeyEvent) -> bool:
        key = event.key()
        if key == Qt.Key.Key_Escape:
            self.close_popup()
            return True
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self._accept()
            return True
        steps = {Qt.Key.Key_Up: -1, Qt.Key.Key_Down: 1, Qt.Key.Key_PageUp: -(VISIBLE_ROWS - 1),
                 Qt.Key.Key_PageDown: VISIBLE_ROWS - 1}
        if key in steps and self.list.count():
            row = min(max(self.list.currentRow() + steps[key], 0), self.list.count() - 1)
            self.list.setCurrentRow(row)
            return True
        return False

    def _close_if_unfocused(self) -> None:
        focus = QApplication.focusWidget()
        if self.isVisible() and (focus is None or not self.isAncestorOf(focus)) and QApplication.activeWindow():
            self.close_popup()

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        painter = QPainter(self)
        border = QColor(self.palette().color(self.foregroundRole()))
        border.setAlpha(60)
        painter.setPen(border)
        painter.drawRect(self.rect().adjusted(0, 0, -1, -1))
