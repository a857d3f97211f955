"""Entering a block in a real window: the canvas shows the definition's own graph, edited in place with the
ordinary tools (palette, inspector, Delete), each edit one undo step that every instance follows; the breadcrumb
bar and Esc / Backspace / Tab go back up; problems inside show on the inner card with their hierarchy path."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from app.canvas.appearance import HEADER_H, NODE_WIDTH
from graph_engine.graph import Edge
from graph_engine.project_io import project_to_json
from tests.app.block_windows import open_window

CTRL = Qt.KeyboardModifier.ControlModifier
STAGE = ["conv2", "act2", "pool2"]


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERLOOM_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("LAYERLOOM_STATE_DIR", str(tmp_path / "state"))


@pytest.fixture
def window(qtbot, tmp_path):
    """LeNet-5 with its second conv stage grouped into a block used twice: the second copy also reads pool1
    and feeds an Output of its own."""
    win = open_window(qtbot, tmp_path, "lenet5")
    doc = win.document
    first = doc.group(STAGE)
    block = doc.graph.node(first).block
    second = doc.add_block_instance(block, (0.0, 600.0))
    doc.connect(Edge("pool1", second, 0, 0))
    aux = doc.add_node("Output", (300.0, 600.0))
    doc.connect(Edge(second, aux, 0, 0))
    doc.undo_stack.clear()
    win.first, win.second, win.block = first, second, block
    return win


def double_click_card(window, node_id: str) -> None:
    item = window.canvas.canvas.item_for_node[node_id]
    at = window.canvas.mapFromScene(item.pos() + QPointF(NODE_WIDTH / 2, HEADER_H / 2))
    QTest.mouseDClick(window.canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at)


def test_double_click_enters_the_block_and_esc_goes_back_up(window, qtbot):
    doc, view = window.document, window.canvas
    top_ids = set(view.canvas.item_for_node)
    double_click_card(window, window.first)
    assert doc.current_block == window.block and doc.level_path == [(window.first, window.block)]
    defn = doc.project.blocks.definition(window.block)
    assert doc.graph is defn.graph
    assert set(view.canvas.item_for_node) == set(defn.graph.nodes)  # its BlockInput / BlockOutput and layers
    assert view.breadcrumb.isVisible()
    assert view.breadcrumb.texts() == [doc.project.name, f"{window.first} ({window.block})"]
    assert "all 2 instances change" in view.breadcrumb.hint.text()
    # Shapes inside are those of the instance it was entered through.
    assert view.canvas.item_for_node["conv2"].output_shape_text() == "[16, 10, 10]"

    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Escape)
    assert doc.current_block is None and doc.graph is doc.project.graph
    assert set(view.canvas.item_for_node) == top_ids and not view.breadcrumb.isVisible()
    assert doc.selection == [window.first]  # back where the user came from

    qtbot.keyClick(view, Qt.Key.Key_Tab)  # Tab on the selected instance enters it, Tab again leaves
    assert doc.current_block == window.block
    qtbot.keyClick(view, Qt.Key.Key_Tab)
    assert doc.current_block is None
    qtbot.keyClick(view, Qt.Key.Key_Return)
    assert doc.current_block == window.block
    qtbot.keyClick(view, Qt.Key.Key_Backspace)  # nothing selected: Backspace goes up, deletes nothing
    assert doc.current_block is None and window.first in doc.graph and doc.undo_stack.count() == 0


def test_an_edit_inside_changes_every_instance_in_one_undo_step(window, qtbot):
    doc, view = window.document, window.canvas
    before = project_to_json(doc.project)
    old_shape = doc.fresh_result().shape(window.second)
    doc.set_selection([window.first])
    qtbot.keyClick(view, Qt.Key.Key_Tab)

    doc.set_selection(["conv2"])  # the inspector edits the inner layer
    editor = window.inspector_panel.editors["out_channels"]
    editor.show_value(16)
    editor.committed.emit(8)
    assert doc.undo_stack.count() == 1
    assert doc.graph.node("conv2").params["out_channels"] == 8
    result = doc.fresh_result()
    assert str(result.shape(window.first)) == "[8, 5, 5]"
    assert str(result.shape(window.second)) == "[8, 5, 5]"  # the other instance follows: same definition
    assert view.canvas.item_for_node["conv2"].output_shape_text() == "[8, 10, 10]"

    window.add_layer("Dropout")  # the palette adds inside the definition, wired from the selected layer
    assert doc.undo_stack.count() == 2
    assert any(n.op == "Dropout" for n in doc.project.blocks.definition(window.block).graph)
    assert not any(n.op == "Dropout" for n in doc.project.graph)

    qtbot.keyClick(view, Qt.Key.Key_Z, CTRL)
    qtbot.keyClick(view, Qt.Key.Key_Z, CTRL)
    assert project_to_json(doc.project) == before  # both instances restored
    assert doc.fresh_result().shape(window.second) == old_shape
    assert view.canvas.item_for_node["conv2"].output_shape_text() == "[16, 10, 10]"


def test_a_reference_to_a_block_param_is_typed_in_the_inspector(window, qtbot):
    doc = window.document
    doc.enter_block(window.first)
    defn = doc.project.blocks.definition(window.block)
    from graph_engine.blocks.model import BlockParam

    doc.project.blocks.set_params(window.block, {"width": BlockParam("width", "int", 6, "output channels")})
    doc.set_selection(["conv2"])
    editor = window.inspector_panel.editors["out_channels"]
    editor.line.setText("$width * 2")
    editor.commit_pending()
    assert defn.graph.node("conv2").params["out_channels"] == "$width * 2"
    assert str(doc.fresh_result().shape(window.first)) == "[12, 5, 5]"
    editor.line.setText("$width * $depth")
    editor.commit_pending()
    assert "no param 'depth'" in editor.message.text()
    assert defn.graph.node("conv2").params["out_channels"] == "$width * 2"


def test_typing_a_new_block_param_creates_it_with_the_current_value_in_one_undo_step(window, qtbot):
    doc = window.document
    defn = doc.project.blocks.definition(window.block)
    assert not defn.params
    doc.enter_block(window.first)
    doc.set_selection(["conv2"])
    steps = doc.undo_stack.count()
    editor = window.inspector_panel.editors["kernel_size"]
    editor.line.setText("$kernel")
    editor.commit_pending()
    assert list(defn.params) == ["kernel"]
    assert defn.params["kernel"].kind == "int_tuple" and defn.params["kernel"].default == 5  # Conv2d's kind
    assert defn.graph.node("conv2").params["kernel_size"] == "$kernel"
    assert doc.undo_stack.count() == steps + 1
    result = doc.fresh_result()
    assert result.ok and str(result.shape(window.first)) == "[16, 5, 5]"  # the default keeps every shape
    doc.leave_block()
    assert doc.selection == [window.first] and "kernel" in window.inspector_panel.editors  # the instance's new param
    doc.set_param(window.second, "kernel", 3)  # now one instance can differ
    assert str(doc.fresh_result().shape(window.second)) == "[16, 6, 6]"
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert not defn.params and defn.graph.node("conv2").params["kernel_size"] == 5
    assert "kernel" not in window.inspector_panel.editors


def test_problems_inside_show_on_the_inner_card_with_their_path(window, qtbot):
    doc, view = window.document, window.canvas
    doc.enter_block(window.first)
    doc.set_param("conv2", "kernel_size", 30)  # larger than the 14x14 input
    doc.fresh_result()
    card = view.canvas.item_for_node["conv2"]
    assert card.severity == "error"
    assert card.diagnostics[0].path == f"{window.first}.conv2"
    assert f"{window.first}.conv2" in card.toolTip()
    doc.leave_block()
    assert view.canvas.item_for_node[window.first].severity == "error"  # and on the instance's card


def test_nested_blocks_and_the_breadcrumb_go_up_any_number_of_levels(qtbot, tmp_path):
    window = open_window(qtbot, tmp_path, "unet_small")
    doc, view = window.document, window.canvas
    doc.enter_block("up1")
    doc.enter_block("fuse")
    assert [b for _, b in doc.level_path] == ["UpStep", "ConvRelu"]
    assert view.breadcrumb.texts() == [doc.project.name, "up1 (UpStep)", "fuse (ConvRelu)"]
    # fuse ends up1, so its conv has up1's output shape (as entered through up1, not up2)
    assert view.canvas.item_for_node["conv"].output_shape_text() == str(doc.result.shape("up1"))
    assert doc.result.shape("up1") != doc.result.shape("up2")
    view.breadcrumb.crumbs[2].click()  # "up1 (UpStep)"
    assert doc.current_block == "UpStep" and doc.selection == ["fuse"]
    view.breadcrumb.crumbs[0].click()
    assert doc.current_block is None and "up1" in view.canvas.item_for_node


def test_undoing_the_group_while_inside_the_block_returns_to_the_top(window, qtbot):
    doc = window.document
    doc.undo_stack.clear()
    doc.enter_block(window.first)
    doc.leave_block()
    doc.ungroup(window.second)
    doc.enter_block(window.first)
    doc.undo_stack.undo()  # the instance entered stays; undo of the ungroup happened at the top
    doc.fresh_result()
    assert doc.current_block == window.block
    doc.undo_stack.redo()
    doc.project.graph.remove_node(window.first)  # its instance goes (e.g. an undo at the top): back up
    doc.fresh_result()
    assert doc.current_block is None and doc.graph is doc.project.graph


def test_a_block_card_shows_its_definition_repeat_and_live_training_statistics(qtbot, tmp_path):
    import torch

    from graph_engine import build_model
    from graph_engine.training.probes import ProbeRunner

    window = open_window(qtbot, tmp_path, "resnet_digits")
    doc = window.document
    card = window.canvas.canvas.item_for_node["blocks"]
    assert card.is_block and card.op == "ResidualBlock" and card.repeat == 2
    texts = [t.static.text() for t in card._texts]
    assert "×2" in texts and "▣ ResidualBlock" in texts and "channels 32" in texts
    assert str(doc.result.shape("blocks")) in texts
    # A probe of the real model (what a training run sends) reaches the block card like any layer's.
    model = build_model(doc.project)
    node_ops = {n.id: n.op for n in doc.project.graph}
    event = ProbeRunner(model, node_ops, torch.randn(4, 1, 8, 8)).run(step=1, epoch=0)
    assert "blocks" in event.layers
    window.canvas_stats._apply_probe(event)
    assert card.live_stats_text
    doc.enter_block("blocks")  # inside, the cards are another graph's layers: no top-level figures on them
    assert not any(item.live_stats_text for item in window.canvas.canvas.item_for_node.values())
    doc.leave_block()
    assert window.canvas.canvas.item_for_node["blocks"].live_stats_text == card.live_stats_text


def test_clicking_a_problem_inside_a_block_opens_it_at_the_layer_at_fault(window, qtbot):
    doc, panel = window.document, window.diagnostics_panel
    block = doc.project.blocks.definition(window.block)
    block.graph.set_params("conv2", {**block.graph.node("conv2").params, "kernel_size": 30})
    doc.fresh_result()
    rows = [panel.diagnostic_at(r) for r in range(panel.row_count())]
    paths = {panel.tree.topLevelItem(r).text(0) for r in range(panel.row_count())}
    assert {f"{window.first}.conv2", f"{window.second}.conv2"} <= paths  # the hierarchy path is the layer column
    row = next(r for r, d in enumerate(rows) if getattr(d, "path", "") == f"{window.second}.conv2")
    panel.activate_row(row)
    assert doc.level_path == [(window.second, window.block)] and doc.selection == ["conv2"]
    doc.project.graph.remove_edge(doc.project.graph.in_edges("flatten")[0])  # a problem at the top level
    doc.fresh_result()
    row = panel.row_for_node("flatten")
    assert panel.tree.topLevelItem(row).text(0) == "flatten"
    panel.activate_row(row)
    assert doc.current_block is None and doc.selection == ["flatten"]


def test_the_code_view_follows_edits_made_inside_a_block_and_undos_at_the_top(window, qtbot):
    doc = window.document
    window.code_dock.show()
    window.code_dock.raise_()
    editor = window.code_panel.editor
    doc.enter_block(window.first)
    doc.set_param("conv2", "out_channels", 12)
    qtbot.waitUntil(lambda: "nn.Conv2d(6, 12" in editor.toPlainText(), timeout=5000)
    doc.leave_block()
    doc.set_param("fc1", "out_features", 77)
    qtbot.waitUntil(lambda: "nn.Linear(300, 77" in editor.toPlainText(), timeout=5000)
    doc.enter_block(window.first)
    doc.undo_stack.undo()  # the top-level edit, undone while the block is shown: the code follows
    qtbot.waitUntil(lambda: "nn.Linear(300, 120" in editor.toPlainText(), timeout=5000)
    assert doc.current_block == window.block


def test_a_port_added_inside_a_definition_redraws_its_instances_cards(window):
    from graph_engine.graph import Node

    doc, scene = window.document, window.canvas.canvas
    defn = doc.project.blocks.definition(window.block)
    card = scene.item_for_node[window.first]
    assert len(card.outputs) == 1
    defn.graph.add_node(Node("y2", "BlockOutput"))  # e.g. an undo inside the block, made while at the top
    defn.graph.add_edge(Edge("conv2", "y2"))
    assert len(card.outputs) == 2 and len(scene.item_for_node[window.second].outputs) == 2
    defn.graph.remove_node("y2")
    assert len(card.outputs) == 1
