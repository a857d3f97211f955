"""Blocks in the app, driven for real: group the canvas selection with Ctrl+G and ungroup with Ctrl+Shift+G in
a real window (each one undo step that restores the exact project), and the palette's Blocks section (the
project's definitions, kept current, dropped or double-clicked in as undoable instances)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from app.canvas.view import BLOCK_MIME
from app.panels.palette import BLOCK_ROLE, HIDDEN_OPS
from graph_engine.blocks import edits
from graph_engine.project_io import project_to_json
from tests.app.block_windows import open_window

CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "blocks_grouped.png"
STAGE = ["conv2", "act2", "pool2"]


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERLOOM_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("LAYERLOOM_STATE_DIR", str(tmp_path / "state"))


@pytest.fixture
def window(qtbot, tmp_path):
    return open_window(qtbot, tmp_path, "lenet5")


def test_ctrl_g_groups_the_selection_into_one_undoable_block(window, qtbot, tmp_path):
    doc = window.document
    before = project_to_json(doc.project)
    window.canvas.canvas.select_nodes(STAGE)
    assert doc.selection == STAGE
    qtbot.keyClick(window.canvas, Qt.Key.Key_G, CTRL)

    blocks = [n for n in doc.graph if n.op == "Block"]
    assert len(blocks) == 1
    instance = blocks[0]
    assert not any(nid in doc.graph for nid in STAGE)
    defn = doc.project.blocks.definition(instance.block)
    assert [n.id for n in defn.graph if n.op not in ("BlockInput", "BlockOutput")] == STAGE
    assert len(defn.inputs) == 1 and len(defn.outputs) == 1
    assert [(e.src, e.dst) for e in doc.graph.in_edges(instance.id)] == [("pool1", instance.id)]
    assert [(e.src, e.dst) for e in doc.graph.out_edges(instance.id)] == [(instance.id, "flatten")]
    assert doc.selection == [instance.id]
    assert instance.id in window.canvas.canvas.item_for_node
    assert window.palette_panel.visible_blocks() == [instance.block]  # definition_added reached the palette
    assert doc.undo_stack.count() == 1
    result = doc.fresh_result()  # the grouped network still checks, and the instance has the stage's shape
    assert result.ok, result.errors
    assert result.nodes[instance.id].output() == result.nodes["flatten"].inputs[0]
    grouped = project_to_json(doc.project)

    window.palette_panel.tree.scrollToItem(window.palette_panel.item_for_block(instance.block))
    window.palette_panel.tree.setCurrentItem(window.palette_panel.item_for_block(instance.block))
    window.canvas.viewport().update()
    QApplication.processEvents()
    # docs/screenshots/blocks_grouped.png is this picture: LAYERLOOM_SCREENSHOTS=1 writes it there.
    shot = SCREENSHOT if os.environ.get("LAYERLOOM_SCREENSHOTS") == "1" else tmp_path / SCREENSHOT.name
    assert window.grab().save(str(shot))

    qtbot.keyClick(window.canvas, Qt.Key.Key_Z, CTRL)
    assert project_to_json(doc.project) == before  # the exact graph: order, positions, no definition left
    assert window.palette_panel.visible_blocks() == []
    assert all(nid in window.canvas.canvas.item_for_node for nid in STAGE)
    qtbot.keyClick(window.canvas, Qt.Key.Key_Y, CTRL)
    assert project_to_json(doc.project) == grouped


def test_ctrl_shift_g_ungroups_an_instance_and_undo_brings_it_back(window, qtbot):
    doc = window.document
    window.canvas.canvas.select_nodes(STAGE)
    qtbot.keyClick(window.canvas, Qt.Key.Key_G, CTRL)
    instance = doc.selection[0]
    grouped = project_to_json(doc.project)

    qtbot.keyClick(window.canvas, Qt.Key.Key_G, CTRL | SHIFT)
    assert instance not in doc.graph
    assert all(nid in doc.graph for nid in STAGE)
    assert not list(doc.project.blocks)  # the definition nothing uses any more is gone
    assert doc.undo_stack.count() == 2
    qtbot.keyClick(window.canvas, Qt.Key.Key_Z, CTRL)
    assert project_to_json(doc.project) == grouped
    assert instance in window.canvas.canvas.item_for_node


def test_grouping_an_input_is_refused_with_the_reason(window, qtbot):
    doc = window.document
    before = project_to_json(doc.project)
    window.canvas.canvas.select_nodes(["image", "conv1"])
    qtbot.keyClick(window.canvas, Qt.Key.Key_G, CTRL)
    assert project_to_json(doc.project) == before
    assert doc.undo_stack.count() == 0
    assert "image is an Input" in window.statusBar().currentMessage()


def _drop_block(view, block: str, at: QPoint) -> bool:
    mime = QMimeData()
    mime.setData(BLOCK_MIME, block.encode("utf-8"))
    enter = QDragEnterEvent(at, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(view.viewport(), enter)
    drop = QDropEvent(QPointF(at), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(view.viewport(), drop)
    return enter.isAccepted() and drop.isAccepted()


def test_palette_blocks_section_lists_definitions_and_adds_instances(window, qtbot):
    doc, palette = window.document, window.palette_panel
    assert "Block" in HIDDEN_OPS and palette.item_for_op("Block") is None
    assert palette.visible_blocks() == []
    doc.group(["conv1", "act1"], "Stem")
    assert palette.visible_blocks() == ["Stem"]
    item = palette.item_for_block("Stem")
    assert item.parent() is palette.category_item("Blocks") and item.data(0, BLOCK_ROLE) == "Stem"

    count = len(doc.graph)
    palette.tree.itemDoubleClicked.emit(item, 0)  # what a double-click delivers
    added = doc.selection[0]
    assert len(doc.graph) == count + 1 and doc.graph.node(added).block == "Stem"
    doc.undo_stack.undo()
    assert added not in doc.graph and len(doc.graph) == count

    assert _drop_block(window.canvas, "Stem", QPoint(40, 40))
    dropped = doc.graph.node(doc.selection[0])
    assert dropped.op == "Block" and dropped.block == "Stem"
    assert len(doc.project.blocks.instances("Stem")) == 2

    edits.create_definition(doc.project, "Head")  # definition_added from the engine reaches the palette
    assert palette.visible_blocks() == ["Stem", "Head"]
    doc.project.blocks.rename("Head", "Classifier")
    assert palette.visible_blocks() == ["Stem", "Classifier"]
    doc.project.blocks.remove("Classifier")
    assert palette.visible_blocks() == ["Stem"]
    palette.set_filter("ste")
    assert palette.visible_blocks() == ["Stem"]
    palette.set_filter("xyz")
    assert palette.visible_blocks() == []


def test_renaming_a_block_in_the_inspector_renames_every_instance_in_one_undo_step(window, qtbot):
    doc, palette = window.document, window.palette_panel
    window.canvas.canvas.select_nodes(STAGE)
    qtbot.keyClick(window.canvas, Qt.Key.Key_G, CTRL)
    first = doc.selection[0]
    old = doc.graph.node(first).block
    second = doc.add_block_instance(old, (0.0, 600.0))
    doc.set_selection([first])
    inspector = window.inspector_panel
    steps = doc.undo_stack.count()

    inspector.block_edit.setText("ConvStage")
    inspector.block_edit.editingFinished.emit()
    assert doc.project.blocks.names == ["ConvStage"]
    assert doc.graph.node(first).block == doc.graph.node(second).block == "ConvStage"
    assert palette.visible_blocks() == ["ConvStage"]
    assert doc.undo_stack.count() == steps + 1
    result = doc.fresh_result()  # the renamed block still resolves (the second instance is just unwired)
    assert result.nodes[first].output() is not None
    assert {d.node_id for d in result.errors} == {second}

    inspector.block_edit.setText("conv stage")  # not CamelCase: refused with the reason, nothing changes
    inspector.block_edit.editingFinished.emit()
    assert "CamelCase" in inspector.block_error
    assert inspector.block_edit.text() == "ConvStage"
    assert doc.undo_stack.count() == steps + 1

    qtbot.keyClick(window.canvas, Qt.Key.Key_Z, CTRL)
    assert doc.project.blocks.names == [old]
    assert doc.graph.node(first).block == doc.graph.node(second).block == old
    assert inspector.block_edit.text() == old
    assert palette.visible_blocks() == [old]


def test_builtin_blocks_are_listed_and_a_drop_copies_the_definition_once(window, qtbot):
    doc, palette = window.document, window.palette_panel
    builtins = palette.visible_builtin_blocks()
    assert {"ConvBnAct", "BasicBlock", "Bottleneck", "InvertedResidualSE", "TransformerEncoderBlock", "UNetDown",
            "UNetUp"} <= set(builtins)
    item = palette.item_for_builtin("UNetUp")
    assert item.parent() is palette.category_item("Blocks") and item.text(1) == "built-in"
    assert palette.visible_blocks() == []  # built-ins are not the project's blocks until used
    before = project_to_json(doc.project)

    assert _drop_block(window.canvas, item.data(0, BLOCK_ROLE), QPoint(60, 60))
    first = doc.graph.node(doc.selection[0])
    assert first.block == "UNetUp" and doc.project.blocks.names == ["ConvBnAct", "UNetUp"]
    assert palette.visible_blocks() == ["ConvBnAct", "UNetUp"]
    assert doc.undo_stack.count() == 1
    palette.tree.itemDoubleClicked.emit(item, 0)  # a second use reuses the definitions
    second = doc.graph.node(doc.selection[0])
    assert second.block == "UNetUp" and second.id != first.id
    assert doc.project.blocks.names == ["ConvBnAct", "UNetUp"]

    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert project_to_json(doc.project) == before and palette.visible_blocks() == []
    palette.set_filter("squeeze")  # the search finds built-ins by their description too
    assert "InvertedResidualSE" in palette.visible_builtin_blocks() and "UNetUp" not in palette.visible_builtin_blocks()


def test_make_unique_gives_one_instance_its_own_definition_and_undo_shares_it_again(window, qtbot):
    doc = window.document
    window.canvas.canvas.select_nodes(STAGE)
    qtbot.keyClick(window.canvas, Qt.Key.Key_G, CTRL)
    first = doc.selection[0]
    shared = doc.graph.node(first).block
    second = doc.add_block_instance(shared, (0.0, 600.0))
    before = project_to_json(doc.project)

    new = doc.make_unique(second)
    assert window.canvas.canvas.item_for_node[second].op == new  # the card names the copy
    assert new != shared and doc.graph.node(second).block == new and doc.graph.node(first).block == shared
    doc.project.blocks.definition(new).graph.set_params("conv2", {"out_channels": 4, "kernel_size": 5})
    assert doc.project.blocks.definition(shared).graph.node("conv2").params != {"out_channels": 4, "kernel_size": 5}
    doc.project.blocks.definition(new).graph.set_params("conv2", doc.project.blocks.definition(shared).graph.node(
        "conv2").params)
    doc.undo_stack.undo()
    assert project_to_json(doc.project) == before
    assert window.canvas.canvas.item_for_node[second].op == shared
    doc.undo_stack.redo()
    assert window.canvas.canvas.item_for_node[second].op == new
