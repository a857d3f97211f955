"""Pause, edit, resume in the engine (graph_engine/training/live_edit.py and Trainer.pause_at / Trainer.edit):
a learning-rate change at a known step keeps the optimiser's state and is reproducible bitwise; a changed
layer starts anew while every unchanged layer keeps its trained weights bitwise; the batch size, schedule and
epochs change mid-run; what cannot change is refused by name; the edits are recorded in the run folder and a
run edited and stopped resumes from its checkpoint with the network it was training."""

from __future__ import annotations

import json
import math

import pytest
import torch

from graph_engine.errors import ProjectError
from graph_engine.templates import load_template
from graph_engine.training import checkpoints as ck
from graph_engine.training.config import TrainingConfigError
from graph_engine.training.events import ChangedEvent, PausedEvent, StepEvent
from graph_engine.training.loop import Trainer

EDIT_STEP = 30  # moons: 25 steps an epoch at batch size 32, so this is mid-epoch 2


def moons(epochs: int = 3, **training):
    project = load_template("moons_mlp")
    project.training = {**project.training, "dataset": {"name": "moons", "n_samples": 1000}, "epochs": epochs,
                        **training}
    return project


def edited_run(project, step=EDIT_STEP, training=None, network=None, run_dir=None, stop_after_edit=False):
    """A headless run that pauses after `step` steps, makes the edit and resumes: (trainer, result, events)."""
    trainer = Trainer(project, num_threads=1, probes=False, run_dir=run_dir)
    events = []
    seen = {}

    def listen(event):
        events.append(event)
        if isinstance(event, PausedEvent):
            seen["weights"] = {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}
            seen["adam_steps"] = [float(s["step"]) for s in trainer.optimizer.state.values()]
            trainer.edit(training=training, project=network)
            trainer.resume()
        elif isinstance(event, ChangedEvent):
            seen["after"] = {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}
            seen["adam_after"] = [float(s["step"]) for s in trainer.optimizer.state.values()]
            if stop_after_edit:
                trainer.stop()

    trainer.add_listener(listen)
    trainer.pause_at(step)
    result = trainer.run()
    trainer.seen = seen
    return trainer, result, events


def lr_changed(project, lr=0.002):
    return {**project.training, "optimizer": {**project.training["optimizer"], "lr": lr}}


def test_a_learning_rate_change_keeps_the_optimiser_state_and_repeats_bitwise():
    project = moons()
    a, result_a, events = edited_run(project, training=lr_changed(project))
    assert result_a.status == "finished"
    [changed] = [e for e in events if isinstance(e, ChangedEvent)]
    assert changed.step == EDIT_STEP and changed.epoch == 2 and not changed.network
    assert changed.settings == {"optimizer.lr": (0.01, 0.002)}
    steps = [e for e in events if isinstance(e, StepEvent)]
    assert {e.lr for e in steps[:EDIT_STEP]} == {0.01} and {e.lr for e in steps[EDIT_STEP:]} == {0.002}
    # Adam's moments and step counts carried on: nothing was reset by the edit.
    assert a.seen["adam_steps"] == a.seen["adam_after"] == [float(EDIT_STEP)] * len(a.seen["adam_steps"])
    assert a.changes == [{"step": EDIT_STEP, "epoch": 2, "settings": {"optimizer.lr": [0.01, 0.002]}}]

    b, _, _ = edited_run(moons(), training=lr_changed(project))
    for key, value in a.model.state_dict().items():
        assert torch.equal(value, b.model.state_dict()[key]), key
    plain = Trainer(moons(), num_threads=1, probes=False)
    plain.run()
    assert not torch.equal(plain.model.state_dict()["fc1.weight"], a.model.state_dict()["fc1.weight"])


def test_editing_a_layer_keeps_every_unchanged_layers_weights_bitwise(tmp_path):
    project = moons()
    wider = project.copy()
    wider.graph.node("fc2").params["out_features"] = 24
    trainer, result, events = edited_run(project, network=wider, run_dir=tmp_path / "run")
    assert result.status == "finished"
    [changed] = [e for e in events if isinstance(e, ChangedEvent)]
    assert changed.network and changed.kept == ("fc1",) and changed.fresh == ("fc2", "fc3")
    before, after = trainer.seen["weights"], trainer.seen["after"]
    for key in ("fc1.weight", "fc1.bias"):
        assert torch.equal(before[key], after[key]), key
    assert after["fc2.weight"].shape == (24, 16) and after["fc3.weight"].shape == (2, 24)
    assert trainer.model.state_dict()["fc2.weight"].shape == (24, 16)
    # The run folder holds the network trained now and the record of the edit.
    snapshot = json.loads((tmp_path / "run" / ck.PROJECT_FILE).read_text())
    assert next(n for n in snapshot["graph"]["nodes"] if n["id"] == "fc2")["params"]["out_features"] == 24
    [record] = json.loads((tmp_path / "run" / ck.CHANGES_FILE).read_text())
    assert record["network"] == {"kept": ["fc1"], "fresh": ["fc2", "fc3"], "removed": []}
    # Two runs making the same edit at the same step end equal (the new layers' initialisation is seeded).
    again, _, _ = edited_run(moons(), network=wider)
    for key, value in trainer.model.state_dict().items():
        assert torch.equal(value, again.model.state_dict()[key]), key


def test_batch_size_schedule_and_epochs_change_mid_run():
    project = moons(epochs=3)
    training = {**project.training, "batch_size": 64, "epochs": 4, "schedule": {"name": "cosine"}}
    trainer, result, events = edited_run(project, training=training)
    assert result.status == "finished" and len(result.history) == 4
    [changed] = [e for e in events if isinstance(e, ChangedEvent)]
    assert changed.settings["batch_size"] == (32, 64) and changed.settings["epochs"] == (3, 4)
    assert changed.settings["schedule.name"] == ("none", "cosine")
    # The cosine schedule runs over the 4 epochs as if it had been set from the start.
    cosine = [0.01 * (1 + math.cos(math.pi * e / 4)) / 2 for e in range(4)]
    assert [r["lr"] for r in result.history] == pytest.approx([0.01, *cosine[1:]])
    # 800 training samples: epoch 2 ends its last 640 at 64 a batch, then 13 steps an epoch.
    assert trainer.steps_per_epoch == 13
    assert [r["step"] for r in result.history] == [25, 40, 53, 66]


@pytest.mark.parametrize(("training", "field"), [
    ({"dataset": {"name": "circles"}}, "training.dataset"),
    ({"seed": 5}, "training.seed"),
    ({"optimizer": {"name": "SGD", "lr": 0.01}}, "training.optimizer.name"),
    ({"epochs": 1}, "training.epochs"),
])
def test_what_cannot_change_during_a_run_is_refused_by_name(training, field):
    project = moons()
    trainer = Trainer(project, num_threads=1, probes=False)
    refused = []

    def listen(event):
        if isinstance(event, PausedEvent):
            with pytest.raises(TrainingConfigError) as info:
                trainer.edit(training={**project.training, **training})
            refused.append(info.value)
            trainer.stop()

    trainer.add_listener(listen)
    trainer.pause_at(EDIT_STEP)
    assert trainer.run().status == "stopped"
    assert refused and refused[0].field == field


def test_an_edit_needs_a_pause_and_a_network_that_still_fits_the_data():
    project = moons()
    trainer = Trainer(project, num_threads=1, probes=False)
    with pytest.raises(TrainingConfigError, match="only while it is paused"):
        trainer.edit(training=project.training)
    other_input = project.copy()
    other_input.graph.node("point").params["shape"] = [3]
    other_output = project.copy()
    other_output.graph.node("fc3").params["out_features"] = 3
    problems = []

    def listen(event):
        if isinstance(event, PausedEvent):
            for network in (other_input, other_output):
                with pytest.raises(ProjectError) as info:
                    trainer.edit(project=network)
                problems.append(str(info.value))
            trainer.stop()

    trainer.add_listener(listen)
    trainer.pause_at(5)
    trainer.run()
    assert "the Input 'point' changed from [2] to [3]" in problems[0]
    assert "output changed from [2] to [3]" in problems[1]


def test_a_run_edited_then_stopped_resumes_with_the_network_it_was_training(tmp_path):
    project = moons(epochs=4)
    wider = project.copy()
    wider.graph.node("fc2").params["out_features"] = 24
    run = tmp_path / "run"
    # Edit at the start of epoch 3 (step 50), stop at the next pause: the checkpoint after epoch 3 has the new net.
    trainer = Trainer(project, num_threads=1, probes=False, run_dir=run)

    def listen(event):
        if isinstance(event, PausedEvent) and event.step == 50:
            trainer.edit(project=wider)
            trainer.pause_at(75)
            trainer.resume()
        elif isinstance(event, PausedEvent):
            trainer.stop()

    trainer.add_listener(listen)
    trainer.pause_at(50)
    assert trainer.run().status == "stopped"
    resumed = Trainer.from_checkpoint(run, num_threads=1, probes=False, project=project)  # the old net is ignored
    result = resumed.run()
    assert result.status == "finished" and len(result.history) == 4
    assert resumed.model.state_dict()["fc2.weight"].shape == (24, 16)
    assert [c["step"] for c in resumed.changes] == [50]


def test_freezing_a_layer_while_paused_stops_its_training(tmp_path):
    project = moons()
    frozen = project.copy()
    frozen.graph.node("fc1").trainable = False
    trainer, result, events = edited_run(project, network=frozen, run_dir=tmp_path / "run")
    assert result.status == "finished"
    [changed] = [e for e in events if isinstance(e, ChangedEvent)]
    assert changed.kept == ("fc1", "fc2", "fc3") and not changed.fresh  # freezing keeps every weight
    at_edit = trainer.seen["after"]
    final = trainer.model.state_dict()
    assert torch.equal(final["fc1.weight"], at_edit["fc1.weight"])  # frozen since the edit
    assert not torch.equal(final["fc2.weight"], at_edit["fc2.weight"])  # the rest trained on
    assert trainer.frozen_count == 2 * 16 + 16
    assert (tmp_path / "run" / ck.LAST_STATE).exists()  # the checkpoint holds the optimiser of the new net


def test_augmentation_changes_while_paused_and_one_the_data_cannot_take_is_refused():
    project = moons()
    refused = []
    trainer = Trainer(project, num_threads=1, probes=False)

    def listen(event):
        if isinstance(event, PausedEvent):
            with pytest.raises(ProjectError) as info:  # shift needs images; moons is 2-D points
                trainer.edit(training={**project.training, "augment": {"shift": 2}})
            refused.append(info.value)
            trainer.edit(training={**project.training, "augment": {"noise": 0.05}})
            trainer.resume()

    trainer.add_listener(listen)
    trainer.pause_at(EDIT_STEP)
    assert trainer.run().status == "finished"
    assert refused[0].field == "training.augment" and "shift and flip need an image dataset" in str(refused[0])
    [change] = trainer.changes
    assert change["settings"]["augment"][1]["noise"] == 0.05 and trainer.config.augment_active
