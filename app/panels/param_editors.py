"""One editor widget per ParamKind, generated from a layer's spec (the spec holds no widget).

`editor_for(param)` returns a `ParamEditor`. The inspector shows the model's value with `show_value` (which
emits nothing) and listens to `committed(value)`, emitted once per finished edit (Enter, focus leaving the
field, an arrow step, a click, a new index), never per keystroke, and only when the value differs from the
model's. The emitted value is what `Document.set_param` takes: a value, None (an empty nullable param) or
AUTO (an inferred param follows its input again).

Refusals are never half-applied: text that does not even parse is refused here, a value the engine refuses
comes back through `show_error`, and either way the editor shows the model's value again (`revert`) with the
reason in red under the field.

Kinds and widgets:
- INT: a spin box with the spec's range; inferred params read "auto (64)" and nullable ones "none" at one
  below the minimum (Qt's special-value idiom), so clearing the field or stepping below the range resets.
- FLOAT: a line edit, so 1e-5 is as easy to type as 0.5; values show in their shortest exact form.
- BOOL: a check box. CHOICE: a combo box (plus "none" when nullable).
- INT_TUPLE with a known length: one spin box for the common case (kernel_size=3) and a "per dimension"
  toggle that reveals one spin box per spatial dim; of any length: a line edit accepting "3" or "3, 5".
- INT_LIST: a line edit accepting "1, 28, 28" (brackets allowed).
"""

from __future__ import annotations

import math
import re
from typing import Any

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QFocusEvent,
    QIcon,
    QKeyEvent,
    QPainter,
    QPainterPath,
    QPalette,
    QPen,
    QPixmap,
    QValidator,
)
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.theme import ERROR_COLOR
from graph_engine.catalog.spec import REQUIRED, Param, ParamKind
from graph_engine.params import AUTO, validate_value

_INT_TEXT = re.compile(r"[+-]?\d+")
INT_MIN, INT_MAX = -(2**31) + 2, 2**31 - 1  # QSpinBox holds a C int; one below INT_MIN is the special value
DIM_NAMES = {2: ("H", "W"), 3: ("D", "H", "W")}


# ---- values as text -------------------------------------------------------------------------------------


def format_value(value: Any) -> str:
    """A param value as the inspector writes it: 3, 1e-05, 0.5, "1, 28, 28", true, none."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format_float(value)
    if isinstance(value, list | tuple):
        return ", ".join(format_value(v) for v in value)
    return str(value)


def format_float(value: float) -> str:
    """The shortest text that reads back as the same float ("0.001", "1e-05", "2.0")."""
    return repr(float(value))


def parse_ints(text: str, name: str) -> list[int]:
    """ "1, 28, 28", "[1, 28, 28]" or "1 28 28" -> [1, 28, 28]; raises ValueError with a reason to show."""
    body = text.strip()
    if body[:1] in "[(" and body[-1:] in "])":
        body = body[1:-1]
    tokens = [t for t in re.split(r"[,\s]+", body.strip()) if t]
    values = []
    for token in tokens:
        try:
            values.append(int(token))
        except ValueError:
            shown = token if len(token) <= 12 else token[:11] + "…"
            raise ValueError(f"{name}: {shown!r} is not a whole number; write whole numbers separated by "
                             f"commas, e.g. 1, 28, 28") from None
    return values


def param_tooltip(param: Param) -> str:
    """The help shown on a param's label and editor: its doc, range and default."""
    lines = [f"<b>{param.name}</b>"]
    if param.doc:
        lines.append(param.doc)
    facts = []
    if param.is_inferred:
        facts.append("auto: read from the incoming tensor")
    if param.min is not None and param.max is not None and param.kind is not ParamKind.CHOICE:
        facts.append(f"range {format_value(_num(param.min))} to {format_value(_num(param.max))}")
    if param.default is not REQUIRED and not param.is_inferred:
        facts.append(f"default {format_value(param.default)}")
    if param.nullable:
        facts.append("may be none")
    if facts:
        lines.append(f"<i>{'; '.join(facts)}</i>")
    return "<br>".join(lines)


def _num(x: float) -> int | float:
    return int(x) if float(x).is_integer() else x


def _same(param: Param, a: Any, b: Any) -> bool:
    """Whether two values mean the same for `param` (3 and [3, 3] are the same kernel_size)."""
    if (a == AUTO) != (b == AUTO) or (a is None) != (b is None):
        return False
    if param.kind is ParamKind.INT_TUPLE and param.length and not isinstance(a, str) and a is not None:
        return _expand(a, param.length) == _expand(b, param.length)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return list(a) == list(b)
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, int | float) and isinstance(b, int | float) and float(a) == float(b)
    return type(a) is type(b) and a == b


def _expand(value: Any, length: int) -> tuple:
    return tuple(value) if isinstance(value, list | tuple) else (value,) * length


# ---- small widgets -------------------------------------------------------------------------------------


class _SpinBox(QSpinBox):
    """A spin box for the inspector.

    - The wheel changes it only when it has focus: scrolling the inspector must not edit values.
    - Stepping up from its special value ("auto (64)") goes to the value auto stands for, not the minimum.
    - A number outside the range can be typed, and is refused with a reason on Enter or focus out
      (`out_of_range`) instead of Qt's silent refusal of the keystroke or trimming of the text.
    """

    escaped = Signal()
    out_of_range = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setKeyboardTracking(False)
        self.setAccelerated(True)
        self.setMinimumWidth(56)  # not the width of "16777216": the inspector may be a narrow dock
        self.resume_value: int | None = None

    def validate(self, text: str, pos: int):
        state, text, pos = super().validate(text, pos)
        if state == QValidator.State.Invalid and _INT_TEXT.fullmatch(self._bare(text)):
            return QValidator.State.Intermediate, text, pos
        return state, text, pos

    def _bare(self, text: str) -> str:
        text = text.strip()
        if self.prefix() and text.startswith(self.prefix().strip()):
            text = text[len(self.prefix().strip()):]
        return text.strip()

    def _refuse_out_of_range(self) -> bool:
        """True (after emitting out_of_range and showing the value again) when the typed text is a whole
        number outside the range."""
        text = self._bare(self.text())
        if not _INT_TEXT.fullmatch(text):
            return False
        value = int(text)
        if self.minimum() <= value <= self.maximum():
            return False
        self.out_of_range.emit(value)
        return True

    def wheelEvent(self, event) -> None:
        if self.hasFocus():
            super().wheelEvent(event)
        else:
            event.ignore()

    def stepBy(self, steps: int) -> None:
        if (steps > 0 and self.specialValueText() and self.value() == self.minimum()
                and self.resume_value is not None):
            self.setValue(self.resume_value)
        else:
            super().stepBy(steps)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.escaped.emit()
            event.accept()
        elif event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self._refuse_out_of_range():
            event.accept()
        else:
            super().keyPressEvent(event)

    def focusOutEvent(self, event: QFocusEvent) -> None:
        self._refuse_out_of_range()
        super().focusOutEvent(event)

    def focusInEvent(self, event: QFocusEvent) -> None:
        super().focusInEvent(event)
        if self.specialValueText() and self.value() == self.minimum():
            QTimer.singleShot(0, self.selectAll)  # typing replaces "auto (64)"


class _ComboBox(QComboBox):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(6)

    def wheelEvent(self, event) -> None:
        if self.hasFocus():
            super().wheelEvent(event)
        else:
            event.ignore()


class _LineEdit(QLineEdit):
    escaped = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.escaped.emit()
            event.accept()
        else:
            super().keyPressEvent(event)

    def focusInEvent(self, event: QFocusEvent) -> None:
        super().focusInEvent(event)
        if self.property("special"):
            QTimer.singleShot(0, self.selectAll)


def _reset_icon(color: QColor) -> QIcon:
    """A counter-clockwise arrow, drawn so it is crisp at any device pixel ratio."""
    icon = QIcon()
    for scale in (1, 2):
        size = 16 * scale
        pixmap = QPixmap(size, size)
        pixmap.setDevicePixelRatio(scale)
        pixmap.fill(Qt.GlobalColor.transparent)
        p = QPainter(pixmap)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pen = QPen(color, 1.6, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin)
        p.setPen(pen)
        rect = QRectF(3.5, 3.5, 9, 9)
        p.drawArc(rect, 100 * 16, 290 * 16)
        end = QPointF(8 + 4.5 * math.cos(math.radians(100)), 8 - 4.5 * math.sin(math.radians(100)))
        head = QPainterPath(end)
        head.moveTo(end + QPointF(3.2, -1.6))
        head.lineTo(end)
        head.lineTo(end + QPointF(2.4, 2.6))
        p.drawPath(head)
        p.end()
        icon.addPixmap(pixmap)
    return icon


def muted_color(palette: QPalette, background: QPalette.ColorRole = QPalette.ColorRole.Window) -> QColor:
    """The palette's placeholder colour, made opaque over `background`. Qt's default placeholder is the text
    colour at half alpha, which rich text (`<span style='color:...'>`) would read as fully opaque."""
    color = palette.color(QPalette.ColorRole.PlaceholderText)
    if color.alpha() == 255:
        return color
    bg, a = palette.color(background), color.alphaF()
    return QColor.fromRgbF(color.redF() * a + bg.redF() * (1 - a), color.greenF() * a + bg.greenF() * (1 - a),
                           color.blueF() * a + bg.blueF() * (1 - a))


def _split_icon(color: QColor) -> QIcon:
    """Side-by-side boxes: "one value per dimension"."""
    icon = QIcon()
    for scale in (1, 2):
        pixmap = QPixmap(16 * scale, 16 * scale)
        pixmap.setDevicePixelRatio(scale)
        pixmap.fill(Qt.GlobalColor.transparent)
        p = QPainter(pixmap)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(QPen(color, 1.2))
        for x in (1.5, 6.5, 11.5):
            p.drawRoundedRect(QRectF(x, 4.5, 3.5, 7), 1, 1)
        p.end()
        icon.addPixmap(pixmap)
    return icon


def set_special_look(widget: QWidget, special: bool) -> None:
    """Grey italic for a value that stands for something else ("auto (64)", "none")."""
    font = widget.font()
    if font.italic() != special:
        font.setItalic(special)
        widget.setFont(font)
    palette = widget.palette()
    base = widget.parentWidget().palette() if widget.parentWidget() else palette
    text = base.color(QPalette.ColorRole.PlaceholderText) if special else base.color(QPalette.ColorRole.Text)
    if palette.color(QPalette.ColorRole.Text) != text:
        palette.setColor(QPalette.ColorRole.Text, text)
        widget.setPalette(palette)


# ---- the editors ---------------------------------------------------------------------------------------


class ParamEditor(QWidget):
    """Base class: a field row (the kind's widgets and a reset button) over a message line for refusals."""

    committed = Signal(object)  # the new value for Document.set_param: a value, None or AUTO

    def __init__(self, param: Param, parent: QWidget | None = None):
        super().__init__(parent)
        self.param = param
        self._value: Any = None if param.default is REQUIRED else param.default
        self._auto = param.is_inferred
        self._inferred: Any = None
        self._error = ""
        self._note = ""
        self._inputs: list[QWidget] = []
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(2)
        self.field_row = QHBoxLayout()
        self.field_row.setContentsMargins(0, 0, 0, 0)
        self.field_row.setSpacing(4)
        outer.addLayout(self.field_row)
        self.reset_button = QToolButton(self)
        self.reset_button.setAutoRaise(True)
        self.reset_button.setIconSize(QSize(14, 14))
        self.reset_button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.reset_button.clicked.connect(self._reset)
        self.message = QLabel(self)
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.setObjectName("paramMessage")
        palette = self.message.palette()
        palette.setColor(QPalette.ColorRole.WindowText, ERROR_COLOR)
        self.message.setPalette(palette)
        font = self.message.font()
        font.setPointSizeF(font.pointSizeF() * 0.92)
        self.message.setFont(font)
        self.message.hide()
        outer.addWidget(self.message)
        self.setToolTip(param_tooltip(param))

    def _add_input(self, widget: QWidget, stretch: int = 1) -> None:
        self._inputs.append(widget)
        self.field_row.addWidget(widget, stretch)

    def _finish_row(self) -> None:
        self.reset_button.setIcon(_reset_icon(self.palette().color(QPalette.ColorRole.WindowText)))
        self.field_row.addWidget(self.reset_button)
        # Keep the row's height when the reset button hides, so rows do not jump as values change.
        policy = self.reset_button.sizePolicy()
        policy.setRetainSizeWhenHidden(True)
        self.reset_button.setSizePolicy(policy)
        self._display_all()

    # ---- what the model holds ----------------------------------------------------------------------------

    def show_value(self, value: Any, auto: bool = False, inferred: Any = None) -> None:
        """Show the model's state without emitting: `value` (explicit or default; None for none/missing),
        whether an inferred param is on auto, and the value auto currently gives."""
        auto = bool(auto and self.param.is_inferred)
        unchanged = (auto == self._auto and _same(self.param, value, self._value)
                     and _same(self.param, inferred, self._inferred))
        self._value, self._auto, self._inferred = value, auto, inferred
        if unchanged and self._editing():
            return  # an unrelated refresh must not wipe what the user is typing
        self._display_all()

    def current(self) -> Any:
        """The model's value in the form `committed` uses."""
        return AUTO if self._auto else self._value

    def revert(self) -> None:
        """Show the model's value again (after a refusal, or Escape)."""
        self._display_all()

    def _display_all(self) -> None:
        for widget in self._inputs:
            widget.blockSignals(True)
        try:
            self._display()
        finally:
            for widget in self._inputs:
                widget.blockSignals(False)
        self._update_reset()

    def _display(self) -> None:
        raise NotImplementedError

    def _update_reset(self) -> None:
        param = self.param
        if param.is_inferred and not self._auto:
            shown = f" ({format_value(self._inferred)})" if self._inferred is not None else ""
            self.reset_button.setToolTip(f"Back to auto{shown}: follow the incoming tensor")
            self.reset_button.setVisible(True)
        elif (not param.is_inferred and param.default is not REQUIRED
              and not _same(param, self._value, param.default)):
            self.reset_button.setToolTip(f"Reset to the default ({format_value(param.default)})")
            self.reset_button.setVisible(True)
        else:
            self.reset_button.setVisible(False)

    def _reset(self) -> None:
        if self.param.is_inferred:
            self._offer(AUTO)
        else:
            self._offer(self.param.default if self.param.nullable else None)

    # ---- edits -------------------------------------------------------------------------------------------

    def _offer(self, value: Any) -> None:
        """A finished edit: emit it unless the model already holds that value."""
        if _same(self.param, value, self.current()):
            self._display_all()  # normalise what is shown ("3.0" -> "3", stray spaces)
            return
        self.clear_error()
        self.committed.emit(value)

    def _refuse(self, reason: str) -> None:
        self.show_error(reason)
        self.revert()

    def _out_of_range(self, value: int) -> None:
        self._refuse(validate_value(self.param, value) or f"{self.param.name} cannot be {value}")

    def _editing(self) -> bool:
        """Whether the user has typed into a focused field without committing yet."""
        for widget in self._inputs:
            line = widget if isinstance(widget, QLineEdit) else widget.findChild(QLineEdit)
            if widget.hasFocus() and line is not None and line.isModified():
                return True
        return False

    def commit_pending(self) -> None:
        """Commit what a text field holds (the inspector calls it before switching to another layer)."""

    def _finished(self) -> None:
        self._offer(self.value())

    def _escape(self) -> None:
        """Esc in a field: drop what was typed and show the model's value again."""
        self.clear_error()
        self.revert()

    @property
    def primary_input(self) -> QWidget:
        """The widget that takes focus for this param (a label's buddy)."""
        return self._inputs[0] if self._inputs else self

    def focus_field(self) -> None:
        self.primary_input.setFocus(Qt.FocusReason.OtherFocusReason)

    # ---- messages ----------------------------------------------------------------------------------------

    def show_error(self, reason: str) -> None:
        """Show why an edit was refused, until the next accepted edit."""
        self._error = reason
        self._update_message()

    def clear_error(self) -> None:
        self._error = ""
        self._update_message()

    def set_note(self, text: str) -> None:
        """A standing problem the check found with this param (shown when no refusal is)."""
        self._note = text
        self._update_message()

    @property
    def error_text(self) -> str:
        return self._error

    def message_text(self) -> str:
        """The red line under the field ("" when none is shown)."""
        return "" if self.message.isHidden() else self.message.text()

    def _update_message(self) -> None:
        text = self._error or self._note
        self.message.setText(text)
        self.message.setVisible(bool(text))


class IntEditor(ParamEditor):
    def __init__(self, param: Param, parent: QWidget | None = None):
        super().__init__(param, parent)
        self.spin = _SpinBox(self)
        self.spin.setToolTip(param_tooltip(param))
        self._special = param.is_inferred or param.nullable
        lo, hi = _int_range(param)
        self.spin.setRange(lo - 1 if self._special else lo, hi)
        self.spin.valueChanged.connect(self._finished)
        self.spin.editingFinished.connect(self._finished)
        self.spin.escaped.connect(self._escape)
        self.spin.out_of_range.connect(self._out_of_range)
        self._add_input(self.spin)
        self._finish_row()

    def _special_text(self) -> str:
        if self.param.is_inferred:
            return "auto" if self._inferred is None else f"auto ({format_value(self._inferred)})"
        return "none"

    def _display(self) -> None:
        self.spin.setSpecialValueText(self._special_text() if self._special else "")
        special = self._special and (self._auto or self._value is None)
        if special:
            if self.param.is_inferred:
                self.spin.resume_value = self._inferred if isinstance(self._inferred, int) else None
            else:  # up from "none": 0 where the range allows (padding_idx), not -16777216
                lo, hi = _int_range(self.param)
                self.spin.resume_value = 0 if lo <= 0 <= hi else lo
            self.spin.setValue(self.spin.minimum())
        else:
            self.spin.resume_value = None
            value = self._value if isinstance(self._value, int) else _int_range(self.param)[0]
            self.spin.setValue(value)
        set_special_look(self.spin, special)

    def value(self) -> Any:
        v = self.spin.value()
        if self._special and v == self.spin.minimum():
            return AUTO if self.param.is_inferred else None
        return v

    def commit_pending(self) -> None:
        if not self.spin._refuse_out_of_range():
            self.spin.interpretText()  # emits valueChanged, hence a commit, when the typed number is new


class _TextParamEditor(ParamEditor):
    """An editor whose value is parsed from typed text: a parse error is refused with its reason."""

    def commit_pending(self) -> None:
        try:
            value = self.value()
        except ValueError as exc:
            self._refuse(str(exc))
            return
        self._offer(value)


class FloatEditor(_TextParamEditor):
    def __init__(self, param: Param, parent: QWidget | None = None):
        super().__init__(param, parent)
        self.line = _LineEdit(self)
        self.line.setToolTip(param_tooltip(param))
        self.line.setPlaceholderText("none" if param.nullable else "a number, e.g. 0.5 or 1e-5")
        self.line.editingFinished.connect(self.commit_pending)
        self.line.escaped.connect(self._escape)
        self._add_input(self.line)
        self._finish_row()

    def _display(self) -> None:
        if self._auto:
            text = "auto" if self._inferred is None else f"auto ({format_value(self._inferred)})"
        elif self._value is None:
            text = "none" if self.param.nullable else ""
        else:
            text = format_float(self._value)
        special = self._auto or self._value is None
        self.line.setProperty("special", special)
        self.line.setText(text)
        self.line.setCursorPosition(0)
        set_special_look(self.line, special)

    def value(self) -> Any:
        """The typed value; raises ValueError with a reason when it is not a number."""
        text = self.line.text().strip()
        low = text.lower()
        if self.param.is_inferred and (not low or low.startswith("auto")):
            return AUTO
        if self.param.nullable and low in ("", "none"):
            return None
        if not text:
            raise ValueError(f"{self.param.name} needs a number, e.g. 0.5 or 1e-5")
        try:
            return float(text.replace("_", ""))
        except ValueError:
            shown = text if len(text) <= 20 else text[:19] + "…"
            raise ValueError(f"{self.param.name} must be a number like 0.5 or 1e-5, not {shown!r}") from None


class BoolEditor(ParamEditor):
    def __init__(self, param: Param, parent: QWidget | None = None):
        super().__init__(param, parent)
        self.check = QCheckBox(self)
        self.check.setToolTip(param_tooltip(param))
        self.check.toggled.connect(lambda on: self._offer(bool(on)))
        self._add_input(self.check)
        self._finish_row()

    def _display(self) -> None:
        self.check.setChecked(bool(self._value))

    def value(self) -> bool:
        return self.check.isChecked()


class ChoiceEditor(ParamEditor):
    def __init__(self, param: Param, parent: QWidget | None = None):
        super().__init__(param, parent)
        self.combo = _ComboBox(self)
        self.combo.setToolTip(param_tooltip(param))
        for choice in param.choices:
            self.combo.addItem(choice, choice)
        if param.nullable:
            self.combo.addItem("none", None)
        self.combo.currentIndexChanged.connect(lambda index: self._offer(self.combo.itemData(index)))
        self._add_input(self.combo)
        self._finish_row()

    def _display(self) -> None:
        index = self.combo.findData(self._value)
        self.combo.setCurrentIndex(max(index, 0) if self._value is not None or self.param.nullable else -1)

    def value(self) -> Any:
        return self.combo.currentData()


class IntTupleEditor(ParamEditor):
    """kernel_size and friends: one spin box, or one per dimension behind the "per dimension" toggle."""

    def __init__(self, param: Param, parent: QWidget | None = None):
        super().__init__(param, parent)
        self.length = param.length or 1
        lo, hi = _int_range(param)
        self._special = param.nullable
        self.spin = _SpinBox(self)
        self.spin.setRange(lo - 1 if self._special else lo, hi)
        if self._special:
            self.spin.setSpecialValueText("none")
        self.spin.setToolTip(param_tooltip(param))
        self.spin.valueChanged.connect(self._finished)
        self.spin.editingFinished.connect(self._finished)
        self.spin.escaped.connect(self._escape)
        self.spin.out_of_range.connect(self._out_of_range)
        self._add_input(self.spin)
        self.dims: list[_SpinBox] = []
        names = DIM_NAMES.get(self.length, tuple(str(i) for i in range(self.length)))
        for name in names if self.length > 1 else ():
            dim = _SpinBox(self)
            dim.setRange(lo, hi)
            dim.setPrefix(f"{name} ")
            dim.setButtonSymbols(QSpinBox.ButtonSymbols.NoButtons)  # compact: arrow keys and wheel still step
            dim.setMinimumWidth(40)
            dim.setToolTip(f"{param.name} along {name}")
            dim.valueChanged.connect(self._finished)
            dim.editingFinished.connect(self._finished)
            dim.escaped.connect(self._escape)
            dim.out_of_range.connect(self._out_of_range)
            dim.hide()
            self.dims.append(dim)
            self._add_input(dim)
        self.split_button = QToolButton(self)
        self.split_button.setCheckable(True)
        self.split_button.setAutoRaise(True)
        self.split_button.setIcon(_split_icon(self.palette().color(QPalette.ColorRole.WindowText)))
        self.split_button.setIconSize(QSize(14, 14))
        self.split_button.setToolTip(f"Set {param.name} separately for each dimension "
                                     f"({', '.join(names)})" if self.length > 1 else "")
        self.split_button.toggled.connect(self._split_toggled)
        self.split_button.setVisible(self.length > 1)
        self.field_row.addWidget(self.split_button)
        self._split_by_user = False
        self._finish_row()

    @property
    def per_dimension(self) -> bool:
        return self.split_button.isChecked()

    def _model_differs_per_dim(self) -> bool:
        return isinstance(self._value, list | tuple) and len(set(self._value)) > 1

    def _display(self) -> None:
        split = self.length > 1 and (self._split_by_user or self._model_differs_per_dim())
        self.split_button.blockSignals(True)
        self.split_button.setChecked(split)
        self.split_button.blockSignals(False)
        values = self._dim_values()
        if self._value is None and self._special:
            self.spin.setValue(self.spin.minimum())
        else:
            self.spin.setValue(values[0])
        for dim, v in zip(self.dims, values, strict=True):
            dim.setValue(v)
        self._show_mode(split)
        set_special_look(self.spin, self._value is None and self._special)

    def _dim_values(self) -> list[int]:
        lo = _int_range(self.param)[0]
        if self._value is None:
            return [max(lo, 1)] * self.length
        return [v if isinstance(v, int) else lo for v in _expand(self._value, self.length)]

    def _show_mode(self, split: bool) -> None:
        self.spin.setVisible(not split)
        for dim in self.dims:
            dim.setVisible(split)

    def commit_pending(self) -> None:
        for spin in [self.spin, *self.dims]:
            if spin.hasFocus() and not spin._refuse_out_of_range():
                spin.interpretText()

    def value(self) -> Any:
        if self.per_dimension:
            return [d.value() for d in self.dims]
        v = self.spin.value()
        return None if self._special and v == self.spin.minimum() else v

    def _split_toggled(self, on: bool) -> None:
        self._split_by_user = on
        if on:
            for dim in self.dims:
                dim.blockSignals(True)
            for dim, v in zip(self.dims, self._dim_values(), strict=True):
                dim.setValue(v)
            for dim in self.dims:
                dim.blockSignals(False)
            self._show_mode(True)
            self.dims[0].setFocus()
        else:
            self.spin.blockSignals(True)
            self.spin.setValue(self.dims[0].value())
            self.spin.blockSignals(False)
            self._show_mode(False)
            self._offer(self.value())  # back to one number for all dims


class IntListEditor(_TextParamEditor):
    """INT_LIST ("1, 28, 28") and INT_TUPLE of any length ("1" or "1, 2"), typed as text."""

    def __init__(self, param: Param, parent: QWidget | None = None):
        super().__init__(param, parent)
        self.line = _LineEdit(self)
        self.line.setToolTip(param_tooltip(param))
        if param.nullable:
            self.line.setPlaceholderText("none")
        elif param.kind is ParamKind.INT_LIST:
            self.line.setPlaceholderText("whole numbers, e.g. 4, 16")
        else:
            self.line.setPlaceholderText("e.g. 3 or 3, 5")
        self.line.editingFinished.connect(self.commit_pending)
        self.line.escaped.connect(self._escape)
        self._add_input(self.line)
        self._finish_row()

    def _display(self) -> None:
        if self._auto:
            text = "auto" if self._inferred is None else f"auto ({format_value(self._inferred)})"
        elif self._value is None:
            text = "none" if self.param.nullable else ""
        else:
            text = format_value(self._value)
        special = self._auto or (self._value is None and self.param.nullable)
        self.line.setProperty("special", special)
        self.line.setText(text)
        self.line.setCursorPosition(0)
        set_special_look(self.line, special)

    def value(self) -> Any:
        """The typed value; raises ValueError with a reason when it does not parse."""
        text = self.line.text().strip()
        low = text.lower()
        if self.param.is_inferred and (not low or low.startswith("auto")):
            return AUTO
        if self.param.nullable and low in ("", "none"):
            return None
        values = parse_ints(text, self.param.name)
        if self.param.kind is ParamKind.INT_LIST:
            return values
        if not values:
            raise ValueError(f"{self.param.name} needs a whole number, or several separated by commas")
        return values[0] if len(values) == 1 else values


class FixedEditor(ParamEditor):
    """A param LayerLoom forces (batch_first=True): its value, disabled, with the reason as tooltip."""

    def __init__(self, param: Param, parent: QWidget | None = None):
        super().__init__(param, parent)
        self.label = QLabel(self)
        self.label.setEnabled(False)
        self.label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.label.setToolTip(param.doc or "fixed in LayerLoom")
        self._add_input(self.label)
        self._finish_row()

    def _display(self) -> None:
        self.label.setText(f"{format_value(self.param.default)}  (fixed)")

    def _update_reset(self) -> None:
        self.reset_button.setVisible(False)


def _int_range(param: Param) -> tuple[int, int]:
    lo = INT_MIN if param.min is None else max(INT_MIN, math.ceil(param.min))
    hi = INT_MAX if param.max is None else min(INT_MAX, math.floor(param.max))
    return lo, hi


def editor_for(param: Param, parent: QWidget | None = None) -> ParamEditor:
    """The editor widget for one param, chosen by its kind."""
    if param.fixed:
        return FixedEditor(param, parent)
    kind = param.kind
    if kind is ParamKind.INT:
        return IntEditor(param, parent)
    if kind is ParamKind.FLOAT:
        return FloatEditor(param, parent)
    if kind is ParamKind.BOOL:
        return BoolEditor(param, parent)
    if kind is ParamKind.CHOICE:
        return ChoiceEditor(param, parent)
    if kind is ParamKind.INT_TUPLE and param.length is not None and not param.is_inferred:
        return IntTupleEditor(param, parent)
    if kind in (ParamKind.INT_TUPLE, ParamKind.INT_LIST):
        return IntListEditor(param, parent)
    raise AssertionError(f"no editor for param kind {kind}")


__all__ = [
    "BoolEditor",
    "ChoiceEditor",
    "FixedEditor",
    "FloatEditor",
    "IntEditor",
    "IntListEditor",
    "IntTupleEditor",
    "ParamEditor",
    "editor_for",
    "format_float",
    "format_value",
    "param_tooltip",
]
