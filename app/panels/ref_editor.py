"""The param editor used inside a block definition: a value, or a reference to the block's params.

Inside a definition a layer param may be a number or a `$` expression over the block's params (`$channels`,
`$width * 4`; graph_engine/blocks/refs.py), so numeric params (and any param that already holds a reference)
get one text field that takes either. What a reference currently resolves to (for the instance the
definition was entered through) is shown after it, dimmed, and in the tooltip.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QWidget

from app.panels.param_editors import _LineEdit, _TextParamEditor, format_value, param_tooltip, parse_ints
from graph_engine.blocks import refs
from graph_engine.catalog.spec import Param, ParamKind
from graph_engine.params import AUTO

REF_KINDS = (ParamKind.INT, ParamKind.FLOAT, ParamKind.INT_TUPLE, ParamKind.INT_LIST)


def wants_ref_editor(param: Param, value: Any) -> bool:
    """Whether a param of a layer inside a definition is edited as value-or-reference text."""
    return not param.fixed and (param.kind in REF_KINDS or refs.is_ref(value))


class RefEditor(_TextParamEditor):
    def __init__(self, param: Param, parent: QWidget | None = None):
        super().__init__(param, parent)
        self.line = _LineEdit(self)
        self.line.setPlaceholderText("a value, or $param of the block")
        self.line.setToolTip(param_tooltip(param) + "<br>Inside a block: a value, or a block param such as "
                             "<code>$channels</code> or <code>$width * 4</code>")
        self.line.editingFinished.connect(self.commit_pending)
        self.line.escaped.connect(self._escape)
        self._add_input(self.line)
        self._finish_row()

    def _display(self) -> None:
        if refs.is_ref(self._value):
            text = self._value if isinstance(self._value, str) else ", ".join(str(v) for v in self._value)
            self.line.setToolTip(f"{text} = {format_value(self._inferred)} for this instance"
                                 if self._inferred is not None else text)
        elif self._auto:
            text = "auto" if self._inferred is None else f"auto ({format_value(self._inferred)})"
        elif self._value is None:
            text = "none" if self.param.nullable else ""
        else:
            text = format_value(self._value)
        self.line.setText(text)
        self.line.setCursorPosition(0)

    def value(self) -> Any:
        """The typed value or reference; raises ValueError with a reason when it is neither."""
        text = self.line.text().strip()
        low = text.lower()
        if text.startswith("$"):
            try:
                refs.parse(text)
            except refs.RefError as exc:
                raise ValueError(str(exc)) from None
            return text
        if self.param.is_inferred and (not low or low.startswith("auto")):
            return AUTO
        if self.param.nullable and low in ("", "none"):
            return None
        kind = self.param.kind
        try:
            if kind is ParamKind.INT:
                return int(text)
            if kind is ParamKind.FLOAT:
                return float(text)
            if kind is ParamKind.BOOL:
                if low in ("on", "true", "yes", "1"):
                    return True
                if low in ("off", "false", "no", "0"):
                    return False
                raise ValueError
        except ValueError:
            raise ValueError(f"{self.param.name} needs a {kind.value.replace('_', ' ')} or a $param of the "
                             "block") from None
        if kind is ParamKind.CHOICE:
            if text not in self.param.choices:
                raise ValueError(f"{self.param.name} is one of {', '.join(self.param.choices)}, or a $param")
            return text
        values = parse_ints(text, self.param.name)
        if kind is ParamKind.INT_LIST:
            return values
        if not values:
            raise ValueError(f"{self.param.name} needs a whole number, or several separated by commas")
        return values[0] if len(values) == 1 else values
