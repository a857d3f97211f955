"""Embedding: turns integer ids (tokens, categories) into learned vectors; PositionalEncoding tells a
transformer where each position is.

PositionalEncoding adds a [max_len, d_model] table to a [seq_len, d_model] input (its first seq_len rows).
"sinusoidal" is the fixed table of "Attention Is All You Need" (sin on even features, cos on odd ones, as in
the PyTorch tutorial), a non-persistent buffer rebuilt from the params, so it is not in the weights;
"learned" is an nn.Parameter started at normal(std 0.02), as BERT's position embeddings.
"""

from __future__ import annotations

import math

from graph_engine.catalog.spec import LayerSpec, Param, ParamKind, ShapeError, TensorType, expect_rank

MAX_EMBEDDINGS = 1 << 24
MAX_FEATURES = 1 << 24


def _embedding_shape(inputs, p):
    (x,) = inputs
    n = p["num_embeddings"]
    pad = p["padding_idx"]
    if pad is not None and not -n <= pad < n:
        raise ShapeError(
            f"padding_idx={pad} is not an id of this Embedding, which has ids 0 to {n - 1}",
            f"use a padding_idx between 0 and {n - 1} (or -{n} to -1 counting from the end), or leave it empty",
            param="padding_idx",
        )
    return (TensorType(x.shape + (p["embedding_dim"],)),)


EMBEDDING = LayerSpec(
    op="Embedding",
    category="Embedding",
    doc="Lookup table that turns each integer id (a word, a category) into a learned vector; "
        "the usual first layer for text.",
    params=(
        Param("num_embeddings", ParamKind.INT, 1000, min=1, max=MAX_EMBEDDINGS,
              doc="How many different ids there are (the vocabulary size); ids go from 0 to this minus 1."),
        Param("embedding_dim", ParamKind.INT, 64, min=1, max=MAX_FEATURES, doc="Length of each vector."),
        Param("padding_idx", ParamKind.INT, None, nullable=True, min=-MAX_EMBEDDINGS, max=MAX_EMBEDDINGS,
              doc="An id whose vector stays zero and is never trained (for padding); empty for none."),
    ),
    input_dtypes=("int64",),
    module="nn.Embedding",
    positional=("num_embeddings", "embedding_dim"),
    shape_rule=_embedding_shape,
    param_count=lambda inputs, p: p["num_embeddings"] * p["embedding_dim"],
    flops=lambda inputs, outputs, p: 0,
    keywords=("lookup", "token", "word vectors", "vocabulary", "categorical", "nlp"),
)

def _positional_shape(inputs, p):
    (x,) = inputs
    expect_rank(x, (2,), "PositionalEncoding", "[seq_len, d_model]")
    if p["max_len"] < x.shape[0]:
        raise ShapeError(f"PositionalEncoding has max_len={p['max_len']} but the input {x} has {x.shape[0]} "
                         "positions", f'set max_len to at least {x.shape[0]} (or "auto")', param="max_len")
    return (TensorType(x.shape, x.dtype),)


def _positional_table(p) -> str:
    length, d = int(p["max_len"]), int(p["d_model"])
    if p["kind"] == "learned":
        return f"nn.init.normal_(torch.empty({length}, {d}), std=0.02)"
    angles = f"torch.arange({length}).unsqueeze(1) * torch.exp(torch.arange(0, {d}, 2) * {-math.log(10000.0) / d!r})"
    return f"torch.stack([torch.sin({angles}), torch.cos({angles})], dim=2).flatten(1)[:, :{d}]"


def _positional_emit(xs, p) -> str:
    table, x = xs
    x = x if x.isidentifier() else f"({x})"
    return f"{x} + {table}[:{x}.shape[1]]"


POSITIONAL_ENCODING = LayerSpec(
    op="PositionalEncoding",
    category="Embedding",
    doc="Adds a position signal to every position of a [seq_len, d_model] sequence, so attention knows the "
        "order: fixed sinusoids or learned vectors.",
    params=(
        Param("kind", ParamKind.CHOICE, "sinusoidal", choices=("sinusoidal", "learned"),
              doc="sinusoidal: the fixed sin/cos table (nothing to learn); learned: one trained vector per position."),
        Param("max_len", ParamKind.INT, inferred=lambda inputs: inputs[0].shape[0], min=1, max=1 << 20,
              explicit_ok=lambda inputs, value: value >= inputs[0].shape[0],
              doc="Rows of the table: the longest sequence it serves (inferred: the input's length)."),
        Param("d_model", ParamKind.INT, inferred=lambda inputs: inputs[0].shape[-1], min=1, max=MAX_FEATURES,
              doc="Features per position (inferred)."),
    ),
    emit=_positional_emit,
    attribute=_positional_table,
    attribute_kind=lambda p: "parameter" if p["kind"] == "learned" else "buffer",
    shape_rule=_positional_shape,
    param_count=lambda inputs, p: p["max_len"] * p["d_model"] if p["kind"] == "learned" else 0,
    keywords=("position", "positional embedding", "sinusoidal", "transformer", "order"),
)

SPECS = (EMBEDDING, POSITIONAL_ENCODING)
