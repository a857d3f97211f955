"""Where the app keeps its preferences (QSettings), and the recent-files list built on them.

Settings belong to organisation "LayerLoom", application "LayerLoom" (the platform's usual place: the registry
on Windows, a plist on macOS, ~/.config/LayerLoom/LayerLoom.conf on Linux). When `LAYERLOOM_CONFIG_DIR` is
set they live in an INI file in that folder instead; tests set it so they never touch a person's settings.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, QStandardPaths, Signal

ORGANIZATION = "LayerLoom"
APPLICATION = "LayerLoom"
CONFIG_DIR_ENV = "LAYERLOOM_CONFIG_DIR"
MAX_RECENT = 10
RECENT_KEY = "files/recent"
LAST_DIR_KEY = "files/last_dir"


def open_settings(path: str | os.PathLike | None = None) -> QSettings:
    """The app's settings: an INI file at `path` when given, else in $LAYERLOOM_CONFIG_DIR when set, else the
    platform's native store."""
    if path is None and os.environ.get(CONFIG_DIR_ENV):
        path = Path(os.environ[CONFIG_DIR_ENV]) / f"{APPLICATION}.ini"
    if path is not None:
        return QSettings(str(path), QSettings.Format.IniFormat)
    return QSettings(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION)


def _as_list(value: object) -> list[str]:
    # QSettings returns a str for a one-element list in INI files and None for a missing key.
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    return [str(v) for v in value if v]


class RecentFiles(QObject):
    """The most recently opened or saved projects, newest first, at most MAX_RECENT, files that no longer
    exist left out. `changed` tells the File menu and the welcome page to redraw."""

    changed = Signal()

    def __init__(self, settings: QSettings, parent: QObject | None = None):
        super().__init__(parent)
        self._settings = settings

    def paths(self) -> list[Path]:
        """The list as stored, pruned of missing files (the pruning is written back)."""
        stored = _as_list(self._settings.value(RECENT_KEY))
        existing = [p for p in stored if Path(p).is_file()]
        if existing != stored:
            self._write(existing)
        return [Path(p) for p in existing]

    def add(self, path: str | os.PathLike) -> None:
        text = str(Path(path).resolve())
        stored = [p for p in _as_list(self._settings.value(RECENT_KEY)) if p != text]
        self._write([text, *stored][:MAX_RECENT])
        self._settings.setValue(LAST_DIR_KEY, str(Path(text).parent))
        self.changed.emit()

    def remove(self, path: str | os.PathLike) -> None:
        text = str(Path(path).resolve())
        stored = _as_list(self._settings.value(RECENT_KEY))
        if text in stored:
            self._write([p for p in stored if p != text])
            self.changed.emit()

    def clear(self) -> None:
        self._write([])
        self.changed.emit()

    def last_dir(self) -> Path:
        """The folder of the last project opened or saved (the dialogs start there), else Documents."""
        value = self._settings.value(LAST_DIR_KEY)
        if isinstance(value, str) and Path(value).is_dir():
            return Path(value)
        documents = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
        return Path(documents) if documents and Path(documents).is_dir() else Path.home()

    def _write(self, paths: list[str]) -> None:
        self._settings.setValue(RECENT_KEY, paths)
        self._settings.sync()
