"""Dropout: randomly zeroes activations while training so the network cannot rely on any single one.

StochasticDepth (drop path) follows torchvision.ops.stochastic_depth and is written in plain torch in the
generated code, so the exported file still needs torch alone: while training, each sample ("row") or the
whole batch ("batch") keeps the input with probability 1 - p, rescaled by 1 / (1 - p), or becomes zeros; at
evaluation it is the identity. It belongs on a residual branch, just before the Add.
"""

from __future__ import annotations

from graph_engine.catalog.spec import LayerSpec, Param, ParamKind, ShapeError, TensorType, expect_rank


def _p_param() -> Param:
    return Param("p", ParamKind.FLOAT, 0.5, min=0.0, max=1.0,
                 doc="Probability that an element is zeroed while training (nothing is dropped at evaluation).")


def _dropout_shape(inputs, p):
    (x,) = inputs
    return (TensorType(x.shape, x.dtype),)


def _dropout2d_shape(inputs, p):
    (x,) = inputs
    try:
        expect_rank(x, (3,), "Dropout2d", "[channels, height, width]")
    except ShapeError as err:
        if x.rank < 3:
            err.hint = "use Dropout for inputs without height and width, or " + err.hint
        raise
    return (TensorType(x.shape, x.dtype),)


DROPOUT = LayerSpec(
    op="Dropout",
    category="Dropout",
    doc="Randomly zeroes a fraction p of the values while training (and rescales the rest) to reduce "
        "overfitting; does nothing at evaluation.",
    params=(_p_param(),),
    module="nn.Dropout",
    positional=("p",),
    shape_rule=_dropout_shape,
    keywords=("regularization", "regularisation", "overfitting"),
)

DROPOUT2D = LayerSpec(
    op="Dropout2d",
    category="Dropout",
    doc="Randomly zeroes whole channels of an image while training (feature maps are correlated, so "
        "dropping single pixels does little); does nothing at evaluation.",
    params=(_p_param(),),
    module="nn.Dropout2d",
    positional=("p",),
    shape_rule=_dropout2d_shape,
    keywords=("spatial dropout", "channel dropout", "regularization", "regularisation", "overfitting"),
)

def _stochastic_depth_emit(xs, p) -> str:
    x = xs[0] if xs[0].isidentifier() else f"({xs[0]})"
    rate = float(p["p"])
    if rate == 0.0:
        return x
    survival = 1.0 - rate
    if p["mode"] == "row":
        size = f"({x}.shape[0],) + (1,) * ({x}.dim() - 1)"
    else:
        size = f"[1] * {x}.dim()"
    mask = f"{x}.new_empty({size}).bernoulli_({survival!r})"
    if survival > 0.0:
        mask += f".div_({survival!r})"
    return f"{x} * {mask} if self.training else {x}"


STOCHASTIC_DEPTH = LayerSpec(
    op="StochasticDepth",
    category="Dropout",
    doc="Drop path: while training, drops a residual branch for a random fraction p of the samples (ResNets "
        "with stochastic depth, EfficientNet, ConvNeXt, ViT).",
    params=(
        Param("p", ParamKind.FLOAT, 0.1, min=0.0, max=1.0,
              doc="Probability that a sample's branch is dropped while training (nothing is dropped at evaluation)."),
        Param("mode", ParamKind.CHOICE, "row", choices=("row", "batch"),
              doc="row: each sample is dropped on its own; batch: the whole batch at once."),
    ),
    emit=_stochastic_depth_emit,
    shape_rule=_dropout_shape,
    keywords=("drop path", "droppath", "stochastic depth", "regularization", "regularisation", "residual"),
)

SPECS = (DROPOUT, DROPOUT2D, STOCHASTIC_DEPTH)
