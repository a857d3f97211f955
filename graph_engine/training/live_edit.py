"""Changes to a paused run (pause, edit, resume): which settings may change, and how a changed network keeps
the trained weights of its unchanged layers. The Trainer (loop.py) calls these while its thread waits.

    changes = settings_changes(trainer.config, new_config, trainer.epoch)   # {"optimizer.lr": (0.01, 0.001)}
    kept, fresh = carry_weights(old_model, new_model, old_graph, new_graph)
    carry_optimizer_state(old_opt, new_opt, param_pairs(old_model, new_model, kept))
    scheduler = rebuild_schedule(optimizer, config, steps_per_epoch, epochs_done, steps_done, old_scheduler)

Settings that may change mid-run: the optimiser's hyperparameters (not its kind: Adam's moments are not SGD's
momentum), the schedule, epochs (not below those done), batch size, augmentation, gradient clipping, early
stopping and probe_every. The dataset, its split and seed, the task and loss, the device and mixed precision,
and the weights the run started from (`init`) may not: the run would no longer be one run (TrainingConfigError names the field and says to start a new run).

The optimiser's state (Adam's moments, SGD's momentum buffers, its step counts) is kept: a settings change only
writes the new hyperparameters into its param groups. A schedule is rebuilt on a change of the learning rate,
the schedule, epochs or batch size, and fast-forwarded to where the run is (the epochs done, or the steps done
for one-cycle), so it continues as if the new settings had been there from the start; a plateau schedule
keeps its own state (best loss, bad epochs) when it stays a plateau schedule.

A layer keeps its trained weights when its node id, op and params are unchanged and every tensor of its state
has the same shape; every other layer with weights starts from its initialisation (seeded, see loop.py).
"""

from __future__ import annotations

import contextlib
import warnings
from typing import Any

from graph_engine.training.config import TrainingConfig, TrainingConfigError

FIXED = ("dataset", "task", "loss", "val_fraction", "seed", "device", "mixed_precision", "optimizer.name", "init")
REBUILDS_SCHEDULE = ("optimizer.lr", "epochs", "batch_size")  # and any "schedule.*"


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict) and prefix.split(".")[0] in ("", "optimizer", "schedule"):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_flat(item, f"{prefix}{key}" if not prefix else f"{prefix}.{key}"))
        return out
    return {prefix: value}


def settings_changes(old: TrainingConfig, new: TrainingConfig, epochs_done: int) -> dict[str, tuple[Any, Any]]:
    """Dotted setting -> (old, new) for every setting that differs; TrainingConfigError for one that may not
    change during a run, or epochs below `epochs_done` (those trained, counting one that is under way)."""
    before, after = _flat(old.to_dict()), _flat(new.to_dict())
    changes = {k: (before.get(k), after.get(k)) for k in sorted(set(before) | set(after))
               if before.get(k) != after.get(k)}
    for key in changes:
        if key in FIXED or key.split(".")[0] in FIXED:
            raise TrainingConfigError(f"training.{key} cannot change during a run (it is "
                                      f"{_show(changes[key][0])})", f"training.{key}",
                                      "stop this run and start a new one with the new setting")
    if new.epochs < epochs_done:
        raise TrainingConfigError(f"the run has already trained (or started) {epochs_done} epochs, more than "
                                  f"{new.epochs}",
                                  "training.epochs", f"give at least {epochs_done} epochs")
    return changes


def needs_new_schedule(changes: dict[str, Any]) -> bool:
    return any(k in REBUILDS_SCHEDULE or k.startswith("schedule.") for k in changes)


def _show(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def set_optimizer_settings(optimizer: Any, config: TrainingConfig) -> None:
    """The config's hyperparameters but the learning rate (rebuild_schedule sets that) into every param group;
    the optimiser's per-parameter state is kept."""
    opt = config.optimizer
    for group in optimizer.param_groups:
        group["weight_decay"] = opt.weight_decay
        if "momentum" in group:
            group["momentum"] = opt.momentum
        if "nesterov" in group:
            group["nesterov"] = opt.nesterov
        if "betas" in group:
            group["betas"] = tuple(opt.betas)


def rebuild_schedule(optimizer: Any, config: TrainingConfig, steps_per_epoch: int, epochs_done: int,
                     steps_done: int, old: Any = None) -> Any:
    """The configured schedule on `optimizer`, fast-forwarded to the run's position (None without one)."""
    from graph_engine.training.loop import recipe_schedule

    for group in optimizer.param_groups:  # a new scheduler starts from initial_lr
        group["lr"] = config.optimizer.lr
        group.pop("initial_lr", None)
    schedule = recipe_schedule(config)
    if schedule is None:
        return None
    make, settings = schedule
    scheduler = make(optimizer, config.epochs, steps_per_epoch, **settings)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "scheduler.step() before optimizer.step()": replaying, not training
        if config.schedule.name == "plateau":
            if old is not None and type(old) is type(scheduler):
                state = old.state_dict()
                state.update(factor=scheduler.factor, patience=scheduler.patience, min_lrs=scheduler.min_lrs)
                scheduler.load_state_dict(state)
        elif config.schedule.per_batch:
            total = getattr(scheduler, "total_steps", steps_done + 1)
            for _ in range(min(steps_done, total - 1)):
                scheduler.step()
        else:
            for _ in range(epochs_done):
                scheduler.step()
    return scheduler


def carry_weights(old_model: Any, new_model: Any, old_graph: Any, new_graph: Any) -> tuple[list[str], list[str]]:
    """Copy the state of every unchanged layer (same node id, op and params; same tensor shapes) from the old
    model into the new one. Returns (kept, fresh): node ids with weights that kept theirs / start anew."""
    import torch

    old_children = dict(old_model.named_children())
    kept, fresh = [], []
    for name, module in new_model.named_children():
        state = module.state_dict()
        if not state:
            continue
        old_module = old_children.get(name)
        same_node = (name in old_graph.nodes and name in new_graph.nodes
                     and old_graph.node(name).op == new_graph.node(name).op
                     and old_graph.node(name).params == new_graph.node(name).params)
        old_state = old_module.state_dict() if old_module is not None else {}
        if (same_node and old_state.keys() == state.keys()
                and all(old_state[k].shape == state[k].shape for k in state)):
            with torch.no_grad():
                module.load_state_dict({k: v.detach().clone() for k, v in old_state.items()})
            kept.append(name)
        else:
            fresh.append(name)
    return kept, fresh


def param_pairs(old_model: Any, new_model: Any, kept: list[str]) -> list[tuple[Any, Any]]:
    """(old parameter, new parameter) for every parameter of the kept layers."""
    old_children = dict(old_model.named_children())
    new_children = dict(new_model.named_children())
    pairs = []
    for name in kept:
        old_params = dict(old_children[name].named_parameters())
        for key, param in new_children[name].named_parameters():
            if key in old_params:
                pairs.append((old_params[key], param))
    return pairs


def carry_optimizer_state(old: Any, new: Any, pairs: list[tuple[Any, Any]]) -> None:
    """The per-parameter state (moments, momentum buffers, step counts) of the kept parameters, and the param
    groups' current hyperparameters (the learning rate the schedule reached), into the new optimiser."""
    import torch

    optimised = {id(p) for group in new.param_groups for p in group["params"]}  # a layer frozen now has none
    for old_param, new_param in pairs:
        state = old.state.get(old_param)
        if state and id(new_param) in optimised:
            new.state[new_param] = {k: (v.detach().clone() if isinstance(v, torch.Tensor) else v)
                                    for k, v in state.items()}
    source = old.param_groups[0]
    for group in new.param_groups:
        for key, value in source.items():
            if key != "params":
                group[key] = value


@contextlib.contextmanager
def seeded(seed: int):
    """torch's global RNG seeded for building new layers, restored afterwards (the run's own generators and
    the global state the training continues with are untouched)."""
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


__all__ = ["FIXED", "carry_optimizer_state", "carry_weights", "needs_new_schedule", "param_pairs",
           "rebuild_schedule", "seeded", "set_optimizer_settings", "settings_changes"]
