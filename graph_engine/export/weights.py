"""Reading weights files safely and loading them strictly into a built model.

Weights are only ever read with safetensors or `torch.load(weights_only=True)`: a file is never unpickled
with arbitrary objects, so a weights file from the internet cannot run code. A `.safetensors` file (by name,
or by content: an 8-byte little-endian header length then a JSON header) goes to safetensors; a `.pt`,
`.pth`, `.bin` or `.ckpt` file to `torch.load(weights_only=True)`, which must give a mapping of names to
tensors (a `{"state_dict": {...}}` wrapper is accepted). Anything else is a `WeightsError`.

`load_strict(model, weights, source, node_ops)` is `load_state_dict(strict=True)` with an error that names
every layer whose weights are missing, unexpected or of the wrong shape, instead of torch's wall of text.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from graph_engine.errors import ProjectError

SAFETENSORS_SUFFIXES = (".safetensors",)
TORCH_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt")
MAX_LISTED = 8  # problems listed one by one in a message; the rest are counted


class WeightsError(ProjectError):
    """A weights file cannot be read, is not allowed (a pickle), or does not fit the network."""


def read_weights(path: str | os.PathLike) -> dict[str, Any]:
    """The tensors in a weights file, by name (CPU tensors). Raises WeightsError."""
    path = Path(path)
    if not path.exists():
        raise WeightsError(f"weights file {path} does not exist")
    if path.is_dir():
        raise WeightsError(f"weights file {path} is a folder", hint="give a .safetensors file")
    suffix = path.suffix.lower()
    if suffix in SAFETENSORS_SUFFIXES or (suffix not in TORCH_SUFFIXES and _looks_like_safetensors(path)):
        return _read_safetensors(path)
    if suffix in TORCH_SUFFIXES:
        return _read_torch(path)
    raise WeightsError(f"{path.name} is not a weights file LayerLoom reads",
                       hint="use a .safetensors file (or a .pt/.pth state_dict saved with torch.save)")


def _looks_like_safetensors(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            head = fh.read(9)
    except OSError:
        return False
    return len(head) == 9 and int.from_bytes(head[:8], "little") < (1 << 28) and head[8:9] == b"{"


def _read_safetensors(path: Path) -> dict[str, Any]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return dict(load_file(str(path), device="cpu"))
    except (SafetensorError, OSError, ValueError) as exc:
        raise WeightsError(f"cannot read weights {path}: {str(exc).strip() or type(exc).__name__}",
                           hint="the file is damaged or is not a safetensors file") from None


def _read_torch(path: Path) -> dict[str, Any]:
    import pickle

    import torch

    try:
        with warnings.catch_warnings():
            # A damaged header byte reads as "pickle protocol 87": torch warns before it fails; the failure
            # below is the message, not a raw UserWarning.
            warnings.simplefilter("ignore", UserWarning)
            data = torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise WeightsError(f"{path.name} holds Python objects, not only tensors, so LayerLoom refuses to load it "
                           "(unpickling it could run code)",
                           hint="save the weights with safetensors (safetensors.torch.save_file(model.state_dict(), "
                                "'model.safetensors')) or torch.save(model.state_dict(), ...)") from None
    except (RuntimeError, OSError, EOFError, ValueError) as exc:
        raise WeightsError(f"cannot read weights {path}: {str(exc).strip().splitlines()[0] if str(exc).strip() else exc!r}",
                           hint="the file is damaged or is not a PyTorch weights file") from None
    except Exception as exc:  # noqa: BLE001 - a changed byte makes the weights-only unpickler fail in any way
        # (KeyError, IndexError, TypeError, AttributeError...): the file is damaged, never a traceback.
        raise WeightsError(f"cannot read weights {path}: the file is damaged ({type(exc).__name__} while "
                           "unpickling its tensors)", hint="save the weights again, or use a .safetensors file") from None
    if isinstance(data, Mapping) and "state_dict" in data and isinstance(data["state_dict"], Mapping):
        data = data["state_dict"]
    if not isinstance(data, Mapping) or not all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                                for k, v in data.items()):
        raise WeightsError(f"{path.name} is not a state_dict (a mapping of names to tensors)",
                           hint="save it with torch.save(model.state_dict(), path) or with safetensors")
    return dict(data)


def load_strict(model: Any, weights: Mapping[str, Any], source: str,
                node_ops: Mapping[str, str] | None = None) -> None:
    """Load `weights` into `model` with strict=True; a WeightsError naming the layers that do not fit."""
    import torch

    expected = model.state_dict()
    problems = weight_problems(expected, weights, node_ops)
    if problems:
        shown = [text for _, text in problems[:MAX_LISTED]]
        more = len(problems) - len(shown)
        text = "; ".join(shown) + (f"; and {more} more" if more else "")
        raise WeightsError(f"the weights in {source} do not fit this network: {text}",
                           node_id=problems[0][0],
                           hint="use weights trained for this project (same layers, same sizes)")
    try:
        with torch.no_grad():
            model.load_state_dict({k: weights[k] for k in expected}, strict=True)
    except RuntimeError as exc:  # a dtype torch cannot copy, for example
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "keys or shapes differ"
        raise WeightsError(f"the weights in {source} do not fit this network ({first})") from None


def weight_problems(expected: Mapping[str, Any], weights: Mapping[str, Any],
                    node_ops: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """(layer, sentence) per layer whose weights are missing, unexpected or of another shape or kind."""
    by_layer: dict[str, list[str]] = {}
    ops = node_ops or {}

    def add(key: str, text: str) -> None:
        by_layer.setdefault(_layer_of(key), []).append(text)

    for key, tensor in expected.items():
        if key not in weights:
            add(key, f"{_leaf(key)} is missing from the file")
            continue
        got = weights[key]
        if tuple(got.shape) != tuple(tensor.shape):
            add(key, f"{_leaf(key)} has shape {list(got.shape)} in the file but {list(tensor.shape)} in the network")
        elif got.dtype.is_floating_point != tensor.dtype.is_floating_point:
            add(key, f"{_leaf(key)} is {str(got.dtype).removeprefix('torch.')} in the file but "
                     f"{str(tensor.dtype).removeprefix('torch.')} in the network")
    for key in weights:
        if key not in expected:
            add(key, f"{_leaf(key)} is in the file but not in the network")
    out = []
    for layer, texts in by_layer.items():
        if layer in ops or not ops:
            name = f"layer {layer!r}" + (f" ({ops[layer]})" if layer in ops else "")
        else:
            name = f"{layer!r} (not a layer of this network)"
        out.append((layer, f"{name}: {', '.join(texts)}"))
    return out


def _layer_of(key: str) -> str:
    return key.split(".", 1)[0]


def _leaf(key: str) -> str:
    return key.split(".", 1)[1] if "." in key else key


def save_weights(state: Mapping[str, Any], path: str | os.PathLike, metadata: dict[str, str] | None = None) -> None:
    """Write a state_dict as a safetensors file, atomically."""
    from safetensors.torch import save

    from graph_engine.project_io import atomic_write_bytes

    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in state.items()}
    atomic_write_bytes(Path(path), save(tensors, metadata=metadata))


__all__ = ["WeightsError", "load_strict", "read_weights", "save_weights", "weight_problems"]
