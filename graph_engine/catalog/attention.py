"""Attention and transformer layers: MultiheadAttention, TransformerEncoderLayer, TransformerDecoderLayer.

Every layer here works on one [seq_len, features] sequence per sample; `batch_first` is fixed to True (torch's
default is False, so it is always emitted).

Optional inputs (MultiheadAttention's `key` and `value`): an unconnected optional input receives input 0, the
query. A lone query is therefore self-attention; for cross-attention connect both key and value (a connected
key with an unconnected value would use the query as the value). Shape rules, inferred params and code
generation always see the full list of three inputs, with the query's type (or expression) standing in for
each unconnected one.
"""

from __future__ import annotations

from graph_engine.catalog.spec import LayerSpec, Param, ParamKind, Port, ShapeError, TensorType, expect_rank

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


def _encoder_shape(inputs, p):
    (src,) = inputs
    _check_sequence(src, "TransformerEncoderLayer", "")
    _check_heads(p["d_model"], p["nhead"], "d_model", "nhead")
    return (src,)


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
    shape_rule=_encoder_shape,
    param_count=_encoder_params,
    flops=_encoder_flops,
    keywords=("transformer", "encoder", "self-attention", "bert", "attention"),
)


def _decoder_shape(inputs, p):
    tgt, memory = inputs
    _check_sequence(tgt, "TransformerDecoderLayer", "tgt")
    _check_sequence(memory, "TransformerDecoderLayer", "memory")
    if memory.shape[-1] != p["d_model"]:
        raise ShapeError(
            f"TransformerDecoderLayer's memory has {memory.shape[-1]} features per position, but d_model "
            f"(from tgt {tgt}) is {p['d_model']}",
            f"add a Linear with out_features={p['d_model']} before the memory input",
        )
    _check_heads(p["d_model"], p["nhead"], "d_model", "nhead")
    return (TensorType(tgt.shape),)


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
    shape_rule=_decoder_shape,
    param_count=_decoder_params,
    flops=_decoder_flops,
    keywords=("transformer", "decoder", "cross-attention", "seq2seq", "attention"),
)

SPECS = (MULTIHEAD_ATTENTION, TRANSFORMER_ENCODER_LAYER, TRANSFORMER_DECODER_LAYER)
