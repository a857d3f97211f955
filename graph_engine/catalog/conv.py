"""Convolutions: Conv1d/2d/3d and the transposed (learned upsampling) ConvTranspose1d/2d."""

from __future__ import annotations

import math

from graph_engine.catalog.spec import (
    REQUIRED,
    LayerSpec,
    Param,
    ParamKind,
    ShapeError,
    TensorType,
    as_tuple,
    expect_rank,
)

MAX_CHANNELS = 1 << 20
MAX_WINDOW = 1024  # kernel, stride, padding, dilation

# Batch-less layout and spatial dim names per number of spatial dims.
LAYOUTS = {1: "[channels, length]", 2: "[channels, height, width]", 3: "[channels, depth, height, width]"}
DIM_NAMES = {1: ("length",), 2: ("height", "width"), 3: ("depth", "height", "width")}


def _channels(inputs):
    return inputs[0].shape[0]


def expect_spatial(x: TensorType, n: int, op: str, family: str, available: tuple[int, ...]) -> None:
    """Require a [channels, *n spatial] input; when the rank fits a sibling op (Conv1d for a [C, L] input
    given to Conv2d), the hint names it."""
    try:
        expect_rank(x, (n + 1,), op, LAYOUTS[n])
    except ShapeError as err:
        sibling = x.rank - 1
        if sibling != n and sibling in available:
            err.hint = f"use {family}{sibling}d for {LAYOUTS[sibling]} inputs, or {err.hint}"
        raise


def _window_params(n: int, transposed: bool) -> tuple[Param, ...]:
    params = (
        Param("kernel_size", ParamKind.INT_TUPLE, 3, length=n, min=1, max=MAX_WINDOW, torch_default=REQUIRED,
              doc="Size of the sliding filter (one number, or one per spatial dim)."),
        Param("stride", ParamKind.INT_TUPLE, 1, length=n, min=1, max=MAX_WINDOW,
              doc="Step between filter positions; 2 halves the size." if not transposed
              else "Upsampling factor: 2 roughly doubles the size."),
        Param("padding", ParamKind.INT_TUPLE, 0, length=n, min=0, max=MAX_WINDOW,
              doc="Border added on both sides of every spatial dim (filled as padding_mode says); "
              "kernel_size // 2 keeps the size with stride 1." if not transposed
              else "Trims this many positions from both sides of the output."),
    )
    if transposed:
        params += (
            Param("output_padding", ParamKind.INT_TUPLE, 0, length=n, min=0, max=MAX_WINDOW,
                  doc="Extra positions added on one side of the output to reach an exact size; "
                  "must be smaller than stride or dilation."),
        )
    return params


def _conv_params(n: int, transposed: bool) -> tuple[Param, ...]:
    common = (
        Param("in_channels", ParamKind.INT, inferred=_channels, min=1, max=MAX_CHANNELS,
              doc="Channels of the input (inferred)."),
        Param("out_channels", ParamKind.INT, 16, min=1, max=MAX_CHANNELS,
              doc="Number of filters, i.e. channels of the output."),
        *_window_params(n, transposed),
        Param("dilation", ParamKind.INT_TUPLE, 1, length=n, min=1, max=MAX_WINDOW,
              doc="Spacing between filter taps; larger values see further without more weights."),
        Param("groups", ParamKind.INT, 1, min=1, max=MAX_CHANNELS,
              doc="Split channels into this many independent groups (in_channels for depthwise)."),
        Param("bias", ParamKind.BOOL, True, doc="Learn an additive bias per output channel."),
    )
    if transposed:
        return common  # torch's transposed convs only support zero padding
    return common + (
        Param("padding_mode", ParamKind.CHOICE, "zeros", choices=("zeros", "reflect", "replicate", "circular"),
              doc="What the padding is filled with: zeros, a mirror of the edge, the edge value, or "
              "the other side (wrap around)."),
    )


def _check_groups(op: str, c_in: int, p) -> None:
    groups = p["groups"]
    for what, channels in (("in_channels", c_in), ("out_channels", p["out_channels"])):
        if channels % groups:
            divisors = [d for d in range(1, min(channels, 64) + 1) if channels % d == 0]
            raise ShapeError(
                f"{op}: {what}={channels} is not divisible by groups={groups}",
                f"use groups dividing both channel counts (divisors of {channels}: "
                + ", ".join(map(str, divisors[:8])) + ")",
                param="groups",
            )


def _check_padding_mode(op: str, spatial, pad, mode: str, n: int) -> None:
    if mode not in ("reflect", "circular"):
        return
    for name, size, p_ in zip(DIM_NAMES[n], spatial, pad, strict=True):
        if mode == "reflect" and p_ >= size:
            raise ShapeError(
                f"{op}: padding_mode='reflect' needs padding smaller than the input, but padding is {p_} "
                f"and {name} is {size}",
                f"use padding below {size}, or padding_mode 'zeros' or 'replicate'",
                param="padding",
            )
        if mode == "circular" and p_ > size:
            raise ShapeError(
                f"{op}: padding_mode='circular' cannot wrap around more than once, but padding is {p_} "
                f"and {name} is only {size}",
                f"use padding of at most {size}, or padding_mode 'zeros' or 'replicate'",
                param="padding",
            )


def _too_small(op: str, n: int, dim: int, size: int, k: int, pad: int, d: int) -> ShapeError:
    name = DIM_NAMES[n][dim]
    reach = d * (k - 1) + 1
    spans = f"kernel_size {k}" if d == 1 else f"kernel_size {k} with dilation {d}"
    return ShapeError(
        f"{op} output {name} would be below 1: the input {name} is {size} ({size + 2 * pad} with padding "
        f"{pad}), but the kernel spans {reach} ({spans})",
        "reduce kernel_size or dilation, or add padding (or use less stride/pooling in earlier layers)",
        param="kernel_size",
    )


def conv_out_size(size: int, k: int, s: int, p: int, d: int) -> int:
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def conv_transpose_out_size(size: int, k: int, s: int, p: int, d: int, op_: int) -> int:
    return (size - 1) * s - 2 * p + d * (k - 1) + op_ + 1


def _make_conv_shape(op: str, n: int):
    def rule(inputs, p):
        (x,) = inputs
        expect_spatial(x, n, op, "Conv", (1, 2, 3))
        _check_groups(op, x.shape[0], p)
        spatial = x.shape[1:]
        k, s, pad, d = (as_tuple(p[name], n) for name in ("kernel_size", "stride", "padding", "dilation"))
        _check_padding_mode(op, spatial, pad, p["padding_mode"], n)
        out = []
        for i in range(n):
            o = conv_out_size(spatial[i], k[i], s[i], pad[i], d[i])
            if o < 1:
                raise _too_small(op, n, i, spatial[i], k[i], pad[i], d[i])
            out.append(o)
        return (TensorType((p["out_channels"], *out)),)

    return rule


def _make_conv_transpose_shape(op: str, n: int):
    def rule(inputs, p):
        (x,) = inputs
        expect_spatial(x, n, op, "ConvTranspose", (1, 2))
        _check_groups(op, x.shape[0], p)
        spatial = x.shape[1:]
        k, s, pad, d, op_ = (as_tuple(p[name], n)
                             for name in ("kernel_size", "stride", "padding", "dilation", "output_padding"))
        for i in range(n):
            if op_[i] >= s[i] and op_[i] >= d[i]:
                raise ShapeError(
                    f"{op}: output_padding {op_[i]} must be smaller than stride ({s[i]}) or dilation ({d[i]})",
                    f"use output_padding below {max(s[i], d[i])}",
                    param="output_padding",
                )
        out = []
        for i in range(n):
            o = conv_transpose_out_size(spatial[i], k[i], s[i], pad[i], d[i], op_[i])
            if o < 1:
                raise ShapeError(
                    f"{op} output {DIM_NAMES[n][i]} would be {o} (input {DIM_NAMES[n][i]} {spatial[i]}): "
                    f"padding {pad[i]} trims more than the layer produces",
                    "reduce padding, or increase kernel_size or stride",
                    param="padding",
                )
            out.append(o)
        return (TensorType((p["out_channels"], *out)),)

    return rule


def _make_conv_count(n: int):
    def count(inputs, p):
        weights = p["out_channels"] * (p["in_channels"] // p["groups"]) * math.prod(as_tuple(p["kernel_size"], n))
        return weights + (p["out_channels"] if p["bias"] else 0)

    return count


def _make_conv_transpose_count(n: int):
    def count(inputs, p):
        weights = p["in_channels"] * (p["out_channels"] // p["groups"]) * math.prod(as_tuple(p["kernel_size"], n))
        return weights + (p["out_channels"] if p["bias"] else 0)

    return count


def _make_conv_flops(n: int):
    # Every output element is a dot product over (in_channels / groups) * kernel taps: one multiply-add each.
    def flops(inputs, outputs, p):
        taps = (p["in_channels"] // p["groups"]) * math.prod(as_tuple(p["kernel_size"], n))
        return 2 * outputs[0].numel * taps

    return flops


def _make_conv_transpose_flops(n: int):
    # Every input element is scattered into (out_channels / groups) * kernel taps outputs.
    def flops(inputs, outputs, p):
        taps = (p["out_channels"] // p["groups"]) * math.prod(as_tuple(p["kernel_size"], n))
        return 2 * inputs[0].numel * taps

    return flops


def _conv(n: int, doc: str, keywords: tuple[str, ...]) -> LayerSpec:
    op = f"Conv{n}d"
    return LayerSpec(
        op=op,
        category="Convolution",
        doc=doc,
        params=_conv_params(n, transposed=False),
        module=f"nn.{op}",
        positional=("in_channels", "out_channels"),
        shape_rule=_make_conv_shape(op, n),
        param_count=_make_conv_count(n),
        flops=_make_conv_flops(n),
        keywords=("convolution", "filter", "kernel", *keywords),
    )


def _conv_transpose(n: int, doc: str, keywords: tuple[str, ...]) -> LayerSpec:
    op = f"ConvTranspose{n}d"
    return LayerSpec(
        op=op,
        category="Convolution",
        doc=doc,
        params=_conv_params(n, transposed=True),
        module=f"nn.{op}",
        positional=("in_channels", "out_channels"),
        shape_rule=_make_conv_transpose_shape(op, n),
        param_count=_make_conv_transpose_count(n),
        flops=_make_conv_transpose_flops(n),
        keywords=("deconvolution", "transposed convolution", "upsample", "upconv", "decoder", *keywords),
    )


CONV1D = _conv(1, "Slides learned filters along a sequence ([channels, length]) to detect local patterns, "
               "e.g. in audio, sensor signals or text.", ("temporal", "sequence", "1d"))
CONV2D = _conv(2, "Slides small learned filters over an image to detect local patterns such as edges and "
               "textures; the workhorse of vision networks (CNNs).", ("cnn", "image", "2d"))
CONV3D = _conv(3, "Slides learned 3-D filters over volumes or video ([channels, depth, height, width]) to "
               "detect local patterns in space and time.", ("volume", "video", "voxel", "3d"))
CONV_TRANSPOSE1D = _conv_transpose(1, "Learned upsampling of a sequence: the reverse of a strided Conv1d, "
                                   "used in decoders and audio generators.", ("1d",))
CONV_TRANSPOSE2D = _conv_transpose(2, "Learned upsampling of an image (often called deconvolution): grows "
                                   "height and width, used in decoders, GANs and segmentation.",
                                   ("gan", "segmentation", "2d"))

SPECS = (CONV1D, CONV2D, CONV3D, CONV_TRANSPOSE1D, CONV_TRANSPOSE2D)
