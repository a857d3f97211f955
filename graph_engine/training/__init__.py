"""Headless training: a plain loop with events, pause/resume/stop, probes, checkpoints.

    from graph_engine.training import Trainer, TrainingConfig, resume
    result = Trainer(project, listener=on_event, run_dir="runs/a").run()
    result = resume("runs/a")                       # continue after the last completed epoch

Modules: config (TrainingConfig, TrainingConfigError), loop (Trainer, train, resume), events (the event
dataclasses), probes (activation statistics, non-finite diagnosis), checkpoints (the run folder), devices
(device choice and description), metrics (losses, accuracy, MAE, R2), cli_train (`layerloom train`).

Importing this package does not import torch: config, events and cli_train are torch-free, and the names that
need torch (Trainer, resume, describe_devices...) are loaded on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from graph_engine.training.config import TrainingConfig, TrainingConfigError
from graph_engine.training.events import (
    DecisionBoundary,
    EpochEvent,
    FailedEvent,
    FeatureMaps,
    FinishedEvent,
    LayerStats,
    PausedEvent,
    ProbeEvent,
    ResumedEvent,
    StartedEvent,
    StepEvent,
    StoppedEvent,
)

_LAZY = {
    "Trainer": "graph_engine.training.loop",
    "train": "graph_engine.training.loop",
    "resume": "graph_engine.training.loop",
    "seed_everything": "graph_engine.training.loop",
    "TIMING_KEYS": "graph_engine.training.loop",
    "CheckpointError": "graph_engine.training.checkpoints",
    "DeviceInfo": "graph_engine.training.devices",
    "describe_devices": "graph_engine.training.devices",
    "resolve_device": "graph_engine.training.devices",
    "run_train": "graph_engine.training.cli_train",
    "add_train_arguments": "graph_engine.training.cli_train",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "CheckpointError",
    "DecisionBoundary",
    "DeviceInfo",
    "EpochEvent",
    "FailedEvent",
    "FeatureMaps",
    "FinishedEvent",
    "LayerStats",
    "PausedEvent",
    "ProbeEvent",
    "ResumedEvent",
    "StartedEvent",
    "StepEvent",
    "StoppedEvent",
    "TIMING_KEYS",
    "Trainer",
    "TrainingConfig",
    "TrainingConfigError",
    "add_train_arguments",
    "describe_devices",
    "resolve_device",
    "resume",
    "run_train",
    "seed_everything",
    "train",
]
