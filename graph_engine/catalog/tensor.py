"""Parameter: a learnable tensor as a node (a class token, a position embedding, a layer scale).

It owns an nn.Parameter of shape [1, *shape], created in __init__ with the chosen initialisation and saved
with the weights (the leading 1 is the batch dim it is shared along, as timm and torchvision store class
tokens and position embeddings). Its input only says how many samples there are: the output is the same
tensor for every sample of the input's batch (`expand`, which copies nothing), so it can be concatenated
with (class token), added to (position embedding) or multiplied by (layer scale, with a broadcasting
Multiply) the tensors of that batch. Gradients from every sample add up in the one parameter.

Scale: x * factor + offset with fixed numbers (no weights), as in the transformer tutorial's
`embedding(x) * math.sqrt(d_model)`; the importer maps tensor-and-number arithmetic (x * c, x / c, c * x,
x + c, x - c) to it (docs/DECISIONS.md).
"""

from __future__ import annotations

import math

from graph_engine.catalog.spec import LayerSpec, Param, ParamKind, Port, TensorType

MAX_SIZE = 1 << 24
MAX_RANK = 8
INITS = ("zeros", "ones", "constant", "normal", "trunc_normal")


def _parameter_shape(inputs, p):
    return (TensorType(tuple(p["shape"])),)  # validation refuses sizes too large to allocate


def _initial_value(p) -> str:
    dims = ", ".join(str(int(d)) for d in (1, *p["shape"]))
    init = p["init"]
    if init == "zeros" or (init in ("normal", "trunc_normal") and float(p["std"]) == 0.0):
        # a normal with std 0 is all zeros; torch's trunc_normal_ would divide by the std
        return f"torch.zeros({dims})"
    if init == "ones":
        return f"torch.ones({dims})"
    if init == "constant":
        return f"torch.full(({dims}), {float(p['value'])!r})"
    function = "trunc_normal_" if init == "trunc_normal" else "normal_"
    return f"nn.init.{function}(torch.empty({dims}), std={float(p['std'])!r})"


def _parameter_emit(xs, p) -> str:
    tensor, x = xs
    keep = ", ".join(["-1"] * len(p["shape"]))
    x = x if x.isidentifier() else f"({x})"
    return f"{tensor}.expand({x}.shape[0], {keep})"


PARAMETER = LayerSpec(
    op="Parameter",
    category="Tensor",
    doc="A learned tensor shared by every sample: a class token, a position embedding or a layer scale; its "
        "input only gives the batch size.",
    params=(
        Param("shape", ParamKind.INT_LIST, [1, 64], min=1, max=MAX_SIZE, min_len=1, max_len=MAX_RANK,
              doc="The tensor's shape per sample (batch excluded), e.g. [1, 64] for a class token."),
        Param("init", ParamKind.CHOICE, "trunc_normal", choices=INITS,
              doc="How it starts: zeros, ones, a constant value, or random normal / truncated normal with std."),
        Param("std", ParamKind.FLOAT, 0.02, min=0.0, max=100.0,
              doc="Standard deviation of the normal and trunc_normal inits (truncated at -2 and 2)."),
        Param("value", ParamKind.FLOAT, 1e-6, min=-1e6, max=1e6,
              doc="The starting value of the constant init (1e-6 is ConvNeXt's layer scale)."),
    ),
    inputs=(Port("input", doc="Any tensor: the parameter is given to each of its samples."),),
    input_dtypes=None,
    emit=_parameter_emit,
    attribute=_initial_value,
    attribute_kind="parameter",
    shape_rule=_parameter_shape,
    param_count=lambda inputs, p: math.prod(p["shape"]),
    flops=lambda inputs, outputs, p: 0,
    keywords=("learnable", "weight", "class token", "cls token", "position embedding", "layer scale", "tensor",
              "nn.Parameter"),
)

def _scale_emit(xs, p) -> str:
    (x,) = xs
    factor, offset = float(p["factor"]), float(p["offset"])
    text = x
    if factor != 1.0:
        text = f"{text if text.isidentifier() else f'({text})'} * {factor!r}"
    if offset != 0.0:
        text = f"{text} + {offset!r}" if offset > 0 else f"{text} - {-offset!r}"
    return text  # factor 1 and offset 0: the input itself


def _same_shape(inputs, p):
    (x,) = inputs
    return (TensorType(x.shape, x.dtype),)


SCALE = LayerSpec(
    op="Scale",
    category="Tensor",
    doc="Multiplies by a fixed number and adds another (x * factor + offset), with no weights; e.g. the "
        "transformer's embedding scale sqrt(d_model).",
    params=(
        Param("factor", ParamKind.FLOAT, 1.0, min=-1e9, max=1e9, doc="The number every value is multiplied by."),
        Param("offset", ParamKind.FLOAT, 0.0, min=-1e9, max=1e9, doc="The number added after multiplying."),
    ),
    shape_rule=_same_shape,
    emit=_scale_emit,
    flops=lambda inputs, outputs, p: (int(float(p["factor"]) != 1.0) + int(float(p["offset"]) != 0.0))
    * outputs[0].numel,
    keywords=("multiply by a constant", "times", "divide", "constant", "sqrt", "rescale", "shift", "offset"),
)

SPECS = (PARAMETER, SCALE)
