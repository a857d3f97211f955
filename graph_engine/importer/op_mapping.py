"""How PyTorch modules and calls become catalog ops.

Leaf modules: every catalog op with a `module` ("nn.Conv2d") maps back from that class and from subclasses
that keep its forward (`known_op`); a subclass with its own forward is not the same layer, so it is traced
into, and the functional layer it calls on its own weights (`FUNCTIONAL_LAYERS`) becomes that layer. Constructor
arguments are read back from the module's attributes (`kernel_size`, `stride`, `bias is not None`...), written
in LayerLoom's form (one number for a square kernel, `None` for a pooling stride equal to the kernel) and left
out when they equal the catalog default; dims the input decides (`in_features`, `num_features`...) are left
"auto". Settings LayerLoom cannot express (`batch_first=False`, `return_indices=True`, `max_norm`...) are
`Unsupported`, with the reason.

Calls: `FUNCTIONS` (torch / torch.nn.functional / operator callables) and `METHODS` (tensor methods) name the
handler that `fx_import` runs for each; `REFUSED` gives calls with a known reason why there is no layer
(F.embedding: use the module).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from graph_engine.catalog import CATALOG, get_spec
from graph_engine.catalog.spec import LayerSpec, Param, ParamKind


class Unsupported(Exception):
    """A module or call that has no faithful LayerLoom form; the message says why (and what to do)."""


# ---- leaf modules ------------------------------------------------------------------------------------------

def _module_ops() -> dict[type, str]:
    """nn class -> op. When several ops build the same class, the one called plainly wins (LayerNorm2d is an
    nn.LayerNorm called on permuted images; the module alone says LayerNorm)."""
    ops: dict[type, str] = {}
    for spec in CATALOG.values():
        if spec.module and spec.call is None:
            ops.setdefault(getattr(nn, spec.module.removeprefix("nn.")), spec.op)
    for spec in CATALOG.values():
        if spec.module:
            ops.setdefault(getattr(nn, spec.module.removeprefix("nn.")), spec.op)
    return ops


MODULE_OPS: dict[type, str] = _module_ops()

# Ops whose module returns a tuple that getitem picks from (multi-output specs).
TUPLE_OPS = frozenset(spec.op for spec in CATALOG.values() if spec.output_exprs)
RECURRENT_OPS = ("RNN", "LSTM", "GRU")


def int_tuple(value: Any) -> Any:
    """A kernel/stride/padding value in LayerLoom's form: one int when every dim agrees, else a list."""
    if isinstance(value, int | bool) or value is None:
        return value
    items = [int(v) for v in value]
    if items and all(v == items[0] for v in items):
        return items[0]
    return items


def normalise(param: Param, value: Any) -> Any:
    if value is None:
        return None
    if param.kind is ParamKind.INT_TUPLE:
        return int_tuple(value)
    if param.kind is ParamKind.INT_LIST:
        return [int(v) for v in value]
    if param.kind is ParamKind.FLOAT:
        return float(value)
    if param.kind is ParamKind.INT:
        return int(value)
    if param.kind is ParamKind.BOOL:
        return bool(value)
    return value


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return list(a) == list(b)
    if isinstance(a, list | tuple) or isinstance(b, list | tuple):
        return False
    return type(a) is type(b) and a == b


def tidy_params(spec: LayerSpec, values: dict[str, Any]) -> dict[str, Any]:
    """Normalised params without the ones equal to the catalog default (what a person would write)."""
    out = {}
    for param in spec.params:
        if param.name not in values or param.fixed:
            continue
        value = normalise(param, values[param.name])
        if not param.required and not param.is_inferred and _same(value, normalise(param, param.default)):
            continue
        out[param.name] = value
    return out


def _require(condition: bool, reason: str) -> None:
    if not condition:
        raise Unsupported(reason)


def _pool_stride(module: nn.Module) -> Any:
    stride = module.stride
    if stride is None or int_tuple(stride) == int_tuple(module.kernel_size) or stride == []:
        return None
    return stride


def _conv_padding(module: nn.Module) -> Any:
    padding = module.padding
    if padding == "valid":
        return 0
    if padding == "same":
        out = []
        for k, d in zip(module.kernel_size, module.dilation, strict=True):
            total = d * (k - 1)
            _require(total % 2 == 0, "padding='same' with an even kernel pads one side more than the other, "
                                     "which LayerLoom's padding cannot express; give padding as numbers")
            out.append(total // 2)
        return out
    return padding


def layer_class(module: nn.Module) -> type | None:
    """The catalog's torch.nn class `module` is an instance of (its own class or the nearest base class), or
    None. timm's BatchNormAct2d -> nn.BatchNorm2d."""
    return next((cls for cls in type(module).__mro__ if cls in MODULE_OPS), None)


def known_op(module: nn.Module) -> str | None:
    """The catalog op of a module that *is* that layer: the class itself, or a subclass that keeps the
    layer's forward (one with its own forward computes something else, so it is traced into)."""
    cls = layer_class(module)
    if cls is None or type(module).forward is not cls.forward:
        return None
    return MODULE_OPS[cls]


def read_module(module: nn.Module, in_shapes: Sequence[tuple[int, ...]],
                as_op: str | None = None) -> tuple[str, dict[str, Any]]:
    """(op, params) for a leaf module; raises Unsupported. `in_shapes` are the input shapes, batch included.
    `as_op`: read the module as that op (a subclass whose forward calls the layer's function on its weights)."""
    op = as_op or known_op(module)
    if op is None:
        raise Unsupported(f"LayerLoom has no layer for nn.{type(module).__name__}" if type(module).__module__
                          .startswith("torch.") else f"{type(module).__name__} is not a layer LayerLoom knows")
    spec = get_spec(op)
    values: dict[str, Any] = {}
    for param in spec.params:
        if param.fixed or param.is_inferred:
            continue
        if hasattr(module, param.name):
            values[param.name] = getattr(module, param.name)
    special = SPECIAL_READERS.get(op)
    if special is not None:
        special(module, values, in_shapes)
    return op, tidy_params(spec, values)


def _linear_like(module, values, in_shapes):
    values["bias"] = module.bias is not None


def _conv(module, values, in_shapes):
    values["bias"] = module.bias is not None
    values["padding"] = _conv_padding(module)
    if "padding_mode" not in get_spec(MODULE_OPS[layer_class(module)]).param_names:
        _require(module.padding_mode == "zeros", f"padding_mode={module.padding_mode!r} on a transposed convolution")


def _max_pool(module, values, in_shapes):
    _require(not module.return_indices, "return_indices=True (LayerLoom's pooling returns the values only)")
    values["stride"] = _pool_stride(module)


def _avg_pool(module, values, in_shapes):
    _require(getattr(module, "divisor_override", None) is None, "divisor_override (LayerLoom averages over the window)")
    values["stride"] = _pool_stride(module)


def _adaptive(module, values, in_shapes):
    _require(not getattr(module, "return_indices", False), "return_indices=True")
    size = module.output_size
    sizes = size if isinstance(size, tuple | list) else (size,)
    _require(all(s is not None for s in sizes), "an output_size of None (keep that dim) has no LayerLoom form")


def _upsample(module, values, in_shapes):
    _require(not module.recompute_scale_factor, "recompute_scale_factor=True")
    _require(module.mode in get_spec("Upsample").param("mode").choices, f"mode {module.mode!r}")
    scale = module.scale_factor
    if isinstance(scale, tuple | list):
        _require(len(set(scale)) == 1, "a different scale_factor per dim")
        scale = scale[0]
    values["scale_factor"] = None if scale is None else float(scale)
    values["size"] = module.size
    values["align_corners"] = bool(module.align_corners)


def _softmax(module, values, in_shapes):
    if module.dim is None:  # torch's implicit choice (it warns): dim 0 for 0-, 1- and 3-dim inputs, else 1
        values["dim"] = 0 if len(in_shapes[0]) in (0, 1, 3) else 1


def _prelu(module, values, in_shapes):
    values["num_parameters"] = module.num_parameters
    values["init"] = float(getattr(module, "init", 0.25))


def _layer_norm(module, values, in_shapes):
    values["bias"] = module.bias is not None if module.elementwise_affine else True  # no weights either way
    shape = tuple(module.normalized_shape)
    if len(shape) != 1:  # several trailing dims: explicit (one dim is what "auto" infers)
        values["normalized_shape"] = list(shape)


def _embedding(module, values, in_shapes):
    _require(module.max_norm is None, "max_norm (LayerLoom's Embedding does not renormalise)")
    _require(not module.scale_grad_by_freq, "scale_grad_by_freq=True")
    _require(not module.sparse, "sparse=True")


def _recurrent(module, values, in_shapes):
    _require(module.batch_first, "batch_first=False: LayerLoom keeps the batch first; build the layer with "
                                 "batch_first=True and feed it [batch, seq, features]")
    _require(getattr(module, "proj_size", 0) == 0, "proj_size (LSTM projections)")
    values["bias"] = bool(module.bias)


def _attention(module, values, in_shapes):
    _require(module.batch_first, "batch_first=False: LayerLoom keeps the batch first; build the layer with "
                                 "batch_first=True")
    _require(module.bias_k is None, "add_bias_kv=True")
    _require(not module.add_zero_attn, "add_zero_attn=True")
    values["bias"] = module.in_proj_bias is not None or module.out_proj.bias is not None
    values["dropout"] = float(module.dropout)


def _transformer(module, values, in_shapes):
    _require(module.self_attn.batch_first, "batch_first=False: LayerLoom keeps the batch first; build the layer "
                                           "with batch_first=True")
    kind = getattr(module, "activation_relu_or_gelu", 0)
    if kind == 0:
        act = module.activation
        kind = 1 if act in (F.relu, torch.relu) or isinstance(act, nn.ReLU) else (
            2 if act is F.gelu or (isinstance(act, nn.GELU) and act.approximate == "none") else 0)
    _require(kind in (1, 2), "an activation other than relu or gelu")
    values["activation"] = "relu" if kind == 1 else "gelu"
    values["nhead"] = module.self_attn.num_heads
    values["dim_feedforward"] = module.linear1.out_features
    values["dropout"] = float(module.dropout.p)
    values["layer_norm_eps"] = float(module.norm1.eps)
    values["bias"] = module.linear1.bias is not None


def _transformer_stack(module, values, in_shapes):
    """nn.TransformerEncoder/Decoder: the params of its (deep-copied, identical) layers, their count, and
    whether a final LayerNorm matching them follows."""
    layers = [read_module(layer, in_shapes) for layer in module.layers]
    _require(all(layer == layers[0] for layer in layers), "its layers are configured differently from each other")
    values.update(layers[0][1])
    values["num_layers"] = len(layers)
    values["norm"] = module.norm is not None
    if module.norm is not None:
        first = module.layers[0]
        _require(type(module.norm) is nn.LayerNorm and module.norm.eps == first.norm1.eps
                 and (module.norm.bias is not None) == (first.linear1.bias is not None),
                 "a final norm other than a LayerNorm like the layers' own")


def _unflatten(module, values, in_shapes):
    values["unflattened_size"] = list(module.unflattened_size)


def _dropout(module, values, in_shapes):
    values["p"] = float(module.p)


SPECIAL_READERS: dict[str, Callable[[nn.Module, dict[str, Any], Sequence[tuple[int, ...]]], None]] = {
    "Linear": _linear_like,
    "Bilinear": _linear_like,
    "Conv1d": _conv, "Conv2d": _conv, "Conv3d": _conv, "ConvTranspose1d": _conv, "ConvTranspose2d": _conv,
    "MaxPool1d": _max_pool, "MaxPool2d": _max_pool,
    "AvgPool1d": _avg_pool, "AvgPool2d": _avg_pool,
    "AdaptiveAvgPool1d": _adaptive, "AdaptiveAvgPool2d": _adaptive,
    "AdaptiveMaxPool1d": _adaptive, "AdaptiveMaxPool2d": _adaptive,
    "Upsample": _upsample,
    "Softmax": _softmax, "LogSoftmax": _softmax,
    "PReLU": _prelu,
    "LayerNorm": _layer_norm,
    "Embedding": _embedding,
    "RNN": _recurrent, "LSTM": _recurrent, "GRU": _recurrent,
    "MultiheadAttention": _attention,
    "TransformerEncoderLayer": _transformer, "TransformerDecoderLayer": _transformer,
    "TransformerEncoder": _transformer_stack, "TransformerDecoder": _transformer_stack,
    "Unflatten": _unflatten,
    "Dropout": _dropout, "Dropout2d": _dropout,
}


# ---- calls -------------------------------------------------------------------------------------------------
# handler name, then the call's parameter names and defaults (how positional arguments are bound).

Signature = tuple[str, tuple[str, ...], dict[str, Any]]


def _act(op: str, *names: str, **defaults: Any) -> Signature:
    return ("activation:" + op, ("input", *names, "inplace"), {"inplace": False, **defaults})


_POOL_MAX = ("input", "kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices")
_POOL_MAX_D = {"stride": None, "padding": 0, "dilation": 1, "ceil_mode": False, "return_indices": False}
_POOL_AVG = ("input", "kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override")
_POOL_AVG_D = {"stride": None, "padding": 0, "ceil_mode": False, "count_include_pad": True, "divisor_override": None}

FUNCTIONS: dict[Any, Signature] = {
    F.relu: _act("ReLU"), torch.relu: ("activation:ReLU", ("input",), {}),
    torch.sigmoid: ("activation:Sigmoid", ("input",), {}), F.sigmoid: ("activation:Sigmoid", ("input",), {}),
    torch.tanh: ("activation:Tanh", ("input",), {}), F.tanh: ("activation:Tanh", ("input",), {}),
    F.gelu: ("activation:GELU", ("input", "approximate"), {"approximate": "none"}),
    F.silu: _act("SiLU"), F.mish: _act("Mish"), F.hardswish: _act("Hardswish"),
    F.relu6: _act("ReLU6"), F.hardsigmoid: _act("Hardsigmoid"),
    F.hardtanh: _act("Hardtanh", "min_val", "max_val", min_val=-1.0, max_val=1.0),
    F.softplus: ("activation:Softplus", ("input", "beta", "threshold"), {"beta": 1.0, "threshold": 20.0}),
    F.elu: _act("ELU", "alpha", alpha=1.0),
    F.leaky_relu: _act("LeakyReLU", "negative_slope", negative_slope=0.01),
    F.softmax: ("softmax:Softmax", ("input", "dim", "_stacklevel", "dtype"), {"dim": None, "dtype": None}),
    torch.softmax: ("softmax:Softmax", ("input", "dim", "dtype"), {"dtype": None}),
    F.log_softmax: ("softmax:LogSoftmax", ("input", "dim", "_stacklevel", "dtype"), {"dim": None, "dtype": None}),
    torch.log_softmax: ("softmax:LogSoftmax", ("input", "dim", "dtype"), {"dtype": None}),
    F.dropout: ("dropout:Dropout", ("input", "p", "training", "inplace"), {"p": 0.5, "training": True,
                                                                          "inplace": False}),
    F.dropout2d: ("dropout:Dropout2d", ("input", "p", "training", "inplace"), {"p": 0.5, "training": True,
                                                                              "inplace": False}),
    torch.dropout: ("dropout:Dropout", ("input", "p", "train"), {}),
    F.max_pool1d: ("pool:MaxPool1d", _POOL_MAX, _POOL_MAX_D),
    F.max_pool2d: ("pool:MaxPool2d", _POOL_MAX, _POOL_MAX_D),
    F.avg_pool1d: ("pool:AvgPool1d", _POOL_AVG[:-1], {k: v for k, v in _POOL_AVG_D.items() if k != "divisor_override"}),
    F.avg_pool2d: ("pool:AvgPool2d", _POOL_AVG, _POOL_AVG_D),
    F.adaptive_avg_pool1d: ("adaptive:AdaptiveAvgPool1d", ("input", "output_size"), {}),
    F.adaptive_avg_pool2d: ("adaptive:AdaptiveAvgPool2d", ("input", "output_size"), {}),
    F.adaptive_max_pool1d: ("adaptive:AdaptiveMaxPool1d", ("input", "output_size", "return_indices"),
                            {"return_indices": False}),
    F.adaptive_max_pool2d: ("adaptive:AdaptiveMaxPool2d", ("input", "output_size", "return_indices"),
                            {"return_indices": False}),
    F.interpolate: ("interpolate", ("input", "size", "scale_factor", "mode", "align_corners",
                                    "recompute_scale_factor", "antialias"),
                    {"size": None, "scale_factor": None, "mode": "nearest", "align_corners": None,
                     "recompute_scale_factor": None, "antialias": False}),
    torch.flatten: ("flatten", ("input", "start_dim", "end_dim"), {"start_dim": 0, "end_dim": -1}),
    torch.reshape: ("reshape", ("input", "shape"), {}),
    torch.squeeze: ("reshape", ("input", "dim"), {"dim": None}),
    torch.unsqueeze: ("reshape", ("input", "dim"), {}),
    torch.cat: ("cat", ("tensors", "dim"), {"dim": 0}),
    torch.concat: ("cat", ("tensors", "dim"), {"dim": 0}),
    torch.concatenate: ("cat", ("tensors", "axis"), {"axis": 0}),
    operator.add: ("merge:Add", ("input", "other"), {}),
    operator.iadd: ("merge:Add", ("input", "other"), {}),
    torch.add: ("merge:Add", ("input", "other", "alpha"), {"alpha": 1}),
    operator.mul: ("merge:Multiply", ("input", "other"), {}),
    operator.imul: ("merge:Multiply", ("input", "other"), {}),
    torch.mul: ("merge:Multiply", ("input", "other"), {}),
    # A tensor and a number only (Scale); between two tensors these are refused by name.
    operator.sub: ("merge:Subtract", ("input", "other"), {}),
    operator.isub: ("merge:Subtract", ("input", "other"), {}),
    torch.sub: ("merge:Subtract", ("input", "other", "alpha"), {"alpha": 1}),
    operator.truediv: ("merge:Divide", ("input", "other"), {}),
    operator.itruediv: ("merge:Divide", ("input", "other"), {}),
    torch.div: ("merge:Divide", ("input", "other"), {}),
    torch.mean: ("mean", ("input", "dim", "keepdim", "dtype"), {"dim": None, "keepdim": False, "dtype": None}),
    torch.permute: ("permute", ("input", "dims"), {}),
    torch.transpose: ("transpose", ("input", "dim0", "dim1"), {}),
    torch.swapaxes: ("transpose", ("input", "dim0", "dim1"), {}),
    torch.select: ("select", ("input", "dim", "index"), {}),
    torch.unbind: ("unbind", ("input", "dim"), {"dim": 0}),
    F.pad: ("pad", ("input", "pad", "mode", "value"), {"mode": "constant", "value": None}),
    torch.chunk: ("pieces:Chunk", ("input", "chunks", "dim"), {"dim": 0}),
    torch.split: ("pieces:Split", ("input", "split_size_or_sections", "dim"), {"dim": 0}),
    F.scaled_dot_product_attention: ("attention", ("query", "key", "value", "attn_mask", "dropout_p", "is_causal",
                                                   "scale", "enable_gqa"),
                                     {"attn_mask": None, "dropout_p": 0.0, "is_causal": False, "scale": None,
                                      "enable_gqa": False}),
    operator.getitem: ("getitem", ("input", "index"), {}),
    getattr: ("getattr", ("input", "name"), {}),
}

# Tensor methods: name -> (handler, parameter names, defaults). "*" as the second name collects the rest
# (x.view(2, 3), x.permute(0, 2, 1)).
METHODS: dict[str, Signature] = {
    "relu": ("activation:ReLU", ("input",), {}),
    "sigmoid": ("activation:Sigmoid", ("input",), {}),
    "tanh": ("activation:Tanh", ("input",), {}),
    "softmax": ("softmax:Softmax", ("input", "dim", "dtype"), {"dtype": None}),
    "log_softmax": ("softmax:LogSoftmax", ("input", "dim", "dtype"), {"dtype": None}),
    "view": ("reshape", ("input", "*"), {}),
    "reshape": ("reshape", ("input", "*"), {}),
    "squeeze": ("reshape", ("input", "*"), {}),
    "unsqueeze": ("reshape", ("input", "*"), {}),
    "flatten": ("flatten", ("input", "start_dim", "end_dim"), {"start_dim": 0, "end_dim": -1}),
    "mean": ("mean", ("input", "dim", "keepdim", "dtype"), {"dim": None, "keepdim": False, "dtype": None}),
    "permute": ("permute", ("input", "*"), {}),
    "transpose": ("transpose", ("input", "dim0", "dim1"), {}),
    "swapaxes": ("transpose", ("input", "dim0", "dim1"), {}),
    "select": ("select", ("input", "dim", "index"), {}),
    "unbind": ("unbind", ("input", "dim"), {"dim": 0}),
    "chunk": ("pieces:Chunk", ("input", "chunks", "dim"), {"dim": 0}),
    "split": ("pieces:Split", ("input", "split_size", "dim"), {"dim": 0}),
    "expand": ("expand", ("input", "*"), {}),
    "add": ("merge:Add", ("input", "other", "alpha"), {"alpha": 1}),
    "mul": ("merge:Multiply", ("input", "other"), {}),
    "sub": ("merge:Subtract", ("input", "other", "alpha"), {"alpha": 1}),
    "div": ("merge:Divide", ("input", "other"), {}),
    "size": ("size", ("input", "dim"), {"dim": None}),
    "dim": ("size", ("input",), {}),
    "contiguous": ("alias", ("input", "*"), {}),
    "clone": ("alias", ("input", "*"), {}),
    "detach": ("alias", ("input",), {}),
    "float": ("alias", ("input", "*"), {}),
    "to": ("alias", ("input", "*"), {}),
}

# Functional layers that a module subclass calls on its own weights (timm's BatchNormAct2d calls
# F.batch_norm(x, self.running_mean, ..., self.weight, self.bias, ...)): the call is that module's layer.
# function -> (the ops the module may be, the call's parameter names, defaults); the module is the one whose
# `weight` the call reads.
_CONV = ("input", "weight", "bias", "stride", "padding", "dilation", "groups")
_CONV_D = {"bias": None, "stride": 1, "padding": 0, "dilation": 1, "groups": 1}
FUNCTIONAL_LAYERS: dict[Any, tuple[tuple[str, ...], tuple[str, ...], dict[str, Any]]] = {
    F.linear: (("Linear",), ("input", "weight", "bias"), {"bias": None}),
    F.conv1d: (("Conv1d",), _CONV, _CONV_D),
    F.conv2d: (("Conv2d",), _CONV, _CONV_D),
    F.batch_norm: (("BatchNorm1d", "BatchNorm2d"), ("input", "running_mean", "running_var", "weight", "bias", "training", "momentum",
                                  "eps"), {"weight": None, "bias": None, "training": False, "momentum": 0.1,
                                           "eps": 1e-5}),
    F.layer_norm: (("LayerNorm",), ("input", "normalized_shape", "weight", "bias", "eps"),
                   {"weight": None, "bias": None, "eps": 1e-5}),
}

# Functions of libraries LayerLoom does not import, by their qualified name (describe_target).
FUNCTIONS_BY_NAME: dict[str, Signature] = {
    "torchvision.ops.stochastic_depth.stochastic_depth": ("drop_path:StochasticDepth", ("input", "p", "mode", "training"),
                                                          {"training": True}),
}

REFUSED: dict[Any, str] = {
    F.embedding: "a functional layer with its own weights; use an nn.Embedding module",
}


def describe_target(target: Any) -> str:
    """A readable name for an fx node's target: "torch.nn.functional.pad", "operator.add", "Tensor.view"."""
    if isinstance(target, str):
        return target
    module = getattr(target, "__module__", None) or ""
    name = getattr(target, "__qualname__", None) or getattr(target, "__name__", None) or repr(target)
    if "." in name and name.split(".")[0].startswith("_"):  # torch builtins: _VariableFunctionsClass.cumsum
        name = getattr(target, "__name__", name)
    if target in (F.max_pool1d, F.max_pool2d):
        name = "max_pool1d" if target is F.max_pool1d else "max_pool2d"
        module = "torch.nn.functional"
    if module in ("_operator", "operator"):
        module = "operator"
    if module.startswith("torch._C") or not module:
        module = "torch"
    return f"{module}.{name}"


__all__ = ["FUNCTIONAL_LAYERS", "FUNCTIONS", "FUNCTIONS_BY_NAME", "METHODS", "MODULE_OPS", "RECURRENT_OPS", "REFUSED", "TUPLE_OPS", "Unsupported",
           "describe_target", "int_tuple", "known_op", "layer_class", "normalise", "read_module", "tidy_params"]
