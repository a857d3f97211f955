"""Every template with a training section trains for an epoch on its own dataset with finite metrics."""

import math

import pytest

from graph_engine.templates import list_templates, load_template
from graph_engine.training import FinishedEvent, Trainer, TrainingConfig

TRAINABLE = [pytest.param(t.name, marks=pytest.mark.slow) if t.name == "dcgan_digits" else t.name  # 28x28 convs
             for t in list_templates() if load_template(t.name).training and load_template(t.name).training.get("dataset")]


def test_most_templates_are_trainable():
    assert len(TRAINABLE) >= 9


@pytest.mark.parametrize("name", TRAINABLE)
def test_template_trains_one_epoch(name):
    project = load_template(name)
    config = TrainingConfig.from_project(project).with_overrides(epochs=1)
    event = Trainer(project, config, num_threads=1).run()
    assert isinstance(event, FinishedEvent), getattr(event, "message", event)
    record = event.history[-1]
    keys = ("d_loss", "g_loss") if project.training.get("recipe") == "gan" else ("train_loss", "val_loss")
    assert all(math.isfinite(record[key]) for key in keys), record
