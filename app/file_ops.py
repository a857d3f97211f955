"""Reading and writing project files from the app.

Reading goes through `graph_engine.project_io.load_project`, which raises only ProjectError subclasses (the
message is what the error dialog shows). Writing uses QSaveFile: the text goes to a temporary file next to
the target and replaces it in one rename on `commit()`, so a failed save (full disk, no permission) leaves
the previous file exactly as it was and never a half-written one.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from PySide6.QtCore import QIODevice, QSaveFile

from graph_engine.errors import ProjectError
from graph_engine.project import Project
from graph_engine.project_io import load_project, project_to_json
from graph_engine.templates import SUFFIX, TemplateInfo, list_templates, load_template

PROJECT_FILTER = "LayerLoom projects (*.layerloom.json *.json)"
ALL_FILES_FILTER = "All files (*)"
PYTHON_FILTER = "Python files (*.py)"


def read_project(path: str | os.PathLike) -> Project:
    """The project in `path`; raises ProjectError (not a project, corrupt, newer format, unreadable)."""
    return load_project(Path(path))


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write `text` (UTF-8) to `path` all at once or not at all; raises ProjectError with the reason."""
    path = Path(path)
    out = QSaveFile(str(path))
    if not out.open(QIODevice.OpenModeFlag.WriteOnly):
        raise ProjectError(f"cannot save {path}: {out.errorString()}",
                           hint="choose a folder you can write to; nothing was written")
    data = text.encode("utf-8")
    if out.write(data) != len(data):
        reason = out.errorString()
        out.cancelWriting()
        out.commit()  # discards the temporary file
        raise ProjectError(f"cannot save {path}: {reason}", hint="the previous version of the file is unchanged")
    if not out.commit():
        raise ProjectError(f"cannot save {path}: {out.errorString()}",
                           hint="the previous version of the file is unchanged")


def write_project(project: Project, path: str | os.PathLike) -> None:
    """Save `project` to `path` atomically (see the module docstring); raises ProjectError on failure."""
    write_text_atomic(path, project_to_json(project))


def with_project_suffix(path: str | os.PathLike) -> Path:
    """`net` -> `net.layerloom.json`; a name already ending in .json is kept as typed."""
    path = Path(path)
    return path if path.name.endswith(".json") else path.with_name(path.name + SUFFIX)


def suggested_file_name(project_name: str) -> str:
    """A file name for a project that has none yet: "LeNet-5" -> "LeNet-5.layerloom.json"."""
    stem = re.sub(r"[^\w\- ]+", "", project_name or "").strip() or "untitled"
    return stem + SUFFIX


def name_from_file(path: str | os.PathLike) -> str:
    """The project name a file name gives: `mymlp.layerloom.json` -> `mymlp`, `net.json` -> `net`."""
    name = Path(path).name
    for suffix in (SUFFIX, ".json"):
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def templates() -> list[TemplateInfo]:
    return list_templates()


def new_from_template(name: str) -> Project:
    """A fresh project from the built-in template `name` (raises ProjectError if there is none)."""
    return load_template(name)
