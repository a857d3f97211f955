"""The training settings of a project (`project.training`, docs/FILE_FORMAT.md), parsed and checked. Their
defaults, ranges and choices are described in settings_spec.py (one place for the parser, the app and the CLI).

    config = TrainingConfig.from_project(project)        # defaults for missing fields
    config = config.with_overrides(epochs=5, device="cpu")

Every bad value is a `TrainingConfigError` (a `ProjectError`) whose `field` is "training.<key>" (or
"training.<key>.<sub>") and whose hint says what to write instead; nothing here raises a raw exception for a
value that came from a file. Importing this module does not import torch.

Keys (all optional):

| key | value | default |
|---|---|---|
| dataset | {"name": NAME, PARAM: VALUE...} (graph_engine.data.registry) | {"name": "digits"} |
| task | classification, regression, autoencoder, language_model | the dataset's task |
| loss | CrossEntropyLoss, MSELoss, L1Loss, HuberLoss | CrossEntropyLoss (classification), MSELoss |
| optimizer | {"name": SGD/Adam/AdamW/RMSprop, "lr", "weight_decay", "momentum", "nesterov", "betas"} or a name | Adam, lr 0.001 (SGD: 0.01) |
| schedule | {"name": none/step/cosine/onecycle/plateau, params} or a name | none |
| epochs | 1..100000 | 20 |
| batch_size | 1..1048576 | 64 |
| val_fraction | 0 <= x < 1 | 0.2 |
| seed | 0..2**32-1 | 0 |
| device | auto, cpu, cuda, cuda:N, mps | auto |
| grad_clip | null/0 (off) or the largest gradient norm | null |
| early_stopping | null/false, true, or {"patience", "min_delta", "enabled"} | off |
| augment | {"shift", "flip", "noise"} (graph_engine.data.AUGMENT_PARAMS) | off |
| probe_every | steps between probes, 0 = never | 50 |
| mixed_precision | bool: float16 autocast + GradScaler, used on CUDA only | false |
| init | {"weights": FILE, "fresh": [NODE...]} or FILE: start from these weights (transfer learning) | none |
| recipe | supervised, gan (graph_engine/gan.py: the project holds a discriminator) | supervised |
| gan | {"g_lr", "d_lr", "beta1", "beta2", "label_smoothing", "instance_noise", "samples"} (recipe gan) | see GanConfig |

Schedule params: step {step_size (epochs, default epochs // 3), gamma 0.1}; cosine {min_lr 0} (T_max =
epochs); onecycle {max_lr (default: the optimizer's lr), pct_start 0.3} (stepped every batch); plateau
{factor 0.1, patience 5, min_lr 0} (watches val_loss, or train_loss without a validation set). A param that
belongs to another schedule is ignored (a GUI keeps it while the person flips between schedules); an unknown
name is an error.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graph_engine.errors import ProjectError
from graph_engine.training.settings_spec import (
    DEVICES,
    GAN_PARAMS,
    LOSSES,
    MAX_BATCH_SIZE,
    MAX_EPOCHS,
    MAX_SEED,
    OPTIMIZERS,
    RECIPES,
    SCHEDULE_PARAMS,
    SCHEDULES,
    TASKS,
    default_of,
)

REGRESSION_LOSSES = ("MSELoss", "L1Loss", "HuberLoss")
DEFAULT_DATASET = {"name": "digits"}
DEFAULT_EPOCHS = default_of("epochs")
DEFAULT_BATCH_SIZE = default_of("batch_size")
DEFAULT_VAL_FRACTION = default_of("val_fraction")
DEFAULT_PROBE_EVERY = default_of("probe_every")

KEYS = ("dataset", "task", "loss", "optimizer", "schedule", "epochs", "batch_size", "val_fraction", "seed",
        "device", "grad_clip", "early_stopping", "augment", "probe_every", "mixed_precision", "init", "recipe",
        "gan")
OPTIMIZER_KEYS = ("name", "lr", "weight_decay", "momentum", "nesterov", "betas")
EARLY_STOPPING_KEYS = ("enabled", "patience", "min_delta")
INIT_KEYS = ("weights", "fresh")


class TrainingConfigError(ProjectError):
    """A training setting is not acceptable. `field` is "training.<key>"; `hint` says what to write."""

    def __init__(self, message: str, field: str, hint: str = ""):
        super().__init__(message, field=field, hint=hint)


@dataclass(frozen=True)
class OptimizerConfig:
    name: str = default_of("optimizer.name")
    lr: float = default_of("optimizer.lr")
    weight_decay: float = default_of("optimizer.weight_decay")
    momentum: float = default_of("optimizer.momentum")  # SGD and RMSprop
    nesterov: bool = default_of("optimizer.nesterov")  # SGD with momentum > 0
    betas: tuple[float, float] = (0.9, 0.999)  # Adam and AdamW

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "lr": self.lr, "weight_decay": self.weight_decay}
        if self.name in ("SGD", "RMSprop"):
            out["momentum"] = self.momentum
        if self.name == "SGD":
            out["nesterov"] = self.nesterov
        if self.name in ("Adam", "AdamW"):
            out["betas"] = list(self.betas)
        return out


@dataclass(frozen=True)
class ScheduleConfig:
    name: str = default_of("schedule.name")
    step_size: int = 1
    gamma: float = default_of("schedule.gamma")
    min_lr: float = default_of("schedule.min_lr")
    max_lr: float | None = default_of("schedule.max_lr")  # None: the optimizer's lr
    pct_start: float = default_of("schedule.pct_start")
    factor: float = default_of("schedule.factor")
    patience: int = default_of("schedule.patience")

    @property
    def per_batch(self) -> bool:
        """True when the schedule steps after every batch (one-cycle), False when after every epoch."""
        return self.name == "onecycle"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        for key in SCHEDULE_PARAMS[self.name]:
            out[key] = getattr(self, key)
        return out


@dataclass(frozen=True)
class EarlyStoppingConfig:
    patience: int = 5
    min_delta: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"patience": self.patience, "min_delta": self.min_delta}


@dataclass(frozen=True)
class InitConfig:
    """Start training from a weights file (graph_engine/training/init_weights.py): `weights` is its path
    (relative to the project file's folder), `fresh` the nodes that start from their own initialisation
    instead (a replaced head): only their keys may be missing, extra or of another shape in the file."""

    weights: str
    fresh: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"weights": self.weights}
        if self.fresh:
            out["fresh"] = list(self.fresh)
        return out


@dataclass(frozen=True)
class GanConfig:
    """The adversarial recipe's settings (graph_engine/training/gan_recipe.py); defaults in settings_spec."""

    g_lr: float = default_of("gan.g_lr")
    d_lr: float = default_of("gan.d_lr")
    beta1: float = default_of("gan.beta1")
    beta2: float = default_of("gan.beta2")
    label_smoothing: float = default_of("gan.label_smoothing")  # real samples are labelled 1 - this
    instance_noise: float = default_of("gan.instance_noise")  # the noise's std at the first epoch (0: none)
    samples: int = default_of("gan.samples")  # fixed-noise samples shown and written each epoch

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class TrainingConfig:
    """Checked training settings. Build with `parse` / `from_project`; `to_dict` gives them back as JSON."""

    dataset: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_DATASET))
    task: str | None = None  # None: decided by the dataset once it is loaded (user files)
    loss: str | None = None  # None: the task's default
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    epochs: int = DEFAULT_EPOCHS
    batch_size: int = DEFAULT_BATCH_SIZE
    val_fraction: float = DEFAULT_VAL_FRACTION
    seed: int = default_of("seed")
    device: str = default_of("device")
    grad_clip: float | None = default_of("grad_clip")
    early_stopping: EarlyStoppingConfig | None = None
    augment: dict[str, Any] | None = None  # None: no augmentation; else shift/flip/noise with defaults filled
    probe_every: int = DEFAULT_PROBE_EVERY
    mixed_precision: bool = default_of("mixed_precision")
    init: InitConfig | None = None  # None: the network's own initialisation
    recipe: str = default_of("recipe")  # "supervised", or "gan" (a generator and a discriminator)
    gan: GanConfig = field(default_factory=GanConfig)  # used by the gan recipe only

    # ---- building ------------------------------------------------------------------------------------

    @classmethod
    def parse(cls, training: Mapping[str, Any] | None) -> TrainingConfig:
        """Check a `training` object (None: every default). Raises TrainingConfigError / DatasetError."""
        return _parse(training)

    @classmethod
    def from_project(cls, project: Any) -> TrainingConfig:
        return _parse(getattr(project, "training", None))

    def with_overrides(self, **changes: Any) -> TrainingConfig:
        """A new config with some top-level keys replaced (None values are ignored), checked again."""
        data = self.to_dict()
        for key, value in changes.items():
            if key not in KEYS:
                raise TrainingConfigError(f"there is no training setting {key!r}", f"training.{key}",
                                          _known_hint(key, KEYS))
            if value is not None:
                data[key] = value
        return _parse(data)

    def to_dict(self) -> dict[str, Any]:
        """Every setting as plain JSON values (what a project's training section or a checkpoint holds)."""
        out = {
            "dataset": dict(self.dataset),
            "task": self.task,
            "loss": self.loss,
            "optimizer": self.optimizer.to_dict(),
            "schedule": self.schedule.to_dict(),
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "val_fraction": self.val_fraction,
            "seed": self.seed,
            "device": self.device,
            "grad_clip": self.grad_clip,
            "early_stopping": None if self.early_stopping is None else self.early_stopping.to_dict(),
            "augment": None if self.augment is None else dict(self.augment),
            "probe_every": self.probe_every,
            "mixed_precision": self.mixed_precision,
            # A supervised run's section stays as it was before GANs existed (checkpoints, run folders).
            **({"recipe": self.recipe, "gan": self.gan.to_dict()} if self.recipe == "gan" else {}),
        }
        if self.init is not None:  # left out otherwise: files and checkpoints of runs without it are unchanged
            out["init"] = self.init.to_dict()
        return out

    def replace(self, **changes: Any) -> TrainingConfig:
        """dataclasses.replace, for code that already holds checked values (no re-validation)."""
        return dataclasses.replace(self, **changes)

    # ---- facts ---------------------------------------------------------------------------------------

    @property
    def augment_active(self) -> bool:
        a = self.augment
        return bool(a) and bool(a.get("shift") or a.get("flip") or a.get("noise"))


def default_loss(task: str) -> str:
    return "CrossEntropyLoss" if task in ("classification", "language_model") else "MSELoss"


def check_task_and_loss(task: str, loss: str | None) -> str:
    """The loss to use for `task` (its default when `loss` is None); a TrainingConfigError if they clash."""
    if loss is None:
        return default_loss(task)
    if task == "language_model" and loss != "CrossEntropyLoss":
        raise TrainingConfigError(f"loss {loss} does not fit a language model (targets are the next tokens)",
                                  "training.loss", "use CrossEntropyLoss")
    if task == "classification" and loss != "CrossEntropyLoss":
        raise TrainingConfigError(f"loss {loss} does not fit a classification task (targets are class indices)",
                                  "training.loss", "use CrossEntropyLoss, or set task to regression")
    if task not in ("classification", "language_model") and loss == "CrossEntropyLoss":
        raise TrainingConfigError(f"CrossEntropyLoss needs class labels, but the task is {task}",
                                  "training.loss", "use MSELoss, L1Loss or HuberLoss for " + task)
    return loss


# ---- parsing ------------------------------------------------------------------------------------------------


def _parse(training: Mapping[str, Any] | None) -> TrainingConfig:
    if training is None:
        training = {}
    if not isinstance(training, Mapping):
        raise TrainingConfigError("the training section must be an object such as {\"epochs\": 20}", "training",
                                  "see docs/FILE_FORMAT.md (training) for its keys")
    for key in training:
        if key not in KEYS:
            raise TrainingConfigError(f"there is no training setting {_show(key)}", f"training.{key}",
                                      _known_hint(key, KEYS))
    dataset = _parse_dataset(training.get("dataset"))
    epochs = _int(training, "epochs", DEFAULT_EPOCHS, 1, MAX_EPOCHS, "e.g. 20")
    optimizer = _parse_optimizer(training.get("optimizer"))
    schedule = _parse_schedule(training.get("schedule"), epochs)
    task = _choice(training, "task", None, TASKS)
    if task is None:
        task = _dataset_task(dataset)
    loss = _choice(training, "loss", None, LOSSES)
    if task is not None:
        loss = check_task_and_loss(task, loss)
        if task == "classification" and _dataset_task(dataset) == "regression":
            raise TrainingConfigError(f"dataset {dataset['name']!r} has continuous targets, so it cannot be used "
                                      "for classification", "training.task",
                                      "set task to regression, or choose a classification dataset")
        if task == "regression" and _dataset_task(dataset) == "classification":
            raise TrainingConfigError(f"dataset {dataset['name']!r} has class labels, so it cannot be used for "
                                      "regression", "training.task",
                                      "set task to classification (or autoencoder), or choose a regression dataset")
        if (task == "language_model") != (_dataset_task(dataset) == "language_model"):
            data_task = _dataset_task(dataset)
            if data_task is not None:
                raise TrainingConfigError(f"dataset {dataset['name']!r} is for {data_task}, but the task is {task}",
                                          "training.task", f"set task to {data_task}, or choose another dataset")
    val_fraction = _number(training, "val_fraction", DEFAULT_VAL_FRACTION, "e.g. 0.2")
    if not 0.0 <= val_fraction < 1.0:
        raise TrainingConfigError(f"val_fraction must be at least 0 and below 1, not {_show(val_fraction)}",
                                  "training.val_fraction", "use e.g. 0.2 to keep a fifth of the data for validation")
    device = training.get("device", default_of("device"))
    if not _is_device(device):
        raise TrainingConfigError(f"unknown device {_show(device)}", "training.device",
                                  "use auto, cpu, cuda (or cuda:N) or mps")
    grad_clip = training.get("grad_clip")
    if grad_clip is not None:
        grad_clip = _number(training, "grad_clip", None, "e.g. 1.0, or null for no clipping")
        if grad_clip < 0:
            raise TrainingConfigError(f"grad_clip must be positive, not {_show(grad_clip)}", "training.grad_clip",
                                      "e.g. 1.0, or null for no clipping")
        grad_clip = grad_clip or None
    mixed = training.get("mixed_precision", default_of("mixed_precision"))
    if not isinstance(mixed, bool):
        raise TrainingConfigError(f"mixed_precision must be true or false, not {_show(mixed)}",
                                  "training.mixed_precision", "true uses float16 on CUDA (ignored elsewhere)")
    recipe = _choice(training, "recipe", default_of("recipe"), RECIPES)
    return TrainingConfig(
        recipe=recipe,
        gan=_parse_gan(training.get("gan")),
        dataset=dataset,
        task=task,
        loss=loss,
        optimizer=optimizer,
        schedule=schedule,
        epochs=epochs,
        batch_size=_int(training, "batch_size", DEFAULT_BATCH_SIZE, 1, MAX_BATCH_SIZE, "e.g. 64"),
        val_fraction=val_fraction,
        seed=_int(training, "seed", default_of("seed"), 0, MAX_SEED, "any whole number from 0, e.g. 0"),
        device=device,
        grad_clip=grad_clip,
        early_stopping=_parse_early_stopping(training.get("early_stopping")),
        augment=_parse_augment(training.get("augment")),
        probe_every=_int(training, "probe_every", DEFAULT_PROBE_EVERY, 0, 10**9, "e.g. 50, or 0 for no probes"),
        mixed_precision=mixed,
        init=_parse_init(training.get("init")),
    )


def _parse_init(value: Any) -> InitConfig | None:
    where = "training.init"
    if value is None:
        return None
    if isinstance(value, str):
        value = {"weights": value}
    if not isinstance(value, Mapping):
        raise TrainingConfigError("init must name a weights file, e.g. {\"weights\": \"resnet.safetensors\"}", where,
                                  "or null to start from the network's own initialisation")
    for key in value:
        if key not in INIT_KEYS:
            raise TrainingConfigError(f"init has no setting {_show(key)}", f"{where}.{key}", _known_hint(key, INIT_KEYS))
    weights = value.get("weights")
    if not isinstance(weights, str) or not weights.strip() or len(weights) > 4096 or "\0" in weights:
        raise TrainingConfigError(f"init.weights must be the path of a weights file, not {_show(weights)}",
                                  f"{where}.weights", "a .safetensors file (or a .pt state_dict), relative to the "
                                  "project file's folder")
    fresh = value.get("fresh", [])
    if not isinstance(fresh, list | tuple) or not all(isinstance(f, str) and f for f in fresh) or len(fresh) > 10_000:
        raise TrainingConfigError(f"init.fresh must be a list of node ids, not {_show(fresh)}", f"{where}.fresh",
                                  "e.g. [\"fc\"]: the layers that start from their own initialisation")
    return InitConfig(weights, tuple(dict.fromkeys(fresh)))


def _parse_dataset(value: Any) -> dict[str, Any]:
    from graph_engine.data import dataset_info, resolve_dataset_params

    if value is None:
        return dict(DEFAULT_DATASET)
    if isinstance(value, str):  # a bare name is accepted and normalised
        value = {"name": value}
    if not isinstance(value, Mapping):
        raise TrainingConfigError("dataset must be an object such as {\"name\": \"digits\"}", "training.dataset",
                                  "set dataset to {\"name\": \"digits\"}")
    if "name" not in value:
        from graph_engine.data import dataset_names

        raise TrainingConfigError("the dataset has no name", "training.dataset",
                                  "set name to one of: " + ", ".join(dataset_names()))
    info = dataset_info(value["name"])  # DatasetError (field training.dataset) suggesting the closest name
    resolve_dataset_params(info, value, None)  # checks every param without loading anything
    return dict(value)


def _dataset_task(dataset: Mapping[str, Any]) -> str | None:
    from graph_engine.data import dataset_info

    task = dataset_info(dataset["name"]).task
    if task == "auto":
        forced = dataset.get("task", "auto")
        return forced if forced in ("classification", "regression") else None
    return task


def _parse_optimizer(value: Any) -> OptimizerConfig:
    where = "training.optimizer"
    if value is None:
        return OptimizerConfig()
    if isinstance(value, str):
        value = {"name": value}
    if not isinstance(value, Mapping):
        raise TrainingConfigError("optimizer must be an object such as {\"name\": \"Adam\", \"lr\": 0.001}", where,
                                  "known optimizers: " + ", ".join(OPTIMIZERS))
    for key in value:
        if key not in OPTIMIZER_KEYS:
            raise TrainingConfigError(f"the optimizer has no setting {_show(key)}", f"{where}.{key}",
                                      _known_hint(key, OPTIMIZER_KEYS))
    name = _choice(value, "name", default_of("optimizer.name"), OPTIMIZERS, where=f"{where}.name")
    lr = _number(value, "lr", 0.01 if name == "SGD" else default_of("optimizer.lr"), "e.g. 0.001", where=f"{where}.lr")
    if lr <= 0:
        raise TrainingConfigError(f"the learning rate must be above 0, not {_show(lr)}", f"{where}.lr",
                                  "e.g. 0.001 for Adam, 0.01 for SGD")
    wd = _number(value, "weight_decay", 0.0, "e.g. 0.0001", where=f"{where}.weight_decay")
    if wd < 0:
        raise TrainingConfigError(f"weight_decay must be 0 or more, not {_show(wd)}", f"{where}.weight_decay",
                                  "e.g. 0.0001, or 0 for none")
    momentum = _number(value, "momentum", 0.0, "e.g. 0.9", where=f"{where}.momentum")
    if not 0.0 <= momentum < 1.0:
        raise TrainingConfigError(f"momentum must be at least 0 and below 1, not {_show(momentum)}",
                                  f"{where}.momentum", "e.g. 0.9")
    if momentum and name not in ("SGD", "RMSprop"):
        raise TrainingConfigError(f"{name} has no momentum setting", f"{where}.momentum",
                                  "momentum applies to SGD and RMSprop; Adam and AdamW use betas")
    nesterov = value.get("nesterov", False)
    if not isinstance(nesterov, bool):
        raise TrainingConfigError(f"nesterov must be true or false, not {_show(nesterov)}", f"{where}.nesterov")
    if nesterov and name != "SGD":
        raise TrainingConfigError(f"{name} has no nesterov setting", f"{where}.nesterov",
                                  "nesterov applies to SGD only")
    if nesterov and not momentum:
        raise TrainingConfigError("nesterov needs momentum above 0", f"{where}.nesterov",
                                  "set momentum to e.g. 0.9, or nesterov to false")
    betas = value.get("betas", (0.9, 0.999))
    if (not isinstance(betas, list | tuple) or len(betas) != 2
            or not all(_is_real(b) and 0.0 <= float(b) < 1.0 for b in betas)):
        raise TrainingConfigError(f"betas must be two numbers from 0 to below 1, not {_show(betas)}",
                                  f"{where}.betas", "e.g. [0.9, 0.999]")
    if name not in ("Adam", "AdamW") and "betas" in value and tuple(betas) != (0.9, 0.999):
        raise TrainingConfigError(f"{name} has no betas setting", f"{where}.betas",
                                  "betas apply to Adam and AdamW")
    return OptimizerConfig(name, lr, wd, momentum, nesterov, (float(betas[0]), float(betas[1])))


def _parse_schedule(value: Any, epochs: int) -> ScheduleConfig:
    where = "training.schedule"
    if value is None:
        return ScheduleConfig()
    if isinstance(value, str):
        value = {"name": value}
    if not isinstance(value, Mapping):
        raise TrainingConfigError("schedule must be an object such as {\"name\": \"cosine\"}", where,
                                  "known schedules: " + ", ".join(SCHEDULES))
    name = _choice(value, "name", default_of("schedule.name"), SCHEDULES, where=f"{where}.name")
    every = {p for params in SCHEDULE_PARAMS.values() for p in params}
    for key in value:
        if key != "name" and key not in every:
            raise TrainingConfigError(f"the schedule has no setting {_show(key)}", f"{where}.{key}",
                                      _known_hint(key, ("name", *SCHEDULE_PARAMS[name]) if SCHEDULE_PARAMS[name]
                                                  else ("name",)))
    mine = SCHEDULE_PARAMS[name]
    cfg: dict[str, Any] = {"name": name, "step_size": max(1, epochs // 3)}
    if "step_size" in mine:
        cfg["step_size"] = _int(value, "step_size", cfg["step_size"], 1, MAX_EPOCHS, "epochs between decays, e.g. 10",
                                where=f"{where}.step_size")
    if "gamma" in mine:
        cfg["gamma"] = _unit(value, "gamma", default_of("schedule.gamma"), where, "the factor applied at each step, e.g. 0.1",
                             low_open=True, high_closed=True)
    if "factor" in mine:
        cfg["factor"] = _unit(value, "factor", default_of("schedule.factor"), where, "the factor applied on a plateau, e.g. 0.1", low_open=True)
    if "pct_start" in mine:
        cfg["pct_start"] = _unit(value, "pct_start", default_of("schedule.pct_start"), where, "the part of training spent warming up, e.g. 0.3",
                                 low_open=True)
    if "patience" in mine:
        cfg["patience"] = _int(value, "patience", default_of("schedule.patience"), 0, MAX_EPOCHS, "epochs without improvement, e.g. 5",
                               where=f"{where}.patience")
    if "min_lr" in mine:
        cfg["min_lr"] = _number(value, "min_lr", default_of("schedule.min_lr"), "e.g. 0.00001", where=f"{where}.min_lr")
        if cfg["min_lr"] < 0:
            raise TrainingConfigError(f"min_lr must be 0 or more, not {_show(cfg['min_lr'])}", f"{where}.min_lr")
    if "max_lr" in mine:
        max_lr = value.get("max_lr")
        if max_lr is not None:
            max_lr = _number(value, "max_lr", None, "e.g. 0.01, or null for the optimizer's lr",
                             where=f"{where}.max_lr")
            if max_lr <= 0:
                raise TrainingConfigError(f"max_lr must be above 0, not {_show(max_lr)}", f"{where}.max_lr",
                                          "e.g. 0.01, or null for the optimizer's lr")
        cfg["max_lr"] = max_lr
    return ScheduleConfig(**cfg)


def _parse_early_stopping(value: Any) -> EarlyStoppingConfig | None:
    where = "training.early_stopping"
    if value is None or value is False:
        return None
    if value is True:
        return EarlyStoppingConfig()
    if not isinstance(value, Mapping):
        raise TrainingConfigError("early_stopping must be an object such as {\"patience\": 5}, true or null", where,
                                  "e.g. {\"patience\": 5, \"min_delta\": 0.0}")
    for key in value:
        if key not in EARLY_STOPPING_KEYS:
            raise TrainingConfigError(f"early_stopping has no setting {_show(key)}", f"{where}.{key}",
                                      _known_hint(key, EARLY_STOPPING_KEYS))
    enabled = value.get("enabled", True)
    if not isinstance(enabled, bool):
        raise TrainingConfigError(f"enabled must be true or false, not {_show(enabled)}", f"{where}.enabled")
    patience = _int(value, "patience", 5, 1, MAX_EPOCHS, "epochs without improvement before stopping, e.g. 5",
                    where=f"{where}.patience")
    min_delta = _number(value, "min_delta", 0.0, "the smallest change that counts as improvement, e.g. 0.001",
                        where=f"{where}.min_delta")
    if min_delta < 0:
        raise TrainingConfigError(f"min_delta must be 0 or more, not {_show(min_delta)}", f"{where}.min_delta")
    return EarlyStoppingConfig(patience, min_delta) if enabled else None


def _parse_gan(value: Any) -> GanConfig:
    where = "training.gan"
    if value is None:
        return GanConfig()
    if not isinstance(value, Mapping):
        raise TrainingConfigError("gan must be an object such as {\"g_lr\": 0.0002}", where,
                                  "known settings: " + ", ".join(GAN_PARAMS))
    for key in value:
        if key not in GAN_PARAMS:
            raise TrainingConfigError(f"the gan section has no setting {_show(key)}", f"{where}.{key}",
                                      _known_hint(key, GAN_PARAMS))
    cfg: dict[str, Any] = {}
    for key in ("g_lr", "d_lr"):
        cfg[key] = _number(value, key, default_of(f"gan.{key}"), "e.g. 0.0002", where=f"{where}.{key}")
        if cfg[key] <= 0:
            raise TrainingConfigError(f"{key} must be above 0, not {_show(cfg[key])}", f"{where}.{key}",
                                      "e.g. 0.0002 (DCGAN's learning rate)")
    cfg["beta1"] = _unit(value, "beta1", default_of("gan.beta1"), where, "e.g. 0.5 (DCGAN)")
    cfg["beta2"] = _unit(value, "beta2", default_of("gan.beta2"), where, "e.g. 0.999")
    cfg["label_smoothing"] = _number(value, "label_smoothing", default_of("gan.label_smoothing"), "e.g. 0.1",
                                     where=f"{where}.label_smoothing")
    if not 0.0 <= cfg["label_smoothing"] <= 0.5:
        raise TrainingConfigError(f"label_smoothing must be from 0 to 0.5, not {_show(cfg['label_smoothing'])}",
                                  f"{where}.label_smoothing", "e.g. 0.1: real samples are labelled 0.9")
    cfg["instance_noise"] = _number(value, "instance_noise", default_of("gan.instance_noise"), "e.g. 0.1",
                                    where=f"{where}.instance_noise")
    if not 0.0 <= cfg["instance_noise"] <= 10.0:
        raise TrainingConfigError(f"instance_noise must be from 0 to 10, not {_show(cfg['instance_noise'])}",
                                  f"{where}.instance_noise", "e.g. 0.1 (the noise's std at the first epoch), 0: none")
    cfg["samples"] = _int(value, "samples", default_of("gan.samples"), 1, 1024, "e.g. 64",
                          where=f"{where}.samples")
    return GanConfig(**cfg)


def _parse_augment(value: Any) -> dict[str, Any] | None:
    from graph_engine.data import check_augment_config

    if value is None or value is False:
        return None
    checked = check_augment_config(value)  # DatasetError with field training.augment
    return checked if (checked["shift"] or checked["flip"] or checked["noise"]) else None


# ---- value helpers -----------------------------------------------------------------------------------------


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _known_hint(key: Any, known: tuple[str, ...]) -> str:
    from graph_engine.params import closest_name

    guess = closest_name(key, known) if isinstance(key, str) else None
    return f"did you mean {guess!r}?" if guess else "known settings: " + ", ".join(known)


def _is_real(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _int(data: Mapping[str, Any], key: str, default: Any, low: int, high: int, hint: str,
         where: str | None = None) -> Any:
    value = data.get(key, default)
    if value is None and default is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise TrainingConfigError(f"{key} must be a whole number, not {_show(value)}", where or f"training.{key}",
                                  hint)
    if not low <= value <= high:
        raise TrainingConfigError(f"{key} must be from {low} to {high}, not {value}", where or f"training.{key}",
                                  hint)
    return value


def _number(data: Mapping[str, Any], key: str, default: Any, hint: str, where: str | None = None) -> Any:
    value = data.get(key, default)
    if not _is_real(value):
        raise TrainingConfigError(f"{key} must be a finite number, not {_show(value)}", where or f"training.{key}",
                                  hint)
    return float(value)


def _unit(data: Mapping[str, Any], key: str, default: float, where: str, hint: str, *, low_open: bool = False,
          high_closed: bool = False) -> float:
    value = _number(data, key, default, hint, where=f"{where}.{key}")
    ok = (value > 0 if low_open else value >= 0) and (value <= 1 if high_closed else value < 1)
    if not ok:
        span = f"{'above' if low_open else 'at least'} 0 and {'at most' if high_closed else 'below'} 1"
        raise TrainingConfigError(f"{key} must be {span}, not {_show(value)}", f"{where}.{key}", hint)
    return value


def _choice(data: Mapping[str, Any], key: str, default: Any, choices: tuple[str, ...],
            where: str | None = None) -> Any:
    from graph_engine.params import closest_name

    value = data.get(key, default)
    if value is None and default is None:
        return None
    if value not in choices or not isinstance(value, str):
        guess = closest_name(value, choices) if isinstance(value, str) else None
        hint = f"did you mean {guess!r}?" if guess else "choose one of: " + ", ".join(choices)
        raise TrainingConfigError(f"unknown {key} {_show(value)}", where or f"training.{key}", hint)
    return value


def _is_device(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    if value in DEVICES:
        return True
    head, _, index = value.partition(":")
    return head == "cuda" and index.isdigit() and len(index) <= 3


__all__ = [
    "DEVICES",
    "KEYS",
    "LOSSES",
    "OPTIMIZERS",
    "SCHEDULES",
    "TASKS",
    "EarlyStoppingConfig",
    "InitConfig",
    "GanConfig",
    "OptimizerConfig",
    "ScheduleConfig",
    "TrainingConfig",
    "TrainingConfigError",
    "check_task_and_loss",
    "default_loss",
]
