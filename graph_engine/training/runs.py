"""Runs kept on disk: each run a folder in a runs folder beside the project, and the architecture diff
between two runs' project snapshots.

    runs = runs_folder(project_path, app_data)          # "<name>.runs" beside the file; app data if unsaved
    run = create_run(runs, "run 1", project)            # <runs>/<id>/ with run.json + project.layerloom.json
    Trainer(project, run_dir=run, ...).run()            # the trainer writes metrics, weights, checkpoints
    finish_run(run, "finished")
    for info in list_runs(runs): ...                    # newest last, also after a restart
    diff = architecture_diff(load_snapshot(a), load_snapshot(b))

A run folder is the trainer's run folder (graph_engine/training/checkpoints.py: `project.layerloom.json`, the
project it trained; `metrics.json`, one record per epoch; best / last / final weights and the resume state)
plus `run.json` (name, status, created, the training settings), the one file this module owns. Every write is
atomic; a folder whose run.json cannot be read is listed
as damaged rather than raising, and nothing read here is ever executed. No torch here.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graph_engine.errors import ProjectError
from graph_engine.project import Project
from graph_engine.project_io import atomic_write_text, load_project, save_project

RUN_FILE = "run.json"
SNAPSHOT_FILE = "project.layerloom.json"
METRICS_FILE = "metrics.json"  # written by the trainer (checkpoints.METRICS_FILE)
CHANGES_FILE = "changes.json"  # the edits made while paused, written by the trainer (checkpoints.CHANGES_FILE)
RESUME_FILE = "last_state.pt"  # checkpoints.LAST_STATE
STATUSES = ("running", "paused", "finished", "stopped", "failed")
_ID = re.compile(r"[^A-Za-z0-9_-]+")


class RunError(ProjectError):
    """A run folder cannot be read or changed; `str()` says which and why."""


@dataclass
class RunInfo:
    folder: Path
    name: str
    status: str
    created: float
    training: dict[str, Any] = field(default_factory=dict)
    problem: str = ""  # why run.json could not be read ("" when it could)

    @property
    def snapshot(self) -> Path:
        return self.folder / SNAPSHOT_FILE

    @property
    def resumable(self) -> bool:
        return self.status in ("stopped", "paused") and (self.folder / RESUME_FILE).exists()


def runs_folder(project_path: Path | None, app_data: Path) -> Path:
    """Where a project's runs live: "<file name without .layerloom.json>.runs" beside a saved project, or
    app_data/runs/untitled for one never saved."""
    if project_path is None:
        return Path(app_data) / "runs" / "untitled"
    name = project_path.name
    for suffix in (".layerloom.json", ".json"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return project_path.parent / f"{name}.runs"


def create_run(runs: Path, name: str, project: Project, training: dict[str, Any] | None = None) -> Path:
    """A new run folder (its id from the time and the name, never an existing folder's)."""
    runs.mkdir(parents=True, exist_ok=True)
    stem = time.strftime("%Y%m%d-%H%M%S") + "-" + (_ID.sub("-", name).strip("-")[:40] or "run")
    folder, n = runs / stem, 1
    while folder.exists():
        n += 1
        folder = runs / f"{stem}-{n}"
    folder.mkdir()
    save_project(project, folder / SNAPSHOT_FILE)
    _write_run(folder, {"name": name, "status": "running", "created": time.time(),
                        "training": training if training is not None else (project.training or {})})
    return folder


def read_metrics(folder: Path) -> list[dict[str, Any]]:
    """The epoch records the trainer wrote ([] when none yet or the file is damaged)."""
    try:
        value = json.loads((folder / METRICS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [r for r in value if isinstance(r, dict)] if isinstance(value, list) else []


def read_changes(folder: Path) -> list[dict[str, Any]]:
    """The edits made while the run was paused (the trainer's changes.json; [] when none or damaged)."""
    try:
        value = json.loads((folder / CHANGES_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [r for r in value if isinstance(r, dict) and isinstance(r.get("step"), int)] if isinstance(value, list) else []


def finish_run(folder: Path, status: str) -> None:
    if status not in STATUSES:
        raise RunError(f"unknown run status {status!r}", hint="use one of: " + ", ".join(STATUSES))
    data = _read_run(folder)
    data["status"] = status
    _write_run(folder, data)


def rename_run(folder: Path, name: str) -> None:
    name = name.strip()
    if not name:
        raise RunError("a run needs a name", hint="type a name such as 'lr 0.01'")
    data = _read_run(folder)
    data["name"] = name
    _write_run(folder, data)


def delete_run(folder: Path) -> None:
    """Remove a run folder (only a folder that is a run: it holds run.json)."""
    if not (folder / RUN_FILE).is_file():
        raise RunError(f"{folder} is not a run folder", hint="it has no run.json")
    shutil.rmtree(folder)


def list_runs(runs: Path) -> list[RunInfo]:
    """Every run folder, oldest first. A folder whose run.json is damaged is listed with its problem."""
    if not runs.is_dir():
        return []
    out = []
    for folder in sorted(p for p in runs.iterdir() if p.is_dir() and (p / RUN_FILE).exists()):
        try:
            data = _read_run(folder)
            out.append(RunInfo(folder, str(data.get("name") or folder.name), str(data.get("status", "stopped")),
                               float(data.get("created", 0.0)), dict(data.get("training") or {})))
        except RunError as exc:
            out.append(RunInfo(folder, folder.name, "failed", 0.0, problem=exc.message))
    out.sort(key=lambda r: (r.created, r.folder.name))
    return out


def load_snapshot(folder: Path) -> Project:
    """The project a run trained (ProjectError when its snapshot is missing or damaged)."""
    return load_project(folder / SNAPSHOT_FILE)


def _read_run(folder: Path) -> dict[str, Any]:
    try:
        data = json.loads((folder / RUN_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RunError(f"cannot read {folder.name}/{RUN_FILE}: {exc}") from None
    if not isinstance(data, dict):
        raise RunError(f"{folder.name}/{RUN_FILE} is not a JSON object")
    return data


def _write_run(folder: Path, data: dict[str, Any]) -> None:
    atomic_write_text(folder / RUN_FILE, json.dumps(data, indent=1))


# ---- architecture diff -----------------------------------------------------------------------------------


@dataclass
class ArchitectureDiff:
    """What differs between two projects' networks (a -> b), by layer id."""

    added: list[str] = field(default_factory=list)  # layers only in b
    removed: list[str] = field(default_factory=list)  # layers only in a
    retyped: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (op in a, op in b)
    params: dict[str, dict[str, tuple[Any, Any]]] = field(default_factory=dict)  # id -> param -> (a, b)
    edges_added: list[str] = field(default_factory=list)
    edges_removed: list[str] = field(default_factory=list)

    @property
    def same(self) -> bool:
        return not (self.added or self.removed or self.retyped or self.params or self.edges_added
                    or self.edges_removed)

    def lines(self) -> list[str]:
        """One line per difference, for a dialog or a terminal."""
        if self.same:
            return ["The two networks are the same."]
        out = [f"+ layer {i}" for i in self.added] + [f"- layer {i}" for i in self.removed]
        out += [f"~ {i}: {a} -> {b}" for i, (a, b) in self.retyped.items()]
        for node, changes in self.params.items():
            out += [f"~ {node}.{p}: {_show(a)} -> {_show(b)}" for p, (a, b) in changes.items()]
        out += [f"+ edge {e}" for e in self.edges_added] + [f"- edge {e}" for e in self.edges_removed]
        return out


_UNSET = "(default)"


def architecture_diff(a: Project, b: Project) -> ArchitectureDiff:
    """Which layers and params differ between two projects (positions and training settings ignored)."""
    na, nb = a.graph.nodes, b.graph.nodes
    diff = ArchitectureDiff(added=[i for i in nb if i not in na], removed=[i for i in na if i not in nb])
    for node_id, node in na.items():
        other = nb.get(node_id)
        if other is None:
            continue
        if node.op != other.op:
            diff.retyped[node_id] = (node.op, other.op)
            continue
        changes = {key: (node.params.get(key, _UNSET), other.params.get(key, _UNSET))
                   for key in dict.fromkeys([*node.params, *other.params])
                   if node.params.get(key, _UNSET) != other.params.get(key, _UNSET)}
        if changes:
            diff.params[node_id] = changes
    ea = {_edge_text(e) for e in a.graph.edges}
    eb = {_edge_text(e) for e in b.graph.edges}
    diff.edges_added = sorted(eb - ea)
    diff.edges_removed = sorted(ea - eb)
    return diff


def _edge_text(edge: Any) -> str:
    src = edge.src if not getattr(edge, "src_port", 0) else f"{edge.src}:{edge.src_port}"
    dst = edge.dst if not getattr(edge, "dst_port", 0) else f"{edge.dst}:{edge.dst_port}"
    return f"{src} -> {dst}"


def _show(value: Any) -> str:
    text = value if value == _UNSET else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


__all__ = ["ArchitectureDiff", "RunError", "RunInfo", "architecture_diff", "create_run",
           "delete_run", "finish_run", "list_runs", "load_snapshot", "read_changes", "read_metrics", "rename_run",
           "runs_folder"]
