"""The training settings described once, as data, the way the catalog describes layers.

Each `Setting` names a key of the project's training section ("epochs", "optimizer.lr", "schedule.gamma"),
the section of the settings form it belongs to, its label, and a catalog `Param` (kind, default, range,
choices, doc). `config.py` takes its defaults and choices from here, the app builds its settings editors from
`SETTINGS`, and the CLI and the status bar read `default_of(...)`. The dataset's own params come from the
dataset registry (graph_engine.data) and the augmentation's from `graph_engine.data.AUGMENT_PARAMS`, which
are data already.

`shown_when` is (key, values): the setting applies (and its editor shows) only while that other setting has
one of those values, e.g. momentum only for SGD and RMSprop. Importing this module does not import torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graph_engine.catalog.spec import Param, ParamKind

TASKS = ("classification", "regression", "autoencoder", "language_model")
LOSSES = ("CrossEntropyLoss", "MSELoss", "L1Loss", "HuberLoss")
OPTIMIZERS = ("SGD", "Adam", "AdamW", "RMSprop")
SCHEDULES = ("none", "step", "cosine", "onecycle", "plateau")
DEVICES = ("auto", "cpu", "cuda", "mps")
RECIPES = ("supervised", "gan")  # gan: the project's graph is a generator and it holds a discriminator
MAX_EPOCHS = 100_000
MAX_BATCH_SIZE = 1 << 20
MAX_SEED = 2**32 - 1  # numpy's legacy seed range
AUTO = "auto"  # task and loss: "decided by the dataset / the task" (the key is left out of the file)


@dataclass(frozen=True)
class Setting:
    key: str  # dotted path in the training section
    section: str  # the settings form's heading
    label: str
    param: Param
    shown_when: tuple[str, tuple[Any, ...]] | None = None

    @property
    def default(self) -> Any:
        return self.param.default


P = ParamKind
_SCHEDULE = ("schedule.name",)
_GAN = ("recipe", ("gan",))


def _s(key: str, section: str, label: str, kind: ParamKind, default: Any, doc: str, *,
       when: tuple[str, tuple[Any, ...]] | None = None, **bounds: Any) -> Setting:
    return Setting(key, section, label, Param(key.rpartition(".")[2], kind, default, doc, **bounds), when)


SETTINGS: tuple[Setting, ...] = (
    _s("task", "Task", "task", P.CHOICE, AUTO, "what the network learns; auto: what the dataset serves",
       choices=(AUTO, *TASKS)),
    _s("loss", "Task", "loss", P.CHOICE, AUTO, "auto: CrossEntropyLoss for classification and language models, MSELoss otherwise",
       choices=(AUTO, *LOSSES)),
    _s("optimizer.name", "Optimizer", "optimizer", P.CHOICE, "Adam", "the update rule", choices=OPTIMIZERS),
    _s("optimizer.lr", "Optimizer", "learning rate", P.FLOAT, 0.001,
       "learning rate: the step size of each update (Adam 0.001, SGD 0.01)", min=0.0),
    _s("optimizer.weight_decay", "Optimizer", "weight decay", P.FLOAT, 0.0,
       "L2 penalty on the weights (AdamW: decoupled)", min=0.0),
    _s("optimizer.momentum", "Optimizer", "momentum", P.FLOAT, 0.0,
       "SGD and RMSprop: how much of the last update carries over", min=0.0, max=0.999,
       when=("optimizer.name", ("SGD", "RMSprop"))),
    _s("optimizer.nesterov", "Optimizer", "nesterov", P.BOOL, False,
       "SGD: Nesterov momentum (needs momentum above 0)", when=("optimizer.name", ("SGD",))),
    _s("schedule.name", "Optimizer", "schedule", P.CHOICE, "none", "how the learning rate changes during the run",
       choices=SCHEDULES),
    _s("schedule.step_size", "Optimizer", "step size", P.INT, None,
       "epochs between decays (none: a third of the epochs)", min=1, max=MAX_EPOCHS, nullable=True,
       when=("schedule.name", ("step",))),
    _s("schedule.gamma", "Optimizer", "gamma", P.FLOAT, 0.1, "factor applied at each decay", min=0.0, max=1.0,
       when=("schedule.name", ("step",))),
    _s("schedule.min_lr", "Optimizer", "min lr", P.FLOAT, 0.0, "the lowest learning rate (cosine: at the end)",
       min=0.0, when=("schedule.name", ("cosine", "plateau"))),
    _s("schedule.max_lr", "Optimizer", "max lr", P.FLOAT, None, "peak learning rate (none: the optimizer's lr)",
       min=0.0, nullable=True, when=("schedule.name", ("onecycle",))),
    _s("schedule.pct_start", "Optimizer", "warm-up", P.FLOAT, 0.3, "part of the run spent warming up",
       min=0.0, max=1.0, when=("schedule.name", ("onecycle",))),
    _s("schedule.factor", "Optimizer", "factor", P.FLOAT, 0.1, "factor applied on a plateau", min=0.0, max=1.0,
       when=("schedule.name", ("plateau",))),
    _s("schedule.patience", "Optimizer", "patience", P.INT, 5, "epochs without improvement before decaying",
       min=0, max=MAX_EPOCHS, when=("schedule.name", ("plateau",))),
    _s("epochs", "Run", "epochs", P.INT, 20, "passes over the training set", min=1, max=MAX_EPOCHS),
    _s("batch_size", "Run", "batch size", P.INT, 64, "samples per step", min=1, max=MAX_BATCH_SIZE),
    _s("val_fraction", "Run", "validation", P.FLOAT, 0.2, "the part of the data kept for validation (0: none)",
       min=0.0, max=0.95),
    _s("seed", "Run", "seed", P.INT, 0, "the same seed gives the same split, initial weights and run (on CPU)",
       min=0, max=2**31 - 1),
    _s("early_stopping.patience", "Run", "early stop", P.INT, None,
       "stop after this many epochs without improvement (none: off)", min=1, max=MAX_EPOCHS, nullable=True),
    _s("grad_clip", "Run", "gradient clip", P.FLOAT, None, "largest gradient norm (none: no clipping), e.g. 1.0",
       min=0.0, nullable=True),
    _s("device", "Device", "device", P.CHOICE, "auto", "where the run trains (cuda:N picks one GPU)",
       choices=DEVICES),
    # Off unless asked for: float16 changes the numbers a run gives, and it can apply only on a CUDA GPU
    # (docs/DECISIONS.md, "The first hour, continued").
    _s("mixed_precision", "Device", "mixed precision", P.BOOL, False,
       "float16 autocast on a CUDA GPU: faster there, slightly different numbers (ignored elsewhere)"),
    _s("probe_every", "Device", "probe every", P.INT, 50,
       "steps between layer statistics for the live plots (0: never)", min=0, max=1_000_000),
    _s("recipe", "Task", "recipe", P.CHOICE, "supervised",
       "supervised: learn the dataset's targets; gan: a generator learns to make samples a discriminator "
       "cannot tell from the dataset's", choices=RECIPES),
    _s("gan.g_lr", "GAN", "generator lr", P.FLOAT, 0.0002, "the generator's learning rate (Adam)", min=0.0,
       when=_GAN),
    _s("gan.d_lr", "GAN", "discriminator lr", P.FLOAT, 0.0002, "the discriminator's learning rate (Adam)",
       min=0.0, when=_GAN),
    _s("gan.beta1", "GAN", "beta1", P.FLOAT, 0.5, "Adam's first beta for both networks (DCGAN: 0.5)", min=0.0,
       max=0.999, when=_GAN),
    _s("gan.beta2", "GAN", "beta2", P.FLOAT, 0.999, "Adam's second beta for both networks", min=0.0, max=0.9999,
       when=_GAN),
    _s("gan.label_smoothing", "GAN", "label smoothing", P.FLOAT, 0.1,
       "real samples are labelled 1 - this for the discriminator (one-sided smoothing)", min=0.0, max=0.5,
       when=_GAN),
    _s("gan.instance_noise", "GAN", "instance noise", P.FLOAT, 0.0,
       "std of noise added to what the discriminator sees, fading to 0 over the run (0: none)", min=0.0,
       max=10.0, when=_GAN),
    _s("gan.samples", "GAN", "samples", P.INT, 64, "fixed-noise samples drawn after every epoch", min=1, max=1024,
       when=_GAN),
)
BY_KEY: dict[str, Setting] = {s.key: s for s in SETTINGS}
SECTIONS: tuple[str, ...] = tuple(dict.fromkeys(s.section for s in SETTINGS))
# The schedule params each schedule reads (config.py checks these names).
SCHEDULE_PARAMS: dict[str, tuple[str, ...]] = {
    name: tuple(s.key.partition(".")[2] for s in SETTINGS
                if s.shown_when is not None and s.shown_when[0] == "schedule.name" and name in s.shown_when[1])
    for name in SCHEDULES
}


# The gan section's keys (config.py checks these names).
GAN_PARAMS: tuple[str, ...] = tuple(s.key.partition(".")[2] for s in SETTINGS if s.key.startswith("gan."))


def setting(key: str) -> Setting:
    """The description of one key; KeyError for a key that is not a training setting."""
    return BY_KEY[key]


def default_of(key: str) -> Any:
    return BY_KEY[key].param.default


def in_section(section: str) -> tuple[Setting, ...]:
    return tuple(s for s in SETTINGS if s.section == section)


__all__ = ["AUTO", "BY_KEY", "DEVICES", "GAN_PARAMS", "RECIPES", "LOSSES", "MAX_BATCH_SIZE", "MAX_EPOCHS", "MAX_SEED", "OPTIMIZERS",
           "SCHEDULES", "SCHEDULE_PARAMS", "SECTIONS", "SETTINGS", "TASKS", "Setting", "default_of", "in_section",
           "setting"]
