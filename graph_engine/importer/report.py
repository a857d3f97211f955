"""What an import returns, and the report of what could not be imported."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from graph_engine.errors import ProjectError
from graph_engine.project import Project

MAX_PROBLEMS_IN_MESSAGE = 20


@dataclass(frozen=True)
class ImportProblem:
    """Something that cannot be imported: the fx node's name (None for the module as a whole), its target
    (what it calls) and why."""

    node: str | None
    target: str
    reason: str

    def __str__(self) -> str:
        where = f"fx node {self.node!r} ({self.target})" if self.node else self.target
        return f"{where}: {self.reason}"


class ImportReport(ProjectError):
    """The import was refused; `problems` lists every offending module and call (nothing was written)."""

    def __init__(self, source: str, problems: Sequence[ImportProblem], hint: str = ""):
        self.source = source
        self.problems = list(problems)
        n = len(self.problems)
        shown = "; ".join(str(p) for p in self.problems[:MAX_PROBLEMS_IN_MESSAGE])
        more = f"; and {n - MAX_PROBLEMS_IN_MESSAGE} more" if n > MAX_PROBLEMS_IN_MESSAGE else ""
        super().__init__(f"cannot import {source}: {n} problem{'s' if n != 1 else ''}: {shown}{more}",
                         hint=hint or "rewrite those parts with layers and calls LayerLoom knows (see the catalog), "
                                      "then import again")

    def lines(self) -> list[str]:
        """A header line, then one line per problem (what the CLI prints)."""
        n = len(self.problems)
        return [f"cannot import {self.source}: {n} problem{'s' if n != 1 else ''}",
                *(f"  - {p}" for p in self.problems)]


@dataclass
class ImportResult:
    project: Project
    state: dict[str, torch.Tensor] = field(repr=False)  # keys == build_model(project).state_dict() keys
    max_abs_diff: float = 0.0  # between the module and build_model(project) + state, on a probe batch
    modules: dict[str, str] = field(default_factory=dict)  # module path -> its layer's path in the project
    # What the import says beside the result: keys of the module that could not be kept, and why.
    notes: list[str] = field(default_factory=list)


def short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."



def exc_text(exc: BaseException) -> str:
    text = str(exc).strip()
    first = text.splitlines()[0][:300] if text else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__
