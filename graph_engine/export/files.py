"""Atomic file writes for exports (the same rules as project saves: temp file, fsync, rename)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from graph_engine.errors import ProjectError


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write `data` to `path` atomically; on any failure the previous file is left as it was."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise ProjectError(f"cannot save {path}: {exc.strerror or exc}", hint="choose a folder you can write to") from None
    try:
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_current_umask()
        os.chmod(tmp, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise ProjectError(f"cannot save {path}: {exc.strerror or exc}",
                               hint="the previous version of the file was left unchanged") from None
        raise


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


__all__ = ["atomic_write_bytes"]
