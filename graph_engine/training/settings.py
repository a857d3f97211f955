"""Reading and changing one training setting (a dotted key of `settings_spec`) in a project's training section.

    value = read_setting(project.training, "optimizer.lr")       # what an editor shows (defaults filled in)
    new = change_setting(project.training, "optimizer.lr", 0.01) # checked; TrainingConfigError if refused
    project.set_training(new)                                    # emits project.training_changed

`init` (the starting weights, {"weights", "fresh"} or None) is changed as a whole, like any key; it has no
editor of its own in the settings form ("Train from these weights..." sets it).

`change_setting` checks the value against its `Setting`'s Param (kind, range, choices) and the whole new
section with `TrainingConfig.parse`; a section that already had a problem may be edited (that is how a
person repairs it), a good one is never made bad. The section is kept as small as the person wrote it:
"auto" and defaults remove keys where the file can say nothing.
"""

from __future__ import annotations

import copy
from typing import Any

from graph_engine.catalog.spec import REQUIRED
from graph_engine.errors import ProjectError
from graph_engine.params import validate_value
from graph_engine.training.config import TrainingConfig, TrainingConfigError
from graph_engine.training.settings_spec import AUTO, BY_KEY, default_of


def as_dict(value: Any, key: str = "name") -> dict[str, Any]:
    """A section given as an object or a bare name ("Adam") as a dict."""
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, str):
        return {key: value}
    return {}


def effective_training(training: dict[str, Any] | None) -> tuple[dict[str, Any], str]:
    """Every setting with its default filled in (TrainingConfig.to_dict) and "" - or the raw section and
    the reason it does not parse."""
    try:
        return TrainingConfig.parse(training).to_dict(), ""
    except ProjectError as exc:
        return copy.deepcopy(training or {}), error_text(exc)


def check_training(training: dict[str, Any] | None) -> str:
    """Why TrainingConfig refuses the section ("" when it is fine)."""
    try:
        TrainingConfig.parse(training)
    except ProjectError as exc:
        return error_text(exc)
    return ""


def error_text(exc: ProjectError) -> str:
    """An error as a sentence for a person: the message and the hint (the field is where it shows)."""
    return exc.message + (f"; {exc.hint}" if exc.hint else "")


def read_setting(training: dict[str, Any] | None, key: str) -> Any:
    """The value a settings key shows ("optimizer.lr", "dataset.noise", "augment.flip", "task"...)."""
    from graph_engine.data import AUGMENT_PARAMS, DATASETS

    eff, _ = effective_training(training)
    raw = training or {}
    head, _, tail = key.partition(".")
    if key in ("task", "loss"):
        return raw.get(key) or AUTO
    if head == "optimizer":
        opt = as_dict(eff.get("optimizer"))
        name = opt.get("name", default_of("optimizer.name"))
        if tail == "name":
            return name
        if tail == "lr":
            return opt.get("lr", 0.01 if name == "SGD" else default_of("optimizer.lr"))
        return opt.get(tail, default_of(key))
    if head == "schedule":
        sched = as_dict(eff.get("schedule"))
        rsched = as_dict(raw.get("schedule"))
        if tail == "name":
            return sched.get("name", default_of(key))
        if tail == "step_size" and "step_size" not in rsched:
            return None  # derived from the epochs
        if tail in rsched:
            return rsched[tail]
        return default_of(key) if key in BY_KEY else None
    if head == "gan":
        return as_dict(raw.get("gan")).get(tail, default_of(key))
    if head == "early_stopping":
        es = eff.get("early_stopping")
        return es.get("patience") if isinstance(es, dict) else (5 if es is True else None)
    if head == "augment":
        aug = eff.get("augment") or {}
        return aug.get(tail, next(p.default for p in AUGMENT_PARAMS if p.name == tail))
    if head == "dataset":
        ds = as_dict(raw.get("dataset")) or {"name": "digits"}
        if tail == "name":
            return ds.get("name", "digits")
        info = DATASETS.get(ds.get("name", ""))
        default = info.param(tail).default if info is not None and tail in info.param_names else None
        return ds.get(tail, None if default is REQUIRED else default)
    value = eff.get(key, raw.get(key))
    if value is None and key in BY_KEY:
        value = default_of(key)
    return value


def with_setting(training: dict[str, Any] | None, key: str, value: Any) -> dict[str, Any]:
    """A copy of the training section with one key set, unchecked (`change_setting` checks)."""
    from graph_engine.data import AUGMENT_PARAMS, DATASETS

    out = copy.deepcopy(training or {})
    head, _, tail = key.partition(".")
    if key in ("task", "loss"):
        if value in (None, AUTO):
            out.pop(key, None)
        else:
            out[key] = value
        if key == "task" and value not in (None, AUTO):
            loss = out.get("loss")
            if loss and ((value == "classification") != (loss == "CrossEntropyLoss")):
                out.pop("loss")  # the old loss does not fit the new task: back to its default
        return out
    if head == "optimizer":
        opt = as_dict(out.get("optimizer")) or {"name": default_of("optimizer.name")}
        if tail == "name":
            opt["name"] = value
            if value not in ("SGD", "RMSprop"):
                opt.pop("momentum", None)
            if value != "SGD":
                opt.pop("nesterov", None)
            if value not in ("Adam", "AdamW"):
                opt.pop("betas", None)
        else:
            opt[tail] = value
        out["optimizer"] = opt
        return out
    if head == "schedule":
        sched = as_dict(out.get("schedule")) or {"name": default_of("schedule.name")}
        if value is None:
            sched.pop(tail, None)
        else:
            sched[tail] = value
        out["schedule"] = sched
        return out
    if head == "early_stopping":
        if value is None:
            out.pop("early_stopping", None)
        else:
            es = out.get("early_stopping")
            es = dict(es) if isinstance(es, dict) else {}
            es["patience"] = value
            es.pop("enabled", None)
            out["early_stopping"] = es
        return out
    if head == "gan":
        gan = as_dict(out.get("gan"))
        if value is None or value == default_of(key):
            gan.pop(tail, None)
        else:
            gan[tail] = value
        if gan:
            out["gan"] = gan
        else:
            out.pop("gan", None)
        return out
    if head == "augment":
        aug = dict(out.get("augment") or {})
        aug[tail] = value
        defaults = {p.name: p.default for p in AUGMENT_PARAMS}
        aug = {k: v for k, v in aug.items() if v != defaults.get(k)}
        if aug:
            out["augment"] = aug
        else:
            out.pop("augment", None)
        return out
    if head == "dataset":
        ds = as_dict(out.get("dataset")) or {"name": "digits"}
        if tail == "name":
            ds = {"name": value}
            task = out.get("task")
            dataset_task = DATASETS[value].task if value in DATASETS else "auto"
            if task in ("classification", "regression") and dataset_task not in ("auto", task):
                out.pop("task", None)
                out.pop("loss", None)
        elif value is None:
            ds.pop(tail, None)
        else:
            ds[tail] = value
        out["dataset"] = ds
        return out
    if value is None:
        out.pop(key, None)
    else:
        out[key] = value
    return out


def batch_size_of(training: Any) -> int:
    """The section's batch size when it is a valid one, else the default (status bar, `layerloom summary`)."""
    value = training.get("batch_size") if isinstance(training, dict) else None
    param = BY_KEY["batch_size"].param
    if value is not None and validate_value(param, value) is None and not isinstance(value, float):
        return int(value)
    return param.default


def change_setting(training: dict[str, Any] | None, key: str, value: Any) -> dict[str, Any]:
    """The training section with `key` set to `value`, checked. Raises TrainingConfigError (field
    "training.<key>") when the value or the section it makes is refused."""
    return change_settings(training, {key: value})


def change_settings(training: dict[str, Any] | None, changes: dict[str, Any]) -> dict[str, Any]:
    """Several keys at once (a dataset and its file), checked as one change."""
    new = copy.deepcopy(training or {})
    for key, value in changes.items():
        if key in ("task", "loss") and value is None:
            value = AUTO
        described = BY_KEY.get(key)
        if described is None and key.partition(".")[0] not in ("dataset", "augment") and key != "init":
            raise TrainingConfigError(f"there is no training setting {key!r}", f"training.{key}")
        if described is not None and not (key == "device" and isinstance(value, str) and value.startswith("cuda:")):
            problem = validate_value(described.param, value)
            if problem:
                raise TrainingConfigError(problem, f"training.{key}")
        new = with_setting(new, key, value)
    if check_training(training):  # a section with a problem may be edited towards a good one
        return new
    try:
        TrainingConfig.parse(new)
    except TrainingConfigError:
        raise
    except ProjectError as exc:  # a dataset param: DatasetError
        raise TrainingConfigError(exc.message, getattr(exc, "field", None) or "training.dataset",
                                  getattr(exc, "hint", "")) from None
    return new


__all__ = ["as_dict", "batch_size_of", "change_setting", "change_settings", "check_training", "error_text", "effective_training", "read_setting", "with_setting"]
