"""Step 3 for calls: one handler per handler kind of op_mapping's FUNCTIONS/METHODS tables, and the
explicit table `HANDLERS` (kind -> handler) the mapper dispatches through."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import fx

from graph_engine.catalog import get_spec
from graph_engine.importer.op_mapping import Unsupported, int_tuple
from graph_engine.importer.recording import BATCHES, TensorInfo
from graph_engine.importer.report import short
from graph_engine.importer.tensors import TensorValue, per_sample_shape, positional_table
from graph_engine.importer.values import (
    CONST,
    MovedBatch,
    Pieces,
    PortsOut,
    RawState,
    Ref,
    StateTuple,
    TupleOut,
)

# Tensor attributes that are plain values (what x.size() gives, or fixed for a traced graph).
SIZE_ATTRIBUTES = frozenset({"shape", "ndim", "dtype", "device", "is_cuda", "requires_grad"})


class CallHandlers:
    """Mixed into the Mapper: handlers use its helpers (_tensor, _const, _add, _result...)."""

    def call_activation(self, n, b, op):
        x = self._tensor(b["input"])
        params = {}
        if op == "ELU":
            params["alpha"] = float(self._const(b["alpha"]))
        elif op == "LeakyReLU":
            params["negative_slope"] = float(self._const(b["negative_slope"]))
        elif op == "GELU":
            params["approximate"] = self._const(b["approximate"])
        elif op == "Hardtanh":
            params.update(min_val=float(self._const(b["min_val"])), max_val=float(self._const(b["max_val"])))
        elif op == "Softplus":
            params.update(beta=float(self._const(b["beta"])), threshold=float(self._const(b["threshold"])))
        return self._result(n, Ref(self._add(n, op, params, [x])))

    def call_softmax(self, n, b, op):
        x = self._tensor(b["input"])
        if self._const(b.get("dtype")) is not None:
            raise Unsupported("a dtype argument")
        dim = self._const(b.get("dim"))
        if dim is None:
            dim = 0 if self._rank(b["input"]) in (0, 1, 3) else 1
        return self._result(n, Ref(self._add(n, op, {"dim": int(dim)}, [x])))

    def call_dropout(self, n, b, op):
        x = self._tensor(b["input"])
        return self._result(n, Ref(self._add(n, op, {"p": float(self._const(b["p"]))}, [x])))

    def call_pool(self, n, b, op):
        x = self._tensor(b["input"])
        if self._const(b.get("return_indices", False)):
            raise Unsupported("return_indices=True (LayerLoom's pooling returns the values only)")
        if self._const(b.get("divisor_override")) is not None:
            raise Unsupported("divisor_override")
        kernel = int_tuple(self._const(b["kernel_size"]))
        stride = self._const(b["stride"])
        stride = None if stride is None or stride == [] or stride == () or int_tuple(stride) == kernel else int_tuple(stride)
        params = {"kernel_size": kernel, "stride": stride, "padding": int_tuple(self._const(b["padding"])),
                  "ceil_mode": bool(self._const(b["ceil_mode"]))}
        if op.startswith("Max"):
            params["dilation"] = int_tuple(self._const(b["dilation"]))
        else:
            params["count_include_pad"] = bool(self._const(b["count_include_pad"]))
        return self._result(n, Ref(self._add(n, op, params, [x])))

    def call_adaptive(self, n, b, op):
        x = self._tensor(b["input"])
        if self._const(b.get("return_indices", False)):
            raise Unsupported("return_indices=True")
        size = self._const(b["output_size"])
        if size is None or (isinstance(size, tuple | list) and any(s is None for s in size)):
            raise Unsupported("an output_size of None (keep that dim) has no LayerLoom form")
        return self._result(n, Ref(self._add(n, op, {"output_size": int_tuple(size)}, [x])))

    def call_interpolate(self, n, b, op):
        x = self._tensor(b["input"])
        if self._const(b["antialias"]) or self._const(b["recompute_scale_factor"]):
            raise Unsupported("antialias / recompute_scale_factor")
        mode = self._const(b["mode"])
        if mode not in get_spec("Upsample").param("mode").choices:
            raise Unsupported(f"interpolation mode {mode!r}")
        scale = self._const(b["scale_factor"])
        if isinstance(scale, tuple | list):
            if len(set(scale)) != 1:
                raise Unsupported("a different scale_factor per dim")
            scale = scale[0]
        size = self._const(b["size"])
        params = {"size": None if size is None else int_tuple(size),
                  "scale_factor": None if scale is None else float(scale), "mode": mode,
                  "align_corners": bool(self._const(b["align_corners"]))}
        return self._result(n, Ref(self._add(n, "Upsample", params, [x])))

    def call_flatten(self, n, b, op):
        x = self._tensor(b["input"])
        rank = self._rank(b["input"])
        start, end = int(self._const(b["start_dim"])), int(self._const(b["end_dim"]))
        if rank and start % rank == 0:
            raise Unsupported("flattens the batch dimension into the features; use torch.flatten(x, 1)")
        return self._result(n, Ref(self._add(n, "Flatten", {"start_dim": start, "end_dim": end}, [x])))

    def call_reshape(self, n, b, op):
        x = self._tensor(b["input"])
        try:
            shape = self._batch_first(n)
        except Unsupported:
            raise Unsupported(f"reshapes {list(self._shape(b['input']))} to {list(self._shape(n))} at batch "
                              f"{BATCHES[0]}, which does not keep the batch as the first dim (write "
                              "x.view(x.size(0), ...) or x.reshape(-1, ...))") from None
        return Ref(self._add(n, "Reshape", {"shape": list(shape)}, [x]))

    def call_alias(self, n, b, op):
        x = self._tensor(b["input"])
        before, after = self.runs[0].get(b["input"]), self.runs[0].get(n)
        if not isinstance(after, TensorInfo) or (before.shape, before.dtype) != (after.shape, after.dtype):
            raise Unsupported("changes the tensor's dtype or shape (LayerLoom keeps float32 features and int64 ids)")
        return x

    def call_cat(self, n, b, op):
        tensors = b["tensors"]
        if not isinstance(tensors, tuple | list) or len(tensors) < 2:
            if isinstance(tensors, tuple | list) and len(tensors) == 1:
                return self._tensor(tensors[0])
            raise Unsupported("concatenates something other than a list of tensors")
        refs = [self._tensor(t) for t in tensors]
        dim = int(self._const(b.get("dim", b.get("axis", 0))))
        if dim % (self._rank(tensors[0]) or 1) == 0:
            raise Unsupported("joins along the batch dimension (dim 0); LayerLoom joins samples' features (dim=1)")
        return self._result(n, Ref(self._add(n, "Concat", {"dim": dim}, refs)))

    def call_merge(self, n, b, op):
        if "alpha" in b and self._const(b["alpha"]) != 1:
            raise Unsupported("torch.add with alpha")
        word = {"Add": "adds", "Multiply": "multiplies", "Subtract": "subtracts", "Divide": "divides"}[op]
        numbers = [key for key in ("input", "other") if self._is_number(b[key])]
        if numbers:
            return self._scale(n, b, op, numbers)
        if op in ("Subtract", "Divide"):
            raise Unsupported(f"{word} two tensors; LayerLoom has no {op} layer (only a tensor and a number)")
        for key in ("input", "other"):
            if not isinstance(b[key], fx.Node):
                raise Unsupported(f"{word} a constant ({short(b[key])}); LayerLoom has no constant layer")
        tensors = [self.values.get(b[key]) for key in ("input", "other")]
        if any(isinstance(v, TensorValue) for v in tensors) and not all(isinstance(v, TensorValue) for v in tensors):
            return self._merge_with_parameter(n, b, op, tensors)
        a, c = self._tensor(b["input"]), self._tensor(b["other"])
        sa, sc = self._shape(b["input"]), self._shape(b["other"])
        broadcast = sa != sc
        if broadcast:
            _check_broadcast(op, word, sa, sc)
        first = self.nodes.get(a.node)
        if (not broadcast and first is not None and first.op == op and not first.params.get("broadcast")
                and a.port == 0 and len(b["input"].users) == 1 and self.merge_uses.get(a.node) == 1):
            first.inputs.append(c)  # a + b + c: one Add with three inputs, evaluated left to right
            self.merge_uses[a.node] = len(n.users)
            return self._result(n, a)
        node_id = self._add(n, op, {"broadcast": True} if broadcast else {}, [a, c])
        self.merge_uses[node_id] = len(n.users)
        return self._result(n, Ref(node_id))

    def _is_number(self, arg) -> bool:
        """A Python number, written in the code or computed from sizes (`math.sqrt(self.d_model)`)."""
        if isinstance(arg, fx.Node):
            if self.values.get(arg) is not CONST:
                return False
            arg = self.runs[0].get(arg)
        return isinstance(arg, int | float) and not isinstance(arg, bool)

    def _scale(self, n, b, op, numbers):
        """A tensor and a number: x * c, c * x, x / c, x + c, c + x, x - c, c - x become one Scale layer
        (x * factor + offset); a number on both sides is size arithmetic and never gets here."""
        if len(numbers) == 2:
            raise Unsupported("combines two numbers into a tensor")
        tensor_key = "other" if numbers == ["input"] else "input"
        number = float(self._const(b[numbers[0]]))
        x = self._tensor(b[tensor_key])
        if op == "Multiply":
            factor, offset = number, 0.0
        elif op == "Add":
            factor, offset = 1.0, number
        elif op == "Subtract":
            factor, offset = (1.0, -number) if tensor_key == "input" else (-1.0, number)
        elif tensor_key == "input":  # x / c
            if number == 0:
                raise Unsupported("divides by zero")
            factor, offset = 1.0 / number, 0.0
        else:
            raise Unsupported(f"divides a number by a tensor ({short(b['input'])} / tensor); LayerLoom has no "
                              "reciprocal layer")
        if "alpha" in b and self._const(b["alpha"]) != 1:
            raise Unsupported(f"torch.{op.lower()} with alpha")
        first = self.nodes.get(x.node)
        if (first is not None and first.op == "Scale" and x.port == 0 and len(b[tensor_key].users) == 1
                and self.merge_uses.get(x.node) == 1):
            # (x * a + b) * c: one Scale, as a chain of constants folds into one multiply-add
            f0, o0 = float(first.params.get("factor", 1.0)), float(first.params.get("offset", 0.0))
            first.params = _scale_params(f0 * factor, o0 * factor + offset)
            self.merge_uses[x.node] = len(n.users)
            return self._result(n, x)
        node_id = self._add(n, "Scale", _scale_params(factor, offset), [x])
        self.merge_uses[node_id] = len(n.users)
        return self._result(n, Ref(node_id))

    def _merge_with_parameter(self, n, b, op, tensors):
        """`x + self.pos_embed`, `self.layer_scale * x`, `x + self.pe[:, :x.size(1)]` (tensors.py)."""
        i = 0 if isinstance(tensors[0], TensorValue) else 1
        t, attr_node, other = tensors[i], b[("input", "other")[i]], b[("input", "other")[1 - i]]
        x = self._tensor(other)
        rank = self._rank(other)
        found = positional_table(t, rank) if op == "Add" else None
        if found is not None:
            kind, table = found
            if kind == "learned":
                if t.base in self.parameters_used:
                    raise Unsupported(f"uses self.{t.base} a second time; two nodes would train apart")
                self.parameters_used.add(t.base)
            node_id = self._add(n, "PositionalEncoding", {"kind": kind, "max_len": int(table.shape[0])}, [x])
            if kind == "learned":
                self.tensor_state[node_id] = table.clone()
            return self._result(n, Ref(node_id))
        shape = per_sample_shape(t.value, rank)
        tensor = self.parameter_node(attr_node, t, shape, x, t.base.replace(".", "_"))
        sample = self._batch_first(other)
        broadcast = tuple(shape) != tuple(sample)
        if broadcast:
            _check_broadcast(op, "adds" if op == "Add" else "multiplies", (1, *shape), (1, *sample))
        inputs = [tensor, x] if i == 0 else [x, tensor]
        return self._result(n, Ref(self._add(n, op, {"broadcast": True} if broadcast else {}, inputs)))

    def call_pad(self, n, b, op):
        """F.pad on a sequence ([C, L], 2 numbers) or an image ([C, H, W], 4 numbers): the padding layer of its
        mode (zeros, a constant, reflection, replication)."""
        x = self._tensor(b["input"])
        pads = [int(v) for v in self._const(b["pad"])]
        dims = len(pads) // 2
        if len(pads) not in (2, 4) or self._rank(b["input"]) != dims + 2 or min(pads) < 0:
            raise Unsupported(f"pads {self._rank(b['input']) - 1}-d samples with {pads}; LayerLoom pads the last "
                              "dim of [C, L] or the last two of [C, H, W], by zero or more")
        mode, value = self._const(b["mode"]), self._const(b["value"])
        kind = {"constant": "Zero" if not value else "Constant", "reflect": "Reflection",
                "replicate": "Replication"}.get(mode)
        if kind is None:
            raise Unsupported(f"padding mode {mode!r}")
        params: dict[str, Any] = {"padding": pads}
        if kind == "Constant":
            params["value"] = float(value)
        return self._result(n, Ref(self._add(n, f"{kind}Pad{dims}d", params, [x])))

    def call_drop_path(self, n, b, op):
        x = self._tensor(b["input"])
        mode = self._const(b["mode"])
        if mode not in get_spec(op).param("mode").choices:
            raise Unsupported(f"stochastic depth mode {mode!r}")
        return self._result(n, Ref(self._add(n, op, {"p": float(self._const(b["p"])), "mode": mode}, [x])))

    def call_expand(self, n, b, op):
        x = self._tensor(b["input"])
        shape = self._batch_first(n)
        if self._shape(b["input"])[0] != self._shape(n)[0]:
            raise Unsupported("expands the batch dimension")
        return self._result(n, Ref(self._add(n, "Expand", {"size": list(shape)}, [x])))

    def call_pieces(self, n, b, op):
        """x.chunk(k, dim) / x.split(size, dim): a Chunk or Split node, one output port per piece."""
        x = self._tensor(b["input"])
        rank = self._rank(b["input"])
        dim = int(self._const(b["dim"])) % rank
        if dim == 0:
            raise Unsupported("cuts the batch dimension into pieces")
        pieces = self.runs[0].get(n)
        if not isinstance(pieces, tuple) or not all(isinstance(p, TensorInfo) for p in pieces):
            raise Unsupported("its result is not a tuple of tensors")
        sizes = [p.shape[dim] for p in pieces]
        if op == "Chunk" and int(self._const(b["chunks"])) == len(sizes):
            params = {"chunks": len(sizes), "dim": dim}
        else:
            op, params = "Split", {"split_sizes": sizes, "dim": dim}
        if len(sizes) < 2:
            raise Unsupported("cuts the tensor into a single piece")
        return PortsOut(self._add(n, op, params, [x]), len(sizes))

    def call_attention(self, n, b, op):
        """F.scaled_dot_product_attention: the ScaledDotProductAttention op (a key or value equal to the query
        is left unconnected, as the op reads it)."""
        if self._const(b["attn_mask"]) is not None or self._const(b["enable_gqa"]):
            raise Unsupported("scaled_dot_product_attention with attn_mask or enable_gqa; LayerLoom's op takes query, "
                              "key and value (and is_causal)")
        q, k, v = (self._tensor(b[key], key) for key in ("query", "key", "value"))
        scale = self._const(b["scale"])
        params = {"is_causal": bool(self._const(b["is_causal"])), "dropout_p": float(self._const(b["dropout_p"])),
                  "scale": None if scale is None else float(scale)}
        inputs = [q, None if k == q else k, None if v == q else v]
        while inputs[-1] is None:
            inputs.pop()
        return self._result(n, Ref(self._add(n, "ScaledDotProductAttention", params, inputs)))

    def call_mean(self, n, b, op):
        x = self._tensor(b["input"])
        dim = self._const(b["dim"])
        if dim is None:
            raise Unsupported("averages every dim, the batch too; give the dims, e.g. x.mean(dim=1)")
        if self._const(b["dtype"]) is not None:
            raise Unsupported("a dtype argument")
        dims = [int(d) for d in dim] if isinstance(dim, tuple | list) else [int(dim)]
        rank = self._rank(b["input"])
        if any(d % rank == 0 for d in dims):
            raise Unsupported("averages over the batch dimension")
        value = dims[0] if len(dims) == 1 and not isinstance(dim, tuple | list) else dims
        return self._result(n, Ref(self._add(n, "Mean", {"dim": value, "keepdim": bool(self._const(b["keepdim"]))}, [x])))

    def _dims_arg(self, b) -> list[int]:
        if "*" in b:
            rest = list(b["*"])
            if len(rest) == 1 and isinstance(rest[0], tuple | list):
                rest = list(rest[0])
            return [int(d) for d in self._const(rest)]
        return [int(d) for d in self._const(b["dims"])]

    def call_permute(self, n, b, op):
        value = self.values.get(b["input"]) if isinstance(b["input"], fx.Node) else None
        dims = self._dims_arg(b)
        if isinstance(value, RawState):
            if [d % 3 for d in dims] == [1, 0, 2]:
                return Ref(value.node, value.port)
            raise Unsupported("permutes an RNN hidden state other than to batch-first (1, 0, 2)")
        x = self._tensor(b["input"])
        rank = self._rank(b["input"])
        if len(dims) != rank:
            raise Unsupported(f"permutes {rank} dims with {len(dims)} numbers")
        dims = [d % rank for d in dims]
        if dims[0] != 0:
            return MovedBatch(x, tuple(dims))  # usable only by unbind(0) (call_unbind); refused elsewhere
        return self._result(n, Ref(self._add(n, "Permute", {"dims": dims}, [x])))

    def call_unbind(self, n, b, op):
        value = self.values.get(b["input"]) if isinstance(b["input"], fx.Node) else None
        dim = int(self._const(b["dim"]))
        if isinstance(value, MovedBatch):
            if dim != 0:
                raise Unsupported("unbinds a permuted tensor along a dim other than 0")
            picked = value.dims[0]
            rest = [d - (d > picked) for d in value.dims[1:]]  # the remaining dims after the Select
            if rest[0] != 0:
                raise Unsupported("moves the batch dimension (LayerLoom keeps it first: dims must start with 0)")
            count = self._shape(b["input"])[0]
            return Pieces(value.source, picked, count, None if rest == sorted(rest) else tuple(rest))
        x = self._tensor(b["input"])
        rank = self._rank(b["input"])
        if dim % rank == 0:
            raise Unsupported("unbinds the batch dimension (dim 0) into samples")
        return Pieces(x, dim % rank, self._shape(b["input"])[dim % rank])

    def call_transpose(self, n, b, op):
        value = self.values.get(b["input"]) if isinstance(b["input"], fx.Node) else None
        d0, d1 = int(self._const(b["dim0"])), int(self._const(b["dim1"]))
        if isinstance(value, RawState):
            if {d0 % 3, d1 % 3} == {0, 1}:
                return Ref(value.node, value.port)
            raise Unsupported("transposes an RNN hidden state other than to batch-first (0, 1)")
        x = self._tensor(b["input"])
        rank = self._rank(b["input"])
        if d0 % rank == 0 or d1 % rank == 0:
            raise Unsupported("swaps the batch dimension (LayerLoom keeps it first)")
        return self._result(n, Ref(self._add(n, "Transpose", {"dim0": d0, "dim1": d1}, [x])))

    def call_select(self, n, b, op):
        x = self._tensor(b["input"])
        dim, index = int(self._const(b["dim"])), int(self._const(b["index"]))
        if dim % self._rank(b["input"]) == 0:
            raise Unsupported("picks samples out of the batch (dim 0)")
        return self._result(n, Ref(self._add(n, "Select", {"dim": dim, "index": index}, [x])))

    def call_getitem(self, n, b, op):
        source, index = b["input"], b["index"]
        value = self.values.get(source) if isinstance(source, fx.Node) else None
        if isinstance(value, TupleOut | StateTuple | RawState) or isinstance(value, Ref):
            index = self._const(index)
        if isinstance(value, PortsOut):
            return Ref(value.node, tuple_index(self._const(index), value.count))
        if isinstance(value, Pieces):
            i = tuple_index(self._const(index), value.count)
            node_id = self._add(n, "Select", {"dim": value.dim, "index": i}, [value.source],
                                f"{n.name}_select" if value.permute else None)
            if value.permute:
                node_id = self._add(n, "Permute", {"dims": list(value.permute)}, [Ref(node_id)])
            return self._result(n, Ref(node_id))
        if isinstance(value, TupleOut):
            i = tuple_index(index, 2)
            if i == 0:
                return Ref(value.node, 0)
            if value.op == "MultiheadAttention":
                if source in self.no_weights:
                    raise Unsupported("uses the attention weights of a call with need_weights=False")
                return Ref(value.node, 1)
            return StateTuple(value.node) if value.op == "LSTM" else RawState(value.node, 1)
        if isinstance(value, StateTuple):
            return RawState(value.node, 1 + tuple_index(index, 2))
        if isinstance(value, RawState):
            if not isinstance(index, int):
                raise Unsupported("indexes an RNN hidden state with something other than one layer number")
            state = ("h_n", "c_n")[value.port - 1]
            node_id = self._add(n, "Select", {"dim": 1, "index": int(index)}, [Ref(value.node, value.port)],
                                f"{value.node}_{state}_last" if index == -1 else f"{value.node}_{state}_{index}")
            return self._result(n, Ref(node_id))
        x = self._tensor(source)
        rank = self._rank(source)
        items = list(index) if isinstance(index, tuple) else [index]
        ints = [(i, v) for i, v in enumerate(items) if isinstance(v, int) and not isinstance(v, bool)]
        full = all(isinstance(v, slice) and v == slice(None) for i, v in enumerate(items) if (i, v) not in ints)
        if not full or len(ints) > 1 or len(items) > rank:
            raise Unsupported(f"indexes with {short(index)}; LayerLoom can pick one position along one dim "
                              "(x[:, -1] is a Select) but has no slicing layer")
        if not ints:
            return x
        dim, position = ints[0]
        if dim == 0:
            raise Unsupported("picks samples out of the batch (x[i]); index a later dim, e.g. x[:, i]")
        name = f"{x.node}_last" if position == -1 else f"{x.node}_select"
        return self._result(n, Ref(self._add(n, "Select", {"dim": dim, "index": position}, [x], name)))

    def call_getattr(self, n, b, op):
        name = self._const(b["name"])
        if name in SIZE_ATTRIBUTES:
            return CONST  # x.shape as x.size(): read from the recorded runs where it is used
        raise Unsupported(f"reads the attribute {name!r} of a tensor")

    def call_size(self, n, b, op):
        return CONST


Handler = Callable[[Any, fx.Node, dict[str, Any], str], Any]

def _scale_params(factor: float, offset: float) -> dict[str, float]:
    """Scale's params without the defaults (factor 1, offset 0), as a person would write them."""
    return {k: v for k, v, default in (("factor", factor, 1.0), ("offset", offset, 0.0)) if v != default}


def _check_broadcast(op: str, word: str, a: tuple[int, ...], c: tuple[int, ...]) -> None:
    """Broadcasting LayerLoom declares (`broadcast: true`): same rank, the batch in both, each other dim equal
    or 1 in one of them."""
    if len(a) != len(c) or a[0] != c[0] or any(x != y and 1 not in (x, y) for x, y in zip(a[1:], c[1:], strict=True)):
        raise Unsupported(f"{word} tensors of shapes {list(a)} and {list(c)}; LayerLoom's {op} broadcasts only "
                          "size-1 dims between tensors of the same rank, each with the batch first")


# op_mapping's handler kind (the part before ':') -> the handler.
HANDLERS: dict[str, Handler] = {
    "activation": CallHandlers.call_activation,
    "softmax": CallHandlers.call_softmax,
    "dropout": CallHandlers.call_dropout,
    "pool": CallHandlers.call_pool,
    "adaptive": CallHandlers.call_adaptive,
    "interpolate": CallHandlers.call_interpolate,
    "flatten": CallHandlers.call_flatten,
    "reshape": CallHandlers.call_reshape,
    "alias": CallHandlers.call_alias,
    "cat": CallHandlers.call_cat,
    "merge": CallHandlers.call_merge,
    "mean": CallHandlers.call_mean,
    "permute": CallHandlers.call_permute,
    "drop_path": CallHandlers.call_drop_path,
    "pad": CallHandlers.call_pad,
    "expand": CallHandlers.call_expand,
    "pieces": CallHandlers.call_pieces,
    "attention": CallHandlers.call_attention,
    "unbind": CallHandlers.call_unbind,
    "transpose": CallHandlers.call_transpose,
    "select": CallHandlers.call_select,
    "getitem": CallHandlers.call_getitem,
    "getattr": CallHandlers.call_getattr,
    "size": CallHandlers.call_size,
}


def tuple_index(index: Any, length: int) -> int:
    if not isinstance(index, int) or isinstance(index, bool) or not -length <= index < length:
        raise Unsupported(f"indexes a layer's output tuple with {short(index)}")
    return index % length
