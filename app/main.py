"""Starting the GUI: the QApplication and its look, the main window, crash handling and recovery, warming
torch in the background; and rendering the window to a PNG for `layerloom gui --screenshot`.

Start-up budget: the window painted <= 1.0 s after launch (benchmarks/bench_canvas.py measures it, see
benchmarks/README.md). Nothing here imports torch. Once the
window has been painted, a background thread imports torch and builds a tiny optimizer: the first optimizer
construction imports torch._dynamo (~1.3 s), which would otherwise stall the GUI at the first build or run.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QWidget

from app.actions import app_icon
from app.settings import APPLICATION, ORGANIZATION
from graph_engine import __version__ as layerloom_version

THEME_ENV = "LAYERLOOM_THEME"  # "dark" or "light" overrides the system's colour scheme
STARTUP_PROBE_ENV = "LAYERLOOM_STARTUP_PROBE"  # set: print the time to the first paint and quit
SCREENSHOT_SIZE = (1400, 900)


def has_display() -> bool:
    """False on Linux/BSD when neither X11 nor Wayland is there (Qt would abort); True elsewhere."""
    if os.environ.get("QT_QPA_PLATFORM"):
        return True
    if sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def create_application(argv: list[str] | None = None) -> QApplication:
    """The QApplication with LayerLoom's names, icon, style and palette (an existing one is reused)."""
    app = QApplication.instance()
    if app is None:
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        app = QApplication(argv or [sys.argv[0] if sys.argv and sys.argv[0] else "layerloom"])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName(APPLICATION)
    app.setApplicationVersion(layerloom_version)
    app.setDesktopFileName("layerloom")
    app.setWindowIcon(app_icon())
    if sys.platform != "darwin":  # macOS's own style is the best there; Fusion elsewhere (light and dark)
        app.setStyle("Fusion")
    apply_color_scheme(app)
    app.styleHints().colorSchemeChanged.connect(lambda _scheme: apply_color_scheme(app))
    return app


def wants_dark(app: QGuiApplication) -> bool:
    forced = os.environ.get(THEME_ENV, "").strip().lower()
    if forced in ("dark", "light"):
        return forced == "dark"
    return app.styleHints().colorScheme() == Qt.ColorScheme.Dark


def apply_color_scheme(app: QApplication) -> None:
    """Follow the system's light/dark setting (Qt 6 styleHints().colorScheme())."""
    if wants_dark(app):
        app.setPalette(dark_palette())
        return
    palette = app.style().standardPalette()
    palette.setColor(QPalette.ColorRole.Link, QColor("#1f6fd1"))  # Fusion's pure #0000ff looks dated
    palette.setColor(QPalette.ColorRole.LinkVisited, QColor("#7a4fd1"))
    app.setPalette(palette)


def dark_palette() -> QPalette:
    p = QPalette()
    roles = QPalette.ColorRole
    colors = {
        roles.Window: "#25282d", roles.WindowText: "#e3e6ea", roles.Base: "#1c1e22", roles.AlternateBase: "#2b2f35",
        roles.ToolTipBase: "#30343a", roles.ToolTipText: "#e3e6ea", roles.PlaceholderText: "#8a919b",
        roles.Text: "#e3e6ea", roles.Button: "#2d3136", roles.ButtonText: "#e3e6ea", roles.BrightText: "#ff6b6b",
        roles.Light: "#3a3f46", roles.Midlight: "#33373d", roles.Mid: "#2a2d32", roles.Dark: "#17191c",
        roles.Shadow: "#0d0e10", roles.Highlight: "#3d7bd9", roles.HighlightedText: "#ffffff",
        roles.Link: "#6ea8fe", roles.LinkVisited: "#b48efa",
    }
    for role, color in colors.items():
        p.setColor(role, QColor(color))
    disabled = QPalette.ColorGroup.Disabled
    for role in (roles.WindowText, roles.Text, roles.ButtonText):
        p.setColor(disabled, role, QColor("#6b7178"))
    p.setColor(disabled, roles.Highlight, QColor("#3a3f46"))
    return p


class FirstPaint(QObject):
    """Calls `callback` once, just after `window` has been painted for the first time."""

    def __init__(self, window: QWidget, callback: Callable[[], None]):
        super().__init__(window)
        self._callback = callback
        self._done = False
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if not self._done and event.type() in (QEvent.Type.UpdateRequest, QEvent.Type.Paint):
            self._done = True
            watched.removeEventFilter(self)
            QTimer.singleShot(0, self._callback)  # after this event: the backing store has been flushed
        return False


class FileOpenHandler(QObject):
    """macOS sends a QFileOpenEvent to the application when a project file is opened from the Finder."""

    def __init__(self, app: QApplication, open_file: Callable[[Path], object]):
        super().__init__(app)
        self._open_file = open_file
        app.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.FileOpen and watched is QApplication.instance() and event.file():
            path = Path(event.file())
            QTimer.singleShot(0, lambda: self._open_file(path))
            return True
        return False


def warm_torch() -> threading.Thread:
    """Import torch and build a tiny optimizer off the GUI thread (see the module docstring)."""

    def work() -> None:
        try:
            from app.training.device_info import warm_optimizer

            warm_optimizer()
        except Exception:  # noqa: BLE001 - warming is an optimisation; the real build reports real errors
            pass

    thread = threading.Thread(target=work, name="layerloom-torch-warmup", daemon=True)
    thread.start()
    return thread


def leave_process(code: int) -> None:
    """End the process at once, skipping the interpreter's teardown.

    Measured on Quit (benchmarks/README.md, "Quit"): the window closes in about 0.2 s, and then tearing
    down the interpreter (torch, sympy, scipy, pyqtgraph, every Qt wrapper) took 3 to 8 s, during which the
    window was gone but the process was not. Everything that must reach the disk has been written by then:
    the window's closeEvent saves its state and shuts down autosave and training (their threads joined), and
    run_gui syncs the settings. A daemon thread still importing torch is simply dropped (a normal exit
    would have had to wait for it: finalising a half-imported torch can crash)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def run_gui(project_path: str | os.PathLike | None = None, launched_at: float | None = None, *,
            exit_process: bool = False) -> int:
    """Open the window (on `project_path` when given), offer crash recovery, run the event loop.
    `exit_process` (the `layerloom` command): end the process as soon as the loop returns (leave_process)."""
    from app.autosave import Autosaver
    from app.crash_report import CrashReporter
    from app.main_window import MainWindow

    launched_at = time.perf_counter() if launched_at is None else launched_at
    app = create_application()
    autosaver = Autosaver()
    window = MainWindow(autosaver=autosaver)

    def autosave_for_report() -> Path | None:
        path = autosaver.save_now(force=True)
        if path is None and autosaver.session.project_path.is_file():
            path = autosaver.session.project_path
        return path

    reporter = CrashReporter(autosave=autosave_for_report, parent_widget=window)
    reporter.install()
    warmup: list[threading.Thread] = []
    probe = bool(os.environ.get(STARTUP_PROBE_ENV))

    def painted() -> None:
        if probe:
            print(f"window painted after {time.perf_counter() - launched_at:.3f} s", file=sys.stderr, flush=True)
            window.close()
            return
        warmup.append(warm_torch())

    FirstPaint(window, painted)
    FileOpenHandler(app, window.open_file)
    window.show()

    def start() -> None:
        if probe:
            return
        if project_path is not None:
            window.open_file(Path(project_path))
        window.offer_recovery()

    QTimer.singleShot(0, start)
    try:
        code = app.exec()
    finally:
        reporter.uninstall()
        window.settings.sync()  # QSettings writes on destruction, which leave_process skips
        if exit_process:
            leave_process(code)
        for thread in warmup:  # never leave the interpreter while torch is half imported
            thread.join(timeout=60)
    return code


def render_screenshot(project_path: str | os.PathLike | None, out: str | os.PathLike,
                      size: tuple[int, int] = SCREENSHOT_SIZE) -> int:
    """Render the main window with the project (or the welcome page) to a PNG. 0 on success, 2 when the
    project cannot be read, 1 when the PNG cannot be written; errors are one line on stderr."""
    from app.document import Document
    from app.file_ops import read_project
    from graph_engine.errors import ProjectError

    project = None
    if project_path is not None:
        try:
            project = read_project(project_path)
        except ProjectError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    if not has_display():
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    offscreen = os.environ.get("QT_QPA_PLATFORM") == "offscreen"
    app = create_application()
    from app.main_window import MainWindow
    from app.settings import open_settings

    with tempfile.TemporaryDirectory(prefix="layerloom-shot-") as tmp:
        # Fresh settings: the picture never depends on (or changes) the person's saved layout or recent files.
        window = MainWindow(settings=open_settings(Path(tmp) / "settings.ini"), autosaver=None)
        if not offscreen:
            window.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
        window.resize(*size)
        if project is not None:
            window.set_document(Document(project, Path(project_path)))
        window.show()
        window.resize(*size)
        for _ in range(3):
            app.processEvents()
        if project is not None:
            window.canvas.fit_all()
            app.processEvents()
        pixmap = window.grab()
        if (pixmap.width(), pixmap.height()) != size:  # a high-DPI screen: the contract is a 1400x900 PNG
            pixmap = pixmap.scaled(*size, Qt.AspectRatioMode.IgnoreAspectRatio,
                                   Qt.TransformationMode.SmoothTransformation)
        target = Path(out)
        ok = pixmap.save(str(target), "PNG")
        window.close()
        window.deleteLater()
        app.processEvents()
    if not ok:
        print(f"error: cannot write {target}", file=sys.stderr)
        return 1
    print(f"wrote {target} ({pixmap.width()}x{pixmap.height()})")
    return 0
