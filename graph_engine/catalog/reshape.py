"""Ops that rearrange a tensor without learning anything: Flatten, Unflatten, Reshape, Permute, Transpose,
Select and Mean.

Dimension params follow torch: dim 0 is the batch (which none of these ops may touch) and negative dims count
from the end. Apart from Mean, they move data around without looking at it, so any dtype passes through.
"""

from __future__ import annotations

import math

from graph_engine.catalog.spec import REQUIRED, LayerSpec, Param, ParamKind, ShapeError, TensorType, full_dim

MAX_RANK = 16
MAX_SIZE = 1 << 24


def _zero_flops(inputs, outputs, p):
    return 0


def _expr(x: str) -> str:
    """An input expression safe to put before `.method(...)`."""
    return x if x.isidentifier() else f"({x})"


def _ints(values) -> str:
    return ", ".join(str(int(v)) for v in values)


def _need_dims(x: TensorType, op: str) -> None:
    if x.rank == 0:
        raise ShapeError(f"{op} needs a tensor with dims besides the batch, but gets a single number per sample",
                         f"remove the {op}, or feed it a tensor with at least one dim per sample")


def _resolve_sizes(sizes, total: int, name: str, what: str) -> tuple[int, ...]:
    """Check a list of sizes with at most one -1 against `total` elements and fill in the -1."""
    sizes = tuple(sizes)
    if any(s == 0 or s < -1 for s in sizes):
        raise ShapeError(f"{name} {list(sizes)} has a size below 1", "every size must be 1 or more, or -1 once",
                         param=name)
    if sizes.count(-1) > 1:
        raise ShapeError(f"{name} {list(sizes)} has more than one -1; only one size can be inferred",
                         "replace all but one -1 with the real sizes", param=name)
    known = math.prod(s for s in sizes if s != -1)
    if -1 in sizes:
        if total % known:
            raise ShapeError(
                f"{name} {list(sizes)} cannot hold {what} of {total} elements: {total} is not divisible by {known}",
                f"choose sizes whose product divides {total}", param=name)
        return tuple(total // known if s == -1 else s for s in sizes)
    if known != total:
        raise ShapeError(
            f"{name} {list(sizes)} holds {known} elements, but {what} has {total}",
            f"choose sizes whose product is {total} (or use -1 for one size to have it inferred)", param=name)
    return sizes


def _dim_param(name: str, default, doc: str) -> Param:
    return Param(name, ParamKind.INT, default, min=-MAX_RANK, max=MAX_RANK, doc=doc)


# ---- Flatten / Unflatten -----------------------------------------------------------------------------------


def _flatten_shape(inputs, p):
    (x,) = inputs
    _need_dims(x, "Flatten")
    start = full_dim(p["start_dim"], x.rank, "start_dim")
    end = full_dim(p["end_dim"], x.rank, "end_dim")
    if end < start:
        raise ShapeError(
            f"Flatten's end_dim={p['end_dim']} comes before start_dim={p['start_dim']} in a tensor with "
            f"{x.rank + 1} dims (batch included)",
            "use an end_dim at or after start_dim (-1 is the last dim)", param="end_dim")
    shape = x.shape[:start] + (math.prod(x.shape[start:end + 1]),) + x.shape[end + 1:]
    return (TensorType(shape, x.dtype),)


FLATTEN = LayerSpec(
    op="Flatten",
    category="Reshape",
    doc="Squashes dims start_dim..end_dim into one, e.g. an image [C, H, W] into a vector for a Linear layer.",
    params=(
        _dim_param("start_dim", 1, "First dim to flatten (1 is the first dim after the batch)."),
        _dim_param("end_dim", -1, "Last dim to flatten (-1 is the last dim)."),
    ),
    input_dtypes=None,
    module="nn.Flatten",
    shape_rule=_flatten_shape,
    flops=_zero_flops,
    keywords=("vectorize", "ravel", "squash", "to vector"),
)


def _unflatten_shape(inputs, p):
    (x,) = inputs
    _need_dims(x, "Unflatten")
    d = full_dim(p["dim"], x.rank, "dim")
    sizes = _resolve_sizes(p["unflattened_size"], x.shape[d], "unflattened_size", f"dim {p['dim']} ({x})")
    return (TensorType(x.shape[:d] + sizes + x.shape[d + 1:], x.dtype),)


UNFLATTEN = LayerSpec(
    op="Unflatten",
    category="Reshape",
    doc="Splits one dim into several, e.g. a vector of 784 into an image [1, 28, 28] for a Conv2d.",
    params=(
        _dim_param("dim", 1, "The dim to split (1 is the first dim after the batch)."),
        Param("unflattened_size", ParamKind.INT_LIST, REQUIRED, min=-1, max=MAX_SIZE, min_len=1,
              max_len=MAX_RANK, doc="The sizes it becomes; their product must equal that dim's size "
                                    "(one may be -1 to be inferred)."),
    ),
    input_dtypes=None,
    module="nn.Unflatten",
    positional=("dim", "unflattened_size"),
    shape_rule=_unflatten_shape,
    flops=_zero_flops,
    keywords=("unsqueeze", "split dim", "to image", "expand dims"),
)


# ---- Reshape / Permute / Transpose -------------------------------------------------------------------------


def _reshape_shape(inputs, p):
    (x,) = inputs
    shape = _resolve_sizes(p["shape"], x.numel, "shape", f"the input {x}")
    return (TensorType(shape, x.dtype),)


def _reshape_emit(xs, p):
    x = _expr(xs[0])
    return f"{x}.reshape({', '.join([f'{x}.shape[0]', *(str(int(s)) for s in p['shape'])])})"


RESHAPE = LayerSpec(
    op="Reshape",
    category="Reshape",
    doc="Gives each sample a new shape with the same number of elements (batch excluded; one size may be -1).",
    params=(
        Param("shape", ParamKind.INT_LIST, REQUIRED, min=-1, max=MAX_SIZE, min_len=0, max_len=MAX_RANK,
              doc="The new shape of one sample, batch excluded, e.g. [4, 16]; one size may be -1."),
    ),
    input_dtypes=None,
    emit=_reshape_emit,
    shape_rule=_reshape_shape,
    flops=_zero_flops,
    keywords=("view", "resize", "shape"),
)


def _permute_shape(inputs, p):
    (x,) = inputs
    dims = tuple(p["dims"])
    full = x.rank + 1
    if len(dims) != full:
        raise ShapeError(
            f"dims {list(dims)} has {len(dims)} entries, but the input {x} has {full} dims (batch included)",
            f"list all {full} dims, starting with 0 for the batch, e.g. {[0, *range(full - 1, 0, -1)]}",
            param="dims")
    if any(not -full <= d < full for d in dims):
        raise ShapeError(f"dims {list(dims)} has a dim out of range for a tensor with {full} dims",
                         f"use dims between 0 and {full - 1}", param="dims")
    norm = [d % full for d in dims]
    if sorted(norm) != list(range(full)):
        raise ShapeError(f"dims {list(dims)} is not a rearrangement of 0..{full - 1}: a dim repeats",
                         f"name each of the dims 0..{full - 1} exactly once", param="dims")
    if norm[0] != 0:
        raise ShapeError(f"dims {list(dims)} moves the batch dimension away from the front",
                         "start dims with 0 so the batch stays first", param="dims")
    return (TensorType(tuple(x.shape[d - 1] for d in norm[1:]), x.dtype),)


PERMUTE = LayerSpec(
    op="Permute",
    category="Reshape",
    doc="Reorders the dims, e.g. [seq, features] to [features, seq] with dims [0, 2, 1] (0, the batch, "
        "stays first).",
    params=(
        Param("dims", ParamKind.INT_LIST, [0, 2, 1], min=-MAX_RANK, max=MAX_RANK, min_len=1, max_len=MAX_RANK,
              doc="The new order of all dims, batch (0) included and first."),
    ),
    input_dtypes=None,
    emit=lambda xs, p: f"{_expr(xs[0])}.permute({_ints(p['dims'])})",
    shape_rule=_permute_shape,
    flops=_zero_flops,
    keywords=("reorder", "swap axes", "channels last", "channels first", "transpose"),
)


def _transpose_shape(inputs, p):
    (x,) = inputs
    _need_dims(x, "Transpose")
    a = full_dim(p["dim0"], x.rank, "dim0")
    b = full_dim(p["dim1"], x.rank, "dim1")
    shape = list(x.shape)
    shape[a], shape[b] = shape[b], shape[a]
    return (TensorType(tuple(shape), x.dtype),)


TRANSPOSE = LayerSpec(
    op="Transpose",
    category="Reshape",
    doc="Swaps two dims, e.g. dims 1 and 2 turn [seq, features] into [features, seq].",
    params=(
        _dim_param("dim0", 1, "First dim to swap (1 is the first dim after the batch)."),
        _dim_param("dim1", 2, "Second dim to swap."),
    ),
    input_dtypes=None,
    emit=lambda xs, p: f"{_expr(xs[0])}.transpose({int(p['dim0'])}, {int(p['dim1'])})",
    shape_rule=_transpose_shape,
    flops=_zero_flops,
    keywords=("swap axes", "swapaxes", "permute"),
)


# ---- Select / Mean -----------------------------------------------------------------------------------------


def _select_shape(inputs, p):
    (x,) = inputs
    _need_dims(x, "Select")
    d = full_dim(p["dim"], x.rank, "dim")
    size, index = x.shape[d], p["index"]
    if not -size <= index < size:
        raise ShapeError(f"index={index} is out of range: dim {p['dim']} of {x} has size {size}",
                         f"use an index between 0 and {size - 1} (or -{size} to -1 counting from the end)",
                         param="index")
    return (TensorType(x.shape[:d] + x.shape[d + 1:], x.dtype),)


SELECT = LayerSpec(
    op="Select",
    category="Reshape",
    doc="Picks one slice along a dim and drops that dim, e.g. the last time step of a sequence (dim 1, "
        "index -1).",
    params=(
        _dim_param("dim", 1, "The dim to pick from (1 is the first dim after the batch)."),
        Param("index", ParamKind.INT, 0, min=-MAX_SIZE, max=MAX_SIZE,
              doc="Which slice to keep; negative counts from the end (-1 is the last)."),
    ),
    input_dtypes=None,
    emit=lambda xs, p: f"{_expr(xs[0])}.select({int(p['dim'])}, {int(p['index'])})",
    shape_rule=_select_shape,
    flops=_zero_flops,
    keywords=("index", "pick", "last time step", "slice", "take"),
)


def _mean_dims(value) -> list[int]:
    return [value] if isinstance(value, int) else list(value)


def _mean_shape(inputs, p):
    (x,) = inputs
    _need_dims(x, "Mean")
    dims = _mean_dims(p["dim"])
    if not dims:
        raise ShapeError("Mean needs at least one dim to average over; an empty list would average the batch "
                         "too", "set dim to the dims to average, e.g. 1", param="dim")
    indices = [full_dim(d, x.rank, "dim") for d in dims]
    if len(set(indices)) != len(indices):
        raise ShapeError(f"dim {dims} names the same dim twice", "list each dim once", param="dim")
    if p["keepdim"]:
        shape = tuple(1 if i in indices else s for i, s in enumerate(x.shape))
    else:
        shape = tuple(s for i, s in enumerate(x.shape) if i not in indices)
    return (TensorType(shape),)


def _mean_emit(xs, p):
    dim = p["dim"]
    dim_text = str(int(dim)) if isinstance(dim, int) else f"[{_ints(dim)}]"
    return f"{_expr(xs[0])}.mean(dim={dim_text}, keepdim={bool(p['keepdim'])!r})"


MEAN = LayerSpec(
    op="Mean",
    category="Pooling",  # a reduction (global average pooling over [2, 3]), listed next to the pools
    doc="Averages over one or more dims, e.g. over the sequence to get one vector per sample, or over "
        "[2, 3] for global average pooling of an image.",
    params=(
        Param("dim", ParamKind.INT_TUPLE, 1, min=-MAX_RANK, max=MAX_RANK, length=None,
              doc="The dim, or list of dims, to average over (1 is the first dim after the batch)."),
        Param("keepdim", ParamKind.BOOL, False, doc="Keep the averaged dims with size 1 instead of dropping them."),
    ),
    emit=_mean_emit,
    shape_rule=_mean_shape,
    flops=lambda inputs, outputs, p: inputs[0].numel,
    keywords=("average", "reduce", "global average pooling", "mean pooling"),
)

SPECS = (FLATTEN, UNFLATTEN, RESHAPE, PERMUTE, TRANSPOSE, SELECT, MEAN)
