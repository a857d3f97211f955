"""The pieces of an exported train.py, as source text (assembled by train_script.py).

Each dataset's loader is a few lines that reproduce `graph_engine.data` exactly (same numpy generators and
seeds, same scaling), so an exported script trains on the same numbers as the app. The loop mirrors
`graph_engine.training.loop.Trainer`: seeding, split, shuffling, skipped one-sample last batch, losses,
optimisers, schedules, metrics, early stopping; single-process runs match the app's metrics on CPU.
"""

from __future__ import annotations

# ---- the header and the imports --------------------------------------------------------------------------

HEADER = '''"""Train @@CLASS@@ ("@@NAME@@") outside LayerLoom, as the project was set up to train.

Standalone: needs torch, numpy@@EXTRA_PACKAGES@@ and safetensors (to save the weights), not LayerLoom.
The model is imported from @@MODEL_FILE@@ next to this file (LayerLoom's exported code).

    python @@SCRIPT@@                                        one process (cuda, then mps, then cpu)
    torchrun --standalone --nproc_per_node 2 @@SCRIPT@@      DistributedDataParallel, one process per GPU or
                                                           CPU worker (gloo on CPU, nccl on GPU)

Flags: --epochs N, --lr LR, --batch-size N (per process), --device auto|cpu|cuda|mps, --out DIR,
--seed N@@DATA_FLAG_DOC@@.

Rank 0 prints one line per epoch and writes DIR/model.safetensors (the final weights:
create_model().load_state_dict(safetensors.torch.load_file(...), strict=True)) and DIR/metrics.json (one
record per epoch).
"""

import argparse
import contextlib
import gc
import importlib.util
import json
import math
import os
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
MODEL_FILE = @@MODEL_FILE_REPR@@  # relative to this file
'''

SETTINGS = '''
# ---- the project's training settings (exported from LayerLoom) ---------------------------------------------

DATASET = @@DATASET@@
TASK = @@TASK@@  # classification, regression or autoencoder (None: decided by the data file)
LOSS = @@LOSS@@  # None: CrossEntropyLoss for classification, else MSELoss
OPTIMIZER = @@OPTIMIZER@@
SCHEDULE = @@SCHEDULE@@
EPOCHS = @@EPOCHS@@
BATCH_SIZE = @@BATCH_SIZE@@  # per process
VAL_FRACTION = @@VAL_FRACTION@@
SEED = @@SEED@@
DEVICE = @@DEVICE@@
GRAD_CLIP = @@GRAD_CLIP@@  # largest gradient norm, None for no clipping
EARLY_STOPPING = @@EARLY_STOPPING@@
AUGMENT = @@AUGMENT@@
MIXED_PRECISION = @@MIXED_PRECISION@@  # float16 autocast on CUDA only
INPUT_SHAPE = @@INPUT_SHAPE@@  # one sample, batch excluded
OUTPUT_SHAPE = @@OUTPUT_SHAPE@@  # the network's output for one sample
IMAGE_SHAPE = @@IMAGE_SHAPE@@  # for augmentation
EVAL_CHUNK = 1024
'''

# ---- dataset loaders: each defines load_data(path) -> (X, y, task) -----------------------------------------

STANDARDISE = '''

def standardise(values):
    """(values - mean) / std per column in float64, returned as float32; a constant column gets std 1."""
    values = np.asarray(values, dtype=np.float64)
    mean = values.mean(axis=0)
    std = values.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return ((values - mean) / std).astype(np.float32)
'''

LOADERS: dict[str, str] = {}

LOADERS["digits"] = '''

def load_data(path=None):
    """1797 handwritten digits, 8x8 grey pixels scaled to 0..1 (scikit-learn's bundled copy)."""
    from sklearn.datasets import load_digits

    raw = load_digits()
    X = (raw.data.astype(np.float32) / 16.0).reshape(-1, 1, 8, 8)
    return X, raw.target.astype(np.int64), "classification"
'''

_SK_TABLE = '''

def load_data(path=None):
    """@@DOC@@ (scikit-learn's bundled copy)."""
    from sklearn.datasets import @@LOADER@@ as load

    raw = load()
    X = np.asarray(raw.data, dtype=np.float64)
    if DATASET["standardize"]:
        X = standardise(X)
    return X.astype(np.float32), raw.target.astype(np.int64), "classification"
'''
LOADERS["iris"] = _SK_TABLE.replace("@@DOC@@", "150 iris flowers, 4 measurements, 3 species").replace(
    "@@LOADER@@", "load_iris")
LOADERS["wine"] = _SK_TABLE.replace("@@DOC@@", "178 wines, 13 chemical measurements, 3 cultivars").replace(
    "@@LOADER@@", "load_wine")
LOADERS["breast_cancer"] = _SK_TABLE.replace("@@DOC@@", "569 tumours, 30 cell features, 2 classes").replace(
    "@@LOADER@@", "load_breast_cancer")

LOADERS["diabetes"] = '''

def load_data(path=None):
    """442 patients, 10 features; target: disease progression after a year, [N, 1] (regression)."""
    from sklearn.datasets import load_diabetes

    raw = load_diabetes(scaled=False)
    X = np.asarray(raw.data, dtype=np.float64)
    y = np.asarray(raw.target, dtype=np.float64).reshape(-1, 1)
    if DATASET["standardize"]:
        X, y = standardise(X), standardise(y)
    return X.astype(np.float32), y.astype(np.float32), "regression"
'''

_POINTS = '''

def class_sizes(n, k):
    return [n // k + (1 if i < n % k else 0) for i in range(k)]


def finish_points(X, y, noise, rng):
    if noise:
        X = X + rng.normal(0.0, noise, size=X.shape)
    order = rng.permutation(len(X))
    return X[order].astype(np.float32), y[order].astype(np.int64), "classification"
'''

LOADERS["moons"] = _POINTS + '''

def load_data(path=None):
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
'''

LOADERS["circles"] = _POINTS + '''

def load_data(path=None):
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
'''

LOADERS["spirals"] = _POINTS + '''

def load_data(path=None):
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
'''

LOADERS["xor"] = _POINTS + '''

def load_data(path=None):
    """Points in [-1, 1]^2; class 1 where x and y have different signs."""
    rng = np.random.default_rng(DATASET["seed"])
    X = rng.uniform(-1.0, 1.0, size=(DATASET["n_samples"], 2))
    y = ((X[:, 0] > 0) != (X[:, 1] > 0)).astype(np.int64)
    return finish_points(X, y, DATASET["noise"], rng)
'''

_WINDOWS = '''

def windows(signal, window):
    """Overlapping windows of `window` steps ([window, 1]) that predict the next value ([1])."""
    signal = np.asarray(signal, dtype=np.float32)
    n = len(signal) - window
    idx = np.arange(n)[:, None] + np.arange(window)[None, :]
    return np.ascontiguousarray(signal[idx][:, :, None]), signal[window:][:, None].copy(), "regression"
'''

LOADERS["sine"] = _WINDOWS + '''

def load_data(path=None):
    """A sine wave; predict the next value from a window of past values."""
    t = np.arange(DATASET["n_samples"] + DATASET["window"], dtype=np.float64)
    return windows(np.sin(2 * math.pi * t / DATASET["period"]), DATASET["window"])
'''

LOADERS["sawtooth"] = _WINDOWS + '''

def load_data(path=None):
    """A sawtooth wave; predict the next value from a window of past values."""
    t = np.arange(DATASET["n_samples"] + DATASET["window"], dtype=np.float64)
    return windows(2.0 * np.mod(t / DATASET["period"], 1.0) - 1.0, DATASET["window"])
'''

LOADERS["noisy"] = _WINDOWS + '''

def load_data(path=None):
    """A sine wave with gaussian noise; predict the next value from a window of past values."""
    rng = np.random.default_rng(DATASET["seed"])
    t = np.arange(DATASET["n_samples"] + DATASET["window"], dtype=np.float64)
    signal = np.sin(2 * math.pi * t / DATASET["period"]) + rng.normal(0.0, DATASET["noise"], size=t.shape)
    return windows(signal, DATASET["window"])
'''

LOADERS["tokens"] = '''

def load_data(path=None):
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
'''

LOADERS["csv"] = '''

def load_data(path):
    """A CSV table with a header row (LayerLoom's rules: numeric features, standardised when DATASET says;
    a text target, or whole numbers with at most 20 values, is classification, other numbers regression)."""
    import csv
    import io

    text = Path(path).read_text(encoding="utf-8-sig")
    delimiter = {"comma": ",", "semicolon": ";", "tab": "\\t", "pipe": "|"}.get(DATASET["delimiter"])
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff(text[:8192], delimiters=",;\\t|").delimiter
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
'''

LOADERS["npz"] = '''

def load_data(path):
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
'''

LOADERS["image_folder"] = '''

def load_data(path):
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
                arr = decode_image(file, channels, size)  # the app's own decoder, copied below
            except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError,
                    Image.DecompressionBombWarning):
                continue
            images.append(arr)
            labels.append(classes)
            found += 1
        classes += 1 if found else 0
    return np.stack(images).astype(np.float32), np.array(labels, dtype=np.int64), "classification"
'''

# ---- everything else: model loading, split, augmentation, the loop -------------------------------------------

BODY = '''

def load_model_module():
    """Import the exported model code (a plain file next to this script)."""
    spec = importlib.util.spec_from_file_location("exported_model", HERE / MODEL_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def prepare_data(path):
    """The samples shaped for the model's input, their targets, the task, and labels to stratify the split."""
    if path is not None and not Path(path).exists():
        sys.exit(f"error: the data {path} does not exist; pass its location with --data PATH")
    try:
        X, y, data_task = load_data(path)
    except OSError as exc:
        sys.exit(f"error: cannot read the data {path}: {exc.strerror or exc}")
    n = len(X)
    if X.shape[1:] != INPUT_SHAPE:  # digits' [1, 8, 8] images serve an MLP on [64] and a CNN on [1, 8, 8]
        if int(np.prod(X.shape[1:])) != int(np.prod(INPUT_SHAPE)):
            sys.exit(f"error: the data has samples of shape {list(X.shape[1:])}, the model expects {list(INPUT_SHAPE)}")
        X = X.reshape((n, *INPUT_SHAPE))
    task = TASK or data_task
    labels = y if data_task == "classification" else None
    if task == "autoencoder":  # the targets are the inputs
        y = X.astype(np.float32, copy=True)
    elif task != data_task:
        sys.exit(f"error: the data is for {data_task}, but the task is {task}")
    return X, y, task, labels


def split(n, labels, val_fraction, seed):
    """(train indices, validation indices): seeded, stratified by class when every class has 2+ samples."""
    n_val = 0 if val_fraction == 0 or n < 2 else min(n - 1, max(1, round(n * float(val_fraction))))
    rng = np.random.default_rng(int(seed))
    if n_val == 0:
        val_idx = np.zeros(0, dtype=np.int64)
    else:
        if labels is not None:
            counts = np.bincount(labels)
            if np.any(counts[counts > 0] < 2):
                labels = None
        val_idx = stratified_pick(labels, n_val, rng) if labels is not None else rng.permutation(n)[:n_val]
    mask = np.zeros(n, dtype=bool)
    mask[val_idx] = True
    return np.flatnonzero(~mask), np.flatnonzero(mask)


def stratified_pick(labels, n_val, rng):
    classes, counts = np.unique(labels, return_counts=True)
    quota = counts * (n_val / len(labels))
    take = np.floor(quota).astype(np.int64)
    order = sorted(range(len(classes)), key=lambda k: (-(quota[k] - take[k]), k))
    for k in order[: n_val - int(take.sum())]:
        take[k] += 1
    take = np.minimum(take, counts - 1)
    picked = [rng.permutation(np.flatnonzero(labels == c))[: take[k]] for k, c in enumerate(classes)]
    return np.concatenate(picked) if picked else np.zeros(0, dtype=np.int64)


def augment(x, gen):
    """Random shifts (zero fill), left-right flips and gaussian noise, as LayerLoom applies them."""
    shift, flip, noise = int(AUGMENT["shift"]), AUGMENT["flip"], AUGMENT["noise"]
    dev = gen.device
    shape = x.shape
    if shift or flip:
        if IMAGE_SHAPE is not None:
            x = x.reshape(x.shape[0], *IMAGE_SHAPE)
    n = x.shape[0]
    if shift and n:
        offsets = torch.randint(-shift, shift + 1, (2, n), generator=gen, device=dev).to(x.device)
        dx, dy = offsets[0], offsets[1]
        h, w = x.shape[-2], x.shape[-1]
        flat = x.reshape(n, -1, h, w)
        padded = F.pad(flat, (shift, shift, shift, shift))
        rows = torch.arange(h, device=x.device).view(1, h) - dy.view(n, 1) + shift
        cols = torch.arange(w, device=x.device).view(1, w) - dx.view(n, 1) + shift
        c = flat.shape[1]
        picked = torch.gather(padded, 2, rows.view(n, 1, h, 1).expand(n, c, h, w + 2 * shift))
        x = torch.gather(picked, 3, cols.view(n, 1, 1, w).expand(n, c, h, w)).reshape(x.shape)
    if flip and n:
        mirror = (torch.rand(n, generator=gen, device=dev) < 0.5).to(x.device)
        x = torch.where(mirror.view(-1, *([1] * (x.dim() - 1))), x.flip(-1), x)
    if noise:
        x = x + torch.randn(x.shape, generator=gen, device=dev, dtype=x.dtype).to(x.device) * noise
    return x.reshape(shape)


def make_optimizer(params, lr):
    o = OPTIMIZER
    if o["name"] == "SGD":
        return torch.optim.SGD(params, lr=lr, momentum=o["momentum"], nesterov=o["nesterov"],
                               weight_decay=o["weight_decay"])
    if o["name"] in ("Adam", "AdamW"):
        cls = torch.optim.Adam if o["name"] == "Adam" else torch.optim.AdamW
        return cls(params, lr=lr, betas=tuple(o["betas"]), weight_decay=o["weight_decay"])
    return torch.optim.RMSprop(params, lr=lr, momentum=o["momentum"], weight_decay=o["weight_decay"])


def make_scheduler(opt, epochs, steps_per_epoch, lr):
    s, sched = SCHEDULE, torch.optim.lr_scheduler
    if s["name"] == "step":
        return sched.StepLR(opt, step_size=s["step_size"], gamma=s["gamma"])
    if s["name"] == "cosine":
        return sched.CosineAnnealingLR(opt, T_max=epochs, eta_min=s["min_lr"])
    if s["name"] == "plateau":
        return sched.ReduceLROnPlateau(opt, mode="min", factor=s["factor"], patience=s["patience"],
                                       min_lr=s["min_lr"])
    if s["name"] == "onecycle":
        cycle = OPTIMIZER["name"] in ("Adam", "AdamW") or OPTIMIZER.get("momentum", 0) > 0
        return sched.OneCycleLR(opt, max_lr=s["max_lr"] or lr, total_steps=epochs * steps_per_epoch,
                                pct_start=s["pct_start"], cycle_momentum=cycle)
    return None


def resolve_device(name):
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        return torch.device("mps" if mps is not None and mps.is_available() else "cpu")
    return torch.device(name)


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def finite_or_none(value):
    return value if value is not None and math.isfinite(value) else None


def all_sum(values, device, distributed):
    """Sum a list of numbers over every process (a no-op in a single process)."""
    if not distributed:
        return values
    import torch.distributed as dist

    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.tolist()


@torch.inference_mode()
def evaluate(model, X, Y, loss_fn, task, chunk, device, distributed):
    """Mean loss and the task's metric over X, Y (each process scores its share; the sums are combined)."""
    loss_sum, correct, abs_sum, sq_sum = 0.0, 0.0, 0.0, 0.0
    for start in range(0, len(X), chunk):
        xb, yb = X[start:start + chunk], Y[start:start + chunk]
        out = model(xb)
        if task != "classification" and out.shape != yb.shape:
            out = out.reshape(yb.shape)
        loss_sum += float(loss_fn(out, yb)) * len(xb)
        if task == "classification":
            correct += float((out.argmax(1) == yb).sum())
        else:
            diff = out.double() - yb.double()
            abs_sum += float(diff.abs().sum())
            sq_sum += float((diff * diff).sum())
    count, elements = float(len(X)), float(Y.numel())
    loss_sum, correct, abs_sum, sq_sum, count, elements = all_sum(
        [loss_sum, correct, abs_sum, sq_sum, count, elements], device, distributed)
    if count == 0:
        return {"loss": None, "accuracy": None} if task == "classification" else {"loss": None, "mae": None, "r2": None}
    result = {"loss": finite_or_none(loss_sum / count)}
    if task == "classification":
        result["accuracy"] = correct / count
    else:
        result["mae"] = finite_or_none(abs_sum / elements)
        result["sq_sum"] = sq_sum
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=EPOCHS, help=f"epochs (default {EPOCHS})")
    parser.add_argument("--lr", type=float, default=OPTIMIZER["lr"],
                        help=f"learning rate (default {OPTIMIZER['lr']:g})")
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE,
                        help=f"samples per step and process (default {BATCH_SIZE})")
    parser.add_argument("--device", default=DEVICE, help=f"auto, cpu, cuda, cuda:N or mps (default {DEVICE})")
    parser.add_argument("--out", default="out", help="folder for model.safetensors and metrics.json (default out)")
    parser.add_argument("--seed", type=int, default=SEED, help=f"random seed (default {SEED})")
@@DATA_ARGUMENT@@    args = parser.parse_args()
    if args.epochs < 1 or args.batch_size < 1 or not args.lr > 0:
        parser.error("--epochs and --batch-size must be at least 1 and --lr above 0")

    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    rank, world, local_rank = 0, 1, 0
    device = resolve_device(args.device)
    if distributed:
        import torch.distributed as dist
        from torch.nn.parallel import DistributedDataParallel
        from torch.utils.data.distributed import DistributedSampler

        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        if device.type == "cuda":
            device = torch.device("cuda", local_rank)
            torch.cuda.set_device(device)
        elif device.type != "cpu":
            device = torch.device("cpu")  # DistributedDataParallel runs on CUDA (nccl) or CPU (gloo)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        rank, world = dist.get_rank(), dist.get_world_size()
    main_process = rank == 0

    X, Y, task, labels = prepare_data(@@DATA_PATH_ARG@@)
    classes = int(Y.max()) + 1 if task == "classification" and len(Y) else None
    problem = output_mismatch(task, OUTPUT_SHAPE, classes, Y.shape[1:], "the data")  # the app's own rule
    if problem:
        sys.exit(f"error: {problem}")
    loss_name = LOSS or ("CrossEntropyLoss" if task == "classification" else "MSELoss")
    loss_fn = {"CrossEntropyLoss": F.cross_entropy, "MSELoss": F.mse_loss, "L1Loss": F.l1_loss,
               "HuberLoss": F.huber_loss}[loss_name]
    train_idx, val_idx = split(len(X), labels, VAL_FRACTION, args.seed)

    seed_everything(args.seed)
    model = load_model_module().create_model().to(device)
    X_train = torch.from_numpy(np.ascontiguousarray(X[train_idx])).to(device)
    Y_train = torch.from_numpy(np.ascontiguousarray(Y[train_idx])).to(device)
    shard = val_idx[rank::world]  # each process scores its share of the validation set
    X_val = torch.from_numpy(np.ascontiguousarray(X[shard])).to(device)
    Y_val = torch.from_numpy(np.ascontiguousarray(Y[val_idx][rank::world])).to(device)
    Y_val_all = np.asarray(Y[val_idx], dtype=np.float64)
    sst = None
    if task != "classification" and len(Y_val_all):
        flat = Y_val_all.reshape(len(Y_val_all), -1)
        sst = float(((flat - flat.mean(0, keepdims=True)) ** 2).sum())
    params = [p for p in model.parameters() if p.requires_grad]
    net = model
    sampler = None
    if distributed:
        net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
        sampler = DistributedSampler(range(len(X_train)), num_replicas=world, rank=rank, shuffle=True, seed=args.seed)
    n_local = len(sampler) if sampler is not None else len(X_train)
    bs = args.batch_size
    end = n_local - 1 if n_local > 1 and n_local % bs == 1 else n_local  # a last batch of 1 cannot train BatchNorm
    steps_per_epoch = max(1, math.ceil(end / bs))
    opt = make_optimizer(params, args.lr)
    scheduler = make_scheduler(opt, args.epochs, steps_per_epoch, args.lr)
    use_amp = device.type == "cuda" and MIXED_PRECISION
    scaler = torch.amp.GradScaler("cuda") if use_amp else None
    shuffle_gen = torch.Generator(device="cpu")
    shuffle_gen.manual_seed(args.seed)
    aug_gen = torch.Generator(device=device if device.type == "cuda" else "cpu")
    aug_gen.manual_seed(args.seed + 1)
    classification = task == "classification"
    autocast = (lambda: torch.autocast(device_type="cuda", dtype=torch.float16)) if use_amp else contextlib.nullcontext
    history, best_monitor, bad_epochs = [], math.inf, 0
    if main_process:
        print(f"training on {device}{f' x {world} processes' if distributed else ''}: {DATASET['name']}, "
              f"{len(train_idx)} train / {len(val_idx)} validation samples, {args.epochs} epochs, batch {bs}, "
              f"{sum(p.numel() for p in params):,} parameters", flush=True)

    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        net.train()
        if sampler is not None:
            sampler.set_epoch(epoch - 1)
            perm = torch.tensor(list(sampler), dtype=torch.int64)
        else:
            perm = torch.randperm(len(X_train), generator=shuffle_gen)
        perm = perm.to(device)
        loss_sum, seen, correct = 0.0, 0, 0
        for start in range(0, end, bs):
            idx = perm[start:min(start + bs, end)]
            xb, yb = X_train[idx], Y_train[idx]
            if AUGMENT is not None:
                xb = augment(xb, aug_gen)
            opt.zero_grad(set_to_none=True)
            with autocast():
                out = net(xb)
                if not classification and out.shape != yb.shape:
                    out = out.reshape(yb.shape)
                loss = loss_fn(out, yb)
            value = loss.item()
            if not math.isfinite(value):
                sys.exit(f"error: the loss became {value} at epoch {epoch}; lower the learning rate (--lr)")
            if scaler is None:
                loss.backward()
                if GRAD_CLIP:
                    torch.nn.utils.clip_grad_norm_(params, GRAD_CLIP)
                opt.step()
            else:
                scaler.scale(loss).backward()
                if GRAD_CLIP:
                    scaler.unscale_(opt)
                    torch.nn.utils.clip_grad_norm_(params, GRAD_CLIP)
                scaler.step(opt)
                scaler.update()
            if scheduler is not None and SCHEDULE["name"] == "onecycle":
                scheduler.step()
            loss_sum += value * len(idx)
            seen += len(idx)
            if classification:
                correct += int((out.argmax(1) == yb).sum())
        train_s = time.perf_counter() - t0
        loss_sum, seen_all, correct = all_sum([loss_sum, float(seen), float(correct)], device, distributed)
        net.eval()
        val = evaluate(net.module if distributed else net, X_val, Y_val, loss_fn, task, max(bs, EVAL_CHUNK),
                       device, distributed)
        record = {"epoch": epoch, "train_loss": finite_or_none(loss_sum / max(seen_all, 1))}
        if classification:
            record["train_accuracy"] = correct / seen_all if seen_all else None
            record["val_loss"], record["val_accuracy"] = val["loss"], val["accuracy"]
        else:
            record["val_loss"], record["val_mae"] = val["loss"], val["mae"]
            record["val_r2"] = finite_or_none(1.0 - val["sq_sum"] / sst) if sst and "sq_sum" in val else None
        record["lr"] = opt.param_groups[0]["lr"]
        record["time_s"] = round(time.perf_counter() - t0, 6)
        record["samples_per_s"] = round(seen / train_s, 1) if train_s > 0 else None
        history.append(record)
        monitor = record["val_loss"] if len(val_idx) else record["train_loss"]
        monitor = math.inf if monitor is None else monitor
        if scheduler is not None and SCHEDULE["name"] == "plateau":
            scheduler.step(monitor)
        elif scheduler is not None and SCHEDULE["name"] != "onecycle":
            scheduler.step()
        if main_process:
            shown = "  ".join(f"{k} {'-' if v is None else f'{v:.4f}'}" for k, v in record.items()
                              if k not in ("epoch", "lr", "time_s", "samples_per_s"))
            print(f"epoch {epoch}/{args.epochs}  {shown}  lr {record['lr']:.3g}  {record['time_s']:.2f} s",
                  flush=True)
        if EARLY_STOPPING is not None:
            if monitor < best_monitor - EARLY_STOPPING["min_delta"]:
                best_monitor, bad_epochs = monitor, 0
            else:
                bad_epochs += 1
                if bad_epochs >= EARLY_STOPPING["patience"]:
                    if main_process:
                        print(f"early stopping: no improvement for {bad_epochs} epochs", flush=True)
                    break

    if main_process:
        from safetensors.torch import save_file

        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        weights = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
        save_file(weights, str(out / "model.safetensors"))
        with open(out / "metrics.json", "w", encoding="utf-8") as fh:
            json.dump(history, fh, indent=1, allow_nan=False)
            fh.write("\\n")
        print(f"wrote {out / 'model.safetensors'} and {out / 'metrics.json'}", flush=True)
    if distributed:
        del net  # DistributedDataParallel's reducer must be gone before its process group
        gc.collect()
        dist.barrier()
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
'''

DATA_ARGUMENT = '''    parser.add_argument("--data", default=DATASET["path"],
                        help="the data file or folder (default: the project's, " + repr(DATASET["path"]) + ")")
'''
