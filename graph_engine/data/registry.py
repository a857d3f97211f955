"""The closed list of datasets: name -> how to load it and which params it takes.

A project's `training.dataset` object is `{"name": NAME, PARAM: VALUE, ...}`. Each dataset's params are typed
`graph_engine.catalog.spec.Param`s (INT / FLOAT / BOOL / CHOICE with ranges and choices), so the app builds
its dataset editors from them exactly as it does for layers. Two extra kinds exist only here, because a
dataset can point at a file: `DataParamKind.PATH` (a file or folder; a relative path starts at the project
file's folder, `base_dir`) and `DataParamKind.TEXT` (free text such as a CSV column name). Both are string
enums, so `param.kind == "path"` works.

`info.kind` / `info.task` are what the dataset serves; "auto" for user files, whose data decides.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from graph_engine.catalog.spec import REQUIRED, Param, ParamKind
from graph_engine.data import builtin, idx_cifar, procedural_images, synthetic, text_chars, user_files
from graph_engine.data.base import KINDS, Dataset, DatasetError, reshape_to

DEFAULT_DATASET = "digits"  # a project without training.dataset trains on this


class DataParamKind(StrEnum):
    PATH = "path"  # a file or folder path; relative paths start at the project file's folder
    TEXT = "text"  # free text (a CSV column name)


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    title: str
    description: str
    kind: str  # "table" | "image" | "points2d" | "series" | "tokens" | "text" | "auto"
    task: str  # "classification" | "regression" | "language_model" | "auto"
    params: tuple[Param, ...]
    loader: Callable[..., Dataset]  # called with every param as a keyword (defaults filled, paths resolved)
    category: str = "built-in"  # "built-in" | "synthetic" | "user file": how a GUI groups the list

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def default_config(self) -> dict[str, Any]:
        """{"name": ..., param: default, ...} for every param that has a default (what a GUI starts from)."""
        out: dict[str, Any] = {"name": self.name}
        out.update({p.name: p.default for p in self.params if p.default is not REQUIRED})
        return out


# ---- params -------------------------------------------------------------------------------------------------

SEED = Param("seed", ParamKind.INT, 0, "random seed: the same seed gives the same data", min=0, max=2**31 - 1)
STANDARDIZE = Param("standardize", ParamKind.BOOL, True, "rescale every feature to mean 0, std 1")


def _n(default: int, doc: str = "number of samples") -> Param:
    return Param("n_samples", ParamKind.INT, default, doc, min=10, max=1_000_000)


def _noise(default: float, max_: float = 2.0) -> Param:
    return Param("noise", ParamKind.FLOAT, default, "standard deviation of the gaussian noise", min=0.0, max=max_)


_SERIES = (
    _n(1000, "number of windows"),
    Param("window", ParamKind.INT, 20, "steps per input window (the Input shape is [window, 1])", min=2, max=1000),
    Param("period", ParamKind.FLOAT, 25.0, "steps per period of the wave", min=2.0, max=10000.0),
)
_TASK = Param("task", ParamKind.CHOICE, "auto", "auto: decided by the target's values",
              choices=("auto", "classification", "regression"))
_FILE_HINT = "relative paths start at the project file's folder"


_PROCEDURAL = (
    _n(6000, "number of images"),
    Param("color", ParamKind.CHOICE, "grayscale", "grayscale: [1, 28, 28] like MNIST; rgb: [3, 32, 32] like CIFAR",
          choices=tuple(procedural_images.SIZES)),
    _noise(0.1, 1.0),
    SEED,
)


def _path(doc: str) -> Param:
    return Param("path", DataParamKind.PATH, REQUIRED, f"{doc} ({_FILE_HINT})")  # type: ignore[arg-type]


_INFOS = (
    DatasetInfo("digits", "Digits (8x8)", "1797 handwritten digits, 8x8 grey pixels 0..1, 10 classes. "
                "Serves an MLP on [64] and a CNN on [1, 8, 8].", "image", "classification", (),
                builtin.load_digits),
    DatasetInfo("iris", "Iris", "150 iris flowers, 4 measurements, 3 species.", "table", "classification",
                (STANDARDIZE,), builtin.load_iris),
    DatasetInfo("wine", "Wine", "178 wines, 13 chemical measurements, 3 cultivars.", "table", "classification",
                (STANDARDIZE,), builtin.load_wine),
    DatasetInfo("breast_cancer", "Breast cancer", "569 tumours, 30 cell features, malignant or benign.", "table",
                "classification", (STANDARDIZE,), builtin.load_breast_cancer),
    DatasetInfo("diabetes", "Diabetes", "442 patients, 10 features; predict disease progression (regression, "
                "target standardised).", "table", "regression", (STANDARDIZE,), builtin.load_diabetes),
    DatasetInfo("moons", "Moons", "Two interleaving half circles in 2-D.", "points2d", "classification",
                (_n(500), _noise(0.1), SEED), synthetic.make_moons, "synthetic"),
    DatasetInfo("circles", "Circles", "A small circle inside a large one, in 2-D.", "points2d", "classification",
                (_n(500), _noise(0.05),
                 Param("factor", ParamKind.FLOAT, 0.5, "radius of the inner circle (outer = 1)", min=0.05, max=0.95),
                 SEED), synthetic.make_circles, "synthetic"),
    DatasetInfo("spirals", "Spirals", "Interleaved spiral arms in 2-D, one class per arm.", "points2d",
                "classification",
                (_n(600), _noise(0.05),
                 Param("classes", ParamKind.INT, 3, "number of arms (classes)", min=2, max=10),
                 Param("turns", ParamKind.FLOAT, 1.0, "revolutions per arm (more is harder)", min=0.25, max=4.0),
                 SEED), synthetic.make_spirals, "synthetic"),
    DatasetInfo("xor", "XOR", "Points in [-1, 1]^2; class 1 where x and y have different signs.", "points2d",
                "classification", (_n(500), _noise(0.05), SEED), synthetic.make_xor, "synthetic"),
    DatasetInfo("sine", "Sine wave", "Predict the next value of a sine wave from a window of past values.",
                "series", "regression", _SERIES, synthetic.make_sine, "synthetic"),
    DatasetInfo("sawtooth", "Sawtooth wave", "Predict the next value of a sawtooth wave from a window.",
                "series", "regression", _SERIES, synthetic.make_sawtooth, "synthetic"),
    DatasetInfo("noisy", "Noisy sine", "Predict the next value of a sine wave with gaussian noise.", "series",
                "regression", (*_SERIES, _noise(0.1, 5.0), SEED), synthetic.make_noisy, "synthetic"),
    DatasetInfo("tokens", "Token sequences", "Classify int64 token sequences (for Embedding + RNN/transformer). "
                "order: does token 1 come before token 2? majority: are most tokens in the high half of the "
                "vocabulary? Token 0 is padding and never appears.", "tokens", "classification",
                (_n(2000), Param("seq_len", ParamKind.INT, 16, "tokens per sequence", min=2, max=1024),
                 Param("vocab_size", ParamKind.INT, 16, "number of token ids (0..vocab_size-1)", min=4,
                       max=100_000),
                 Param("rule", ParamKind.CHOICE, "order", "what decides the label", choices=("order", "majority")),
                 SEED), synthetic.make_tokens, "synthetic"),
    DatasetInfo("stroke_digits", "Stroke digits (28x28)", "Digits 0-9 drawn in code as pen strokes, varied in "
                "position, size, rotation, stroke width and noise: MNIST's size with no download. grayscale: "
                "[1, 28, 28]; rgb: [3, 32, 32].", "image", "classification", _PROCEDURAL,
                procedural_images.make_stroke_digits, "synthetic"),
    DatasetInfo("shapes", "Shapes (28x28)", "Outline circles, squares, triangles, pluses, lines and stars drawn in "
                "code in any rotation, size and position, with noise. grayscale: [1, 28, 28]; rgb: coloured on a "
                "coloured background, [3, 32, 32].", "image", "classification", _PROCEDURAL,
                procedural_images.make_shapes, "synthetic"),
    DatasetInfo("char_text", "Text, by character", "A text cut into windows of seq_len characters; each position "
                "predicts the next character (a language model: the network outputs [seq_len, vocabulary]). "
                "Without a path: Alice's Adventures in Wonderland (Lewis Carroll, public domain, 148 thousand "
                "characters, 72 distinct). The vocabulary is the text's own characters.", "text",
                "language_model",
                (Param("path", DataParamKind.PATH, None, "a UTF-8 .txt file; empty: the shipped Alice text "  # type: ignore[arg-type]
                       f"({_FILE_HINT})", nullable=True),
                 Param("seq_len", ParamKind.INT, 64, "characters per window (the Input shape is [seq_len])", min=2,
                       max=4096),
                 Param("stride", ParamKind.INT, 0, "characters between window starts (0: seq_len, so windows "
                       "do not overlap)", min=0, max=4096)),
                text_chars.load_char_text, "built-in"),
    DatasetInfo("csv", "CSV file", "A table with a header row; pick the target column. Numeric features are "
                "standardised; a text or small whole-number target is classification, else regression.",
                "table", "auto",
                (_path("the .csv file"),
                 Param("target", DataParamKind.TEXT, None, "name of the target column (empty: the last column)",  # type: ignore[arg-type]
                       nullable=True),
                 _TASK, STANDARDIZE,
                 Param("delimiter", ParamKind.CHOICE, "auto", "the character between values",
                       choices=tuple(user_files.DELIMITERS))),
                user_files.load_csv, "user file"),
    DatasetInfo("npz", "NumPy .npz file", "Arrays X (samples first) and y saved with numpy.savez. Integer or "
                "text y is classification, float y regression.", "auto", "auto",
                (_path("the .npz file"), _TASK,
                 Param("kind", ParamKind.CHOICE, "auto", "what the samples are (auto: from X's rank)",
                       choices=("auto", *KINDS)),
                 Param("standardize", ParamKind.BOOL, False, "rescale every feature to mean 0, std 1")),
                user_files.load_npz, "user file"),
    DatasetInfo("idx", "MNIST IDX files", "MNIST or Fashion-MNIST as distributed: an images file and a labels "
                "file in IDX format, plain or .gz. Images are [1, 28, 28], scaled to 0..1.", "image",
                "classification",
                (_path("the images file, e.g. train-images-idx3-ubyte.gz"),
                 Param("labels", DataParamKind.PATH, REQUIRED,  # type: ignore[arg-type]
                       f"the labels file, e.g. train-labels-idx1-ubyte.gz ({_FILE_HINT})"),
                 Param("classes", ParamKind.CHOICE, "digits", "class names: digits (MNIST) or fashion "
                       "(Fashion-MNIST)", choices=("digits", "fashion"))),
                idx_cifar.load_idx, "user file"),
    DatasetInfo("cifar10", "CIFAR-10 binary batches", "CIFAR-10's binary version: one data_batch_N.bin or the "
                "folder that holds them. Images are [3, 32, 32], scaled to 0..1. The python (pickle) version is "
                "never read.", "image", "classification",
                (_path("a CIFAR-10 .bin batch or the folder of batches"),), idx_cifar.load_cifar10, "user file"),
    DatasetInfo("image_folder", "Image folder", "A folder with one sub-folder of images per class; images are "
                "resized to size x size and scaled to 0..1.", "image", "classification",
                (_path("the folder that holds one sub-folder per class"),
                 Param("color", ParamKind.CHOICE, "grayscale", "grayscale: 1 channel, rgb: 3 channels",
                       choices=("grayscale", "rgb")),
                 Param("size", ParamKind.INT, 28, "images are resized to size x size pixels", min=4, max=512)),
                user_files.load_image_folder, "user file"),
)

DATASETS: dict[str, DatasetInfo] = {info.name: info for info in _INFOS}


def dataset_names() -> tuple[str, ...]:
    return tuple(DATASETS)


def dataset_info(name: Any) -> DatasetInfo:
    """The registry entry for `name`; a DatasetError suggesting the closest name when there is none."""
    from graph_engine.params import closest_name, describe_value

    if isinstance(name, str) and name in DATASETS:
        return DATASETS[name]
    guess = closest_name(name, dataset_names()) if isinstance(name, str) else None
    hint = f"did you mean {guess!r}?" if guess else "known datasets: " + ", ".join(dataset_names())
    raise DatasetError(f"unknown dataset {describe_value(name)}", hint)


def resolve_dataset_params(info: DatasetInfo, config: Mapping[str, Any],
                           base_dir: str | Path | None = None) -> dict[str, Any]:
    """Every param of `info` from `config` (the training.dataset object): checked, defaults filled, paths
    resolved against `base_dir`. Raises DatasetError naming the first bad or unknown param."""
    from graph_engine.params import closest_name, describe_value, validate_value

    for key in config:
        if key != "name" and key not in info.param_names:
            shown = describe_value(key)
            if not info.params:
                raise DatasetError(f"dataset {info.name!r} takes no params, but sets {shown}", f"remove {shown}")
            guess = closest_name(key, info.param_names) if isinstance(key, str) else None
            raise DatasetError(f"dataset {info.name!r} has no param {shown}",
                               f"did you mean {guess!r}?" if guess else "its params: " + ", ".join(info.param_names))
    values: dict[str, Any] = {}
    for p in info.params:
        value = config.get(p.name, p.default)
        if value is REQUIRED:
            raise DatasetError(f"dataset {info.name!r} needs {p.name!r}", p.doc)
        if p.kind in (DataParamKind.PATH, DataParamKind.TEXT):
            if value is None and p.nullable:
                values[p.name] = None
                continue
            if not isinstance(value, str) or not value.strip():
                raise DatasetError(f"{p.name} of dataset {info.name!r} must be a non-empty text, not "
                                   f"{describe_value(value)}", p.doc)
            values[p.name] = _resolve_path(value, base_dir) if p.kind == DataParamKind.PATH else value
            continue
        error = validate_value(p, value)
        if error:
            hint = "choose one of: " + ", ".join(p.choices) if p.kind is ParamKind.CHOICE else p.doc
            raise DatasetError(f"dataset {info.name!r}: {error}", hint)
        values[p.name] = float(value) if p.kind is ParamKind.FLOAT else value
    return values


def _resolve_path(value: str, base_dir: str | Path | None) -> Path:
    path = Path(value).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir) / path
    return path


def load_dataset(config: Mapping[str, Any] | None, input_shape: Sequence[int] | None = None, *,
                 input_dtype: str | None = None, base_dir: str | Path | None = None) -> Dataset:
    """Load the dataset a project's `training.dataset` object names, shaped for the model's Input.

    `config`: {"name": "moons", "n_samples": 500, ...}; None means {"name": "digits"}. `input_shape` (batch
    excluded) and `input_dtype` are the Input node's; when given, each sample is reshaped to the shape (same
    element count) or a DatasetError says what to change. `base_dir`: where relative paths start (the project
    file's folder; default: the working directory). Every user error is a DatasetError
    (field "training.dataset") with a hint.
    """
    if config is None:
        config = {"name": DEFAULT_DATASET}
    if not isinstance(config, Mapping):
        raise DatasetError("training.dataset must be an object such as {\"name\": \"digits\"}",
                           "known datasets: " + ", ".join(dataset_names()))
    if "name" not in config:
        raise DatasetError("training.dataset has no name", "set name to one of: " + ", ".join(dataset_names()))
    info = dataset_info(config["name"])
    params = resolve_dataset_params(info, config, base_dir)
    dataset = info.loader(**params)
    return reshape_to(dataset, input_shape, input_dtype)


__all__ = [
    "DATASETS",
    "DEFAULT_DATASET",
    "DataParamKind",
    "DatasetInfo",
    "dataset_info",
    "dataset_names",
    "load_dataset",
    "resolve_dataset_params",
]
