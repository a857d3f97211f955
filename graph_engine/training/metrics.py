"""Losses per task and the validation metrics: accuracy (classification), MAE and R2 (regression).

Figures are plain Python floats; a figure that cannot be computed (no validation set, constant targets for
R2) is None, never NaN, so records serialise to standard JSON.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def make_loss(name: str) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The loss function for a (checked) loss name: the functional form of the nn loss with its defaults
    (mean reduction, Huber delta 1), which skips a module call per step."""
    return {
        "CrossEntropyLoss": F.cross_entropy,
        "MSELoss": F.mse_loss,
        "L1Loss": F.l1_loss,
        "HuberLoss": F.huber_loss,
    }[name]


def finite_or_none(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def total_sum_of_squares(Y: torch.Tensor) -> float:
    """Sum over every target element of (y - mean of its column)^2, in float64 (the R2 denominator)."""
    if len(Y) == 0:
        return 0.0
    y = Y.reshape(len(Y), -1).double()
    return float(((y - y.mean(0, keepdim=True)) ** 2).sum())


@torch.inference_mode()
def evaluate(model: nn.Module, X: torch.Tensor, Y: torch.Tensor, loss_fn: Callable, task: str, *,
             chunk: int, sst: float | None = None, autocast: Any = None) -> dict[str, float | None]:
    """Mean loss and the task's metrics of `model` (put in eval mode by the caller) over X, Y.

    classification: {"loss", "accuracy"}; regression / autoencoder: {"loss", "mae", "r2"}.
    """
    n = len(X)
    if n == 0:
        if task == "classification":
            return {"loss": None, "accuracy": None}
        return {"loss": None, "mae": None, "r2": None}
    ctx = autocast if autocast is not None else contextlib.nullcontext
    loss_sum = 0.0
    correct = torch.zeros((), dtype=torch.int64, device=X.device)
    abs_sum = torch.zeros((), dtype=torch.float64, device=X.device)
    sq_sum = torch.zeros((), dtype=torch.float64, device=X.device)
    for start in range(0, n, chunk):
        xb = X[start:start + chunk]
        yb = Y[start:start + chunk]
        with ctx():
            out = model(xb)
            if task != "classification" and out.shape != yb.shape:
                out = out.reshape(yb.shape)
            loss = loss_fn(out, yb)
        loss_sum += float(loss) * len(xb)
        if task == "classification":
            correct += (out.argmax(1) == yb).sum()
        else:
            diff = out.double() - yb.double()
            abs_sum += diff.abs().sum()
            sq_sum += (diff * diff).sum()
    result: dict[str, float | None] = {"loss": finite_or_none(loss_sum / n)}
    if task == "classification":
        result["accuracy"] = int(correct) / n
    else:
        elements = Y.numel()
        result["mae"] = finite_or_none(float(abs_sum) / elements)
        result["r2"] = finite_or_none(1.0 - float(sq_sum) / sst) if sst else None
    return result


@torch.inference_mode()
def confusion_matrix(model: nn.Module, X: torch.Tensor, Y: torch.Tensor, num_classes: int, *, chunk: int,
                     autocast: Any = None) -> np.ndarray:
    """int64 [true class, predicted class] counts of `model` (in eval mode) over X, Y."""
    ctx = autocast if autocast is not None else contextlib.nullcontext
    counts = torch.zeros(num_classes * num_classes, dtype=torch.int64, device=X.device)
    for start in range(0, len(X), chunk):
        with ctx():
            pred = model(X[start:start + chunk]).argmax(1)
        true = Y[start:start + chunk]
        counts += torch.bincount(true * num_classes + pred.clamp(0, num_classes - 1),
                                 minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes).cpu().numpy()


__all__ = ["confusion_matrix", "evaluate", "finite_or_none", "make_loss", "total_sum_of_squares"]
