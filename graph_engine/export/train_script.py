"""The exported training script: `write_train_script(project, "train.py", code_path="model.py")`.

The script is standalone: it imports torch, numpy, safetensors (to save weights) and the dataset's own
package (scikit-learn for the built-in tables and digits, Pillow for image folders), never LayerLoom. It does
not embed the model: it loads the exported model code from a file next to it (`MODEL_FILE`, the path of the
`--code` file relative to the script), so the class the app runs and the class the script trains are the
same file, and the weights it saves load into that class with `strict=True`.

What it reproduces. The settings come from `TrainingConfig.from_project(project)` (the same parsing and
defaults as `layerloom train`), written into the script as literals: dataset and its params (defaults filled,
relative paths resolved against the project's folder), task, loss, optimizer, schedule, epochs, batch size,
validation fraction, seed, device, gradient clipping, early stopping, augmentation and mixed precision. The
built-in and synthetic datasets are re-implemented in a few lines that follow `graph_engine.data` exactly
(same generators, seeds and scaling); the split, shuffling, the skipped one-sample last batch, the losses,
metrics and schedules follow `graph_engine.training.loop`, so `python train.py` on CPU reports the same
numbers as the app's trainer for the same seed. User files (csv, npz, image folder) get a compact loader for
the same path (override with `--data`) that follows LayerLoom's rules without its detailed error messages.

Distributed. Under `torchrun --nproc_per_node N` (WORLD_SIZE > 1) the script initialises a process group
(gloo on CPU, nccl on CUDA), wraps the model in DistributedDataParallel, shards the training set with a
DistributedSampler (seeded, `set_epoch` every epoch) and the validation set by rank, combines the metric sums
with all_reduce, and only rank 0 prints and saves. `--batch-size` is per process.
"""

from __future__ import annotations

import os
import re
from inspect import getsource
from pathlib import Path
from typing import Any

from graph_engine.data.image_folder import decode_image
from graph_engine.data.output_fit import output_mismatch
from graph_engine.errors import InvalidGraphError, ProjectError
from graph_engine.export.train_script_parts import BODY, DATA_ARGUMENT, HEADER, LOADERS, SETTINGS, STANDARDISE
from graph_engine.project import Project, class_name_for
from graph_engine.project_io import atomic_write_text
from graph_engine.validation import CheckResult, check

USER_FILE_DATASETS = ("csv", "npz", "image_folder")
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
    params = resolve_dataset_params(info, config.dataset, base_dir)
    dataset: dict[str, Any] = {"name": name}
    for key, value in params.items():
        dataset[key] = str(value) if isinstance(value, Path) else value
    task = config.task
    loss = config.loss
    if task is not None:
        loss = check_task_and_loss(task, loss)
    image_shape = None
    if name == "digits":
        image_shape = (1, 8, 8)
    elif name == "image_folder":
        image_shape = (1 if params["color"] == "grayscale" else 3, params["size"], params["size"])
    user_file = name in USER_FILE_DATASETS

    extra = []
    if name in SKLEARN_DATASETS:
        extra.append("scikit-learn")
    if name == "image_folder":
        extra.append("Pillow")
    header = _fill(HEADER, {
        "CLASS": class_name_for(project.name),
        "NAME": _doc_text(project.name),
        "EXTRA_PACKAGES": "".join(f", {p}" for p in extra),
        "MODEL_FILE": _doc_text(model_file),
        "MODEL_FILE_REPR": repr(model_file),
        "SCRIPT": _doc_text(script_name),
        "DATA_FLAG_DOC": ", --data PATH (the data file or folder)" if user_file else "",
    })
    settings = _fill(SETTINGS, {
        "DATASET": _literal(dataset),
        "TASK": repr(task),
        "LOSS": repr(loss),
        "OPTIMIZER": _literal(config.optimizer.to_dict()),
        "SCHEDULE": _literal(config.schedule.to_dict()),
        "EPOCHS": repr(config.epochs),
        "BATCH_SIZE": repr(config.batch_size),
        "VAL_FRACTION": repr(float(config.val_fraction)),
        "SEED": repr(config.seed),
        "DEVICE": repr(config.device),
        "GRAD_CLIP": repr(config.grad_clip),
        "EARLY_STOPPING": _literal(None if config.early_stopping is None else config.early_stopping.to_dict()),
        "AUGMENT": _literal(dict(config.augment) if config.augment_active else None),
        "MIXED_PRECISION": repr(bool(config.mixed_precision)),
        "INPUT_SHAPE": _literal(tuple(int(d) for d in in_type.shape)),
        "OUTPUT_SHAPE": _literal(tuple(int(d) for d in result.nodes[outputs[0]].inputs[0].shape)),
        "IMAGE_SHAPE": _literal(image_shape),
    })
    # The output rule is copied from the module the trainer imports (graph_engine/data/output_fit.py).
    loader = (STANDARDISE if name in STANDARDISED else "") + LOADERS[name] + "\n\n" + getsource(output_mismatch)
    if name == "image_folder":  # the app's decoder (16-bit images, decompression bombs), copied by source
        loader += "\n\n" + getsource(decode_image)
    body = _fill(BODY, {
        "DATA_ARGUMENT": DATA_ARGUMENT if user_file else "",
        "DATA_PATH_ARG": "args.data" if user_file else "None",
    })
    return header + settings + loader + body


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


def _fill(template: str, values: dict[str, str]) -> str:
    """Replace every @@KEY@@ in one pass (inserted text is never scanned again)."""
    return re.sub(r"@@([A-Z_]+)@@", lambda m: values[m.group(1)], template)


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
