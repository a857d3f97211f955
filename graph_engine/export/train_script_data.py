"""The dataset loaders of the exported train.py, as real functions: the exporter copies the project's one
(renamed load_data) and the helpers it calls. Each reproduces graph_engine.data exactly (the same numpy
generators, seeds and scaling; tests/engine/test_export_train_script.py compares them), reading its settings
from the script's DATASET constant. User files (csv, npz, image folder) follow LayerLoom's rules without its
detailed error messages.
"""

import math
from pathlib import Path

import numpy as np

from graph_engine.data.image_folder import decode_image  # noqa: F401 - copied into the script beside the loader
from graph_engine.data.procedural_images import digit_glyphs, glyph_images, shape_glyphs
from graph_engine.data.text_chars import char_windows

DATASET: dict = {}  # the script's dataset settings (written by the exporter)



def standardise(values):
    """(values - mean) / std per column in float64, returned as float32; a constant column gets std 1."""
    values = np.asarray(values, dtype=np.float64)
    mean = values.mean(axis=0)
    std = values.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return ((values - mean) / std).astype(np.float32)


def class_sizes(n, k):
    return [n // k + (1 if i < n % k else 0) for i in range(k)]


def finish_points(X, y, noise, rng):
    if noise:
        X = X + rng.normal(0.0, noise, size=X.shape)
    order = rng.permutation(len(X))
    return X[order].astype(np.float32), y[order].astype(np.int64), "classification"


def windows(signal, window):
    """Overlapping windows of `window` steps ([window, 1]) that predict the next value ([1])."""
    signal = np.asarray(signal, dtype=np.float32)
    n = len(signal) - window
    idx = np.arange(n)[:, None] + np.arange(window)[None, :]
    return np.ascontiguousarray(signal[idx][:, :, None]), signal[window:][:, None].copy(), "regression"


def load_digits(path=None):
    """1797 handwritten digits, 8x8 grey pixels scaled to 0..1 (scikit-learn's bundled copy)."""
    from sklearn.datasets import load_digits

    raw = load_digits()
    X = (raw.data.astype(np.float32) / 16.0).reshape(-1, 1, 8, 8)
    return X, raw.target.astype(np.int64), "classification"


def table_classes(raw):
    """A scikit-learn table of class labels: float32 features (standardised when DATASET says), int64 classes."""
    X = np.asarray(raw.data, dtype=np.float64)
    if DATASET["standardize"]:
        X = standardise(X)
    return X.astype(np.float32), raw.target.astype(np.int64), "classification"


def load_iris(path=None):
    """150 iris flowers, 4 measurements, 3 species (scikit-learn's bundled copy)."""
    from sklearn.datasets import load_iris as load

    return table_classes(load())


def load_wine(path=None):
    """178 wines, 13 chemical measurements, 3 cultivars (scikit-learn's bundled copy)."""
    from sklearn.datasets import load_wine as load

    return table_classes(load())


def load_breast_cancer(path=None):
    """569 tumours, 30 cell features, 2 classes (scikit-learn's bundled copy)."""
    from sklearn.datasets import load_breast_cancer as load

    return table_classes(load())


def load_diabetes(path=None):
    """442 patients, 10 features; target: disease progression after a year, [N, 1] (regression)."""
    from sklearn.datasets import load_diabetes

    raw = load_diabetes(scaled=False)
    X = np.asarray(raw.data, dtype=np.float64)
    y = np.asarray(raw.target, dtype=np.float64).reshape(-1, 1)
    if DATASET["standardize"]:
        X, y = standardise(X), standardise(y)
    return X.astype(np.float32), y.astype(np.float32), "regression"


def load_moons(path=None):
    """Two interleaving half circles in 2-D."""
    rng = np.random.default_rng(DATASET["seed"])
    n_out, n_in = class_sizes(DATASET["n_samples"], 2)
    t_out = rng.uniform(0.0, math.pi, n_out)
    t_in = rng.uniform(0.0, math.pi, n_in)
    outer = np.stack([np.cos(t_out), np.sin(t_out)], axis=1)
    inner = np.stack([1.0 - np.cos(t_in), 0.5 - np.sin(t_in)], axis=1)
    X = np.concatenate([outer, inner]) - np.array([0.5, 0.25])
    y = np.concatenate([np.zeros(n_out), np.ones(n_in)])
    return finish_points(X, y, DATASET["noise"], rng)


def load_circles(path=None):
    """A small circle inside a large one, in 2-D."""
    rng = np.random.default_rng(DATASET["seed"])
    n_out, n_in = class_sizes(DATASET["n_samples"], 2)
    t_out = rng.uniform(0.0, 2 * math.pi, n_out)
    t_in = rng.uniform(0.0, 2 * math.pi, n_in)
    outer = np.stack([np.cos(t_out), np.sin(t_out)], axis=1)
    inner = DATASET["factor"] * np.stack([np.cos(t_in), np.sin(t_in)], axis=1)
    X = np.concatenate([outer, inner])
    y = np.concatenate([np.zeros(n_out), np.ones(n_in)])
    return finish_points(X, y, DATASET["noise"], rng)


def load_spirals(path=None):
    """Interleaved spiral arms in 2-D, one class per arm."""
    rng = np.random.default_rng(DATASET["seed"])
    classes, turns = DATASET["classes"], DATASET["turns"]
    parts, labels = [], []
    for k, size in enumerate(class_sizes(DATASET["n_samples"], classes)):
        r = rng.uniform(0.05, 1.0, size)
        theta = 2 * math.pi * k / classes + 2 * math.pi * turns * r
        parts.append(np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1))
        labels.append(np.full(size, k))
    return finish_points(np.concatenate(parts), np.concatenate(labels), DATASET["noise"], rng)


def load_xor(path=None):
    """Points in [-1, 1]^2; class 1 where x and y have different signs."""
    rng = np.random.default_rng(DATASET["seed"])
    X = rng.uniform(-1.0, 1.0, size=(DATASET["n_samples"], 2))
    y = ((X[:, 0] > 0) != (X[:, 1] > 0)).astype(np.int64)
    return finish_points(X, y, DATASET["noise"], rng)


def load_sine(path=None):
    """A sine wave; predict the next value from a window of past values."""
    t = np.arange(DATASET["n_samples"] + DATASET["window"], dtype=np.float64)
    return windows(np.sin(2 * math.pi * t / DATASET["period"]), DATASET["window"])


def load_sawtooth(path=None):
    """A sawtooth wave; predict the next value from a window of past values."""
    t = np.arange(DATASET["n_samples"] + DATASET["window"], dtype=np.float64)
    return windows(2.0 * np.mod(t / DATASET["period"], 1.0) - 1.0, DATASET["window"])


def load_noisy(path=None):
    """A sine wave with gaussian noise; predict the next value from a window of past values."""
    rng = np.random.default_rng(DATASET["seed"])
    t = np.arange(DATASET["n_samples"] + DATASET["window"], dtype=np.float64)
    signal = np.sin(2 * math.pi * t / DATASET["period"]) + rng.normal(0.0, DATASET["noise"], size=t.shape)
    return windows(signal, DATASET["window"])


def load_tokens(path=None):
    """int64 token sequences (id 0 is padding and never appears); 2 classes decided by DATASET["rule"]."""
    n, seq_len, vocab = DATASET["n_samples"], DATASET["seq_len"], DATASET["vocab_size"]
    rng = np.random.default_rng(DATASET["seed"])
    if DATASET["rule"] == "order":  # does token 1 come before token 2?
        X = rng.integers(3, vocab, size=(n, seq_len))
        pos = np.argsort(rng.random((n, seq_len)), axis=1)[:, :2]
        rows = np.arange(n)
        X[rows, pos[:, 0]] = 1
        X[rows, pos[:, 1]] = 2
        y = (pos[:, 0] < pos[:, 1]).astype(np.int64)
    else:  # majority: are most tokens in the high half of the vocabulary?
        half = (vocab - 1) // 2
        y = rng.integers(0, 2, size=n)
        lo_min = seq_len // 2 + 1
        n_high = np.where(y == 1, rng.integers(lo_min, seq_len + 1, size=n),
                          rng.integers(0, seq_len - lo_min + 1, size=n))
        low = rng.integers(1, half + 1, size=(n, seq_len))
        high = rng.integers(half + 1, vocab, size=(n, seq_len))
        ranks = np.argsort(np.argsort(rng.random((n, seq_len)), axis=1), axis=1)
        X = np.where(ranks < n_high[:, None], high, low)
        y = y.astype(np.int64)
    return X.astype(np.int64), y, "classification"


def load_stroke_digits(path=None):
    """Pen-stroke digits 0-9 drawn in code ([1, 28, 28] grey or [3, 32, 32] colour), rotated up to 15 degrees."""
    channels, side = (1, 28) if DATASET["color"] == "grayscale" else (3, 32)
    X, y = glyph_images(digit_glyphs(), DATASET["n_samples"], channels, side, DATASET["noise"], DATASET["seed"],
                        15.0, (0.55, 0.85))
    return X, y, "classification"


def load_shapes(path=None):
    """Outline shapes drawn in code ([1, 28, 28] grey or [3, 32, 32] colour), in any rotation."""
    channels, side = (1, 28) if DATASET["color"] == "grayscale" else (3, 32)
    X, y = glyph_images(shape_glyphs(), DATASET["n_samples"], channels, side, DATASET["noise"], DATASET["seed"],
                        180.0, (0.45, 0.8))
    return X, y, "classification"


def read_text_file(path):
    """The text of a UTF-8 file (a BOM is skipped), as LayerLoom's char_text dataset reads it."""
    with open(path, encoding="utf-8-sig") as fh:
        return fh.read()


def load_char_text(path):
    """Windows of DATASET["seq_len"] characters (int64 ids) and each position's next character; the vocabulary
    is the text's sorted characters (text_vocabulary)."""
    seq_len = DATASET["seq_len"]
    X, y, _ = char_windows(read_text_file(path), seq_len, DATASET["stride"] or seq_len)
    return X, y, "language_model"


def text_vocabulary(path):
    """The characters of the text in id order (a language model's id -> character)."""
    return char_windows(read_text_file(path), 2, 1 << 30)[2]


def load_csv(path):
    """A CSV table with a header row (LayerLoom's rules: numeric features, standardised when DATASET says;
    a text target, or whole numbers with at most 20 values, is classification, other numbers regression)."""
    import csv
    import io

    text = Path(path).read_text(encoding="utf-8-sig")
    delimiter = {"comma": ",", "semicolon": ";", "tab": "\t", "pipe": "|"}.get(DATASET["delimiter"])
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff(text[:8192], delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","
    rows = [r for r in csv.reader(io.StringIO(text), delimiter=delimiter) if any(c.strip() for c in r)]
    header, body = [c.strip() for c in rows[0]], rows[1:]
    t_col = len(header) - 1 if DATASET["target"] is None else header.index(DATASET["target"])
    features = [j for j in range(len(header)) if j != t_col]
    X = np.array([[float(row[j]) for j in features] for row in body], dtype=np.float64)
    raw = [row[t_col].strip() for row in body]
    try:
        numbers = np.array([float(v) for v in raw], dtype=np.float64)
    except ValueError:
        numbers = None
    task = DATASET["task"]
    if task == "auto":
        small = numbers is not None and np.all(numbers == np.round(numbers)) and len(np.unique(numbers)) <= 20
        task = "classification" if numbers is None or small else "regression"
    if DATASET["standardize"]:
        X = standardise(X)
    if task == "classification":
        values = numbers if numbers is not None else np.array(raw, dtype=object).astype(str)
        y = np.unique(values, return_inverse=True)[1].astype(np.int64).reshape(-1)
        return X.astype(np.float32), y, task
    y = numbers.reshape(-1, 1)
    if DATASET["standardize"]:
        y = standardise(y)
    return X.astype(np.float32), y.astype(np.float32), task


def load_npz(path):
    """Arrays X (samples first) and y from numpy.savez; integer or text y is classification, float y
    regression (LayerLoom's rules; nothing is unpickled)."""
    with np.load(path, allow_pickle=False) as archive:
        X, y = archive["X"], archive["y"]
    if X.ndim == 1:
        X = X[:, None]
    kind = DATASET["kind"] if DATASET["kind"] != "auto" else {2: "table", 3: "series", 4: "image"}.get(X.ndim, "table")
    X = X.astype(np.int64) if kind == "tokens" else X.astype(np.float32)
    if kind == "image" and X.ndim == 3:
        X = X[:, None]
    if DATASET["standardize"] and kind != "tokens":
        X = standardise(X.reshape(len(X), -1)).reshape(X.shape)
    task = DATASET["task"]
    if task == "auto":
        task = "regression" if y.dtype.kind in "fc" else "classification"
    if task == "classification":
        y = y[:, 0] if y.ndim == 2 and y.shape[1] == 1 else y
        if y.dtype.kind in "iub" and (y.size == 0 or y.min() >= 0):
            return X, y.astype(np.int64), task
        values = y if y.dtype.kind == "f" else y.astype(str)
        return X, np.unique(values, return_inverse=True)[1].astype(np.int64).reshape(-1), task
    y = y.astype(np.float64).reshape(len(y), -1)
    if DATASET["standardize"]:
        y = standardise(y)
    return X, y.astype(np.float32), task


def load_image_folder(path):
    """A folder with one sub-folder of images per class (sorted names); images are converted to grayscale or
    RGB, resized to size x size and scaled to 0..1 (needs Pillow)."""
    from PIL import Image, UnidentifiedImageError

    channels = 1 if DATASET["color"] == "grayscale" else 3
    size = DATASET["size"]
    images, labels, classes = [], [], 0
    for class_dir in sorted(Path(path).iterdir()):
        if class_dir.name.startswith(".") or not class_dir.is_dir():
            continue
        found = 0
        for file in sorted(class_dir.iterdir()):
            if file.name.startswith(".") or not file.is_file():  # a named pipe would block for ever
                continue
            try:
                arr = decode_image(file, channels, size)  # the app's own decoder, copied by the exporter
            except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError,
                    Image.DecompressionBombWarning):
                continue
            images.append(arr)
            labels.append(classes)
            found += 1
        classes += 1 if found else 0
    return np.stack(images).astype(np.float32), np.array(labels, dtype=np.int64), "classification"
