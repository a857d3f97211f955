"""Dropout: randomly zeroes activations while training so the network cannot rely on any single one."""

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

SPECS = (DROPOUT, DROPOUT2D)
