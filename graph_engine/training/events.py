"""What a training run reports: plain dataclasses, delivered to listeners (callables taking one event).

    def listener(event):
        if isinstance(event, EpochEvent):
            print(event.record["val_accuracy"])

Events are sent from the thread that runs the training loop, in this order: one StartedEvent, then
StepEvent after every optimiser step, ProbeEvent every `probe_every` steps, EpochEvent after every epoch
(PausedEvent / ResumedEvent around a pause), and exactly one terminal event: FinishedEvent, StoppedEvent or
FailedEvent. `Trainer.run()` returns that terminal event too. Arrays are numpy arrays on the CPU, so a GUI
can draw them without importing torch. Importing this module does not import torch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class StartedEvent:
    """The run is set up: what it will do. `start_epoch` > 0 when a checkpoint was resumed."""

    epochs: int
    start_epoch: int
    steps_per_epoch: int
    n_train: int
    n_val: int
    batch_size: int
    task: str
    loss: str
    device: str  # "cpu", "cuda:0", "mps"
    device_name: str  # "NVIDIA H100 80GB HBM3", "CPU (2 threads)"
    mixed_precision: bool
    threads: int
    dataset: str
    num_classes: int | None
    class_names: tuple[str, ...] = ()
    param_count: int = 0
    warnings: tuple[str, ...] = ()  # things worth knowing (rows skipped while loading, Softmax before the loss)
    frozen_count: int = 0  # parameters of frozen layers, not trained (param_count counts the trained ones)


@dataclass
class StepEvent:
    """After one optimiser step. `step` counts from 1 over the whole run; `epoch` counts from 1."""

    step: int
    epoch: int
    loss: float
    lr: float


@dataclass
class EpochEvent:
    """After one epoch. `record` holds: epoch, step, train_loss, lr, time_s, samples_per_s, and
    train_accuracy/val_loss/val_accuracy (classification), val_loss/val_mae/val_r2 (regression, autoencoder) or
    train_bits_per_char/val_loss/val_bits_per_char/val_accuracy (language model); a validation figure is None
    when there is no validation set. `generated`: a language model's sample text after this epoch (the prompt,
    then the generated characters), None for other tasks."""

    record: dict[str, Any]
    # A GAN run's fixed-noise samples after the epoch (float32 [N, *sample shape], meant to be in 0..1); the
    # record holds its figures: d_loss, g_loss, d_real_accuracy, d_fake_accuracy, sample_diversity, warning.
    samples: np.ndarray | None = None
    generated: str | None = None

    @property
    def epoch(self) -> int:
        return self.record["epoch"]


@dataclass
class LayerStats:
    """One layer (node) on a probe step. Activation figures are over the probe batch (eval mode)."""

    node_id: str
    op: str
    shape: tuple[int, ...]  # the layer's output shape for the probe batch (batch first)
    mean: float
    std: float
    min: float
    max: float
    histogram: np.ndarray  # int64 counts, `bins` of them, over all values (an even sample of 8192 when more)
    bin_edges: np.ndarray  # float32, bins + 1
    dead_fraction: float | None = None  # ReLU-like layers: units (features / channels) at 0 for every sample
    grad_norm: float | None = None  # L2 norm of the layer's parameter gradients on this step (None: no params)
    weight_norm: float | None = None  # L2 norm of the layer's parameters


@dataclass
class FeatureMaps:
    """The first 2-D convolution's output for the first probe sample."""

    node_id: str
    maps: np.ndarray  # float32 [C, H, W] (at most 64 channels)
    sample: np.ndarray  # the probe sample itself (float32, its Input shape)


@dataclass
class DecisionBoundary:
    """Class probabilities over a grid covering a 2-D point dataset (x along columns, y along rows)."""

    xs: np.ndarray  # float32 [G]
    ys: np.ndarray  # float32 [G]
    probs: np.ndarray  # float32 [G (y), G (x), num_classes]
    points: np.ndarray  # float32 [n, 2] training points (at most 1000) ...
    labels: np.ndarray  # int64 [n] ... and their classes


@dataclass
class ProbeEvent:
    """Statistics of every layer on a probe step; hooks exist only while a probe runs."""

    step: int
    epoch: int
    layers: dict[str, LayerStats]  # node id -> stats, in execution order
    feature_maps: FeatureMaps | None = None
    decision_boundary: DecisionBoundary | None = None


@dataclass
class PausedEvent:
    step: int
    epoch: int


@dataclass
class ResumedEvent:
    step: int
    epoch: int


@dataclass
class ChangedEvent:
    """An edit made while paused took effect, before step `step + 1`: the settings that changed
    ({dotted key: (old, new)}, e.g. "optimizer.lr") and, when the network changed, the layers with weights that
    kept theirs, started anew, or went away. Sent just before the ResumedEvent."""

    step: int
    epoch: int
    settings: dict[str, tuple[Any, Any]]
    kept: tuple[str, ...] = ()
    fresh: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    network: bool = False
    epochs: int = 0  # the run's epochs and steps per epoch from now on
    steps_per_epoch: int = 0


@dataclass
class FinishedEvent:
    """Every epoch ran (or early stopping ended the run: `stopped_early`, `reason`).

    `best`: {"epoch", "monitor" ("val_loss" or "train_loss"), "value", "record"}; `confusion_matrix`
    (classification with a validation set): int64 [true class, predicted class] of the final model."""

    history: list[dict[str, Any]]
    best: dict[str, Any] | None
    stopped_early: bool = False
    reason: str = ""
    confusion_matrix: np.ndarray | None = None
    status: str = field(default="finished", init=False)

    @property
    def ok(self) -> bool:
        return True


@dataclass
class StoppedEvent:
    """stop() was called; the run ended between two steps. `epoch` / `step`: where it was."""

    history: list[dict[str, Any]]
    best: dict[str, Any] | None
    epoch: int
    step: int
    status: str = field(default="stopped", init=False)

    @property
    def ok(self) -> bool:
        return True


@dataclass
class FailedEvent:
    """The run could not go on. `message` is one line for a person; `node_id` the layer involved, if known.

    `kind`: "nonfinite" (loss became NaN/Inf), "oom" (out of memory), "data" (dataset or shapes do not fit),
    "config" (a training setting), "error" (anything else: `error` holds the exception)."""

    message: str
    node_id: str | None = None
    kind: str = "error"
    hint: str = ""
    history: list[dict[str, Any]] = field(default_factory=list)
    epoch: int = 0
    step: int = 0
    error: BaseException | None = field(default=None, repr=False)
    status: str = field(default="failed", init=False)

    @property
    def ok(self) -> bool:
        return False


TrainingEvent = (StartedEvent | StepEvent | EpochEvent | ProbeEvent | PausedEvent | ResumedEvent | FinishedEvent
                 | StoppedEvent | FailedEvent)
RunResult = FinishedEvent | StoppedEvent | FailedEvent
Listener = Callable[[Any], None]

__all__ = [
    "ChangedEvent",
    "DecisionBoundary",
    "EpochEvent",
    "FailedEvent",
    "FeatureMaps",
    "FinishedEvent",
    "LayerStats",
    "Listener",
    "PausedEvent",
    "ProbeEvent",
    "ResumedEvent",
    "RunResult",
    "StartedEvent",
    "StepEvent",
    "StoppedEvent",
    "TrainingEvent",
]
