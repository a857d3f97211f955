"""Files outside the window's widgets: atomic saves, recent files, settings isolation, autosave on a timer,
crash recovery after a real process is killed, the `layerloom` launcher and its screenshot command."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

from app.autosave import Autosaver, AutosaveSession, find_recoverable
from app.document import Document
from app.file_ops import read_project, with_project_suffix, write_project
from app.main_window import MainWindow
from app.settings import MAX_RECENT, RecentFiles, open_settings
from graph_engine.errors import NewerFormatError, NotAProjectError, ProjectError
from graph_engine.project_io import load_project, project_to_json
from graph_engine.templates import get_template, load_template

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERLOOM_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("LAYERLOOM_STATE_DIR", str(tmp_path / "state"))


def run(args: list[str], env_extra: dict[str, str] | None = None, drop: tuple[str, ...] = (),
        timeout: float = 120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(env_extra or {})
    return subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)


# ---- saving and reading ----------------------------------------------------------------------------------


def test_write_project_round_trip(tmp_path):
    project = load_template("lenet5")
    path = tmp_path / "lenet.layerloom.json"
    write_project(project, path)
    assert path.read_text(encoding="utf-8") == project_to_json(project)
    assert project_to_json(read_project(path)) == project_to_json(project)
    assert [p.name for p in tmp_path.iterdir()] == ["lenet.layerloom.json"]  # no temporary left behind


def test_a_failed_write_leaves_nothing_behind(tmp_path):
    folder = tmp_path / "a folder named like the project.layerloom.json"
    folder.mkdir()
    with pytest.raises(ProjectError, match="cannot save"):
        write_project(load_template("lenet5"), folder)  # the target is a folder: QSaveFile refuses
    assert folder.is_dir() and list(folder.iterdir()) == []
    with pytest.raises(ProjectError, match="cannot save"):
        write_project(load_template("lenet5"), tmp_path / "no such folder" / "x.layerloom.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == [folder.name]


def test_read_errors_are_project_errors(tmp_path):
    corrupt = tmp_path / "corrupt.layerloom.json"
    corrupt.write_text('{"format": "layerloom", "format_version": 1, "graph": ', encoding="utf-8")
    with pytest.raises(NotAProjectError, match="not valid JSON"):
        read_project(corrupt)
    newer = tmp_path / "newer.layerloom.json"
    newer.write_text('{"format": "layerloom", "format_version": 3}', encoding="utf-8")
    with pytest.raises(NewerFormatError, match="newer LayerLoom"):
        read_project(newer)


def test_project_suffix():
    assert with_project_suffix(Path("/x/net")) == Path("/x/net.layerloom.json")
    assert with_project_suffix(Path("/x/net.layerloom.json")) == Path("/x/net.layerloom.json")
    assert with_project_suffix(Path("/x/net.json")) == Path("/x/net.json")


def test_template_thumbnails_are_painted_once_and_cached(qapp):
    from PySide6.QtCore import QSize

    from app.thumbnails import clear_cache, template_thumbnail

    clear_cache()
    info = get_template("resnet_digits")
    loads = []

    def load_graph():
        loads.append(1)
        return load_project(info.path).graph

    first = template_thumbnail(info.path, load_graph, QSize(216, 112), 2.0)
    again = template_thumbnail(info.path, load_graph, QSize(216, 112), 2.0)
    assert again is first and loads == [1]
    assert (first.width(), first.height()) == (432, 224) and first.devicePixelRatio() == 2.0
    image = first.toImage()
    painted = sum(image.pixelColor(x, y).alpha() > 0 for x in range(0, 432, 4) for y in range(0, 224, 4))
    assert painted > 100  # boxes and edges, not an empty picture
    dark = template_thumbnail(info.path, load_graph, QSize(216, 112), 2.0, dark=True)
    assert dark is not first and loads == [1, 1]


# ---- settings and recent files ---------------------------------------------------------------------------


def test_settings_go_to_the_configured_folder(tmp_path):
    settings = open_settings()
    settings.setValue("probe", 1)
    settings.sync()
    assert (tmp_path / "config" / "LayerLoom.ini").is_file()


def test_recent_files_newest_first_deduplicated_capped_and_pruned(tmp_path):
    recent = RecentFiles(open_settings())
    files = []
    for i in range(MAX_RECENT + 3):
        path = tmp_path / f"p{i}.layerloom.json"
        path.write_text("{}", encoding="utf-8")
        files.append(path)
        recent.add(path)
    assert recent.paths() == [p.resolve() for p in reversed(files)][:MAX_RECENT]
    recent.add(files[-5])
    assert recent.paths()[0] == files[-5].resolve() and len(recent.paths()) == MAX_RECENT
    files[-1].unlink()
    assert files[-1].resolve() not in recent.paths()
    assert len(RecentFiles(open_settings()).paths()) == MAX_RECENT - 1  # persisted, pruned
    assert recent.last_dir() == tmp_path.resolve()
    recent.clear()
    assert recent.paths() == []


# ---- autosave --------------------------------------------------------------------------------------------


def test_autosave_writes_when_the_timer_fires_and_only_when_dirty(qtbot, tmp_path):
    session = AutosaveSession(tmp_path / "state")
    autosaver = Autosaver(session, interval_ms=30)
    assert autosaver.enabled and session.lock_path.is_file()
    original = tmp_path / "lenet.layerloom.json"
    original.write_text(project_to_json(load_template("lenet5")), encoding="utf-8")
    doc = Document(load_project(original), original)
    autosaver.set_document(doc)
    qtbot.wait(120)
    assert not session.project_path.exists()  # nothing unsaved: nothing written
    with qtbot.waitSignal(autosaver.saved, timeout=2000) as blocker:
        doc.add_node("Dropout", (0.0, 300.0), connect_from=("conv1", 0))
    assert blocker.args == [session.project_path]
    assert session.project_path.read_text(encoding="utf-8") == project_to_json(doc.project)
    meta = json.loads(session.meta_path.read_text(encoding="utf-8"))
    assert meta["original_path"] == str(original) and meta["name"] == "LeNet-5" and meta["pid"] == os.getpid()
    assert meta["saved_at"]
    # Unchanged since the last autosave: the file is not rewritten.
    stamp = session.project_path.stat().st_mtime_ns
    qtbot.wait(120)
    assert session.project_path.stat().st_mtime_ns == stamp
    # Moving a layer is a change worth keeping too.
    with qtbot.waitSignal(autosaver.saved, timeout=2000):
        doc.move_nodes({"conv1": (doc.graph.node("conv1").pos, (-500.0, -500.0))})
    assert json.loads(session.project_path.read_text(encoding="utf-8")) == json.loads(project_to_json(doc.project))
    assert '-500' in session.project_path.read_text(encoding="utf-8")
    # Saving the document makes the autosave pointless: it goes.
    doc.mark_saved(original)
    assert not session.project_path.exists() and not session.meta_path.exists()
    autosaver.shutdown()
    assert not session.lock_path.exists()
    doc.close()


def test_a_live_session_is_never_offered(tmp_path):
    folder = tmp_path / "state"
    other = AutosaveSession(folder)
    assert other.start()
    other.write(load_template("lenet5"), None)
    assert find_recoverable(folder) == []  # its lock is held (by this very process)
    other.end()
    assert sorted(folder.iterdir()) == []


CRASHING_SESSION = textwrap.dedent("""
    import os, sys, time
    from app.autosave import AutosaveSession
    from graph_engine.graph import Edge, Node
    from graph_engine.templates import load_template

    project = load_template("lenet5")
    project.graph.add_node(Node("extra_dropout", "Dropout", {"p": 0.25}, (0.0, 300.0)))
    project.graph.add_edge(Edge("conv1", "extra_dropout"))
    session = AutosaveSession(sys.argv[1], "crashed-session")
    assert session.start()
    session.write(project, sys.argv[2])
    print("ready", flush=True)
    if sys.argv[3] == "hang":
        time.sleep(600)  # killed with SIGKILL by the test
    elif sys.argv[3] == "orphan":
        session._lock.unlock()  # the lock went (say, a cleaner emptied the folder) but the autosave stayed
        sys.exit(0)
    else:
        os._exit(3)  # dies without any cleanup (no destructors, no atexit)
""")


def crashed_session(tmp_path: Path, how: str) -> tuple[subprocess.Popen, Path]:
    folder = tmp_path / "state"
    original = tmp_path / "mine.layerloom.json"
    original.write_text(project_to_json(load_template("lenet5")), encoding="utf-8")
    proc = subprocess.Popen([PYTHON, "-c", CRASHING_SESSION, str(folder), str(original), how], cwd=REPO,
                            stdout=subprocess.PIPE, text=True)
    ready = proc.stdout.readline().strip()
    proc.stdout.close()
    assert ready == "ready"
    return proc, original


@pytest.mark.parametrize("how", ["hang", "exit", "orphan"])
def test_recovery_after_a_killed_process(qtbot, tmp_path, how):
    proc, original = crashed_session(tmp_path, how)
    folder = tmp_path / "state"
    if how == "hang":
        assert find_recoverable(folder) == []  # still running: not ours to take
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    expected = (folder / "autosave-crashed-session.layerloom.json").read_text(encoding="utf-8")
    # The dead process left its lock (with its pid), except in the orphan case.
    assert (folder / "autosave-crashed-session.lock").exists() == (how != "orphan")

    autosaver = Autosaver(AutosaveSession(folder), interval_ms=60_000)
    window = MainWindow(settings=open_settings(), autosaver=autosaver)
    qtbot.addWidget(window)
    window.ask_save_changes = lambda: "discard"
    window.show()
    offered = []

    def ask(sessions):
        offered.extend(sessions)
        return "recover", sessions[0]

    window.ask_recovery = ask
    assert window.offer_recovery()
    assert [s.session for s in offered] == ["crashed-session"]
    assert offered[0].name == "LeNet-5" and offered[0].original_path == original
    assert "LeNet-5" in offered[0].description
    doc = window.document
    assert project_to_json(doc.project) == expected
    assert "extra_dropout" in doc.graph
    assert doc.path == original and doc.dirty
    assert window.windowTitle() == "mine.layerloom.json* — LayerLoom"
    assert not window.welcome_visible
    # The recovered work is safe in this session's autosave before the crashed one's files go.
    assert autosaver.session.project_path.read_text(encoding="utf-8") == expected
    assert not (folder / "autosave-crashed-session.layerloom.json").exists()
    assert not (folder / "autosave-crashed-session.lock").exists()
    assert find_recoverable(folder, exclude={autosaver.session.session}) == []
    window.close()
    assert sorted(folder.iterdir()) == []  # a clean exit leaves nothing


def test_discarding_a_recoverable_session_deletes_it(qtbot, tmp_path):
    proc, _ = crashed_session(tmp_path, "exit")
    proc.wait(timeout=30)
    folder = tmp_path / "state"
    window = MainWindow(settings=open_settings(), autosaver=Autosaver(AutosaveSession(folder)))
    qtbot.addWidget(window)
    window.ask_recovery = lambda sessions: ("discard", sessions[0])
    assert not window.offer_recovery()
    assert window.welcome_visible and len(window.document.graph) == 0
    assert not list(folder.glob("autosave-crashed-session*"))


def test_later_keeps_the_session_for_the_next_start(qtbot, tmp_path):
    proc, _ = crashed_session(tmp_path, "exit")
    proc.wait(timeout=30)
    folder = tmp_path / "state"
    window = MainWindow(settings=open_settings(), autosaver=Autosaver(AutosaveSession(folder)))
    qtbot.addWidget(window)
    window.ask_recovery = lambda sessions: ("later", None)
    assert not window.offer_recovery()
    assert [s.session for s in find_recoverable(folder, exclude={window.autosaver.session.session})] == \
        ["crashed-session"]


def test_recovery_dialog_lists_the_sessions(qtbot, tmp_path):
    from app.main_window import RecoveryDialog

    proc, original = crashed_session(tmp_path, "exit")
    proc.wait(timeout=30)
    sessions = find_recoverable(tmp_path / "state")
    dialog = RecoveryDialog(sessions)
    qtbot.addWidget(dialog)
    assert dialog.list.count() == 1 and str(original) in dialog.list.item(0).text()
    dialog._decide("recover")
    assert dialog.choice == "recover" and dialog.chosen is sessions[0]
    sessions[0].release()


# ---- the launcher ----------------------------------------------------------------------------------------


def png_size(path: Path) -> tuple[int, int]:
    image = QImage(str(path))
    assert not image.isNull()
    return image.width(), image.height()


@pytest.mark.slow
def test_screenshot_of_the_welcome_screen(tmp_path):
    out = tmp_path / "welcome.png"
    # No display and no platform chosen: the command picks offscreen itself.
    result = run([PYTHON, "-m", "app.launcher", "gui", "--screenshot", str(out)],
                 drop=("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"))
    assert result.returncode == 0, result.stderr
    assert out.stat().st_size > 10_000
    assert png_size(out) == (1400, 900)
    assert not (tmp_path / "config").exists()  # the screenshot neither reads nor writes settings


@pytest.mark.slow
def test_screenshot_of_a_template(tmp_path):
    out = tmp_path / "lenet.png"
    result = run([PYTHON, "-c", "import sys; from app.launcher import main; sys.exit(main(sys.argv[1:]))",
                  "gui", str(get_template("lenet5").path), "--screenshot", str(out)])
    assert result.returncode == 0, result.stderr
    assert png_size(out) == (1400, 900)
    image = QImage(str(out))
    colours = {image.pixelColor(x, y).name() for x in range(0, 1400, 37) for y in range(0, 900, 29)}
    assert len(colours) > 10  # a real picture, not a blank window


def test_screenshot_of_an_unreadable_project_exits_2(tmp_path):
    bad = tmp_path / "bad.layerloom.json"
    bad.write_text("nope", encoding="utf-8")
    out = tmp_path / "bad.png"
    result = run([PYTHON, "-m", "app.launcher", "gui", str(bad), "--screenshot", str(out)])
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "not valid JSON" in lines[0]
    assert not out.exists()


def test_engine_commands_go_to_the_cli_without_qt(tmp_path):
    code = textwrap.dedent("""
        import sys
        from app.launcher import main
        code = main(["check", sys.argv[1]])
        print("qt imported" if any(m.startswith("PySide6") for m in sys.modules) else "no qt", code)
    """)
    result = run([PYTHON, "-c", code, str(get_template("lenet5").path)])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "no qt 0"
    result = run([PYTHON, "-m", "app.launcher", "templates"])
    assert result.returncode == 0 and "lenet5" in result.stdout


def test_a_missing_project_is_a_one_line_error(tmp_path):
    result = run([PYTHON, "-m", "app.launcher", str(tmp_path / "missing.layerloom.json")])
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {tmp_path / 'missing.layerloom.json'} does not exist"


def test_no_display_is_one_line_and_exit_1_not_a_qt_abort():
    """The real launcher, in its own process, with no display and no platform chosen."""
    result = run([PYTHON, "-m", "app.launcher"], drop=("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"))
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: no display") and "DISPLAY" in lines[0] and "--screenshot" in lines[0]
    assert result.stdout == ""


def test_a_display_nobody_answers_on_is_a_message_not_a_qt_abort():
    """DISPLAY names an X server that is not there: the launcher says so (or names the missing xcb
    libraries, on a machine without them) and exits 1; Qt would abort with SIGABRT."""
    result = run([PYTHON, "-m", "app.launcher"], drop=("QT_QPA_PLATFORM", "WAYLAND_DISPLAY"),
                 env_extra={"DISPLAY": ":87"})
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr
    assert "DISPLAY=:87" in result.stderr or "sudo apt-get install" in result.stderr, result.stderr


@pytest.mark.slow
def test_the_gui_starts_and_paints(tmp_path):
    """The real start-up path (QApplication, window, autosave lock, crash hook), stopped after the first
    paint by the start-up probe."""
    result = run([PYTHON, "-m", "app.launcher", str(get_template("moons_mlp").path)],
                 env_extra={"LAYERLOOM_STARTUP_PROBE": "1"})
    assert result.returncode == 0, result.stderr
    assert "window painted after" in result.stderr
    assert not list((tmp_path / "state").glob("autosave-*"))  # the clean exit left no autosave or lock
    # The process ends without the interpreter's teardown (app.main.leave_process): what Quit saves is on
    # disk all the same.
    settings = (tmp_path / "config" / "LayerLoom.ini").read_text(encoding="utf-8")
    assert "geometry=" in settings and "state=" in settings
