"""Step 3 for parameters and buffers read in forward (`self.cls_token`, `self.pos_embed[:n]`,
`self.gamma.reshape(1, -1, 1, 1)`): shape operations on them are evaluated right away on the module's own
tensors (they do not depend on the inputs), and the result becomes a node where a layer uses it:

- a parameter expanded along the batch (`self.cls_token.expand(B, -1, -1)`) or combined with a batch tensor
  (`x + self.pos_embed`, `self.layer_scale * x`) -> a Parameter node holding the (reshaped) value, aligned to
  the other tensor's dims the way torch broadcasts;
- `x + T[:x.shape[1]]` (or `T[:, :x.size(1)]`) for a [max_len, d] / [1, max_len, d] table -> PositionalEncoding,
  learned when T is a parameter, sinusoidal when T is a buffer holding exactly that op's sin/cos table.

Any other buffer is a constant that LayerLoom has no node for; a parameter used in two places would become two
copies that train apart, so that is refused.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from typing import Any

import torch
from torch import fx

from graph_engine.importer.op_mapping import Unsupported

# Tensor methods and functions that only rearrange a parameter (evaluated on it directly).
SHAPE_METHODS = frozenset({"reshape", "view", "unsqueeze", "squeeze", "permute", "transpose", "flatten",
                           "contiguous", "float", "to", "clone", "detach", "type_as"})
SHAPE_FUNCTIONS = {operator.getitem, torch.reshape, torch.unsqueeze, torch.squeeze, torch.flatten,
                   torch.permute, torch.transpose}


@dataclass(frozen=True, eq=False)
class TensorValue:
    """A parameter or buffer (`base`, its path in the module) after shape operations: `value` is the result.
    `prefix`: (dim, length) when it is the table's first `length` rows along `dim`, every other dim whole."""

    base: str
    is_parameter: bool
    table: torch.Tensor
    value: torch.Tensor
    prefix: tuple[int, int] | None = None


def read_tensor(source: torch.nn.Module, path: str) -> TensorValue:
    """The module's own parameter or buffer at `path` (without the root prefix)."""
    module_path, _, name = path.rpartition(".")
    owner = source.get_submodule(module_path) if module_path else source
    tensor = getattr(owner, name)
    if not isinstance(tensor, torch.Tensor):
        raise Unsupported(f"self.{path} is not a tensor")
    is_parameter = isinstance(tensor, torch.nn.Parameter)
    tensor = tensor.detach()
    return TensorValue(path, is_parameter, tensor, tensor)


def evaluate(n: fx.Node, tensor_of, const_of) -> TensorValue:
    """A shape operation on a TensorValue, evaluated; `tensor_of(node)` gives the TensorValue of an argument,
    `const_of(value)` a plain argument's value."""
    target = n.target
    if n.op == "call_method" and target not in SHAPE_METHODS or n.op == "call_function" and target not in SHAPE_FUNCTIONS:
        name = target if isinstance(target, str) else getattr(target, "__name__", str(target))
        raise Unsupported(f"computes {name} on a parameter or buffer; LayerLoom takes parameters as they are "
                          "(shape changes only)")
    source = tensor_of(n.args[0])
    args = [source.value, *(const_of(a) for a in n.args[1:])]
    kwargs = {k: const_of(v) for k, v in n.kwargs.items()}
    value = getattr(args[0], target)(*args[1:], **kwargs) if n.op == "call_method" else target(*args, **kwargs)
    prefix = None
    if target is operator.getitem and source.value is source.table:
        prefix = _prefix(args[1], source.table.shape)
    return TensorValue(source.base, source.is_parameter, source.table, value.detach(), prefix)


def _prefix(index: Any, shape: torch.Size) -> tuple[int, int] | None:
    items = list(index) if isinstance(index, tuple) else [index]
    sliced = [(d, s) for d, s in enumerate(items) if not (isinstance(s, slice) and s == slice(None))]
    if len(sliced) != 1 or not isinstance(sliced[0][1], slice) or len(items) > len(shape):
        return None
    dim, s = sliced[0]
    if s.start not in (None, 0) or s.step not in (None, 1) or not isinstance(s.stop, int):
        return None
    return dim, min(s.stop, shape[dim])


def per_sample_shape(value: torch.Tensor, rank: int) -> tuple[int, ...]:
    """The shape a tensor broadcast against a batch tensor of `rank` dims (batch included) has per sample:
    torch aligns trailing dims, so a [C, 1, 1] layer scale times [B, C, H, W] is [C, 1, 1] per sample."""
    shape = tuple(value.shape)
    if len(shape) == rank:
        if shape[0] != 1:
            raise Unsupported(f"a parameter of shape {list(shape)} whose first dim is not 1 meets a batch tensor "
                              f"of {rank} dims: its first dim would be the batch")
        return shape[1:]
    if len(shape) > rank:
        raise Unsupported(f"a parameter of shape {list(shape)} has more dims than the tensor it meets")
    return (1,) * (rank - 1 - len(shape)) + shape


def sinusoidal_table(length: int, d: int) -> torch.Tensor:
    """The table PositionalEncoding(kind="sinusoidal") builds (graph_engine/catalog/embedding.py), computed
    the same way in float32 (as the PyTorch tutorial's PositionalEncoding does too)."""
    angles = torch.arange(length).unsqueeze(1) * torch.exp(torch.arange(0, d, 2) * (-math.log(10000.0) / d))
    return torch.stack([torch.sin(angles), torch.cos(angles)], dim=2).flatten(1)[:, :d]


def positional_table(t: TensorValue, rank: int) -> tuple[str, torch.Tensor] | None:
    """(kind, [max_len, d] table) when `t` is the first rows of a positional table for a [B, N, d] sequence
    (rank 3): [max_len, d] sliced on dim 0, or [1, max_len, d] sliced on dim 1; else None."""
    if rank != 3 or t.prefix is None:
        return None
    table = t.table
    if table.dim() == 3 and table.shape[0] == 1 and t.prefix[0] == 1:
        table = table[0]
    elif not (table.dim() == 2 and t.prefix[0] == 0):
        return None
    if t.is_parameter:
        return "learned", table
    reference = sinusoidal_table(table.shape[0], table.shape[1])
    if table.shape == reference.shape and torch.allclose(table.float(), reference, rtol=0, atol=1e-6):
        return "sinusoidal", table
    return None


__all__ = ["TensorValue", "evaluate", "per_sample_shape", "positional_table", "read_tensor", "sinusoidal_table"]
