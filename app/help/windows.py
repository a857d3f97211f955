"""Opening the Help menu's windows from the main window: one of each, raised when already open.

    from app.help.windows import show_getting_started, show_read_more, show_shortcuts
    show_getting_started(window)   # window: the MainWindow (its actions_by_name fill in the keys)
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QDialog, QMainWindow

from app.help.help_browser import DOCS, HelpBrowser, getting_started_html, read_more_source
from app.help.shortcuts_dialog import ShortcutsDialog

_OPEN = "_help_windows"  # the window's attribute: name -> the dialog showing


def _show(window: QMainWindow, name: str, make: Callable[[], QDialog]) -> QDialog:
    dialogs: dict[str, QDialog] = window.__dict__.setdefault(_OPEN, {})
    dialog = dialogs.get(name)
    if dialog is None:
        dialog = dialogs[name] = make()
        dialog.finished.connect(lambda _result: dialogs.pop(name, None) and dialog.deleteLater())
    dialog.show()
    dialog.raise_()
    dialog.activateWindow()
    return dialog


def show_shortcuts(window: QMainWindow) -> ShortcutsDialog:
    # Made anew each time it is not open: the list is read from the actions as they are now.
    return _show(window, "shortcuts", lambda: ShortcutsDialog(window))


def show_getting_started(window: QMainWindow) -> HelpBrowser:
    def make() -> HelpBrowser:
        browser = HelpBrowser("Getting Started", window)
        browser.show_html(getting_started_html(getattr(window, "actions_by_name", {})))
        return browser

    return _show(window, "getting_started", make)


def show_read_more(window: QMainWindow) -> HelpBrowser:
    def make() -> HelpBrowser:
        browser = HelpBrowser("Read More", window, docs_folder=DOCS)
        browser.show_source(read_more_source())
        return browser

    return _show(window, "read_more", make)
