"""Fully connected layers: Linear, Bilinear, Identity."""

from __future__ import annotations

from graph_engine.catalog.spec import LayerSpec, Param, ParamKind, Port, ShapeError, TensorType

MAX_FEATURES = 1 << 24


def _last_dim(index: int):
    return lambda inputs: inputs[index].shape[-1]


def _linear_shape(inputs, p):
    (x,) = inputs
    if x.rank < 1:
        raise ShapeError("Linear needs at least one feature dimension", "feed it a [features] tensor")
    return (TensorType(x.shape[:-1] + (p["out_features"],)),)


def _linear_params(inputs, p):
    n = p["in_features"] * p["out_features"]
    return n + (p["out_features"] if p["bias"] else 0)


def _linear_flops(inputs, outputs, p):
    positions = outputs[0].numel // p["out_features"]
    return 2 * positions * p["in_features"] * p["out_features"]


LINEAR = LayerSpec(
    op="Linear",
    category="Linear",
    doc="Fully connected layer: every output is a weighted sum of all inputs (y = xW^T + b).",
    params=(
        Param("in_features", ParamKind.INT, inferred=_last_dim(0), min=1, max=MAX_FEATURES,
              doc="Size of the last input dimension (inferred)."),
        Param("out_features", ParamKind.INT, 64, min=1, max=MAX_FEATURES, doc="Number of outputs."),
        Param("bias", ParamKind.BOOL, True, doc="Learn an additive bias."),
    ),
    module="nn.Linear",
    positional=("in_features", "out_features"),
    shape_rule=_linear_shape,
    param_count=_linear_params,
    flops=_linear_flops,
    keywords=("dense", "fully connected", "fc", "mlp", "perceptron"),
)


def _bilinear_shape(inputs, p):
    a, b = inputs
    if a.shape[:-1] != b.shape[:-1]:
        raise ShapeError(f"Bilinear inputs must agree on all but the last dim; got {a} and {b}",
                         "reshape one input so their leading dims match")
    return (TensorType(a.shape[:-1] + (p["out_features"],)),)


def _bilinear_params(inputs, p):
    n = p["in1_features"] * p["in2_features"] * p["out_features"]
    return n + (p["out_features"] if p["bias"] else 0)


def _bilinear_flops(inputs, outputs, p):
    positions = outputs[0].numel // p["out_features"]
    return 2 * positions * p["in1_features"] * p["in2_features"] * p["out_features"]


BILINEAR = LayerSpec(
    op="Bilinear",
    category="Linear",
    doc="Bilinear layer: y = x1^T A x2 + b, mixing two inputs multiplicatively.",
    params=(
        Param("in1_features", ParamKind.INT, inferred=_last_dim(0), min=1, max=MAX_FEATURES),
        Param("in2_features", ParamKind.INT, inferred=_last_dim(1), min=1, max=MAX_FEATURES),
        Param("out_features", ParamKind.INT, 16, min=1, max=MAX_FEATURES),
        Param("bias", ParamKind.BOOL, True),
    ),
    inputs=(Port("input1"), Port("input2")),
    module="nn.Bilinear",
    positional=("in1_features", "in2_features", "out_features"),
    shape_rule=_bilinear_shape,
    param_count=_bilinear_params,
    flops=_bilinear_flops,
)

IDENTITY = LayerSpec(
    op="Identity",
    category="Linear",
    doc="Passes its input through unchanged (a placeholder or a named tap point).",
    module="nn.Identity",
    shape_rule=lambda inputs, p: (inputs[0],),
    input_dtypes=None,
    flops=lambda i, o, p: 0,
)

SPECS = (LINEAR, BILINEAR, IDENTITY)
