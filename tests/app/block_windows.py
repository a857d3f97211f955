"""A real main window on a template for the block tests: throwaway settings and autosave folder, no questions."""

from __future__ import annotations

from app.autosave import Autosaver, AutosaveSession
from app.main_window import MainWindow
from app.settings import open_settings


def open_window(qtbot, tmp_path, template: str) -> MainWindow:
    win = MainWindow(settings=open_settings(), autosaver=Autosaver(AutosaveSession(tmp_path / "state"), 60_000))
    win.ask_save_changes = lambda: "discard"
    win.show_error = lambda *args: None
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    qtbot.waitExposed(win)
    win.new_from_template(template)
    win.activateWindow()
    win.canvas.setFocus()
    qtbot.waitUntil(win.canvas.hasFocus)
    return win
