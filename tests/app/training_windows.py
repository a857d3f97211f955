"""A main window for the training tests: throwaway settings, no autosave, no questions, 1400x900, shown."""

from __future__ import annotations

from app.main_window import MainWindow
from app.settings import open_settings


def new_window(qtbot) -> MainWindow:
    window = MainWindow(settings=open_settings(), autosaver=None)
    qtbot.addWidget(window)
    window.ask_save_changes = lambda: "discard"
    window.show_error = lambda *args: None
    window.resize(1400, 900)
    window.show()
    qtbot.waitExposed(window)
    return window
