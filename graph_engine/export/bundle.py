"""The export bundle: one folder with everything needed to use a network outside LayerLoom.

    result = export_bundle(project, "bundle/", weights="runs/a/model.safetensors", project_path=path)
    print(result.check.line())

FOLDER/
  model.py                 the network as standalone PyTorch (generate_code)
  model.safetensors        the weights: the given ones (e.g. from a training run), else the initial weights a
                           training run would start from (the project's seed)
  train.py                 trains the model as the project is set up (write_train_script), alone or torchrun
  NAME.layerloom.json      the project (dataset paths made absolute, so it opens from the bundle)
  README.md                what each file is and the exact command lines

A bundle never replaces files that LayerLoom did not write: `.layerloom-bundle.json` records a hash of each
file it wrote, so exporting again into the same folder replaces them, while a README.md or model.py of the
person's own (or one edited since) makes the export refuse, naming the files, unless `force=True` (the CLI's
`--force`).

After writing, the bundle is checked: model.py is loaded from the folder with the weights read back from
model.safetensors and compared with the in-app model holding the weights in memory (`verify_code`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graph_engine.errors import InvalidGraphError, ProjectError
from graph_engine.export.verify import ExportCheck, initial_state, reference_model, verify_code
from graph_engine.export.weights import read_weights, save_weights
from graph_engine.project import Project, class_name_for
from graph_engine.project_io import atomic_write_text, read_json, save_project
from graph_engine.validation import CheckResult, check

MODEL_FILE = "model.py"
WEIGHTS_FILE = "model.safetensors"
TRAIN_FILE = "train.py"
README_FILE = "README.md"
PROJECT_SUFFIX = ".layerloom.json"
MANIFEST_FILE = ".layerloom-bundle.json"
MAX_MANIFEST_BYTES = 1 << 16


@dataclass
class BundleResult:
    folder: Path
    files: dict[str, Path]  # "model", "weights", "train", "project", "readme" -> path
    check: ExportCheck
    state: Mapping[str, Any] = field(repr=False, default_factory=dict)  # the weights written


def export_bundle(project: Project, folder: str | os.PathLike,
                  weights: str | os.PathLike | Mapping[str, Any] | None = None, *,
                  project_path: str | os.PathLike | None = None, base_dir: str | os.PathLike | None = None,
                  result: CheckResult | None = None, force: bool = False) -> BundleResult:
    """Write the bundle into `folder` (created if needed) and check it. Files of an earlier bundle are
    replaced; other files of the same names are only with `force` (else ProjectError, nothing written).

    `project_path` is the project's file (its name is reused, and its folder is where relative dataset paths
    start unless `base_dir` says otherwise)."""
    from graph_engine.codegen import generate_code
    from graph_engine.export.train_script import write_train_script
    from graph_engine.training.config import TrainingConfig

    result = result or check(project)
    if not result.ok:
        raise InvalidGraphError(f"cannot export: the network has {len(result.errors)} error(s); first: "
                                f"{result.errors[0]}", result.errors)
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ProjectError(f"{folder} is a file, not a folder", hint="give a folder for the bundle")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ProjectError(f"cannot create {folder}: {exc.strerror or exc}", hint="choose a folder you can write to") from None
    if base_dir is None and project_path is not None:
        base_dir = Path(project_path).resolve().parent
    config = TrainingConfig.from_project(project)
    if weights is None:
        state = initial_state(project, result)  # the weights a training run with this seed starts from
        source = f"initial weights (seed {config.seed})"
    else:
        state = read_weights(weights) if isinstance(weights, str | os.PathLike) else weights
        model, _ = reference_model(project, result, state,
                                   str(weights) if isinstance(weights, str | os.PathLike) else "the weights")
        source = f"weights from {Path(weights).name}" if isinstance(weights, str | os.PathLike) else "given weights"
        state = {k: v.detach().clone() for k, v in model.state_dict().items()}

    files = bundle_files(folder, project_path)
    project_name = files["project"].name
    own_project = project_path is not None and _same_file(files["project"], Path(project_path))
    refuse_foreign_files(folder, [p for k, p in files.items() if not (k == "project" and own_project)], force)
    atomic_write_text(files["model"], generate_code(project, result))
    save_weights(state, files["weights"], {"format": "pt", "layerloom": source})
    write_train_script(project, files["train"], files["model"], base_dir=base_dir, result=result)
    if not own_project:
        save_project(_portable_copy(project, base_dir), files["project"])
    atomic_write_text(files["readme"], readme_text(project, result, project_name, source, config))
    _write_manifest(folder, [p for k, p in files.items() if not (k == "project" and own_project)])
    report = verify_code(project, files["model"], files["weights"], reference_state=state, result=result)
    return BundleResult(folder, files, report, state)


def bundle_files(folder: str | os.PathLike, project_path: str | os.PathLike | None = None) -> dict[str, Path]:
    """The files a bundle in `folder` consists of: "model", "weights", "train", "project", "readme"."""
    folder = Path(folder)
    project_name = Path(project_path).name if project_path is not None else "project" + PROJECT_SUFFIX
    if project_name in (MODEL_FILE, WEIGHTS_FILE, TRAIN_FILE, README_FILE, MANIFEST_FILE):
        project_name = "project" + PROJECT_SUFFIX  # a project file oddly named model.py must not clash
    return {"model": folder / MODEL_FILE, "weights": folder / WEIGHTS_FILE, "train": folder / TRAIN_FILE,
            "project": folder / project_name, "readme": folder / README_FILE}


def refuse_foreign_files(folder: Path, targets: list[Path], force: bool) -> None:
    """Raise ProjectError when a target exists and is not, unchanged, a file an earlier bundle wrote."""
    written = _read_manifest(folder)
    foreign = []
    for path in targets:
        if path.is_dir():
            raise ProjectError(f"{path} is a folder; the bundle needs that name for a file",
                               hint="move it, or choose another folder for the bundle")
        if (path.exists() or path.is_symlink()) and written.get(path.name) != _digest(path):
            foreign.append(path.name)
    if foreign and not force:
        raise ProjectError(f"{folder} already holds {', '.join(sorted(foreign))}, not written by a LayerLoom "
                           "bundle (or changed since); nothing was written",
                           hint="choose an empty folder, or pass --force to replace them")


def _digest(path: Path) -> str | None:
    try:
        h = hashlib.sha256()
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        return h.hexdigest()
    except OSError:
        return None


def _read_manifest(folder: Path) -> dict[str, str]:
    path = folder / MANIFEST_FILE
    try:
        if not path.is_file() or path.stat().st_size > MAX_MANIFEST_BYTES:
            return {}
        data = read_json(path)
    except (OSError, ProjectError):
        return {}
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, dict):
        return {}
    return {k: v for k, v in files.items() if isinstance(k, str) and isinstance(v, str)}


def _write_manifest(folder: Path, written: list[Path]) -> None:
    data = {"written_by": "layerloom export --bundle", "files": {p.name: _digest(p) for p in written}}
    atomic_write_text(folder / MANIFEST_FILE, json.dumps(data, indent=1) + "\n")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def _portable_copy(project: Project, base_dir: str | os.PathLike | None) -> Project:
    """The project with a relative dataset path made absolute (the bundle lives in another folder)."""
    copy = project.copy()
    training = copy.training
    if isinstance(training, dict) and isinstance(training.get("dataset"), dict) and base_dir is not None:
        path = training["dataset"].get("path")
        if isinstance(path, str) and path.strip() and not Path(path).expanduser().is_absolute():
            training["dataset"] = dict(training["dataset"], path=str(Path(base_dir).resolve() / path))
    return copy


def readme_text(project: Project, result: CheckResult, project_name: str, weights_source: str, config) -> str:
    from graph_engine.export.train_script import SKLEARN_DATASETS

    name = " ".join(str(project.name).split())[:200] or "Untitled"
    cls = class_name_for(project.name)
    packages = ["torch", "numpy", "safetensors"]
    dataset = config.dataset["name"]
    shell_name = shlex.quote(project_name)  # the commands are copied into a shell: a name must stay a name
    if dataset in SKLEARN_DATASETS:
        packages.append("scikit-learn")
    if dataset == "image_folder":
        packages.append("pillow")
    return f"""# {name}

Exported from LayerLoom: a {cls} network with {result.total_params:,} parameters. Nothing here needs
LayerLoom except the project file.

| file | what it is |
|---|---|
| `{MODEL_FILE}` | the network as plain PyTorch: `create_model()`, `example_inputs()` |
| `{WEIGHTS_FILE}` | {weights_source} |
| `{TRAIN_FILE}` | trains the model as the project is set up ({dataset}, {config.epochs} epochs, batch {config.batch_size}, {config.optimizer.name} lr {config.optimizer.lr:g}) |
| `{project_name.replace("`", "'").replace("|", "-")}` | the LayerLoom project, to open and edit in LayerLoom |

## Commands

Run these in this folder.

```bash
python -m pip install {" ".join(packages)}
python {MODEL_FILE}
python {TRAIN_FILE} --out runs/single
python {TRAIN_FILE} --epochs 5 --lr {config.optimizer.lr:g} --batch-size {config.batch_size} --device cpu --out runs/short
torchrun --standalone --nproc_per_node 2 {TRAIN_FILE} --out runs/ddp
```

`{TRAIN_FILE}` writes `model.safetensors` (final weights) and `metrics.json` (one record per epoch) into
`--out`; under `torchrun` only rank 0 prints and writes, and `--batch-size` is per process.

With LayerLoom installed:

```bash
layerloom check {shell_name}
layerloom export {shell_name} --onnx model.onnx --weights {WEIGHTS_FILE}
layerloom train {shell_name} --out runs/app
```

## Load the weights

```python
from safetensors.torch import load_file
from model import create_model, example_inputs

model = create_model()
model.load_state_dict(load_file("{WEIGHTS_FILE}"), strict=True)
model.eval()
print(model(*example_inputs(2)))
```
"""


__all__ = ["BundleResult", "bundle_files", "export_bundle", "readme_text", "refuse_foreign_files"]
