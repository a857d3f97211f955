"""Pooling and resampling: Max/Avg pooling, adaptive pooling to a fixed size, and Upsample."""

from __future__ import annotations

import math

from graph_engine.catalog.conv import DIM_NAMES, LAYOUTS, MAX_WINDOW, expect_spatial
from graph_engine.catalog.spec import LayerSpec, Param, ParamKind, ShapeError, TensorType, as_tuple

MAX_SIZE = 1 << 16  # output_size / size of one spatial dim


def pool_out_size(size: int, k: int, s: int, pad: int, d: int, ceil_mode: bool) -> int:
    """torch's pooling_output_shape: floor (or ceil) of the window count; in ceil mode the last window must
    still start inside the input or its left padding."""
    out = (size + 2 * pad - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= size + pad:
        out -= 1
    return out


def _pool_params(n: int, max_pool: bool) -> tuple[Param, ...]:
    params = (
        Param("kernel_size", ParamKind.INT_TUPLE, 2, length=n, min=1, max=MAX_WINDOW,
              doc="Size of the pooling window (one number, or one per spatial dim)."),
        Param("stride", ParamKind.INT_TUPLE, None, length=n, min=1, max=MAX_WINDOW, nullable=True,
              doc="Step between windows; empty means the same as kernel_size (non-overlapping windows)."),
        Param("padding", ParamKind.INT_TUPLE, 0, length=n, min=0, max=MAX_WINDOW,
              doc="Implicit padding on both sides; at most half the kernel_size."),
    )
    if max_pool:
        params += (
            Param("dilation", ParamKind.INT_TUPLE, 1, length=n, min=1, max=MAX_WINDOW,
                  doc="Spacing between the elements of a window."),
        )
    params += (
        Param("ceil_mode", ParamKind.BOOL, False,
              doc="Round the output size up instead of down, so a partial last window is kept."),
    )
    if not max_pool:
        params += (
            Param("count_include_pad", ParamKind.BOOL, True,
                  doc="Count padded zeros when averaging a window that overlaps the padding."),
        )
    return params


def _make_pool_shape(op: str, n: int):
    def rule(inputs, p):
        (x,) = inputs
        family = op[: -len("1d")]
        expect_spatial(x, n, op, family, (1, 2))
        k = as_tuple(p["kernel_size"], n)
        s = k if p["stride"] is None else as_tuple(p["stride"], n)
        pad = as_tuple(p["padding"], n)
        d = as_tuple(p.get("dilation", 1), n)
        out = []
        for i, name in enumerate(DIM_NAMES[n]):
            if pad[i] > k[i] // 2:
                raise ShapeError(
                    f"{op}: padding {pad[i]} is more than half the kernel_size {k[i]}",
                    f"use padding of at most {k[i] // 2}, or a larger kernel_size",
                    param="padding",
                )
            o = pool_out_size(x.shape[1 + i], k[i], s[i], pad[i], d[i], p["ceil_mode"])
            if o < 1:
                reach = d[i] * (k[i] - 1) + 1
                raise ShapeError(
                    f"{op} output {name} would be {o}: the input {name} is {x.shape[1 + i]} "
                    f"({x.shape[1 + i] + 2 * pad[i]} with padding {pad[i]}), but one window spans {reach}",
                    "reduce kernel_size or stride, or add padding (or downsample less in earlier layers)",
                    param="kernel_size",
                )
            out.append(o)
        return (TensorType((x.shape[0], *out), x.dtype),)

    return rule


def _make_pool_flops(n: int):
    # One comparison (max) or addition (average) per window element.
    def flops(inputs, outputs, p):
        return outputs[0].numel * math.prod(as_tuple(p["kernel_size"], n))

    return flops


def _pool(op: str, n: int, doc: str, keywords: tuple[str, ...]) -> LayerSpec:
    max_pool = op.startswith("Max")
    return LayerSpec(
        op=op,
        category="Pooling",
        doc=doc,
        params=_pool_params(n, max_pool),
        module=f"nn.{op}",
        positional=("kernel_size",),
        shape_rule=_make_pool_shape(op, n),
        flops=_make_pool_flops(n),
        keywords=("pooling", "downsample", "subsample", *keywords),
    )


MAX_POOL1D = _pool("MaxPool1d", 1, "Keeps the largest value in each window along a sequence: shortens it "
                   "while keeping the strongest responses.", ("max", "1d"))
MAX_POOL2D = _pool("MaxPool2d", 2, "Keeps the largest value in each window of an image: halves height and "
                   "width (with the default 2x2) while keeping the strongest features.", ("max", "2d"))
AVG_POOL1D = _pool("AvgPool1d", 1, "Averages each window along a sequence: shortens it and smooths it.",
                   ("average", "mean", "1d"))
AVG_POOL2D = _pool("AvgPool2d", 2, "Averages each window of an image: shrinks height and width and smooths "
                   "the feature maps.", ("average", "mean", "2d"))


# ---- adaptive pooling: the output size is fixed, the windows adapt ------------------------------------


def _adaptive_window_total(size: int, out: int) -> int:
    """Sum of the window lengths torch uses (start = floor(i*L/O), end = ceil((i+1)*L/O))."""
    return sum(-(-(i + 1) * size // out) - (i * size // out) for i in range(out))


def _make_adaptive_shape(op: str, n: int):
    def rule(inputs, p):
        (x,) = inputs
        expect_spatial(x, n, op, op[: -len("1d")], (1, 2))
        return (TensorType((x.shape[0], *as_tuple(p["output_size"], n)), x.dtype),)

    return rule


def _make_adaptive_flops(n: int):
    def flops(inputs, outputs, p):
        x = inputs[0]
        sizes = as_tuple(p["output_size"], n)
        return x.shape[0] * math.prod(_adaptive_window_total(x.shape[1 + i], sizes[i]) for i in range(n))

    return flops


def _adaptive(op: str, n: int, doc: str, keywords: tuple[str, ...]) -> LayerSpec:
    return LayerSpec(
        op=op,
        category="Pooling",
        doc=doc,
        params=(
            Param("output_size", ParamKind.INT_TUPLE, 1, length=n, min=1, max=MAX_SIZE,
                  doc="Spatial size of the output, whatever the input size (1 = global pooling)."),
        ),
        module=f"nn.{op}",
        positional=("output_size",),
        shape_rule=_make_adaptive_shape(op, n),
        flops=_make_adaptive_flops(n),
        keywords=("adaptive", "global", "pooling", *keywords),
    )


ADAPTIVE_AVG_POOL1D = _adaptive("AdaptiveAvgPool1d", 1, "Averages a sequence down to a fixed length, whatever "
                                "its input length (output_size 1 = global average).", ("average", "mean", "gap"))
ADAPTIVE_AVG_POOL2D = _adaptive("AdaptiveAvgPool2d", 2, "Averages feature maps down to a fixed size, whatever "
                                "the image size; output_size 1 is the global average pooling before a "
                                "classifier.", ("average", "mean", "gap"))
ADAPTIVE_MAX_POOL1D = _adaptive("AdaptiveMaxPool1d", 1, "Takes the maximum over windows chosen so that a "
                                "sequence of any length comes out at a fixed length.", ("max",))
ADAPTIVE_MAX_POOL2D = _adaptive("AdaptiveMaxPool2d", 2, "Takes the maximum over windows chosen so that an image "
                                "of any size comes out at a fixed size (1 = global max pooling).", ("max",))


# ---- Upsample -----------------------------------------------------------------------------------------

# Batch-less input ranks each interpolation mode accepts, and the samples it reads per output element.
UPSAMPLE_RANKS = {"nearest": (2, 3, 4), "linear": (2,), "bilinear": (3,), "bicubic": (3,), "trilinear": (4,)}
UPSAMPLE_TAPS = {"nearest": 1, "linear": 2, "bilinear": 4, "bicubic": 16, "trilinear": 8}


def _upsample_shape(inputs, p):
    (x,) = inputs
    mode = p["mode"]
    ranks = UPSAMPLE_RANKS[mode]
    if x.rank not in ranks:
        layouts = " or ".join(LAYOUTS[r - 1] for r in ranks)
        fits = [m for m, rs in UPSAMPLE_RANKS.items() if x.rank in rs and m != "nearest"]
        if fits:
            hint = f"use mode '{fits[0]}' (or 'nearest') for this input"
        elif x.rank > max(ranks):
            hint = "add a Flatten or Reshape before this layer to remove extra dims"
        else:
            hint = "add an Unflatten or Reshape before this layer to give the input spatial dims"
        raise ShapeError(f"Upsample mode '{mode}' expects {layouts} per sample, but gets {x} ({x.rank} dims)",
                         hint, param="mode" if fits else None)
    n = x.rank - 1
    size, scale = p["size"], p["scale_factor"]
    if size is None and scale is None:
        raise ShapeError("Upsample needs either size or scale_factor", "set scale_factor (e.g. 2) or size",
                         param="scale_factor")
    if size is not None and scale is not None:
        shown = size if isinstance(size, int) else list(size)
        raise ShapeError(f"Upsample takes size or scale_factor, not both (size {shown}, scale_factor {scale:g})",
                         "to resize to an exact size, clear scale_factor (leave it empty); otherwise clear size",
                         param="scale_factor")
    if p["align_corners"] and mode == "nearest":
        raise ShapeError("align_corners only applies to the interpolating modes (linear, bilinear, bicubic, "
                         "trilinear), not 'nearest'", "turn align_corners off or change mode",
                         param="align_corners")
    if size is not None:
        if not isinstance(size, int) and len(size) != n:
            raise ShapeError(f"Upsample size {list(size)} has {len(size)} numbers but the input has {n} spatial "
                             f"dims ({LAYOUTS[n]})", f"give size as one number or {n} numbers", param="size")
        out = as_tuple(size, n)
    else:
        out = tuple(math.floor(d * scale) for d in x.shape[1:])
        for name, d, o in zip(DIM_NAMES[n], x.shape[1:], out, strict=True):
            if o < 1:
                raise ShapeError(f"Upsample output {name} would be {o} ({name} {d} x scale_factor {scale:g}, "
                                 "rounded down)", "use a larger scale_factor", param="scale_factor")
    return (TensorType((x.shape[0], *out), x.dtype),)


def _upsample_flops(inputs, outputs, p):
    taps = UPSAMPLE_TAPS[p["mode"]]
    return outputs[0].numel if taps == 1 else 2 * taps * outputs[0].numel


UPSAMPLE = LayerSpec(
    op="Upsample",
    category="Pooling",
    doc="Resizes feature maps by interpolation (no weights): scale_factor 2 doubles height and width, as in "
        "decoders and U-Nets.",
    params=(
        Param("size", ParamKind.INT_TUPLE, None, nullable=True, min=1, max=MAX_SIZE,
              doc="Exact output spatial size (leave empty to use scale_factor)."),
        Param("scale_factor", ParamKind.FLOAT, 2.0, nullable=True, min=0.01, max=256.0, torch_default=None,
              doc="Multiply every spatial dim by this and round down (leave empty to use size)."),
        Param("mode", ParamKind.CHOICE, "nearest", choices=tuple(UPSAMPLE_RANKS),
              doc="nearest copies pixels (any rank); linear needs [channels, length], bilinear/bicubic "
              "[channels, height, width], trilinear [channels, depth, height, width]."),
        Param("align_corners", ParamKind.BOOL, False,
              doc="Interpolating modes only: align the corner pixels of input and output."),
    ),
    module="nn.Upsample",
    shape_rule=_upsample_shape,
    flops=_upsample_flops,
    keywords=("resize", "interpolate", "upscale", "unpool", "zoom", "bilinear", "nearest"),
)

SPECS = (MAX_POOL1D, MAX_POOL2D, AVG_POOL1D, AVG_POOL2D, ADAPTIVE_AVG_POOL1D, ADAPTIVE_AVG_POOL2D,
         ADAPTIVE_MAX_POOL1D, ADAPTIVE_MAX_POOL2D, UPSAMPLE)
