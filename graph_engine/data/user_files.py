"""A person's own data: a CSV table, a NumPy .npz file, a folder of images with one sub-folder per class.

Every problem with a file is a `DatasetError` that names the path and says what to change; nothing here lets
a raw traceback (OSError, csv.Error, zipfile errors, Pillow errors...) escape.

CSV tables: see csv_table.py (pyarrow's streaming reader, bounded memory). Every loader checks what it is about
to allocate against `limits.memory_budget()` before it allocates it.

.npz rules: arrays named `X` and `y` (optional `class_names`, `feature_names` string arrays). X of rank 2 is
a table, rank 3 a series [N, steps, features], rank 4 images [N, C, H, W]; `kind` overrides. An integer,
bool or text `y` is classification (non-negative integers are kept as class indices), a float `y`
regression ([N, k]). Nothing is standardised unless `standardize` is on.

Image folders: see image_folder.py.
"""

from __future__ import annotations

import math
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from graph_engine.data.base import KINDS, Dataset
from graph_engine.data.builtin import standardise
from graph_engine.data.csv_table import DELIMITERS, MAX_AUTO_CLASSES, MAX_CLASSES, load_csv
from graph_engine.data.files import file_error, need_file
from graph_engine.data.image_folder import load_image_folder
from graph_engine.data.limits import check_fits, format_bytes

# ---- npz ----------------------------------------------------------------------------------------------------


def load_npz(path: Path, task: str = "auto", kind: str = "auto", standardize: bool = False) -> Dataset:
    path = Path(path)
    hint = 'save it with numpy.savez(path, X=features, y=targets)'
    need_file(path, "NumPy file", "check the path (relative paths start at the project file's folder)")
    _check_npz_sizes(path, hint)
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise file_error(f"not a readable NumPy .npz file ({type(exc).__name__})", path, hint) from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise file_error("this is a single NumPy array, not an .npz archive with X and y", path, hint)
    with archive:
        keys = list(archive.files)
        missing = [k for k in ("X", "y") if k not in keys]
        if missing:
            present = ", ".join(keys) if keys else "none"
            raise file_error(f"the .npz file has no array {' or '.join(repr(m) for m in missing)} (arrays: {present})",
                       path, hint)
        X = _read_array(archive, "X", path)
        y = _read_array(archive, "y", path)
        class_names = _read_names(archive, "class_names", path) if "class_names" in keys else None
        feature_names = _read_names(archive, "feature_names", path) if "feature_names" in keys else ()
    if X.ndim == 0 or len(X) == 0:
        raise file_error("array X holds no samples", path, "X needs one row per sample")
    if y.ndim == 0 or len(y) != len(X):
        raise file_error(f"X has {len(X)} samples but y has {len(y) if y.ndim else 0}", path,
                   "X and y need the same length (one target per sample)")
    if X.ndim == 1:
        X = X[:, None]
    kind = _npz_kind(kind, X, path)
    X_out, vocab, image_shape = _npz_features(X, kind, path)
    fm = fs = tm = ts = None
    if standardize and kind != "tokens":
        flat, fm, fs = standardise(X_out.reshape(len(X_out), -1))
        X_out = flat.reshape(X_out.shape)
        fm, fs = fm.reshape(X_out.shape[1:]), fs.reshape(X_out.shape[1:])
    if task == "auto":
        task = "regression" if y.dtype.kind in "fc" else "classification"
    common = dict(name="npz", X=X_out, kind=kind, vocab_size=vocab, image_shape=image_shape,
                  feature_names=tuple(feature_names), feature_mean=fm, feature_std=fs, source=str(path),
                  description=f"{path.name}: {len(X_out)} samples of shape {list(X_out.shape[1:])}")
    if task == "classification":
        y_out, names = _npz_classes(y, class_names, path)
        return Dataset(y=y_out, task="classification", num_classes=len(names), class_names=names, **common)
    if y.dtype.kind not in "fiub":
        raise file_error(f"y holds {y.dtype} values, which cannot be regression targets", path,
                   "set task to classification, or save numeric targets")
    y_out = y.astype(np.float64).reshape(len(y), -1)
    if not np.all(np.isfinite(y_out)):
        raise file_error("y holds NaN or infinite values", path, "remove or fill those samples")
    if standardize:
        y_out, tm, ts = standardise(y_out)
    return Dataset(y=y_out.astype(np.float32), task="regression", target_mean=tm, target_std=ts, **common)


def _check_npz_sizes(path: Path, hint: str) -> None:
    """Refuse an .npz whose arrays would not fit in memory, from their headers alone (before np.load reads a
    byte of data): a zip bomb's members, or a header claiming 10^12 values, end here with a clear message."""
    try:
        with open(path, "rb") as fh:
            magic = fh.read(6)
    except OSError as exc:
        raise file_error(f"cannot read the NumPy file ({exc.strerror or exc})", path, "check its permissions") from None
    if magic.startswith(b"\x93NUMPY"):
        raise file_error("this is a single NumPy array, not an .npz archive with X and y", path, hint)
    if not magic.startswith(b"PK"):
        raise file_error("not a readable NumPy .npz file (it is not a zip archive)", path, hint)
    total = 0
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if not info.filename.endswith(".npy"):
                    continue
                with archive.open(info) as member:
                    shape, dtype = _npy_header(member)
                claimed = math.prod(shape) * dtype.itemsize
                name = info.filename.removesuffix(".npy")
                if claimed > info.file_size:
                    raise file_error(f"array {name!r} claims {format_bytes(claimed)} of data but the file holds "
                                     f"{format_bytes(info.file_size)} for it (the file is damaged)", path,
                                     "save the file again")
                total += claimed
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, NotImplementedError, RuntimeError) as exc:
        raise file_error(f"not a readable NumPy .npz file ({type(exc).__name__})", path, hint) from None
    # X is converted to float32 beside the array read from the file: twice the arrays at the peak.
    check_fits(2 * total, "the .npz file's arrays", "save a smaller dataset", path=str(path))


def _npy_header(member: Any) -> tuple[tuple[int, ...], np.dtype]:
    fmt = np.lib.format
    version = fmt.read_magic(member)
    if version == (1, 0):
        shape, _, dtype = fmt.read_array_header_1_0(member)
    elif version == (2, 0):
        shape, _, dtype = fmt.read_array_header_2_0(member)
    else:  # 3.0 (utf-8 field names) has no public reader
        shape, _, dtype = fmt._read_array_header(member, version)
    return tuple(int(d) for d in shape), dtype


def _read_array(archive: Any, key: str, path: Path) -> np.ndarray:
    try:
        arr = archive[key]
    except ValueError:
        raise file_error(f"array {key!r} holds Python objects, which LayerLoom does not load (no pickles)", path,
                   "save plain numeric arrays (e.g. X.astype('float32'))") from None
    except (OSError, EOFError, zipfile.BadZipFile):
        raise file_error(f"array {key!r} cannot be read (the file is damaged)", path, "save the file again") from None
    if arr.dtype.kind not in "biufUS":
        raise file_error(f"array {key!r} has dtype {arr.dtype}, which is not numeric", path, "save numeric arrays")
    return arr


def _read_names(archive: Any, key: str, path: Path) -> tuple[str, ...]:
    arr = _read_array(archive, key, path)
    return tuple(str(v) for v in arr.reshape(-1))


def _npz_kind(kind: str, X: np.ndarray, path: Path) -> str:
    if kind == "auto":  # integer X stays a table: token ids are only assumed when kind is "tokens"
        return {2: "table", 3: "series", 4: "image"}.get(X.ndim, "table")
    if kind not in KINDS:
        raise file_error(f"unknown kind {kind!r}", path, "choose one of: auto, " + ", ".join(KINDS))
    if kind == "points2d" and X.reshape(len(X), -1).shape[1] != 2:
        raise file_error(f"kind points2d needs 2 values per sample, X has shape {list(X.shape)}", path,
                   "use kind table")
    if kind == "image" and X.ndim not in (3, 4):
        raise file_error(f"kind image needs X of shape [N, C, H, W] or [N, H, W], not {list(X.shape)}", path,
                   "reshape X before saving, or use kind table")
    return kind


def _npz_features(X: np.ndarray, kind: str, path: Path) -> tuple[np.ndarray, int | None, tuple | None]:
    if X.dtype.kind not in "biuf":
        raise file_error(f"X holds {X.dtype} values; features must be numbers", path, "save X as numbers")
    if kind == "tokens":
        if X.dtype.kind not in "iu" or (X.size and X.min() < 0):
            raise file_error("kind tokens needs X of non-negative integer token ids", path,
                       "save X as integers (e.g. X.astype('int64'))")
        return X.astype(np.int64), int(X.max()) + 1 if X.size else 1, None
    out = X.astype(np.float32)
    if not np.all(np.isfinite(out)):
        raise file_error("X holds NaN or infinite values", path, "remove or fill those samples")
    if kind == "image":
        if out.ndim == 3:
            out = out[:, None]
        return out, None, tuple(int(d) for d in out.shape[1:])
    return out, None, None


def _npz_classes(y: np.ndarray, names: tuple[str, ...] | None, path: Path) -> tuple[np.ndarray, tuple[str, ...]]:
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise file_error(f"classification needs y of shape [N] (one class per sample), not {list(y.shape)}", path,
                   "save class indices, or set task to regression")
    if y.dtype.kind in "iub" and (y.size == 0 or y.min() >= 0):
        labels = y.astype(np.int64)
        k = int(labels.max()) + 1 if labels.size else 0
        default_names = tuple(str(i) for i in range(k))
    elif y.dtype.kind == "f" and np.all(np.isfinite(y)):
        values, labels = np.unique(y, return_inverse=True)
        default_names = tuple(str(int(v)) if float(v).is_integer() else f"{v:g}" for v in values)
    else:
        values, labels = np.unique(y.astype(str), return_inverse=True)
        default_names = tuple(str(v) for v in values)
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    k = len(default_names)
    if k > MAX_CLASSES:
        raise file_error(f"y has {k} classes, too many", path, "set task to regression if y is a quantity")
    if k < 2:
        raise file_error("y holds a single class", path, "a classifier needs at least 2 classes")
    if names is not None:
        if len(names) < k:
            raise file_error(f"class_names lists {len(names)} names but y has {k} classes", path,
                       "save one name per class")
        return labels, tuple(names)
    return labels, default_names


__all__ = ["DELIMITERS", "MAX_AUTO_CLASSES", "MAX_CLASSES", "load_csv", "load_image_folder", "load_npz"]
