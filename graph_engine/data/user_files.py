"""A person's own data: a CSV table, a NumPy .npz file, a folder of images with one sub-folder per class.

Every problem with a file is a `DatasetError` that names the path and says what to change; nothing here lets
a raw traceback (OSError, csv.Error, zipfile errors, Pillow errors...) escape.

CSV rules: the first row names the columns; `target` picks the label column (default: the last one). Every
other column must be numeric (a text column is refused, naming it); features are standardised by default and
the mean/std are kept on the Dataset. The task is inferred: a text target, or a target of whole numbers with
at most 20 distinct values, is classification (classes sorted, names kept); other numbers are regression (the
target is standardised too when `standardize` is on). `task` overrides the inference.

.npz rules: arrays named `X` and `y` (optional `class_names`, `feature_names` string arrays). X of rank 2 is
a table, rank 3 a series [N, steps, features], rank 4 images [N, C, H, W]; `kind` overrides. An integer,
bool or text `y` is classification (non-negative integers are kept as class indices), a float `y`
regression ([N, k]). Nothing is standardised unless `standardize` is on.

Image folders: `path/<class name>/<image files>`; class names are the sorted sub-folder names. Images are
converted to grayscale (1 channel) or RGB (3 channels), resized to `size` x `size` (aspect ratio not kept)
and scaled to 0..1: X [N, C, size, size] float32. Files that are not images are skipped and listed in
`Dataset.warnings`; a folder with no images (or fewer than 2 classes) is an error.
"""

from __future__ import annotations

import csv
import io
import math
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from graph_engine.data.base import KINDS, Dataset, DatasetError
from graph_engine.data.builtin import standardise

MAX_AUTO_CLASSES = 20  # a whole-number target with at most this many values is a classification target
MAX_CLASSES = 1000
IMAGE_SUFFIX_HINT = "PNG, JPEG, BMP, GIF, TIFF or WebP"


def _err(message: str, path: Path | str, hint: str = "") -> DatasetError:
    return DatasetError(f"{message}: {path}", hint, path=str(path))


def _need_file(path: Path, what: str, hint: str) -> None:
    if not path.exists():
        raise _err(f"{what} not found", path, hint)
    if not path.is_file():
        raise _err(f"{what} is not a file", path, hint)


# ---- CSV ----------------------------------------------------------------------------------------------------

DELIMITERS = {"auto": None, "comma": ",", "semicolon": ";", "tab": "\t", "pipe": "|"}


def load_csv(path: Path, target: str | None = None, task: str = "auto", standardize: bool = True,
             delimiter: str = "auto") -> Dataset:
    path = Path(path)
    _need_file(path, "CSV file", "check the path (relative paths start at the project file's folder)")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise _err("CSV file is not UTF-8 text", path, "save it as UTF-8 (CSV UTF-8 in Excel)") from None
    except OSError as exc:
        raise _err(f"cannot read the CSV file ({exc.strerror or exc})", path, "check the file's permissions") from None
    rows = _csv_rows(text, path, DELIMITERS.get(delimiter))
    if not rows:
        raise _err("CSV file is empty", path, "the first row must name the columns, the next rows hold the data")
    header, body = [c.strip() for c in rows[0]], rows[1:]
    if not body:
        raise _err("CSV file has a header row but no data rows", path, "add rows of data below the header")
    _check_header(header, path)
    for line, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise _err(f"row {line} has {len(row)} values but the header names {len(header)} columns", path,
                       "every row needs one value per column (is the delimiter right?)")
    if len(header) < 2:
        raise _err(f"CSV file has a single column {header[0]!r}; it needs feature columns and a target column",
                   path, "check the delimiter setting, or add feature columns")
    if target is None:
        t_col = len(header) - 1
    elif target in header:
        t_col = header.index(target)
    else:
        from graph_engine.params import closest_name

        guess = closest_name(target, header)
        raise _err(f"CSV file has no column {target!r}", path,
                   f"did you mean {guess!r}?" if guess else "columns: " + ", ".join(header))
    feature_cols = [j for j in range(len(header)) if j != t_col]
    X = np.empty((len(body), len(feature_cols)), dtype=np.float64)
    for k, j in enumerate(feature_cols):
        X[:, k] = _numeric_column(header[j], [row[j] for row in body], path)
    raw_target = [row[t_col].strip() for row in body]
    for line, value in enumerate(raw_target, start=2):
        if not value:
            raise _err(f"the target column {header[t_col]!r} is empty in row {line}", path,
                       "fill in every label, or remove the rows without one")
    numbers = _try_floats(raw_target)
    task = _resolve_task(task, raw_target, numbers, header[t_col], path)
    fm = fs = tm = ts = None
    if standardize:
        X, fm, fs = standardise(X)
    common = dict(name="csv", X=X.astype(np.float32), kind="table",
                  feature_names=tuple(header[j] for j in feature_cols), feature_mean=fm, feature_std=fs,
                  source=str(path), description=f"{path.name}: {len(body)} rows, target {header[t_col]!r}")
    if task == "classification":
        y, names = _encode_classes(raw_target, numbers, header[t_col], path)
        return Dataset(y=y, task="classification", num_classes=len(names), class_names=names, **common)
    assert numbers is not None
    y = numbers.reshape(-1, 1)
    if standardize:
        y, tm, ts = standardise(y)
    return Dataset(y=y.astype(np.float32), task="regression", target_mean=tm, target_std=ts, **common)


def _csv_rows(text: str, path: Path, delimiter: str | None) -> list[list[str]]:
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff(text[:8192], delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","
    try:
        rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    except csv.Error as exc:
        raise _err(f"CSV file cannot be parsed ({exc})", path, "check quotes and delimiters") from None
    return [row for row in rows if any(cell.strip() for cell in row)]


def _check_header(header: list[str], path: Path) -> None:
    seen: set[str] = set()
    for j, name in enumerate(header, start=1):
        if not name:
            raise _err(f"column {j} of the header row has no name", path, "give every column a name in row 1")
        if name in seen:
            raise _err(f"two columns are named {name!r}", path, "give every column a different name")
        seen.add(name)


def _try_floats(values: Sequence[str]) -> np.ndarray | None:
    try:
        out = np.array([float(v) for v in values], dtype=np.float64)
    except ValueError:
        return None
    return out if np.all(np.isfinite(out)) else None


def _numeric_column(name: str, values: list[str], path: Path) -> np.ndarray:
    out = np.empty(len(values), dtype=np.float64)
    for i, raw in enumerate(values):
        value = raw.strip()
        line = i + 2
        if not value:
            raise _err(f"column {name!r} is empty in row {line}", path,
                       "fill in the missing values, or remove those rows")
        try:
            number = float(value)
        except ValueError:
            shown = value if len(value) <= 30 else value[:27] + "..."
            raise _err(f"column {name!r} is not numeric (row {line} holds {shown!r})", path,
                       f"remove the column {name!r}, encode it as numbers, or make it the target") from None
        if not math.isfinite(number):
            raise _err(f"column {name!r} holds {value!r} in row {line}", path, "use finite numbers only")
        out[i] = number
    return out


def _resolve_task(task: str, raw: list[str], numbers: np.ndarray | None, column: str, path: Path) -> str:
    if task == "regression":
        if numbers is None:
            bad = next(v for v in raw if _try_floats([v]) is None)
            raise _err(f"target column {column!r} is not numeric (it holds {bad!r}), so it cannot be a "
                       "regression target", path, "set task to classification (or auto)")
        return "regression"
    if task == "classification":
        return "classification"
    if numbers is None:
        return "classification"
    small = np.all(numbers == np.round(numbers)) and len(np.unique(numbers)) <= MAX_AUTO_CLASSES
    return "classification" if small else "regression"


def _encode_classes(raw: list[str], numbers: np.ndarray | None, column: str,
                    path: Path) -> tuple[np.ndarray, tuple[str, ...]]:
    if numbers is not None:
        values, y = np.unique(numbers, return_inverse=True)
        names = tuple(str(int(v)) if float(v).is_integer() else f"{v:g}" for v in values)
    else:
        values, y = np.unique(np.array(raw, dtype=object).astype(str), return_inverse=True)
        names = tuple(str(v) for v in values)
    if len(names) < 2:
        raise _err(f"target column {column!r} holds a single class {names[0]!r}", path,
                   "a classifier needs at least 2 classes in the data")
    if len(names) > MAX_CLASSES:
        raise _err(f"target column {column!r} has {len(names)} distinct values, too many classes", path,
                   "set task to regression if the target is a quantity")
    return y.astype(np.int64).reshape(-1), names


# ---- npz ----------------------------------------------------------------------------------------------------


def load_npz(path: Path, task: str = "auto", kind: str = "auto", standardize: bool = False) -> Dataset:
    path = Path(path)
    hint = 'save it with numpy.savez(path, X=features, y=targets)'
    _need_file(path, "NumPy file", "check the path (relative paths start at the project file's folder)")
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise _err(f"not a readable NumPy .npz file ({type(exc).__name__})", path, hint) from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise _err("this is a single NumPy array, not an .npz archive with X and y", path, hint)
    with archive:
        keys = list(archive.files)
        missing = [k for k in ("X", "y") if k not in keys]
        if missing:
            present = ", ".join(keys) if keys else "none"
            raise _err(f"the .npz file has no array {' or '.join(repr(m) for m in missing)} (arrays: {present})",
                       path, hint)
        X = _read_array(archive, "X", path)
        y = _read_array(archive, "y", path)
        class_names = _read_names(archive, "class_names", path) if "class_names" in keys else None
        feature_names = _read_names(archive, "feature_names", path) if "feature_names" in keys else ()
    if X.ndim == 0 or len(X) == 0:
        raise _err("array X holds no samples", path, "X needs one row per sample")
    if y.ndim == 0 or len(y) != len(X):
        raise _err(f"X has {len(X)} samples but y has {len(y) if y.ndim else 0}", path,
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
        raise _err(f"y holds {y.dtype} values, which cannot be regression targets", path,
                   "set task to classification, or save numeric targets")
    y_out = y.astype(np.float64).reshape(len(y), -1)
    if not np.all(np.isfinite(y_out)):
        raise _err("y holds NaN or infinite values", path, "remove or fill those samples")
    if standardize:
        y_out, tm, ts = standardise(y_out)
    return Dataset(y=y_out.astype(np.float32), task="regression", target_mean=tm, target_std=ts, **common)


def _read_array(archive: Any, key: str, path: Path) -> np.ndarray:
    try:
        arr = archive[key]
    except ValueError:
        raise _err(f"array {key!r} holds Python objects, which LayerLoom does not load (no pickles)", path,
                   "save plain numeric arrays (e.g. X.astype('float32'))") from None
    except (OSError, EOFError, zipfile.BadZipFile):
        raise _err(f"array {key!r} cannot be read (the file is damaged)", path, "save the file again") from None
    if arr.dtype.kind not in "biufUS":
        raise _err(f"array {key!r} has dtype {arr.dtype}, which is not numeric", path, "save numeric arrays")
    return arr


def _read_names(archive: Any, key: str, path: Path) -> tuple[str, ...]:
    arr = _read_array(archive, key, path)
    return tuple(str(v) for v in arr.reshape(-1))


def _npz_kind(kind: str, X: np.ndarray, path: Path) -> str:
    if kind == "auto":  # integer X stays a table: token ids are only assumed when kind is "tokens"
        return {2: "table", 3: "series", 4: "image"}.get(X.ndim, "table")
    if kind not in KINDS:
        raise _err(f"unknown kind {kind!r}", path, "choose one of: auto, " + ", ".join(KINDS))
    if kind == "points2d" and X.reshape(len(X), -1).shape[1] != 2:
        raise _err(f"kind points2d needs 2 values per sample, X has shape {list(X.shape)}", path,
                   "use kind table")
    if kind == "image" and X.ndim not in (3, 4):
        raise _err(f"kind image needs X of shape [N, C, H, W] or [N, H, W], not {list(X.shape)}", path,
                   "reshape X before saving, or use kind table")
    return kind


def _npz_features(X: np.ndarray, kind: str, path: Path) -> tuple[np.ndarray, int | None, tuple | None]:
    if X.dtype.kind not in "biuf":
        raise _err(f"X holds {X.dtype} values; features must be numbers", path, "save X as numbers")
    if kind == "tokens":
        if X.dtype.kind not in "iu" or (X.size and X.min() < 0):
            raise _err("kind tokens needs X of non-negative integer token ids", path,
                       "save X as integers (e.g. X.astype('int64'))")
        return X.astype(np.int64), int(X.max()) + 1 if X.size else 1, None
    out = X.astype(np.float32)
    if not np.all(np.isfinite(out)):
        raise _err("X holds NaN or infinite values", path, "remove or fill those samples")
    if kind == "image":
        if out.ndim == 3:
            out = out[:, None]
        return out, None, tuple(int(d) for d in out.shape[1:])
    return out, None, None


def _npz_classes(y: np.ndarray, names: tuple[str, ...] | None, path: Path) -> tuple[np.ndarray, tuple[str, ...]]:
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise _err(f"classification needs y of shape [N] (one class per sample), not {list(y.shape)}", path,
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
        raise _err(f"y has {k} classes, too many", path, "set task to regression if y is a quantity")
    if k < 2:
        raise _err("y holds a single class", path, "a classifier needs at least 2 classes")
    if names is not None:
        if len(names) < k:
            raise _err(f"class_names lists {len(names)} names but y has {k} classes", path,
                       "save one name per class")
        return labels, tuple(names)
    return labels, default_names


# ---- image folder -------------------------------------------------------------------------------------------


def load_image_folder(path: Path, color: str = "grayscale", size: int = 28) -> Dataset:
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path)
    layout = "put the images in one sub-folder per class: FOLDER/cat/1.png, FOLDER/dog/2.png, ..."
    if not path.exists():
        raise _err("image folder not found", path, "check the path (relative paths start at the project "
                   "file's folder)")
    if not path.is_dir():
        raise _err("not a folder", path, layout)
    mode, channels = ("L", 1) if color == "grayscale" else ("RGB", 3)
    warnings: list[str] = []
    try:
        entries = sorted(path.iterdir())
    except OSError as exc:
        raise _err(f"cannot list the folder ({exc.strerror or exc})", path, "check its permissions") from None
    class_dirs = []
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            class_dirs.append(entry)
        else:
            warnings.append(f"skipped {entry.name}: files must be inside a class sub-folder")
    images: list[np.ndarray] = []
    labels: list[int] = []
    names: list[str] = []
    for class_dir in class_dirs:
        found = 0
        try:
            files = sorted(class_dir.iterdir())
        except OSError:
            warnings.append(f"skipped folder {class_dir.name}: it cannot be read")
            continue
        for file in files:
            if file.name.startswith("."):
                continue
            rel = f"{class_dir.name}/{file.name}"
            if file.is_dir():
                warnings.append(f"skipped {rel}/: nested folders are not read")
                continue
            try:
                with Image.open(file) as img:
                    img = ImageOps.exif_transpose(img)
                    if img.mode == "P":
                        img = img.convert("RGBA")
                    img = img.convert(mode).resize((size, size), Image.Resampling.BILINEAR)
                    arr = np.asarray(img, dtype=np.float32) / 255.0
            except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
                warnings.append(f"skipped {rel}: not an image ({IMAGE_SUFFIX_HINT} expected)")
                continue
            images.append(arr[None] if channels == 1 else np.moveaxis(arr, -1, 0))
            labels.append(len(names))
            found += 1
        if found:
            names.append(class_dir.name)
        else:
            warnings.append(f"skipped class {class_dir.name!r}: its folder holds no images")
    if not images:
        raise _err("no images found in the folder", path, layout)
    if len(names) < 2:
        raise _err(f"only one class ({names[0]!r}) has images; a classifier needs at least 2", path, layout)
    X = np.stack(images).astype(np.float32)
    return Dataset(
        name="image_folder", X=X, y=np.array(labels, dtype=np.int64), task="classification", kind="image",
        num_classes=len(names), class_names=tuple(names), image_shape=(channels, size, size),
        source=str(path), warnings=tuple(warnings),
        description=f"{path.name}: {len(X)} images in {len(names)} classes, {color} {size}x{size}",
    )


__all__ = ["MAX_AUTO_CLASSES", "load_csv", "load_image_folder", "load_npz"]
