"""Run one catalog op for real with torch, independently of code generation, to check its spec.

Property tests use this to compare a spec's analytic shape rule and parameter count with what torch
actually does on random valid params and inputs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from graph_engine.catalog.spec import LayerSpec, TensorType
from graph_engine.params import resolve_params

BATCH = 2


def make_input(t: TensorType, batch: int = BATCH, int_high: int = 10) -> torch.Tensor:
    if t.dtype == "int64":
        return torch.randint(0, int_high, (batch, *t.shape))
    return torch.randn(batch, *t.shape)


def run_op(spec: LayerSpec, raw_params: Mapping[str, Any], input_types: Sequence[TensorType],
           int_high: int = 10) -> tuple[list[TensorType], list[torch.Tensor], int, int]:
    """Return (predicted types, real outputs, predicted param count, real param count)."""
    res = resolve_params(spec, raw_params, input_types)
    assert res.ok, res.problems
    predicted = list(spec.shape_rule(input_types, res.values))
    predicted_params = spec.param_count(input_types, res.values)
    xs = [make_input(t, int_high=int_high) for t in input_types]
    namespace = {"torch": torch, "nn": nn, "F": F}
    with torch.no_grad():
        if spec.module:
            args, kwargs = spec.module_args(res.values)
            module = getattr(nn, spec.module.removeprefix("nn."))(*args, **kwargs).eval()
            real_params = sum(p.numel() for p in module.parameters())
            result = module(*xs)
        else:
            names = [f"x{i}" for i in range(len(xs))]
            result = eval(spec.emit(names, res.values), namespace, dict(zip(names, xs, strict=True)))
            real_params = 0
    if spec.output_exprs:
        outs = [eval(expr.format(r="r"), namespace, {"r": result}) for expr in spec.output_exprs]
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
