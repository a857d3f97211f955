"""TrainingConfig: defaults for missing fields, every bad value a typed error naming training.<key>."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from graph_engine import ProjectError, load_project
from graph_engine.training import TrainingConfig, TrainingConfigError

TEMPLATES = Path(__file__).resolve().parents[2] / "resources" / "templates"


def test_defaults_for_a_missing_training_section():
    cfg = TrainingConfig.parse(None)
    assert cfg.dataset == {"name": "digits"}
    assert cfg.task == "classification" and cfg.loss == "CrossEntropyLoss"
    assert (cfg.optimizer.name, cfg.optimizer.lr) == ("Adam", 0.001)
    assert cfg.schedule.name == "none"
    assert (cfg.epochs, cfg.batch_size, cfg.val_fraction, cfg.seed, cfg.device) == (20, 64, 0.2, 0, "auto")
    assert cfg.grad_clip is None and cfg.early_stopping is None and cfg.augment is None
    assert cfg.probe_every == 50 and cfg.mixed_precision is False  # off unless asked for (CUDA only)


def test_task_and_loss_follow_the_dataset():
    cfg = TrainingConfig.parse({"dataset": {"name": "diabetes"}})
    assert (cfg.task, cfg.loss) == ("regression", "MSELoss")
    cfg = TrainingConfig.parse({"task": "autoencoder"})
    assert cfg.loss == "MSELoss"
    assert TrainingConfig.parse({"optimizer": {"name": "SGD"}}).optimizer.lr == 0.01


def test_every_template_training_section_parses():
    for path in sorted(TEMPLATES.glob("*.layerloom.json")):
        cfg = TrainingConfig.from_project(load_project(path))
        assert cfg.epochs >= 1, path.name


def test_full_config_round_trips_through_to_dict():
    raw = {
        "dataset": {"name": "moons", "n_samples": 300, "noise": 0.2},
        "task": "classification", "loss": "CrossEntropyLoss",
        "optimizer": {"name": "SGD", "lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-4},
        "schedule": {"name": "step", "step_size": 3, "gamma": 0.5},
        "epochs": 7, "batch_size": 16, "val_fraction": 0.25, "seed": 3, "device": "cpu", "grad_clip": 1.0,
        "early_stopping": {"patience": 2, "min_delta": 0.01}, "augment": {"noise": 0.1}, "probe_every": 5,
        "mixed_precision": False,
    }
    cfg = TrainingConfig.parse(raw)
    assert cfg.optimizer.nesterov and cfg.schedule.step_size == 3 and cfg.early_stopping.patience == 2
    assert cfg.augment == {"shift": 0, "flip": False, "noise": 0.1}
    assert TrainingConfig.parse(cfg.to_dict()) == cfg


def test_schedules_and_their_params():
    assert TrainingConfig.parse({"schedule": "cosine"}).schedule.name == "cosine"
    s = TrainingConfig.parse({"schedule": {"name": "onecycle", "max_lr": 0.01}}).schedule
    assert (s.max_lr, s.pct_start, s.per_batch) == (0.01, 0.3, True)
    s = TrainingConfig.parse({"schedule": {"name": "plateau", "patience": 2, "factor": 0.5}}).schedule
    assert (s.patience, s.factor) == (2, 0.5)
    # a param of another schedule is ignored (a GUI keeps it while flipping between schedules)
    assert TrainingConfig.parse({"schedule": {"name": "cosine", "step_size": 4}}).schedule.name == "cosine"


def test_overrides_are_checked():
    cfg = TrainingConfig.parse({"epochs": 30}).with_overrides(epochs=3, device="cpu", seed=None)
    assert (cfg.epochs, cfg.device, cfg.seed) == (3, "cpu", 0)
    with pytest.raises(TrainingConfigError) as info:
        cfg.with_overrides(epochs=0)
    assert info.value.field == "training.epochs"


@pytest.mark.parametrize("training, field, words", [
    ({"epochs": 0}, "training.epochs", "from 1"),
    ({"epochs": "ten"}, "training.epochs", "whole number"),
    ({"epochs": True}, "training.epochs", "whole number"),
    ({"batch_size": -1}, "training.batch_size", "from 1"),
    ({"val_fraction": 1.0}, "training.val_fraction", "below 1"),
    ({"seed": -3}, "training.seed", "from 0"),
    ({"device": "tpu"}, "training.device", "unknown device"),
    ({"task": "clasification"}, "training.task", "classification"),
    ({"loss": "MSE"}, "training.loss", "unknown loss"),
    ({"loss": "MSELoss"}, "training.loss", "classification"),
    ({"task": "regression", "loss": "CrossEntropyLoss", "dataset": {"name": "diabetes"}}, "training.loss",
     "class labels"),
    ({"task": "classification", "dataset": {"name": "diabetes"}}, "training.task", "continuous"),
    ({"task": "regression"}, "training.task", "class labels"),
    ({"optimizer": {"name": "Adamm"}}, "training.optimizer.name", "Adam"),
    ({"optimizer": {"name": "Adam", "lr": 0}}, "training.optimizer.lr", "above 0"),
    ({"optimizer": {"name": "Adam", "lr": float("nan")}}, "training.optimizer.lr", "finite"),
    ({"optimizer": {"name": "Adam", "momentum": 0.9}}, "training.optimizer.momentum", "betas"),
    ({"optimizer": {"name": "SGD", "nesterov": True}}, "training.optimizer.nesterov", "momentum"),
    ({"optimizer": {"name": "Adam", "learning_rate": 0.1}}, "training.optimizer.learning_rate", "known"),
    ({"optimizer": {"name": "Adam", "betas": [0.9]}}, "training.optimizer.betas", "two numbers"),
    ({"schedule": {"name": "exponential"}}, "training.schedule.name", "choose one of"),
    ({"schedule": {"name": "step", "gama": 0.5}}, "training.schedule.gama", "gamma"),
    ({"schedule": {"name": "step", "gamma": 0}}, "training.schedule.gamma", "above 0"),
    ({"schedule": {"name": "onecycle", "pct_start": 1.5}}, "training.schedule.pct_start", "below 1"),
    ({"grad_clip": -1}, "training.grad_clip", "positive"),
    ({"early_stopping": {"patience": 0}}, "training.early_stopping.patience", "from 1"),
    ({"early_stopping": {"patiense": 3}}, "training.early_stopping.patiense", "patience"),
    ({"early_stopping": 5}, "training.early_stopping", "object"),
    ({"augment": {"shfit": 1}}, "training.augment", "shift"),
    ({"probe_every": -1}, "training.probe_every", "from 0"),
    ({"mixed_precision": "yes"}, "training.mixed_precision", "true or false"),
    ({"epoch": 5}, "training.epoch", "epochs"),
    ({"dataset": {"name": "digitz"}}, "training.dataset", "digits"),
    ({"dataset": {"name": "moons", "n_sample": 5}}, "training.dataset", "n_samples"),
    ({"dataset": 7}, "training.dataset", "object"),
])
def test_bad_values_are_typed_errors_with_field_and_hint(training, field, words):
    with pytest.raises(ProjectError) as info:
        TrainingConfig.parse(training)
    err = info.value
    assert err.field == field, (err.field, str(err))
    assert words.lower() in (str(err) + " " + err.hint).lower(), str(err)
    assert err.hint, str(err)


def test_not_an_object():
    with pytest.raises(TrainingConfigError) as info:
        TrainingConfig.parse([1, 2])
    assert info.value.field == "training"


def test_importing_training_config_events_and_cli_does_not_import_torch():
    code = ("import sys; import graph_engine.training, graph_engine.training.cli_train; "
            "from graph_engine.training import TrainingConfig; TrainingConfig.parse(None); "
            "raise SystemExit(1 if 'torch' in sys.modules else 0)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert run.returncode == 0, run.stdout + run.stderr
