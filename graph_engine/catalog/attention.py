"""Attention and transformer layers: MultiheadAttention, ScaledDotProductAttention, the transformer encoder
and decoder layers and their stacks (TransformerEncoder, TransformerDecoder).

`causal` (on MultiheadAttention and the transformer layers and stacks) lets each position attend only to
itself and earlier positions, as in GPT: forward() passes nn.Transformer.generate_square_subsequent_mask of the
sequence length as the (self-)attention mask, with is_causal=True. It is a forward() argument, not a
constructor one, so it does not change the weights. ScaledDotProductAttention is the functional
nn.functional.scaled_dot_product_attention and names it after torch: is_causal.

The stacks are nn.TransformerEncoder / nn.TransformerDecoder around one layer built from the same params; torch
copies that layer num_layers times (so every layer starts from the same initial weights, as in torch).

Every layer here works on one [seq_len, features] sequence per sample; `batch_first` is fixed to True (torch's
default is False, so it is always emitted).

Optional inputs (MultiheadAttention's `key` and `value`): an unconnected optional input receives input 0, the
query. A lone query is therefore self-attention; for cross-attention connect both key and value (a connected
key with an unconnected value would use the query as the value). Shape rules, inferred params and code
generation always see the full list of three inputs, with the query's type (or expression) standing in for
each unconnected one.
"""

from __future__ import annotations

import math

from graph_engine.catalog.spec import (
    LayerSpec,
    ModuleCall,
    Param,
    ParamKind,
    Port,
    ShapeError,
    TensorType,
    expect_rank,
)

MAX_FEATURES = 1 << 24
MAX_HEADS = 1024


def _last_dim(index: int):
    return lambda inputs: inputs[index].shape[-1]


def _check_heads(dim: int, heads: int, dim_name: str, heads_name: str) -> None:
    if dim % heads:
        divisors = [h for h in range(1, min(dim, 16) + 1) if dim % h == 0]
        raise ShapeError(
            f"{heads_name}={heads} does not divide {dim_name}={dim}: every head needs {dim_name} / {heads_name} "
            "features",
            f"use a {heads_name} that divides {dim}, such as {', '.join(map(str, divisors))}",
            param=heads_name,
        )


def _attention_flops(len_q: int, len_kv: int, embed: int, kdim: int, vdim: int, heads: int, bias: bool) -> int:
    """Projections of q, k, v and the output, the scores q k^T, the softmax and the weighted sum of values."""
    proj = 2 * (len_q * embed * embed + len_kv * embed * kdim + len_kv * embed * vdim + len_q * embed * embed)
    if bias:
        proj += 2 * len_q * embed + 2 * len_kv * embed
    scores = 2 * len_q * len_kv * embed + 5 * heads * len_q * len_kv  # q k^T, scale and softmax
    mix = 2 * len_q * len_kv * embed
    return proj + scores + mix


def _causal_param() -> Param:
    return Param("causal", ParamKind.BOOL, False, forward_arg=True,
                 doc="Each position attends only to itself and earlier ones (a GPT-style decoder); needs query and "
                     "key of the same length.")


def _causal_mask(x: str) -> str:
    return f"nn.Transformer.generate_square_subsequent_mask({x}.shape[1], device={x}.device)"


def _check_causal(p, target: int, source: int, op: str) -> None:
    if p.get("causal") and target != source:
        raise ShapeError(f"{op} is causal, which needs as many query as key positions, but there are {target} "
                         f"and {source}", "turn causal off for cross-attention", param="causal")


def _call(module: str, args, extra: str) -> str:
    return f"{module}({', '.join([*args, extra] if extra else args)})"


# ---- MultiheadAttention ------------------------------------------------------------------------------------


def _mha_shape(inputs, p):
    query, key, value = inputs
    for t, name, layout in ((query, "query", "[target_len, embed_dim]"), (key, "key", "[source_len, kdim]"),
                            (value, "value", "[source_len, vdim]")):
        expect_rank(t, (2,), f"MultiheadAttention's {name} input", layout)
    if key.shape[0] != value.shape[0]:
        raise ShapeError(
            f"MultiheadAttention's key and value must have the same length, but key is {key} and value is "
            f"{value} ({key.shape[0]} vs {value.shape[0]} positions)",
            "feed key and value from sequences of the same length (often the same tensor)",
        )
    _check_heads(p["embed_dim"], p["num_heads"], "embed_dim", "num_heads")
    target, source = query.shape[0], key.shape[0]
    _check_causal(p, target, source, "MultiheadAttention")
    return (TensorType((target, p["embed_dim"])), TensorType((target, source)))


def _mha_count(e: int, kdim: int, vdim: int, bias: bool) -> int:
    n = e * e + e * kdim + e * vdim + e * e  # q, k, v in-projections and the output projection
    return n + (4 * e if bias else 0)


def _mha_params(inputs, p):
    return _mha_count(p["embed_dim"], p["kdim"], p["vdim"], p["bias"])


def _mha_flops(inputs, outputs, p):
    query, key, _ = inputs
    return _attention_flops(query.shape[0], key.shape[0], p["embed_dim"], p["kdim"], p["vdim"],
                            p["num_heads"], p["bias"])


MULTIHEAD_ATTENTION = LayerSpec(
    op="MultiheadAttention",
    category="Attention",
    doc="Multi-head attention: each query position takes a learned weighted mix of the value positions, "
        "weighted by how well it matches each key.",
    params=(
        Param("embed_dim", ParamKind.INT, inferred=_last_dim(0), min=1, max=MAX_FEATURES,
              doc="Features of the query, and of the output (inferred)."),
        Param("num_heads", ParamKind.INT, 4, min=1, max=MAX_HEADS,
              doc="Parallel attention heads; must divide embed_dim."),
        Param("dropout", ParamKind.FLOAT, 0.0, min=0.0, max=1.0,
              doc="Dropout on the attention weights while training."),
        Param("bias", ParamKind.BOOL, True, doc="Learn biases in the input and output projections."),
        Param("kdim", ParamKind.INT, inferred=_last_dim(1), min=1, max=MAX_FEATURES,
              omit_if_equals="embed_dim", doc="Features of the key (inferred)."),
        Param("vdim", ParamKind.INT, inferred=_last_dim(2), min=1, max=MAX_FEATURES,
              omit_if_equals="embed_dim", doc="Features of the value (inferred)."),
        Param("batch_first", ParamKind.BOOL, True, fixed=True, torch_default=False,
              doc="LayerLoom always keeps the batch dimension first."),
        _causal_param(),
    ),
    inputs=(
        Port("query", doc="[target_len, embed_dim]: the positions that ask."),
        Port("key", optional=True, doc="[source_len, kdim]: what is matched against; the query if unconnected."),
        Port("value", optional=True, doc="[source_len, vdim]: what is mixed; the query if unconnected."),
    ),
    outputs=(
        Port("output", doc="[target_len, embed_dim]: the attended features."),
        Port("weights", doc="[target_len, source_len]: attention weights, averaged over the heads."),
    ),
    module="nn.MultiheadAttention",
    positional=("embed_dim", "num_heads"),
    call=lambda m, xs, p: _call(m, xs, f"attn_mask={_causal_mask(xs[0])}, is_causal=True" if p["causal"] else ""),
    output_exprs=("{r}[0]", "{r}[1]"),
    shape_rule=_mha_shape,
    param_count=_mha_params,
    flops=_mha_flops,
    keywords=("attention", "self-attention", "cross-attention", "transformer", "mha", "heads"),
)


# ---- Transformer layers ------------------------------------------------------------------------------------


def _transformer_params() -> tuple[Param, ...]:
    return (
        Param("d_model", ParamKind.INT, inferred=_last_dim(0), min=1, max=MAX_FEATURES,
              doc="Features per position: the last input dimension (inferred)."),
        Param("nhead", ParamKind.INT, 4, min=1, max=MAX_HEADS, doc="Attention heads; must divide d_model."),
        Param("dim_feedforward", ParamKind.INT, 2048, min=1, max=MAX_FEATURES,
              doc="Width of the hidden layer of the position-wise feed-forward block."),
        Param("dropout", ParamKind.FLOAT, 0.1, min=0.0, max=1.0, doc="Dropout used throughout while training."),
        Param("activation", ParamKind.CHOICE, "relu", choices=("relu", "gelu"),
              doc="Activation of the feed-forward block."),
        Param("layer_norm_eps", ParamKind.FLOAT, 1e-5, min=1e-12, max=1.0,
              doc="Small number added to the variance in each LayerNorm."),
        Param("batch_first", ParamKind.BOOL, True, fixed=True, torch_default=False,
              doc="LayerLoom always keeps the batch dimension first."),
        Param("norm_first", ParamKind.BOOL, False,
              doc="Apply LayerNorm before each block (pre-norm, often trains more stably) instead of after."),
        Param("bias", ParamKind.BOOL, True, doc="Learn biases in the linear layers and LayerNorms."),
        _causal_param(),
    )


def _block_params(p, attentions: int) -> int:
    e, f, bias = p["d_model"], p["dim_feedforward"], p["bias"]
    feedforward = 2 * e * f + ((f + e) if bias else 0)
    norms = (attentions + 1) * (2 * e if bias else e)
    return attentions * _mha_count(e, e, e, bias) + feedforward + norms


def _feedforward_flops(p, seq: int) -> int:
    """The two matmuls of the feed-forward block, their biases and the activation."""
    e, f = p["d_model"], p["dim_feedforward"]
    return seq * (4 * e * f + 2 * f + e)


_NORM_RESIDUAL_FLOPS = 10  # per feature and position: one LayerNorm (~8) and one residual add (~1), rounded


def _check_sequence(t: TensorType, op: str, name: str) -> None:
    expect_rank(t, (2,), f"{op}'s {name} input" if name else op, "[seq_len, d_model]")


def _encoder_shape_of(op: str):
    def rule(inputs, p):
        (src,) = inputs
        _check_sequence(src, op, "")
        _check_heads(p["d_model"], p["nhead"], "d_model", "nhead")
        return (src,)

    return rule


_encoder_shape = _encoder_shape_of("TransformerEncoderLayer")


def _encoder_params(inputs, p):
    return _block_params(p, 1)


def _encoder_flops(inputs, outputs, p):
    e, seq = p["d_model"], inputs[0].shape[0]
    attention = _attention_flops(seq, seq, e, e, e, p["nhead"], p["bias"])
    return attention + _feedforward_flops(p, seq) + 2 * _NORM_RESIDUAL_FLOPS * seq * e


TRANSFORMER_ENCODER_LAYER = LayerSpec(
    op="TransformerEncoderLayer",
    category="Attention",
    doc="One transformer encoder block: self-attention then a feed-forward network, each with a residual "
        "connection and LayerNorm; stack several to build a transformer.",
    params=_transformer_params(),
    inputs=(Port("src", doc="[seq_len, d_model]"),),
    module="nn.TransformerEncoderLayer",
    positional=("d_model", "nhead"),
    call=lambda m, xs, p: _call(m, xs, f"src_mask={_causal_mask(xs[0])}, is_causal=True" if p["causal"] else ""),
    shape_rule=_encoder_shape,
    param_count=_encoder_params,
    flops=_encoder_flops,
    keywords=("transformer", "encoder", "self-attention", "bert", "attention"),
)


def _decoder_shape_of(op: str):
    def rule(inputs, p):
        tgt, memory = inputs
        _check_sequence(tgt, op, "tgt")
        _check_sequence(memory, op, "memory")
        if memory.shape[-1] != p["d_model"]:
            raise ShapeError(
                f"{op}'s memory has {memory.shape[-1]} features per position, but d_model (from tgt {tgt}) is "
                f"{p['d_model']}",
                f"add a Linear with out_features={p['d_model']} before the memory input",
            )
        _check_heads(p["d_model"], p["nhead"], "d_model", "nhead")
        return (TensorType(tgt.shape),)

    return rule


_decoder_shape = _decoder_shape_of("TransformerDecoderLayer")


def _decoder_params(inputs, p):
    return _block_params(p, 2)


def _decoder_flops(inputs, outputs, p):
    e, seq, mem = p["d_model"], inputs[0].shape[0], inputs[1].shape[0]
    attention = _attention_flops(seq, seq, e, e, e, p["nhead"], p["bias"])
    attention += _attention_flops(seq, mem, e, e, e, p["nhead"], p["bias"])
    return attention + _feedforward_flops(p, seq) + 3 * _NORM_RESIDUAL_FLOPS * seq * e


TRANSFORMER_DECODER_LAYER = LayerSpec(
    op="TransformerDecoderLayer",
    category="Attention",
    doc="One transformer decoder block: self-attention on tgt, attention over the encoder's memory, then a "
        "feed-forward network, each with a residual connection and LayerNorm.",
    params=_transformer_params(),
    inputs=(Port("tgt", doc="[target_len, d_model]: the sequence being decoded."),
            Port("memory", doc="[source_len, d_model]: the encoder's output.")),
    module="nn.TransformerDecoderLayer",
    positional=("d_model", "nhead"),
    call=lambda m, xs, p: _call(m, xs, f"tgt_mask={_causal_mask(xs[0])}, tgt_is_causal=True" if p["causal"] else ""),
    shape_rule=_decoder_shape,
    param_count=_decoder_params,
    flops=_decoder_flops,
    keywords=("transformer", "decoder", "cross-attention", "seq2seq", "attention"),
)

# ---- ScaledDotProductAttention -----------------------------------------------------------------------------


def _sdpa_shape(inputs, p):
    query, key, value = inputs
    for t, name in ((query, "query"), (key, "key"), (value, "value")):
        if t.rank < 2:
            raise ShapeError(f"ScaledDotProductAttention's {name} needs [..., positions, features] per sample, but "
                             f"gets {t}", "add an Unflatten or Reshape to give it a positions dim")
    if not query.rank == key.rank == value.rank or not query.shape[:-2] == key.shape[:-2] == value.shape[:-2]:
        raise ShapeError(f"ScaledDotProductAttention needs query, key and value with the same leading dims (heads), "
                         f"but gets {query}, {key} and {value}", "reshape them to [heads, positions, features] alike")
    if query.shape[-1] != key.shape[-1]:
        raise ShapeError(f"ScaledDotProductAttention's query has {query.shape[-1]} features but key has "
                         f"{key.shape[-1]}: scores are dot products of the two",
                         "give query and key the same last dim (a Linear before one of them)")
    if key.shape[-2] != value.shape[-2]:
        raise ShapeError(f"ScaledDotProductAttention's key and value must have the same length, but key is {key} and "
                         f"value is {value}", "feed key and value from sequences of the same length")
    return (TensorType(query.shape[:-1] + (value.shape[-1],)),)


def _sdpa_flops(inputs, outputs, p):
    query, key, value = inputs
    heads = math.prod(query.shape[:-2])
    target, source = query.shape[-2], key.shape[-2]
    return heads * (2 * target * source * query.shape[-1] + 5 * target * source + 2 * target * source * value.shape[-1])


def _sdpa_emit(xs, p) -> str:
    args = list(xs)
    if p["dropout_p"]:
        args.append(f"dropout_p={float(p['dropout_p'])!r} if self.training else 0.0")
    if p["is_causal"]:
        args.append("is_causal=True")
    if p["scale"] is not None:
        args.append(f"scale={float(p['scale'])!r}")
    return f"nn.functional.scaled_dot_product_attention({', '.join(args)})"


SCALED_DOT_PRODUCT_ATTENTION = LayerSpec(
    op="ScaledDotProductAttention",
    category="Attention",
    doc="softmax(q k^T / sqrt(d)) v with no weights of its own: the core of attention, for heads split by hand "
        "(torch's fused kernel).",
    params=(
        Param("is_causal", ParamKind.BOOL, False,
              doc="Each query position attends only to key positions at or before it (top-left aligned)."),
        Param("dropout_p", ParamKind.FLOAT, 0.0, min=0.0, max=1.0,
              doc="Dropout on the attention weights while training."),
        Param("scale", ParamKind.FLOAT, None, nullable=True, min=1e-12, max=1e6,
              doc="Factor for the scores; empty for 1 / sqrt(features)."),
    ),
    inputs=(
        Port("query", doc="[..., target_len, features]"),
        Port("key", optional=True, doc="[..., source_len, features]; the query if unconnected."),
        Port("value", optional=True, doc="[..., source_len, value_features]; the query if unconnected."),
    ),
    emit=_sdpa_emit,
    shape_rule=_sdpa_shape,
    flops=_sdpa_flops,
    keywords=("attention", "sdpa", "flash attention", "fused attention", "self-attention", "causal"),
)


# ---- TransformerEncoder / TransformerDecoder stacks -----------------------------------------------------


def _stack_params() -> tuple[Param, ...]:
    return (Param("num_layers", ParamKind.INT, 2, min=1, max=256, doc="How many layers are stacked."),
            *_transformer_params(),
            Param("norm", ParamKind.BOOL, False,
                  doc="A final LayerNorm after the last layer (usual with norm_first pre-norm layers)."))


def _final_norm(p) -> ModuleCall:
    kwargs = [("eps", p["layer_norm_eps"])] if p["layer_norm_eps"] != 1e-5 else []
    if not p["bias"]:
        kwargs.append(("bias", False))
    return ModuleCall("nn.LayerNorm", (p["d_model"],), tuple(kwargs))


def _stack_arguments(layer_spec: LayerSpec, encoder: bool):
    def arguments(p):
        layer_args, layer_kwargs = layer_spec.module_args(p)
        layer = ModuleCall(layer_spec.module, tuple(layer_args), tuple(layer_kwargs.items()))
        kwargs: dict = {"norm": _final_norm(p)} if p["norm"] else {}
        if encoder:
            # Nested tensors only speed up padded batches, which LayerLoom has none of; torch warns when it
            # cannot use them (norm_first layers), so they are turned off.
            kwargs["enable_nested_tensor"] = False
        return [layer, p["num_layers"]], kwargs

    return arguments


def _stack_count(layer_count):
    def count(inputs, p):
        norm = (2 * p["d_model"] if p["bias"] else p["d_model"]) if p["norm"] else 0
        return p["num_layers"] * layer_count(inputs, p) + norm

    return count


def _stack_flops(layer_flops):
    def flops(inputs, outputs, p):
        norm = _NORM_RESIDUAL_FLOPS * inputs[0].numel if p["norm"] else 0
        return p["num_layers"] * layer_flops(inputs, outputs, p) + norm

    return flops


TRANSFORMER_ENCODER = LayerSpec(
    op="TransformerEncoder",
    category="Attention",
    doc="A stack of num_layers transformer encoder layers (self-attention and feed-forward), optionally with a "
        "final LayerNorm: BERT's or ViT's body.",
    params=_stack_params(),
    inputs=(Port("src", doc="[seq_len, d_model]"),),
    module="nn.TransformerEncoder",
    arguments=_stack_arguments(TRANSFORMER_ENCODER_LAYER, encoder=True),
    call=lambda m, xs, p: _call(m, xs, f"mask={_causal_mask(xs[0])}, is_causal=True" if p["causal"] else ""),
    shape_rule=_encoder_shape_of("TransformerEncoder"),
    param_count=_stack_count(_encoder_params),
    flops=_stack_flops(_encoder_flops),
    keywords=("transformer", "encoder", "stack", "bert", "vit", "self-attention"),
)

TRANSFORMER_DECODER = LayerSpec(
    op="TransformerDecoder",
    category="Attention",
    doc="A stack of num_layers transformer decoder layers over an encoder's memory, optionally with a final "
        "LayerNorm.",
    params=_stack_params(),
    inputs=TRANSFORMER_DECODER_LAYER.inputs,
    module="nn.TransformerDecoder",
    arguments=_stack_arguments(TRANSFORMER_DECODER_LAYER, encoder=False),
    call=lambda m, xs, p: _call(m, xs, f"tgt_mask={_causal_mask(xs[0])}, tgt_is_causal=True" if p["causal"] else ""),
    shape_rule=_decoder_shape_of("TransformerDecoder"),
    param_count=_stack_count(_decoder_params),
    flops=_stack_flops(_decoder_flops),
    keywords=("transformer", "decoder", "stack", "gpt", "seq2seq", "cross-attention"),
)

SPECS = (MULTIHEAD_ATTENTION, SCALED_DOT_PRODUCT_ATTENTION, TRANSFORMER_ENCODER_LAYER, TRANSFORMER_DECODER_LAYER,
         TRANSFORMER_ENCODER, TRANSFORMER_DECODER)
