"""The main window, driven with qtbot: docks and menus, shortcuts, the title, templates, save/open, errors
that keep the document, the unsaved-changes prompt, recent files, dropped files, the welcome page, the crash
report. Every question the window asks goes through an `ask_*`/`show_error` method that these tests answer
(one test answers a real QMessageBox instead)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QApplication, QDockWidget, QMessageBox, QUndoView

from app.autosave import Autosaver, AutosaveSession
from app.crash_report import CrashDialog, CrashReporter, build_report
from app.document import Document
from app.main_window import MainWindow
from app.settings import open_settings
from app.welcome import EMPTY, NewProjectDialog
from graph_engine.errors import ProjectError
from graph_engine.graph import Edge
from graph_engine.project_io import project_to_json
from graph_engine.templates import get_template, list_templates

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Settings and autosaves go to tmp_path: a test never touches the person's own."""
    monkeypatch.setenv("LAYERLOOM_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("LAYERLOOM_STATE_DIR", str(tmp_path / "state"))


class Answers:
    """Records what the window showed and answers its questions. (Never raise from these: they run inside
    Qt event handlers such as closeEvent, and pytest-qt closes the windows before fixtures are torn down.)"""

    def __init__(self, window: MainWindow):
        self.errors: list[tuple[str, str, str]] = []
        self.save_answer = "discard"
        self.prompts = 0
        window.show_error = lambda title, text, details="": self.errors.append((title, text, details))
        window.ask_save_changes = self._ask_save

    def _ask_save(self) -> str:
        self.prompts += 1
        return self.save_answer


def make_window(qtbot, tmp_path, name: str = "w", resize: bool = True) -> tuple[MainWindow, Answers]:
    autosaver = Autosaver(AutosaveSession(tmp_path / "state"), interval_ms=60_000)
    window = MainWindow(settings=open_settings(), autosaver=autosaver)
    window.setObjectName(f"mainWindow-{name}")
    qtbot.addWidget(window)
    answers = Answers(window)
    if resize:
        window.resize(1200, 800)
    window.show()
    qtbot.waitExposed(window)
    return window, answers


@pytest.fixture
def win(qtbot, tmp_path):
    window, answers = make_window(qtbot, tmp_path)
    return window, answers


def template_path(name: str) -> Path:
    return get_template(name).path


def edit(document: Document) -> str:
    """One real edit (one undo step): a Dropout after the first layer."""
    first = next(iter(document.graph.nodes))
    return document.add_node("Dropout", (0.0, 400.0), connect_from=(first, 0))


# ---- layout, menus, shortcuts ----------------------------------------------------------------------------


def test_starts_on_the_welcome_page_with_docks_hidden(win):
    window, _ = win
    assert window.welcome_visible
    assert window.centralWidget().currentWidget() is window.welcome
    assert window.windowTitle() == "LayerLoom"
    assert all(dock.isHidden() for dock in window.docks)
    assert not window.actions_by_name["save"].isEnabled()
    assert len(window.welcome.gallery.cards) == len(list_templates()) >= 3


def test_docks_panels_and_history_once_a_project_is_open(win, qtbot):
    window, _ = win
    assert window.new_from_template("lenet5")
    assert not window.welcome_visible
    assert window.centralWidget().currentWidget() is window.editor_area
    assert window.editor_area.canvas_host.currentWidget() is window.canvas and window.canvas.isVisible()
    area = window.dockWidgetArea
    assert area(window.palette_dock) == Qt.DockWidgetArea.LeftDockWidgetArea
    assert area(window.inspector_dock) == Qt.DockWidgetArea.RightDockWidgetArea
    assert area(window.code_dock) == Qt.DockWidgetArea.RightDockWidgetArea
    assert area(window.diagnostics_dock) == Qt.DockWidgetArea.BottomDockWidgetArea
    assert window.code_dock in window.tabifiedDockWidgets(window.inspector_dock)
    assert all(not dock.isHidden() for dock in window.docks)
    assert window.palette_dock.widget() is window.palette_panel
    assert window.inspector_dock.widget() is window.inspector_panel
    assert window.diagnostics_dock.widget() is window.diagnostics_panel
    assert window.code_dock.widget() is window.code_panel
    assert isinstance(window.history_dock.widget(), QUndoView)
    assert window.status_info.isVisibleTo(window)
    # The View menu's toggles hide and show the docks.
    toggle = window.dock_actions["problemsDock"]
    toggle.trigger()
    assert window.diagnostics_dock.isHidden()
    toggle.trigger()
    assert not window.diagnostics_dock.isHidden()
    # The history follows the document's undo stack.
    edit(window.document)
    assert window.undo_group.activeStack() is window.document.undo_stack
    assert window.history_view.stack() is window.document.undo_stack
    assert window.document.undo_stack.count() == 1


def test_canvas_messages_reach_the_status_bar(win):
    window, _ = win
    window.new_from_template("lenet5")
    window.canvas.message.emit("Cannot connect: shapes differ")
    assert window.statusBar().currentMessage() == "Cannot connect: shapes differ"


def test_only_one_tab_bar_per_tabbed_dock_group(win, qtbot):
    from PySide6.QtWidgets import QTabBar

    window, _ = win
    window.new_from_template("lenet5")
    qtbot.wait(10)
    shown = [tuple(bar.tabText(i) for i in range(bar.count())) for bar in window.findChildren(QTabBar)
             if bar.isVisible() and bar.parent() is window]
    assert sorted(shown) == [("Inspector", "Code"), ("Problems", "History")]


SHORTCUTS = {
    "new": ["Ctrl+N"], "open": ["Ctrl+O"], "save": ["Ctrl+S"], "save_as": ["Ctrl+Shift+S"], "export_code": ["Ctrl+E"],
    "quit": ["Ctrl+Q"], "undo": ["Ctrl+Z"], "redo": ["Ctrl+Y", "Ctrl+Shift+Z"], "cut": ["Ctrl+X"],
    "copy": ["Ctrl+C"], "paste": ["Ctrl+V"], "duplicate": ["Ctrl+D"], "delete": ["Del"], "select_all": ["Ctrl+A"],
    "find_layer": ["Ctrl+F"], "fit": ["Home"], "zoom_in": ["Ctrl++"], "zoom_out": ["Ctrl+-"], "zoom_reset": ["Ctrl+0"],
    "tidy": ["Ctrl+L"],
}


@pytest.mark.parametrize("name", sorted(SHORTCUTS))
def test_actions_have_conventional_shortcuts(win, name):
    window, _ = win
    action = window.actions_by_name[name]
    keys = [k.toString(QKeySequence.SequenceFormat.PortableText) for k in action.shortcuts()]
    for expected in SHORTCUTS[name]:
        assert expected in keys, (name, keys)
    assert action.shortcut().toString(QKeySequence.SequenceFormat.PortableText) == SHORTCUTS[name][0]


def test_menus_hold_the_actions(win):
    window, _ = win
    menus = {m.title().replace("&", ""): m for m in (a.menu() for a in window.menuBar().actions()) if m}
    assert list(menus) == ["File", "Edit", "View", "Train", "Help"]
    file_names = [a.objectName() for a in menus["File"].actions()]
    for name in ("new", "open", "save", "save_as", "export_code", "close_project", "quit"):
        assert name in file_names
    assert window.recent_menu.menuAction() in menus["File"].actions()
    edit_names = [a.objectName() for a in menus["Edit"].actions()]
    for name in ("undo", "redo", "cut", "copy", "paste", "duplicate", "delete", "select_all", "find_layer"):
        assert name in edit_names
    view_names = [a.objectName() for a in menus["View"].actions()]
    for name in ("fit", "zoom_in", "zoom_out", "tidy"):
        assert name in view_names
    toggles = window.panels_menu.actions()
    for dock in window.docks:
        assert dock.toggleViewAction() in toggles


def test_shortcut_keys_reach_the_document(win, qtbot):
    window, _ = win
    window.new_from_template("lenet5")
    window.activateWindow()
    window.canvas.setFocus()
    qtbot.waitUntil(lambda: window.canvas.hasFocus())
    before = project_to_json(window.document.project)
    edit(window.document)
    qtbot.keyClick(window.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert project_to_json(window.document.project) == before
    qtbot.keyClick(window.canvas, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert project_to_json(window.document.project) != before
    # Delete removes the selected layer; Ctrl+Shift+Z is redo too.
    window.document.set_selection(["act1"])
    qtbot.keyClick(window.canvas, Qt.Key.Key_Delete)
    assert "act1" not in window.document.graph
    qtbot.keyClick(window.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert "act1" in window.document.graph
    qtbot.keyClick(window.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier
                   | Qt.KeyboardModifier.ShiftModifier)
    assert "act1" not in window.document.graph


def test_plain_key_shortcuts_only_act_on_the_canvas(win, qtbot):
    window, _ = win
    window.new_from_template("lenet5")
    window.activateWindow()
    window.document.set_selection(["act1"])
    window.find_layer()  # Ctrl+F: the palette's search field has the focus
    qtbot.waitUntil(lambda: QApplication.focusWidget() is not None
                    and window.palette_panel.isAncestorOf(QApplication.focusWidget()))
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Delete)
    qtbot.keyClicks(QApplication.focusWidget(), "f")
    assert "act1" in window.document.graph


def test_paste_is_enabled_only_while_the_clipboard_holds_layers(win, qtbot):
    window, _ = win
    clipboard = QGuiApplication.clipboard()
    clipboard.clear()
    paste = window.actions_by_name["paste"]
    window.new_from_template("lenet5")
    assert not paste.isEnabled()
    window.document.set_selection(["act1"])
    window.actions_by_name["copy"].trigger()
    qtbot.waitUntil(paste.isEnabled, timeout=2000)  # followed through QClipboard.dataChanged
    clipboard.setText("just some words")
    qtbot.waitUntil(lambda: not paste.isEnabled(), timeout=2000)
    clipboard.setText('{"nodes": [{"id": "x", "op": "ReLU"}], "edges": []}')  # the JSON as text pastes too
    qtbot.waitUntil(paste.isEnabled, timeout=2000)
    window.close_project()  # the welcome page: nothing to paste into
    assert not paste.isEnabled()
    clipboard.clear()


def test_zoom_and_fit_actions(win, qtbot):
    window, _ = win
    window.new_from_template("mlp_digits")
    qtbot.wait(10)
    window.actions_by_name["fit"].trigger()
    fitted = window.canvas.zoom()
    window.actions_by_name["zoom_in"].trigger()
    assert window.canvas.zoom() == pytest.approx(min(fitted * 1.25, 4.0))
    window.actions_by_name["zoom_out"].trigger()
    assert window.canvas.zoom() == pytest.approx(fitted)
    window.actions_by_name["zoom_reset"].trigger()
    assert window.canvas.zoom() == pytest.approx(1.0)


def test_tidy_up_is_one_undo_step(win):
    window, _ = win
    window.new_from_template("lenet5")
    window.document.move_nodes({"conv1": (window.document.graph.node("conv1").pos, (999.0, 999.0))})
    window.actions_by_name["tidy"].trigger()
    assert window.document.graph.node("conv1").pos != (999.0, 999.0)
    window.document.undo_stack.undo()
    assert window.document.graph.node("conv1").pos == (999.0, 999.0)


# ---- title, templates, saving and opening ----------------------------------------------------------------


def test_title_shows_the_name_and_the_dirty_marker(win, tmp_path):
    window, _ = win
    window.new_from_template("lenet5")
    assert window.windowTitle() == "LeNet-5 — LayerLoom"
    edit(window.document)
    assert window.windowTitle() == "LeNet-5* — LayerLoom"
    path = tmp_path / "lenet.layerloom.json"
    window.ask_save_path = lambda suggested: path
    assert window.save()
    assert window.windowTitle() == "lenet.layerloom.json — LayerLoom"
    window.document.undo_stack.undo()
    assert window.windowTitle() == "lenet.layerloom.json* — LayerLoom"


def test_open_template_edit_save_reopen_gives_the_same_project(win, tmp_path):
    window, answers = win
    assert window.new_from_template("lenet5")
    doc = window.document
    assert doc.path is None and not doc.dirty
    assert doc.project.name == "LeNet-5"
    new_id = edit(doc)
    doc.set_param("conv1", "out_channels", 8)
    assert doc.dirty
    suggested = []
    target = tmp_path / "my net"  # no suffix typed: the project suffix is added
    window.ask_save_path = lambda s: suggested.append(s) or target
    assert window.save()  # untitled: Save goes through Save As
    assert suggested[0].name == "LeNet-5.layerloom.json"
    path = tmp_path / "my net.layerloom.json"
    saved = path.read_text(encoding="utf-8")
    assert saved == project_to_json(doc.project)
    assert not doc.dirty and doc.path == path
    assert json.loads(saved)["graph"]["nodes"][1]["params"]["out_channels"] == 8
    assert window.close_project()
    assert window.welcome_visible
    assert window.open_file(path)
    assert window.document is not doc
    assert window.document.path == path
    assert project_to_json(window.document.project) == saved
    assert new_id in window.document.graph
    assert answers.errors == []


@pytest.mark.slow
def test_save_as_round_trip_of_every_template(win, tmp_path):
    window, _ = win
    for info in list_templates():
        assert window.new_from_template(info.name)
        original = project_to_json(window.document.project)
        path = tmp_path / f"{info.name}.layerloom.json"
        window.ask_save_path = lambda s, p=path: p
        assert window.save_as()
        assert window.open_file(path)
        assert project_to_json(window.document.project) == original


def test_save_as_names_an_untitled_project_after_the_file(win, tmp_path):
    window, _ = win
    assert window.new_from_template(EMPTY)
    assert window.document.project.name == "Untitled"
    window.ask_save_path = lambda s: tmp_path / "mymlp.layerloom.json"
    assert window.save_as()
    assert json.loads((tmp_path / "mymlp.layerloom.json").read_text(encoding="utf-8"))["name"] == "mymlp"
    # A project that has a name keeps it, whatever the file is called.
    assert window.new_from_template("lenet5")
    name = window.document.project.name
    window.ask_save_path = lambda s: tmp_path / "copy"
    assert window.save_as()
    assert json.loads((tmp_path / "copy.layerloom.json").read_text(encoding="utf-8"))["name"] == name


def test_save_failure_is_reported_and_nothing_is_written(win, tmp_path):
    window, answers = win
    window.new_from_template("lenet5")
    edit(window.document)
    target = tmp_path / "missing folder" / "net.layerloom.json"
    window.ask_save_path = lambda s: target
    assert not window.save()
    assert answers.errors and answers.errors[0][0] == "Cannot save the project"
    assert "cannot save" in answers.errors[0][2]
    assert window.document.dirty and window.document.path is None
    assert not target.parent.exists()
    # Saving over a good file that then fails keeps the good file as it was.
    good = tmp_path / "good.layerloom.json"
    window.ask_save_path = lambda s: good
    assert window.save()
    before = good.read_bytes()
    edit(window.document)
    good.chmod(0o444)
    folder_mode = tmp_path.stat().st_mode
    try:
        tmp_path.chmod(0o555)  # QSaveFile cannot create its temporary file next to the target
        result = window.save()
    finally:
        tmp_path.chmod(folder_mode)
        good.chmod(0o644)
    if result:  # running as root: permissions do not stop the save
        pytest.skip("permissions are not enforced for this user")
    assert good.read_bytes() == before
    assert window.document.dirty


@pytest.mark.parametrize("content, expected", [
    ("{ this is not json", "not valid JSON"),
    ('{"format": "something else"}', "not a LayerLoom project"),
    ('{"format": "layerloom", "format_version": 99, "graph": {"nodes": [], "edges": []}}', "newer LayerLoom"),
])
def test_a_bad_file_shows_the_error_and_keeps_the_document(win, tmp_path, content, expected):
    window, answers = win
    window.new_from_template("lenet5")
    edit(window.document)
    doc, before = window.document, project_to_json(window.document.project)
    bad = tmp_path / "bad.layerloom.json"
    bad.write_text(content, encoding="utf-8")
    assert not window.open_file(bad)
    assert len(answers.errors) == 1
    title, text, details = answers.errors[0]
    assert title == "Cannot open the project"
    assert "bad.layerloom.json" in text
    assert expected in details
    assert window.document is doc and doc.dirty
    assert project_to_json(doc.project) == before
    assert bad.read_text(encoding="utf-8") == content  # never touched
    assert answers.prompts == 0  # no unsaved-changes question for a file that cannot be opened


def test_error_dialog_is_a_real_message_box_with_the_error_text(qtbot, tmp_path):
    window = MainWindow(settings=open_settings(), autosaver=None)
    qtbot.addWidget(window)
    window.show()
    newer = tmp_path / "newer.layerloom.json"
    newer.write_text('{"format": "layerloom", "format_version": 7}', encoding="utf-8")
    seen = []

    def answer() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(10, answer)
            return
        seen.append((box.windowTitle(), box.text(), box.informativeText()))
        box.accept()

    QTimer.singleShot(0, answer)
    assert not window.open_file(newer)
    assert seen and seen[0][0] == "Cannot open the project"
    assert "newer LayerLoom" in seen[0][2] and "format_version 7" in seen[0][2]
    assert window.welcome_visible


def test_unsaved_changes_prompt_on_close(win, tmp_path):
    window, answers = win
    window.new_from_template("lenet5")
    edit(window.document)
    answers.save_answer = "cancel"
    assert not window.close()
    assert window.isVisible() and answers.prompts == 1
    answers.save_answer = "discard"
    assert window.close()
    assert not window.isVisible()


def test_save_answer_saves_before_closing(win, tmp_path):
    window, answers = win
    path = tmp_path / "kept.layerloom.json"
    window.new_from_template("lenet5")
    edit(window.document)
    answers.save_answer = "save"
    window.ask_save_path = lambda s: path
    assert window.close()
    assert path.is_file()
    assert json.loads(path.read_text(encoding="utf-8"))["name"] == "LeNet-5"


def test_unsaved_changes_prompt_on_open_and_new(win, tmp_path):
    window, answers = win
    window.new_from_template("lenet5")
    edit(window.document)
    doc = window.document
    answers.save_answer = "cancel"
    assert not window.open_file(template_path("mlp_digits"))
    assert not window.new_from_template("moons_mlp")
    assert window.document is doc and answers.prompts == 2
    answers.save_answer = "discard"
    assert window.open_file(template_path("mlp_digits"))
    assert window.document.project.name == "Digits MLP"


def test_export_code_writes_standalone_python(win, tmp_path):
    window, answers = win
    window.new_from_template("lenet5")
    target = tmp_path / "lenet"
    window.ask_export_path = lambda suggested: target
    assert window.export_code()
    code = (tmp_path / "lenet.py").read_text(encoding="utf-8")
    compile(code, "lenet.py", "exec")
    assert "class LeNet5" in code and "def create_model" in code
    assert "layerloom" not in code.split("import torch", 1)[1].lower().split("class", 1)[0]
    # A network with errors is not exported.
    window.document.remove_nodes(["conv1"])
    assert not window.export_code()
    assert answers.errors[-1][0] == "Cannot export code"


# ---- recent files, drops, welcome ------------------------------------------------------------------------


def copy_template(name: str, folder: Path) -> Path:
    path = folder / f"{name}.layerloom.json"
    path.write_bytes(template_path(name).read_bytes())
    return path


def test_recent_files_update_and_prune(win, tmp_path):
    window, _ = win
    a = copy_template("lenet5", tmp_path)
    b = copy_template("mlp_digits", tmp_path)
    window.open_file(a)
    window.open_file(b)
    assert window.recent.paths() == [b.resolve(), a.resolve()]
    labels = [a_.text() for a_ in window.recent_menu.actions()]
    assert labels[0] == "&1 mlp_digits.layerloom.json" and labels[1] == "&2 lenet5.layerloom.json"
    window.open_file(a)
    assert window.recent.paths()[0] == a.resolve()
    assert [label.property("path") for label in window.welcome.recent_labels] == [str(a.resolve()),
                                                                                 str(b.resolve())]
    b.unlink()
    assert window.recent.paths() == [a.resolve()]
    # A recent entry that has gone is dropped when it fails to open.
    window.recent.add(b.parent / "gone.layerloom.json")
    window.open_file(b.parent / "gone.layerloom.json")
    assert window.recent.paths() == [a.resolve()]


def test_recent_menu_entry_opens_the_file(win, tmp_path):
    window, _ = win
    path = copy_template("moons_mlp", tmp_path)
    window.recent.add(path)
    entry = next(a for a in window.recent_menu.actions() if "moons_mlp" in a.text())
    entry.trigger()
    assert window.document.path == path


def drop(qtbot, target, path: Path) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    pos = QPointF(target.rect().center())
    enter = QDragEnterEvent(pos.toPoint(), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, enter)
    assert enter.isAccepted()
    event = QDropEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, event)
    assert event.isAccepted()


def test_dropping_a_project_file_on_the_window_opens_it(win, qtbot, tmp_path):
    window, _ = win
    path = copy_template("lstm_sine", tmp_path)
    drop(qtbot, window, path)
    qtbot.waitUntil(lambda: window.document.path == path)
    assert not window.welcome_visible
    # And on the canvas, which itself only takes layers from the palette.
    other = copy_template("moons_mlp", tmp_path)
    drop(qtbot, window.canvas.viewport(), other)
    qtbot.waitUntil(lambda: window.document.path == other)


def test_a_file_open_event_opens_the_project(win, qtbot, tmp_path):
    """macOS: double-clicking a project in the Finder while LayerLoom runs."""
    from PySide6.QtGui import QFileOpenEvent

    from app.main import FileOpenHandler

    window, _ = win
    path = copy_template("moons_mlp", tmp_path)
    app = QApplication.instance()
    handler = FileOpenHandler(app, window.open_file)
    try:
        QApplication.sendEvent(app, QFileOpenEvent(str(path)))
        qtbot.waitUntil(lambda: window.document.path == path)
    finally:
        app.removeEventFilter(handler)
        handler.deleteLater()


def test_dropping_something_else_is_refused(win):
    window, _ = win
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile("/tmp/picture.png")])
    enter = QDragEnterEvent(QPoint(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    enter.ignore()
    QApplication.sendEvent(window, enter)
    assert not enter.isAccepted()


def test_clicking_a_template_card_opens_it_untitled(win, qtbot):
    window, _ = win
    card = window.welcome.gallery.card("moons_mlp")
    qtbot.mouseClick(card, Qt.MouseButton.LeftButton)
    assert not window.welcome_visible
    assert window.document.project.name == "Moons MLP"
    assert window.document.path is None and not window.document.dirty
    assert window.windowTitle() == "Moons MLP — LayerLoom"


def test_welcome_actions(win, qtbot, tmp_path):
    window, _ = win
    qtbot.mouseClick(window.welcome.new_button, Qt.MouseButton.LeftButton)
    assert not window.welcome_visible and len(window.document.graph) == 0
    window.close_project()
    path = copy_template("lenet5", tmp_path)
    window.ask_open_path = lambda: path
    qtbot.mouseClick(window.welcome.open_button, Qt.MouseButton.LeftButton)
    assert window.document.path == path
    window.close_project()
    assert window.welcome.recent_labels
    window.welcome.recent_labels[0].linkActivated.emit(str(path))
    assert window.document.path == path


def test_new_from_template_dialog(win, qtbot):
    window, _ = win
    dialog = NewProjectDialog(window)
    qtbot.addWidget(dialog)
    assert dialog.gallery.cards[0].name == EMPTY
    dialog.show()
    qtbot.mouseClick(dialog.gallery.card("lenet5"), Qt.MouseButton.LeftButton)
    assert dialog.choice == "lenet5" and dialog.result() == dialog.DialogCode.Accepted
    window.ask_template = lambda: "lenet5"
    window.actions_by_name["new"].trigger()
    assert window.document.project.name == "LeNet-5"
    window.ask_template = lambda: None  # cancelled
    window.actions_by_name["new"].trigger()
    assert window.document.project.name == "LeNet-5"


def test_palette_requests_build_a_chain_from_the_empty_welcome_state(win):
    window, _ = win
    window.palette_panel.op_requested.emit("Input")
    assert not window.welcome_visible
    window.palette_panel.op_requested.emit("Flatten")
    window.palette_panel.op_requested.emit("Linear")
    graph = window.document.graph
    assert [n.op for n in graph] == ["Input", "Flatten", "Linear"]
    ids = list(graph.nodes)
    assert Edge(ids[0], ids[1]) in graph.edges and Edge(ids[1], ids[2]) in graph.edges
    xs = [graph.node(i).pos[0] for i in ids]
    assert xs == sorted(xs) and len(set(xs)) == 3


def test_problem_click_centres_the_node(win, qtbot):
    window, _ = win
    window.new_from_template("lenet5")
    window.diagnostics_panel.node_activated.emit("fc3")
    assert window.document.selection == ["fc3"]


def test_dock_layout_and_geometry_are_remembered(qtbot, tmp_path):
    first, answers = make_window(qtbot, tmp_path, "first")
    first.new_from_template("lenet5")
    first.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, first.code_dock)
    first.history_dock.hide()
    first.resize(first.width(), 555)  # (the offscreen screen is 800 wide: only the height is free to pick)
    assert first.close()
    second, _ = make_window(qtbot, tmp_path, "second", resize=False)
    second.new_from_template("lenet5")
    assert second.dockWidgetArea(second.code_dock) == Qt.DockWidgetArea.LeftDockWidgetArea
    assert second.history_dock.isHidden() and not second.palette_dock.isHidden()
    assert second.height() == 555
    second.reset_layout()
    assert second.dockWidgetArea(second.code_dock) == Qt.DockWidgetArea.RightDockWidgetArea
    second.close()


def test_settings_live_in_the_test_folder(tmp_path):
    settings = open_settings()
    assert Path(settings.fileName()) == tmp_path / "config" / "LayerLoom.ini"


def test_docks_are_real_dock_widgets(win):
    window, _ = win
    names = sorted(d.objectName() for d in window.findChildren(QDockWidget))
    assert names == ["codeDock", "historyDock", "inspectorDock", "layersDock", "problemsDock",
                     "trainingDock"]


# ---- crash handling --------------------------------------------------------------------------------------


def test_excepthook_autosaves_then_reports(win, qtbot, tmp_path):
    window, _ = win
    window.new_from_template("lenet5")
    edit(window.document)
    reports, user_errors = [], []
    reporter = CrashReporter(autosave=lambda: window.autosaver.save_now(force=True), parent_widget=window)
    reporter.show_report = reports.append
    reporter.show_user_error = user_errors.append
    reporter.install()
    try:
        def broken_slot() -> None:
            raise ValueError("something nobody expected")

        QTimer.singleShot(0, broken_slot)  # raised inside the event loop, as a real bug would be
        qtbot.waitUntil(lambda: bool(reports))
    finally:
        reporter.uninstall()
    report = reports[0]
    assert report.summary == "ValueError: something nobody expected"
    assert "broken_slot" in report.details and "Traceback" in report.details
    assert report.autosave_path == window.autosaver.session.project_path
    assert json.loads(report.autosave_path.read_text(encoding="utf-8"))["name"] == "LeNet-5"
    assert str(report.autosave_path) in report.message
    assert user_errors == []


def test_user_errors_get_a_plain_message(win):
    window, _ = win
    reports, user_errors = [], []
    reporter = CrashReporter(parent_widget=window)
    reporter.show_report = reports.append
    reporter.show_user_error = user_errors.append
    try:
        raise ProjectError("the file is broken", hint="try another")
    except ProjectError:
        reporter.excepthook(*sys.exc_info())
    assert user_errors == ["the file is broken (try another)"] and reports == []


def test_crash_dialog_details_and_copy(qtbot):
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        report = build_report(*sys.exc_info())
    dialog = CrashDialog(report)
    qtbot.addWidget(dialog)
    dialog.show()
    assert not dialog.details.isVisible()
    qtbot.mouseClick(dialog.details_button, Qt.MouseButton.LeftButton)
    assert dialog.details.isVisible() and "RuntimeError: boom" in dialog.details.toPlainText()
    qtbot.mouseClick(dialog.copy_button, Qt.MouseButton.LeftButton)
    copied = QGuiApplication.clipboard().text()
    assert copied.startswith("RuntimeError: boom") and "Traceback" in copied and "Python" in copied
