"""What an fx node stands for while it is mapped (step 3): a graph tensor, a layer's tuple output, a plain
value, or a failure already reported."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Ref:
    """A tensor available in the LayerLoom graph: a node's output port."""

    node: str
    port: int = 0


@dataclass(frozen=True)
class TupleOut:
    """The raw tuple a multi-output layer returns (RNN/LSTM/GRU, MultiheadAttention)."""

    node: str
    op: str


@dataclass(frozen=True)
class StateTuple:
    """LSTM's (h_n, c_n) pair."""

    node: str


@dataclass(frozen=True)
class RawState:
    """h_n / c_n in PyTorch's [layers * directions, batch, hidden] layout (LayerLoom's port is batch-first)."""

    node: str
    port: int


@dataclass(frozen=True)
class MovedBatch:
    """A permute that moves the batch away from dim 0 (`qkv.permute(2, 0, 3, 1, 4)` in fused attention): no
    LayerLoom tensor, but unbinding it along dim 0 picks pieces of `source` that keep the batch first."""

    source: Ref
    dims: tuple[int, ...]


@dataclass(frozen=True)
class Pieces:
    """x.unbind(dim): one piece per index, each a Select (and the Permute a MovedBatch asks for) on `source`,
    made when it is picked (`q, k, v = qkv.unbind(0)`)."""

    source: Ref
    dim: int
    count: int
    permute: tuple[int, ...] | None = None


@dataclass(frozen=True)
class PortsOut:
    """A Chunk/Split node's outputs, one port per piece (`a, b = x.chunk(2, dim=1)` picks them)."""

    node: str
    count: int


CONST = object()  # a plain value (a size, a shape): read from the recorded runs when used
FAILED = object()  # a node that could not be mapped (already reported) and whose value is not one tensor
PHANTOM = "<failed>"  # the node id of a Ref standing for a refused tensor, so that later nodes are checked too


@dataclass
class PendingNode:
    op: str
    params: dict[str, Any]
    inputs: list[Ref | None]
    fx_name: str
    target: str
