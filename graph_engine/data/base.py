"""The one dataset type of the training engine, and what the training loop does with it.

A `Dataset` holds every sample in memory as numpy arrays (the currency of this package):
- `X`: float32 features (int64 token ids for `kind == "tokens"`), first axis = samples;
- `y`: int64 class indices, shape [N], for classification; float32 targets, shape [N, k], for regression.

Functions here:
- `reshape_to(dataset, input_shape)`: the DESIGN rule "a dataset whose samples have as many elements as the
  Input shape is reshaped to it"; a mismatch is a `DatasetError` naming both sizes and what to change;
- `autoencoder_targets(dataset)`: targets = inputs (the labels are kept in `labels` for plots);
- `split(dataset, val_fraction, seed)`: seeded, stratified (classification) train/validation split;
- `augment(batch, config, rng)`: random shifts, horizontal flips and gaussian noise on an image batch,
  in torch (imported inside the function; importing this module never imports torch).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from graph_engine.catalog.spec import Param, ParamKind
from graph_engine.errors import ProjectError

TASKS = ("classification", "regression", "language_model")
KINDS = ("table", "image", "points2d", "series", "tokens", "text")

PREVIEW_IMAGES = 16
PREVIEW_ROWS = 8
PREVIEW_POINTS = 5000
PREVIEW_WINDOWS = 6
PREVIEW_SEQUENCES = 8


class DatasetError(ProjectError):
    """The dataset cannot be loaded or does not fit the model. Always says what to change (`hint`).

    `field` is "training.dataset" unless the problem is another training field (val_fraction, augment).
    `path` is the file or folder involved, when there is one (it is also named in the message).
    """

    def __init__(self, message: str, hint: str = "", *, field: str = "training.dataset", path: str | None = None):
        super().__init__(message, field=field, hint=hint)
        self.path = path


@dataclass(eq=False)
class Dataset:
    """Every sample of one dataset, in memory. Build new ones with `subset`, `reshape_to`, `split`."""

    name: str
    X: np.ndarray
    y: np.ndarray
    task: str  # "classification" | "regression"
    kind: str  # "table" | "image" | "points2d" | "series" | "tokens"
    num_classes: int | None = None
    class_names: tuple[str, ...] = ()
    feature_names: tuple[str, ...] = ()
    image_shape: tuple[int, ...] | None = None  # [C, H, W] of one image (kind "image"), whatever X's shape is
    vocab_size: int | None = None  # kind "tokens": ids are 0..vocab_size-1
    # Standardisation that was applied (x' = (x - mean) / std); None when the data was not standardised.
    feature_mean: np.ndarray | None = None
    feature_std: np.ndarray | None = None
    target_mean: np.ndarray | None = None
    target_std: np.ndarray | None = None
    labels: np.ndarray | None = None  # autoencoder: the original class labels, kept for plots
    targets_are_inputs: bool = False  # autoencoder: y is X (reshaping X reshapes y)
    source: str | None = None  # the file or folder the data came from
    description: str = ""
    warnings: tuple[str, ...] = ()  # things skipped while loading (a stray file in an image folder...)

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, not {self.task!r}")
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {self.kind!r}")
        if len(self.X) != len(self.y):
            raise ValueError(f"X has {len(self.X)} samples but y has {len(self.y)}")

    # ---- facts ---------------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.X)

    @property
    def n_samples(self) -> int:
        return len(self.X)

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """The shape of one sample (batch dimension excluded), as an Input node would declare it."""
        return tuple(int(d) for d in self.X.shape[1:])

    @property
    def sample_size(self) -> int:
        return math.prod(self.sample_shape)

    @property
    def input_dtype(self) -> str:
        """The Input node dtype this dataset needs: "int64" for token ids, else "float32"."""
        return "int64" if self.X.dtype == np.int64 else "float32"

    @property
    def target_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.y.shape[1:])

    def class_counts(self) -> np.ndarray | None:
        if self.task != "classification" or self.num_classes is None:
            return None
        return np.bincount(self.y, minlength=self.num_classes)

    def subset(self, indices: np.ndarray | Sequence[int]) -> Dataset:
        """The samples at `indices` (in that order), with every other field kept."""
        idx = np.asarray(indices, dtype=np.int64)
        labels = None if self.labels is None else self.labels[idx]
        take = getattr(self.X, "take_lazy", None)  # an image folder decoded batch by batch stays lazy
        return replace(self, X=take(idx) if take else self.X[idx], y=self.y[idx], labels=labels)

    # ---- preview -------------------------------------------------------------------------------------

    def preview(self) -> dict[str, Any]:
        """Plain data a GUI can draw without knowing how the dataset was made.

        Always: "kind", "name", "task", "n_samples", "sample_shape", "num_classes", "class_names",
        "warnings". Then by kind:
        - image: "images" (up to 16 arrays, [H, W] for one channel, [H, W, 3] for RGB, values 0..1),
          "labels" (class index per image, or a float target) and "label_names" (text per image);
        - table: "columns" (feature names, then the target), "rows" (first 8 rows as lists, values as they
          were before standardisation, the target as its class name or number);
        - points2d: "points" (float32 [n, 2]) and "labels" (class index per point, up to 5000 points);
        - series: "series" (the first part of the underlying signal), "windows" (a few input windows as
          lists) and "targets" (the value each window predicts);
        - tokens: "sequences" (a few sequences as lists of ints), "labels", "label_names", "vocab_size";
        - text (a language model's windows): "texts" (a few windows as text), "vocab_size", "vocabulary".
        """
        out: dict[str, Any] = {
            "kind": self.kind,
            "name": self.name,
            "task": self.task,
            "n_samples": self.n_samples,
            "sample_shape": list(self.sample_shape),
            "num_classes": self.num_classes,
            "class_names": list(self.class_names),
            "warnings": list(self.warnings),
        }
        builder = {
            "image": self._preview_images,
            "table": self._preview_table,
            "points2d": self._preview_points,
            "series": self._preview_series,
            "tokens": self._preview_tokens,
            "text": self._preview_text,
        }[self.kind]
        out.update(builder())
        return out

    def _label_of(self, i: int) -> tuple[Any, str]:
        labels = self.labels if self.targets_are_inputs and self.labels is not None else self.y
        if self.targets_are_inputs and self.labels is None:
            return None, ""
        value = labels[i]
        if labels.dtype == np.int64 and labels.ndim == 1:
            k = int(value)
            name = self.class_names[k] if 0 <= k < len(self.class_names) else str(k)
            return k, name
        flat = np.asarray(value, dtype=np.float64).reshape(-1)
        if self.target_mean is not None and self.target_std is not None and not self.targets_are_inputs:
            flat = flat * self.target_std.reshape(-1) + self.target_mean.reshape(-1)
        number = float(flat[0]) if flat.size == 1 else [float(v) for v in flat]
        return number, f"{flat[0]:.4g}" if flat.size == 1 else ", ".join(f"{v:.3g}" for v in flat)

    def _spread_indices(self, count: int) -> list[int]:
        """Up to `count` sample indices, taking classes in turn so a preview shows every class."""
        n = self.n_samples
        if self.task != "classification" or self.targets_are_inputs or self.num_classes is None:
            return list(range(min(count, n)))
        per_class = [np.flatnonzero(self.y == k) for k in range(self.num_classes)]
        chosen: list[int] = []
        depth = 0
        while len(chosen) < min(count, n):
            added = False
            for idx in per_class:
                if depth < len(idx) and len(chosen) < count:
                    chosen.append(int(idx[depth]))
                    added = True
            if not added:
                break
            depth += 1
        return chosen

    def _preview_images(self) -> dict[str, Any]:
        shape = self.image_shape or self.sample_shape
        if len(shape) == 2:
            shape = (1, *shape)
        picks = self._spread_indices(PREVIEW_IMAGES)
        images, labels, names = [], [], []
        for i in picks:
            img = np.asarray(self.X[i], dtype=np.float32).reshape(shape)
            images.append(img[0].copy() if shape[0] == 1 else np.ascontiguousarray(np.moveaxis(img[:3], 0, -1)))
            label, name = self._label_of(i)
            labels.append(label)
            names.append(name)
        return {"images": images, "labels": labels, "label_names": names}

    def _preview_table(self) -> dict[str, Any]:
        n = min(PREVIEW_ROWS, self.n_samples)
        flat = np.asarray(self.X[:n], dtype=np.float64).reshape(n, -1)
        if self.feature_mean is not None and self.feature_std is not None:
            flat = flat * self.feature_std.reshape(1, -1) + self.feature_mean.reshape(1, -1)
        width = flat.shape[1] if n else self.sample_size
        names = list(self.feature_names) if len(self.feature_names) == width else [f"x{j}" for j in range(width)]
        rows = []
        for i in range(n):
            number, name = self._label_of(i)
            target = number if self.task == "regression" and not self.targets_are_inputs else name
            rows.append([_round(v) for v in flat[i]] + [target])
        return {"columns": [*names, "target"], "rows": rows}

    def _preview_points(self) -> dict[str, Any]:
        n = min(PREVIEW_POINTS, self.n_samples)
        points = np.asarray(self.X[:n], dtype=np.float32).reshape(n, -1)[:, :2].copy()
        source = self.labels if self.targets_are_inputs else self.y
        labels = None if source is None else np.asarray(source[:n]).copy()
        return {"points": points, "labels": labels}

    def _preview_series(self) -> dict[str, Any]:
        n = self.n_samples
        flat = np.asarray(self.X, dtype=np.float32).reshape(n, -1)
        # Consecutive windows overlap: the signal is the first window, then each next window's last value.
        head = min(n, 200)
        series = np.concatenate([flat[0], flat[1:head, -1]]) if n else np.zeros(0, np.float32)
        picks = [int(i) for i in np.linspace(0, n - 1, num=min(PREVIEW_WINDOWS, n)).round()] if n else []
        windows = [[_round(v) for v in flat[i]] for i in picks]
        targets = [self._label_of(i)[0] for i in picks]
        return {"series": series, "windows": windows, "targets": targets, "window_starts": picks}

    def _preview_tokens(self) -> dict[str, Any]:
        picks = self._spread_indices(PREVIEW_SEQUENCES)
        flat = self.X.reshape(self.n_samples, -1)
        sequences = [[int(t) for t in flat[i]] for i in picks]
        pairs = [self._label_of(i) for i in picks]
        return {"sequences": sequences, "labels": [p[0] for p in pairs], "label_names": [p[1] for p in pairs],
                "vocab_size": self.vocab_size}


    def _preview_text(self) -> dict[str, Any]:
        picks = list(range(min(PREVIEW_SEQUENCES, self.n_samples)))
        vocab = self.class_names
        texts = ["".join(vocab[int(t)] for t in self.X[i]) for i in picks]
        return {"texts": texts, "vocab_size": self.vocab_size, "vocabulary": "".join(vocab)}


def _round(v: float) -> float:
    return float(f"{float(v):.6g}")


# ---- the DESIGN reshape rule -------------------------------------------------------------------------------


def reshape_to(dataset: Dataset, input_shape: Sequence[int] | None, input_dtype: str | None = None) -> Dataset:
    """`dataset` with each sample reshaped to `input_shape` (batch dimension excluded).

    A sample with as many elements as the Input shape is reshaped to it (digits' [1, 8, 8] images serve an MLP
    on [64] and a CNN on [1, 8, 8]). Otherwise, and when `input_dtype` ("float32" / "int64") disagrees with the
    data, a DatasetError says both sizes and what to change.
    """
    if input_dtype is not None and input_dtype != dataset.input_dtype:
        if dataset.input_dtype == "int64":
            raise DatasetError(
                f"dataset {dataset.name!r} holds token ids (int64) but the Input node expects {input_dtype}",
                "set the Input node's dtype to int64 and feed it to an Embedding layer")
        raise DatasetError(
            f"dataset {dataset.name!r} holds float32 values but the Input node expects {input_dtype}",
            "set the Input node's dtype to float32 (int64 is only for token ids)")
    if input_shape is None:
        return dataset
    try:
        shape = tuple(int(d) for d in input_shape)
    except (TypeError, ValueError):
        raise DatasetError(f"the Input shape {input_shape!r} is not a list of whole numbers",
                           "give the Input node a shape such as [64] or [1, 8, 8]") from None
    if shape == dataset.sample_shape:
        return dataset
    want = math.prod(shape)
    have = dataset.sample_size
    if want != have or any(d <= 0 for d in shape):
        raise DatasetError(
            f"dataset {dataset.name!r} has {have} values per sample (shape {_fmt_shape(dataset.sample_shape)}) "
            f"but the Input shape {_fmt_shape(shape)} holds {want}",
            _mismatch_hint(dataset, shape, want))
    n = dataset.n_samples
    X = dataset.X.reshape((n, *shape))
    y = dataset.y.reshape((n, *shape)) if dataset.targets_are_inputs else dataset.y
    return replace(dataset, X=X, y=y)


def _fmt_shape(shape: Sequence[int]) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


def _mismatch_hint(dataset: Dataset, shape: tuple[int, ...], want: int) -> str:
    have_shape = dataset.sample_shape
    options = [f"set the Input shape to {_fmt_shape(have_shape)}"]
    if len(have_shape) > 1:
        options[0] += f" (or [{dataset.sample_size}] for a Flatten-free MLP)"
    if dataset.kind == "series" and have_shape and have_shape[-1] == 1:
        options.append(f"set the dataset's window to {want}")
    elif dataset.kind == "tokens":
        options.append(f"set the dataset's seq_len to {want}")
    elif dataset.kind == "image" and dataset.image_shape is not None and dataset.source is not None:
        channels = dataset.image_shape[0]
        side = math.isqrt(want // channels) if want % channels == 0 else 0
        if side and channels * side * side == want:
            options.append(f"set the dataset's size to {side}")
    options.append(f"choose a dataset with {want} values per sample")
    return "; or ".join(options)


def autoencoder_targets(dataset: Dataset) -> Dataset:
    """The dataset for an autoencoder: targets are the inputs (float32, same shape), task "regression".

    The original labels are kept in `labels` (classification) so a GUI can colour a latent space by class.
    """
    if dataset.input_dtype == "int64":
        raise DatasetError(f"dataset {dataset.name!r} holds token ids, which an autoencoder cannot reconstruct "
                           "with a regression loss", "choose an image, table, 2-D or series dataset")
    labels = dataset.y if dataset.task == "classification" else None
    return replace(dataset, y=dataset.X.astype(np.float32, copy=True), task="regression", labels=labels,
                   targets_are_inputs=True, target_mean=None, target_std=None)


# ---- split -------------------------------------------------------------------------------------------------


def split(dataset: Dataset, val_fraction: float, seed: int = 0) -> tuple[Dataset, Dataset]:
    """A seeded (train, validation) split; the same inputs give the same split on every run and machine.

    For classification (and an autoencoder's kept labels) the split is stratified, so each class keeps its
    share in both parts, when every class has at least 2 samples; otherwise it is a plain random split.
    Indices inside each part are in their original order. `val_fraction` 0 gives an empty validation set.
    """
    if isinstance(val_fraction, bool) or not isinstance(val_fraction, int | float) or not (
            0.0 <= float(val_fraction) < 1.0):
        raise DatasetError(f"val_fraction must be a number from 0 to below 1, not {val_fraction!r}",
                           "use e.g. 0.2 to keep a fifth of the samples for validation",
                           field="training.val_fraction")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise DatasetError(f"seed must be a whole number >= 0, not {seed!r}", "use e.g. 0", field="training.seed")
    from graph_engine.training.recipe import split_indices  # the one split, shared with the exported train.py

    train_idx, val_idx = split_indices(dataset.n_samples, _stratify_labels(dataset), val_fraction, int(seed))
    return dataset.subset(train_idx), dataset.subset(val_idx)


def _stratify_labels(dataset: Dataset) -> np.ndarray | None:
    labels = dataset.labels if dataset.targets_are_inputs else dataset.y
    if labels is None or labels.ndim != 1 or labels.dtype != np.int64:
        return None
    if dataset.task != "classification" and not dataset.targets_are_inputs:
        return None
    counts = np.bincount(labels)
    if np.any(counts[counts > 0] < 2):
        return None
    return labels


# ---- augmentation ------------------------------------------------------------------------------------------

AUGMENT_PARAMS: tuple[Param, ...] = (
    Param("shift", ParamKind.INT, 0, "shift each image by up to this many pixels in x and y (zeros fill in)",
          min=0, max=16),
    Param("flip", ParamKind.BOOL, False, "mirror half of the images left to right"),
    Param("noise", ParamKind.FLOAT, 0.0, "standard deviation of gaussian noise added to every value",
          min=0.0, max=10.0),
)


def check_augment_config(config: Mapping[str, Any] | None) -> dict[str, Any]:
    """The augmentation settings with defaults filled; a DatasetError (field training.augment) if invalid."""
    from graph_engine.params import closest_name, validate_value

    if config is None:
        config = {}
    if not isinstance(config, Mapping):
        raise DatasetError("augment must be an object such as {\"shift\": 1, \"flip\": true, \"noise\": 0.05}",
                           "", field="training.augment")
    known = {p.name: p for p in AUGMENT_PARAMS}
    out: dict[str, Any] = {}
    for name in config:
        if name not in known:
            guess = closest_name(name, list(known))
            raise DatasetError(f"augment has no setting {name!r}",
                               f"did you mean {guess!r}?" if guess else "known settings: " + ", ".join(known),
                               field="training.augment")
    for p in AUGMENT_PARAMS:
        value = config.get(p.name, p.default)
        error = validate_value(p, value)
        if error:
            raise DatasetError(error, "", field="training.augment")
        out[p.name] = float(value) if p.kind is ParamKind.FLOAT else value
    return out


def augment(batch: Any, config: Mapping[str, Any] | None, rng: Any,
            image_shape: Sequence[int] | None = None) -> Any:
    """A randomly shifted / flipped / noised copy of an image batch, for one training step.

    `batch`: a torch tensor (any device) or a numpy array, [N, C, H, W] or [N, H, W]; a flat batch [N, D]
    works when `image_shape` ([C, H, W]) says how to view each sample. The result has the batch's type,
    shape, dtype and device. `config`: {"shift": pixels, "flip": bool, "noise": std}; see `AUGMENT_PARAMS`.
    `rng`: a `torch.Generator` (fastest on a GPU when it lives on the batch's device), a
    `numpy.random.Generator` or an int seed. The same rng state and batch give the same output.

    Shift moves each image by its own random (dx, dy) in [-shift, shift], filling with zeros; flip mirrors
    each image left-right with probability 1/2; noise adds N(0, noise^2) to every value (no clipping).
    """
    import torch

    cfg = check_augment_config(config)
    as_numpy = isinstance(batch, np.ndarray)
    x = torch.from_numpy(np.array(batch)) if as_numpy else batch  # a writable copy
    if not cfg["shift"] and not cfg["flip"] and not cfg["noise"]:
        return batch.copy() if as_numpy else x.clone()
    if not torch.is_floating_point(x):
        raise DatasetError("augmentation works on float images, not on integer data such as token ids",
                           "remove the augment settings for this dataset", field="training.augment")
    from graph_engine.training.recipe import augment as augment_batch  # shared with the exported train.py

    gen = _torch_generator(rng, x.device)
    if cfg["shift"] or cfg["flip"]:
        x = _as_images(x, image_shape)
    x = augment_batch(x, gen, int(cfg["shift"]), cfg["flip"], cfg["noise"]).reshape(batch.shape)
    if as_numpy:
        return x.numpy().astype(batch.dtype, copy=False)
    return x


def _torch_generator(rng: Any, device: Any) -> Any:
    import torch

    if isinstance(rng, torch.Generator):
        return rng
    if isinstance(rng, np.random.Generator):
        seed = int(rng.integers(0, 2**63 - 1))
    elif isinstance(rng, int | np.integer) and not isinstance(rng, bool):
        seed = int(rng)
    else:
        raise TypeError("rng must be a torch.Generator, a numpy.random.Generator or an int seed")
    gen = torch.Generator(device=device if getattr(device, "type", "cpu") == "cuda" else "cpu")
    gen.manual_seed(seed)
    return gen


def _as_images(x: Any, image_shape: Sequence[int] | None) -> Any:
    if x.dim() >= 3 and image_shape is None:
        return x
    if image_shape is not None:
        shape = tuple(int(d) for d in image_shape)
        if math.prod(shape) * x.shape[0] == x.numel():
            return x.reshape(x.shape[0], *shape)
        raise DatasetError(f"augmentation cannot view samples of shape {list(x.shape[1:])} as images of shape "
                           f"{list(shape)}", "", field="training.augment")
    raise DatasetError(f"shift and flip need image batches [N, C, H, W], not {list(x.shape)}",
                       "use them with image datasets only (noise works on any data)", field="training.augment")


__all__ = [
    "AUGMENT_PARAMS",
    "KINDS",
    "TASKS",
    "Dataset",
    "DatasetError",
    "augment",
    "autoencoder_targets",
    "check_augment_config",
    "reshape_to",
    "split",
]
