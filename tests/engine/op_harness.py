"""Run one catalog op for real with torch, independently of code generation, to check its spec.

Property tests use this to compare a spec's analytic shape rule and parameter count with what torch
actually does on random valid params and inputs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from graph_engine.catalog import get_spec
from graph_engine.catalog.spec import LayerSpec, ModuleCall, ShapeError, TensorType
from graph_engine.params import resolve_params

BATCH = 2


def make_input(t: TensorType, batch: int = BATCH, int_high: int = 10) -> torch.Tensor:
    if t.dtype == "int64":
        return torch.randint(0, int_high, (batch, *t.shape))
    return torch.randn(batch, *t.shape)


TORCH_ERRORS = (RuntimeError, IndexError, ValueError)
NAMESPACE = {"torch": torch, "nn": nn, "F": F}


def build_module(name: str, args, kwargs) -> nn.Module:
    """nn.X(*args, **kwargs), building ModuleCall arguments (a TransformerEncoder's layer) first."""
    def value(v):
        return build_module(v.module, v.args, dict(v.kwargs)) if isinstance(v, ModuleCall) else v

    return getattr(nn, name.removeprefix("nn."))(*[value(a) for a in args], **{k: value(v) for k, v in kwargs.items()})


def call_op(spec: LayerSpec, values: Mapping[str, Any], xs: Sequence[torch.Tensor]) -> tuple[Any, int]:
    """Call the op on real tensors (in eval mode): its nn module, called as the spec says, or its emitted
    expression (over a module holding the tensor the op owns, if any). Returns (raw result, real parameter
    count)."""
    names = [f"x{i}" for i in range(len(xs))]
    owner = nn.Module()
    if spec.module:
        args, kwargs = spec.module_args(values)
        owner.m = build_module(spec.module, args, kwargs)
        expr = spec.call_text("self.m", names, values)
    else:
        if spec.attribute:
            tensor = eval(spec.attribute(values), dict(NAMESPACE))
            if spec.owned_kind(values) == "buffer":
                owner.register_buffer("t", tensor, persistent=False)
            else:
                owner.t = nn.Parameter(tensor)
        expr = spec.emit((["self.t"] if spec.attribute else []) + names, values)
    owner.eval()
    scope = {"self": owner, **dict(zip(names, xs, strict=True))}
    return eval(expr, dict(NAMESPACE), scope), sum(p.numel() for p in owner.parameters())


def check_agrees(op: str, raw: Mapping[str, Any], types: Sequence[TensorType], torch_may_accept: bool = False) -> bool:
    """Assert the shape rule agrees with torch both ways: when it accepts, shapes and counts match a real call;
    when it refuses (with a message and a hint), torch raises too unless `torch_may_accept` (LayerLoom is
    deliberately stricter there). Returns whether the rule accepted."""
    spec = get_spec(op)
    res = resolve_params(spec, raw, types)
    assert res.ok, res.problems
    try:
        spec.shape_rule(types, res.values)
    except ShapeError as err:
        assert err.message and err.hint
        if not torch_may_accept:
            with pytest.raises(TORCH_ERRORS), torch.no_grad():
                call_op(spec, res.values, [make_input(t) for t in types])
        return False
    assert_matches(spec, raw, types)
    return True


def run_op(spec: LayerSpec, raw_params: Mapping[str, Any], input_types: Sequence[TensorType],
           int_high: int = 10) -> tuple[list[TensorType], list[torch.Tensor], int, int]:
    """Return (predicted types, real outputs, predicted param count, real param count)."""
    res = resolve_params(spec, raw_params, input_types)
    assert res.ok, res.problems
    predicted = list(spec.shape_rule(input_types, res.values))
    predicted_params = spec.param_count(input_types, res.values)
    xs = [make_input(t, int_high=int_high) for t in input_types]
    with torch.no_grad():
        result, real_params = call_op(spec, res.values, xs)
    if len(predicted) > 1:
        outs = [eval(spec.output_expr(i).format(r="r"), dict(NAMESPACE), {"r": result})
                for i in range(len(predicted))]
    else:
        outs = [result]
    return predicted, outs, predicted_params, real_params


def assert_matches(spec: LayerSpec, raw_params: Mapping[str, Any], input_types: Sequence[TensorType],
                   int_high: int = 10) -> None:
    predicted, outs, p_params, r_params = run_op(spec, raw_params, input_types, int_high)
    assert len(predicted) == len(outs), (spec.op, predicted)
    for t, out in zip(predicted, outs, strict=True):
        assert (BATCH, *t.shape) == tuple(out.shape), (spec.op, raw_params, input_types, t, out.shape)
        want_dtype = {"float32": torch.float32, "int64": torch.int64}[t.dtype]
        assert out.dtype == want_dtype, (spec.op, t.dtype, out.dtype)
    assert p_params == r_params, (spec.op, raw_params, p_params, r_params)
