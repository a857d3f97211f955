"""The side panels driven through their real widgets (offscreen, pytest-qt): palette, inspector with its
generated editors, diagnostics, code view, highlighter and status bar read-out."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QTextDocument

from app.document import Document
from app.panels import (
    OP_MIME_TYPE,
    CodeViewPanel,
    DiagnosticsPanel,
    InspectorPanel,
    PalettePanel,
    PythonHighlighter,
    StatusInfo,
    format_bytes,
    format_count,
    op_from_mime,
)
from app.panels.palette import BLOCK_MIME_TYPE, CATEGORY_ROLE, HIDDEN_OPS, OP_ROLE
from app.panels.param_editors import (
    BoolEditor,
    ChoiceEditor,
    FloatEditor,
    IntEditor,
    IntListEditor,
    IntTupleEditor,
)
from graph_engine.catalog import CATALOG, CATEGORIES, specs_in
from graph_engine.graph import Edge
from graph_engine.templates import load_template
from graph_engine.validation import estimated_memory_bytes


@pytest.fixture
def doc(qtbot):
    document = Document(load_template("lenet5"))
    yield document
    document.close()


def _panel(qtbot, widget, size=(360, 700)):
    qtbot.addWidget(widget)
    widget.resize(*size)
    widget.show()
    return widget


def _settle(qtbot, document):
    """Let the document's coalesced check run."""
    document.recheck()
    qtbot.wait(1)


def _commands(document) -> int:
    return document.undo_stack.count()


# ---- palette ---------------------------------------------------------------------------------------------


def test_palette_lists_every_op_grouped_by_category(qtbot, doc):
    palette = _panel(qtbot, PalettePanel(doc))
    tree = palette.tree
    assert [tree.topLevelItem(i).data(0, CATEGORY_ROLE) for i in range(tree.topLevelItemCount())] == list(CATEGORIES)
    for i, category in enumerate(CATEGORIES):
        header = tree.topLevelItem(i)
        assert header.data(0, OP_ROLE) is None
        assert [header.child(j).data(0, OP_ROLE) for j in range(header.childCount())  # blocks have no op
                if header.child(j).data(0, OP_ROLE)] == [
            s.op for s in specs_in(category) if s.op not in HIDDEN_OPS]
    assert sorted(palette.visible_ops()) == sorted(op for op in CATALOG if op not in HIDDEN_OPS)
    assert "Block" not in palette.visible_ops()  # a bare Block names no definition
    conv = palette.item_for_op("Conv2d")
    assert "Slides small learned filters" in conv.toolTip(0)
    assert not conv.icon(0).isNull()


def test_palette_search_filters_by_name_keyword_and_category(qtbot, doc):
    palette = _panel(qtbot, PalettePanel(doc))
    qtbot.keyClicks(palette.search_edit, "conv")
    shown = set(palette.visible_ops())
    assert {"Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d"} <= shown
    assert "Linear" not in shown and "ReLU" not in shown
    assert palette.category_item("Convolution").isExpanded()
    assert palette.category_item("Activation").isHidden()
    assert palette.current_op() in shown  # Enter in the search box adds the highlighted match

    palette.set_filter("DENSE")  # keyword, case-insensitive
    assert "Linear" in palette.visible_ops()
    assert "Conv2d" not in palette.visible_ops()

    palette.set_filter("pooling")  # category
    assert {s.op for s in specs_in("Pooling")} <= set(palette.visible_ops())

    palette.set_filter("no such layer at all")
    assert palette.visible_ops() == []
    assert palette.no_match.isVisibleTo(palette)

    palette.search_edit.clear()
    assert sorted(palette.visible_ops()) == sorted(op for op in CATALOG if op not in HIDDEN_OPS)
    assert all(palette.category_item(c).isExpanded() for c in CATEGORIES)


def test_palette_drag_carries_the_op_name(qtbot, doc):
    palette = _panel(qtbot, PalettePanel(doc))
    mime = palette.mime_data_for("Conv2d")
    assert bytes(mime.data(OP_MIME_TYPE).data()) == b"Conv2d"
    assert op_from_mime(mime) == "Conv2d"
    item = palette.item_for_op("MaxPool2d")
    assert palette.tree.mimeTypes() == [OP_MIME_TYPE, BLOCK_MIME_TYPE]
    from_tree = palette.tree.mimeData([item])
    assert bytes(from_tree.data(OP_MIME_TYPE).data()).decode("utf-8") == "MaxPool2d"
    assert item.flags() & Qt.ItemFlag.ItemIsDragEnabled
    assert not palette.category_item("Pooling").flags() & Qt.ItemFlag.ItemIsDragEnabled
    assert palette.tree.mimeData([palette.category_item("Pooling")]) is None


def test_palette_double_click_and_enter_request_the_op(qtbot, doc):
    palette = _panel(qtbot, PalettePanel(doc))
    tree = palette.tree
    item = palette.item_for_op("Dropout")
    tree.scrollToItem(item)
    center = tree.visualItemRect(item).center()
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=center)
    with qtbot.waitSignal(palette.op_requested, timeout=1000) as blocker:
        qtbot.mouseDClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=center)
    assert blocker.args == ["Dropout"]
    assert "Dropout" in palette.description.toPlainText()

    tree.setCurrentItem(palette.item_for_op("ReLU"))
    with qtbot.waitSignal(palette.op_requested, timeout=1000) as blocker:
        qtbot.keyClick(tree, Qt.Key.Key_Return)
    assert blocker.args == ["ReLU"]

    palette.focus_search()
    qtbot.keyClicks(palette.search_edit, "lstm")
    with qtbot.waitSignal(palette.op_requested, timeout=1000) as blocker:
        qtbot.keyClick(palette.search_edit, Qt.Key.Key_Return)
    assert blocker.args == ["LSTM"]


# ---- inspector -------------------------------------------------------------------------------------------


def test_inspector_empty_states(qtbot, doc):
    inspector = _panel(qtbot, InspectorPanel(doc))
    assert inspector.node_id is None
    assert "Select a layer" in inspector.empty_label.text()
    doc.set_selection(["fc1", "fc2"])
    assert inspector.node_id is None
    assert "2 layers selected" in inspector.empty_label.text()
    doc.set_selection(["fc1"])
    assert inspector.node_id == "fc1"
    assert inspector.stack.currentWidget() is inspector.scroll


def test_inspector_generates_an_editor_per_param_kind(qtbot, doc):
    inspector = _panel(qtbot, InspectorPanel(doc))
    doc.set_selection(["conv1"])
    editors = inspector.editors
    assert isinstance(editors["in_channels"], IntEditor)
    assert isinstance(editors["out_channels"], IntEditor)
    assert isinstance(editors["kernel_size"], IntTupleEditor)
    assert isinstance(editors["bias"], BoolEditor)
    assert isinstance(editors["padding_mode"], ChoiceEditor)
    assert editors["out_channels"].spin.value() == 6
    assert editors["out_channels"].spin.maximum() == 1048576
    assert editors["kernel_size"].spin.value() == 5
    assert editors["padding_mode"].combo.currentText() == "zeros"
    assert editors["bias"].check.isChecked()
    assert "[6, 28, 28]" in inspector.outputs_label.text()
    assert inspector.params_label.text() == "156"

    doc.set_selection(["image"])
    assert isinstance(inspector.editors["shape"], IntListEditor)
    assert inspector.editors["shape"].line.text() == "1, 28, 28"

    node = doc.add_node("LSTM", (0, 0))
    assert inspector.node_id == node
    assert "batch_first" not in inspector.editors  # fixed: not editable
    node = doc.add_node("Dropout", (0, 0))
    assert isinstance(inspector.editors["p"], FloatEditor)


def test_setting_an_int_through_the_editor_is_one_undo_step(qtbot, doc):
    inspector = _panel(qtbot, InspectorPanel(doc))
    doc.set_selection(["fc1"])
    spin = inspector.editors["out_features"].spin
    before = _commands(doc)
    spin.selectAll()
    qtbot.keyClicks(spin, "100")
    assert doc.graph.node("fc1").params["out_features"] == 120  # nothing per keystroke
    qtbot.keyClick(spin, Qt.Key.Key_Return)
    assert doc.graph.node("fc1").params["out_features"] == 100
    assert _commands(doc) == before + 1
    spin.editingFinished.emit()  # focus leaving again commits nothing new
    assert _commands(doc) == before + 1
    _settle(qtbot, doc)
    assert "[100]" in inspector.outputs_label.text()
    doc.undo_stack.undo()
    assert doc.graph.node("fc1").params["out_features"] == 120
    assert spin.value() == 120


def test_setting_floats_tuples_choices_and_bools(qtbot, doc):
    inspector = _panel(qtbot, InspectorPanel(doc))
    node = doc.add_node("BatchNorm2d", (0, 0))
    line = inspector.editors["eps"].line
    assert line.text() == "1e-05"
    line.selectAll()
    qtbot.keyClicks(line, "1e-3")
    qtbot.keyClick(line, Qt.Key.Key_Return)
    assert doc.graph.node(node).params["eps"] == pytest.approx(1e-3)

    doc.set_selection(["conv1"])
    kernel = inspector.editors["kernel_size"]
    kernel.split_button.click()  # reveals H and W without changing the model
    assert doc.graph.node("conv1").params["kernel_size"] == 5
    before = _commands(doc)
    kernel.dims[1].setValue(3)
    assert doc.graph.node("conv1").params["kernel_size"] == [5, 3]
    assert _commands(doc) == before + 1
    combo = inspector.editors["padding_mode"].combo
    combo.setCurrentIndex(combo.findText("reflect"))
    assert doc.graph.node("conv1").params["padding_mode"] == "reflect"
    inspector.editors["bias"].check.click()
    assert doc.graph.node("conv1").params["bias"] is False
    assert _commands(doc) == before + 3


@pytest.mark.parametrize(("op", "param", "text", "reason"), [
    ("Dropout", "p", "1.5", "between 0 and 1"),
    ("Dropout", "p", "half", "must be a number"),
    ("Input", "shape", "1, x", "not a whole number"),
])
def test_a_bad_value_is_refused_with_its_reason(qtbot, doc, op, param, text, reason):
    inspector = _panel(qtbot, InspectorPanel(doc))
    node = doc.add_node(op, (0, 0))
    editor = inspector.editors[param]
    shown = editor.line.text()
    params = dict(doc.graph.node(node).params)
    before = _commands(doc)
    editor.line.selectAll()
    qtbot.keyClicks(editor.line, text)
    qtbot.keyClick(editor.line, Qt.Key.Key_Return)
    assert doc.graph.node(node).params == params
    assert _commands(doc) == before
    assert reason in editor.message_text()
    assert editor.line.text() == shown  # back to the model's value
    editor.line.selectAll()
    qtbot.keyClicks(editor.line, "0.25" if op == "Dropout" else "3, 32, 32")
    qtbot.keyClick(editor.line, Qt.Key.Key_Return)
    assert editor.message_text() == ""
    assert _commands(doc) == before + 1


def test_an_int_typed_out_of_range_is_refused_with_its_reason(qtbot, doc):
    inspector = _panel(qtbot, InspectorPanel(doc))
    node = doc.add_node("Softmax", (0, 0))
    spin = inspector.editors["dim"].spin
    before = _commands(doc)
    spin.selectAll()
    qtbot.keyClicks(spin, "20")  # typing is not blocked keystroke by keystroke
    qtbot.keyClick(spin, Qt.Key.Key_Return)
    assert "dim" not in doc.graph.node(node).params and _commands(doc) == before
    assert "between -8 and 8" in inspector.editors["dim"].message_text()
    assert spin.value() == -1 and spin.text() == "-1"


def test_a_refresh_does_not_wipe_uncommitted_typing(qtbot, doc):
    inspector = _panel(qtbot, InspectorPanel(doc))
    doc.set_selection(["fc1"])
    line_editor = inspector.editors["out_features"]
    line_editor.spin.setFocus()
    qtbot.waitUntil(line_editor.spin.hasFocus, timeout=1000)
    line_editor.spin.selectAll()
    qtbot.keyClicks(line_editor.spin, "77")
    doc.set_param("fc2", "out_features", 60)  # another layer changes: a check and a refresh follow
    _settle(qtbot, doc)
    assert line_editor.spin.text() == "77"
    qtbot.keyClick(line_editor.spin, Qt.Key.Key_Return)
    assert doc.graph.node("fc1").params["out_features"] == 77


def test_switching_layers_commits_what_was_typed(qtbot, doc):
    inspector = _panel(qtbot, InspectorPanel(doc))
    doc.set_selection(["fc2"])
    spin = inspector.editors["out_features"].spin
    spin.setFocus()
    qtbot.waitUntil(spin.hasFocus, timeout=1000)
    spin.selectAll()
    qtbot.keyClicks(spin, "42")
    doc.set_selection(["fc3"])  # e.g. a keyboard shortcut selects another layer while the field has focus
    assert doc.graph.node("fc2").params["out_features"] == 42
    assert inspector.node_id == "fc3"


def test_inferred_params_show_auto_and_can_be_overridden_and_reset(qtbot, doc):
    inspector = _panel(qtbot, InspectorPanel(doc))
    doc.set_selection(["fc1"])
    editor = inspector.editors["in_features"]
    assert editor.spin.text() == "auto (400)"
    assert not editor.reset_button.isVisibleTo(inspector)
    editor.spin.selectAll()
    qtbot.keyClicks(editor.spin, "400")
    qtbot.keyClick(editor.spin, Qt.Key.Key_Return)
    assert doc.graph.node("fc1").params["in_features"] == 400
    assert editor.reset_button.isVisibleTo(inspector)
    editor.reset_button.click()
    assert "in_features" not in doc.graph.node("fc1").params
    _settle(qtbot, doc)
    assert editor.spin.text() == "auto (400)"

    doc.set_selection(["conv2"])
    assert inspector.editors["in_channels"].spin.text() == "auto (6)"


def test_a_wrong_explicit_inferred_value_shows_the_problem_under_its_editor(qtbot, doc):
    inspector = _panel(qtbot, InspectorPanel(doc))
    doc.set_selection(["fc1"])
    doc.set_param("fc1", "in_features", 3)
    _settle(qtbot, doc)
    editor = inspector.editors["in_features"]
    assert "incoming tensor gives 400" in editor.message_text()


def test_renaming(qtbot, doc):
    inspector = _panel(qtbot, InspectorPanel(doc))
    doc.set_selection(["fc1"])
    editors = dict(inspector.editors)
    inspector.id_edit.selectAll()
    qtbot.keyClicks(inspector.id_edit, "class")
    qtbot.keyClick(inspector.id_edit, Qt.Key.Key_Return)
    assert "fc1" in doc.graph and "class" not in doc.graph
    assert "Python keyword" in inspector.id_error
    assert inspector.id_message.isVisibleTo(inspector)
    assert inspector.id_edit.text() == "fc1"

    inspector.id_edit.selectAll()
    qtbot.keyClicks(inspector.id_edit, "hidden")
    qtbot.keyClick(inspector.id_edit, Qt.Key.Key_Return)
    assert "hidden" in doc.graph
    assert inspector.id_error == ""
    assert inspector.node_id == "hidden"
    assert inspector.editors == editors  # same layer: editors kept
    doc.undo_stack.undo()
    assert inspector.node_id == "fc1" and inspector.id_edit.text() == "fc1"


def test_inspector_follows_undo_and_deletion(qtbot, doc):
    inspector = _panel(qtbot, InspectorPanel(doc))
    doc.set_selection(["fc2"])
    doc.set_param("fc2", "out_features", 50)
    assert inspector.editors["out_features"].spin.value() == 50
    doc.undo_stack.undo()
    assert inspector.editors["out_features"].spin.value() == 84
    doc.remove_nodes(["fc2"])
    assert inspector.node_id is None


def test_read_only_document_disables_editors(qtbot, doc):
    inspector = _panel(qtbot, InspectorPanel(doc))
    doc.set_selection(["fc1"])
    doc.set_read_only(True)
    assert not inspector.editors["out_features"].isEnabled()
    assert inspector.id_edit.isReadOnly()
    doc.set_read_only(False)
    assert inspector.editors["out_features"].isEnabled()


# ---- diagnostics ---------------------------------------------------------------------------------------


def test_diagnostics_list_and_activation(qtbot, doc):
    panel = _panel(qtbot, DiagnosticsPanel(doc), (700, 300))
    assert panel.summary() == "No problems"
    assert panel.row_count() == 0
    doc.disconnect([Edge("act2", "pool2")])
    _settle(qtbot, doc)
    assert panel.summary().startswith("1 error")
    row = panel.row_for_node("pool2")
    assert row == 0  # errors first
    diagnostic = panel.diagnostic_at(row)
    assert diagnostic.is_error and "not connected" in diagnostic.message
    item = panel.tree.topLevelItem(row)
    assert item.text(0) == "pool2"
    rect = panel.tree.visualItemRect(item)
    with qtbot.waitSignal(panel.node_activated, timeout=1000) as blocker:
        qtbot.mouseClick(panel.tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert blocker.args == ["pool2"]
    assert doc.selection == ["pool2"]
    doc.undo_stack.undo()
    _settle(qtbot, doc)
    assert panel.summary() == "No problems"


# ---- code view ---------------------------------------------------------------------------------------


def test_code_view_shows_the_class_and_follows_edits(qtbot, doc):
    view = _panel(qtbot, CodeViewPanel(doc), (700, 500))
    assert "class LeNet5(nn.Module):" in view.text()
    assert view.code() == view.text()
    view.editor.verticalScrollBar().setValue(10)
    doc.set_param("fc3", "out_features", 7)
    qtbot.waitUntil(lambda: "nn.Linear(84, 7)" in view.text(), timeout=3000)
    assert view.editor.verticalScrollBar().value() == 10  # scroll position kept

    doc.disconnect([Edge("act1", "pool1")])
    qtbot.waitUntil(lambda: view.banner.isVisible(), timeout=3000)
    assert "1 error" in view.banner_label.text() and "last valid code" in view.banner_label.text()
    assert "nn.Linear(84, 7)" in view.text() and view.is_stale
    view.copy_to_clipboard()
    assert QGuiApplication.clipboard().text() == view.code()
    assert not view.export_button.isEnabled()  # files are written only for a network that checks clean
    doc.undo_stack.undo()
    qtbot.waitUntil(lambda: not view.banner.isVisible(), timeout=3000)
    assert not view.is_stale
    with qtbot.waitSignal(view.export_requested, timeout=1000):
        view.export_button.click()


def test_code_view_without_valid_code_lists_the_errors(qtbot):
    document = Document()
    view = _panel(qtbot, CodeViewPanel(document), (600, 300))
    assert view.code() is None
    assert "no Input" in view.text()
    assert not view.copy_button.isEnabled() and not view.export_button.isEnabled()
    document.close()


def test_code_view_regenerates_at_most_every_throttle_interval(qtbot, doc):
    view = _panel(qtbot, CodeViewPanel(doc), (600, 300))
    start = view.generations
    for n in range(10, 30):
        doc.set_param("fc3", "out_features", n)
        doc.recheck()
    qtbot.waitUntil(lambda: "nn.Linear(84, 29)" in view.text(), timeout=3000)
    assert view.generations - start <= 2
    doc.set_selection(["fc1"])  # not a graph change: no regeneration
    doc.recheck()
    qtbot.wait(400)
    assert view.generations - start <= 2


def test_highlighter_formats_keywords_strings_and_comments(qtbot):
    document = QTextDocument()
    document.setPlainText('def forward(self, x):\n    return "hi"  # done\n"""doc\nstring"""\n')
    highlighter = PythonHighlighter(document, dark=False)
    lines = [document.findBlockByNumber(i) for i in range(4)]

    def color_at(block, column) -> QColor | None:
        ranges = block.layout().formats()  # keep the list alive while reading its formats
        for fmt_range in ranges:
            if fmt_range.start <= column < fmt_range.start + fmt_range.length:
                return QColor(fmt_range.format.foreground().color())
        return None

    def role(name: str) -> QColor:
        return highlighter.formats[name].foreground().color()

    assert color_at(lines[0], 0) == role("keyword")  # def
    assert color_at(lines[0], 4) == role("definition")  # forward
    assert color_at(lines[0], 12) == role("self")
    assert color_at(lines[1], 4) == role("keyword")  # return
    assert color_at(lines[1], 12) == role("string")
    assert color_at(lines[1], 20) == role("comment")
    assert color_at(lines[2], 0) == role("docstring")
    assert color_at(lines[3], 0) == role("docstring")  # the docstring's second line
    highlighter.set_muted(True)
    assert color_at(lines[0], 0) != role("keyword")


# ---- status bar ----------------------------------------------------------------------------------------


def test_human_units():
    assert format_count(950) == "950"
    assert format_count(12_345) == "12.3k"
    assert format_count(4_500_000) == "4.5M"
    assert format_count(999_960) == "1.0M"
    assert format_bytes(512) == "512 B"
    assert format_bytes(1536) == "1.5 KiB"
    assert format_bytes(3 * 2**30) == "3.0 GiB"


def test_status_info_shows_params_flops_and_memory(qtbot, doc):
    info = _panel(qtbot, StatusInfo(doc), (500, 24))
    result = doc.result
    assert format_count(result.total_params) in info.params_label.text()
    assert format_count(result.total_flops) in info.flops_label.text()
    assert format_bytes(estimated_memory_bytes(result, 64)) in info.memory_label.text()
    assert "batch 64" in info.memory_label.text()
    doc.project.training = {"batch_size": 256}
    info.refresh()
    assert format_bytes(estimated_memory_bytes(result, 256)) in info.memory_label.text()
    doc.set_param("fc1", "out_features", 1000)
    _settle(qtbot, doc)
    assert format_count(doc.result.total_params) in info.params_label.text()


def test_every_panel_renders(qtbot, doc):
    doc.set_selection(["conv1"])
    for widget in (PalettePanel(doc), InspectorPanel(doc), DiagnosticsPanel(doc), CodeViewPanel(doc),
                   StatusInfo(doc)):
        _panel(qtbot, widget, (360, 500))
        assert not widget.grab().isNull()


def test_a_long_problem_wraps_in_its_row_and_a_long_status_message_is_not_cut(qtbot, tmp_path, monkeypatch):
    """Long texts are readable in place: a Problems row grows to its wrapped message; a status-bar message
    too long to share the bar hides the Params/FLOPs fields while it shows, and is the bar's tooltip."""
    from app.main_window import MainWindow
    from app.settings import open_settings

    monkeypatch.setenv("LAYERLOOM_CONFIG_DIR", str(tmp_path / "config"))
    window = MainWindow(settings=open_settings(), autosaver=None)
    qtbot.addWidget(window)
    window.ask_save_changes = lambda: "discard"
    window.resize(1400, 900)
    window.show()
    assert window.new_from_template("lenet5")
    document = window.document
    document.add_node("Dropout", (2000.0, 2000.0))  # "the input is not connected"
    document.recheck()
    panel = window.diagnostics_panel
    panel.refresh()
    tree = panel.tree
    tree.header().resizeSection(1, 90)  # narrower than the message
    tree.doItemsLayout()
    row = tree.topLevelItem(0)
    one_line = tree.fontMetrics().height() + 6
    assert tree.visualItemRect(row).height() > one_line, tree.visualItemRect(row)
    assert row.text(1).lower() in row.toolTip(1).lower()

    window.show_message("Cannot connect relu_1 to a_layer: " + "a very long reason " * 12, 60_000)
    assert not window.status_info.isVisible() and window.statusBar().toolTip().startswith("Cannot connect")
    window.statusBar().clearMessage()
    assert window.status_info.isVisible() and window.statusBar().toolTip() == ""
    window.show_message("Saved", 60_000)
    assert window.status_info.isVisible()  # a short message leaves the fields
