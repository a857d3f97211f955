"""Normalization layers: BatchNorm1d/2d, LayerNorm, GroupNorm, InstanceNorm2d.

FLOPs: BatchNorm at inference is a per-channel scale and shift (2 per element). The others compute their
statistics on every forward: mean (1), variance (2), normalize (2) per element, plus 2 for the affine part.
"""

from __future__ import annotations

import math

from graph_engine.catalog.spec import LayerSpec, Param, ParamKind, ShapeError, TensorType, expect_rank

MAX_FEATURES = 1 << 24


def _channels(inputs):
    return inputs[0].shape[0]


def _trailing_dim(inputs):
    return (inputs[0].shape[-1],)


def _eps() -> Param:
    return Param("eps", ParamKind.FLOAT, 1e-5, min=1e-12, max=1.0,
                 doc="Small number added to the variance so it never divides by zero.")


def _momentum() -> Param:
    return Param("momentum", ParamKind.FLOAT, 0.1, min=0.0, max=1.0, nullable=True,
                 doc="How fast the running mean/variance follow new batches (empty: a plain average).")


def _features(name: str = "num_features") -> Param:
    return Param(name, ParamKind.INT, inferred=_channels, min=1, max=MAX_FEATURES,
                 doc="Channels of the input (inferred).")


def _batch_norm_params(affine: bool = True, track: bool = True) -> tuple[Param, ...]:
    return (
        _features(),
        _eps(),
        _momentum(),
        Param("affine", ParamKind.BOOL, affine, doc="Learn a per-channel scale and shift after normalizing."),
        Param("track_running_stats", ParamKind.BOOL, track,
              doc="Keep running statistics to use at evaluation time instead of the batch's own."),
    )


def _per_channel_count(inputs, p):
    return 2 * p["num_features"] if p["affine"] else 0


def _scale_shift_flops(inputs, outputs, p):
    return 2 * outputs[0].numel


def _stats_flops(affine_key: str):
    def flops(inputs, outputs, p):
        return (5 + (2 if p[affine_key] else 0)) * outputs[0].numel

    return flops


def _batch_norm1d_shape(inputs, p):
    (x,) = inputs
    try:
        expect_rank(x, (1, 2), "BatchNorm1d", "[features] or [channels, length]")
    except ShapeError as err:
        if x.rank == 3:
            err.hint = f"use BatchNorm2d for [channels, height, width] inputs, or {err.hint}"
        raise
    return (TensorType(x.shape, x.dtype),)


def _batch_norm2d_shape(inputs, p):
    (x,) = inputs
    try:
        expect_rank(x, (3,), "BatchNorm2d", "[channels, height, width]")
    except ShapeError as err:
        if x.rank in (1, 2):
            err.hint = f"use BatchNorm1d for {x.rank}-dim inputs, or {err.hint}"
        raise
    return (TensorType(x.shape, x.dtype),)


BATCH_NORM1D = LayerSpec(
    op="BatchNorm1d",
    category="Normalization",
    doc="Normalizes each feature over the batch to zero mean and unit variance; speeds up and stabilizes "
        "training of MLPs and 1-D CNNs.",
    params=_batch_norm_params(),
    module="nn.BatchNorm1d",
    positional=("num_features",),
    shape_rule=_batch_norm1d_shape,
    param_count=_per_channel_count,
    flops=_scale_shift_flops,
    keywords=("batch normalization", "bn", "normalize"),
)

BATCH_NORM2D = LayerSpec(
    op="BatchNorm2d",
    category="Normalization",
    doc="Normalizes each channel of an image over the batch and pixels; the usual companion of Conv2d, it "
        "speeds up and stabilizes training.",
    params=_batch_norm_params(),
    module="nn.BatchNorm2d",
    positional=("num_features",),
    shape_rule=_batch_norm2d_shape,
    param_count=_per_channel_count,
    flops=_scale_shift_flops,
    keywords=("batch normalization", "bn", "normalize", "cnn"),
)


def _matches_trailing_dims(inputs, value) -> bool:
    """An explicit normalized_shape is right when it equals the input's trailing dims ([C, L] on [C, L])."""
    value = tuple(value)
    return 0 < len(value) <= inputs[0].rank and inputs[0].shape[-len(value):] == value


def _layer_norm_shape(inputs, p):
    (x,) = inputs
    if x.rank < 1:
        raise ShapeError(f"LayerNorm needs at least one feature dim, but gets {x} (0 dims)",
                         "add an Unflatten or Reshape before this layer")
    shape = tuple(p["normalized_shape"])
    if x.rank < len(shape) or x.shape[x.rank - len(shape):] != shape:
        trailing = list(x.shape[-len(shape):])
        raise ShapeError(
            f"LayerNorm normalizes over the last dims {list(shape)}, but the input {x} ends in {trailing}",
            f'set normalized_shape to trailing dims of the input (e.g. [{x.shape[-1]}]) or "auto"',
            param="normalized_shape",
        )
    return (TensorType(x.shape, x.dtype),)


def _layer_norm_count(inputs, p):
    if not p["elementwise_affine"]:
        return 0
    return math.prod(p["normalized_shape"]) * (2 if p["bias"] else 1)


LAYER_NORM = LayerSpec(
    op="LayerNorm",
    category="Normalization",
    doc="Normalizes each sample over its last dims (the features of every token); the standard normalization "
        "in transformers, independent of batch size.",
    params=(
        Param("normalized_shape", ParamKind.INT_LIST, inferred=_trailing_dim, min=1, max=MAX_FEATURES,
              min_len=1, max_len=5, explicit_ok=_matches_trailing_dims,
              doc="The trailing dims to normalize over (inferred: the last dim)."),
        _eps(),
        Param("elementwise_affine", ParamKind.BOOL, True, doc="Learn a per-element scale (and shift)."),
        Param("bias", ParamKind.BOOL, True, doc="Learn the shift too (needs elementwise_affine)."),
    ),
    module="nn.LayerNorm",
    positional=("normalized_shape",),
    shape_rule=_layer_norm_shape,
    param_count=_layer_norm_count,
    flops=_stats_flops("elementwise_affine"),
    keywords=("layer normalization", "ln", "normalize", "transformer"),
)


def _group_norm_shape(inputs, p):
    (x,) = inputs
    if x.rank < 1:
        raise ShapeError(f"GroupNorm expects [channels, ...] per sample, but gets {x} (0 dims)",
                         "add an Unflatten or Reshape before this layer to give the input a channel dim")
    channels, groups = x.shape[0], p["num_groups"]
    if channels % groups:
        divisors = [d for d in range(1, min(channels, 64) + 1) if channels % d == 0]
        raise ShapeError(f"GroupNorm: {channels} channels cannot be split into num_groups={groups} equal groups",
                         "use a num_groups that divides the channel count: " + ", ".join(map(str, divisors[:8])),
                         param="num_groups")
    return (TensorType(x.shape, x.dtype),)


GROUP_NORM = LayerSpec(
    op="GroupNorm",
    category="Normalization",
    doc="Normalizes groups of channels within each sample; works like BatchNorm but also with tiny batches.",
    params=(
        Param("num_groups", ParamKind.INT, 2, min=1, max=MAX_FEATURES,
              doc="Number of channel groups; must divide the channel count."),
        _features("num_channels"),
        _eps(),
        Param("affine", ParamKind.BOOL, True, doc="Learn a per-channel scale and shift after normalizing."),
    ),
    module="nn.GroupNorm",
    positional=("num_groups", "num_channels"),
    shape_rule=_group_norm_shape,
    param_count=lambda inputs, p: 2 * p["num_channels"] if p["affine"] else 0,
    flops=_stats_flops("affine"),
    keywords=("group normalization", "gn", "normalize"),
)


def _instance_norm2d_shape(inputs, p):
    (x,) = inputs
    expect_rank(x, (3,), "InstanceNorm2d", "[channels, height, width]")
    if x.shape[1] * x.shape[2] == 1:
        raise ShapeError(f"InstanceNorm2d needs more than one pixel per channel, but gets {x}",
                         "normalize earlier (before the feature maps shrink to 1x1) or use LayerNorm")
    return (TensorType(x.shape, x.dtype),)


INSTANCE_NORM2D = LayerSpec(
    op="InstanceNorm2d",
    category="Normalization",
    doc="Normalizes every channel of every image on its own (removes per-image contrast); common in style "
        "transfer and image generation.",
    params=_batch_norm_params(affine=False, track=False),
    module="nn.InstanceNorm2d",
    positional=("num_features",),
    shape_rule=_instance_norm2d_shape,
    param_count=_per_channel_count,
    flops=_stats_flops("affine"),
    keywords=("instance normalization", "in", "normalize", "style transfer"),
)

def _layer_norm2d_shape(inputs, p):
    (x,) = inputs
    expect_rank(x, (3,), "LayerNorm2d", "[channels, height, width]")
    return (TensorType(x.shape, x.dtype),)


# An nn.LayerNorm over the channels, called on the image with its channels moved last and back: the layer
# torchvision's and timm's LayerNorm2d are (their weights load as they are).
LAYER_NORM2D = LayerSpec(
    op="LayerNorm2d",
    category="Normalization",
    doc="LayerNorm over the channels of each pixel of a [C, H, W] image (ConvNeXt); unlike GroupNorm it does "
        "not mix pixels.",
    params=(
        Param("num_channels", ParamKind.INT, inferred=lambda inputs: inputs[0].shape[0], min=1, max=MAX_FEATURES,
              doc="Channels of the input (inferred)."),
        Param("eps", ParamKind.FLOAT, 1e-6, min=1e-12, max=1.0, torch_default=1e-5,
              doc="Small number added to the variance for numerical stability (ConvNeXt uses 1e-6)."),
        Param("elementwise_affine", ParamKind.BOOL, True, doc="Learn a per-channel scale (and shift)."),
        Param("bias", ParamKind.BOOL, True, doc="Learn the shift too (needs elementwise_affine)."),
    ),
    module="nn.LayerNorm",
    positional=("num_channels",),
    call=lambda m, xs, p: f"{m}({xs[0]}.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)",
    shape_rule=_layer_norm2d_shape,
    param_count=lambda inputs, p: (p["num_channels"] * (2 if p["bias"] else 1)) if p["elementwise_affine"] else 0,
    flops=_stats_flops("elementwise_affine"),
    keywords=("layer normalization", "channel layernorm", "convnext", "normalize", "ln"),
)

SPECS = (BATCH_NORM1D, BATCH_NORM2D, LAYER_NORM, GROUP_NORM, INSTANCE_NORM2D, LAYER_NORM2D)
