"""The training settings described once (graph_engine.training.settings_spec): the parser's defaults are the
description's, one checked change at a time (graph_engine.training.settings), and Project.set_training's
event."""

from __future__ import annotations

import dataclasses

import pytest

from graph_engine.catalog.spec import ParamKind
from graph_engine.project import Project
from graph_engine.training.config import TrainingConfig, TrainingConfigError
from graph_engine.training.settings import (
    batch_size_of,
    change_setting,
    change_settings,
    read_setting,
    with_setting,
)
from graph_engine.training.settings_spec import BY_KEY, SCHEDULE_PARAMS, SECTIONS, SETTINGS, default_of


def test_every_setting_is_described_with_a_kind_a_doc_and_a_section():
    assert len(BY_KEY) == len(SETTINGS)  # no key twice
    for s in SETTINGS:
        assert s.section in SECTIONS and s.label and s.param.doc, s.key
        assert s.param.name == s.key.rpartition(".")[2]
        if s.param.kind is ParamKind.CHOICE:
            assert s.default in s.param.choices, s.key
        if s.shown_when is not None:
            assert s.shown_when[0] in BY_KEY and set(s.shown_when[1]) <= set(BY_KEY[s.shown_when[0]].param.choices)


def test_the_parser_fills_in_the_described_defaults():
    config = TrainingConfig.parse(None).to_dict()
    for key in ("epochs", "batch_size", "val_fraction", "seed", "device", "grad_clip", "probe_every",
                "mixed_precision"):
        assert config[key] == default_of(key), key
    assert config["optimizer"]["name"] == default_of("optimizer.name")
    assert config["optimizer"]["lr"] == default_of("optimizer.lr")
    assert config["schedule"] == {"name": default_of("schedule.name")}
    plateau = TrainingConfig.parse({"schedule": "plateau"}).to_dict()["schedule"]
    assert set(plateau) == {"name", *SCHEDULE_PARAMS["plateau"]}
    assert plateau["patience"] == default_of("schedule.patience") and plateau["factor"] == default_of("schedule.factor")
    for key in SETTINGS:  # what an editor shows for an empty section is the described default
        if key.key not in ("task", "loss", "optimizer.lr"):
            assert read_setting(None, key.key) == key.default, key.key


def test_change_setting_checks_the_value_and_the_section():
    assert change_setting(None, "epochs", 5) == {"epochs": 5}
    with pytest.raises(TrainingConfigError) as info:
        change_setting({"epochs": 5}, "epochs", 0)
    assert info.value.field == "training.epochs" and "epochs" in info.value.message
    with pytest.raises(TrainingConfigError):
        change_setting(None, "optimizer.name", "Adagrad")  # not one of the choices
    with pytest.raises(TrainingConfigError) as info:
        change_setting(None, "task", "regression")  # digits has class labels
    assert info.value.field == "training.task"
    with pytest.raises(TrainingConfigError):
        change_setting(None, "no_such_setting", 1)
    # A section with a problem may be edited (that is how it is repaired); a good one never made bad.
    bad = {"task": "regression"}
    assert change_setting(bad, "epochs", 3) == {"task": "regression", "epochs": 3}
    # Two keys that only make sense together are checked as one change.
    both = change_settings(None, {"dataset.name": "moons", "dataset.noise": 0.3})
    assert both == {"dataset": {"name": "moons", "noise": 0.3}}
    assert change_setting(None, "device", "cuda:1") == {"device": "cuda:1"}  # a GPU index is a device too


def test_settings_helpers_keep_the_section_small():
    training = {"optimizer": "SGD", "task": "classification", "loss": "CrossEntropyLoss"}
    assert read_setting(training, "optimizer.lr") == 0.01
    assert read_setting(training, "epochs") == 20
    assert read_setting(None, "dataset.name") == "digits"
    out = with_setting(training, "task", "autoencoder")
    assert out["task"] == "autoencoder" and "loss" not in out  # CrossEntropyLoss does not fit any more
    out = with_setting({"task": "classification"}, "dataset.name", "diabetes")
    assert out == {"dataset": {"name": "diabetes"}}  # the task clashed with a regression dataset
    out = with_setting({"optimizer": {"name": "SGD", "momentum": 0.9}}, "optimizer.name", "Adam")
    assert out == {"optimizer": {"name": "Adam"}}
    assert with_setting({"early_stopping": {"patience": 3}}, "early_stopping.patience", None) == {}


def test_batch_size_of_falls_back_to_the_described_default():
    assert batch_size_of({"batch_size": 16}) == 16
    for bad in (None, {}, {"batch_size": 0}, {"batch_size": True}, {"batch_size": "64"}, {"batch_size": 2.5}):
        assert batch_size_of(bad) == default_of("batch_size")


def test_set_training_replaces_the_section_and_emits_once():
    project = Project()
    seen: list[object] = []
    project.training_changed.sub(lambda: seen.append(project.training))
    section = {"epochs": 3}
    project.set_training(section)
    section["epochs"] = 99  # the project holds its own copy
    assert project.training == {"epochs": 3} and seen == [{"epochs": 3}]
    copy = project.copy()
    assert len(copy.training_changed) == 0 and copy.training == {"epochs": 3}
    event_field = next(f for f in dataclasses.fields(Project) if f.name == "training_changed")
    assert not event_field.compare  # listeners take no part in equality
