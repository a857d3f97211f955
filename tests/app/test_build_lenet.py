"""LeNet-5 built by hand in the real main window, the way a person builds it: layers dropped from the palette
onto the canvas, names and parameters typed into the inspector's editors, layers wired by dragging from port
to port with the mouse; then saved through the window's Save command, undone back to the empty canvas and
redone to the same JSON. And the refusals on the same path: an invalid link dragged between ports, a bad
value typed into the inspector, a bad name.

How each gesture is delivered (offscreen Qt, pytest-qt):

- Palette drops. A real drag starts with `QDrag.exec()`, which runs the platform's blocking drag loop; the
  offscreen platform has no window-system drag that QTest's synthetic mouse events can steer from outside
  that loop. So the test takes the mime data the palette's drag carries (`PalettePanel.mime_data_for`, what
  `_OpTree.startDrag` puts on the QDrag) and delivers to the canvas viewport exactly what Qt's drag manager
  delivers to a drop target: QDragEnterEvent, QDragMoveEvent, QDropEvent (`QApplication.sendEvent`).
- Typing. Each value goes into the inspector's own editor widget (the id QLineEdit, the param's QSpinBox or
  QLineEdit) with `qtbot.keyClicks` and Return. The field's old text is selected with the widget's
  `selectAll()` first, as a person selects it before typing over it (a Ctrl+A key event would race the
  window's own Ctrl+A shortcut depending on which widget the offscreen platform reports as focused).
- Links. `QTest.mousePress` / `mouseMove` / `mouseRelease` on the canvas viewport at the ports' positions
  mapped from the scene, so the scene's hit-testing, the link gesture and its refusal run for real.

The saved graph is compared with the template's on ids, ops, edges (in order) and parameters. Parameters are
compared with the layer's defaults filled in: the template writes some defaults out (Input shape [1, 28, 28],
MaxPool2d kernel_size 2, conv2's 16 channels) and an editor cannot store a value the layer already has by
default (typing the default is "no change", by design), so the file written from the UI omits those keys.
Everything else must be equal as written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from app.autosave import Autosaver, AutosaveSession
from app.canvas.appearance import HEADER_H, LOD_PORTS, NODE_WIDTH
from app.main_window import MainWindow
from app.settings import open_settings
from graph_engine.catalog import get_spec
from graph_engine.catalog.spec import REQUIRED
from graph_engine.codegen import generate_code
from graph_engine.graph import Edge
from graph_engine.params import validate_value
from graph_engine.project_io import load_project, project_to_json
from graph_engine.templates import get_template, load_template

LEFT = Qt.MouseButton.LeftButton
NO_MOD = Qt.KeyboardModifier.NoModifier
CELL_W, CELL_H = 250.0, 170.0  # scene spacing of the drop grid: room for a card and its ports
COLUMNS = 5


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Settings and autosaves go to tmp_path: a test never touches the person's own."""
    monkeypatch.setenv("LAYERLOOM_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("LAYERLOOM_STATE_DIR", str(tmp_path / "state"))


class Recorder:
    """Answers the window's questions without a modal dialog and records the errors it would show."""

    def __init__(self, window: MainWindow, save_path: Path):
        self.errors: list[tuple[str, str, str]] = []
        self.save_path = save_path
        window.show_error = lambda title, text, details="": self.errors.append((title, text, details))
        window.ask_save_changes = lambda: "discard"
        window.ask_save_path = lambda suggested: self.save_path


@pytest.fixture
def window(qtbot, tmp_path):
    autosaver = Autosaver(AutosaveSession(tmp_path / "state"), interval_ms=60_000)
    win = MainWindow(settings=open_settings(), autosaver=autosaver)
    qtbot.addWidget(win)
    win.recorder = Recorder(win, tmp_path / "lenet.layerloom.json")
    win.resize(1400, 900)
    win.show()
    qtbot.waitExposed(win)
    return win


def template_graph() -> dict[str, Any]:
    return json.loads(get_template("lenet5").path.read_text(encoding="utf-8"))["graph"]


# ---- gestures ----------------------------------------------------------------------------------------------


def open_empty_project(window: MainWindow, qtbot) -> None:
    """A click on the welcome page's "New empty project"; wait until the docks and the canvas have settled."""
    assert window.welcome_visible
    qtbot.mouseClick(window.welcome.new_button, LEFT)
    assert not window.welcome_visible
    assert len(window.document.graph) == 0
    qtbot.wait(50)  # the first-show dock sizes and the document's fit run from zero-delay timers


def open_template_from_welcome(window: MainWindow, qtbot, name: str) -> None:
    """A click on a template card of the welcome gallery; wait for the first fit to have run."""
    assert window.welcome_visible
    qtbot.mouseClick(window.welcome.gallery.card(name), LEFT)
    assert not window.welcome_visible and window.document.path is None
    qtbot.wait(50)


def zoom_out_to_fit_grid(window: MainWindow, rows: int) -> QPointF:
    """View > Zoom Out until a grid of COLUMNS x rows cards fits in the canvas (ports stay visible); returns
    the grid's scene origin, near the canvas' top-left corner."""
    canvas = window.canvas
    need_w, need_h = COLUMNS * CELL_W + 40, rows * CELL_H + 40
    while canvas.viewport().width() / canvas.zoom() < need_w or canvas.viewport().height() / canvas.zoom() < need_h:
        before = canvas.zoom()
        window.actions_by_name["zoom_out"].trigger()
        assert canvas.zoom() < before
    assert canvas.zoom() >= LOD_PORTS, "the window is too small for the drop grid: ports would be hidden"
    origin = canvas.mapToScene(QPoint(20, 20))
    return QPointF(round(origin.x()), round(origin.y()))


def grid_top_left(origin: QPointF, index: int) -> QPointF:
    """Scene top-left of the index-th card of the drop grid."""
    row, col = divmod(index, COLUMNS)
    return origin + QPointF(col * CELL_W, row * CELL_H)


def drop_from_palette(window: MainWindow, op: str, top_left: QPointF) -> str:
    """Drag `op` out of the palette and drop it so its card's top-left lands at `top_left`; returns its id."""
    palette, canvas = window.palette_panel, window.canvas
    item = palette.item_for_op(op)
    assert item is not None and not item.isHidden() and item.flags() & Qt.ItemFlag.ItemIsDragEnabled
    mime = palette.mime_data_for(op)
    # The canvas centres the card's header on the drop point.
    at = canvas.mapFromScene(top_left + QPointF(NODE_WIDTH / 2, HEADER_H / 2))
    viewport = canvas.viewport()
    before = set(window.document.graph.nodes)
    enter = QDragEnterEvent(at, Qt.DropAction.CopyAction, mime, LEFT, NO_MOD)
    QApplication.sendEvent(viewport, enter)
    assert enter.isAccepted()
    move = QDragMoveEvent(at, Qt.DropAction.CopyAction, mime, LEFT, NO_MOD)
    QApplication.sendEvent(viewport, move)
    assert move.isAccepted()
    drop = QDropEvent(QPointF(at), Qt.DropAction.CopyAction, mime, LEFT, NO_MOD)
    QApplication.sendEvent(viewport, drop)
    assert drop.isAccepted()
    (new_id,) = set(window.document.graph.nodes) - before
    assert window.document.graph.node(new_id).op == op
    assert window.document.selection == [new_id]  # selected, so the inspector shows it
    return new_id


def type_into(qtbot, field, text: str) -> None:
    """Select the field's text, type over it, press Return."""
    field.selectAll()
    qtbot.keyClicks(field, text)
    qtbot.keyClick(field, Qt.Key.Key_Return)


def rename_in_inspector(window: MainWindow, qtbot, new_id: str) -> None:
    inspector = window.inspector_panel
    type_into(qtbot, inspector.id_edit, new_id)
    assert inspector.id_error == "", inspector.id_error
    assert inspector.node_id == new_id and window.document.selection == [new_id]


def value_text(value: Any) -> str:
    return ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)


def param_field(window: MainWindow, name: str):
    """The widget a person types `name`'s value into: the editor's spin box or line edit."""
    editor = window.inspector_panel.editors[name]
    field = getattr(editor, "spin", None) or getattr(editor, "line", None)
    assert field is not None and field.isVisibleTo(window.inspector_panel), name
    return editor, field


def set_param_in_inspector(window: MainWindow, qtbot, name: str, value: Any) -> None:
    editor, field = param_field(window, name)
    type_into(qtbot, field, value_text(value))
    assert editor.message_text() == "", editor.message_text()


def port_point(window: MainWindow, node_id: str, is_output: bool, index: int = 0) -> QPoint:
    port = window.canvas.canvas.item_for_node[node_id].port(is_output, index)
    assert port is not None and port.isVisible()
    return window.canvas.mapFromScene(port.scenePos())


def drag_link(window: MainWindow, src: str, dst: str, steps: int = 5) -> None:
    """Press on src's output port, move to dst's input port, release there."""
    viewport = window.canvas.viewport()
    start, end = port_point(window, src, True), port_point(window, dst, False)
    QTest.mousePress(viewport, LEFT, NO_MOD, start)
    assert window.canvas.canvas.link_action is not None, f"no link drag started on {src}'s output port"
    for i in range(1, steps + 1):
        p = start + (end - start) * (i / steps)
        QTest.mouseMove(viewport, QPoint(round(p.x()), round(p.y())))
    QTest.mouseRelease(viewport, LEFT, NO_MOD, end)
    assert window.canvas.canvas.link_action is None


def click_card(window: MainWindow, node_id: str) -> None:
    item = window.canvas.canvas.item_for_node[node_id]
    QTest.mouseClick(window.canvas.viewport(), LEFT, NO_MOD, window.canvas.mapFromScene(item.pos() + QPointF(60, 12)))


def settle(window: MainWindow, qtbot) -> None:
    """Let the document's coalesced check run (it is started from a zero-delay timer)."""
    qtbot.waitUntil(lambda: not window.document._check_timer.isActive(), timeout=2000)


# ---- comparing graphs ----------------------------------------------------------------------------------------


def effective_params(node: dict[str, Any]) -> dict[str, Any]:
    """The node's params with the layer's defaults filled in (inferred and required ones only when given)."""
    spec = get_spec(node["op"])
    params = {p.name: p.default for p in spec.params if not p.is_inferred and p.default is not REQUIRED}
    params.update(node.get("params", {}))
    return params


def assert_same_graph(saved: dict[str, Any], template: dict[str, Any]) -> None:
    assert [(n["id"], n["op"]) for n in saved["nodes"]] == [(n["id"], n["op"]) for n in template["nodes"]]
    assert saved["edges"] == template["edges"]
    for mine, theirs in zip(saved["nodes"], template["nodes"], strict=True):
        assert effective_params(mine) == effective_params(theirs), mine["id"]
        # Every key the UI wrote is in the template with the same value; the template's extra keys are defaults.
        assert all(theirs.get("params", {}).get(k) == v for k, v in mine.get("params", {}).items()), mine["id"]
        assert set(mine) - {"pos"} <= set(theirs), mine["id"]


# ---- the tests -------------------------------------------------------------------------------------------------


def build_lenet_by_hand(window: MainWindow, qtbot) -> None:
    template = template_graph()
    nodes = template["nodes"]
    origin = zoom_out_to_fit_grid(window, rows=-(-len(nodes) // COLUMNS))
    for index, node in enumerate(nodes):
        default_id = drop_from_palette(window, node["op"], grid_top_left(origin, index))
        assert window.inspector_panel.node_id == default_id
        rename_in_inspector(window, qtbot, node["id"])
        for name, value in node.get("params", {}).items():
            set_param_in_inspector(window, qtbot, name, value)
    for edge in template["edges"]:
        drag_link(window, edge["src"], edge["dst"])
        assert Edge(edge["src"], edge["dst"]) in window.document.graph.edges, window.statusBar().currentMessage()


def test_build_lenet5_by_hand_save_undo_to_empty_redo(window, qtbot, tmp_path):
    open_empty_project(window, qtbot)
    doc = window.document
    empty_json = project_to_json(doc.project)
    assert window.canvas._empty_label.isVisible()  # "Drag layers here from the palette..."

    build_lenet_by_hand(window, qtbot)
    settle(window, qtbot)
    assert doc.result.ok, doc.result.diagnostics
    assert str(doc.result.shape("pool2")) == "[16, 5, 5]" and str(doc.result.shape("fc3")) == "[10]"
    assert set(window.canvas.canvas.item_for_node) == set(doc.graph.nodes)
    assert set(window.canvas.canvas.edge_items) == set(doc.graph.edges)
    assert not window.canvas._empty_label.isVisible()
    window.code_dock.raise_()  # the Code tab shows the generated model
    qtbot.waitUntil(lambda: "class Untitled" in window.code_panel.text(), timeout=3000)

    # Save: the window's Save action; an untitled project asks for a path (answered with tmp_path).
    window.actions_by_name["save"].trigger()
    path = window.recorder.save_path
    assert window.recorder.errors == []
    assert doc.path == path and not doc.dirty
    saved_text = path.read_text(encoding="utf-8")
    assert saved_text == project_to_json(doc.project)
    saved = json.loads(saved_text)
    assert saved["name"] == path.name.split(".")[0]  # an untitled project takes the file's name
    assert_same_graph(saved["graph"], template_graph())
    # The same network: the code generated from the file equals the template's (under the template's name).
    mine = load_project(saved)
    mine.name = "LeNet-5"
    assert generate_code(mine) == generate_code(load_template("lenet5"))

    # Undo (Edit > Undo) all the way: the empty project, byte for byte, and an empty canvas.
    undo, redo = window.actions_by_name["undo"], window.actions_by_name["redo"]
    steps = doc.undo_stack.count()
    assert steps >= len(saved["graph"]["nodes"]) * 2 + len(saved["graph"]["edges"])
    while doc.undo_stack.canUndo():
        assert undo.isEnabled()
        undo.trigger()
    # Saving named the project; undo takes back the edits, not the name the save gave it.
    assert project_to_json(doc.project) == empty_json.replace('"name": "Untitled"', f'"name": {json.dumps(saved["name"])}')
    assert window.canvas.canvas.item_for_node == {} and window.canvas.canvas.edge_items == {}
    assert doc.dirty
    settle(window, qtbot)

    # Redo (Edit > Redo) all the way: the saved file again, and the document is clean again.
    while doc.undo_stack.canRedo():
        assert redo.isEnabled()
        redo.trigger()
    assert project_to_json(doc.project) == saved_text
    assert not doc.dirty
    assert set(window.canvas.canvas.item_for_node) == set(doc.graph.nodes)
    assert set(window.canvas.canvas.edge_items) == set(doc.graph.edges)
    settle(window, qtbot)
    assert doc.result.ok


def test_an_invalid_link_dragged_on_the_canvas_is_refused_with_its_reason(window, qtbot):
    open_template_from_welcome(window, qtbot, "lenet5")
    doc = window.document
    # A fitted 14-layer chain is drawn too small for ports; go to 100% around fc3, as a person zooms in.
    window.actions_by_name["zoom_reset"].trigger()
    window.canvas.center_on("fc3")
    fc3 = window.canvas.canvas.item_for_node["fc3"].pos()
    probe = drop_from_palette(window, "Conv2d", fc3 + QPointF(0, 180))
    settle(window, qtbot)
    before_json, before_steps = project_to_json(doc.project), doc.undo_stack.count()

    # fc3 gives a [10] vector; a Conv2d needs [channels, height, width].
    reason = doc.connection_problem(Edge("fc3", probe))
    assert reason
    drag_link(window, "fc3", probe)
    assert window.statusBar().currentMessage() == f"Cannot connect fc3 → {probe}: {reason}"
    assert (project_to_json(doc.project), doc.undo_stack.count()) == (before_json, before_steps)
    assert Edge("fc3", probe) not in window.canvas.canvas.edge_items

    # A loop: act4 feeds fc3.
    drag_link(window, "fc3", "act4")
    message = window.statusBar().currentMessage()
    assert message.startswith("Cannot connect fc3 → act4: ") and "loop" in message
    assert (project_to_json(doc.project), doc.undo_stack.count()) == (before_json, before_steps)


def engine_reason(op: str, param: str, value: Any) -> str:
    reason = validate_value(get_spec(op).param(param), value)
    assert reason and "between 1 and" in reason
    return reason


def test_bad_values_typed_in_the_inspector_are_refused_and_change_nothing(window, qtbot):
    open_template_from_welcome(window, qtbot, "lenet5")
    doc = window.document
    window.actions_by_name["zoom_reset"].trigger()
    window.canvas.center_on("conv1")
    click_card(window, "conv1")
    assert doc.selection == ["conv1"] and window.inspector_panel.node_id == "conv1"
    settle(window, qtbot)
    before_json, before_steps = project_to_json(doc.project), doc.undo_stack.count()

    def unchanged() -> bool:
        return project_to_json(doc.project) == before_json and doc.undo_stack.count() == before_steps

    # out_channels 0: below the spin box's range, refused with the range.
    editor, spin = param_field(window, "out_channels")
    type_into(qtbot, spin, "0")
    assert editor.message_text() == engine_reason("Conv2d", "out_channels", 0)  # "... between 1 and ..."
    assert spin.value() == 6 and unchanged()
    # kernel_size 0 likewise.
    editor, spin = param_field(window, "kernel_size")
    type_into(qtbot, spin, "0")
    assert editor.message_text() == engine_reason("Conv2d", "kernel_size", 0)
    assert spin.value() == 5 and unchanged()

    # The input's shape: text that is not numbers, then numbers the engine refuses (a zero-size dimension).
    click_card(window, "image")
    assert window.inspector_panel.node_id == "image"
    editor, line = param_field(window, "shape")
    type_into(qtbot, line, "1, x, 28")
    assert "not a whole number" in editor.message_text() and line.text() == "1, 28, 28" and unchanged()
    type_into(qtbot, line, "1, 0, 28")
    assert editor.message_text() == engine_reason("Input", "shape", [1, 0, 28])
    assert line.text() == "1, 28, 28" and unchanged()

    # A name that breaks the id rules, and a name already taken.
    inspector = window.inspector_panel
    type_into(qtbot, inspector.id_edit, "class")
    assert "keyword" in inspector.id_error and inspector.id_edit.text() == "image" and unchanged()
    type_into(qtbot, inspector.id_edit, "conv1")
    assert "already" in inspector.id_error and unchanged()

    # A good value afterwards is taken, one undo step, and clears the message.
    type_into(qtbot, line, "1, 32, 32")
    assert editor.message_text() == "" and doc.graph.node("image").params["shape"] == [1, 32, 32]
    assert doc.undo_stack.count() == before_steps + 1
