"""Generated datasets: 2-D point clouds, time series cut into windows, token sequences.

All generators are pure numpy with `np.random.default_rng(seed)`, so a (name, params) pair gives the same
arrays on every run, machine and library version.

2-D points (kind "points2d", classification, X float32 [N, 2], classes balanced, order shuffled):
- moons: two interleaving half circles (centred on the origin);
- circles: a circle of radius `factor` inside a circle of radius 1;
- spirals: `classes` spiral arms starting at the centre, `turns` revolutions each;
- xor: points uniform in [-1, 1]^2, class 1 where x and y have different signs.
`noise` is the standard deviation of gaussian jitter added to each coordinate (after labelling).

Series (kind "series", regression): one signal cut into overlapping windows of `window` steps; X[i] holds
steps i..i+window-1 as [window, 1] and y[i] the next step as [1]. sine: sin(2 pi t / period); sawtooth: a
ramp from -1 to 1 every `period` steps; noisy: the sine plus gaussian noise of std `noise`.

Tokens (kind "tokens", classification, X int64 [N, seq_len], ids 0..vocab_size-1; id 0 is reserved for
padding and never generated, so an Embedding may use padding_idx=0):
- rule "order": every sequence holds token 1 ("A") exactly once and token 2 ("B") exactly once at random
  positions, the other positions are random tokens 3..vocab_size-1. Label 1 ("A before B") when A comes
  first, else 0 ("B before A"). Balanced. Order matters, so a bag-of-tokens model cannot solve it, while a
  small GRU (or a transformer with positions) learns it to > 90% accuracy;
- rule "majority": tokens 1..vocab_size-1 are split into a low half (1..h) and a high half (h+1..); label 1
  ("mostly high") when strictly more positions hold high tokens than low tokens. The number of high tokens is
  drawn so that ties never happen and the classes are balanced.
"""

from __future__ import annotations

import math

import numpy as np

from graph_engine.data.base import Dataset, DatasetError
from graph_engine.data.limits import check_fits

# Bytes per generated value at the peak of generation (the result plus numpy's temporaries: random keys,
# argsort indices, index grids), measured with tracemalloc; what the memory check multiplies by.
TOKEN_PEAK_BYTES = 48
WINDOW_PEAK_BYTES = 16

# ---- 2-D points ---------------------------------------------------------------------------------------------


def _class_sizes(n: int, k: int) -> list[int]:
    return [n // k + (1 if i < n % k else 0) for i in range(k)]


def _points(name: str, X: np.ndarray, y: np.ndarray, noise: float, rng: np.random.Generator,
            class_names: tuple[str, ...], description: str) -> Dataset:
    if noise:
        X = X + rng.normal(0.0, noise, size=X.shape)
    order = rng.permutation(len(X))
    return Dataset(
        name=name, X=X[order].astype(np.float32), y=y[order].astype(np.int64), task="classification",
        kind="points2d", num_classes=len(class_names), class_names=class_names, feature_names=("x", "y"),
        description=description,
    )


def make_moons(n_samples: int = 500, noise: float = 0.1, seed: int = 0) -> Dataset:
    rng = np.random.default_rng(seed)
    n_out, n_in = _class_sizes(n_samples, 2)
    t_out = rng.uniform(0.0, math.pi, n_out)
    t_in = rng.uniform(0.0, math.pi, n_in)
    outer = np.stack([np.cos(t_out), np.sin(t_out)], axis=1)
    inner = np.stack([1.0 - np.cos(t_in), 0.5 - np.sin(t_in)], axis=1)
    X = np.concatenate([outer, inner]) - np.array([0.5, 0.25])
    y = np.concatenate([np.zeros(n_out), np.ones(n_in)])
    return _points("moons", X, y, noise, rng, ("upper moon", "lower moon"), "two interleaving half circles")


def make_circles(n_samples: int = 500, noise: float = 0.05, factor: float = 0.5, seed: int = 0) -> Dataset:
    rng = np.random.default_rng(seed)
    n_out, n_in = _class_sizes(n_samples, 2)
    t_out = rng.uniform(0.0, 2 * math.pi, n_out)
    t_in = rng.uniform(0.0, 2 * math.pi, n_in)
    outer = np.stack([np.cos(t_out), np.sin(t_out)], axis=1)
    inner = factor * np.stack([np.cos(t_in), np.sin(t_in)], axis=1)
    X = np.concatenate([outer, inner])
    y = np.concatenate([np.zeros(n_out), np.ones(n_in)])
    return _points("circles", X, y, noise, rng, ("outer", "inner"), "a small circle inside a large one")


def make_spirals(n_samples: int = 600, noise: float = 0.05, classes: int = 3, turns: float = 1.0,
                 seed: int = 0) -> Dataset:
    rng = np.random.default_rng(seed)
    parts, labels = [], []
    for k, size in enumerate(_class_sizes(n_samples, classes)):
        r = rng.uniform(0.05, 1.0, size)
        theta = 2 * math.pi * k / classes + 2 * math.pi * turns * r
        parts.append(np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1))
        labels.append(np.full(size, k))
    names = tuple(f"arm {k}" for k in range(classes))
    return _points("spirals", np.concatenate(parts), np.concatenate(labels), noise, rng, names,
                   f"{classes} interleaved spiral arms")


def make_xor(n_samples: int = 500, noise: float = 0.05, seed: int = 0) -> Dataset:
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1.0, 1.0, size=(n_samples, 2))
    y = ((X[:, 0] > 0) != (X[:, 1] > 0)).astype(np.int64)
    return _points("xor", X, y, noise, rng, ("same sign", "different sign"),
                   "class 1 where x and y have different signs")


# ---- series -------------------------------------------------------------------------------------------------


def windows(signal: np.ndarray, window: int, name: str, description: str) -> Dataset:
    """Cut a 1-D signal into overlapping windows that predict the next value."""
    signal = np.asarray(signal, dtype=np.float32)
    n = len(signal) - window
    if n < 1:
        raise DatasetError(f"a series of {len(signal)} steps is too short for windows of {window} steps",
                           "use a smaller window or more samples")
    check_fits(n * window * WINDOW_PEAK_BYTES, f"the {name} dataset ({n} windows of {window} steps)",
               "lower n_samples or window")
    idx = np.arange(n)[:, None] + np.arange(window)[None, :]
    X = signal[idx][:, :, None]
    y = signal[window:][:, None].copy()
    return Dataset(name=name, X=np.ascontiguousarray(X), y=y, task="regression", kind="series",
                   feature_names=("value",), description=description)


def make_sine(n_samples: int = 1000, window: int = 20, period: float = 25.0) -> Dataset:
    t = np.arange(n_samples + window, dtype=np.float64)
    return windows(np.sin(2 * math.pi * t / period), window, "sine", "a sine wave; predict the next value")


def make_sawtooth(n_samples: int = 1000, window: int = 20, period: float = 25.0) -> Dataset:
    t = np.arange(n_samples + window, dtype=np.float64)
    signal = 2.0 * np.mod(t / period, 1.0) - 1.0
    return windows(signal, window, "sawtooth", "a sawtooth wave; predict the next value")


def make_noisy(n_samples: int = 1000, window: int = 20, period: float = 25.0, noise: float = 0.1,
               seed: int = 0) -> Dataset:
    rng = np.random.default_rng(seed)
    t = np.arange(n_samples + window, dtype=np.float64)
    signal = np.sin(2 * math.pi * t / period) + rng.normal(0.0, noise, size=t.shape)
    return windows(signal, window, "noisy", "a sine wave with gaussian noise; predict the next value")


# ---- tokens -------------------------------------------------------------------------------------------------

TOKEN_A = 1
TOKEN_B = 2


def make_tokens(n_samples: int = 2000, seq_len: int = 16, vocab_size: int = 16, rule: str = "order",
                seed: int = 0) -> Dataset:
    if seq_len < 2:
        raise DatasetError(f"seq_len must be at least 2, not {seq_len}", "use seq_len 16")
    check_fits(n_samples * seq_len * TOKEN_PEAK_BYTES, f"the tokens dataset ({n_samples} sequences of {seq_len})",
               "lower n_samples or seq_len")
    rng = np.random.default_rng(seed)
    if rule == "order":
        if vocab_size < 4:
            raise DatasetError(f"the 'order' rule needs vocab_size >= 4, not {vocab_size}",
                               "use vocab_size 16 (0 = padding, 1 = A, 2 = B, 3.. = filler)")
        X = rng.integers(3, vocab_size, size=(n_samples, seq_len))
        # Two distinct positions per sequence: argsort of random keys gives a random permutation per row.
        pos = np.argsort(rng.random((n_samples, seq_len)), axis=1)[:, :2]
        rows = np.arange(n_samples)
        X[rows, pos[:, 0]] = TOKEN_A
        X[rows, pos[:, 1]] = TOKEN_B
        y = (pos[:, 0] < pos[:, 1]).astype(np.int64)
        names = ("B before A", "A before B")
        description = "does token 1 (A) come before token 2 (B)?"
    elif rule == "majority":
        if vocab_size < 3:
            raise DatasetError(f"the 'majority' rule needs vocab_size >= 3, not {vocab_size}",
                               "use vocab_size 16")
        half = (vocab_size - 1) // 2  # low tokens 1..half, high tokens half+1..vocab_size-1
        y = rng.integers(0, 2, size=n_samples)
        lo_min = seq_len // 2 + 1  # strictly more than half: never a tie
        n_high = np.where(y == 1, rng.integers(lo_min, seq_len + 1, size=n_samples),
                          rng.integers(0, seq_len - lo_min + 1, size=n_samples))
        low = rng.integers(1, half + 1, size=(n_samples, seq_len))
        high = rng.integers(half + 1, vocab_size, size=(n_samples, seq_len))
        ranks = np.argsort(np.argsort(rng.random((n_samples, seq_len)), axis=1), axis=1)
        X = np.where(ranks < n_high[:, None], high, low)
        y = y.astype(np.int64)
        names = ("mostly low", "mostly high")
        description = f"are most tokens high (> {half}) rather than low (1..{half})?"
    else:
        raise DatasetError(f"unknown token rule {rule!r}", "choose 'order' or 'majority'")
    return Dataset(
        name="tokens", X=X.astype(np.int64), y=y, task="classification", kind="tokens", num_classes=2,
        class_names=names, vocab_size=vocab_size, description=description,
    )


__all__ = [
    "TOKEN_A",
    "TOKEN_B",
    "make_circles",
    "make_moons",
    "make_noisy",
    "make_sawtooth",
    "make_sine",
    "make_spirals",
    "make_tokens",
    "make_xor",
    "windows",
]
