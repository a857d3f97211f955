"""The pure-data description of one layer: its params, ports, shape rule and how it is emitted as code.

A `LayerSpec` is the single source of truth about an op. The palette, the inspector's editors, validation,
shape inference, parameter/FLOP counts and code generation are all derived from it; nothing about a layer is
written anywhere else.

Conventions every spec follows:
- Shapes (`TensorType.shape`) exclude the batch dimension. Dimension *parameters* (`dim`, `start_dim`,
  `dims`...) follow torch, where dim 0 is the batch; `full_dim()` converts one to an index into `shape`.
- A shape rule is analytic (no torch call) and raises `ShapeError` with a message a newcomer understands and
  a hint that says what to change.
- Params marked `inferred` are read from the incoming tensor ("auto"); an explicit value that disagrees is an
  error on the node.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class ParamKind(StrEnum):
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    CHOICE = "choice"  # one string out of `choices`
    INT_TUPLE = "int_tuple"  # an int, or a list of exactly `length` ints (kernel_size=3 or [3, 5])
    INT_LIST = "int_list"  # a list of ints of any length within min_len..max_len (shape, dims)


class _Required:
    """Sentinel default: the param must be given."""

    def __repr__(self) -> str:
        return "REQUIRED"

    # One object however it is copied: a deep copy of a block's params (BlockDef.copy) must still be `REQUIRED`.
    def __copy__(self) -> _Required:
        return self

    def __deepcopy__(self, memo) -> _Required:
        return self

    def __reduce__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()
SAME: Any = object()  # Param.torch_default: torch's default equals ours


@dataclass(frozen=True)
class TensorType:
    """The type of one tensor flowing along an edge, batch dimension excluded."""

    shape: tuple[int, ...]
    dtype: str = "float32"

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def numel(self) -> int:
        return math.prod(self.shape)

    def __str__(self) -> str:
        text = "[" + ", ".join(str(d) for d in self.shape) + "]"
        return text if self.dtype == "float32" else f"{text} {self.dtype}"


class ShapeError(Exception):
    """A shape rule refused its inputs. `message` says what is wrong, `hint` what to change."""

    def __init__(self, message: str, hint: str = "", param: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.param = param


@dataclass(frozen=True)
class Param:
    """One constructor argument of a layer, described as data (the app maps `kind` to an editor)."""

    name: str
    kind: ParamKind
    default: Any = REQUIRED
    doc: str = ""
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] = ()
    length: int | None = None  # INT_TUPLE: how many ints a list must hold
    min_len: int = 0  # INT_LIST bounds
    max_len: int = 8
    nullable: bool = False  # None is allowed (MaxPool2d stride: None means "same as kernel_size")
    # "auto": computed from the incoming tensors. Omitted or "auto" in a file means inferred.
    inferred: Callable[[Sequence[TensorType]], Any] | None = None
    fixed: bool = False  # the value is forced to `default` (batch_first=True); not shown in editors
    torch_default: Any = SAME  # torch's own default when it differs from ours (then it is always emitted)
    # An inferred param left out of the emitted code when it equals this other param (MultiheadAttention's
    # kdim == embed_dim), so the code reads like hand-written code.
    omit_if_equals: str | None = None
    # For an inferred param: whether an explicit value other than the inferred one is still right
    # (LayerNorm's normalized_shape may name several trailing dims). Default: it must equal the inferred one.
    explicit_ok: Callable[[Sequence[TensorType], Any], bool] | None = None
    # Passed when the layer is called in forward(), not to its constructor (causal attention's mask); the
    # spec's `call` writes it into the call.
    forward_arg: bool = False

    @property
    def required(self) -> bool:
        return self.default is REQUIRED and self.inferred is None

    @property
    def is_inferred(self) -> bool:
        return self.inferred is not None



@dataclass(frozen=True)
class Port:
    name: str
    optional: bool = False  # an unconnected optional input is allowed (MultiheadAttention key/value)
    doc: str = ""


@dataclass(frozen=True)
class ModuleCall:
    """A constructor argument that is itself a module (nn.TransformerEncoder's encoder_layer). The printer
    writes it as `nn.X(args, kwargs)`; the values inside are validated params, like every other argument."""

    module: str  # "nn.TransformerEncoderLayer"
    args: tuple[Any, ...] = ()
    kwargs: tuple[tuple[str, Any], ...] = ()


ShapeRule = Callable[[Sequence[TensorType], Mapping[str, Any]], Sequence[TensorType]]
CountRule = Callable[[Sequence[TensorType], Mapping[str, Any]], int]
FlopRule = Callable[[Sequence[TensorType], Sequence[TensorType], Mapping[str, Any]], int]
EmitRule = Callable[[Sequence[str], Mapping[str, Any]], str]
CallRule = Callable[[str, Sequence[str], Mapping[str, Any]], str]
AttributeRule = Callable[[Mapping[str, Any]], str]


def _no_params(inputs: Sequence[TensorType], p: Mapping[str, Any]) -> int:
    return 0


def _elementwise_flops(inputs: Sequence[TensorType], outputs: Sequence[TensorType], p: Mapping[str, Any]) -> int:
    return sum(o.numel for o in outputs)


@dataclass(frozen=True)
class LayerSpec:
    """Everything LayerLoom knows about one op.

    Code generation uses exactly one of:
    - `module` ("nn.Conv2d"): a submodule built with `module_args`, called with the input tensors;
    - `emit`: a function of (input expressions, params) returning a Python expression (structural ops).
    Ops with several outputs give `output_exprs`, expressions over `{r}` (the raw call result) that pick each
    output port in LayerLoom's batch-first convention; without them output port i is `{r}[i]`. An op whose
    number of outputs depends on its params (Chunk) gives `output_count`.

    A module op may give `call`: the forward() expression for (module expression, input expressions,
    params), when the call is more than `module(inputs)` (LayerNorm2d's permutes, a causal mask).

    An `emit` op may own a tensor: `attribute` gives the expression of its initial value, stored in
    __init__ as `self.<node id>`, an nn.Parameter (`attribute_kind="parameter"`, learned and saved with the
    weights) or a non-persistent buffer (`"buffer"`, a fixed table rebuilt from the params). `emit` then
    receives `self.<node id>` before the input expressions.
    """

    op: str
    category: str
    doc: str
    shape_rule: ShapeRule
    params: tuple[Param, ...] = ()
    inputs: tuple[Port, ...] = (Port("input"),)
    outputs: tuple[Port, ...] = (Port("output"),)
    variadic: bool = False  # inputs are ports 0..n-1 with n >= min_inputs (Add, Concat)
    min_inputs: int = 1
    input_dtypes: tuple[str, ...] | None = ("float32",)  # None: any dtype passes through
    module: str | None = None
    positional: tuple[str, ...] = ()  # params passed positionally to the constructor, in this order
    emit: EmitRule | None = None
    output_exprs: tuple[str, ...] = ()
    output_count: Callable[[Mapping[str, Any]], int] | None = None
    call: CallRule | None = None
    # Constructor arguments when they are more than the params (nn.TransformerEncoder takes a layer).
    arguments: Callable[[Mapping[str, Any]], tuple[list[Any], dict[str, Any]]] | None = None
    attribute: AttributeRule | None = None
    # "parameter" or "buffer", with `attribute`; or a function of the params giving one of them
    attribute_kind: str | Callable[[Mapping[str, Any]], str] = ""
    param_count: CountRule = _no_params
    flops: FlopRule = _elementwise_flops
    keywords: tuple[str, ...] = ()  # extra words the palette search matches ("fully connected", "dense")
    doc_url: str = ""

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    def input_port_count(self, connected: int = 0) -> int:
        """How many input ports the node has, given how many are connected (variadic ops grow)."""
        if self.variadic:
            return max(self.min_inputs, connected)
        return len(self.inputs)

    def input_port_name(self, index: int) -> str:
        if self.variadic:
            return f"{self.inputs[0].name}{index}" if self.inputs else f"input{index}"
        return self.inputs[index].name

    def output_port_count(self, raw: Mapping[str, Any] | None = None) -> int:
        """How many output ports a node with these (possibly unchecked) params has."""
        if self.output_count is None:
            return len(self.outputs)
        values = {q.name: q.default for q in self.params}
        values.update(raw or {})
        try:
            return max(1, int(self.output_count(values)))
        except (TypeError, ValueError, KeyError):
            return len(self.outputs)

    def output_port_name(self, index: int) -> str:
        if index < len(self.outputs):
            return self.outputs[index].name
        return f"output{index}"

    def output_expr(self, port: int) -> str:
        """The expression over `{r}` (the raw result) that picks output `port`."""
        return self.output_exprs[port] if self.output_exprs else f"{{r}}[{int(port)}]"

    def owned_kind(self, p: Mapping[str, Any]) -> str:
        """What the tensor named by `attribute` is for these params: "parameter" or "buffer"."""
        kind = self.attribute_kind
        return kind(p) if callable(kind) else kind

    def call_text(self, module: str, args: Sequence[str], p: Mapping[str, Any]) -> str:
        """How forward() calls the module: `module(args)` unless the spec says more."""
        if self.call is not None:
            return self.call(module, args, p)
        return f"{module}({', '.join(args)})"

    def module_args(self, p: Mapping[str, Any]) -> tuple[list[Any], dict[str, Any]]:
        """Constructor arguments for `module`: positional ones in order, then keywords that differ from
        torch's default (so the emitted code reads like hand-written code)."""
        if self.arguments is not None:
            return self.arguments(p)
        args = [p[name] for name in self.positional]
        kwargs: dict[str, Any] = {}
        for param in self.params:
            if param.name in self.positional or param.forward_arg:
                continue
            value = p.get(param.name)
            if param.omit_if_equals is not None and value == p.get(param.omit_if_equals):
                continue
            if param.fixed or param.required or param.is_inferred:
                kwargs[param.name] = value
            elif param.torch_default is not SAME:
                # Our default differs from torch's (or torch requires it): write it unless it equals torch's.
                if param.torch_default is REQUIRED or not _same_value(value, param.torch_default):
                    kwargs[param.name] = value
            elif not _same_value(value, param.default):
                kwargs[param.name] = value
        return args, kwargs


def _same_value(a: Any, b: Any) -> bool:
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return list(a) == list(b)
    return type(a) is type(b) and a == b


# ---- helpers shared by the family modules -------------------------------------------------------------


def full_dim(dim: int, rank: int, name: str = "dim") -> int:
    """Turn a torch dim (0 = batch, negatives count from the end) into an index into a batch-less shape.

    `rank` is the batch-less rank. Raises ShapeError for the batch dim or an out-of-range dim.
    """
    full_rank = rank + 1
    if rank == 0:
        raise ShapeError(f"{name}={dim} cannot be used: each sample is a single number with no dims",
                         "this op needs an input with at least one dim besides the batch", param=name)
    if not -full_rank <= dim < full_rank:
        raise ShapeError(
            f"{name}={dim} is out of range for a tensor with {full_rank} dims (batch included)",
            f"use a {name} between 1 and {rank} (dim 0 is the batch)",
            param=name,
        )
    d = dim % full_rank
    if d == 0:
        raise ShapeError(
            f"{name}={dim} is the batch dimension, which this op cannot change",
            f"use a {name} between 1 and {rank}",
            param=name,
        )
    return d - 1


def as_tuple(value: int | Sequence[int], n: int) -> tuple[int, ...]:
    """kernel_size=3 -> (3, 3); [3, 5] -> (3, 5)."""
    if isinstance(value, int):
        return (value,) * n
    return tuple(value)


def expect_rank(t: TensorType, ranks: Sequence[int], op: str, what: str) -> None:
    """Raise a ShapeError unless the batch-less rank is one of `ranks`. `what` names the layout
    ("[channels, height, width]")."""
    if t.rank not in ranks:
        raise ShapeError(
            f"{op} expects {what} per sample, but gets {t} ({t.rank} dims)",
            _rank_hint(t.rank, ranks),
        )


def _rank_hint(rank: int, ranks: Sequence[int]) -> str:
    want = max(ranks)
    if rank > want:
        return "add a Flatten (or Reshape) before this layer"
    return "add an Unflatten or Reshape before this layer to give the input the expected dims"


__all__ = [
    "REQUIRED",
    "SAME",
    "LayerSpec",
    "ModuleCall",
    "Param",
    "ParamKind",
    "Port",
    "ShapeError",
    "TensorType",
    "as_tuple",
    "expect_rank",
    "full_dim",
]
