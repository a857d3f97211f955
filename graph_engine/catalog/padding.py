"""Padding layers: grow a sequence ([channels, length]) or an image ([channels, height, width]) at its borders.

`padding` follows torch: one number for every side, or (left, right) for 1-d and (left, right, top, bottom)
for 2-d. What fills the border differs: zeros or a constant, a mirror of the inside (reflection, which needs
each pad smaller than that dim) or copies of the edge values (replication).
"""

from __future__ import annotations

from graph_engine.catalog.spec import (
    LayerSpec,
    Param,
    ParamKind,
    ShapeError,
    TensorType,
    as_tuple,
    expect_rank,
)

MAX_PAD = 1 << 16
LAYOUTS = {1: "[channels, length]", 2: "[channels, height, width]"}


def _pads(p, n: int) -> tuple[int, ...]:
    return as_tuple(p["padding"], 2 * n)


def _pad_shape(op: str, n: int, reflect: bool):
    def rule(inputs, p):
        (x,) = inputs
        expect_rank(x, (n + 1,), op, LAYOUTS[n])
        pads = _pads(p, n)
        shape = list(x.shape)
        # torch's pad tuple starts with the last dim: (left, right) of W, then (top, bottom) of H.
        for i in range(n):
            before, after = pads[2 * i], pads[2 * i + 1]
            d = len(shape) - 1 - i
            if reflect and (before >= shape[d] or after >= shape[d]):
                raise ShapeError(
                    f"{op} pads dim {d + 1} of {x} by {max(before, after)}, but reflection needs each pad smaller "
                    f"than that dim ({shape[d]})",
                    f"use a padding of at most {shape[d] - 1}, or ReplicationPad/ZeroPad", param="padding")
            shape[d] += before + after
        return (TensorType(tuple(shape), x.dtype),)

    return rule


def _padding_param(n: int) -> Param:
    sides = "(left, right)" if n == 1 else "(left, right, top, bottom)"
    return Param("padding", ParamKind.INT_TUPLE, 1, min=0, max=MAX_PAD, length=2 * n,
                 doc=f"Pad width: one number for every side, or {2 * n} numbers {sides}.")


def _pad(op: str, n: int, doc: str, reflect: bool = False, constant: bool = False, keywords=()) -> LayerSpec:
    params = (_padding_param(n),) + ((Param("value", ParamKind.FLOAT, 0.0, min=-1e12, max=1e12,
                                            doc="The number the border is filled with."),) if constant else ())
    return LayerSpec(
        op=op,
        category="Padding",
        doc=doc,
        params=params,
        input_dtypes=None if constant or op.startswith("Zero") else ("float32",),
        module=f"nn.{op}",
        positional=("padding", "value") if constant else ("padding",),
        shape_rule=_pad_shape(op, n, reflect),
        flops=lambda inputs, outputs, p: 0,
        keywords=("pad", "padding", "border", *keywords),
    )


ZERO_PAD1D = _pad("ZeroPad1d", 1, "Adds zeros at both ends of each sequence (a layer version of a Conv1d's "
                  "padding).", keywords=("zero",))
ZERO_PAD2D = _pad("ZeroPad2d", 2, "Adds a border of zeros around each image, e.g. asymmetric padding "
                  "before a strided Conv2d.", keywords=("zero",))
CONSTANT_PAD1D = _pad("ConstantPad1d", 1, "Adds a constant value at both ends of each sequence.", constant=True,
                      keywords=("constant", "fill"))
CONSTANT_PAD2D = _pad("ConstantPad2d", 2, "Adds a border of a constant value around each image.", constant=True,
                      keywords=("constant", "fill"))
REFLECTION_PAD1D = _pad("ReflectionPad1d", 1, "Pads each sequence with a mirror image of its ends (no "
                        "artificial edges).", reflect=True, keywords=("reflect", "mirror"))
REFLECTION_PAD2D = _pad("ReflectionPad2d", 2, "Pads each image with a mirror image of its borders; common in "
                        "style transfer and image generation.", reflect=True, keywords=("reflect", "mirror"))
REPLICATION_PAD1D = _pad("ReplicationPad1d", 1, "Pads each sequence by repeating its first and last values.",
                         keywords=("replicate", "edge", "repeat"))
REPLICATION_PAD2D = _pad("ReplicationPad2d", 2, "Pads each image by repeating its border pixels.",
                         keywords=("replicate", "edge", "repeat"))

SPECS = (ZERO_PAD1D, ZERO_PAD2D, CONSTANT_PAD1D, CONSTANT_PAD2D, REFLECTION_PAD1D, REFLECTION_PAD2D,
         REPLICATION_PAD1D, REPLICATION_PAD2D)
