"""One training run per run folder at a time.

Two `layerloom train` processes writing into one folder would interleave their checkpoints and metrics and
both exit 0. A run holds an exclusive OS lock on `RUN_DIR/.layerloom-run.lock` while it trains; a second
run into the same folder is refused at once with a clear message. The lock belongs to the process, so a run
killed with SIGKILL (or a power cut) never leaves a stale lock behind: the file may stay, the lock does not.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from graph_engine.errors import ProjectError

LOCK_FILE = ".layerloom-run.lock"


class RunFolderBusy(ProjectError):
    """Another process is training into this run folder."""


@contextlib.contextmanager
def run_folder_lock(run_dir: str | os.PathLike) -> Iterator[None]:
    """Hold the run folder's lock for the duration of the block (the folder is created if needed)."""
    run_dir = Path(run_dir)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        fh = open(run_dir / LOCK_FILE, "a+b")  # noqa: SIM115 - held open for the whole run
    except OSError as exc:
        raise ProjectError(f"cannot create the run folder {run_dir}: {exc.strerror or exc}",
                           hint="choose a folder you can write to") from None
    try:
        try:
            _lock(fh.fileno())
        except OSError:
            raise RunFolderBusy(f"{run_dir} is in use by another training run right now; nothing was written",
                                hint="wait for it to finish, or choose another --out") from None
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                _unlock(fh.fileno())
    finally:
        fh.close()


if os.name == "nt":
    import msvcrt

    def _lock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
else:
    import fcntl

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


__all__ = ["LOCK_FILE", "RunFolderBusy", "run_folder_lock"]
