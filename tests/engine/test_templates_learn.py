"""Templates that teach something must learn it: trained with their own defaults, they reach the accuracy the
README promises (issue 11). Slow: each is a full default training run on the CPU."""

import pytest

from graph_engine.templates import load_template
from graph_engine.training import FinishedEvent, Trainer, TrainingConfig


def _best_val_accuracy(name: str, dataset: dict | None = None) -> float:
    project = load_template(name)
    if dataset is not None:
        project.training = {**project.training, "dataset": dataset}
    event = Trainer(project, TrainingConfig.from_project(project), num_threads=1).run()
    assert isinstance(event, FinishedEvent), getattr(event, "message", event)
    return max(record["val_accuracy"] for record in event.history)


@pytest.mark.slow
def test_transformer_classifier_sees_token_order():
    # Chance is 50%: without a positional encoding the model saw a bag of tokens and stayed there.
    assert _best_val_accuracy("transformer_tokens") >= 0.95


@pytest.mark.slow
def test_lenet5_learns_the_procedural_28x28_digits():
    # lenet5 names no dataset while the exported train.py cannot draw stroke_digits; every other setting is its own.
    assert _best_val_accuracy("lenet5", {"name": "stroke_digits"}) >= 0.95
