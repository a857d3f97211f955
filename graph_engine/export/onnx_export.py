"""ONNX export: `export_onnx(project, "model.onnx", weights=None)`.

The model is `build_model(project)` (holding `weights` when given: a safetensors / weights-only file or a
state_dict, loaded strictly), exported in eval mode with torch.onnx's TorchScript exporter (`dynamo=False`):
on torch 2.13 the torch.export-based exporter needs the separate `onnxscript` package, while the TorchScript
one ships with torch and exports every catalog op we test. The batch dimension of every input and output is
dynamic (`batch`); inputs are named after the Input nodes, outputs after the Output nodes. The file is then
checked with `onnx.checker.check_model` and written atomically.

Warnings. Under the TorchScript exporter torch warns that it is deprecated, emits TracerWarnings from inside
nn.RNN/nn.MultiheadAttention (their Python fast-path checks, which do not change the exported graph here) and
a note about recurrent layers exported at a batch size other than 1, and a note that a Slice with a negative
step (padding layers) is not constant-folded. Those exact warnings are silenced inside
the export call only; every export is then compared with onnxruntime at batch sizes 1 and 5
(`graph_engine.export.verify.verify_onnx`), which is what proves the graph right.

Two exporter quirks are worked around so exports stay correct for every batch size:
- nn.Unflatten is exported as a reshape that reads the batch size at run time (the exporter otherwise bakes
  the example batch into the shapes a following Reshape sees);
- negative dims in a Permute are normalised in the ONNX Transpose nodes (ONNX requires 0..rank-1).

What cannot be exported is refused before torch runs, naming every node: adaptive pooling whose output size
does not divide the input size, InstanceNorm2d with track_running_stats=True (the exporter supports neither
with a dynamic batch). An unexpected exporter failure is a ProjectError naming the node when torch says which.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import sys
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graph_engine.catalog.spec import as_tuple
from graph_engine.errors import InvalidGraphError, ProjectError
from graph_engine.export.weights import read_weights
from graph_engine.project import Project
from graph_engine.project_io import atomic_write_bytes
from graph_engine.validation import CheckResult, check

DEFAULT_OPSET = 17
EXPORT_BATCH = 2
BATCH_AXIS = "batch"


class OnnxExportError(ProjectError):
    """The project cannot be exported to ONNX; `node_id` is the first node at fault, `nodes` all of them."""

    def __init__(self, message: str, *, node_id: str | None = None, hint: str = "", nodes: tuple[str, ...] = ()):
        super().__init__(message, node_id=node_id, hint=hint)
        self.nodes = nodes


@dataclass(frozen=True)
class OnnxExport:
    path: Path
    input_names: tuple[str, ...]
    output_names: tuple[str, ...]
    opset: int
    state: Mapping[str, Any]  # the weights the file holds (what verify_onnx compares against)


def export_onnx(project: Project, path: str | os.PathLike, weights: str | os.PathLike | Mapping[str, Any] | None = None,
                *, result: CheckResult | None = None, opset: int = DEFAULT_OPSET) -> OnnxExport:
    """Write `project` as an ONNX file with a dynamic batch dimension, checked with onnx.checker."""
    from graph_engine.codegen.lowering import lower
    from graph_engine.export.verify import probe_inputs, reference_model

    try:
        import onnx
    except ImportError:
        raise ProjectError("ONNX export needs the onnx package", hint="pip install onnx onnxruntime") from None
    result = result or check(project)
    if not result.ok:
        raise InvalidGraphError(f"cannot export to ONNX: the network has {len(result.errors)} error(s); first: "
                                f"{result.errors[0]}", result.errors)
    refuse_unexportable(project, result)
    program = lower(project, result)
    state = _state_from(weights)
    model, compiled = reference_model(project, result, state,
                                      str(weights) if isinstance(weights, str | os.PathLike) else "the weights")
    state = model.state_dict()
    _patch_for_export(model)
    inputs = probe_inputs(compiled, EXPORT_BATCH)
    input_names = tuple(p.name for p in program.placeholders)
    output_names = tuple(program.ret.labels)
    axes = {name: {0: BATCH_AXIS} for name in (*input_names, *output_names)}
    try:
        data = _run_exporter(model, inputs, input_names, output_names, axes, opset)
    except Exception as exc:  # the exporter raises many types; all mean "this graph cannot be exported"
        raise _export_failure(exc, project, program, model, inputs, opset) from None
    proto = onnx.load_from_string(data)
    _normalise_transposes(proto)
    try:
        onnx.checker.check_model(proto, full_check=True)
    except onnx.checker.ValidationError as exc:
        raise ProjectError(f"the exported ONNX graph is not valid: {str(exc).strip().splitlines()[0]}") from None
    path = Path(path)
    atomic_write_bytes(path, proto.SerializeToString())
    return OnnxExport(path, input_names, output_names, opset, state)


def _state_from(weights: Any) -> Mapping[str, Any] | None:
    if weights is None:
        return None
    if isinstance(weights, str | os.PathLike):
        return read_weights(weights)
    return weights


# ---- what cannot be exported ---------------------------------------------------------------------------------


def unexportable_nodes(project: Project, result: CheckResult) -> list[tuple[str, str, str]]:
    """(node id, reason, hint) for every live node the ONNX exporter cannot export."""
    problems = []
    for node_id in result.order:
        if node_id not in result.live:
            continue
        op = project.graph.node(node_id).op
        info = result.nodes[node_id]
        if op.startswith("Adaptive") and op.endswith(("Pool1d", "Pool2d")):
            n = 1 if op.endswith("1d") else 2
            sizes = info.inputs[0].shape[1:]
            outs = as_tuple(info.params["output_size"], n)
            if any(s % o for s, o in zip(sizes, outs, strict=True)):
                problems.append((node_id, f"{op} with output_size {list(outs)} on an input of size {list(sizes)}: "
                                 "ONNX can only express adaptive pooling whose output size divides the input size",
                                 "choose an output_size that divides the input size (1 always works), or use a "
                                 f"{op.replace('Adaptive', '')} with a fixed kernel_size"))
        elif op == "InstanceNorm2d" and info.params.get("track_running_stats"):
            problems.append((node_id, "InstanceNorm2d with track_running_stats=true: the ONNX exporter cannot use "
                             "running statistics with a dynamic batch size",
                             "set track_running_stats to false (the usual setting for instance normalization)"))
    return problems


def refuse_unexportable(project: Project, result: CheckResult) -> None:
    problems = unexportable_nodes(project, result)
    if not problems:
        return
    listed = "; ".join(f"node {node!r}: {reason}" for node, reason, _ in problems)
    raise OnnxExportError(f"cannot export to ONNX: {listed}", node_id=problems[0][0], hint=problems[0][2],
                          nodes=tuple(p[0] for p in problems))


def _run_exporter(model, inputs: tuple, input_names, output_names, axes, opset: int) -> bytes:
    """torch.onnx.export (TorchScript exporter) to bytes, with its known warnings and its native dump of the
    graph on failure silenced. Grad mode stays on: under no_grad, nn.TransformerEncoderLayer takes a fused
    fast path that has no ONNX form."""
    import torch

    buffer = io.BytesIO()
    with _quiet_exporter(), _native_output_silenced():
        torch.onnx.export(model, inputs, buffer, dynamo=False, input_names=list(input_names),
                          output_names=list(output_names), dynamic_axes=axes, opset_version=opset,
                          do_constant_folding=True)
    return buffer.getvalue()


def _export_failure(exc: BaseException, project: Project, program, model, inputs: tuple,
                    opset: int) -> OnnxExportError:
    """An OnnxExportError naming the nodes that fail when exported one by one (or the exporter's words)."""
    text = str(exc).strip()
    first = text.splitlines()[0][:300] if text else type(exc).__name__
    failing = _failing_nodes(program, model, inputs, opset)
    if not failing:
        return OnnxExportError(f"cannot export to ONNX: {first}", hint="export the code (--code) instead")
    listed = "; ".join(f"node {node!r} ({project.graph.node(node).op}): {why}" for node, why in failing)
    return OnnxExportError(f"cannot export to ONNX: {listed}", node_id=failing[0][0],
                           hint="replace that layer, or export the code (--code) instead",
                           nodes=tuple(node for node, _ in failing))


def _failing_nodes(program, model, inputs: tuple, opset: int) -> list[tuple[str, str]]:
    """Run the program instruction by instruction and export each one alone: the ones that fail."""
    import torch

    from graph_engine.codegen.ir import CallFunction

    values = {p.name: x for p, x in zip(program.placeholders, inputs, strict=True)}
    failing = []
    for instr in program.body:
        args = [values[a] for a in instr.args]
        names = [f"a{i}" for i in range(len(args))]
        if isinstance(instr, CallFunction):
            expr = instr.spec.emit(([f"self.{instr.attribute}"] if instr.attribute else []) + names, instr.params)
            node = instr.result
        else:
            expr = instr.spec.call_text(f"self.{instr.name}", names, instr.params)
            node = instr.name
        picks = tuple(instr.spec.output_expr(p).format(r="r") for p in instr.port_vars)
        step = _Step(model, expr, picks)
        try:
            with torch.no_grad():
                outs = step(*args)
            outs = outs if picks else (outs,)
            if picks:
                for var, out in zip(instr.port_vars.values(), outs, strict=True):
                    values[var] = out
            else:
                values[instr.result] = outs[0]
        except Exception:
            break  # the program itself fails here: nothing further can be isolated
        names = [f"input{i}" for i in range(len(args))]
        try:
            _run_exporter(step, tuple(args), names, [], {n: {0: BATCH_AXIS} for n in names}, opset)
        except Exception as exc:
            why = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
            failing.append((node, why))
    return failing


def _step_class():
    import torch
    from torch import nn

    class Step(nn.Module):
        """One instruction of a program as a module: its forward() expression over the model (`self`) and the
        arguments, and its output picks."""

        def __init__(self, model, expr: str, picks: tuple[str, ...]):
            super().__init__()
            self.model = model
            self.expr = expr
            self.picks = picks

        def forward(self, *args):
            scope = {"self": self.model, **{f"a{i}": a for i, a in enumerate(args)}}
            r = eval(self.expr, {"torch": torch, "nn": nn}, scope)  # noqa: S307 - our own generated expression
            if not self.picks:
                return r
            return tuple(eval(p, {}, {"r": r}) for p in self.picks)  # noqa: S307 - our own output picks

    return Step


def _Step(model, expr, picks):  # noqa: N802 - builds a torch module class defined on first use
    return _cached(_step_class)(model, expr, picks)


@functools.cache
def _cached(factory):
    return factory()


@contextlib.contextmanager
def _native_output_silenced():
    """Send file descriptors 1 and 2 to /dev/null while the exporter runs: on a failure torch's C++ side
    prints the whole TorchScript graph to stdout, which would bury the one-line error."""
    saved: list[tuple[int, int]] = []
    try:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError, AttributeError):
                pass
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            for fd in (1, 2):
                try:
                    saved.append((fd, os.dup(fd)))
                    os.dup2(null, fd)
                except OSError:
                    pass
        finally:
            os.close(null)
        yield
    finally:
        for fd, copy in saved:
            os.dup2(copy, fd)
            os.close(copy)


# ---- exporter quirks ---------------------------------------------------------------------------------------


def _patch_for_export(model) -> None:
    """Swap nn.Unflatten children for a reshape that reads the batch size at run time."""
    from torch import nn

    for name, child in list(model.named_children()):
        if type(child) is nn.Unflatten:
            setattr(model, name, _cached(_runtime_unflatten_class)(child.dim, tuple(child.unflattened_size)))


def _runtime_unflatten_class():
    from torch import nn

    class RuntimeUnflatten(nn.Module):
        """nn.Unflatten as a reshape whose leading sizes are read at run time (see the module docstring)."""

        def __init__(self, dim: int, sizes: tuple[int, ...]):
            super().__init__()
            self.dim = dim
            self.sizes = sizes

        def forward(self, x):
            d = self.dim % x.dim()
            return x.reshape(x.shape[:d] + self.sizes + x.shape[d + 1:])

    return RuntimeUnflatten


def _normalise_transposes(proto) -> None:
    """ONNX Transpose needs perm in 0..rank-1; the exporter copies a Permute's negative dims as they are."""
    for node in _all_nodes(proto.graph):
        if node.op_type != "Transpose":
            continue
        for attr in node.attribute:
            if attr.name == "perm" and any(v < 0 for v in attr.ints):
                rank = len(attr.ints)
                fixed = [v % rank for v in attr.ints]
                del attr.ints[:]
                attr.ints.extend(fixed)


def _all_nodes(graph):
    for node in graph.node:
        yield node
        for attr in node.attribute:
            if attr.g is not None and len(attr.g.node):
                yield from _all_nodes(attr.g)
            for sub in attr.graphs:
                yield from _all_nodes(sub)


class _quiet_exporter(warnings.catch_warnings):  # noqa: N801 - used as a context manager
    """Silence exactly the warnings the TorchScript exporter is known to emit (see the module docstring)."""

    def __enter__(self):
        result = super().__enter__()
        import torch

        warnings.filterwarnings("ignore", message=r"You are using the legacy TorchScript-based ONNX export",
                                category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"torch\.onnx\._internal\.")
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning, module=r"torch\.nn\.")
        warnings.filterwarnings("ignore", message=r"Exporting a model to ONNX with a batch_size other than 1",
                                category=UserWarning, module=r"torch\.onnx\._internal\.")
        # Padding layers export a Slice with a negative step (torch's pad order is last dim first), which the
        # constant folder skips: the graph stays right, only unfolded.
        warnings.filterwarnings("ignore", message=r"Constant folding - Only steps=1 can be constant folded",
                                category=UserWarning)
        return result


__all__ = ["DEFAULT_OPSET", "OnnxExport", "OnnxExportError", "export_onnx", "refuse_unexportable",
           "unexportable_nodes"]
