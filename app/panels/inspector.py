"""The inspector: the selected layer's name, type, tensors, counts, problems and one editor per param.

Editors come from `param_editors.editor_for`, chosen by each param's kind in the spec. Every committed edit
is one `Document.set_param` call (one undo step); a refused edit shows the reason under its editor and the
editor goes back to the model's value. The panel follows the model (`bridge.node_changed`,
`document.checked`) by updating the values in place, so focus stays where the user left it; the editors are
rebuilt only when another layer is selected.
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QFont, QKeyEvent, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.document import EditRefused
from app.panels.diagnostics import names_for, sentence_case, severity_icon
from app.panels.palette import category_swatch
from app.panels.param_editors import ParamEditor, editor_for, muted_color, param_tooltip
from app.panels.ref_editor import RefEditor, wants_ref_editor
from app.panels.status_info import format_count
from app.theme import ERROR_COLOR
from graph_engine.blocks import refs
from graph_engine.blocks.resolve import spec_for
from graph_engine.catalog.spec import REQUIRED, Param
from graph_engine.graph import Node
from graph_engine.params import AUTO, validate_value
from graph_engine.validation import CheckResult, Diagnostic

PORT_OPS = ("Input", "Output", "BlockInput", "BlockOutput")  # nothing to train: no trainable box


class _IdEdit(QLineEdit):
    escaped = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.escaped.emit()
            event.accept()
        else:
            super().keyPressEvent(event)


def _muted_label(text: str = "", parent: QWidget | None = None, wrap: bool = True) -> QLabel:
    label = QLabel(text, parent)
    label.setWordWrap(wrap)
    label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
    return label


def section_header(title: str, parent: QWidget | None = None) -> QWidget:
    """A small upper-case heading with a rule, separating groups (the inspector's and the training panel's)."""
    box = QWidget(parent)
    row = QHBoxLayout(box)
    row.setContentsMargins(0, 10, 0, 2)
    row.setSpacing(8)
    label = _muted_label(title.upper(), box, wrap=False)
    font = QFont(label.font())
    font.setBold(True)
    font.setPointSizeF(font.pointSizeF() * 0.85)
    font.setLetterSpacing(QFont.SpacingType.PercentageSpacing, 108)
    label.setFont(font)
    line = QFrame(box)
    line.setFrameShape(QFrame.Shape.HLine)
    line.setFrameShadow(QFrame.Shadow.Plain)
    line.setForegroundRole(QPalette.ColorRole.Mid)
    line.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
    row.addWidget(label)
    row.addWidget(line, 1)
    return box


def _error_palette(label: QLabel) -> None:
    palette = label.palette()
    palette.setColor(QPalette.ColorRole.WindowText, ERROR_COLOR)
    label.setPalette(palette)


class InspectorPanel(QWidget):
    """Shows and edits the one selected layer; an empty state when none or several are selected.

    Attributes for the main window and tests: `node_id` (the layer shown or None), `editors` (param name ->
    ParamEditor), `id_edit` and `id_message`. Methods: `refresh()`, `focus_param(name)`, `focus_name()`.
    """

    def __init__(self, document, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = document
        self.node_id: str | None = None
        self._node: Node | None = None
        self.editors: dict[str, ParamEditor] = {}
        self.trainable_box: QCheckBox | None = None
        self._id_error = ""
        self._id_note = ""
        self._content: QWidget | None = None

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.stack = QStackedWidget(self)
        outer.addWidget(self.stack)

        self.empty_label = _muted_label("", self)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setMargin(24)
        self.stack.addWidget(self.empty_label)

        self.scroll = QScrollArea(self)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.stack.addWidget(self.scroll)

        document.selection_changed.connect(self._on_selection)
        document.checked.connect(self._on_checked)
        document.read_only_changed.connect(self._on_read_only)
        document.bridge.node_changed.connect(self._on_node_changed)
        document.bridge.node_renamed.connect(self._on_node_renamed)
        document.bridge.definitions_changed.connect(self._on_definitions_changed)
        self.block_edit: _IdEdit | None = None
        self._block_error = ""
        self._on_selection(document.selection)

    # ---- public API --------------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Show the model's current values, shapes, counts and problems for the shown layer."""
        if self._node is None or self.node_id not in self.document.graph:
            return
        self._update_header()
        self._update_values()
        self._update_info()

    def focus_param(self, name: str) -> None:
        editor = self.editors.get(name)
        if editor is not None:
            self.scroll.ensureWidgetVisible(editor)
            editor.focus_field()

    def focus_name(self) -> None:
        if self._node is not None:
            self.id_edit.setFocus(Qt.FocusReason.OtherFocusReason)
            self.id_edit.selectAll()

    # ---- following the model -----------------------------------------------------------------------------

    def _on_selection(self, ids: list[str]) -> None:
        graph = self.document.graph
        if len(ids) == 1 and ids[0] in graph:
            node = graph.node(ids[0])
            if node is self._node:  # the same layer under a new name: keep the editors (and focus)
                self.node_id = node.id
                self._update_header()
                return
            self._flush()
            self._show_node(node)
        else:
            self._flush()
            self._show_empty(len(ids))

    def _on_node_renamed(self, old: str, new: str) -> None:
        if self._node is not None and self._node.id == new and self.node_id in (old, new):
            self.node_id = new
            self._update_header()

    def _on_node_changed(self, node_id: str) -> None:
        if node_id == self.node_id and self._node is not None:
            self._update_values()

    def _on_checked(self, result: CheckResult) -> None:
        if self._node is not None and self.node_id in self.document.graph:
            self.refresh()

    def _on_read_only(self, read_only: bool) -> None:
        if self._node is not None:
            self._apply_read_only()

    def _flush(self) -> None:
        """Commit a half-typed value before the editors go away (unless its layer is gone)."""
        if self._node is None or self.document.graph.nodes.get(self.node_id) is not self._node:
            return
        focus = QApplication.focusWidget()
        if focus is None or not self.isAncestorOf(focus):
            return
        if focus is self.id_edit:
            self._commit_rename()
            return
        if self.block_edit is not None and focus is self.block_edit:
            self._commit_block_rename()
            return
        for editor in self.editors.values():
            if editor.isAncestorOf(focus):
                editor.commit_pending()

    # ---- building ----------------------------------------------------------------------------------------

    def _show_empty(self, count: int) -> None:
        self._clear_content()
        if count == 0:
            self.empty_label.setText("Select a layer on the canvas to see its shapes and edit its parameters.")
        else:
            self.empty_label.setText(f"{count} layers selected.\nSelect a single layer to edit it.")
        self.stack.setCurrentWidget(self.empty_label)

    def _clear_content(self) -> None:
        self.block_edit = None
        self.trainable_box = None
        self._node = None
        self.node_id = None
        self.editors = {}
        old = self.scroll.takeWidget()
        if old is not None:
            old.hide()
            old.deleteLater()  # not now: a signal from one of its editors may be on the stack

    def _show_node(self, node: Node) -> None:
        self._clear_content()
        self._node = node
        self.node_id = node.id
        spec = spec_for(self.document.graph, node)
        content = QWidget()
        content.setObjectName("inspectorContent")
        layout = QVBoxLayout(content)
        layout.setContentsMargins(10, 8, 10, 10)
        layout.setSpacing(4)

        # Header: the op with its category colour, then the editable name.
        title = QHBoxLayout()
        title.setSpacing(6)
        self.swatch = QLabel(content)
        title.addWidget(self.swatch)
        self.op_label = QLabel(content)
        font = QFont(self.op_label.font())
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.2)
        self.op_label.setFont(font)
        self.op_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        title.addWidget(self.op_label)
        self.category_label = _muted_label("", content, wrap=False)
        title.addWidget(self.category_label)
        title.addStretch(1)
        layout.addLayout(title)

        self.doc_label = _muted_label("", content)
        self.doc_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.doc_label)

        name_form = QFormLayout()
        name_form.setContentsMargins(0, 6, 0, 0)
        name_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.id_edit = _IdEdit(content)
        self.id_edit.setToolTip("The layer's name: its attribute in the generated code (letters, digits and _)")
        self.id_edit.editingFinished.connect(self._commit_rename)
        self.id_edit.escaped.connect(self._revert_rename)
        self.id_message = QLabel(content)
        self.id_message.setWordWrap(True)
        _error_palette(self.id_message)
        self.id_message.hide()
        id_box = QWidget(content)
        id_layout = QVBoxLayout(id_box)
        id_layout.setContentsMargins(0, 0, 0, 0)
        id_layout.setSpacing(2)
        id_layout.addWidget(self.id_edit)
        id_layout.addWidget(self.id_message)
        name_form.addRow("Name", id_box)
        self.block_edit = None
        if node.op == "Block" and node.block in self.document.project.blocks:
            name_form.addRow("Block", self._block_row(node, content))
        self.trainable_box = None
        if node.op not in PORT_OPS:
            self.trainable_box = QCheckBox("trainable", content)
            self.trainable_box.setToolTip("Untick to freeze the layer: training leaves its weights (and a "
                                          "BatchNorm's running statistics) as they are, e.g. a pretrained "
                                          "backbone while a new head learns. A frozen block freezes everything "
                                          "inside it.")
            self.trainable_box.setChecked(node.trainable)
            self.trainable_box.toggled.connect(self._commit_trainable)
            name_form.addRow("Training", self.trainable_box)
        layout.addLayout(name_form)

        # Tensors and counts.
        layout.addWidget(section_header("Tensors", content))
        info = QFormLayout()
        info.setHorizontalSpacing(12)
        info.setVerticalSpacing(3)
        self.inputs_label = self._value_label(content)
        self.outputs_label = self._value_label(content)
        self.params_label = self._value_label(content)
        self.flops_label = self._value_label(content)
        info.addRow(_muted_label("Input", content, wrap=False), self.inputs_label)
        info.addRow(_muted_label("Output", content, wrap=False), self.outputs_label)
        info.addRow(_muted_label("Parameters", content, wrap=False), self.params_label)
        info.addRow(_muted_label("FLOPs", content, wrap=False), self.flops_label)
        layout.addLayout(info)

        # Params, one editor each.
        layout.addWidget(section_header("Parameters", content))
        self.read_only_label = _muted_label("Parameters cannot be changed while the network is training.",
                                            content)
        layout.addWidget(self.read_only_label)
        params = [p for p in spec.params if not p.fixed] if spec is not None else []
        fixed = [p for p in spec.params if p.fixed] if spec is not None else []
        if params:
            form = QFormLayout()
            form.setHorizontalSpacing(10)
            form.setVerticalSpacing(5)
            form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
            form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)  # narrow docks: field under label
            inside = self.document.current_block is not None
            for param in params:
                if inside and wants_ref_editor(param, node.params.get(param.name)):
                    editor = RefEditor(param, content)  # a value or a $reference to the block's params
                else:
                    editor = editor_for(param, content)
                editor.committed.connect(lambda value, name=param.name: self._commit_param(name, value))
                label = QLabel(param.name, content)
                label.setToolTip(param_tooltip(param))
                label.setBuddy(editor.primary_input)
                form.addRow(label, editor)
                self.editors[param.name] = editor
            layout.addLayout(form)
        elif spec is not None:
            layout.addWidget(_muted_label(f"{spec.op} has no parameters to set.", content))
        else:
            stored = ", ".join(f"{k} = {v!r}" for k, v in node.params.items()) or "none"
            layout.addWidget(_muted_label(f"Choose a known layer type to edit its parameters. "
                                          f"Stored in the file: {stored}", content))
        for param in fixed:
            note = _muted_label(f"{param.name} = {param.default!r}: {param.doc}", content)
            note.setToolTip("Fixed in LayerLoom; not editable")
            layout.addWidget(note)

        # Problems the last check found on this layer.
        self.problems_section = section_header("Problems", content)
        layout.addWidget(self.problems_section)
        self.problems_box = QVBoxLayout()
        self.problems_box.setSpacing(6)
        layout.addLayout(self.problems_box)
        layout.addStretch(1)

        self._content = content
        self.scroll.setWidget(content)
        self.stack.setCurrentWidget(self.scroll)
        self.refresh()
        self._apply_read_only()

    def _value_label(self, parent: QWidget) -> QLabel:
        label = QLabel(parent)
        label.setTextFormat(Qt.TextFormat.RichText)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        label.setWordWrap(True)
        return label

    # ---- updating ----------------------------------------------------------------------------------------

    def _update_header(self) -> None:
        node = self._node
        spec = spec_for(self.document.graph, node)
        category = spec.category if spec is not None else ""
        self.swatch.setPixmap(category_swatch(category, 14, 3.5).pixmap(QSize(14, 14), self.devicePixelRatioF()))
        self.op_label.setText(node.op)
        self.category_label.setText(category or "unknown layer type")
        self.doc_label.setText(spec.doc if spec is not None else "LayerLoom does not know this layer type; "
                               "see the problem below for the closest known one.")
        if not self.id_edit.hasFocus() or self.id_edit.text() == self.node_id:
            self.id_edit.setText(self.node_id)

    def _model_state(self, param: Param, raw: dict[str, Any], resolved: dict[str, Any]) -> tuple[Any, bool, Any]:
        """(value to show, on auto, inferred value) for one param from the node's stored params."""
        given = param.name in raw and raw[param.name] != AUTO
        auto = param.is_inferred and not given
        default = None if param.default is REQUIRED else param.default
        value = raw[param.name] if given else default
        if given and not refs.is_ref(value) and validate_value(param, value) is not None:
            value = default  # a bad value from a file: the editor shows the default, the problem says why
        inferred = resolved.get(param.name) if param.is_inferred or (given and refs.is_ref(value)) else None
        return value, auto, inferred

    def _update_values(self) -> None:
        node = self._node
        if self.trainable_box is not None and self.trainable_box.isChecked() != node.trainable:
            self.trainable_box.blockSignals(True)
            self.trainable_box.setChecked(node.trainable)
            self.trainable_box.blockSignals(False)
        info = self.document.view_result.nodes.get(node.id)
        resolved = info.params if info is not None else {}
        spec = spec_for(self.document.graph, node)
        if spec is None:
            return
        if set(self.editors) != {p.name for p in spec.params if not p.fixed}:
            # A block instance whose definition gained or lost a block param: editors for the params it has now.
            self._show_node(node)
            return
        for name, editor in self.editors.items():
            value, auto, inferred = self._model_state(spec.param(name), node.params, resolved)
            editor.show_value(value, auto=auto, inferred=inferred)

    def _update_info(self) -> None:
        result = self.document.view_result
        info = result.nodes.get(self.node_id)
        spec = spec_for(self.document.graph, self._node)
        muted = muted_color(self.palette()).name()

        def note(text: str) -> str:
            return f"<span style='color:{muted}'>{text}</span>"

        connected = bool(self.document.graph.in_edges(self.node_id))
        if spec is not None and not spec.inputs:
            self.inputs_label.setText(note("none: data enters here"))
        elif info is not None and info.inputs:
            self.inputs_label.setText(self._ports_text(
                [spec.input_port_name(i) if spec else str(i) for i in range(len(info.inputs))], info.inputs))
        else:
            self.inputs_label.setText(note("unknown" if connected else "not connected"))
        if spec is not None and not spec.outputs:
            self.outputs_label.setText(note("none: the network returns its input"))
        elif info is not None and info.outputs is not None:
            self.outputs_label.setText(self._ports_text([p.name for p in spec.outputs], info.outputs))
        else:
            self.outputs_label.setText(note("unknown until the problems are fixed"))
        known = info is not None and info.outputs is not None
        params = info.param_count if known else None
        flops = info.flops if known else None
        self.params_label.setText(format_count(params) if params is not None else "—")
        frozen = not self._node.trainable
        if params is not None and frozen:
            self.params_label.setText(f"{format_count(params)} {note('frozen')}")
        self.params_label.setToolTip("" if params is None else
                                     f"{params:,} {'frozen (not trained)' if frozen else 'trainable'} parameters")
        self.flops_label.setText(f"{format_count(flops)} <span style='color:{muted}'>per sample</span>"
                                 if flops is not None else "—")
        self.flops_label.setToolTip(f"{flops:,} floating-point operations per sample" if flops is not None else "")
        self._update_problems(result.for_node(self.node_id))

    def _ports_text(self, names: list[str], types) -> str:
        muted = muted_color(self.palette()).name()
        if len(types) == 1:
            return f"<b>{types[0] if types[0] is not None else '?'}</b>"
        return "<br>".join(f"<span style='color:{muted}'>{name}</span> <b>{t if t is not None else '?'}</b>"
                           for name, t in zip(names, types, strict=False))

    def _update_problems(self, diagnostics: list[Diagnostic]) -> None:
        while self.problems_box.count():
            item = self.problems_box.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        # A problem with one param is shown under its editor; the others get a row in the Problems section.
        notes: dict[str, str] = {}
        listed = 0
        for d in diagnostics:
            if d.field and (d.field in self.editors or d.field == "id"):
                text = d.message + (f"; {d.hint}" if d.hint else "")
                notes[d.field] = f"{notes[d.field]}\n{text}" if d.field in notes else text
                continue
            self.problems_box.addWidget(self._problem_row(d))
            listed += 1
        self.problems_section.setVisible(bool(listed))
        for name, editor in self.editors.items():
            editor.set_note(notes.get(name, ""))
        self._id_note = notes.get("id", "")
        self._update_id_message()

    def _problem_row(self, d: Diagnostic) -> QWidget:
        row = QWidget(self._content)
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        icon = QLabel(row)
        icon.setPixmap(severity_icon(d.severity).pixmap(QSize(14, 14), self.devicePixelRatioF()))
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        icon.setContentsMargins(0, 2, 0, 0)
        layout.addWidget(icon)
        muted = muted_color(self.palette()).name()
        names = names_for(self.document.graph, d.node_id)
        hint = (f"<br><span style='color:{muted}'>{html.escape(sentence_case(d.hint, names))}</span>"
                if d.hint else "")
        text = QLabel(html.escape(sentence_case(d.message, names)) + hint, row)
        text.setTextFormat(Qt.TextFormat.RichText)
        text.setWordWrap(True)
        text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(text, 1)
        return row

    def _apply_read_only(self) -> None:
        read_only = self.document.read_only
        self.id_edit.setReadOnly(read_only)
        if self.trainable_box is not None:
            self.trainable_box.setEnabled(not read_only)
        for editor in self.editors.values():
            editor.setEnabled(not read_only)
        self.read_only_label.setVisible(read_only)

    # ---- edits -------------------------------------------------------------------------------------------

    def _commit_trainable(self, checked: bool) -> None:
        if self.node_id not in self.document.graph:
            return
        try:
            self.document.set_trainable([self.node_id], checked)
        except EditRefused:
            self._update_values()

    def _commit_param(self, name: str, value: Any) -> None:
        editor = self.editors.get(name)
        if editor is None or self.node_id not in self.document.graph:
            return
        try:
            self.document.set_param(self.node_id, name, value)
        except EditRefused as exc:
            editor.show_error(str(exc))
            editor.revert()
        else:
            editor.clear_error()
            self._update_values()  # a no-op edit ("3" for 3) emits nothing: show the model's form anyway

    # ---- an instance's block name (renames the definition: every instance follows) ------------------------

    def _block_row(self, node: Node, content: QWidget) -> QWidget:
        self.block_edit = _IdEdit(content)
        self.block_edit.setObjectName("blockNameEdit")
        self.block_edit.setText(node.block)
        self.block_edit.setToolTip("The block's name (CamelCase): its class in the generated code. Renaming it "
                                   "renames the block for every instance")
        self.block_edit.editingFinished.connect(self._commit_block_rename)
        self.block_edit.escaped.connect(self._show_block_name)
        self.block_message = QLabel(content)
        self.block_message.setWordWrap(True)
        _error_palette(self.block_message)
        self.block_message.hide()
        box = QWidget(content)
        box_layout = QVBoxLayout(box)
        box_layout.setContentsMargins(0, 0, 0, 0)
        box_layout.setSpacing(2)
        box_layout.addWidget(self.block_edit)
        box_layout.addWidget(self.block_message)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 2, 0, 0)
        self.enter_button = QPushButton("Enter block", content)
        self.enter_button.setToolTip("Show and edit the block's layers (double-click the card, or Tab); every "
                                     "instance follows")
        self.enter_button.clicked.connect(lambda: self._block_action(self.document.enter_block))
        self.unique_button = QPushButton("Make unique", content)
        shared = len(self.document.project.blocks.instances(node.block))
        self.unique_button.setToolTip(f"Give {node.id} its own copy of {node.block}, so editing it leaves the "
                                      f"other {shared - 1} instance(s) alone" if shared > 1 else
                                      f"{node.id} is the only instance of {node.block}; a copy would change nothing")
        self.unique_button.setEnabled(shared > 1)
        self.unique_button.clicked.connect(lambda: self._block_action(self.document.make_unique))
        buttons.addWidget(self.enter_button)
        buttons.addWidget(self.unique_button)
        buttons.addStretch(1)
        box_layout.addLayout(buttons)
        self._block_error = ""
        return box

    def _block_action(self, action) -> None:
        if self._node is None or self.node_id not in self.document.graph:
            return
        try:
            action(self.node_id)
        except EditRefused as exc:
            self._block_error = sentence_case(str(exc))
            self._show_block_name()

    def _commit_block_rename(self) -> None:
        if self._node is None or self.block_edit is None or self._node.block is None:
            return
        try:
            self.document.rename_block(self._node.block, self.block_edit.text())
        except EditRefused as exc:
            self._block_error = sentence_case(str(exc))
        else:
            self._block_error = ""
        self._show_block_name()

    def _show_block_name(self) -> None:
        if self.block_edit is None or self._node is None:
            return
        if self.block_edit.text() != self._node.block:
            self.block_edit.setText(self._node.block or "")
        self.block_message.setText(self._block_error)
        self.block_message.setVisible(bool(self._block_error))

    @property
    def block_error(self) -> str:
        """The reason the last block rename was refused ("" after an accepted one)."""
        return self._block_error

    def _on_definitions_changed(self) -> None:
        if self._node is not None and self.block_edit is not None:
            self._block_error = ""
            self._show_block_name()
            self.unique_button.setEnabled(len(self.document.project.blocks.instances(self._node.block)) > 1)
            self._update_header()

    def _commit_rename(self) -> None:
        if self._node is None or self.node_id not in self.document.graph:
            return
        new_id = self.id_edit.text().strip()
        if new_id == self.node_id:
            self.id_edit.setText(self.node_id)
            self._id_error = ""
            self._update_id_message()
            return
        try:
            self.document.rename(self.node_id, new_id)
        except EditRefused as exc:
            self._id_error = sentence_case(str(exc))
            self.id_edit.setText(self.node_id)
        else:
            self._id_error = ""
        self._update_id_message()

    def _revert_rename(self) -> None:
        self._id_error = ""
        self.id_edit.setText(self.node_id or "")
        self._update_id_message()

    def _update_id_message(self) -> None:
        text = self._id_error or self._id_note
        self.id_message.setText(text)
        self.id_message.setVisible(bool(text))

    @property
    def id_error(self) -> str:
        """The reason the last rename was refused ("" after an accepted one)."""
        return self._id_error
