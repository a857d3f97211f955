"""scikit-learn's bundled datasets (no download): digits, iris, wine, breast_cancer, diabetes.

scikit-learn is imported inside the loaders, so importing this module stays cheap.
"""

from __future__ import annotations

import numpy as np

from graph_engine.data.base import Dataset


def standardise(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(standardised float32 values, mean, std) per column; a constant column gets std 1 (it becomes 0)."""
    values = np.asarray(values, dtype=np.float64)
    mean = values.mean(axis=0)
    std = values.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return ((values - mean) / std).astype(np.float32), mean.astype(np.float32), std.astype(np.float32)


def load_digits() -> Dataset:
    """1797 handwritten digits, 8x8 grey images scaled to 0..1, as [N, 1, 8, 8]; 10 classes."""
    from sklearn.datasets import load_digits as sk_load

    raw = sk_load()
    X = (raw.data.astype(np.float32) / 16.0).reshape(-1, 1, 8, 8)
    return Dataset(
        name="digits", X=X, y=raw.target.astype(np.int64), task="classification", kind="image",
        num_classes=10, class_names=tuple(str(k) for k in range(10)), image_shape=(1, 8, 8),
        description="1797 handwritten digits, 8x8 pixels, values 0..1",
    )


def _table(name: str, raw, standardize: bool, description: str) -> Dataset:
    X = np.asarray(raw.data, dtype=np.float64)
    mean = std = None
    if standardize:
        X, mean, std = standardise(X)
    names = tuple(str(c) for c in raw.target_names)
    return Dataset(
        name=name, X=X.astype(np.float32), y=raw.target.astype(np.int64), task="classification", kind="table",
        num_classes=len(names), class_names=names, feature_names=tuple(str(f) for f in raw.feature_names),
        feature_mean=mean, feature_std=std, description=description,
    )


def load_iris(standardize: bool = True) -> Dataset:
    from sklearn.datasets import load_iris as sk_load

    return _table("iris", sk_load(), standardize, "150 iris flowers, 4 measurements, 3 species")


def load_wine(standardize: bool = True) -> Dataset:
    from sklearn.datasets import load_wine as sk_load

    return _table("wine", sk_load(), standardize, "178 wines, 13 chemical measurements, 3 cultivars")


def load_breast_cancer(standardize: bool = True) -> Dataset:
    from sklearn.datasets import load_breast_cancer as sk_load

    return _table("breast_cancer", sk_load(), standardize,
                  "569 breast tumours, 30 cell-nucleus features, malignant or benign")


def load_diabetes(standardize: bool = True) -> Dataset:
    """442 patients, 10 features; target: disease progression after a year (regression, [N, 1])."""
    from sklearn.datasets import load_diabetes as sk_load

    raw = sk_load(scaled=False)
    X = np.asarray(raw.data, dtype=np.float64)
    y = np.asarray(raw.target, dtype=np.float64).reshape(-1, 1)
    fm = fs = tm = ts = None
    if standardize:
        X, fm, fs = standardise(X)
        y, tm, ts = standardise(y)
    return Dataset(
        name="diabetes", X=X.astype(np.float32), y=y.astype(np.float32), task="regression", kind="table",
        feature_names=tuple(raw.feature_names), feature_mean=fm, feature_std=fs, target_mean=tm, target_std=ts,
        description="442 diabetes patients, 10 features, disease progression after one year",
    )


__all__ = ["load_breast_cancer", "load_diabetes", "load_digits", "load_iris", "load_wine", "standardise"]
