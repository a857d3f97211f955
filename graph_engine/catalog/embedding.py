"""Embedding: turns integer ids (tokens, categories) into learned vectors."""

from __future__ import annotations

from graph_engine.catalog.spec import LayerSpec, Param, ParamKind, ShapeError, TensorType

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

SPECS = (EMBEDDING,)
