"""Autosave and crash recovery.

Each running window is a *session* with an id. While it lives it holds a QLockFile
`autosave-<session>.lock` in the state folder (platformdirs' user_state_dir, or $LAYERLOOM_STATE_DIR).
Every two minutes, when the document has changes that are neither saved nor autosaved, the project JSON is
written atomically to `autosave-<session>.layerloom.json`, then a sidecar `autosave-<session>.meta.json`
(session, pid, project name, original path, time). Saving the document deletes both: the saved file is the
truth again. A clean exit deletes them and releases the lock.

After a crash the lock file stays behind with the dead process's id. On the next start `find_recoverable`
tries each lock: QLockFile takes over a lock whose process is no longer running (stale-by-age detection is off,
so a session that has simply run for hours is never mistaken for a dead one). Sessions it could take over and
that left an autosave are offered for recovery; the finder holds their locks until the person decides, so two
windows starting together never recover the same work twice.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import platformdirs
from PySide6.QtCore import QLockFile, QObject, QTimer, Signal

from app.file_ops import write_text_atomic
from graph_engine.errors import ProjectError
from graph_engine.project import Project
from graph_engine.project_io import load_project, project_to_json

STATE_DIR_ENV = "LAYERLOOM_STATE_DIR"
AUTOSAVE_INTERVAL_MS = 2 * 60 * 1000
PREFIX = "autosave-"
PROJECT_SUFFIX = ".layerloom.json"
META_SUFFIX = ".meta.json"
LOCK_SUFFIX = ".lock"


def state_dir() -> Path:
    override = os.environ.get(STATE_DIR_ENV)
    if override:
        return Path(override)
    return Path(platformdirs.user_state_dir("LayerLoom", appauthor=False))


def new_session_id() -> str:
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{secrets.token_hex(3)}"


def _lock(path: Path) -> QLockFile:
    lock = QLockFile(str(path))
    lock.setStaleLockTime(0)  # only a dead owner makes a lock stale, never its age
    return lock


class AutosaveSession:
    """The files of one session: its lock, its autosaved project and the sidecar. No timers, no widgets (the
    crash test drives it from a bare subprocess)."""

    def __init__(self, folder: str | os.PathLike | None = None, session: str | None = None):
        self.folder = Path(folder) if folder is not None else state_dir()
        self.session = session or new_session_id()
        self._lock: QLockFile | None = None

    @property
    def project_path(self) -> Path:
        return self.folder / f"{PREFIX}{self.session}{PROJECT_SUFFIX}"

    @property
    def meta_path(self) -> Path:
        return self.folder / f"{PREFIX}{self.session}{META_SUFFIX}"

    @property
    def lock_path(self) -> Path:
        return self.folder / f"{PREFIX}{self.session}{LOCK_SUFFIX}"

    def start(self) -> bool:
        """Create the folder and take the session's lock; False when that is impossible (read-only home...):
        the app then runs without autosave rather than not at all."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            return False
        lock = _lock(self.lock_path)
        if not lock.tryLock(0):
            return False
        self._lock = lock
        return True

    @property
    def active(self) -> bool:
        return self._lock is not None

    def write(self, project: Project, original_path: str | os.PathLike | None) -> Path:
        """Write the project, then its sidecar (both atomically). Raises ProjectError when it cannot."""
        write_text_atomic(self.project_path, project_to_json(project))
        meta = {"format": "layerloom-autosave", "session": self.session, "pid": os.getpid(),
                "name": project.name, "original_path": str(original_path) if original_path else None,
                "saved_at": datetime.now().astimezone().isoformat(timespec="seconds")}
        write_text_atomic(self.meta_path, json.dumps(meta, indent=2) + "\n")
        return self.project_path

    def remove_files(self) -> None:
        for path in (self.project_path, self.meta_path):
            try:
                path.unlink()
            except FileNotFoundError:
                pass
            except OSError:
                pass  # a file we cannot delete is offered again next time, which is harmless

    def end(self) -> None:
        """Clean exit: nothing to recover, so the files and the lock go."""
        self.remove_files()
        if self._lock is not None:
            self._lock.unlock()
            self._lock = None


@dataclass
class RecoverableSession:
    """Work a dead session left behind. Holds that session's lock until `discard()` or `release()`."""

    session: str
    project_path: Path
    meta_path: Path
    name: str
    original_path: Path | None
    saved_at: datetime | None
    _lock: QLockFile | None = field(default=None, repr=False)

    def load(self) -> Project:
        return load_project(self.project_path)

    def discard(self) -> None:
        """Delete the autosave (the person chose not to keep it, or it was recovered)."""
        for path in (self.project_path, self.meta_path):
            try:
                path.unlink()
            except OSError:
                pass
        self.release()

    def release(self) -> None:
        """Keep the files for a later start, and let go of the lock."""
        if self._lock is not None:
            self._lock.unlock()
            self._lock = None

    @property
    def description(self) -> str:
        when = self.saved_at.strftime("%Y-%m-%d %H:%M") if self.saved_at else "unknown time"
        where = str(self.original_path) if self.original_path else "never saved"
        return f"{self.name} ({where}), autosaved {when}"


def find_recoverable(folder: str | os.PathLike | None = None, exclude: set[str] | frozenset[str] = frozenset()
                     ) -> list[RecoverableSession]:
    """Autosaves of sessions that are no longer running, newest first. Sessions whose process still runs (or
    listed in `exclude`, such as our own) are skipped; a dead session that left no autosave has its lock
    removed."""
    folder = Path(folder) if folder is not None else state_dir()
    try:
        names = sorted(p.name for p in folder.iterdir() if p.name.startswith(PREFIX))
    except OSError:
        return []
    sessions = dict.fromkeys(
        n[len(PREFIX):-len(suffix)] for n in names for suffix in (LOCK_SUFFIX, PROJECT_SUFFIX) if n.endswith(suffix))
    found = []
    for session in sessions:
        if session in exclude:
            continue
        files = AutosaveSession(folder, session)
        lock = _lock(files.lock_path)
        if not lock.tryLock(0):
            continue  # alive (or the lock cannot be taken): not ours to recover
        if not files.project_path.is_file():
            lock.unlock()  # died before anything needed saving: only its lock was left
            try:
                files.meta_path.unlink()
            except OSError:
                pass
            continue
        meta = _read_meta(files.meta_path)
        original = meta.get("original_path")
        saved_at = None
        if isinstance(meta.get("saved_at"), str):
            try:
                saved_at = datetime.fromisoformat(meta["saved_at"])
            except ValueError:
                saved_at = None
        if saved_at is None:
            saved_at = datetime.fromtimestamp(files.project_path.stat().st_mtime).astimezone()
        name = meta.get("name") if isinstance(meta.get("name"), str) else "Untitled"
        found.append(RecoverableSession(session, files.project_path, files.meta_path, name,
                                        Path(original) if isinstance(original, str) else None, saved_at, lock))
    found.sort(key=lambda r: r.saved_at.timestamp() if r.saved_at else 0.0, reverse=True)
    return found


def _read_meta(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


class Autosaver(QObject):
    """Watches the open document and autosaves it on a timer when it has unsaved, not yet autosaved changes.

    `saved(path)` after each autosave; `failed(reason)` when one could not be written (shown in the status
    bar; the next tick tries again)."""

    saved = Signal(object)
    failed = Signal(str)

    def __init__(self, session: AutosaveSession | None = None, interval_ms: int = AUTOSAVE_INTERVAL_MS,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.session = session or AutosaveSession()
        self.enabled = self.session.active or self.session.start()
        self._document = None
        self._generation = 0  # bumped on every change of the document
        self._saved_generation = 0  # the generation the autosave file holds
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.save_now)
        if self.enabled:
            self._timer.start()

    @property
    def interval_ms(self) -> int:
        return self._timer.interval()

    def set_document(self, document) -> None:
        """Follow a new document (the window swapped projects); the previous one's autosave goes."""
        if self._document is not None:
            self._document.bridge.changed.disconnect(self._changed)
            self._document.undo_stack.indexChanged.disconnect(self._changed)
            self._document.dirty_changed.disconnect(self._dirty_changed)
        self._document = document
        self.session.remove_files()
        self._generation = self._saved_generation = 0
        document.bridge.changed.connect(self._changed)
        # Every undo step counts, moves included: the graph's `changed` is for what changes the model.
        document.undo_stack.indexChanged.connect(self._changed)
        document.dirty_changed.connect(self._dirty_changed)
        if document.dirty:  # a recovered document: keep it safe at once
            self._generation = 1

    def _changed(self, *_args) -> None:
        self._generation += 1

    def _dirty_changed(self, dirty: bool) -> None:
        if not dirty:  # saved (or undone back to the saved state): the file on disk is the truth
            self.session.remove_files()
            self._saved_generation = self._generation

    @property
    def pending(self) -> bool:
        doc = self._document
        return doc is not None and doc.dirty and self._generation != self._saved_generation

    def save_now(self, force: bool = False) -> Path | None:
        """Autosave if there is something to save (or, with `force`, whenever the document is dirty)."""
        doc = self._document
        if not self.enabled or doc is None or not doc.dirty or not (force or self.pending):
            return None
        try:
            path = self.session.write(doc.project, doc.path)
        except ProjectError as exc:
            self.failed.emit(str(exc))
            return None
        self._saved_generation = self._generation
        self.saved.emit(path)
        return path

    def shutdown(self) -> None:
        """Clean exit: stop the timer, delete this session's files and release its lock."""
        self._timer.stop()
        if self._document is not None:
            try:
                self._document.bridge.changed.disconnect(self._changed)
                self._document.undo_stack.indexChanged.disconnect(self._changed)
                self._document.dirty_changed.disconnect(self._dirty_changed)
            except (RuntimeError, TypeError):
                pass
            self._document = None
        self.session.end()
        self.enabled = False
