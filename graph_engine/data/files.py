"""What every loader of a person's own files shares: errors that name the path, and what may be quoted.

A project can point a dataset at any local file (a shared project could name /etc/shadow), and its messages
reach the window, the CLI and logs. So a loader quotes a file's *content* (a column name, a cell) only when
the file is named as a table (`.csv`, `.tsv`, `.txt`); otherwise columns are named by number and values are
not shown. The path itself is always named: the project already holds it.
"""

from __future__ import annotations

from pathlib import Path

from graph_engine.data.base import DatasetError

TABLE_SUFFIXES = (".csv", ".tsv", ".tab", ".txt")


def file_error(message: str, path: Path | str, hint: str = "") -> DatasetError:
    return DatasetError(f"{message}: {path}", hint, path=str(path))


def need_file(path: Path, what: str, hint: str) -> None:
    """A DatasetError unless `path` is a regular file (a named pipe or device would block or never end)."""
    if not path.exists():
        raise file_error(f"{what} not found", path, hint)
    if not path.is_file():
        raise file_error(f"{what} is not a file", path, hint)


def may_quote(path: Path) -> bool:
    """Whether messages about `path` may show pieces of its content (see the module docstring)."""
    return Path(path).suffix.lower() in TABLE_SUFFIXES


__all__ = ["TABLE_SUFFIXES", "file_error", "may_quote", "need_file"]
