"""More ops that move data without learning: Expand, Chunk, Split (several outputs), PixelShuffle,
PixelUnshuffle and ChannelShuffle. They sit in the palette's Reshape category.

Chunk and Split have one output port per piece: their port count follows their params (`output_count`), and
output i is element i of the tuple torch returns. Dims follow torch (dim 0 is the batch, never split).
"""

from __future__ import annotations

from graph_engine.catalog.reshape import _expr, _need_dims, _zero_flops
from graph_engine.catalog.spec import (
    REQUIRED,
    LayerSpec,
    Param,
    ParamKind,
    Port,
    ShapeError,
    TensorType,
    expect_rank,
    full_dim,
)

MAX_RANK = 16
MAX_SIZE = 1 << 24
MAX_PIECES = 16


def _dim_param(default: int = 1) -> Param:
    return Param("dim", ParamKind.INT, default, min=-MAX_RANK, max=MAX_RANK,
                 doc="The dim to cut along (1 is the first dim after the batch).")


# ---- Expand ------------------------------------------------------------------------------------------------


def _expand_shape(inputs, p):
    (x,) = inputs
    sizes = tuple(p["size"])
    if len(sizes) != x.rank:
        raise ShapeError(
            f"Expand's size {list(sizes)} has {len(sizes)} entries, but each sample of {x} has {x.rank} dims",
            f"list one size per dim (batch excluded), -1 to keep a dim, e.g. {[-1] * x.rank}; add a Reshape "
            "first to give the input size-1 dims to expand", param="size")
    shape = []
    for i, (old, new) in enumerate(zip(x.shape, sizes, strict=True)):
        if new == -1 or new == old:
            shape.append(old)
        elif old == 1 and new >= 1:
            shape.append(new)
        else:
            raise ShapeError(f"Expand can only stretch dims of size 1, but dim {i + 1} of {x} has size {old} "
                             f"and size asks for {new}",
                             f"use -1 or {old} for that dim", param="size")
    return (TensorType(tuple(shape), x.dtype),)


EXPAND = LayerSpec(
    op="Expand",
    category="Reshape",
    doc="Repeats size-1 dims to a larger size without copying memory, e.g. one class token for every "
        "position.",
    params=(Param("size", ParamKind.INT_LIST, REQUIRED, min=-1, max=MAX_SIZE, min_len=1, max_len=MAX_RANK,
                  doc="The new size of every dim, batch excluded; -1 keeps a dim; only size-1 dims can grow."),),
    input_dtypes=None,
    emit=lambda xs, p: f"{_expr(xs[0])}.expand(-1, {', '.join(str(int(s)) for s in p['size'])})",
    shape_rule=_expand_shape,
    flops=_zero_flops,
    keywords=("broadcast", "repeat", "tile", "stretch"),
)


# ---- Chunk / Split -----------------------------------------------------------------------------------------


def _pieces(x: TensorType, d: int, sizes: list[int]) -> tuple[TensorType, ...]:
    out = []
    for size in sizes:
        shape = list(x.shape)
        shape[d] = size
        out.append(TensorType(tuple(shape), x.dtype))
    return tuple(out)


def _chunk_shape(inputs, p):
    (x,) = inputs
    _need_dims(x, "Chunk")
    d = full_dim(p["dim"], x.rank)
    n, chunks = x.shape[d], p["chunks"]
    step = -(-n // chunks)
    sizes = [min(step, n - start) for start in range(0, n, step)]
    if len(sizes) != chunks:
        divisors = [c for c in range(2, min(n, MAX_PIECES) + 1) if n % c == 0]
        raise ShapeError(
            f"Chunk cannot cut dim {p['dim']} of {x} ({n} entries) into {chunks} pieces: torch would give "
            f"{len(sizes)}",
            "use chunks that divide the dim" + (f", such as {', '.join(map(str, divisors))}" if divisors else "")
            + ", or a Split with explicit sizes", param="chunks")
    return _pieces(x, d, sizes)


CHUNK = LayerSpec(
    op="Chunk",
    category="Reshape",
    doc="Cuts a tensor into `chunks` equal pieces along a dim, one output port per piece (ShuffleNet's "
        "channel split, a GLU's halves).",
    params=(Param("chunks", ParamKind.INT, 2, min=2, max=MAX_PIECES, doc="How many pieces (output ports)."),
            _dim_param()),
    outputs=(Port("output0"), Port("output1")),
    output_count=lambda p: p["chunks"],
    input_dtypes=None,
    emit=lambda xs, p: f"{_expr(xs[0])}.chunk({int(p['chunks'])}, dim={int(p['dim'])})",
    shape_rule=_chunk_shape,
    flops=_zero_flops,
    keywords=("split", "halves", "unbind", "separate"),
)


def _split_shape(inputs, p):
    (x,) = inputs
    _need_dims(x, "Split")
    d = full_dim(p["dim"], x.rank)
    sizes = list(p["split_sizes"])
    if sum(sizes) != x.shape[d]:
        raise ShapeError(f"Split's sizes {sizes} add up to {sum(sizes)}, but dim {p['dim']} of {x} has "
                         f"{x.shape[d]} entries", f"choose sizes that add up to {x.shape[d]}",
                         param="split_sizes")
    return _pieces(x, d, sizes)


SPLIT = LayerSpec(
    op="Split",
    category="Reshape",
    doc="Cuts a tensor along a dim into pieces of the given sizes, one output port per piece.",
    params=(Param("split_sizes", ParamKind.INT_LIST, [1, 1], min=1, max=MAX_SIZE, min_len=2, max_len=MAX_PIECES,
                  doc="The size of each piece along dim; they must add up to that dim's size."),
            _dim_param()),
    outputs=(Port("output0"), Port("output1")),
    output_count=lambda p: len(p["split_sizes"]),
    input_dtypes=None,
    emit=lambda xs, p: f"{_expr(xs[0])}.split([{', '.join(str(int(s)) for s in p['split_sizes'])}], "
                       f"dim={int(p['dim'])})",
    shape_rule=_split_shape,
    flops=_zero_flops,
    keywords=("chunk", "separate", "slice", "unbind"),
)


# ---- PixelShuffle / PixelUnshuffle / ChannelShuffle --------------------------------------------------------


def _pixel_shuffle_shape(inputs, p):
    (x,) = inputs
    expect_rank(x, (3,), "PixelShuffle", "[channels, height, width]")
    r = p["upscale_factor"]
    c, h, w = x.shape
    if c % (r * r):
        raise ShapeError(f"PixelShuffle with upscale_factor={r} needs channels divisible by {r * r}, but {x} has {c}",
                         f"make the previous layer output a multiple of {r * r} channels", param="upscale_factor")
    return (TensorType((c // (r * r), h * r, w * r), x.dtype),)


PIXEL_SHUFFLE = LayerSpec(
    op="PixelShuffle",
    category="Reshape",
    doc="Trades channels for resolution: [C*r*r, H, W] becomes [C, H*r, W*r] (sub-pixel upsampling in "
        "super-resolution networks).",
    params=(Param("upscale_factor", ParamKind.INT, 2, min=1, max=64, doc="How much larger H and W become (r)."),),
    input_dtypes=None,
    module="nn.PixelShuffle",
    positional=("upscale_factor",),
    shape_rule=_pixel_shuffle_shape,
    flops=_zero_flops,
    keywords=("depth to space", "sub-pixel", "upsample", "super resolution"),
)


def _pixel_unshuffle_shape(inputs, p):
    (x,) = inputs
    expect_rank(x, (3,), "PixelUnshuffle", "[channels, height, width]")
    r = p["downscale_factor"]
    c, h, w = x.shape
    if h % r or w % r:
        raise ShapeError(f"PixelUnshuffle with downscale_factor={r} needs height and width divisible by {r}, but "
                         f"gets {x}", "choose a factor that divides both", param="downscale_factor")
    return (TensorType((c * r * r, h // r, w // r), x.dtype),)


PIXEL_UNSHUFFLE = LayerSpec(
    op="PixelUnshuffle",
    category="Reshape",
    doc="Trades resolution for channels: [C, H*r, W*r] becomes [C*r*r, H, W] (the inverse of PixelShuffle).",
    params=(Param("downscale_factor", ParamKind.INT, 2, min=1, max=64,
                  doc="How much smaller H and W become (r)."),),
    input_dtypes=None,
    module="nn.PixelUnshuffle",
    positional=("downscale_factor",),
    shape_rule=_pixel_unshuffle_shape,
    flops=_zero_flops,
    keywords=("space to depth", "downsample", "patchify"),
)


def _channel_shuffle_shape(inputs, p):
    (x,) = inputs
    if x.rank < 2:
        raise ShapeError(f"ChannelShuffle expects [channels, ...] with at least one more dim, but gets {x}",
                         "feed it an image [channels, height, width]")
    c, g = x.shape[0], p["groups"]
    if c % g:
        divisors = [d for d in range(1, min(c, 16) + 1) if c % d == 0]
        raise ShapeError(f"ChannelShuffle: {c} channels cannot be split into groups={g} equal groups",
                         "use groups that divide the channel count: " + ", ".join(map(str, divisors)),
                         param="groups")
    return (TensorType(x.shape, x.dtype),)


# Written in plain torch (a reshape, a transpose and a reshape back): nn.ChannelShuffle has no ONNX form in the
# TorchScript exporter, while this expression exports and runs everywhere.
CHANNEL_SHUFFLE = LayerSpec(
    op="ChannelShuffle",
    category="Reshape",
    doc="Interleaves the channels of `groups` groups so information flows between grouped convolutions "
        "(ShuffleNet).",
    params=(Param("groups", ParamKind.INT, 2, min=1, max=MAX_SIZE, doc="Number of channel groups to mix."),),
    input_dtypes=None,
    emit=lambda xs, p: f"{_expr(xs[0])}.unflatten(1, ({int(p['groups'])}, -1)).transpose(1, 2).flatten(1, 2)",
    shape_rule=_channel_shuffle_shape,
    flops=_zero_flops,
    keywords=("shuffle", "shufflenet", "groups", "interleave"),
)

SPECS = (EXPAND, CHUNK, SPLIT, PIXEL_SHUFFLE, PIXEL_UNSHUFFLE, CHANNEL_SHUFFLE)
