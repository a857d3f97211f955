"""The headless GAN training loop: `GanTrainer(project).run()` for a project whose recipe is gan.

    trainer = Trainer(project, run_dir="runs/a")   # a GanTrainer when the project's recipe is gan
    result = trainer.run()

It is a Trainer (loop.py) in everything but the step: the same listeners, pause/resume/stop, failure events,
run folder and thread handling. What differs:
- two networks: the generator (the project's graph, compiled exactly as the exported model.py) and the
  discriminator (graph_engine/gan.py), built in that order after seeding, so the exported train.py (which
  builds them in the same order) starts from the same weights;
- data: the dataset's samples, shaped for the discriminator's Input; every sample trains (no validation split:
  a GAN has no targets to validate), labels are not used;
- each step is gan_recipe.gan_step (two Adam optimisers, label smoothing, optional instance noise);
- each epoch: the fixed-noise samples (EpochEvent.samples), losses and discriminator accuracy on
  real and generated samples, the samples' diversity and a collapse warning in the EpochEvent's record, and in
  the run folder samples.png (the grid), model.safetensors (the generator: it loads into the exported
  create_model()), discriminator.safetensors and metrics.json.
A GAN run is not resumable from a checkpoint yet (GanTrainer.from_checkpoint refuses clearly).
"""

from __future__ import annotations

import math
import os
import time
from typing import Any

import numpy as np
import torch

from graph_engine.codegen import compile_project
from graph_engine.data import DatasetError, load_dataset
from graph_engine.errors import ProjectError
from graph_engine.gan import GanError, check_gan, discriminator_project
from graph_engine.project_io import atomic_write_bytes
from graph_engine.training import checkpoints as ck
from graph_engine.training import gan_recipe as gr
from graph_engine.training import recipe
from graph_engine.training.devices import resolve_device
from graph_engine.training.events import EpochEvent, FinishedEvent, StepEvent
from graph_engine.training.loop import Trainer, _NonFiniteLoss
from graph_engine.training.recipe import seed_everything

SAMPLES_FILE = "samples.png"
DISCRIMINATOR_WEIGHTS = "discriminator.safetensors"
REAL_DIVERSITY_SAMPLES = 512
FIXED_NOISE_OFFSET = 7  # the fixed noise's seed is the run's seed + this (train.py uses the same)


class GanTrainer(Trainer):
    """One GAN training run (see the module docstring)."""

    @classmethod
    def from_checkpoint(cls, run_dir: str | os.PathLike, *args: Any, **kwargs: Any) -> Trainer:
        raise ProjectError(f"the run in {run_dir} is a GAN run; GAN runs cannot be resumed yet",
                           field="training.recipe", hint="start a new run (layerloom train PROJECT)")

    def prepare(self) -> None:
        if self._prepared:
            return
        cfg, gan = self.config, self.config.gan
        device = resolve_device(cfg.device)
        nets = check_gan(self.project)
        self.nets = nets
        self.disc_project = discriminator_project(self.project)
        graph = self.project.graph
        self.node_ops = {n: graph.node(n).op for n in graph.nodes}
        self.input_node = nets.generator_input
        self.out_shape = nets.sample_shape
        dataset = load_dataset(cfg.dataset, nets.sample_shape, input_dtype="float32", base_dir=self.base_dir)
        if dataset.input_dtype != "float32":
            raise DatasetError(f"a GAN learns to make float samples; dataset {dataset.name!r} holds token ids",
                               "choose an image or table dataset", field="training.dataset")
        self.task, self.loss_name = "gan", "BCEWithLogitsLoss"
        self.dataset, self.train_set, self.val_set = dataset, dataset, ()
        self.warnings = list(dataset.warnings)
        if cfg.val_fraction:
            self.warnings.append("a GAN trains on every sample: the validation fraction is not used")

        seed_everything(cfg.seed)
        self.compiled = compile_project(self.project, nets.generator)
        self.d_compiled = compile_project(self.disc_project, nets.discriminator)
        try:
            self.model = self.compiled.create_model().to(device)
            self.discriminator = self.d_compiled.create_model().to(device)
            self.X_train = torch.from_numpy(np.ascontiguousarray(dataset.X, dtype=np.float32)).to(device)
        except torch.OutOfMemoryError:
            raise ProjectError(f"the networks and the dataset do not fit in the memory of {device}",
                               field="training.device", hint="use a smaller dataset or model") from None
        self.device = device
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        d_params = [p for p in self.discriminator.parameters() if p.requires_grad]
        self.frozen_count = sum(p.numel() for net in (self.model, self.discriminator) for p in net.parameters()
                                if not p.requires_grad)
        if not self.params or not d_params:
            network = "generator" if not self.params else "discriminator"
            raise GanError("has no trainable parameters", network, hint="add a layer with weights, such as Linear")
        self.g_opt, self.d_opt = gr.gan_optimizers(self.params, d_params, gan.g_lr, gan.d_lr,
                                                   (gan.beta1, gan.beta2))
        self.optimizer = self.g_opt  # what the shared failure handling reads (the generator's lr)
        self.steps_per_epoch = recipe.steps_per_epoch(len(self.X_train), cfg.batch_size)
        self.use_amp = False  # float32: the adversarial balance is sensitive to float16 rounding
        self._shuffle_gen = torch.Generator(device="cpu").manual_seed(cfg.seed)
        self._aug_gen = torch.Generator(device=device if device.type == "cuda" else "cpu").manual_seed(cfg.seed + 1)
        self.fixed_noise = gr.fixed_noise(gan.samples, nets.noise_shape, cfg.seed + FIXED_NOISE_OFFSET).to(device)
        self.real_diversity = gr.real_diversity(self.X_train, REAL_DIVERSITY_SAMPLES, cfg.seed)
        self.samples: np.ndarray | None = None
        self._probe = None  # no layer probes in a GAN run (yet): the dashboard shows its samples instead
        self._prepared = True

    def _epochs(self):
        while self.epoch < self.config.epochs:
            epoch = self.epoch + 1
            if self._should_stop(epoch):
                return self._stopped(epoch)
            if not self._gan_epoch(epoch):
                return self._stopped(epoch)
        return self._finish()

    def _nonfinite(self, nf: _NonFiniteLoss):
        return self._fail(f"the {nf.network} loss became {nf.value} at epoch {self.epoch + 1}, step "
                          f"{self.global_step + 1}: training diverged", None, "nonfinite",
                          "lower gan.g_lr and gan.d_lr (e.g. halve them), or add instance noise")

    def _gan_epoch(self, epoch: int) -> bool:
        cfg, gan = self.config, self.config.gan
        stop, unpaused = self._stop, self._unpaused
        listeners = self.listeners
        lr = self.g_opt.param_groups[0]["lr"]

        def on_step(d_loss: torch.Tensor, g_loss: torch.Tensor) -> bool:
            self.global_step += 1
            d, g = float(d_loss), float(g_loss)
            for value, network in ((d, "discriminator"), (g, "generator")):
                if not math.isfinite(value):
                    raise _gan_nonfinite(value, network)
            if listeners:
                self._emit(StepEvent(self.global_step, epoch, g, lr))
            if stop.is_set() or not unpaused.is_set():
                return not self._should_stop(epoch)
            return True

        self._paused_s = 0.0
        t0 = time.perf_counter()
        perm = torch.randperm(len(self.X_train), generator=self._shuffle_gen).to(self.X_train.device)
        noise_std = gr.instance_noise_std(gan.instance_noise, epoch, cfg.epochs)
        sums = gr.gan_epoch(self.model, self.discriminator, self.X_train, perm, cfg.batch_size,
                            self.nets.noise_shape, self.g_opt, self.d_opt, 1.0 - gan.label_smoothing, noise_std,
                            self._aug_gen, on_step)
        if sums is None:
            return False
        train_s = time.perf_counter() - t0 - self._paused_s
        self.samples = gr.generate(self.model, self.fixed_noise)
        record = gr.gan_record(epoch, sums, self.samples, self.real_diversity, self.history)
        record.update({"step": self.global_step, "lr": lr,
                       "instance_noise": noise_std, "time_s": round(time.perf_counter() - t0, 6),
                       "samples_per_s": round(sums[4] / train_s, 1) if train_s > 0 else None})
        self.history.append(record)
        self.epoch = epoch
        if self.run_dir is not None:
            self._write_outputs()
        self._emit(EpochEvent(record, self.samples))
        return True

    def _write_outputs(self) -> None:
        ck.write_json(self.run_dir / ck.METRICS_FILE, self.history)
        if self.samples is not None and gr.is_image_shape(self.samples.shape[1:]):
            atomic_write_bytes(self.run_dir / SAMPLES_FILE, gr.png_bytes(gr.image_grid(self.samples)))

    def _save_generator_and_discriminator(self) -> None:
        ck.save_weights(self.model, self.run_dir / ck.FINAL_WEIGHTS, {"epoch": str(self.epoch), "network": "generator"})
        ck.save_weights(self.discriminator, self.run_dir / DISCRIMINATOR_WEIGHTS,
                        {"epoch": str(self.epoch), "network": "discriminator"})

    def _finish(self, stopped_early: bool = False, reason: str = "") -> FinishedEvent:
        if self.run_dir is not None:
            self._save_generator_and_discriminator()
            self._write_outputs()
        event = FinishedEvent(list(self.history), self.best, stopped_early, reason, None)
        self._emit(event)
        return event

    def _stopped(self, epoch: int):
        if self.run_dir is not None:
            ck.save_weights(self.discriminator, self.run_dir / DISCRIMINATOR_WEIGHTS,
                            {"epoch": str(self.epoch), "network": "discriminator"})
        return super()._stopped(epoch)  # saves the generator as model.safetensors

    def _start_run_dir(self) -> None:
        super()._start_run_dir()
        if self.run_dir is not None:
            for name in (SAMPLES_FILE, DISCRIMINATOR_WEIGHTS):
                path = self.run_dir / name
                if path.exists():
                    path.unlink()


def _gan_nonfinite(value: float, network: str) -> _NonFiniteLoss:
    error = _NonFiniteLoss(torch.zeros(0), value)
    error.network = network
    return error


__all__ = ["DISCRIMINATOR_WEIGHTS", "SAMPLES_FILE", "GanTrainer"]
