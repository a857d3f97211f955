"""The headless training loop (no Qt): `Trainer(project).run()`.

    trainer = Trainer(project, listener=print, run_dir="runs/a")
    result = trainer.run()            # FinishedEvent | StoppedEvent | FailedEvent (also sent to listeners)
    trainer.pause(); trainer.resume(); trainer.stop()   # from any thread; checked between steps
    trainer.pause_at(120)                                # pause after exactly 120 steps (deterministic)
    trainer.edit(training={...}, project=edited)         # while paused; applied before the next step

What it does, in order:
- settings: `TrainingConfig.from_project(project)` unless a config is given; a bad value is a
  TrainingConfigError raised by the constructor;
- model: the generated code (`compile_project(project).create_model()`, exactly what `build_model` returns),
  built after seeding torch, numpy and python with `seed`, so the trained weights load into the exported class
  with strict=True;
- data: `load_dataset(training.dataset, the Input's shape and dtype)`, autoencoder targets when the task is
  autoencoder, a seeded split, then the tensors are moved to the device once. Batches are index slices of
  those tensors with a permutation from a seeded torch.Generator (a DataLoader over in-memory tensors costs
  1.32x; budgets: benchmarks/README.md). A final batch of a single sample is skipped (BatchNorm cannot train on it);
- device: `auto` = cuda, then mps, then cpu; float16 autocast with a GradScaler on CUDA only; intra-op threads
  set to `sensible_threads()` (or `num_threads`) for the run and restored afterwards;
- each step: zero_grad, forward, loss, a finiteness check of the loss, backward, optional gradient clipping,
  optimiser step, per-batch schedule (one-cycle); pause/stop flags are checked before every step;
- each epoch: validation metrics, the epoch schedules (step, cosine, plateau), best/early-stopping tracking,
  checkpoints and metrics.json in `run_dir` (see checkpoints.py), then an EpochEvent.

Failures end the run with a FailedEvent, never an exception, for everything a person can cause: a loss that
becomes NaN/Inf (the message names the first layer whose output went non-finite and suggests a lower learning
rate), out of memory (suggests half the batch size), a dataset that does not fit the network, an invalid
graph. On CPU the same seed gives the same metrics and weights, and a run stopped after k epochs and resumed
from its run folder ends bitwise equal to an uninterrupted one.

Pause, edit, resume: while paused, `edit()` takes new settings and/or a new network (checked at once: a
TrainingConfigError or InvalidGraphError names what cannot change). The trainer's thread applies the edit
when it resumes, before the next step, keeping the optimiser's state and the weights of every unchanged layer
(live_edit.py says exactly what may change and how); layers that are new or changed are initialised with
torch seeded from `seed + global_step`, so the same edit at the same step gives the same run, bitwise. Each
edit is a ChangedEvent and a record in `trainer.changes`, kept in the checkpoint (with the network the
checkpoint's weights belong to) and in the run folder's changes.json.
"""

from __future__ import annotations

import contextlib
import json
import linecache
import math
import os
import re
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from graph_engine.codegen import compile_project
from graph_engine.data import DatasetError, autoencoder_targets, load_dataset, split
from graph_engine.data.image_folder import is_lazy
from graph_engine.data.output_fit import output_mismatch
from graph_engine.errors import InvalidGraphError, ProjectError
from graph_engine.project import Project
from graph_engine.project_io import load_project, parse_project, project_to_json, save_project
from graph_engine.training import checkpoints as ck
from graph_engine.training import live_edit, recipe
from graph_engine.training.config import TrainingConfig, TrainingConfigError, check_task_and_loss
from graph_engine.training.devices import device_name, resolve_device, sensible_threads
from graph_engine.training.events import (
    ChangedEvent,
    EpochEvent,
    FailedEvent,
    FinishedEvent,
    PausedEvent,
    ResumedEvent,
    RunResult,
    StartedEvent,
    StepEvent,
    StoppedEvent,
)
from graph_engine.training.freezing import frozen_paths
from graph_engine.training.init_weights import apply_init, resolve_path
from graph_engine.training.metrics import (
    confusion_matrix,
    evaluate,
    finite_or_none,
    make_loss,
    total_sum_of_squares,
)
from graph_engine.training.probes import ProbeRunner, find_first_nonfinite, nonfinite_parameters
from graph_engine.training.recipe import seed_everything
from graph_engine.validation import check

SAMPLE_PROMPT = 16  # a language model's sample after each epoch: prompt characters, new ones, temperature
SAMPLE_LENGTH = 240
SAMPLE_TEMPERATURE = 0.8
PROBE_BATCH = 64
EVAL_CHUNK = 1024
TIMING_KEYS = ("time_s", "samples_per_s")
KEEP_LOGITS_MAX = 1 << 22  # logits kept per epoch for the train accuracy (elements; 16 MiB in float32)
DIVERGENCE_FACTOR = 1e8  # a loss this many times the first step's loss means training blew up ...
DIVERGENCE_FLOOR = 1e4  # ... when it is also above this  # the only record keys that differ between identical runs


class _NonFiniteLoss(Exception):
    def __init__(self, x: torch.Tensor, value: float):
        super().__init__("non-finite loss")
        self.x = x
        self.value = value


class _ListenerError(Exception):
    """A listener raised: re-raised as itself by run(), never reported as a failed run."""


def _listeners(listener: Any, callbacks: Iterable[Callable[[Any], None]]) -> list[Callable[[Any], None]]:
    out: list[Callable[[Any], None]] = []
    if listener is not None:
        out.extend(listener if isinstance(listener, list | tuple) else [listener])
    out.extend(callbacks)
    return out


class Trainer:
    """One training run of a project. See the module docstring; `run()` may be called once.

    `Trainer(project)` of a project whose training recipe is gan is a GanTrainer (gan_loop.py), so every
    caller (the app's worker, `layerloom train`) trains a GAN the same way it trains a classifier."""

    def __new__(cls, project: Any = None, config: Any = None, *args: Any, **kwargs: Any) -> Trainer:
        if cls is Trainer and _recipe_of(project, config) == "gan":
            from graph_engine.training.gan_loop import GanTrainer

            return super().__new__(GanTrainer)
        return super().__new__(cls)

    def __init__(self, project: Project | str | os.PathLike, config: TrainingConfig | Mapping | None = None,
                 listener: Callable[[Any], None] | list | None = None, *,
                 callbacks: Iterable[Callable[[Any], None]] = (), run_dir: str | os.PathLike | None = None,
                 base_dir: str | os.PathLike | None = None, num_threads: int | None = None,
                 probes: bool | None = None):
        if isinstance(project, str | os.PathLike):
            path = Path(project)
            project = load_project(path)
            base_dir = base_dir if base_dir is not None else path.resolve().parent
        self.project: Project = project.copy()
        if config is None:
            config = TrainingConfig.from_project(self.project)
        elif callable(config):
            raise TypeError("Trainer(project, config, listener): the second argument is the config; "
                            "pass a listener as listener=...")
        elif not isinstance(config, TrainingConfig):
            config = TrainingConfig.parse(config)
        self.config: TrainingConfig = config
        self.listeners = _listeners(listener, callbacks)
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.base_dir = Path(base_dir).resolve() if base_dir is not None else None
        self.num_threads = num_threads
        self.probes = probes  # None: probe when someone listens (and probe_every > 0)
        self._stop = threading.Event()
        self._unpaused = threading.Event()
        self._unpaused.set()
        self._running = threading.Event()
        self._ran = False
        self._prepared = False
        self._resume_state: dict[str, Any] | None = None
        self._paused_s = 0.0
        self._pause_at: int | None = None
        self._edit_lock = threading.Lock()
        self._pending_edit: dict[str, Any] | None = None
        self._in_epoch = False  # paused inside an epoch (not between two): it must be finished
        self._edited = False  # an edit was applied during the pause just ended: the epoch re-reads its settings
        self.changes: list[dict[str, Any]] = []  # one record per applied edit (see ChangedEvent)
        # Filled by prepare():
        self.model: torch.nn.Module | None = None
        self.compiled = None
        self.device: torch.device | None = None
        self.task: str = ""
        self.loss_name: str = ""
        self.dataset = None
        self.train_set = None
        self.val_set = None
        self.node_ops: dict[str, str] = {}
        self.input_node = ""
        self.output_node = ""
        self.optimizer: torch.optim.Optimizer | None = None
        self.scheduler: Any = None
        self.scaler: Any = None
        self.history: list[dict[str, Any]] = []
        self.best: dict[str, Any] | None = None
        self.best_weights: dict[str, torch.Tensor] | None = None
        self.epoch = 0  # completed epochs
        self.global_step = 0
        self._probed_at = -1  # the step of the last probe
        self._es_best = math.inf
        self._es_bad = 0
        self._first_loss: float | None = None
        self._diverge_at = -math.inf  # the first step sets it (see _set_first_loss)
        self._init_norms: dict[str, float] = {}
        self.warnings: list[str] = []

    # ---- control (thread-safe) -----------------------------------------------------------------------

    def pause(self) -> None:
        """Pause before the next step (the thread running run() waits)."""
        self._unpaused.clear()

    def resume(self) -> None:
        """Continue after pause()."""
        self._unpaused.set()

    def stop(self) -> None:
        """End the run before the next step (a paused run ends too). run() returns a StoppedEvent."""
        self._stop.set()
        self._unpaused.set()

    def pause_at(self, step: int | None) -> None:
        """Pause once `step` optimiser steps have been taken in all (before the next one): a pause at a known
        point, whatever the thread timing (None cancels it)."""
        self._pause_at = None if step is None else int(step)

    def edit(self, training: Mapping[str, Any] | TrainingConfig | None = None,
             project: Project | None = None) -> dict[str, Any]:
        """While paused: new training settings and/or a new network, applied before the next step.

        Checked now (raises TrainingConfigError / InvalidGraphError / DatasetError naming the field or node);
        returns {"settings": {dotted key: (old, new)}, "network": bool}. Another edit in the same pause replaces
        this one. `probe_every` is not an edit (the app spaces probes itself) and keeps the run's value."""
        if not self._prepared or not self.paused or not self.running:
            raise TrainingConfigError("a run can be edited only while it is paused", "training",
                                      "pause the run first")
        if training is None:
            config = self.config
        else:
            config = training if isinstance(training, TrainingConfig) else TrainingConfig.parse(training)
            config = config.replace(probe_every=self.config.probe_every)
        settings = live_edit.settings_changes(self.config, config, self.epoch + (1 if self._in_epoch else 0))
        self._check_augment(config, self.dataset)
        network = None
        if project is not None:
            project = project.copy()
            network = self._check_network(project)
        with self._edit_lock:
            self._pending_edit = {"config": config, "settings": settings, "project": project, "network": network}
        return {"settings": settings, "network": project is not None}

    @property
    def paused(self) -> bool:
        return not self._unpaused.is_set()

    @property
    def running(self) -> bool:
        return self._running.is_set()

    def add_listener(self, listener: Callable[[Any], None]) -> None:
        self.listeners.append(listener)

    # ---- resume ----------------------------------------------------------------------------------------

    @classmethod
    def from_checkpoint(cls, run_dir: str | os.PathLike, listener: Any = None, *, epochs: int | None = None,
                        device: str | None = None, project: Project | None = None,
                        callbacks: Iterable[Callable[[Any], None]] = (),
                        num_threads: int | None = None, probes: bool | None = None) -> Trainer:
        """A Trainer that continues the run saved in `run_dir` after its last completed epoch.

        The project is `run_dir/project.layerloom.json` unless given; the settings are the checkpoint's
        (`epochs` may extend the run, `device` may move it)."""
        run_dir = Path(run_dir)
        state = ck.load_state(run_dir / ck.LAST_STATE)
        if state.get("project"):  # edited during the run: the network these weights belong to
            project = parse_project(json.loads(state["project"]))
        elif project is None:
            project = load_project(run_dir / ck.PROJECT_FILE)
        config = TrainingConfig.parse(state["config"]).with_overrides(epochs=epochs, device=device)
        done = int(state["epoch"])
        if config.epochs < done:
            raise TrainingConfigError(f"the run in {run_dir} already trained {done} epochs, more than {config.epochs}",
                                      "training.epochs", f"give at least {done} epochs")
        if config.schedule.per_batch and config.epochs != int(state["config"]["epochs"]):
            raise TrainingConfigError("a one-cycle schedule cannot be stretched to another number of epochs",
                                      "training.epochs", f"resume with {state['config']['epochs']} epochs")
        base_dir = state.get("base_dir")
        trainer = cls(project, config, listener, callbacks=callbacks, run_dir=run_dir, base_dir=base_dir,
                      num_threads=num_threads, probes=probes)
        trainer._resume_state = state
        return trainer

    # ---- setup -----------------------------------------------------------------------------------------

    def prepare(self) -> None:
        """Load the data, build the model and the optimiser (run() calls this; calling it first lets a caller
        look at or instrument `model`). Raises ProjectError subclasses for user errors."""
        if self._prepared:
            return
        cfg = self.config
        device = resolve_device(cfg.device)
        result = check(self.project)
        if not result.ok:
            first = result.errors[0]
            raise InvalidGraphError(f"the network has {len(result.errors)} error(s); first: {first}", result.errors)
        graph = self.project.graph
        self.input_node, self.output_node = _io_nodes(self.project, result)
        in_type = result.nodes[self.input_node].outputs[0]
        out_type = result.nodes[self.output_node].inputs[0]
        self.node_ops = {n: graph.node(n).op for n in graph.nodes}
        self.out_shape = tuple(int(d) for d in out_type.shape)

        dataset = load_dataset(cfg.dataset, in_type.shape, input_dtype=in_type.dtype, base_dir=self.base_dir)
        task = cfg.task or dataset.task
        self.loss_name = check_task_and_loss(task, cfg.loss)
        if task == "autoencoder":
            dataset = autoencoder_targets(dataset)
        elif task != dataset.task:
            raise TrainingConfigError(f"dataset {dataset.name!r} is for {dataset.task}, but the task is {task}",
                                      "training.task", f"set task to {dataset.task} or choose another dataset")
        self.task = task
        _check_finite(dataset)
        self._check_output(dataset, tuple(out_type.shape))
        self._check_augment(cfg, dataset)
        train_set, val_set = split(dataset, cfg.val_fraction, cfg.seed)
        if len(train_set) == 0:
            raise DatasetError(f"dataset {dataset.name!r} has no training samples", "use a larger dataset")
        self.dataset, self.train_set, self.val_set = dataset, train_set, val_set
        self.warnings = list(dataset.warnings)
        last = [e.src for e in graph.in_edges(self.output_node)]
        if task == "classification" and last and graph.node(last[0]).op in ("Softmax", "LogSoftmax"):
            self.warnings.append(f"{last[0]!r} applies {graph.node(last[0]).op} before CrossEntropyLoss, which "
                                 "expects raw scores (logits); remove it for faster, more stable training")

        seed_everything(cfg.seed)
        self.compiled = compile_project(self.project, result)
        try:
            model = self.compiled.create_model().to(device)
            self.X_train = _on_device(train_set.X, device)
            self.y_train = torch.from_numpy(np.ascontiguousarray(train_set.y)).to(device)
            self.X_val = _on_device(val_set.X, device)
            self.y_val = torch.from_numpy(np.ascontiguousarray(val_set.y)).to(device)
        except torch.OutOfMemoryError:
            raise TrainingConfigError(f"the model and the dataset do not fit in the memory of {device}",
                                      "training.device", "use a smaller dataset or model, or another device") from None
        self.model = model
        self.device = device
        self._transfer(model)
        self._init_norms = _weight_norms(model, self.node_ops)
        self.val_sst = total_sum_of_squares(self.y_val) if task in ("regression", "autoencoder") else None
        self.loss_fn = make_loss(self.loss_name, task)
        if task in ("regression", "autoencoder") and tuple(self.y_train.shape[1:]) != self.out_shape:
            self.loss_fn = recipe.reshaped_loss(self.loss_fn)
        self.params = [p for p in model.parameters() if p.requires_grad]
        if not self.params:
            raise TrainingConfigError("the network has no trainable parameters", "training",
                                      "unfreeze a layer (trainable)" if self.frozen_count else
                                      "add a layer with weights, such as Linear or Conv2d")
        make_optimizer, settings = recipe_optimizer(cfg)
        self.optimizer = make_optimizer(self.params, **settings)
        self.steps_per_epoch = recipe.steps_per_epoch(len(train_set), cfg.batch_size)
        schedule = recipe_schedule(cfg)
        self.scheduler = None
        if schedule is not None:
            make_scheduler, settings = schedule
            self.scheduler = make_scheduler(self.optimizer, cfg.epochs, self.steps_per_epoch, **settings)
        self.use_amp = device.type == "cuda" and cfg.mixed_precision
        self.scaler = torch.amp.GradScaler("cuda") if self.use_amp else None
        self._shuffle_gen = torch.Generator(device="cpu")
        self._shuffle_gen.manual_seed(cfg.seed)
        self._aug_gen = torch.Generator(device=device if device.type == "cuda" else "cpu")
        self._aug_gen.manual_seed(cfg.seed + 1)
        probe_source = self.X_val if len(self.X_val) else self.X_train
        self.probe_x = probe_source[:PROBE_BATCH]
        boundary = (dataset.kind == "points2d" and task == "classification" and tuple(in_type.shape) == (2,))
        self._probe = None
        wanted = bool(self.listeners) if self.probes is None else self.probes
        self._probe_boundary = boundary
        if wanted and cfg.probe_every > 0:
            self._probe = self._make_probe(model)
        if self._resume_state is not None:
            self._apply_state(self._resume_state)
        self._prepared = True

    def _transfer(self, model: torch.nn.Module) -> None:
        """Transfer learning: start from `training.init`'s weights (not when resuming: the checkpoint holds the
        weights), then freeze the frozen nodes (freezing.py)."""
        self.init_report = None
        if self.config.init is not None and self._resume_state is None:
            self.init_report = apply_init(model, self.config.init, self.base_dir, self.node_ops)
            self.warnings.append(self.init_report.sentence())
        self.fixed_norms = recipe.freeze(model, frozen_paths(self.project))
        self.frozen_count = sum(p.numel() for p in model.parameters() if not p.requires_grad)

    def _make_probe(self, model: torch.nn.Module) -> ProbeRunner:
        boundary = self._probe_boundary
        return ProbeRunner(model, self.node_ops, self.probe_x,
                           boundary_points=self.X_train if boundary else None,
                           boundary_labels=self.y_train if boundary else None,
                           autocast=self._autocast if self.use_amp else None)

    @staticmethod
    def _check_augment(cfg: TrainingConfig, dataset: Any) -> None:
        if cfg.augment_active:
            if dataset.input_dtype != "float32":
                raise DatasetError("augmentation works on float images, not on token ids", "remove augment",
                                   field="training.augment")
            if (cfg.augment["shift"] or cfg.augment["flip"]) and dataset.image_shape is None:
                raise DatasetError(f"shift and flip need an image dataset; {dataset.name!r} is {dataset.kind} data",
                                   "use noise only, or an image dataset", field="training.augment")

    def _check_network(self, project: Project) -> tuple[Any, Any]:
        """An edited network, checked against the run's data: (CheckResult, compiled code)."""
        result = check(project)
        if not result.ok:
            raise InvalidGraphError(f"the network has {len(result.errors)} error(s); first: {result.errors[0]}",
                                    result.errors)
        input_node, output_node = _io_nodes(project, result)
        in_type = result.nodes[input_node].outputs[0]
        old = check(self.project).nodes[self.input_node].outputs[0]
        if tuple(in_type.shape) != tuple(old.shape) or in_type.dtype != old.dtype:
            raise TrainingConfigError(f"the Input {input_node!r} changed from {_fmt(tuple(old.shape))} to "
                                      f"{_fmt(tuple(in_type.shape))}; the run's data has the old shape",
                                      "training", "keep the Input as it was, or start a new run")
        out_shape = tuple(int(d) for d in result.nodes[output_node].inputs[0].shape)
        if out_shape != self.out_shape:
            raise TrainingConfigError(f"the network's output changed from {_fmt(self.out_shape)} to "
                                      f"{_fmt(out_shape)}; it must still fit the run's targets", "training",
                                      "keep the last layer's output size, or start a new run")
        if result.total_params == 0:
            raise TrainingConfigError("the network has no trainable parameters", "training",
                                      "add a layer with weights, such as Linear or Conv2d")
        return result, compile_project(project, result)

    def _check_output(self, dataset: Any, out_shape: tuple[int, ...]) -> None:
        graph = self.project.graph
        feeders = [e.src for e in graph.in_edges(self.output_node)]
        layer = feeders[0] if feeders else self.output_node
        op = graph.node(layer).op
        classes = dataset.num_classes or (int(dataset.y.max()) + 1 if len(dataset.y) else 0)
        target = dataset.target_shape
        problem = output_mismatch(self.task, out_shape, classes, target, f"dataset {dataset.name!r}")
        if problem is None:
            return
        if self.task == "classification":
            fix = (f"set out_features of {layer!r} to {classes}" if op == "Linear"
                   else f"end the network with a Linear layer of {classes} outputs")
        else:
            fix = (f"set out_features of {layer!r} to {math.prod(target)}" if op == "Linear" and len(target) <= 1
                   else f"make the network output {_fmt(target)}")
        raise DatasetError(problem, fix)

    def _autocast(self):
        return torch.autocast(device_type="cuda", dtype=torch.float16)

    # ---- the run ---------------------------------------------------------------------------------------

    def run(self) -> RunResult:
        """Train; returns (and sends) the terminal event. User errors become a FailedEvent, not an exception."""
        if self._ran:
            raise RuntimeError("a Trainer runs once; use Trainer.from_checkpoint(run_dir) to continue a run")
        self._ran = True
        self._running.set()
        previous_threads = torch.get_num_threads()
        try:
            try:
                self.prepare()
                threads = self.num_threads or sensible_threads()
                torch.set_num_threads(threads)
                self._start_run_dir()
            except ProjectError as exc:
                node = exc.node_id
                if node is None and isinstance(exc, InvalidGraphError) and exc.diagnostics:
                    node = exc.diagnostics[0].node_id
                return self._fail(str(exc), node, _kind_of(exc), exc.hint, error=exc)
            self._emit(StartedEvent(
                epochs=self.config.epochs, start_epoch=self.epoch, steps_per_epoch=self.steps_per_epoch,
                n_train=len(self.train_set), n_val=len(self.val_set), batch_size=self.config.batch_size,
                task=self.task, loss=self.loss_name, device=str(self.device),
                device_name=device_name(self.device, torch.get_num_threads()), mixed_precision=self.use_amp,
                threads=torch.get_num_threads(), dataset=self.dataset.name, num_classes=self.dataset.num_classes,
                class_names=tuple(self.dataset.class_names), param_count=sum(p.numel() for p in self.params),
                warnings=tuple(self.warnings), frozen_count=self.frozen_count))
            return self._loop()
        except _ListenerError as exc:
            raise exc.__cause__ from None
        finally:
            torch.set_num_threads(previous_threads)
            self._running.clear()

    def _epochs(self) -> RunResult:
        """Train the remaining epochs; the terminal event (GanTrainer trains its own way)."""
        while self.epoch < self.config.epochs:  # an edit may change it
            epoch = self.epoch + 1
            if self._should_stop(epoch):
                return self._stopped(epoch)
            done = self._train_epoch(epoch)
            if not done:
                return self._stopped(epoch)
            early = self._end_epoch(epoch, done)
            if early:
                return self._finish(stopped_early=True, reason=early)
        return self._finish()

    def _loop(self) -> RunResult:
        try:
            return self._epochs()
        except _NonFiniteLoss as nf:
            return self._nonfinite(nf)
        except torch.OutOfMemoryError:
            return self._oom()
        except (RuntimeError, ValueError, IndexError) as exc:
            if "out of memory" in str(exc).lower():
                return self._oom()
            return self._forward_failed(exc)
        except OSError as exc:
            return self._fail(f"cannot write to the run folder {self.run_dir}: {exc.strerror or exc}", None, "error",
                              "choose a folder you can write to, with free space", error=exc)
        except ck.CheckpointError as exc:  # a full disk while saving: the previous checkpoint is kept
            return self._fail(str(exc), None, "error", exc.hint, error=exc)

    def _should_stop(self, epoch: int) -> bool:
        """Check the flags: wait while paused; True when the run must stop."""
        if self._stop.is_set():
            return True
        if not self._unpaused.is_set():
            t0 = time.perf_counter()
            self._emit(PausedEvent(self.global_step, epoch))
            while not self._unpaused.wait(0.05):
                if self._stop.is_set():
                    break
            self._paused_s += time.perf_counter() - t0
            if self._stop.is_set():
                return True
            self._apply_edit(epoch)
            self._emit(ResumedEvent(self.global_step, epoch))
        return self._stop.is_set()

    def _train_epoch(self, epoch: int) -> tuple[float, float, float | None, int] | None:
        """One pass over the training set; (train_loss, seconds, train_accuracy, samples) or None if stopped.
        After a pause with an edit the remaining batches of the epoch use the new settings and network."""
        self._edited = False
        self._in_epoch = True
        cfg = self.config
        model, opt, loss_fn = self.model, self.optimizer, self.loss_fn
        X, Y = self.X_train, self.y_train
        n = len(X)
        bs = cfg.batch_size
        stop, unpaused = self._stop, self._unpaused
        listeners = self.listeners
        classification = self.task == "classification"
        clip = cfg.grad_clip
        scaler = self.scaler
        sched = self.scheduler if cfg.schedule.per_batch else None
        autocast = self._autocast if self.use_amp else contextlib.nullcontext
        aug = cfg.augment if cfg.augment_active else None
        image_shape = self.dataset.image_shape
        probe, probe_every = self._probe, cfg.probe_every
        end = recipe.batch_end(n, bs)

        self._paused_s = 0.0
        t0 = time.perf_counter()
        recipe.train_mode(model, self.fixed_norms)
        perm = torch.randperm(n, generator=self._shuffle_gen)
        if perm.device != X.device:
            perm = perm.to(X.device)
        loss_sum = 0.0
        seen = 0
        # Train accuracy: the (detached) logits are kept and scored once at the end of the epoch, which costs
        # ~0.7 % of a small model's epoch where scoring every step costs ~3 %; past a size, every step.
        keep_logits = classification and end * self.out_shape[0] <= KEEP_LOGITS_MAX
        logits: list[torch.Tensor] = []
        correct = torch.zeros((), dtype=torch.int64, device=X.device) if classification else None
        start = 0
        while start < end:
            if self._pause_at == self.global_step:  # pause_at(): a pause at a known step
                self._pause_at = None
                unpaused.clear()
            if stop.is_set() or not unpaused.is_set():
                if self._should_stop(epoch):
                    return None
                if self._edited:  # the settings or the network changed while paused
                    self._edited = False
                    cfg = self.config
                    model, opt = self.model, self.optimizer
                    bs, clip = cfg.batch_size, cfg.grad_clip
                    sched = self.scheduler if cfg.schedule.per_batch else None
                    aug = cfg.augment if cfg.augment_active else None
                    probe = self._probe
                    end = recipe.batch_end(n, bs)
                    if start >= end:
                        break
            idx = perm[start:min(start + bs, end)]
            start += bs
            xb = X[idx]
            yb = Y[idx]
            if aug is not None:
                xb = recipe.augment(xb, self._aug_gen, aug["shift"], aug["flip"], aug["noise"], image_shape)
            opt.zero_grad(set_to_none=True)
            with autocast():
                out = model(xb)
                loss = loss_fn(out, yb)
            value = loss.item()
            if not value <= self._diverge_at:  # NaN, Inf, or exploded
                if self._first_loss is None and math.isfinite(value):
                    self._set_first_loss(value)
                else:
                    raise _NonFiniteLoss(xb, value)
            lr = opt.param_groups[0]["lr"]
            if scaler is not None:
                recipe.scaled_optimizer_step(loss, opt, scaler, self.params, clip)
            elif clip:
                recipe.clipped_optimizer_step(loss, opt, self.params, clip)
            else:
                recipe.optimizer_step(loss, opt)
            if sched is not None:
                sched.step()
            b = len(idx)
            loss_sum += value * b
            seen += b
            if keep_logits:
                logits.append(out.detach())
            elif correct is not None:
                correct += (out.argmax(1) == yb).sum()
            self.global_step += 1
            if listeners:
                self._emit(StepEvent(self.global_step, epoch, value, lr))
                if probe is not None and (self.global_step % probe_every == 0 or self.global_step == 1):
                    self._emit(probe.run(self.global_step, epoch))
                    self._probed_at = self.global_step
        if keep_logits and logits:
            correct += (torch.cat(logits).argmax(1) == Y[perm[:seen]]).sum()
        accuracy = int(correct) / seen if correct is not None and seen else None
        train_s = time.perf_counter() - t0 - self._paused_s
        self._in_epoch = False
        return loss_sum / max(seen, 1), train_s, accuracy, seen

    def _end_epoch(self, epoch: int, done: tuple[float, float, float | None, int]) -> str:
        """Validation, record, schedules, best / early stopping, checkpoints, EpochEvent. Returns the reason to
        stop early, or ""."""
        cfg = self.config
        train_loss, train_s, train_acc, seen = done
        t_eval = time.perf_counter()
        self.model.eval()
        val = evaluate(self.model, self.X_val, self.y_val, self.loss_fn, self.task,
                       chunk=max(cfg.batch_size, EVAL_CHUNK), sst=self.val_sst,
                       autocast=self._autocast if self.use_amp else None)
        recipe.train_mode(self.model, self.fixed_norms)
        eval_s = time.perf_counter() - t_eval
        lr = self.optimizer.param_groups[0]["lr"]
        record: dict[str, Any] = {"epoch": epoch, "step": self.global_step, "train_loss": finite_or_none(train_loss)}
        if self.task == "classification":
            record["train_accuracy"] = train_acc
            record["val_loss"] = val["loss"]
            record["val_accuracy"] = val["accuracy"]
        elif self.task == "language_model":
            record["train_bits_per_char"] = recipe.bits(record["train_loss"])
            record["val_loss"] = val["loss"]
            record["val_bits_per_char"] = val["bits_per_char"]
            record["val_accuracy"] = val["accuracy"]
        else:
            record["val_loss"] = val["loss"]
            record["val_mae"] = val["mae"]
            record["val_r2"] = val["r2"]
        record["lr"] = lr
        record["time_s"] = round(train_s + eval_s, 6)
        record["samples_per_s"] = round(seen / train_s, 1) if train_s > 0 else None
        self.history.append(record)

        monitor_name = "val_loss" if len(self.X_val) else "train_loss"
        monitor = record[monitor_name]
        monitor = math.inf if monitor is None else monitor
        improved = self.best is None or monitor < self.best["value"]
        if improved and math.isfinite(monitor):
            self.best = {"epoch": epoch, "monitor": monitor_name, "value": monitor, "record": dict(record)}
            if self.run_dir is not None:
                ck.save_weights(self.model, self.run_dir / ck.BEST_WEIGHTS,
                                {"epoch": str(epoch), monitor_name: repr(monitor)})
            else:
                self.best_weights = ck.weights_of(self.model)
        reason = ""
        es = cfg.early_stopping
        if es is not None:
            if monitor < self._es_best - es.min_delta:
                self._es_best = monitor
                self._es_bad = 0
            else:
                self._es_bad += 1
                if self._es_bad >= es.patience:
                    reason = (f"early stopping: {monitor_name} did not improve by more than {es.min_delta:g} "
                              f"for {es.patience} epoch{'s' if es.patience != 1 else ''}")
        if self.scheduler is not None and not cfg.schedule.per_batch:
            if cfg.schedule.name == "plateau":
                self.scheduler.step(monitor)
            else:
                self.scheduler.step()
        self.epoch = epoch
        if self.run_dir is not None:
            self._save_checkpoint()
            ck.write_json(self.run_dir / ck.METRICS_FILE, self.history)
        self._emit(EpochEvent(record, generated=self._epoch_sample()))
        return reason

    def _epoch_sample(self) -> str | None:
        """A language model's text after this epoch: SAMPLE_LENGTH characters after the start of the first
        validation window, drawn with its own seeded generator (training's random numbers are untouched)."""
        if self.task != "language_model":
            return None
        from graph_engine.sampling.text import sample_text

        vocabulary = self.dataset.class_names
        source = self.X_val if len(self.X_val) else self.X_train
        prompt = "".join(vocabulary[int(i)] for i in source[0, :SAMPLE_PROMPT].tolist())
        return sample_text(self.model, vocabulary, prompt, SAMPLE_LENGTH, int(self.X_train.shape[1]),
                           SAMPLE_TEMPERATURE, self.config.seed)

    # ---- endings ---------------------------------------------------------------------------------------

    def _final_probe(self, epoch: int) -> None:
        """A probe at the step the run ends on, unless the last one was taken there: what the run shows at
        its end (activations, gradient norms, decision boundary) is the final model, not one up to
        probe_every steps older. Taken before anything else the ending does (the gradients of the last step
        are still there), inside the probe's own fork of the RNG, so nothing after it changes."""
        due = self.global_step > 0 and self._probed_at != self.global_step
        if self._probe is not None and self.listeners and due:
            self._emit(self._probe.run(self.global_step, epoch))
            self._probed_at = self.global_step

    def _finish(self, stopped_early: bool = False, reason: str = "") -> FinishedEvent:
        self._final_probe(self.epoch)
        matrix = None
        if self.task == "classification" and len(self.X_val):
            self.model.eval()
            matrix = confusion_matrix(self.model, self.X_val, self.y_val, self.out_shape[0],
                                      chunk=max(self.config.batch_size, EVAL_CHUNK),
                                      autocast=self._autocast if self.use_amp else None)
            recipe.train_mode(self.model, self.fixed_norms)
        if self.run_dir is not None:
            ck.save_weights(self.model, self.run_dir / ck.FINAL_WEIGHTS, {"epoch": str(self.epoch)})
            ck.write_json(self.run_dir / ck.METRICS_FILE, self.history)
        event = FinishedEvent(list(self.history), self.best, stopped_early, reason, matrix)
        self._emit(event)
        return event

    def _stopped(self, epoch: int) -> StoppedEvent:
        self._final_probe(epoch)
        if self.run_dir is not None:
            ck.save_weights(self.model, self.run_dir / ck.FINAL_WEIGHTS, {"epoch": str(self.epoch)})
        event = StoppedEvent(list(self.history), self.best, epoch, self.global_step)
        self._emit(event)
        return event

    def _fail(self, message: str, node_id: str | None, kind: str, hint: str = "",
              error: BaseException | None = None) -> FailedEvent:
        event = FailedEvent(message, node_id, kind, hint, list(self.history), self.epoch + 1, self.global_step,
                            error)
        self._emit(event)
        return event

    def _nonfinite(self, nf: _NonFiniteLoss) -> FailedEvent:
        if math.isfinite(nf.value):
            return self._diverged(nf)
        epoch, step = self.epoch + 1, self.global_step + 1
        what = "NaN" if math.isnan(nf.value) else "Inf"
        node, found = find_first_nonfinite(self.model, self.node_ops, nf.x,
                                           self._autocast if self.use_amp else None)
        lr = self.optimizer.param_groups[0]["lr"]
        hint = (f"lower the learning rate (it is {lr:g}; try {lr / 10:g})"
                + ("" if self.config.grad_clip else " or set grad_clip, e.g. 1.0"))
        where = f"the loss became {what} at epoch {epoch}, step {step}"
        if node is not None:
            message = f"{where}: layer {node!r} ({self.node_ops[node]}) was the first to output {found}"
        else:
            bad = nonfinite_parameters(self.model, self.node_ops)
            if bad is not None:
                node = bad
                message = f"{where}: the weights of layer {bad!r} ({self.node_ops[bad]}) hold NaN or Inf"
            else:
                node = self._feeder()
                message = (f"{where}, although every layer's output was finite: the outputs are too large for "
                           f"{self.loss_name}")
        return self._fail(f"{message}; {hint}", node, "nonfinite", hint)

    def _set_first_loss(self, value: float) -> None:
        """The first step's loss sets the divergence threshold: a later loss DIVERGENCE_FACTOR times larger (and
        above DIVERGENCE_FLOOR) means training blew up, even while it is still finite."""
        self._first_loss = value
        self._diverge_at = max(value * DIVERGENCE_FACTOR, DIVERGENCE_FLOOR)

    def _diverged(self, nf: _NonFiniteLoss) -> FailedEvent:
        epoch, step = self.epoch + 1, self.global_step + 1
        lr = self.optimizer.param_groups[0]["lr"]
        hint = (f"lower the learning rate (it is {lr:g}; try {lr / 10:g})"
                + ("" if self.config.grad_clip else " or set grad_clip, e.g. 1.0"))
        now = _weight_norms(self.model, self.node_ops)
        growth = [(n, now[n] / self._init_norms[n]) for n in now if self._init_norms.get(n)]
        node = next((n for n, g in growth if g > 100), None)
        if node is None and growth:
            node = max(growth, key=lambda item: item[1])[0]
        ratio = dict(growth).get(node) if node else None
        message = (f"training diverged: the loss exploded to {nf.value:.3g} at epoch {epoch}, step {step} "
                   f"({nf.value / self._first_loss:.2g} times its first value {self._first_loss:.3g}) and would "
                   "soon be NaN/Inf")
        if node is not None and ratio is not None:
            message += f"; the weights of layer {node!r} ({self.node_ops[node]}) grew {ratio:.2g}-fold"
        return self._fail(f"{message}; {hint}", node, "nonfinite", hint)

    def _oom(self) -> FailedEvent:
        if self.optimizer is not None:
            self.optimizer.zero_grad(set_to_none=True)
        if self.device is not None and self.device.type == "cuda":
            torch.cuda.empty_cache()
        bs = self.config.batch_size
        if bs > 1:
            half = max(1, bs // 2)
            hint = f"set training.batch_size to {half} (half of {bs}), or use a smaller network"
            message = f"out of memory on {self.device} at batch size {bs}; try batch size {half}"
        else:
            hint = "use a smaller network, or train on a device with more memory"
            message = f"out of memory on {self.device} even at batch size 1; the network is too large for it"
        return self._fail(message, None, "oom", hint)

    def _forward_failed(self, exc: BaseException) -> FailedEvent:
        node = _node_from_traceback(exc.__traceback__, self.compiled.filename if self.compiled else None,
                                    self.node_ops)
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        where = f" in layer {node!r} ({self.node_ops[node]})" if node else ""
        return self._fail(f"training failed{where} at epoch {self.epoch + 1}: {text}", node, "error", error=exc)

    def _feeder(self) -> str | None:
        feeders = [e.src for e in self.project.graph.in_edges(self.output_node)]
        return feeders[0] if feeders else None

    def _emit(self, event: Any) -> None:
        for fn in self.listeners:
            try:
                fn(event)
            except Exception as exc:
                raise _ListenerError(str(exc)) from exc

    # ---- run folder ------------------------------------------------------------------------------------

    def _start_run_dir(self) -> None:
        if self.run_dir is None:
            return
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ProjectError(f"cannot create the run folder {self.run_dir}: {exc.strerror or exc}",
                               hint="choose a folder you can write to") from None
        self._write_snapshot()
        if self._resume_state is None:
            for name in (ck.LAST_STATE, ck.LAST_WEIGHTS, ck.BEST_WEIGHTS, ck.FINAL_WEIGHTS, ck.CHANGES_FILE):
                with contextlib.suppress(FileNotFoundError):
                    (self.run_dir / name).unlink()
            ck.write_json(self.run_dir / ck.METRICS_FILE, [])

    def _write_snapshot(self) -> None:
        """The run folder's project: the network and the effective settings being trained now."""
        copy = self.project.copy()
        training = self.config.to_dict()
        training["dataset"] = _absolute_paths(training["dataset"], self.base_dir)
        if training.get("init"):  # the run folder's copy names the file wherever it is opened from
            training["init"]["weights"] = str(resolve_path(training["init"]["weights"], self.base_dir))
        copy.training = training
        save_project(copy, self.run_dir / ck.PROJECT_FILE)

    # ---- edits while paused --------------------------------------------------------------------------

    def _apply_edit(self, epoch: int) -> None:
        """The pending edit (trainer thread, after the pause, before the next step): settings, network,
        record, ChangedEvent."""
        with self._edit_lock:
            pending, self._pending_edit = self._pending_edit, None
        if pending is None:
            return
        config, settings = pending["config"], pending["settings"]
        record: dict[str, Any] = {"step": self.global_step, "epoch": epoch,
                                  "settings": {k: [_plain(a), _plain(b)] for k, (a, b) in settings.items()}}
        if pending["project"] is not None:
            record["network"] = self._swap_network(pending["project"], *pending["network"])
        if not settings and "network" not in record:
            return
        self.config = config
        live_edit.set_optimizer_settings(self.optimizer, config)
        self.steps_per_epoch = recipe.steps_per_epoch(len(self.train_set), config.batch_size)
        if live_edit.needs_new_schedule(settings):
            self.scheduler = live_edit.rebuild_schedule(self.optimizer, config, self.steps_per_epoch, self.epoch,
                                                        self.global_step, self.scheduler)
        self.changes.append(record)
        self._edited = True
        if self.run_dir is not None:
            self._write_snapshot()
            ck.write_json(self.run_dir / ck.CHANGES_FILE, self.changes)
        network = record.get("network") or {}
        self._emit(ChangedEvent(self.global_step, epoch, dict(settings), tuple(network.get("kept", ())),
                                tuple(network.get("fresh", ())), tuple(network.get("removed", ())),
                                "network" in record, config.epochs, self.steps_per_epoch))

    def _swap_network(self, project: Project, result: Any, compiled: Any) -> dict[str, list[str]]:
        """Build the edited network, carry the unchanged layers' weights and optimiser state over."""
        old_model, old_project = self.model, self.project
        with live_edit.seeded(self.config.seed + self.global_step):
            model = compiled.create_model().to(self.device)
        kept, fresh = live_edit.carry_weights(old_model, model, old_project.graph, project.graph)
        self.fixed_norms = recipe.freeze(model, frozen_paths(project))  # the edited network's frozen layers
        self.frozen_count = sum(p.numel() for p in model.parameters() if not p.requires_grad)
        recipe.train_mode(model, self.fixed_norms)
        params = [p for p in model.parameters() if p.requires_grad]
        make_optimizer, settings = recipe_optimizer(self.config)
        optimizer = make_optimizer(params, **settings)
        live_edit.carry_optimizer_state(self.optimizer, optimizer, live_edit.param_pairs(old_model, model, kept))
        if self.scheduler is not None:
            lrs = [g["lr"] for g in optimizer.param_groups]
            make_scheduler, sched_settings = recipe_schedule(self.config)
            scheduler = make_scheduler(optimizer, self.config.epochs, self.steps_per_epoch, **sched_settings)
            scheduler.load_state_dict(self.scheduler.state_dict())
            for group, lr in zip(optimizer.param_groups, lrs, strict=True):
                group["lr"] = lr
            self.scheduler = scheduler
        node_ops = {n: project.graph.node(n).op for n in project.graph.nodes}
        removed = [n for n, m in old_model.named_children() if n not in node_ops and m.state_dict()]
        project.training = old_project.training
        self.project, self.compiled, self.model, self.params, self.optimizer = (project, compiled, model, params,
                                                                                 optimizer)
        self.node_ops = node_ops
        self.input_node, self.output_node = _io_nodes(project, result)
        norms = _weight_norms(model, node_ops)
        self._init_norms = {n: (self._init_norms.get(n, v) if n in kept else v) for n, v in norms.items()}
        self.best, self.best_weights = None, None  # best.safetensors follows the network being trained now
        if self._probe is not None:
            self._probe = self._make_probe(model)
        return {"kept": kept, "fresh": fresh, "removed": removed}

    def _save_checkpoint(self) -> None:
        generators = {"shuffle": self._shuffle_gen, "augment": self._aug_gen}
        state = {
            "format": ck.CHECKPOINT_FORMAT,
            "version": ck.CHECKPOINT_VERSION,
            "epoch": self.epoch,
            "step": self.global_step,
            "config": self.config.to_dict(),
            "base_dir": None if self.base_dir is None else str(self.base_dir),
            "history": [dict(r) for r in self.history],
            "best": None if self.best is None else {**self.best, "record": dict(self.best["record"])},
            "early_stopping": {"best": self._es_best, "bad_epochs": self._es_bad},
            "divergence": {"first_loss": self._first_loss, "initial_norms": dict(self._init_norms)},
            "optimizer": self.optimizer.state_dict(),
            "scheduler": None if self.scheduler is None else self.scheduler.state_dict(),
            "scaler": None if self.scaler is None else self.scaler.state_dict(),
            "rng": ck.rng_state(generators, self.device),
        }
        if self.changes:  # edited during the run: the network these weights belong to, and the edits
            state["project"] = project_to_json(self.project)
            state["changes"] = [dict(c) for c in self.changes]
        ck.save_checkpoint(self.run_dir, state, self.model)

    def _apply_state(self, state: dict[str, Any]) -> None:
        source = str(self.run_dir / ck.LAST_STATE)
        ck.load_into(self.model, ck.checkpoint_weights(self.run_dir, state), source)
        try:
            self.optimizer.load_state_dict(state["optimizer"])
            if self.scheduler is not None and state.get("scheduler") is not None:
                self.scheduler.load_state_dict(state["scheduler"])
            if self.scaler is not None and state.get("scaler") is not None:
                self.scaler.load_state_dict(state["scaler"])
        except (ValueError, KeyError, RuntimeError) as exc:
            raise ck.CheckpointError(f"the checkpoint in {self.run_dir} does not fit this run: {exc}",
                                     hint="resume with the settings the run was started with") from None
        ck.set_rng_state(state["rng"], {"shuffle": self._shuffle_gen, "augment": self._aug_gen}, self.device)
        self.epoch = int(state["epoch"])
        self.global_step = int(state["step"])
        self.history = [dict(r) for r in state["history"]]
        self.best = state["best"]
        self._es_best = float(state["early_stopping"]["best"])
        self._es_bad = int(state["early_stopping"]["bad_epochs"])
        divergence = state.get("divergence") or {}
        if divergence.get("first_loss") is not None:
            self._set_first_loss(float(divergence["first_loss"]))
        self._init_norms = {str(k): float(v) for k, v in (divergence.get("initial_norms") or {}).items()}
        self.changes = [dict(c) for c in state.get("changes") or []]


# ---- helpers -------------------------------------------------------------------------------------------------


def _io_nodes(project: Project, result: Any) -> tuple[str, str]:
    """The one live Input and the one live Output (TrainingConfigError otherwise)."""
    graph = project.graph
    live = [n for n in result.order if n in result.live]
    inputs = [n for n in live if graph.node(n).op == "Input"]
    outputs = [n for n in live if graph.node(n).op == "Output"]
    if len(inputs) != 1 or len(outputs) != 1:
        what = "Input" if len(inputs) != 1 else "Output"
        found = inputs if what == "Input" else outputs
        raise TrainingConfigError(
            f"training needs exactly one {what} node; this network has {len(found)} ({', '.join(found)})",
            "training", "training feeds one dataset into one Input and compares one Output with its targets")
    return inputs[0], outputs[0]


def _plain(value: Any) -> Any:
    """A setting's value as JSON (tuples as lists), for the change records."""
    if isinstance(value, tuple):
        return list(value)
    return value


def _recipe_of(project: Any, config: Any) -> str | None:
    """The training recipe a Trainer's arguments ask for (None when they cannot be read here: the
    constructor then reports the problem)."""
    try:
        if isinstance(config, TrainingConfig):
            return config.recipe
        if isinstance(config, Mapping):
            return TrainingConfig.parse(config).recipe
        if isinstance(project, str | os.PathLike):
            project = load_project(Path(project))
        return TrainingConfig.from_project(project).recipe
    except (ProjectError, AttributeError):
        return None


def _weight_norms(model: torch.nn.Module, node_ops: dict[str, str]) -> dict[str, float]:
    """node id -> L2 norm of its parameters (nodes with parameters only)."""
    out = {}
    with torch.no_grad():
        for name, module in model.named_children():
            params = [p.detach().float() for p in module.parameters()]
            if name in node_ops and params:
                out[name] = float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(p)
                                                                        for p in params])))
    return out


def recipe_optimizer(cfg: TrainingConfig) -> tuple[Callable[..., torch.optim.Optimizer], dict[str, Any]]:
    """The recipe function that builds the configured optimiser, and its keyword arguments after the params."""
    settings = cfg.optimizer.to_dict()
    return recipe.OPTIMIZERS[settings.pop("name")], settings


def recipe_schedule(cfg: TrainingConfig) -> tuple[Callable[..., Any], dict[str, Any]] | None:
    """The recipe function that builds the configured schedule and its settings (after optimizer, epochs and
    steps per epoch); None without a schedule."""
    settings = cfg.schedule.to_dict()
    name = settings.pop("name")
    if name == "none":
        return None
    if name == "onecycle":
        settings["max_lr"] = settings["max_lr"] or cfg.optimizer.lr
        settings["cycle_momentum"] = cfg.optimizer.name in ("Adam", "AdamW") or cfg.optimizer.momentum > 0
    return recipe.SCHEDULES[name], settings


def _on_device(X: Any, device: torch.device) -> Any:
    """The inputs on the device: a tensor, or a lazily decoded image folder that gives tensors there."""
    if is_lazy(X):
        return X.to(device)
    return torch.from_numpy(np.ascontiguousarray(X)).to(device)


def _check_finite(dataset: Any) -> None:
    for name, arr in (("inputs", dataset.X), ("targets", dataset.y)):
        if is_lazy(arr):  # decoded images are in 0..1 by construction
            continue
        if np.issubdtype(arr.dtype, np.floating) and not np.isfinite(arr).all():
            bad = int((~np.isfinite(arr.reshape(len(arr), -1))).any(axis=1).sum())
            raise DatasetError(f"dataset {dataset.name!r} has NaN or infinite {name} in {bad} sample(s)",
                               "clean the data (remove or fill the missing values) before training")


def _fmt(shape: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


def _kind_of(exc: ProjectError) -> str:
    return "data" if isinstance(exc, DatasetError) else "config"


def _absolute_paths(dataset: dict[str, Any], base_dir: Path | None) -> dict[str, Any]:
    out = dict(dataset)
    path = out.get("path")
    if isinstance(path, str) and base_dir is not None and not Path(path).expanduser().is_absolute():
        out["path"] = str(base_dir / path)
    return out


def _node_from_traceback(tb: Any, filename: str | None, node_ops: dict[str, str]) -> str | None:
    """The node whose line of the generated forward() raised (the innermost such frame), if any."""
    if filename is None:
        return None
    node = None
    for frame, lineno in traceback.walk_tb(tb):
        if frame.f_code.co_filename != filename:
            continue
        line = linecache.getline(filename, lineno)
        m = re.search(r"self\.(\w+)\(", line) or re.match(r"\s*(\w+)\s*=", line)
        if m and m.group(1) in node_ops:
            node = m.group(1)
    return node


def train(project: Project | str | os.PathLike, listener: Any = None, **kwargs: Any) -> RunResult:
    """Trainer(project, listener=listener, **kwargs).run()."""
    return Trainer(project, listener=listener, **kwargs).run()


def resume(run_dir: str | os.PathLike, listener: Any = None, **kwargs: Any) -> RunResult:
    """Continue the run saved in `run_dir` (see Trainer.from_checkpoint) to its last epoch; the terminal event."""
    return Trainer.from_checkpoint(run_dir, listener, **kwargs).run()


__all__ = ["TIMING_KEYS", "Trainer", "resume", "seed_everything", "train"]
