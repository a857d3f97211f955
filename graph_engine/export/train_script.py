"""The exported training script: `write_train_script(project, "train.py", code_path="model.py")`.

The script is standalone: it imports torch, numpy, safetensors (to save weights) and the dataset's own
package (scikit-learn for the built-in tables and digits, Pillow for image folders), never LayerLoom. It does
not embed the model: it loads the exported model code from a file next to it (`MODEL_FILE`, the path of the
`--code` file relative to the script), so the class the app runs and the class the script trains are the
same file, and the weights it saves load into that class with `strict=True`.

What it reproduces. The settings come from `TrainingConfig.from_project(project)` (the same parsing and
defaults as `layerloom train`), written into the script as literals. The code is copied, not rewritten: the
training primitives from graph_engine.training.recipe (the functions the Trainer runs), the loop and command
line from train_script_main.py, the dataset's loader from train_script_data.py; only the functions the project
uses are copied, and its settings fold the loop's optional branches away (source_copy.py). So `python
train.py` on CPU reports the same numbers as the app's trainer for the same seed (tested). User files (csv,
npz, image folder) get a compact loader for the same path (override with `--data`).

Distributed. Under `torchrun --nproc_per_node N` (WORLD_SIZE > 1) the script initialises a process group
(gloo on CPU, nccl on CUDA), wraps the model in DistributedDataParallel, shards the training set with a
DistributedSampler (seeded, `set_epoch` every epoch) and the validation set by rank, combines the metric sums
with all_reduce, and only rank 0 prints and saves. `--batch-size` is per process.
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path
from typing import Any

from graph_engine.errors import InvalidGraphError, ProjectError
from graph_engine.export import train_script_data
from graph_engine.export.source_copy import collect, fold, function_source, names_used
from graph_engine.gan import is_gan
from graph_engine.project import Project, class_name_for
from graph_engine.project_io import atomic_write_text
from graph_engine.validation import CheckResult, check

USER_FILE_DATASETS = ("csv", "npz", "image_folder", "char_text")
DISCRIMINATOR_FILE = "discriminator.py"  # a GAN's second network, beside the model file
SKLEARN_DATASETS = ("digits", "iris", "wine", "breast_cancer", "diabetes")
STANDARDISED = ("iris", "wine", "breast_cancer", "diabetes", "csv", "npz")


def write_train_script(project: Project, path: str | os.PathLike, code_path: str | os.PathLike | None = None, *,
                       base_dir: str | os.PathLike | None = None, result: CheckResult | None = None) -> Path:
    """Write the training script to `path` (atomically); it loads the model from `code_path` (default: a
    model.py next to it). `base_dir` is where relative dataset paths start (the project file's folder)."""
    path = Path(path)
    code = Path(code_path) if code_path is not None else path.with_name("model.py")
    relative = os.path.relpath(code.resolve(), path.resolve().parent)
    source = generate_train_script(project, model_file=Path(relative).as_posix(), script_name=path.name,
                                   base_dir=base_dir, result=result)
    if is_gan(project):  # the discriminator's code goes beside the generator's (model.py)
        from graph_engine.codegen import generate_code
        from graph_engine.gan import discriminator_project

        atomic_write_text(code.with_name(DISCRIMINATOR_FILE), generate_code(discriminator_project(project)))
    atomic_write_text(path, source)
    return path


def generate_train_script(project: Project, *, model_file: str = "model.py", script_name: str = "train.py",
                          base_dir: str | os.PathLike | None = None, result: CheckResult | None = None) -> str:
    """The training script's source (see the module docstring). Raises ProjectError when the project cannot
    be trained as it stands (invalid network, bad training settings, not one Input and one Output)."""
    from graph_engine.data import dataset_info, resolve_dataset_params
    from graph_engine.training.config import TrainingConfig, check_task_and_loss

    result = result or check(project)
    if not result.ok:
        raise InvalidGraphError(f"the network has {len(result.errors)} error(s); first: {result.errors[0]}",
                                result.errors)
    config = TrainingConfig.from_project(project)
    if config.recipe == "gan" or is_gan(project):
        return _gan_script(project, config, model_file, script_name, result)
    live = [n for n in result.order if n in result.live]
    inputs = [n for n in live if project.graph.node(n).op == "Input"]
    outputs = [n for n in live if project.graph.node(n).op == "Output"]
    if len(inputs) != 1 or len(outputs) != 1:
        what, found = ("Input", inputs) if len(inputs) != 1 else ("Output", outputs)
        raise ProjectError(f"a training script needs exactly one {what} node; this network has {len(found)}",
                           field="training",
                           hint="training feeds one dataset into one Input and compares one Output with its targets")
    in_type = result.nodes[inputs[0]].outputs[0]
    name = config.dataset["name"]
    info = dataset_info(name)
    if not callable(getattr(train_script_data, f"load_{name}", None)):
        raise ProjectError(f"the exported train.py cannot make the {info.title!r} dataset yet", field="training.dataset",
                           hint="train it in LayerLoom (`layerloom train`), or export with a dataset the script "
                                "knows, such as digits or an image folder")
    params = resolve_dataset_params(info, config.dataset, base_dir)
    dataset: dict[str, Any] = {"name": name}
    for key, value in params.items():
        dataset[key] = str(value) if isinstance(value, Path) else value
    if name == "char_text" and dataset["path"] is None:
        from graph_engine.data.text_chars import DEFAULT_TEXT

        dataset["path"] = str(DEFAULT_TEXT)  # the shipped text (--data gives another)
    task = config.task
    loss = config.loss
    if task is not None:
        loss = check_task_and_loss(task, loss)
    image_shape = None
    if name == "digits":
        image_shape = (1, 8, 8)
    elif name in ("stroke_digits", "shapes"):
        image_shape = (1, 28, 28) if params["color"] == "grayscale" else (3, 32, 32)
    elif name == "image_folder":
        image_shape = (1 if params["color"] == "grayscale" else 3, params["size"], params["size"])
    user_file = name in USER_FILE_DATASETS
    extra = (["scikit-learn"] if name in SKLEARN_DATASETS else []) + (["Pillow"] if name == "image_folder" else [])
    out_shape = tuple(int(d) for d in result.nodes[outputs[0]].inputs[0].shape)
    settings, flags = _settings_and_flags(config, task, loss, dataset, in_type, out_shape, image_shape, model_file,
                                          user_file)
    _transfer_settings(project, config, base_dir, settings, flags)
    pool = _function_pool(config, name, flags)
    functions = [pool[n] for n in collect(["main"], pool)]
    used = set().union(*(names_used(f) for f in functions)) | {"Path"}  # HERE needs Path
    constants = [f"{key} = {_literal(value)}{_COMMENTS.get(key, '')}" for key, value in settings.items() if key in used]
    stdlib = "\n".join(line for line, bound in _STDLIB if bound in used)
    third_party = "\n".join(line for line, bound in _THIRD_PARTY if bound in used)
    doc = _docstring(project, model_file, script_name, extra, user_file, bool(flags["STARTS_FROM"]),
                     task == "language_model")
    head = f"{doc}\n{stdlib}\n\n{third_party}\n\nHERE = Path(__file__).resolve().parent\n" + "\n".join(constants)
    body = "\n\n\n".join(f.strip("\n") for f in functions)
    return f'{head}\n\n\n{body}\n\n\nif __name__ == "__main__":\n    main()\n'


_STDLIB = (("import argparse", "argparse"), ("import contextlib", "contextlib"), ("import gc", "gc"),
           ("import importlib.util", "importlib"), ("import json", "json"), ("import math", "math"),
           ("import os", "os"), ("import random", "random"), ("import struct", "struct"), ("import sys", "sys"),
           ("import time", "time"), ("import zlib", "zlib"),
           ("from pathlib import Path", "Path"))
_THIRD_PARTY = (("import numpy as np", "np"), ("import torch", "torch"), ("import torch.nn.functional as F", "F"))

_COMMENTS = {
    "MODEL_FILE": "  # relative to this file",
    "LOSS": "  # in torch.nn.functional",
    "BATCH_SIZE": "  # per process",
    "INPUT_SHAPE": "  # one sample, batch excluded",
    "OUTPUT_SHAPE": "  # the network's output for one sample",
    "IMAGE_SHAPE": "  # how augmentation views a sample",
    "GRAD_CLIP": "  # largest gradient norm (None: no clipping)",
    "INIT_WEIGHTS": "  # start from these weights (--init; None: the model's own initialisation)",
    "FRESH": "  # layers that start from their own initialisation although INIT_WEIGHTS is given",
    "FROZEN": "  # layers not trained (trainable: false in the project)",
}

_LOSS_FUNCTIONS = {"CrossEntropyLoss": "cross_entropy", "MSELoss": "mse_loss", "L1Loss": "l1_loss",
                   "HuberLoss": "huber_loss"}


def _settings_and_flags(config: Any, task: str | None, loss: str | None, dataset: dict[str, Any], in_type: Any,
                        out_shape: tuple, image_shape: tuple | None, model_file: str,
                        user_file: bool) -> tuple[dict[str, Any], dict[str, bool | str]]:
    """The script's constants (only the referenced ones are written) and the flags that fold its branches."""
    from graph_engine.training.loop import (
        SAMPLE_LENGTH,
        SAMPLE_PROMPT,
        SAMPLE_TEMPERATURE,
        recipe_optimizer,
        recipe_schedule,
    )

    schedule = recipe_schedule(config)
    settings: dict[str, Any] = {
        "MODEL_FILE": model_file, "DATASET": dataset, "TASK": task,
        "LOSS": _LOSS_FUNCTIONS[loss] if loss else None,
        "OPTIMIZER": recipe_optimizer(config)[1], "SCHEDULE": schedule[1] if schedule else None,
        "EPOCHS": config.epochs, "BATCH_SIZE": config.batch_size, "VAL_FRACTION": float(config.val_fraction),
        "SEED": config.seed, "DEVICE": config.device, "GRAD_CLIP": config.grad_clip,
        "EARLY_STOPPING": None if config.early_stopping is None else config.early_stopping.to_dict(),
        "AUGMENT": dict(config.augment) if config.augment_active else None,
        "INPUT_SHAPE": tuple(int(d) for d in in_type.shape), "OUTPUT_SHAPE": out_shape, "IMAGE_SHAPE": image_shape,
        "EVAL_CHUNK": 1024, "SAMPLE_PROMPT": SAMPLE_PROMPT, "SAMPLE_LENGTH": SAMPLE_LENGTH,
        "SAMPLE_TEMPERATURE": SAMPLE_TEMPERATURE,
    }
    if settings["AUGMENT"] is not None:
        settings["AUGMENT"]["shift"] = int(settings["AUGMENT"]["shift"])
    flags: dict[str, bool | str] = {
        "USER_FILE": user_file, "TASK_KNOWN": task is not None,
        "CLASSIFICATION": task == "classification" if task is not None else 'task == "classification"',
        "AUTOENCODER": task == "autoencoder", "LANGUAGE_MODEL": task == "language_model",
        "AUGMENTED": config.augment_active,
        "CLIPPED": bool(config.grad_clip), "MIXED_PRECISION": bool(config.mixed_precision),
        "SCHEDULED": schedule is not None, "PER_BATCH_SCHEDULE": config.schedule.per_batch,
        "PLATEAU_SCHEDULE": config.schedule.name == "plateau", "EARLY_STOPPED": config.early_stopping is not None,
    }
    return settings, flags


def _transfer_settings(project: Project, config: Any, base_dir: Any, settings: dict[str, Any],
                       flags: dict[str, bool | str]) -> None:
    """Transfer learning: the starting weights (an absolute path, like the dataset's), the layers started fresh
    and the frozen ones (graph_engine/training/freezing.py), as in the app's trainer."""
    from graph_engine.training.freezing import frozen_paths
    from graph_engine.training.init_weights import resolve_path

    init = config.init
    settings["INIT_WEIGHTS"] = None if init is None else str(resolve_path(init.weights, base_dir))
    settings["FRESH"] = () if init is None else tuple(init.fresh)
    settings["FROZEN"] = tuple(frozen_paths(project))
    flags["FROZEN_LAYERS"] = bool(settings["FROZEN"])
    # A project that starts from weights or freezes layers is transfer learning: its script takes --init W.
    flags["STARTS_FROM"] = init is not None or flags["FROZEN_LAYERS"]


def _function_pool(config: Any, dataset_name: str, flags: dict[str, bool | str]) -> dict[str, str]:
    """name -> folded source of every function the script may copy, in the order the script lists them."""
    from graph_engine.data.image_folder import decode_image
    from graph_engine.data.output_fit import output_mismatch
    from graph_engine.data.text_chars import char_windows
    from graph_engine.export import train_script_data as data_code
    from graph_engine.export import train_script_main as main_code
    from graph_engine.sampling.text import sample_ids
    from graph_engine.training import recipe
    from graph_engine.training.loop import recipe_optimizer, recipe_schedule

    pool: dict[str, str] = {"load_data": function_source(getattr(data_code, f"load_{dataset_name}"), "load_data")}
    for helper in ("standardise", "table_classes", "class_sizes", "finish_points", "windows", "read_text_file",
                   "text_vocabulary"):
        pool[helper] = function_source(getattr(data_code, helper))
    pool["char_windows"] = function_source(char_windows)  # the char_text dataset's own windows
    pool.update(_procedural_pool())
    pool["sample_ids"] = function_source(sample_ids)  # the trainer's text sampler (graph_engine/sampling/text.py)
    skip = set(recipe.OPTIMIZERS.values()) | set(recipe.SCHEDULES.values())
    for name, fn in vars(recipe).items():
        if inspect.isfunction(fn) and fn.__module__ == recipe.__name__ and fn not in skip:
            pool[name] = function_source(fn)
    pool["make_optimizer"] = function_source(recipe_optimizer(config)[0], "make_optimizer")
    schedule = recipe_schedule(config)
    if schedule is not None:
        pool["make_scheduler"] = function_source(schedule[0], "make_scheduler")
    # The output rule is the trainer's own (graph_engine/data/output_fit.py).
    pool["output_mismatch"] = function_source(output_mismatch)
    pool["decode_image"] = function_source(decode_image)  # the app's image decoder (16-bit images, bombs)
    for name in ("load_model_module", "prepare_data", "parse_args", "start_from", "to_device", "main"):
        pool[name] = fold(function_source(getattr(main_code, name)), flags)
    return pool


def _gan_dataset(config: Any) -> dict[str, Any]:
    """The dataset's settings with every param's default filled in (the loaders read them all)."""
    from graph_engine.data import dataset_info, resolve_dataset_params

    name = config.dataset["name"]
    return {"name": name, **resolve_dataset_params(dataset_info(name), config.dataset)}


def _procedural_pool() -> dict[str, str]:
    """The stroke digits' and shapes' drawing functions, drawn as the app draws them."""
    from graph_engine.data import procedural_images as procedural

    return {fn.__name__: function_source(fn) for fn in (
        procedural.arc, procedural.segments, procedural.star, procedural.digit_glyphs, procedural.shape_glyphs,
        procedural.padded_glyphs, procedural.draw_glyphs, procedural.glyph_images)}


def _gan_script(project: Project, config: Any, model_file: str, script_name: str, result: CheckResult) -> str:
    """The training script of a GAN project: the same assembly from real functions, with the adversarial loop
    of train_script_gan.py; the discriminator is loaded from DISCRIMINATOR_FILE beside the model file."""
    from graph_engine.export import train_script_gan as gan_code
    from graph_engine.gan import check_gan
    from graph_engine.training import gan_recipe, image_grid, recipe
    from graph_engine.training.gan_loop import FIXED_NOISE_OFFSET, REAL_DIVERSITY_SAMPLES

    nets = check_gan(project, result)
    name = config.dataset["name"]
    if not callable(getattr(train_script_data, f"load_{name}", None)) or name in USER_FILE_DATASETS:
        raise ProjectError(f"the exported train.py cannot make the {name!r} dataset for a GAN yet",
                           field="training.dataset", hint="train it in LayerLoom (`layerloom train`), or use digits")
    discriminator_file = (Path(model_file).parent / DISCRIMINATOR_FILE).as_posix()
    settings: dict[str, Any] = {
        "MODEL_FILE": model_file, "DISCRIMINATOR_FILE": discriminator_file, "DATASET": _gan_dataset(config),
        "GAN": config.gan.to_dict(), "EPOCHS": config.epochs, "BATCH_SIZE": config.batch_size, "SEED": config.seed,
        "DEVICE": config.device, "NOISE_SHAPE": nets.noise_shape, "SAMPLE_SHAPE": nets.sample_shape,
        "FIXED_NOISE_SEED_OFFSET": FIXED_NOISE_OFFSET, "REAL_DIVERSITY_SAMPLES": REAL_DIVERSITY_SAMPLES,
        "COLLAPSE_GRACE_EPOCHS": gan_recipe.COLLAPSE_GRACE_EPOCHS,
    }
    pool: dict[str, str] = {"load_data": function_source(getattr(train_script_data, f"load_{name}"), "load_data")}
    for helper in ("standardise", "table_classes", "class_sizes", "finish_points", "windows"):
        pool[helper] = function_source(getattr(train_script_data, helper))
    pool.update(_procedural_pool())
    skip = set(recipe.OPTIMIZERS.values()) | set(recipe.SCHEDULES.values())
    for module in (recipe, gan_recipe, image_grid):
        for fn_name, fn in vars(module).items():
            if inspect.isfunction(fn) and fn.__module__ == module.__name__ and fn not in skip:
                pool[fn_name] = function_source(fn)
    for fn_name in ("load_module", "parse_gan_args", "main"):
        pool[fn_name] = function_source(getattr(gan_code, fn_name))
    functions = [pool[n] for n in collect(["main"], pool)]
    used = set().union(*(names_used(f) for f in functions)) | {"Path"}
    constants = [f"{key} = {_literal(value)}{_COMMENTS.get(key, '')}" for key, value in settings.items() if key in used]
    stdlib = "\n".join(line for line, bound in _STDLIB if bound in used)
    third_party = "\n".join(line for line, bound in _THIRD_PARTY if bound in used)
    doc = _gan_docstring(project, model_file, discriminator_file, script_name)
    head = f"{doc}\n{stdlib}\n\n{third_party}\n\nHERE = Path(__file__).resolve().parent\n" + "\n".join(constants)
    body = "\n\n\n".join(f.strip("\n") for f in functions)
    return f'{head}\n\n\n{body}\n\n\nif __name__ == "__main__":\n    main()\n'


def _gan_docstring(project: Project, model_file: str, discriminator_file: str, script_name: str) -> str:
    return f'''"""Train the GAN {class_name_for(project.name)} ("{_doc_text(project.name)}") as LayerLoom trains it, without LayerLoom.

Needs torch, numpy, scikit-learn and safetensors; the generator is {_doc_text(model_file)} and the discriminator
{_doc_text(discriminator_file)} (LayerLoom's exported code).

    python {_doc_text(script_name)} [--epochs N --g-lr LR --d-lr LR --batch-size N --device auto|cpu|cuda|mps --out DIR --seed N]
    torchrun --standalone --nproc_per_node 2 {_doc_text(script_name)}   (DistributedDataParallel; --batch-size is per process)

Writes DIR/model.safetensors (the generator: create_model().load_state_dict(..., strict=True)),
DIR/discriminator.safetensors, DIR/samples.png (samples of fixed noise) and DIR/metrics.json.
"""
'''


def _docstring(project: Project, model_file: str, script_name: str, extra: list[str], user_file: bool,
               starts_from: bool, language_model: bool = False) -> str:
    """The script's docstring: what it trains, what it needs, how to run it."""
    packages = "".join(f", {p}" for p in extra)
    vocab = (" and DIR/vocabulary.json (id -> character),\nand prints text the trained model writes"
             if language_model else "")
    data_flag = (" --init W" if starts_from else "") + (" --data PATH" if user_file else "")
    return f'''"""Train {class_name_for(project.name)} ("{_doc_text(project.name)}") as LayerLoom trained it, without LayerLoom.

Needs torch, numpy{packages} and safetensors; the model comes from {_doc_text(model_file)} (LayerLoom's exported code).

    python {_doc_text(script_name)} [--epochs N --lr LR --batch-size N --device auto|cpu|cuda|mps --out DIR --seed N{data_flag}]
    torchrun --standalone --nproc_per_node 2 {_doc_text(script_name)}   (DistributedDataParallel; --batch-size is per process)

Writes DIR/model.safetensors (load with create_model().load_state_dict(..., strict=True)) and DIR/metrics.json{vocab}.
"""
'''


def dataset_problem(project: Project, *, base_dir: str | os.PathLike | None = None,
                    result: CheckResult | None = None) -> str | None:
    """Why an exported script would stop as it starts, because the project's dataset does not fit its Input
    (the Trainer's own check) or its data file is missing; None when it fits. User files are not read here
    (they may be large): only their existence is checked."""
    from graph_engine.data import DatasetError, dataset_info, load_dataset, resolve_dataset_params
    from graph_engine.training.config import TrainingConfig

    config = TrainingConfig.from_project(project)
    name = config.dataset["name"]
    if name in USER_FILE_DATASETS:
        try:
            path = resolve_dataset_params(dataset_info(name), config.dataset, base_dir).get("path")
        except DatasetError as exc:
            return str(exc)
        if path is not None and not Path(path).exists():
            what = "folder" if name == "image_folder" else "file"
            return f"its data {what} {path} does not exist here (give it with --data PATH when you run the script)"
        return None
    result = result or check(project)
    inputs = [n for n in result.order if n in result.live and project.graph.node(n).op == "Input"]
    if len(inputs) != 1:
        return None
    in_type = result.nodes[inputs[0]].outputs[0]
    try:
        load_dataset(config.dataset, in_type.shape, input_dtype=in_type.dtype, base_dir=base_dir)
    except DatasetError as exc:
        return str(exc)
    return None


def _literal(value: Any) -> str:
    """A Python literal for a checked settings value (dicts, lists, tuples, numbers, strings, None)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_literal(k)}: {_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, tuple):
        items = [_literal(v) for v in value]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    if isinstance(value, bool) or value is None or isinstance(value, int | float | str):
        return repr(value)
    raise TypeError(f"cannot write a {type(value).__name__} into the training script")


def _doc_text(text: str) -> str:
    """Text safe inside the script's docstring: printable ASCII without quotes or backslashes."""
    cleaned = "".join(c if (c.isascii() and c.isprintable() and c not in '"\\') else "?" for c in str(text))
    return cleaned[:120]


__all__ = ["dataset_problem", "generate_train_script", "write_train_script"]
