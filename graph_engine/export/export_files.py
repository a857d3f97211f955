"""One implementation of "export these files and check them", used by `layerloom export` and the app's Export
dialog, so both write the same files and print the same result lines.

    targets = ExportTargets(code=Path("model.py"), onnx=Path("model.onnx"))
    lines = export_files(project, targets, weights="runs/a/best.safetensors", project_path=path,
                         report=print_line)      # each ExportLine as it happens (progress)
    failed = [l.target for l in lines if l.kind == "check" and not l.ok]

What each target writes (the checks are graph_engine/export/verify.py's, never a second copy):
- code: model.py (generate_code), checked by `verify_code` (with the weights file written in the same export,
  when there is one, else with the weights exported with);
- weights: the weights as a .safetensors file, checked by `verify_weights` (read back, loaded strictly, equal);
- train_script: train.py importing the model from the code target (write_train_script); a dataset that does not
  fit the network is a "warning" line;
- onnx: export_onnx, checked by `verify_onnx` in onnxruntime;
- bundle: export_bundle into a folder, checked by its own `verify_code`.

`staged=True` (the app) writes every single-file target into a hidden folder beside it first and moves the
files into place only when all of them were written (each move is an atomic rename), so an error part-way
leaves none of them behind; the bundle refuses before writing when its folder holds files it did not write
(bundle.refuse_foreign_files), and is written last. The CLI writes in place, as it always did.
A user error (weights that do not fit, an unwritable folder, an op ONNX cannot express) raises ProjectError
with the file named; nothing here prints.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from graph_engine.errors import InvalidGraphError, ProjectError
from graph_engine.project import Project
from graph_engine.project_io import atomic_write_text
from graph_engine.validation import CheckResult, check

STAGE_PREFIX = ".layerloom-export-"


@dataclass(frozen=True)
class ExportLine:
    """One line of an export's report. kind: "wrote" | "check" | "warning"; `target` the file it is about."""

    kind: str
    text: str
    ok: bool = True
    target: str = ""


@dataclass
class ExportTargets:
    code: Path | None = None
    weights: Path | None = None
    train_script: Path | None = None
    onnx: Path | None = None
    bundle: Path | None = None

    def chosen(self) -> dict[str, Path]:
        return {f.name: Path(getattr(self, f.name)) for f in fields(self) if getattr(self, f.name) is not None}


def weights_state(project: Project, result: CheckResult, weights: str | os.PathLike | Mapping[str, Any] | None,
                  label: str | None = None) -> dict[str, Any] | None:
    """The weights' tensors after loading them strictly into the network once (a WeightsError naming the layers
    that do not fit); None without weights."""
    if weights is None:
        return None
    from graph_engine.export.verify import reference_model
    from graph_engine.export.weights import read_weights

    source = label or (str(weights) if isinstance(weights, str | os.PathLike) else "the weights")
    state = read_weights(weights) if isinstance(weights, str | os.PathLike) else dict(weights)
    model, _ = reference_model(project, result, state, source)
    return model.state_dict()


def export_files(project: Project, targets: ExportTargets, *,
                 weights: str | os.PathLike | Mapping[str, Any] | None = None, weights_label: str | None = None,
                 project_path: str | os.PathLike | None = None, result: CheckResult | None = None,
                 force: bool = False, check_code: bool = True, staged: bool = False,
                 report: Callable[[ExportLine], None] | None = None) -> list[ExportLine]:
    """Write and check the chosen targets (see the module docstring); returns every line, also sent to `report`
    as it happens."""
    result = result or check(project)
    if not result.ok:
        raise InvalidGraphError(f"cannot export: the network has {len(result.errors)} error(s); first: "
                                f"{result.errors[0]}", result.errors)
    chosen = targets.chosen()
    if "train_script" in chosen and "code" not in chosen:
        raise ProjectError("the training script imports the model: export the code too", hint="choose model.py")
    lines: list[ExportLine] = []

    def say(kind: str, text: str, ok: bool = True, target: Path | str = "") -> None:
        line = ExportLine(kind, text, ok, str(target))
        lines.append(line)
        if report is not None:
            report(line)

    def say_check(check_result: Any, final: Path) -> None:
        say("check", check_result.line(), check_result.ok, final)

    base_dir = Path(project_path).resolve().parent if project_path is not None else None
    state = weights_state(project, result, weights, weights_label)
    single = {k: v for k, v in chosen.items() if k != "bundle"}
    if "bundle" in chosen:  # refuse before anything is written, staged or not
        from graph_engine.export.bundle import bundle_files, refuse_foreign_files

        folder = chosen["bundle"]
        if folder.is_dir():
            files = bundle_files(folder, project_path)
            own = project_path is not None and _same(files["project"], Path(project_path))
            refuse_foreign_files(folder, [p for k, p in files.items() if not (k == "project" and own)], force)
    stage = _make_stage(single) if staged and single else None
    where = {k: (stage / v.name if stage is not None else v) for k, v in single.items()}
    try:
        given_file = Path(weights) if isinstance(weights, str | os.PathLike) else None
        _write_single(project, result, state, where, single, base_dir, given_file, check_code, say, say_check,
                      weights_label)
        if stage is not None:
            for key, final in single.items():
                os.replace(where[key], final)
        if "bundle" in chosen:
            from graph_engine.export import export_bundle

            bundle = export_bundle(project, chosen["bundle"], state, project_path=project_path, result=result,
                                   force=force)
            names = ", ".join(p.name for p in bundle.files.values())
            say("wrote", f"wrote {bundle.folder}: {names}; see its README.md for the command lines",
                target=bundle.folder)
            say_check(bundle.check, bundle.files["model"])
            _dataset_warning(project, result, base_dir, "train.py", say)
    except OSError as exc:
        raise ProjectError(f"cannot write {getattr(exc, 'filename', None) or 'the export'}: "
                           f"{exc.strerror or exc}", hint="choose a folder you can write to, with free space") from None
    finally:
        if stage is not None:
            shutil.rmtree(stage, ignore_errors=True)
    return lines


def _write_single(project, result, state, where, final, base_dir, given_file, check_code, say, say_check,
                  weights_label) -> None:
    from graph_engine.codegen import generate_code

    weights_file = given_file
    if "weights" in where:
        from graph_engine.export.verify import initial_state, verify_weights
        from graph_engine.export.weights import save_weights

        source = weights_label or ("initial weights" if state is None else "the given weights")
        file_state = state if state is not None else initial_state(project, result)
        save_weights(file_state, where["weights"], {"format": "pt", "layerloom": source})
        say("wrote", f"wrote {final['weights']}: {len(file_state)} tensors ({source})", target=final["weights"])
        say_check(verify_weights(project, where["weights"], file_state, result=result), final["weights"])
        state, weights_file = file_state, where["weights"]
    if "code" in where:
        target = where["code"]
        atomic_write_text(target, generate_code(project, result))
        say("wrote", f"wrote {final['code']}: standalone PyTorch code for {project.name} "
                     f"({result.total_params:,} parameters); run `python {shlex.quote(final['code'].name)}` to try it",
            target=final["code"])
        if check_code:
            from graph_engine.export import verify_code

            say_check(verify_code(project, target, weights_file, reference_state=state, result=result),
                      final["code"])
    if "train_script" in where:
        from graph_engine.export import write_train_script

        target = where["train_script"]
        write_train_script(project, target, where["code"], base_dir=base_dir, result=result)
        name = shlex.quote(final["train_script"].name)
        say("wrote", f"wrote {final['train_script']}: trains {project.name} as the project is set up; run "
                     f"`python {name}` or `torchrun --standalone --nproc_per_node 2 {name}`",
            target=final["train_script"])
        _dataset_warning(project, result, base_dir, final["train_script"].name, say)
    if "onnx" in where:
        from graph_engine.export import export_onnx, verify_onnx

        exported = export_onnx(project, where["onnx"], state, result=result)
        say("wrote", f"wrote {final['onnx']}: ONNX opset {exported.opset}, inputs "
                     f"{', '.join(exported.input_names)} and outputs {', '.join(exported.output_names)} with a "
                     "dynamic batch dimension", target=final["onnx"])
        say_check(verify_onnx(project, exported.path, reference_state=exported.state, result=result), final["onnx"])


def _dataset_warning(project: Project, result: CheckResult, base_dir: Path | None, script: str, say) -> None:
    """A training script is written even when the project's dataset does not fit its Input (the network may be
    meant for other data), but the person is told now rather than when the script stops."""
    from graph_engine.export.train_script import dataset_problem

    problem = dataset_problem(project, base_dir=base_dir, result=result)
    if problem:
        say("warning", f"warning: {script} will stop as it starts: {problem}")


def _make_stage(single: dict[str, Path]) -> Path:
    """A hidden folder in the (common) folder of the single-file targets: the final moves are then renames."""
    parents = {p.resolve().parent for p in single.values()}
    if len(parents) != 1:
        raise ProjectError("a staged export writes its files into one folder", hint="choose one output folder")
    parent = parents.pop()
    try:
        parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=STAGE_PREFIX, dir=parent))
    except OSError as exc:
        raise ProjectError(f"cannot write into {parent}: {exc.strerror or exc}",
                           hint="choose a folder you can write to") from None


def _same(a: Path, b: Path) -> bool:
    with contextlib.suppress(OSError):
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))
    return False


__all__ = ["ExportLine", "ExportTargets", "export_files", "weights_state"]
