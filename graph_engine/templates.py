"""Built-in templates: ready-made projects a person starts from (`layerloom new --template NAME OUT`).

A template is an ordinary format_version 1 project file in `resources/templates/`, named
`NAME.layerloom.json`. Its NAME (the file name without `.layerloom.json`) is what the CLI and the welcome
screen use; its title is the project's "name"; its description is the top-level "description" key (an
unknown key to the project format, so it survives loading and saving and travels into projects made from the
template). The first sentence of the description is its one-line summary.

Where the folder is. Templates live in the repository's `resources/templates`; a wheel installs them as
package data of the engine (graph_engine/resource_files.py finds either). `LAYERLOOM_TEMPLATES` may point at
another folder.

Names are looked up only among the files that exist (a closed set, like layer ops), so a name from the command
line never becomes a path by itself.
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from graph_engine.errors import NotAProjectError, ProjectError
from graph_engine.project import Project
from graph_engine.project_io import load_project, read_json
from graph_engine.resource_files import resource_path

SUFFIX = ".layerloom.json"
TEMPLATES_ENV = "LAYERLOOM_TEMPLATES"
_NAME_RE = re.compile(r"[a-z0-9][a-z0-9_]*")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


class UnknownTemplateError(ProjectError):
    """No built-in template has that name; `suggestion` is the closest name, when one is close."""

    def __init__(self, name: str, suggestion: str | None, known: list[str]):
        hint = f"did you mean {suggestion!r}?" if suggestion else "run `layerloom templates` to list them"
        super().__init__(f"there is no template named {name[:60]!r}", hint=hint)
        self.name = name
        self.suggestion = suggestion
        self.known = known


@dataclass(frozen=True)
class TemplateInfo:
    name: str  # file stem, e.g. "lenet5"
    title: str  # the project's name, e.g. "LeNet-5"
    description: str
    path: Path

    @property
    def summary(self) -> str:
        """The description's first sentence (what `layerloom templates` prints)."""
        return _SENTENCE_END.split(self.description.strip(), maxsplit=1)[0] if self.description else ""


def templates_dir() -> Path:
    override = os.environ.get(TEMPLATES_ENV)
    if override:
        return Path(override)
    return resource_path("templates")


def list_templates() -> list[TemplateInfo]:
    """Every readable template, sorted by name. A file that is not a LayerLoom project is left out."""
    folder = templates_dir()
    try:
        paths = sorted(p for p in folder.iterdir() if p.name.endswith(SUFFIX) and p.is_file())
    except OSError:
        return []
    infos = []
    for path in paths:
        name = path.name[: -len(SUFFIX)]
        if not _NAME_RE.fullmatch(name):
            continue
        try:
            data = read_json(path)
        except NotAProjectError:
            continue
        if not isinstance(data, dict) or data.get("format") != "layerloom":
            continue
        title = data.get("name") if isinstance(data.get("name"), str) else name
        description = data.get("description") if isinstance(data.get("description"), str) else ""
        infos.append(TemplateInfo(name, title, " ".join(description.split()), path))
    return infos


def template_names() -> list[str]:
    return [t.name for t in list_templates()]


def closest_template(name: str) -> str | None:
    names = template_names()
    if not isinstance(name, str) or not names:
        return None
    lowered = name.strip().lower().removesuffix(SUFFIX).replace("-", "_")
    if lowered in names:
        return lowered
    # "lenet" -> "lenet5", "unet" -> "unet_small": a prefix or a whole part of a name comes first.
    partial = [n for n in names if n.startswith(lowered) or lowered in n.split("_")]
    if len(lowered) >= 3 and partial:
        return partial[0]
    match = difflib.get_close_matches(lowered, names, n=1, cutoff=0.5)
    return match[0] if match else None


def get_template(name: str) -> TemplateInfo:
    """The template called `name`; raises UnknownTemplateError (with the closest name) if there is none."""
    templates = list_templates()
    for info in templates:
        if info.name == name:
            return info
    raise UnknownTemplateError(name, closest_template(name), [t.name for t in templates])


def load_template(name: str) -> Project:
    """A fresh Project from the template called `name` (its description kept as an extra key)."""
    return load_project(get_template(name).path)


__all__ = ["SUFFIX", "TemplateInfo", "UnknownTemplateError", "closest_template", "get_template",
           "list_templates", "load_template", "template_names", "templates_dir"]
