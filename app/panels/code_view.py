"""The live code view: the PyTorch module the graph becomes, syntax-highlighted, with Copy and Export.

Cost model. Code is regenerated from `document.checked`, but only when the graph's version (or the project's
name, which names the class) changed since the last generation, at most once every THROTTLE_MS (a burst of
edits costs one generation at its start and one at its end), and not at all while the panel is hidden (it
catches up when shown). The text is replaced only when it differs, and the scroll position is kept.

While the graph has errors the last valid code stays on screen, greyed, under a banner that says so; before
any valid code exists the errors themselves are shown.
"""

from __future__ import annotations

from PySide6.QtCore import QElapsedTimer, QEvent, QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontDatabase,
    QGuiApplication,
    QPainter,
    QPalette,
    QResizeEvent,
    QTextOption,
)
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.panels.diagnostics import severity_icon
from app.panels.param_editors import muted_color
from app.panels.python_highlighter import PythonHighlighter
from app.theme import ERROR_COLOR, WARNING_COLOR
from graph_engine.codegen import generate_code
from graph_engine.errors import InvalidGraphError
from graph_engine.project import class_name_for
from graph_engine.validation import ERROR, CheckResult

THROTTLE_MS = 300


def code_font() -> QFont:
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    font.setStyleHint(QFont.StyleHint.Monospace)
    return font


class _LineNumbers(QWidget):
    def __init__(self, editor: _CodeEdit):
        super().__init__(editor)
        self.editor = editor

    def sizeHint(self) -> QSize:
        return QSize(self.editor.gutter_width(), 0)

    def paintEvent(self, event) -> None:
        self.editor.paint_gutter(event)


class _CodeEdit(QPlainTextEdit):
    """A read-only code editor with a line-number gutter."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.gutter = _LineNumbers(self)
        self.blockCountChanged.connect(self._update_margins)
        self.updateRequest.connect(self._update_gutter)
        self._update_margins()

    def gutter_width(self) -> int:
        digits = max(3, len(str(max(1, self.blockCount()))))
        return 14 + self.fontMetrics().horizontalAdvance("9") * digits

    def _update_margins(self, *args) -> None:
        self.setViewportMargins(self.gutter_width(), 0, 0, 0)

    def _update_gutter(self, rect: QRect, dy: int) -> None:
        if dy:
            self.gutter.scroll(0, dy)
        else:
            self.gutter.update(0, rect.y(), self.gutter.width(), rect.height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        cr = self.contentsRect()
        self.gutter.setGeometry(QRect(cr.left(), cr.top(), self.gutter_width(), cr.height()))

    def paint_gutter(self, event) -> None:
        painter = QPainter(self.gutter)
        base = self.palette().color(QPalette.ColorRole.Base)
        painter.fillRect(event.rect(), base.darker(104) if base.lightness() > 128 else base.lighter(115))
        painter.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
        painter.setFont(self.font())
        block = self.firstVisibleBlock()
        number = block.blockNumber()
        top = round(self.blockBoundingGeometry(block).translated(self.contentOffset()).top())
        bottom = top + round(self.blockBoundingRect(block).height())
        width = self.gutter.width() - 8
        height = self.fontMetrics().height()
        while block.isValid() and top <= event.rect().bottom():
            if block.isVisible() and bottom >= event.rect().top():
                painter.drawText(0, top, width, height, Qt.AlignmentFlag.AlignRight, str(number + 1))
            block = block.next()
            top = bottom
            bottom = top + round(self.blockBoundingRect(block).height())
            number += 1
        painter.end()


class CodeViewPanel(QWidget):
    """The generated code of `document.project`, kept up to date with the graph.

    Signal `export_requested()` from the Export... button (the main window shows the file dialog and writes
    `code()`). Methods: `code()` (the latest valid code, or None), `text()` (what is shown), `refresh()`
    (regenerate now, e.g. after the project is renamed), `copy_to_clipboard()`, `is_stale`.
    """

    export_requested = Signal()

    def __init__(self, document, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = document
        self._last_good: str | None = None
        self._key: tuple | None = None
        self._stale = False
        self._checked_version = document.project.graph.version  # panels are made with a current result
        self._clock = QElapsedTimer()
        self.generations = 0  # how many times code was generated (throttling is observable in tests)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)

        bar = QHBoxLayout()
        bar.setSpacing(6)
        self.title_label = QLabel(self)
        self.title_label.setTextFormat(Qt.TextFormat.RichText)
        bar.addWidget(self.title_label, 1)
        self.copy_button = QPushButton("Copy", self)
        self.copy_button.setToolTip("Copy the generated code to the clipboard")
        self.copy_button.clicked.connect(self.copy_to_clipboard)
        self.export_button = QPushButton("Export…", self)
        self.export_button.setToolTip("Save the generated code as a Python file")
        self.export_button.clicked.connect(self.export_requested)
        bar.addWidget(self.copy_button)
        bar.addWidget(self.export_button)
        layout.addLayout(bar)

        self.banner = QFrame(self)
        self.banner.setObjectName("codeBanner")
        self.banner.setAutoFillBackground(True)
        banner_layout = QHBoxLayout(self.banner)
        banner_layout.setContentsMargins(8, 5, 8, 5)
        banner_layout.setSpacing(6)
        self.banner_icon = QLabel(self.banner)
        self.banner_icon.setPixmap(severity_icon("warning").pixmap(QSize(14, 14), self.devicePixelRatioF()))
        self.banner_label = QLabel(self.banner)
        self.banner_label.setWordWrap(True)
        banner_layout.addWidget(self.banner_icon, 0, Qt.AlignmentFlag.AlignTop)
        banner_layout.addWidget(self.banner_label, 1)
        self.banner.hide()
        layout.addWidget(self.banner)

        self.editor = _CodeEdit(self)
        self.editor.setReadOnly(True)
        self.editor.setFont(code_font())
        self.editor.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.editor.setWordWrapMode(QTextOption.WrapMode.NoWrap)
        self.editor.setTabStopDistance(4 * self.editor.fontMetrics().horizontalAdvance(" "))
        self.editor.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                            | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        self.editor._update_margins()
        self.highlighter = PythonHighlighter(self.editor.document(), dark=_is_dark(self.palette()))
        layout.addWidget(self.editor, 1)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._regenerate)
        self._copied_timer = QTimer(self)
        self._copied_timer.setSingleShot(True)
        self._copied_timer.setInterval(1500)
        self._copied_timer.timeout.connect(lambda: self.copy_button.setText("Copy"))
        document.checked.connect(self._on_checked)
        self.refresh()

    # ---- public API --------------------------------------------------------------------------------------

    def code(self) -> str | None:
        """The latest valid generated code (None before the graph was ever valid)."""
        return self._last_good

    def text(self) -> str:
        return self.editor.toPlainText()

    @property
    def is_stale(self) -> bool:
        """True while the graph has errors and older code is shown."""
        return self.highlighter.muted

    def refresh(self) -> None:
        """Regenerate now, whatever changed."""
        self._key = None
        self._regenerate()

    def copy_to_clipboard(self) -> None:
        if self._last_good is None:
            return
        QGuiApplication.clipboard().setText(self._last_good)
        self.copy_button.setText("Copied")
        self._copied_timer.start()

    # ---- throttled regeneration --------------------------------------------------------------------------

    def _current_key(self) -> tuple:
        return (self._checked_version, self.document.project.name)

    def _on_checked(self, result: CheckResult) -> None:
        self._checked_version = self.document.project.graph.version  # the graph `result` describes
        if self._current_key() == self._key:
            return
        self._schedule()

    def _schedule(self) -> None:
        if not self.isVisible():
            self._stale = True  # caught up in showEvent
            return
        if self._timer.isActive():
            return
        elapsed = self._clock.elapsed() if self._clock.isValid() else THROTTLE_MS
        self._timer.start(max(0, THROTTLE_MS - elapsed))

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:  # the system switched between light and dark
            self.highlighter.set_dark(_is_dark(self.palette()))

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._stale:
            self._stale = False
            self._schedule()

    def _regenerate(self) -> None:
        self._timer.stop()
        if self.document.project.graph.version != self._checked_version:
            return  # the graph changed after the last check: the coming `checked` schedules us again
        key = self._current_key()
        if key == self._key:
            return
        self._key = key
        self._clock.start()
        self.generations += 1
        result = self.document.result
        class_name = class_name_for(self.document.project.name)
        muted = muted_color(self.palette()).name()
        if result.ok:
            try:
                code = generate_code(self.document.project, result)
            except InvalidGraphError as exc:
                self._show_problem(str(exc), result)
                return
            self._last_good = code
            self.banner.hide()
            self.highlighter.set_muted(False)
            self._set_text(code)
            self.title_label.setText(f"<b>{class_name}</b> <span style='color:{muted}'>· PyTorch · "
                                     f"{code.count(chr(10)) + 1} lines</span>")
        else:
            self._show_problem(None, result)
            return
        self.copy_button.setEnabled(True)
        self.export_button.setEnabled(True)

    def _show_problem(self, message: str | None, result: CheckResult) -> None:
        errors = result.errors
        n = len(errors)
        noun = f"{n} error{'s' if n != 1 else ''}"
        muted = muted_color(self.palette()).name()
        self.banner_icon.setPixmap(severity_icon(ERROR if self._last_good is None else "warning")
                                   .pixmap(QSize(14, 14), self.devicePixelRatioF()))
        if self._last_good is not None:
            self.banner_label.setText(f"The network has {noun}; showing the last valid code."
                                      if message is None else f"Code could not be generated ({message}); "
                                      "showing the last valid code.")
            self.highlighter.set_muted(True)
            self._set_text(self._last_good)
            self.title_label.setText(f"<b>{class_name_for(self.document.project.name)}</b> "
                                     f"<span style='color:{muted}'>· last valid code</span>")
        else:
            self.banner_label.setText(f"The network has {noun}; its code appears once they are fixed."
                                      if message is None else f"Code could not be generated: {message}")
            self.highlighter.set_muted(False)
            lines = ["# The network cannot be turned into code yet. Fix these first:", "#"]
            for d in errors:
                where = f"{d.node_id}: " if d.node_id is not None else ""
                lines.append(f"#   - {where}{d.message}")
                if d.hint:
                    lines.append(f"#       {d.hint}")
            self._set_text("\n".join(lines) + "\n")
            self.title_label.setText(f"<b>{class_name_for(self.document.project.name)}</b> "
                                     f"<span style='color:{muted}'>· no valid code yet</span>")
        tint = QColor(WARNING_COLOR if self._last_good is not None else ERROR_COLOR)
        tint.setAlpha(40)
        palette = self.banner.palette()
        palette.setColor(QPalette.ColorRole.Window, tint)
        self.banner.setPalette(palette)
        self.banner.show()
        # Copy takes the code on screen; Export writes files only for a network that checks clean.
        self.copy_button.setEnabled(self._last_good is not None)
        self.export_button.setEnabled(False)

    def _set_text(self, text: str) -> None:
        if self.editor.toPlainText() == text:
            return
        v, h = self.editor.verticalScrollBar(), self.editor.horizontalScrollBar()
        v_pos, h_pos = v.value(), h.value()
        self.editor.setPlainText(text)
        v.setValue(min(v_pos, v.maximum()))
        h.setValue(min(h_pos, h.maximum()))


def _is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Base).lightness() < 128
