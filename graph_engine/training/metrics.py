"""Losses per task and the validation metrics: accuracy (classification), MAE and R2 (regression), bits per
token and next-token accuracy (language model).

Figures are plain Python floats; a figure that cannot be computed (no validation set, constant targets for
R2) is None, never NaN, so records serialise to standard JSON.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from graph_engine.training.recipe import (
    bits,
    classifier_sums,
    finite_or_none,
    language_model_sums,
    regressor_sums,
    sequence_cross_entropy,
    total_sum_of_squares,
)


def make_loss(name: str, task: str = "") -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The loss function for a (checked) loss name: the functional form of the nn loss with its defaults
    (mean reduction, Huber delta 1), which skips a module call per step. A language model's cross-entropy
    runs over every position (recipe.sequence_cross_entropy)."""
    if task == "language_model":
        return sequence_cross_entropy
    return {
        "CrossEntropyLoss": F.cross_entropy,
        "MSELoss": F.mse_loss,
        "L1Loss": F.l1_loss,
        "HuberLoss": F.huber_loss,
    }[name]


def evaluate(model: nn.Module, X: torch.Tensor, Y: torch.Tensor, loss_fn: Callable, task: str, *,
             chunk: int, sst: float | None = None, autocast: Any = None) -> dict[str, float | None]:
    """Mean loss and the task's metrics of `model` (put in eval mode by the caller) over X, Y.

    classification: {"loss", "accuracy"}; regression / autoencoder: {"loss", "mae", "r2"}; language_model:
    {"loss", "bits_per_char", "accuracy"} (accuracy of the next token over every position). The sums come from
    graph_engine.training.recipe, as in the exported train.py.
    """
    n = len(X)
    if n == 0:
        if task == "classification":
            return {"loss": None, "accuracy": None}
        if task == "language_model":
            return {"loss": None, "bits_per_char": None, "accuracy": None}
        return {"loss": None, "mae": None, "r2": None}
    ctx = autocast if autocast is not None else contextlib.nullcontext
    if task == "language_model":
        loss_sum, correct = language_model_sums(model, X, Y, loss_fn, chunk, ctx)
        loss = finite_or_none(loss_sum / n)
        return {"loss": loss, "bits_per_char": bits(loss), "accuracy": int(correct) / Y.numel()}
    if task == "classification":
        loss_sum, correct = classifier_sums(model, X, Y, loss_fn, chunk, ctx)
        return {"loss": finite_or_none(loss_sum / n), "accuracy": int(correct) / n}
    loss_sum, abs_sum, sq_sum = regressor_sums(model, X, Y, loss_fn, chunk, ctx)
    return {"loss": finite_or_none(loss_sum / n), "mae": finite_or_none(abs_sum / Y.numel()),
            "r2": finite_or_none(1.0 - sq_sum / sst) if sst else None}


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
