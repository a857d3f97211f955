"""The canvas driven for real: mouse and keyboard events on the viewport, palette drops, the clipboard,
quick-add, and what the items show after a check."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, QRectF, QSizeF, Qt, QTimer
from PySide6.QtGui import (
    QAction,
    QColor,
    QContextMenuEvent,
    QCursor,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QGuiApplication,
    QImage,
    QKeySequence,
    QPainter,
    QWheelEvent,
)
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QToolTip

from app.canvas import OP_MIME, CanvasView, EdgeItem, NodeItem, PortItem
from app.canvas.appearance import HEADER_H, NODE_WIDTH
from app.canvas.clipboard import NODES_MIME, nodes_from_json
from app.canvas.node_item import format_count, key_param_chunks
from app.canvas.port_item import PortState
from app.canvas.quick_add import search_catalog
from app.document import Document
from app.theme import ERROR_COLOR
from graph_engine.catalog import get_spec
from graph_engine.graph import Edge
from graph_engine.project_io import load_project
from graph_engine.templates import load_template

LEFT = Qt.MouseButton.LeftButton
NO_MOD = Qt.KeyboardModifier.NoModifier


def project(nodes, edges):
    return load_project({"format": "layerloom", "format_version": 1, "name": "test",
                         "graph": {"nodes": nodes, "edges": edges}})


SMALL = dict(
    nodes=[
        {"id": "image", "op": "Input", "params": {"shape": [1, 28, 28]}, "pos": [0, 0]},
        {"id": "conv", "op": "Conv2d", "params": {"out_channels": 6, "kernel_size": 5, "padding": 2}, "pos": [220, 0]},
        {"id": "act", "op": "ReLU", "pos": [440, 0]},
        {"id": "flat", "op": "Flatten", "pos": [660, 0]},
        {"id": "fc", "op": "Linear", "params": {"out_features": 10}, "pos": [880, 0]},
        {"id": "logits", "op": "Output", "pos": [1100, 0]},
        {"id": "spare", "op": "Linear", "params": {"out_features": 32}, "pos": [880, 200]},
        {"id": "conv2", "op": "Conv2d", "params": {"out_channels": 8}, "pos": [1100, 200]},
    ],
    edges=[
        {"src": "image", "dst": "conv"}, {"src": "conv", "dst": "act"}, {"src": "act", "dst": "flat"},
        {"src": "flat", "dst": "fc"}, {"src": "fc", "dst": "logits"},
    ],
)


@pytest.fixture
def document():
    doc = Document(project(**SMALL))
    yield doc
    doc.close()


@pytest.fixture
def view(qtbot, document):
    v = CanvasView(document)
    qtbot.addWidget(v)
    v.resize(1100, 650)
    v.show()
    qtbot.waitExposed(v)
    v.fit_all()
    return v


def settle(qtbot, document):
    """Let the document's coalesced check run (it is emitted from a zero-delay timer)."""
    with qtbot.waitSignal(document.checked, timeout=2000):
        pass


def vp(view: CanvasView, scene_pos: QPointF) -> QPoint:
    return view.mapFromScene(scene_pos)


def port_pos(view: CanvasView, node_id: str, is_output: bool, index: int = 0) -> QPoint:
    port = view.canvas.item_for_node[node_id].port(is_output, index)
    assert port is not None
    return vp(view, port.scenePos())


def drag(view: CanvasView, start: QPoint, end: QPoint, steps: int = 6, modifier=NO_MOD) -> None:
    viewport = view.viewport()
    QTest.mousePress(viewport, LEFT, modifier, start)
    for i in range(1, steps + 1):
        p = start + (end - start) * (i / steps)
        QTest.mouseMove(viewport, QPoint(round(p.x()), round(p.y())))
    QTest.mouseRelease(viewport, LEFT, modifier, end)


def header_pos(view: CanvasView, node_id: str) -> QPoint:
    item = view.canvas.item_for_node[node_id]
    return vp(view, item.pos() + QPointF(60, 12))


def empty_spot(view: CanvasView) -> QPoint:
    spot = view.mapToScene(QPoint(30, view.viewport().height() - 30))
    assert not view.canvas.items(spot)
    return vp(view, spot)


# ---- projection ----------------------------------------------------------------------------------------


def test_items_follow_the_model(view, document, qtbot):
    scene = view.canvas
    assert set(scene.item_for_node) == set(document.graph.nodes)
    assert set(scene.edge_items) == set(document.graph.edges)
    assert all(isinstance(i, NodeItem) for i in scene.item_for_node.values())
    conv = scene.item_for_node["conv"]
    assert scene.node_for_item(conv) == "conv" and scene.node_for_item(conv.inputs[0]) == "conv"
    assert conv.pos() == QPointF(220, 0)
    assert scene.edge_items[Edge("conv", "act")].label == "[6, 28, 28]"
    texts = [t.static.text() for t in conv._texts]
    assert "6 out · 5x5 · pad 2" in texts and "[6, 28, 28]" in texts and "156 params" in texts

    document.set_param("conv", "out_channels", 16)
    settle(qtbot, document)
    texts = [t.static.text() for t in conv._texts]
    assert "16 out · 5x5 · pad 2" in texts and "[16, 28, 28]" in texts
    assert scene.edge_items[Edge("conv", "act")].label == "[16, 28, 28]"

    document.rename("conv", "features")
    assert "features" in scene.item_for_node and "conv" not in scene.item_for_node
    assert Edge("features", "act") in scene.edge_items
    document.undo_stack.undo()
    document.undo_stack.undo()
    settle(qtbot, document)
    assert scene.item_for_node["conv"] is conv
    assert set(scene.edge_items) == set(document.graph.edges)


def test_key_params_and_counts():
    assert key_param_chunks(get_spec("Conv2d"), {"out_channels": 64, "kernel_size": 3, "stride": 2}) == \
        ["64 out", "3x3 /2"]
    assert key_param_chunks(get_spec("MaxPool2d"), {"kernel_size": 2}) == ["2x2"]
    assert key_param_chunks(get_spec("Dropout"), {}) == ["p=0.5"]
    assert key_param_chunks(get_spec("LSTM"), {"hidden_size": 32, "bidirectional": True}) == \
        ["32 hidden", "bidirectional"]
    assert key_param_chunks(get_spec("ReLU"), {}) == []
    assert key_param_chunks(get_spec("BatchNorm2d"), {}) == []
    assert key_param_chunks(get_spec("Input"), {"shape": [3, 32, 32]}) == []
    assert [format_count(n) for n in (156, 12345, 1_234_567, 2_500_000_000)] == ["156", "12.3k", "1.23M", "2.5B"]


def test_multi_output_and_variadic_ports(qtbot):
    doc = Document(project(
        nodes=[{"id": "x", "op": "Input", "params": {"shape": [20, 8]}, "pos": [0, 0]},
               {"id": "lstm", "op": "LSTM", "params": {"hidden_size": 16}, "pos": [220, 0]},
               {"id": "a", "op": "ReLU", "pos": [220, 200]},
               {"id": "b", "op": "Tanh", "pos": [220, 340]},
               {"id": "sum", "op": "Add", "pos": [440, 200]}],
        edges=[{"src": "x", "dst": "lstm"}, {"src": "x", "dst": "a"}, {"src": "x", "dst": "b"},
               {"src": "a", "dst": "sum"}]))
    view = CanvasView(doc)
    qtbot.addWidget(view)
    view.resize(900, 600)
    view.show()
    lstm = view.canvas.item_for_node["lstm"]
    assert [p.name for p in lstm.outputs] == ["output", "h_n", "c_n"]
    ys = [p.pos().y() for p in lstm.outputs]
    assert ys == sorted(ys) and len(set(ys)) == 3
    # x feeds three layers with the same tensor: one label says it, the tooltips of all three too.
    out_of_x = [view.canvas.edge_items[Edge("x", d)] for d in ("lstm", "a", "b")]
    assert [e.label_shown for e in out_of_x] == [True, False, False]
    assert all("[20, 8]" in e.toolTip() for e in out_of_x)
    add = view.canvas.item_for_node["sum"]
    assert len(add.inputs) == 2  # min_inputs, one of them free
    doc.connect(Edge("b", "sum", 0, 1))
    assert len(add.inputs) == 3  # connected + 1 free
    assert [p.connected for p in add.inputs] == [True, True, False]
    drag(view, port_pos(view, "x", True), port_pos(view, "sum", False, 2))
    assert Edge("x", "sum", 0, 2) in doc.graph.edges
    assert len(add.inputs) == 4
    doc.undo_stack.undo()
    assert len(add.inputs) == 3
    doc.close()


def test_chunk_output_ports_follow_its_chunks_param(qtbot):
    doc = Document(project(
        nodes=[{"id": "x", "op": "Input", "params": {"shape": [12, 4]}, "pos": [0, 0]},
               {"id": "parts", "op": "Chunk", "params": {"chunks": 3}, "pos": [220, 0]},
               {"id": "act", "op": "ReLU", "pos": [440, 0]}, {"id": "y", "op": "Output", "pos": [660, 0]}],
        edges=[{"src": "x", "dst": "parts"}, {"src": "act", "dst": "y"}]))
    view = CanvasView(doc)
    qtbot.addWidget(view)
    view.show()
    parts = view.canvas.item_for_node["parts"]
    assert [p.name for p in parts.outputs] == ["output0", "output1", "output2"]
    doc.set_param("parts", "chunks", 4)
    assert len(parts.outputs) == 4
    drag(view, port_pos(view, "parts", True, 3), port_pos(view, "act", False))
    assert Edge("parts", "act", 3, 0) in doc.graph.edges
    settle(qtbot, doc)
    assert doc.result.ok
    doc.set_param("parts", "chunks", 2)  # the edge from port 3 stays, drawn from its port, and is reported
    settle(qtbot, doc)
    assert len(parts.outputs) == 4
    assert any("output port 3" in e.message for e in doc.result.errors)
    doc.undo_stack.undo()
    settle(qtbot, doc)
    assert doc.result.ok and len(parts.outputs) == 4
    doc.close()


def test_declared_broadcast_is_written_on_the_card():
    assert key_param_chunks(get_spec("Multiply"), {"broadcast": True}) == ["broadcast"]
    assert key_param_chunks(get_spec("Multiply"), {}) == []


def test_a_broken_file_still_shows(qtbot):
    doc = Document(project(
        nodes=[{"id": "x", "op": "Input", "params": {"shape": [4]}, "pos": [0, 0]},
               {"id": "mystery", "op": "Frobnicate", "pos": [220, 0]},
               {"id": "fc", "op": "Linear", "pos": [440, 0]},
               {"id": "nowhere", "op": "ReLU"}],
        edges=[{"src": "x", "dst": "mystery"}, {"src": "mystery", "dst": "fc", "src_port": 2},
               {"src": "ghost", "dst": "fc"}, {"src": "x", "dst": "fc", "dst_port": 3}]))
    view = CanvasView(doc)
    qtbot.addWidget(view)
    view.show()
    scene = view.canvas
    mystery = scene.item_for_node["mystery"]
    assert mystery.severity == "error" and "Frobnicate" in mystery.toolTip()
    assert len(mystery.inputs) == 1 and len(mystery.outputs) == 3  # what its edges use
    assert Edge("ghost", "fc") not in scene.edge_items  # nothing to draw it to; fc reports it
    bad = scene.edge_items[Edge("x", "fc", 0, 3)]
    assert bad.error and bad.path().pointAtPercent(1).y() > scene.item_for_node["fc"].inputs[0].scenePos().y()
    assert view.grab().width() > 0
    doc.close()


# ---- drops, links, quick-add ---------------------------------------------------------------------------


def send_drop(view: CanvasView, op: str, at: QPoint) -> bool:
    """What a drag from the palette delivers: enter, move, drop. Returns whether the drop was accepted."""
    mime = QMimeData()
    mime.setData(OP_MIME, op.encode("utf-8"))
    enter = QDragEnterEvent(at, Qt.DropAction.CopyAction, mime, LEFT, NO_MOD)
    QApplication.sendEvent(view.viewport(), enter)
    assert enter.isAccepted()
    move = QDragMoveEvent(at, Qt.DropAction.CopyAction, mime, LEFT, NO_MOD)
    QApplication.sendEvent(view.viewport(), move)
    drop = QDropEvent(QPointF(at), Qt.DropAction.CopyAction, mime, LEFT, NO_MOD)
    QApplication.sendEvent(view.viewport(), drop)
    return drop.isAccepted()


def test_dropping_a_palette_layer_adds_it_where_dropped(view, document):
    at = empty_spot(view)
    count = len(document.graph)
    assert send_drop(view, "Dropout", at)
    assert len(document.graph) == count + 1
    new_id = document.selection[0]
    node = document.graph.node(new_id)
    assert node.op == "Dropout"
    item = view.canvas.item_for_node[new_id]
    assert item.sceneBoundingRect().contains(view.mapToScene(at))
    assert item.isSelected()
    document.undo_stack.undo()
    assert new_id not in document.graph and new_id not in view.canvas.item_for_node


def test_unknown_op_drop_is_refused_with_a_message(view, document, qtbot):
    with qtbot.waitSignal(view.message, timeout=1000) as blocker:
        send_drop(view, "NotALayer", empty_spot(view))
    assert "unknown layer" in blocker.args[0]
    assert len(document.graph) == len(SMALL["nodes"])


def test_dragging_output_to_input_connects(view, document, qtbot):
    before = document.undo_stack.count()
    drag(view, port_pos(view, "flat", True), port_pos(view, "spare", False))
    assert Edge("flat", "spare") in document.graph.edges
    assert Edge("flat", "spare") in view.canvas.edge_items
    assert document.undo_stack.count() == before + 1
    assert view.canvas.link_action is None
    assert all(p.state is PortState.NORMAL for i in view.canvas.item_for_node.values() for p in i.inputs)
    settle(qtbot, document)
    # Backwards, from an input to an output, replaces the edge feeding that input (one undo step).
    drag(view, port_pos(view, "spare", False), port_pos(view, "act", True))
    assert Edge("act", "spare") in document.graph.edges and Edge("flat", "spare") not in document.graph.edges
    document.undo_stack.undo()
    assert Edge("flat", "spare") in document.graph.edges


def test_valid_targets_are_highlighted_during_a_drag(view, document):
    viewport = view.viewport()
    start = port_pos(view, "fc", True)
    QTest.mousePress(viewport, LEFT, NO_MOD, start)
    QTest.mouseMove(viewport, start + QPoint(40, 40))
    action = view.canvas.link_action
    assert action is not None
    items = view.canvas.item_for_node
    assert items["spare"].inputs[0].state is PortState.VALID  # [10] into a Linear: fine
    assert items["conv2"].inputs[0].state is PortState.INVALID  # [10] into a Conv2d: wrong rank
    assert items["conv2"].inputs[0].problem
    assert items["act"].inputs[0].state is PortState.INVALID  # act feeds fc: a loop
    QTest.keyClick(view, Qt.Key.Key_Escape)
    assert view.canvas.link_action is None
    QTest.mouseRelease(viewport, LEFT, NO_MOD, start + QPoint(40, 40))
    assert items["conv2"].inputs[0].state is PortState.NORMAL
    assert len(document.graph.edges) == len(SMALL["edges"])


def test_dropping_on_an_incompatible_port_is_refused_with_the_reason(view, document, qtbot):
    before = (list(document.graph.edges), document.undo_stack.count())
    with qtbot.waitSignal(view.message, timeout=1000) as blocker:
        drag(view, port_pos(view, "fc", True), port_pos(view, "conv2", False))
    reason = document.connection_problem(Edge("fc", "conv2"))
    assert reason and reason in blocker.args[0]
    assert blocker.args[0].startswith("Cannot connect fc → conv2")
    assert (list(document.graph.edges), document.undo_stack.count()) == before
    with qtbot.waitSignal(view.message, timeout=1000) as blocker:
        drag(view, port_pos(view, "fc", True), port_pos(view, "conv", False))
    assert "loop" in blocker.args[0]
    assert list(document.graph.edges) == before[0]


def test_the_reason_tooltip_goes_when_the_drag_ends_or_is_cancelled(view, document, qtbot):
    viewport = view.viewport()
    reason = document.connection_problem(Edge("fc", "conv2"))
    for end in ("release", "escape"):
        start, over = port_pos(view, "fc", True), port_pos(view, "conv2", False)
        QTest.mousePress(viewport, LEFT, NO_MOD, start)
        QTest.mouseMove(viewport, start + QPoint(20, 20))
        QTest.mouseMove(viewport, over)
        assert view.canvas.link_action is not None
        assert QToolTip.isVisible() and QToolTip.text() == reason  # shown while hovering the invalid port
        if end == "release":
            QTest.mouseRelease(viewport, LEFT, NO_MOD, over)
        else:
            QTest.keyClick(view, Qt.Key.Key_Escape)
            QTest.mouseRelease(viewport, LEFT, NO_MOD, over)
        assert view.canvas.link_action is None
        assert not QToolTip.isVisible(), end
    assert len(document.graph.edges) == len(SMALL["edges"])


def test_dropping_a_link_on_empty_canvas_opens_quick_add_wired_to_the_port(view, document, qtbot):
    drag(view, port_pos(view, "flat", True), empty_spot(view))
    popup = view.quick_add
    assert popup.isVisible()
    QTest.keyClicks(popup.edit, "dropout")
    assert popup.current_op() == "Dropout"
    QTest.keyClick(popup.edit, Qt.Key.Key_Return)
    assert not popup.isVisible()
    new_id = document.selection[0]
    assert document.graph.node(new_id).op == "Dropout"
    assert Edge("flat", new_id) in document.graph.edges
    document.undo_stack.undo()  # node and edge were one step
    assert new_id not in document.graph


def test_quick_add_typing_inserts_a_node_wired_to_the_selected_one(view, document, qtbot):
    view.canvas.select_nodes(["flat"])
    assert document.selection == ["flat"]
    view.setFocus()
    QTest.keyClick(view, Qt.Key.Key_L)
    popup = view.quick_add
    assert popup.isVisible() and popup.edit.text() == "l"
    QTest.keyClicks(popup.edit, "inear")
    assert popup.current_op() == "Linear"
    QTest.keyClick(popup.edit, Qt.Key.Key_Down)
    assert popup.current_op() != "Linear"
    QTest.keyClick(popup.edit, Qt.Key.Key_Up)
    QTest.keyClick(popup.edit, Qt.Key.Key_Enter)
    new_id = document.selection[0]
    assert document.graph.node(new_id).op == "Linear"
    assert Edge("flat", new_id) in document.graph.edges
    settle(qtbot, document)
    assert view.canvas.edge_items[Edge("flat", new_id)].error is False
    # Esc closes without adding anything.
    count = len(document.graph)
    QTest.keyClick(view, Qt.Key.Key_R)
    assert popup.isVisible()
    QTest.keyClick(popup.edit, Qt.Key.Key_Escape)
    assert not popup.isVisible() and len(document.graph) == count


@pytest.fixture
def cursor():
    """Tests that move the mouse cursor put it back."""
    old = QCursor.pos()
    yield
    QCursor.setPos(old)


def test_quick_add_places_the_new_layer_sensibly(view, document, cursor):
    view.canvas.select_nodes(["spare"])
    QCursor.setPos(view.mapToGlobal(QPoint(-500, -500)))  # cursor away from the canvas: right of "spare"
    QTest.keyClick(view, Qt.Key.Key_T)
    QTest.keyClicks(view.quick_add.edit, "anh")
    QTest.keyClick(view.quick_add.edit, Qt.Key.Key_Return)
    (first,) = document.selection
    assert Edge("spare", first) in document.graph.edges
    x, y = document.graph.node(first).pos
    assert x == 1100.0 and 200.0 < y <= 340.0  # (1100, 200) is taken by conv2: just below it
    assert card_is_clear(view, first)
    spot = empty_spot(view)
    QCursor.setPos(view.viewport().mapToGlobal(spot))  # cursor on empty canvas: the input port lands there
    QTest.keyClick(view, Qt.Key.Key_S)
    QTest.keyClicks(view.quick_add.edit, "igmoid")
    QTest.keyClick(view.quick_add.edit, Qt.Key.Key_Return)
    (second,) = document.selection
    assert Edge(first, second) in document.graph.edges
    port = view.canvas.item_for_node[second].inputs[0].scenePos()
    assert (vp(view, port) - spot).manhattanLength() <= 3


def card_is_clear(view: CanvasView, node_id: str) -> bool:
    """The card's rectangle touches no other card and no edge but its own."""
    item = view.canvas.item_for_node[node_id]
    rect = QRectF(item.pos(), QSizeF(NODE_WIDTH, item.height))
    for other_id, other in view.canvas.item_for_node.items():
        if other_id != node_id and QRectF(other.pos(), QSizeF(NODE_WIDTH, other.height)).intersects(rect):
            return False
    own = set(item.edges)
    return not any(isinstance(i, EdgeItem) and i not in own for i in view.canvas.items(rect))


def test_a_quick_added_layer_never_lands_on_an_edge_or_a_card(view, document, cursor):
    QCursor.setPos(view.mapToGlobal(QPoint(-500, -500)))
    items = view.canvas.item_for_node
    # Asked for on top of the conv -> act edge, with nothing selected.
    view.canvas.select_nodes([])
    middle = view.canvas.edge_items[Edge("conv", "act")].path().pointAtPercent(0.5)
    view.open_quick_add("dropout", middle, {})
    QTest.keyClick(view.quick_add.edit, Qt.Key.Key_Return)
    (dropped,) = document.selection
    assert document.graph.node(dropped).op == "Dropout" and card_is_clear(view, dropped)
    # Asked for on top of a card, wired from it (the chain continues right of "act": "flat" is there).
    view.open_quick_add("relu", items["flat"].pos() + QPointF(20, 30), {"connect_from": ("act", 0),
                                                                        "auto_place": True})
    QTest.keyClick(view.quick_add.edit, Qt.Key.Key_Return)
    (wired,) = document.selection
    assert Edge("act", wired) in document.graph.edges and card_is_clear(view, wired)
    # A free place is used as it is: far below everything.
    free = QPointF(400, 900)
    view.open_quick_add("tanh", free, {})
    QTest.keyClick(view.quick_add.edit, Qt.Key.Key_Return)
    (tanh,) = document.selection
    assert document.graph.node(tanh).pos == (400 - NODE_WIDTH / 2, 900 - HEADER_H / 2)
    # All in one go: a stack of layers asked for at the same place spread out, none overlapping.
    for _ in range(4):
        view.open_quick_add("sigmoid", middle, {})
        QTest.keyClick(view.quick_add.edit, Qt.Key.Key_Return)
        assert card_is_clear(view, document.selection[0])


def test_typing_a_layer_name_on_the_canvas_types_every_letter_into_quick_add(view, document):
    """No letter is a canvas shortcut: `flatten` typed on the canvas is all in the box (F was Fit once)."""
    view.setFocus()
    before = view.transform()
    QTest.keyClicks(view, "f")
    QTest.keyClicks(view.quick_add.edit, "latten")
    assert view.quick_add.isVisible() and view.quick_add.edit.text() == "flatten"
    assert view.quick_add.current_op() == "Flatten"
    assert view.transform() == before  # nothing fitted
    QTest.keyClick(view.quick_add.edit, Qt.Key.Key_Escape)


def test_quick_add_search_ranks_names_first():
    assert search_catalog("conv2")[0].op == "Conv2d"
    assert search_catalog("norm")[0].op in ("BatchNorm1d", "BatchNorm2d", "LayerNorm", "GroupNorm")
    assert "Linear" in [s.op for s in search_catalog("dense")]  # by keyword
    assert search_catalog("zzzz") == []
    assert len(search_catalog("")) == len(search_catalog(" "))


# ---- selection, delete, move ---------------------------------------------------------------------------


def test_selection_follows_both_ways(view, document):
    document.set_selection(["conv", "fc"])
    assert {i.node_id for i in view.canvas.selectedItems() if isinstance(i, NodeItem)} == {"conv", "fc"}
    QTest.mouseClick(view.viewport(), LEFT, NO_MOD, header_pos(view, "act"))
    assert document.selection == ["act"]
    QTest.mouseClick(view.viewport(), LEFT, Qt.KeyboardModifier.ControlModifier, header_pos(view, "flat"))
    assert document.selection == ["act", "flat"]
    QTest.mouseClick(view.viewport(), LEFT, Qt.KeyboardModifier.ControlModifier, header_pos(view, "act"))
    assert document.selection == ["flat"]
    QTest.mouseClick(view.viewport(), LEFT, Qt.KeyboardModifier.ShiftModifier, header_pos(view, "fc"))
    assert document.selection == ["flat", "fc"]
    QTest.mouseClick(view.viewport(), LEFT, NO_MOD, empty_spot(view))
    assert document.selection == []


def test_rubber_band_selects_the_enclosed_nodes(view, document):
    items = view.canvas.item_for_node
    top_left = vp(view, items["conv"].pos() + QPointF(-20, -30))
    bottom_right = vp(view, items["act"].pos() + QPointF(170, 100))
    drag(view, top_left, bottom_right)
    assert set(document.selection) == {"conv", "act"}


def test_delete_key_removes_the_selection_and_undo_restores_its_edges(view, document):
    edges_before = list(document.graph.edges)
    nodes_before = list(document.graph.nodes)
    view.canvas.select_nodes(["act"])
    view.setFocus()
    QTest.keyClick(view, Qt.Key.Key_Delete)
    assert "act" not in document.graph and "act" not in view.canvas.item_for_node
    assert not any("act" in (e.src, e.dst) for e in view.canvas.edge_items)
    document.undo_stack.undo()
    assert list(document.graph.nodes) == nodes_before
    assert list(document.graph.edges) == edges_before
    assert set(view.canvas.edge_items) == set(edges_before)
    # A selected edge goes with Backspace.
    view.canvas.clearSelection()
    view.canvas.edge_items[Edge("flat", "fc")].setSelected(True)
    QTest.keyClick(view, Qt.Key.Key_Backspace)
    assert Edge("flat", "fc") not in document.graph.edges and "fc" in document.graph


def test_canvas_keys_win_over_window_shortcuts_while_it_has_focus(view, document):
    fired = []
    action = QAction("Delete from the window", view)
    action.setShortcut(QKeySequence(Qt.Key.Key_Delete))
    action.triggered.connect(lambda: fired.append(True))
    view.addAction(action)
    view.canvas.edge_items[Edge("conv", "act")].setSelected(True)
    view.setFocus()
    QTest.keyClick(view, Qt.Key.Key_Delete)
    assert not fired
    assert Edge("conv", "act") not in document.graph.edges


def test_moving_a_node_by_mouse_pushes_exactly_one_undo_command(view, document):
    item = view.canvas.item_for_node["act"]
    before = document.undo_stack.count()
    start = header_pos(view, "act")
    drag(view, start, start + QPoint(80, 120), steps=10)
    assert document.undo_stack.count() == before + 1
    moved = document.graph.node("act").pos
    assert moved != (440.0, 0.0) and moved == (item.pos().x(), item.pos().y())
    edge = view.canvas.edge_items[Edge("conv", "act")]
    assert edge.path().pointAtPercent(1.0) == item.scenePos() + item.input_anchor(0)
    document.undo_stack.undo()
    assert document.graph.node("act").pos == (440.0, 0.0) and item.pos() == QPointF(440, 0)
    assert edge.path().pointAtPercent(1.0) == QPointF(440, 0) + item.input_anchor(0)
    # A click without a drag pushes nothing.
    QTest.mouseClick(view.viewport(), LEFT, NO_MOD, header_pos(view, "act"))
    assert document.undo_stack.count() == before + 1 and document.undo_stack.index() == before


def test_moving_several_selected_nodes_is_one_step(view, document):
    view.canvas.select_nodes(["conv", "act"])
    before = document.undo_stack.count()
    start = header_pos(view, "conv")
    drag(view, start, start + QPoint(0, 90))
    assert document.undo_stack.count() == before + 1
    assert document.graph.node("conv").pos[1] > 0 and document.graph.node("act").pos[1] > 0
    QTest.keyClick(view, Qt.Key.Key_Right)
    assert document.undo_stack.count() == before + 2


# ---- clipboard -----------------------------------------------------------------------------------------


def test_copy_paste_duplicates_with_fresh_ids(view, document):
    view.canvas.select_nodes(["conv", "act"])
    view.setFocus()
    QTest.keyClick(view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    mime = QGuiApplication.clipboard().mimeData()
    assert mime.hasFormat(NODES_MIME)
    nodes, edges = nodes_from_json(bytes(mime.data(NODES_MIME).data()))
    assert [n.id for n in nodes] == ["conv", "act"] and edges == [Edge("conv", "act")]
    count = len(document.graph)
    QTest.keyClick(view, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert len(document.graph) == count + 2
    new_ids = document.selection
    assert len(new_ids) == 2 and not set(new_ids) & {"conv", "act"}
    assert Edge(new_ids[0], new_ids[1]) in document.graph.edges
    assert document.graph.node(new_ids[0]).params == document.graph.node("conv").params
    assert all(view.canvas.item_for_node[i].isSelected() for i in new_ids)
    document.undo_stack.undo()  # the paste is one step
    assert len(document.graph) == count
    QTest.keyClick(view, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)  # duplicate: nothing selected
    view.canvas.select_nodes(["fc"])
    QTest.keyClick(view, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    (dup,) = document.selection
    assert dup != "fc" and document.graph.node(dup).op == "Linear"
    assert document.graph.node(dup).pos == (920.0, 40.0)


def test_cut_removes_and_paste_brings_back(view, document):
    view.canvas.select_nodes(["spare"])
    view.cut()
    assert "spare" not in document.graph
    (pasted,) = view.paste()
    assert pasted == "spare"  # the id is free again, so it is kept


def test_pasting_malformed_clipboard_is_refused(view, document, qtbot):
    mime = QMimeData()
    mime.setData(NODES_MIME, b'{"nodes": [{"op": 3}]}')
    QGuiApplication.clipboard().setMimeData(mime)
    with qtbot.waitSignal(view.message, timeout=1000) as blocker:
        assert view.paste() == []
    assert "cannot paste" in blocker.args[0]
    assert len(document.graph) == len(SMALL["nodes"])


# ---- errors, navigation, read-only ---------------------------------------------------------------------


def count_colour(image: QImage, colour: QColor, tolerance: int = 40) -> int:
    hits = 0
    for y in range(0, image.height(), 2):
        for x in range(0, image.width(), 2):
            c = image.pixelColor(x, y)
            if (abs(c.red() - colour.red()) + abs(c.green() - colour.green())
                    + abs(c.blue() - colour.blue())) < tolerance:
                hits += 1
    return hits


def render_item(view: CanvasView, node_id: str) -> QImage:
    item = view.canvas.item_for_node[node_id]
    rect = item.sceneBoundingRect()
    image = QImage(int(rect.width()), int(rect.height()), QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.white)
    painter = QPainter(image)
    view.canvas.render(painter, source=rect)
    painter.end()
    return image


def test_a_node_with_an_error_is_red_with_the_message_as_tooltip(view, document):
    item = view.canvas.item_for_node["conv2"]  # its input is not connected
    assert item.severity == "error"
    message = document.result.for_node("conv2")[0].message
    assert message in item.toolTip()
    assert count_colour(render_item(view, "conv2"), ERROR_COLOR) > 20
    assert count_colour(render_item(view, "fc"), ERROR_COLOR) == 0
    assert view.canvas.item_for_node["fc"].severity is None


def test_an_edge_into_a_shape_error_is_red(view, document, qtbot):
    document.set_param("fc", "in_features", 99)  # disagrees with the 4704 values flat gives
    settle(qtbot, document)
    edge = view.canvas.edge_items[Edge("flat", "fc")]
    assert view.canvas.item_for_node["fc"].severity == "error"
    assert edge.error and "in_features is 99" in edge.toolTip()
    assert not view.canvas.edge_items[Edge("fc", "logits")].error
    document.undo_stack.undo()
    settle(qtbot, document)
    assert not edge.error


def test_fit_all_keeps_every_node_visible(view, document):
    document.move_nodes({"spare": ((880.0, 200.0), (4000.0, 2500.0)), "image": ((0.0, 0.0), (-900.0, -700.0))})
    view.fit_all()
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    for item in view.canvas.item_for_node.values():
        assert visible.contains(item.sceneBoundingRect()), item.node_id
    QTest.keyClick(view, Qt.Key.Key_Home)  # the Home key does the same
    assert view.mapToScene(view.viewport().rect()).boundingRect().contains(view.canvas.nodes_rect())


def wheel(view: CanvasView, at: QPoint, delta: int) -> None:
    event = QWheelEvent(QPointF(at), QPointF(view.viewport().mapToGlobal(at)), QPoint(), QPoint(0, delta),
                        Qt.MouseButton.NoButton, NO_MOD, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(view.viewport(), event)


def test_wheel_zooms_around_the_cursor_within_limits(view):
    at = QPoint(300, 200)
    anchor = view.mapToScene(at)
    zoom = view.zoom()
    wheel(view, at, 120)
    assert view.zoom() > zoom
    assert (view.mapToScene(at) - anchor).manhattanLength() < 2 / view.zoom() + 1
    for _ in range(40):
        wheel(view, at, 120)
    assert view.zoom() == pytest.approx(4.0)
    for _ in range(80):
        wheel(view, at, -120)
    assert view.zoom() == pytest.approx(0.1)


def test_middle_button_and_space_drag_pan(view):
    viewport = view.viewport()
    before = view.mapToScene(QPoint(0, 0))
    QTest.mousePress(viewport, Qt.MouseButton.MiddleButton, NO_MOD, QPoint(400, 300))
    QTest.mouseMove(viewport, QPoint(300, 250))
    QTest.mouseRelease(viewport, Qt.MouseButton.MiddleButton, NO_MOD, QPoint(300, 250))
    shift = (view.mapToScene(QPoint(0, 0)) - before) * view.zoom()
    assert (round(shift.x()), round(shift.y())) == (100, 50)
    before = view.mapToScene(QPoint(0, 0))
    QTest.keyPress(view, Qt.Key.Key_Space)
    drag(view, empty_spot(view), empty_spot(view) + QPoint(40, -40))
    QTest.keyRelease(view, Qt.Key.Key_Space)
    shift = (view.mapToScene(QPoint(0, 0)) - before) * view.zoom()
    assert (round(shift.x()), round(shift.y())) == (-40, 40)


def test_center_on_and_double_click_activation(view, document, qtbot):
    view.center_on("logits")
    centre = view.mapToScene(view.viewport().rect().center())
    assert view.canvas.item_for_node["logits"].sceneBoundingRect().contains(centre)
    with qtbot.waitSignal(view.node_activated, timeout=1000) as blocker:
        QTest.mouseDClick(view.viewport(), LEFT, NO_MOD, header_pos(view, "logits"))
    assert blocker.args == ["logits"]


def test_read_only_refuses_edits_but_allows_moves(view, document, qtbot):
    document.set_read_only(True)
    view.canvas.select_nodes(["act"])
    with qtbot.waitSignal(view.message, timeout=1000) as blocker:
        QTest.keyClick(view, Qt.Key.Key_Delete)
    assert "training" in blocker.args[0] and "act" in document.graph
    with qtbot.waitSignal(view.message, timeout=1000):
        drag(view, port_pos(view, "flat", True), port_pos(view, "spare", False))
    assert Edge("flat", "spare") not in document.graph.edges
    with qtbot.waitSignal(view.message, timeout=1000):
        QTest.keyClick(view, Qt.Key.Key_R)  # no quick-add
    assert not view.quick_add.isVisible()
    with qtbot.waitSignal(view.message, timeout=1000):
        send_drop(view, "ReLU", empty_spot(view))
    assert len(document.graph) == len(SMALL["nodes"])
    start = header_pos(view, "act")
    drag(view, start, start + QPoint(0, 60))
    assert document.graph.node("act").pos != (440.0, 0.0)


def test_context_menu_offers_the_edits(view, qtbot):
    seen = []

    def close_menu():
        menu = QApplication.activePopupWidget()
        if menu is None:  # not shown yet
            QTimer.singleShot(20, close_menu)
            return
        seen.extend(a.text() for a in menu.actions() if a.text())
        menu.close()

    QTimer.singleShot(50, close_menu)
    at = header_pos(view, "conv")
    event = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, at, view.viewport().mapToGlobal(at))
    QApplication.sendEvent(view.viewport(), event)
    assert {"Copy", "Duplicate", "Delete"} <= set(seen)
    assert view.document.selection == ["conv"]


# ---- the picture ---------------------------------------------------------------------------------------


def test_a_template_renders(qtbot, tmp_path):
    doc = Document(load_template("lenet5"))
    view = CanvasView(doc)
    qtbot.addWidget(view)
    view.resize(1400, 500)
    view.show()
    qtbot.waitExposed(view)
    view.fit_all()
    image = view.grab().toImage()
    path = tmp_path / "canvas.png"
    assert image.save(str(path)) and path.stat().st_size > 5000
    assert all(i.severity is None for i in view.canvas.item_for_node.values())
    assert all(isinstance(i, EdgeItem | NodeItem | PortItem) for i in view.canvas.items())
    doc.close()
