"""Whether a network's output fits the data it is trained on: the one rule for the trainer and train.py.

A classifier needs one score per class: a network with 10 outputs trained on a folder of 4 classes runs (the
cross-entropy of 4 labels against 10 scores is defined) but learns a wrong problem, so the app refuses it.
The exported train.py must refuse it the same way, so this rule lives in one function that depends on the
standard library alone: the training script copies its source (it never imports LayerLoom), so it uses no
module-level names. Its arguments: task "classification", "regression" or "autoencoder"; num_classes, the
classes of a classification dataset; target_shape, a target's shape per sample (regression; for an
autoencoder, the input's shape); data, how the message names the dataset (e.g. "dataset 'moons'"). The details
live here, not in its docstring, to keep the copy in every train.py short.
"""

from __future__ import annotations


def output_mismatch(task, out_shape, num_classes=None, target_shape=(), data="the data"):
    """Why a network whose output per sample has shape `out_shape` cannot train on the data; None if it fits."""
    import math

    out_shape = tuple(int(d) for d in out_shape)
    shown = "[" + ", ".join(str(d) for d in out_shape) + "]"
    if task == "language_model":
        want = (*(int(d) for d in target_shape), num_classes)
        if out_shape != want:
            return (f"the network outputs {shown} per sample, but {data} has windows of {want[0]} tokens and a "
                    f"vocabulary of {num_classes}, so it needs [{want[0]}, {num_classes}] (one score per token and "
                    "position)")
        return None
    if task == "classification":
        if out_shape != (num_classes,):
            return (f"the network outputs {shown} per sample, but {data} has {num_classes} classes, so it needs "
                    f"[{num_classes}] (one score per class)")
        return None
    target = tuple(int(d) for d in target_shape)
    if math.prod(out_shape) != math.prod(target):
        what = "the input it reconstructs" if task == "autoencoder" else f"the targets of {data}"
        return (f"the network outputs {shown} per sample, but {what} have shape "
                "[" + ", ".join(str(d) for d in target) + "]")
    return None


__all__ = ["output_mismatch"]
