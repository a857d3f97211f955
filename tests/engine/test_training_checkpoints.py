"""Run folders: checkpoints readable with weights_only=True, weights that load into the exported class, and
resume that ends bitwise equal to an uninterrupted run on CPU."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from graph_engine import generate_code, load_project, parse_project
from graph_engine.training import (
    TIMING_KEYS,
    CheckpointError,
    EpochEvent,
    FinishedEvent,
    StepEvent,
    StoppedEvent,
    Trainer,
    TrainingConfigError,
    resume,
)

TEMPLATES = Path(__file__).resolve().parents[2] / "resources" / "templates"
# Dropout and BatchNorm (global RNG, buffers), augmentation (its own generator), shuffling, Adam state and a
# per-batch one-cycle schedule: everything that must be restored for a bitwise-equal resume.
SETTINGS = {"epochs": 4, "schedule": {"name": "onecycle", "max_lr": 0.005},
            "augment": {"shift": 1, "flip": True, "noise": 0.05}, "early_stopping": {"patience": 10}}


def cnn_project(**training):
    data = json.loads((TEMPLATES / "cnn_digits.layerloom.json").read_text(encoding="utf-8"))
    data["training"] = {**data["training"], **SETTINGS, **training}
    return parse_project(data)


def metrics(history):
    return [{k: v for k, v in r.items() if k not in TIMING_KEYS} for r in history]


def same_tensors(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("full")
    result = Trainer(cnn_project(), run_dir=run_dir).run()
    assert isinstance(result, FinishedEvent), result
    return run_dir, result


def stop_when(predicate):
    holder = {}

    def listener(event):
        if predicate(event):
            holder["trainer"].stop()

    return holder, listener


@pytest.mark.parametrize("where", ["after_epoch_2", "inside_epoch_3"])
def test_interrupted_and_resumed_run_is_bitwise_equal_to_an_uninterrupted_one(uninterrupted, tmp_path, where):
    full_dir, full = uninterrupted
    if where == "after_epoch_2":
        holder, listener = stop_when(lambda e: isinstance(e, EpochEvent) and e.epoch == 2)
    else:
        holder, listener = stop_when(lambda e: isinstance(e, StepEvent) and e.step == 2 * 23 + 7)
    trainer = Trainer(cnn_project(), listener=listener, run_dir=tmp_path)
    holder["trainer"] = trainer
    stopped = trainer.run()
    assert isinstance(stopped, StoppedEvent) and len(stopped.history) == 2
    assert json.loads((tmp_path / "metrics.json").read_text())[-1]["epoch"] == 2

    resumed = resume(tmp_path)
    assert isinstance(resumed, FinishedEvent), resumed
    assert metrics(resumed.history) == metrics(full.history)
    assert resumed.best["epoch"] == full.best["epoch"] and resumed.best["value"] == full.best["value"]
    for name in ("model.safetensors", "last.safetensors", "best.safetensors"):
        assert same_tensors(load_file(tmp_path / name), load_file(full_dir / name)), name
    assert metrics(json.loads((tmp_path / "metrics.json").read_text())) == metrics(full.history)


def test_run_folder_contents(uninterrupted):
    run_dir, result = uninterrupted
    names = {p.name for p in run_dir.iterdir()}
    assert {"project.layerloom.json", "metrics.json", "model.safetensors", "best.safetensors", "last.safetensors",
            "last_state.pt"} <= names
    assert not [n for n in names if n.endswith(".tmp")]
    state = torch.load(run_dir / "last_state.pt", weights_only=True)
    assert state["epoch"] == 4 and state["step"] == 4 * 23 and len(state["history"]) == 4
    assert set(state["rng"]) >= {"torch", "numpy", "python", "generators"}
    assert set(state["rng"]["generators"]) == {"shuffle", "augment"}
    copy = load_project(run_dir / "project.layerloom.json")
    assert copy.training["epochs"] == 4 and copy.training["schedule"]["name"] == "onecycle"
    assert json.loads((run_dir / "metrics.json").read_text()) == json.loads(json.dumps(result.history))


def test_trained_weights_load_strictly_into_the_exported_class(uninterrupted, tmp_path):
    run_dir, result = uninterrupted
    project = load_project(run_dir / "project.layerloom.json")
    source = tmp_path / "exported_model.py"
    source.write_text(generate_code(project), encoding="utf-8")
    spec = importlib.util.spec_from_file_location("exported_model", source)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.create_model()
    model.load_state_dict(load_file(run_dir / "model.safetensors"), strict=True)
    model.eval()
    x = torch.rand(5, 1, 8, 8)
    with torch.no_grad():
        assert model(x).shape == (5, 10)


def test_resume_can_extend_a_finished_run(uninterrupted, tmp_path):
    run_dir, _ = uninterrupted
    data = json.loads((TEMPLATES / "mlp_digits.layerloom.json").read_text(encoding="utf-8"))
    data["training"]["epochs"] = 2
    first = Trainer(parse_project(data), run_dir=tmp_path).run()
    assert isinstance(first, FinishedEvent)
    more = resume(tmp_path, epochs=3)
    assert [r["epoch"] for r in more.history] == [1, 2, 3]
    with pytest.raises(TrainingConfigError):
        resume(tmp_path, epochs=2)  # fewer epochs than already trained
    with pytest.raises(TrainingConfigError):
        resume(run_dir, epochs=6)  # a one-cycle schedule cannot be stretched


def test_resume_refuses_a_folder_without_a_checkpoint(tmp_path):
    with pytest.raises(CheckpointError) as info:
        resume(tmp_path)
    assert "no checkpoint" in str(info.value)
    (tmp_path / "last_state.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError):
        resume(tmp_path)
