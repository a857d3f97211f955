"""Input and Output: where tensors enter and leave the network."""

from __future__ import annotations

from graph_engine.catalog.spec import LayerSpec, Param, ParamKind, Port, ShapeError, TensorType


def _input_shape(inputs, p):
    shape = tuple(p["shape"])
    if any(d < 1 for d in shape):
        raise ShapeError(f"shape {list(shape)} has a dimension below 1", "every dimension must be 1 or more",
                         param="shape")
    return (TensorType(shape, p["dtype"]),)


def _output_shape(inputs, p):
    return ()


INPUT = LayerSpec(
    op="Input",
    category="Input/Output",
    doc="Where a batch of samples enters the network; `shape` excludes the batch dimension.",
    params=(
        Param("shape", ParamKind.INT_LIST, [1, 28, 28], min=1, max=1 << 20, min_len=1, max_len=5,
              doc="Shape of one sample, batch excluded ([64] for a vector, [1, 28, 28] for an image)."),
        Param("dtype", ParamKind.CHOICE, "float32", choices=("float32", "int64"),
              doc="float32 for features and images, int64 for token ids fed to an Embedding."),
    ),
    inputs=(),
    shape_rule=_input_shape,
    input_dtypes=None,
    flops=lambda i, o, p: 0,
    keywords=("data", "placeholder", "features", "image"),
)

OUTPUT = LayerSpec(
    op="Output",
    category="Input/Output",
    doc="What the network returns; the loss is computed on it.",
    inputs=(Port("input"),),
    outputs=(),
    shape_rule=_output_shape,
    input_dtypes=None,
    flops=lambda i, o, p: 0,
    keywords=("result", "logits", "prediction"),
)

SPECS = (INPUT, OUTPUT)
