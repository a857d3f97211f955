"""Checked export: load what was written, load the weights strictly, compare with the in-app model.

    report = verify_code(project, "model.py", "model.safetensors", reference_state=state)
    print(report.line())      # "check: model.py reproduces the in-app model (max abs diff 0, batch 4): ok"

`verify_code` loads the exported module from its file in a fresh namespace (importlib; never inserted in
sys.modules, no bytecode cache written next to it), builds `create_model()`, loads the weights strictly
(from the weights file on disk when one is given, else the reference model's own state), and compares its
outputs in eval mode with `build_model(project)` holding `reference_state` on a probe batch
(`example_inputs`, drawn from a fixed seed without touching the global random state).

`verify_onnx` runs the ONNX file with onnxruntime at batch sizes 1 and 5 and compares with the in-app model
(atol 1e-4: ONNX Runtime's kernels are not torch's).

A failure is a report with `ok=False` and a one-line reason, never an exception: a tampered weights file
(values changed: a non-zero difference; keys or shapes changed: the layers named), code that does not run,
outputs of the wrong shape.
"""

from __future__ import annotations

import itertools
import math
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graph_engine.errors import ProjectError
from graph_engine.export.weights import WeightsError, load_strict, read_weights
from graph_engine.project import Project
from graph_engine.validation import CheckResult, check

CODE_ATOL = 1e-5  # the exported file is the in-app code itself: differences are 0 in practice
CODE_RTOL = 1e-6
ONNX_ATOL = 1e-4  # ONNX Runtime's kernels are not torch's
ONNX_RTOL = 1e-5  # large activations (trained weights) differ in their last float32 digits
CODE_BATCH = 4
ONNX_BATCHES = (1, 5)
PROBE_SEED = 1234

_counter = itertools.count(1)


@dataclass(frozen=True)
class ExportCheck:
    """The result of comparing an exported artifact with the in-app model."""

    target: str  # the file that was checked (as given)
    kind: str  # "code", "onnx" or "weights"
    ok: bool
    max_abs_diff: float | None  # None when no comparison could be made
    atol: float
    batch_sizes: tuple[int, ...]
    reason: str = ""  # why it is not ok
    rtol: float = 0.0  # ok means |exported - in-app| <= atol + rtol * |in-app| everywhere

    def line(self) -> str:
        """One line for the CLI: `check: model.py reproduces the in-app model (...): ok`."""
        name = Path(self.target).name
        if self.kind == "weights":
            if self.ok:
                return f"check: {name} loads strictly into the network and equals the exported weights bitwise: ok"
            diff = "" if self.max_abs_diff is None else f" (max abs diff {_num(self.max_abs_diff)})"
            return f"check: {name} does NOT hold the exported weights{diff}: {self.reason}"
        batches = " and ".join(str(b) for b in self.batch_sizes)
        runner = " in onnxruntime" if self.kind == "onnx" else ""
        what = f"batch{'es' if len(self.batch_sizes) > 1 else ''} {batches}"
        tolerance = f"atol {self.atol:g}" + (f", rtol {self.rtol:g}" if self.rtol else "")
        if self.ok:
            return (f"check: {name}{runner} reproduces the in-app model (max abs diff {_num(self.max_abs_diff)}, "
                    f"{what}, {tolerance}): ok")
        diff = "" if self.max_abs_diff is None else f" (max abs diff {_num(self.max_abs_diff)}, {tolerance})"
        return f"check: {name}{runner} does NOT reproduce the in-app model{diff}: {self.reason}"


def _num(value: float | None) -> str:
    if value is None:
        return "?"
    return "0" if value == 0 else f"{value:.2g}"


# ---- loading the exported code ---------------------------------------------------------------------------


def load_module_from_file(path: str | os.PathLike):
    """Execute a Python file as a fresh module (not registered in sys.modules; no __pycache__ written)."""
    import importlib.util

    path = Path(path)
    name = f"layerloom_exported_{next(_counter)}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ProjectError(f"{path} cannot be loaded as a Python module")
    module = importlib.util.module_from_spec(spec)
    previous = sys.dont_write_bytecode
    sys.dont_write_bytecode = True
    try:
        spec.loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = previous
    return module


def reference_model(project: Project, result: CheckResult | None = None,
                    state: Mapping[str, Any] | None = None, source: str = "the weights"):
    """(model, compiled): `build_model(project)` in eval mode, holding `state` when given (loaded strictly)."""
    from graph_engine.codegen import compile_project

    result = result or check(project)
    compiled = compile_project(project, result)
    model = compiled.create_model()
    if state is not None:
        load_strict(model, state, source, _node_ops(project))
    return model.eval(), compiled


def probe_inputs(compiled, batch_size: int, seed: int = PROBE_SEED) -> tuple:
    """The model's `example_inputs(batch_size)`, drawn from a fixed seed; the global RNG is left untouched."""
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return tuple(compiled.example_inputs(batch_size))


def _as_tuple(out: Any) -> tuple:
    return tuple(out) if isinstance(out, tuple | list) else (out,)


def _compare(a: Sequence[Any], b: Sequence[Any], atol: float, rtol: float) -> tuple[float | None, bool, str]:
    """(max abs difference, within atol + rtol * |a| everywhere, "" or why the outputs cannot be compared);
    `a` is the in-app model's outputs."""
    import numpy as np

    if len(a) != len(b):
        return None, False, f"it returns {len(b)} outputs instead of {len(a)}"
    worst, close = 0.0, True
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        x = x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)
        y = y.detach().cpu().numpy() if hasattr(y, "detach") else np.asarray(y)
        if x.shape != y.shape:
            return None, False, f"output {i} has shape {list(y.shape)} instead of {list(x.shape)}"
        if x.size:
            x64, y64 = x.astype(np.float64), y.astype(np.float64)
            diff = np.abs(x64 - y64)
            d = float(np.max(diff))
            if not math.isfinite(d):
                return None, False, f"output {i} holds NaN or Inf where the in-app model's does not"
            worst = max(worst, d)
            close = close and bool(np.all(diff <= atol + rtol * np.abs(x64)))
    return worst, close, ""


# ---- checks ------------------------------------------------------------------------------------------------


def verify_code(project: Project, code_path: str | os.PathLike, weights_path: str | os.PathLike | None = None, *,
                reference_state: Mapping[str, Any] | None = None, result: CheckResult | None = None,
                batch_size: int = CODE_BATCH, atol: float = CODE_ATOL, rtol: float = CODE_RTOL) -> ExportCheck:
    """Compare the exported code (with the weights file, when given) against the in-app model.

    The in-app model holds `reference_state` (the weights the export was meant to carry); without it, the
    weights file's contents (or, with neither, the in-app model's fresh weights, copied into the exported one).
    """
    import torch

    target = str(code_path)

    def fail(reason: str, diff: float | None = None) -> ExportCheck:
        return ExportCheck(target, "code", False, diff, atol, (batch_size,), reason, rtol)

    result = result or check(project)
    try:
        file_state = read_weights(weights_path) if weights_path is not None else None
    except WeightsError as exc:
        return fail(str(exc))
    state = reference_state if reference_state is not None else file_state
    ref, compiled = reference_model(project, result, state, "the in-app weights")
    try:
        module = load_module_from_file(code_path)
        exported = module.create_model()
    except Exception as exc:  # the exported file is checked, whatever is wrong with it
        return fail(f"the exported code does not run ({type(exc).__name__}: {_first_line(exc)})")
    if not isinstance(exported, torch.nn.Module):
        return fail("its create_model() does not return a torch module")
    try:
        load_strict(exported, file_state if file_state is not None else ref.state_dict(),
                    str(weights_path) if weights_path is not None else "the in-app weights", _node_ops(project))
    except WeightsError as exc:
        return fail(str(exc))
    exported.eval()
    inputs = probe_inputs(compiled, batch_size)
    try:
        with torch.no_grad():
            want = _as_tuple(ref(*inputs))
            got = _as_tuple(exported(*inputs))
    except Exception as exc:
        return fail(f"its forward pass fails ({type(exc).__name__}: {_first_line(exc)})")
    diff, close, why = _compare(want, got, atol, rtol)
    if why:
        return fail(why)
    if not close:
        return fail("the outputs differ (were the code or the weights file changed?)", diff)
    return ExportCheck(target, "code", True, diff, atol, (batch_size,), "", rtol)


def verify_onnx(project: Project, onnx_path: str | os.PathLike, *, reference_state: Mapping[str, Any] | None = None,
                result: CheckResult | None = None, batch_sizes: Sequence[int] = ONNX_BATCHES,
                atol: float = ONNX_ATOL, rtol: float = ONNX_RTOL) -> ExportCheck:
    """Run the ONNX file in onnxruntime at each batch size and compare with the in-app model."""
    import torch

    target = str(onnx_path)
    batches = tuple(int(b) for b in batch_sizes)

    def fail(reason: str, diff: float | None = None) -> ExportCheck:
        return ExportCheck(target, "onnx", False, diff, atol, batches, reason, rtol)

    try:
        import onnxruntime as ort
    except ImportError:
        return fail("onnxruntime is not installed (pip install onnxruntime)")
    result = result or check(project)
    ref, compiled = reference_model(project, result, reference_state, "the in-app weights")
    try:
        options = ort.SessionOptions()
        options.log_severity_level = 3  # errors only: shape-inference notes are not the user's concern
        session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:
        return fail(f"onnxruntime cannot load it ({_first_line(exc)})")
    names = [i.name for i in session.get_inputs()]
    worst, all_close = 0.0, True
    for batch in batches:
        inputs = probe_inputs(compiled, batch)
        if len(names) != len(inputs):
            return fail(f"it takes {len(names)} inputs instead of {len(inputs)}")
        with torch.no_grad():
            want = _as_tuple(ref(*inputs))
        try:
            got = session.run(None, {n: x.numpy() for n, x in zip(names, inputs, strict=True)})
        except Exception as exc:
            return fail(f"onnxruntime fails at batch size {batch} ({_first_line(exc)})")
        diff, close, why = _compare(want, got, atol, rtol)
        if why:
            return fail(f"at batch size {batch}, {why}")
        worst, all_close = max(worst, diff), all_close and close
    if not all_close:
        return fail("the outputs differ", worst)
    return ExportCheck(target, "onnx", True, worst, atol, batches, "", rtol)


def initial_state(project: Project, result: CheckResult | None = None) -> dict[str, Any]:
    """The weights a training run with the project's seed starts from (a copy; torch's random state is kept)."""
    import torch

    from graph_engine.training.config import TrainingConfig

    seed = TrainingConfig.from_project(project).seed
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model, _ = reference_model(project, result)
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def verify_weights(project: Project, weights_path: str | os.PathLike, reference_state: Mapping[str, Any], *,
                   result: CheckResult | None = None) -> ExportCheck:
    """Read an exported weights file back, load it strictly into the network and compare every tensor with the
    weights meant to be exported (bitwise: a weights file is a copy, not a computation)."""
    import torch

    target = str(weights_path)

    def fail(reason: str, diff: float | None = None) -> ExportCheck:
        return ExportCheck(target, "weights", False, diff, 0.0, (), reason)

    try:
        state = read_weights(weights_path)
        model, _ = reference_model(project, result, state, target)
    except WeightsError as exc:
        return fail(str(exc))
    loaded = model.state_dict()
    worst = 0.0
    for key, want in reference_state.items():
        got = loaded.get(key)
        if got is None or got.shape != want.shape:
            return fail(f"{key} is missing or has another shape")
        if not torch.equal(got.cpu(), want.detach().cpu()):
            worst = max(worst, float((got.double().cpu() - want.detach().double().cpu()).abs().max()))
    if worst:
        return fail("the tensors differ from the weights exported", worst)
    return ExportCheck(target, "weights", True, 0.0, 0.0, (), "")


def _node_ops(project: Project) -> dict[str, str]:
    return {n.id: n.op for n in project.graph}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


__all__ = ["CODE_ATOL", "CODE_RTOL", "ONNX_ATOL", "ONNX_RTOL", "ExportCheck", "initial_state", "load_module_from_file",
           "probe_inputs", "reference_model", "verify_code", "verify_onnx", "verify_weights"]
