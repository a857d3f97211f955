"""Ops that join several tensors into one: Add, Multiply, Concat.

They take a growing list of inputs (ports 0..n-1, at least two). Add and Multiply need identical shapes;
LayerLoom does not broadcast silently, so a mismatch is reported instead of producing a surprising shape.
Broadcasting is there when the node declares it (`broadcast: true`, written on its card): then the inputs
must have the same number of dims and every dim must agree or be 1 in all inputs but one, which stretch to
match (a squeeze-excitation gate [C, 1, 1] times an image [C, H, W], a layer scale [1, D] times [N, D]).
Inputs of different ranks are refused even then: with the batch dim in front, torch would align a shorter
shape with the wrong dims.
"""

from __future__ import annotations

from graph_engine.catalog.spec import LayerSpec, Param, ParamKind, Port, ShapeError, TensorType, full_dim

MAX_RANK = 16


def _expr(x: str) -> str:
    """An input expression safe to combine with operators."""
    return x if x.isidentifier() else f"({x})"


def _elementwise_shape(op: str):
    def rule(inputs, p):
        if p.get("broadcast"):
            return (TensorType(_broadcast_shape(op, inputs), inputs[0].dtype),)
        first = inputs[0]
        for i, t in enumerate(inputs[1:], start=1):
            if t.shape != first.shape:
                raise ShapeError(
                    f"{op} needs inputs of the same shape, but input 0 is {first} and input {i} is {t}",
                    "make the shapes match first: a Linear (features), a 1x1 Conv2d (channels) or a Reshape "
                    "before one of the inputs; or set broadcast to stretch size-1 dims")
        return (TensorType(first.shape, first.dtype),)

    return rule


def _broadcast_shape(op: str, inputs) -> tuple[int, ...]:
    first = inputs[0]
    for i, t in enumerate(inputs[1:], start=1):
        if t.rank != first.rank:
            raise ShapeError(
                f"{op} broadcasts only between inputs with the same number of dims, but input 0 is {first} and "
                f"input {i} is {t}", "add a Reshape that gives the smaller input size-1 dims, e.g. [C, 1, 1]")
    shape = []
    for d in range(first.rank):
        sizes = {t.shape[d] for t in inputs} - {1}
        if len(sizes) > 1:
            listed = ", ".join(str(t) for t in inputs)
            raise ShapeError(f"{op} cannot broadcast {listed}: dim {d + 1} is {' and '.join(map(str, sorted(sizes)))}",
                             "each dim must be equal in all inputs or 1 in the ones that stretch")
        shape.append(sizes.pop() if sizes else 1)
    return tuple(shape)


def _broadcast_param() -> Param:
    return Param("broadcast", ParamKind.BOOL, False,
                 doc="Let size-1 dims stretch to match the other inputs (same number of dims); off: shapes must "
                     "be equal.")


def _elementwise_flops(inputs, outputs, p):
    return (len(inputs) - 1) * outputs[0].numel


ADD = LayerSpec(
    op="Add",
    category="Merge",
    doc="Adds its inputs element by element; used for residual (skip) connections, as in ResNet.",
    params=(_broadcast_param(),),
    shape_rule=_elementwise_shape("Add"),
    inputs=(Port("input"),),
    variadic=True,
    min_inputs=2,
    emit=lambda xs, p: " + ".join(_expr(x) for x in xs),
    flops=_elementwise_flops,
    keywords=("sum", "plus", "residual", "skip connection", "shortcut", "broadcast", "bias"),
)

MULTIPLY = LayerSpec(
    op="Multiply",
    category="Merge",
    doc="Multiplies its inputs element by element; used for gating, where one branch scales another.",
    params=(_broadcast_param(),),
    shape_rule=_elementwise_shape("Multiply"),
    inputs=(Port("input"),),
    variadic=True,
    min_inputs=2,
    emit=lambda xs, p: " * ".join(_expr(x) for x in xs),
    flops=_elementwise_flops,
    keywords=("product", "times", "gate", "gating", "hadamard", "elementwise", "broadcast", "scale",
              "squeeze-excitation", "layer scale"),
)


def _concat_shape(inputs, p):
    first = inputs[0]
    if first.rank == 0:
        raise ShapeError("Concat needs tensors with dims besides the batch, but input 0 is a single number per "
                         "sample", "add a Reshape with shape [1] before each input")
    d = full_dim(p["dim"], first.rank, "dim")
    for i, t in enumerate(inputs[1:], start=1):
        if t.dtype != first.dtype:
            raise ShapeError(f"Concat needs inputs of one dtype, but input 0 is {first.dtype} and input {i} is "
                             f"{t.dtype}", "feed it only float tensors, or only integer tensors")
        if t.rank != first.rank:
            raise ShapeError(f"Concat needs inputs with the same number of dims, but input 0 is {first} and "
                             f"input {i} is {t}", "add a Reshape or Flatten before one of them")
        others = [j for j in range(first.rank) if j != d]
        if any(t.shape[j] != first.shape[j] for j in others):
            raise ShapeError(
                f"Concat along dim {p['dim']} needs every other dim to match, but input 0 is {first} and "
                f"input {i} is {t}",
                "change dim to the one that differs, or resize one input (a Linear, a Conv or a Reshape) so "
                "the other dims agree", param="dim")
    shape = list(first.shape)
    shape[d] = sum(t.shape[d] for t in inputs)
    return (TensorType(tuple(shape), first.dtype),)


CONCAT = LayerSpec(
    op="Concat",
    category="Merge",
    doc="Joins its inputs side by side along one dim (dim 1, the channels or features, by default), as in "
        "DenseNet or U-Net.",
    params=(
        Param("dim", ParamKind.INT, 1, min=-MAX_RANK, max=MAX_RANK,
              doc="The dim to join along (1 is the first dim after the batch: channels or features)."),
    ),
    shape_rule=_concat_shape,
    inputs=(Port("input"),),
    variadic=True,
    min_inputs=2,
    input_dtypes=None,
    emit=lambda xs, p: f"torch.cat([{', '.join(xs)}], dim={int(p['dim'])})",
    flops=lambda inputs, outputs, p: 0,
    keywords=("concatenate", "cat", "join", "stack", "merge", "skip connection"),
)

SPECS = (ADD, MULTIPLY, CONCAT)
