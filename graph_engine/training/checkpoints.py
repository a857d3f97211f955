"""A run folder: checkpoints (best and last), the metrics, the final weights and a copy of the project.

    RUN_DIR/
      project.layerloom.json   the project as trained (its training section = the effective settings)
      metrics.json             one record per epoch (rewritten after every epoch)
      last_state.pt            everything needed to resume after the last completed epoch, weights included
      last.safetensors         the weights of that epoch, for people and other tools (written after the state)
      best.safetensors         weights of the best epoch (lowest val_loss, or train_loss without validation)
      model.safetensors        the final weights (written when the run finishes or is stopped)

Weights are `safetensors.torch.save_file(state_dict)`, so they load into the exported class with
`load_state_dict(strict=True)`. `last_state.pt` is written with torch.save and holds only tensors, dicts,
lists, ints, floats, bools, None and strings, so `torch.load(path, weights_only=True)` reads it: the model
weights (since version 2), optimiser,
scheduler and GradScaler state, every random number generator (torch CPU and CUDA, the shuffle and
augmentation generators, numpy, python), the epoch and step reached, the history, the best record and the
early-stopping counters, and the training settings. Every file is written to a temporary name and renamed,
so an interruption never leaves a half-written checkpoint.

One file, so never a torn pair. Version 1 wrote last.safetensors and then last_state.pt: a kill between the
two left the weights of epoch N+1 beside the state of epoch N, and a resume mixed them silently. Now the
state holds the weights it belongs to and is written first; resuming reads the weights from it, so a kill at
any moment leaves a consistent checkpoint (at worst last.safetensors is one epoch older than the state). A
version-1 state is resumed with last.safetensors only when the epoch and step recorded in the weights' metadata
match the state's; otherwise the pair is refused as torn.

A failed write (a full disk, a lost network share) removes its temporary file, leaves the previous file in
place and raises a CheckpointError that says what happened; the run ends with that message and the folder
still resumes from the previous checkpoint.
"""

from __future__ import annotations

import errno
import io
import json
import os
import random
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from graph_engine.errors import ProjectError
from graph_engine.project_io import plain_file_mode

CHECKPOINT_FORMAT = "layerloom-checkpoint"
CHECKPOINT_VERSION = 2

PROJECT_FILE = "project.layerloom.json"
METRICS_FILE = "metrics.json"
LAST_WEIGHTS = "last.safetensors"
LAST_STATE = "last_state.pt"
BEST_WEIGHTS = "best.safetensors"
FINAL_WEIGHTS = "model.safetensors"
CHANGES_FILE = "changes.json"  # the edits made while paused (loop.py), one record each


class CheckpointError(ProjectError):
    """A run folder or checkpoint cannot be used (missing, unreadable, or made for another network)."""


# ---- atomic files ----------------------------------------------------------------------------------------


def _atomic(path: Path, write) -> None:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
    except OSError as exc:
        raise _write_error(path, exc) from None
    try:
        write(tmp)
        # mkstemp makes the file owner-only; run files get the same permissions as the project copy beside them
        os.chmod(tmp, plain_file_mode(path))
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, Exception):  # torch and safetensors report a full disk as RuntimeError & co.
            raise _write_error(path, exc) from None
        raise


def _write_error(path: Path, exc: BaseException) -> CheckpointError:
    text = str(exc)
    full = (isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)) or any(
        s in text for s in ("No space left", "os error 28", "StorageFull", "Disk quota"))
    if full:
        reason = "the disk is full"
    elif isinstance(exc, OSError):
        reason = exc.strerror or text or type(exc).__name__
    else:
        reason = (text.strip().splitlines() or [type(exc).__name__])[0][:200]
    return CheckpointError(f"cannot write {path.name} in {path.parent} ({reason}); the file written before, if "
                           "any, is kept", hint="free some disk space or train into another folder (--out); "
                           "then resume the run from its folder")


def write_json(path: Path, data: Any) -> None:
    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            json.dump(data, fh, indent=1, allow_nan=False)
            fh.write("\n")

    _atomic(path, write)


# ---- weights ---------------------------------------------------------------------------------------------


def weights_of(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The model's state_dict as contiguous CPU tensors (copies), ready for safetensors."""
    return {k: v.detach().to("cpu", copy=True).contiguous() for k, v in model.state_dict().items()}


def save_weights(weights: dict[str, torch.Tensor] | torch.nn.Module, path: Path,
                 metadata: dict[str, str] | None = None) -> None:
    from safetensors.torch import save_file

    tensors = weights_of(weights) if isinstance(weights, torch.nn.Module) else weights
    _atomic(Path(path), lambda tmp: save_file(tensors, tmp, metadata=metadata))


def load_weights(path: Path) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except (OSError, SafetensorError) as exc:
        raise CheckpointError(f"cannot read weights {path}: {exc}", hint="the file is missing or damaged") from None


def load_into(model: torch.nn.Module, weights: dict[str, torch.Tensor], source: str) -> None:
    """load_state_dict(strict=True), with a clear error when the weights belong to another network."""
    try:
        model.load_state_dict(weights, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "keys or shapes differ"
        raise CheckpointError(f"the weights in {source} do not fit this network ({first})",
                              hint="resume with the project the run was started from") from None


# ---- training state ----------------------------------------------------------------------------------------


def save_state(state: dict[str, Any], path: Path) -> None:
    # Serialised in memory, then written by Python: torch's own file writer reports a full disk as
    # "unexpected pos 576 vs 534", an OSError says ENOSPC.
    buffer = io.BytesIO()
    torch.save(state, buffer)

    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            fh.write(buffer.getbuffer())

    _atomic(Path(path), write)


def save_checkpoint(run_dir: Path, state: dict[str, Any], model: torch.nn.Module) -> None:
    """The resumable checkpoint: the state with the model's weights inside (one atomic file), then
    last.safetensors from the same weights (see the module docstring)."""
    weights = weights_of(model)
    save_state({**state, "weights": weights}, Path(run_dir) / LAST_STATE)
    save_weights(weights, Path(run_dir) / LAST_WEIGHTS, {"epoch": str(state["epoch"]), "step": str(state["step"])})


def checkpoint_weights(run_dir: Path, state: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The weights that belong to `state`: inside it (version 2), or a version-1 last.safetensors whose
    metadata says it was written for the same epoch and step (else a CheckpointError: a torn pair)."""
    weights = state.get("weights")
    if isinstance(weights, dict) and all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                         for k, v in weights.items()):
        return weights
    if weights is not None:
        raise CheckpointError(f"the checkpoint {Path(run_dir) / LAST_STATE} holds damaged weights",
                              hint="start the run again")
    path = Path(run_dir) / LAST_WEIGHTS
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), "pt") as fh:
            meta = fh.metadata() or {}
    except (OSError, SafetensorError) as exc:
        raise CheckpointError(f"cannot read weights {path}: {exc}", hint="the file is missing or damaged") from None
    want = (str(state.get("epoch")), str(state.get("step")))
    have = (meta.get("epoch"), meta.get("step", want[1]))
    if have != want:
        raise CheckpointError(
            f"the checkpoint in {run_dir} is torn: {LAST_WEIGHTS} holds epoch {have[0]} but {LAST_STATE} epoch "
            f"{want[0]} (the run was interrupted while saving), so it cannot be resumed exactly",
            hint="start the run again (older LayerLoom versions wrote these two files one after the other)")
    return load_weights(path)


def load_state(path: Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path.parent} holds no checkpoint to resume ({path.name} is missing)",
                              hint="resume a folder written by an earlier run with --out RUN_DIR")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - unpickling errors come in many types
        raise CheckpointError(f"cannot read the checkpoint {path}: {str(exc).splitlines()[0] if str(exc) else exc}",
                              hint="the file is damaged or was not written by LayerLoom") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path} is not a LayerLoom checkpoint", hint="resume a folder written by a run")
    if state.get("version", 0) > CHECKPOINT_VERSION:
        raise CheckpointError(f"{path} was written by a newer LayerLoom", hint="update LayerLoom to resume it")
    return state


def rng_state(generators: dict[str, torch.Generator], device: torch.device) -> dict[str, Any]:
    """Every random number generator's state, as tensors and plain values."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    version, internal, gauss = random.getstate()
    out: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {"kind": str(kind), "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached": float(cached)},
        "python": {"version": int(version), "state": [int(v) for v in internal], "gauss": gauss},
        "generators": {name: gen.get_state() for name, gen in generators.items()},
    }
    if device.type == "cuda":
        out["cuda"] = torch.cuda.get_rng_state_all()
    return out


def set_rng_state(state: dict[str, Any], generators: dict[str, torch.Generator], device: torch.device) -> None:
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    p = state["python"]
    random.setstate((p["version"], tuple(p["state"]), p["gauss"]))
    for name, gen in generators.items():
        if name in state["generators"]:
            try:
                gen.set_state(state["generators"][name])
            except RuntimeError:  # saved on another kind of device: the run goes on, no longer bitwise equal
                pass
    if device.type == "cuda" and "cuda" in state:
        try:
            torch.cuda.set_rng_state_all(state["cuda"])
        except RuntimeError:
            pass


__all__ = [
    "BEST_WEIGHTS",
    "CHECKPOINT_FORMAT",
    "FINAL_WEIGHTS",
    "LAST_STATE",
    "LAST_WEIGHTS",
    "METRICS_FILE",
    "PROJECT_FILE",
    "CheckpointError",
    "checkpoint_weights",
    "load_into",
    "load_state",
    "load_weights",
    "rng_state",
    "save_checkpoint",
    "save_state",
    "save_weights",
    "set_rng_state",
    "weights_of",
    "write_json",
]
