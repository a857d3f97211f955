"""Every template with a training section trains for an epoch on its own dataset with finite metrics."""

import math

import pytest

from graph_engine.templates import list_templates, load_template
from graph_engine.training import FinishedEvent, Trainer, TrainingConfig

TRAINABLE = [t.name for t in list_templates() if load_template(t.name).training
             and load_template(t.name).training.get("dataset")]


def test_most_templates_are_trainable():
    assert len(TRAINABLE) >= 9


@pytest.mark.parametrize("name", TRAINABLE)
def test_template_trains_one_epoch(name):
    project = load_template(name)
    config = TrainingConfig.from_project(project).with_overrides(epochs=1)
    event = Trainer(project, config, num_threads=1).run()
    assert isinstance(event, FinishedEvent), getattr(event, "message", event)
    record = event.history[-1]
    assert math.isfinite(record["train_loss"]) and math.isfinite(record["val_loss"])
