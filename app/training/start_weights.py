"""Train > Train from These Weights... and a kept run's "Train from these weights": transfer learning in the app.

The chosen file (the weights `layerloom import` saved beside an imported project, a run's model.safetensors, or
any .safetensors / .pt state_dict) is matched to the network now, before a run starts
(graph_engine/training/init_weights.py `weights_fit`). When every layer fits, training.init names it; when some
layers do not (a replaced head, a removed layer), the person is asked whether those start from their own
initialisation (`init.fresh`), and nothing changes unless they say yes. One undo step either way.

    ask = lambda title, text: QMessageBox.question(...) == Yes      # the window's; tests answer themselves
    message = start_from_weights(document, path, ask)                # "" when nothing changed
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from app.document import Document, EditRefused
from graph_engine.errors import ProjectError
from graph_engine.importer.saving import weights_path_for
from graph_engine.training.init_weights import weights_fit

WEIGHTS_FILTER = "Weights (*.safetensors *.pt *.pth);;All files (*)"
MAX_SHOWN = 6  # mismatched layers named one by one in the question


def weights_beside(document: Document) -> Path | None:
    """The weights `layerloom import` wrote beside the document's file (net.layerloom.json -> net.safetensors)."""
    if document.path is None:
        return None
    path = weights_path_for(document.path)
    return path if path.is_file() else None


def stored_path(document: Document, path: Path) -> str:
    """How training.init names the file: relative to the project's folder when it lies inside it (the two
    move together), else absolute."""
    path = Path(path).resolve()
    if document.path is not None:
        folder = document.path.resolve().parent
        if path.is_relative_to(folder):
            return Path(os.path.relpath(path, folder)).as_posix()
    return str(path)


def start_from_weights(document: Document, path: Path, ask: Callable[[str, str], bool]) -> str:
    """Make the document's runs start from `path`. Returns the message for the status bar ("" when nothing
    changed). Raises ProjectError (an unreadable file, a network with errors) and EditRefused (while a run
    is going)."""
    fit = weights_fit(document.project, path)
    fresh: list[str] = []
    if not fit.fits:
        named = ", ".join(fit.mismatched[:MAX_SHOWN]) + (f" and {len(fit.mismatched) - MAX_SHOWN} more"
                                                         if len(fit.mismatched) > MAX_SHOWN else "")
        details = "\n".join("• " + p for p in fit.problems[:MAX_SHOWN])
        question = (f"{fit.loaded} of the network's {fit.total} tensors come from {Path(path).name}, but these "
                    f"layers do not match it: {named}.\n\n{details}\n\nStart them from their own initialisation "
                    "(a replaced head learns from scratch) and load the rest?")
        if not ask("Train from These Weights", question):
            return ""
        fresh = list(fit.mismatched)
    document.start_from_weights(stored_path(document, Path(path)), fresh)
    text = f"Training starts from {Path(path).name} ({fit.loaded} tensors)"
    return text + (f"; newly initialised: {', '.join(fresh)}" if fresh else "")


def run_weights(folder: Path | None) -> Path | None:
    """A kept run's trained weights: its final model.safetensors, else its best."""
    if folder is None:
        return None
    for name in ("model.safetensors", "best.safetensors"):
        if (folder / name).is_file():
            return folder / name
    return None


__all__ = ["WEIGHTS_FILTER", "ProjectError", "EditRefused", "run_weights", "start_from_weights", "stored_path",
           "weights_beside"]
