"""Property tests: the Attention family's shape rules and param counts agree with real torch modules."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from graph_engine.catalog import get_spec
from graph_engine.catalog.spec import ShapeError, TensorType
from graph_engine.params import resolve_params
from tests.engine.op_harness import assert_matches

small = st.integers(1, 5)
heads = st.integers(1, 4)


@settings(max_examples=40, deadline=None)
@given(num_heads=heads, head_dim=small, target=small, source=small, kdim=small, vdim=small,
       mode=st.sampled_from(["self", "key only", "cross"]), bias=st.booleans(),
       dropout=st.sampled_from([0.0, 0.1]))
def test_multihead_attention(num_heads, head_dim, target, source, kdim, vdim, mode, bias, dropout):
    embed = num_heads * head_dim
    query = TensorType((target, embed))
    if mode == "self":  # key and value unconnected: both receive the query
        inputs = [query, query, query]
    elif mode == "key only":  # value unconnected: it receives the query, so the key has the query's length
        inputs = [query, TensorType((target, kdim)), query]
    else:
        inputs = [query, TensorType((source, kdim)), TensorType((source, vdim))]
    assert_matches(get_spec("MultiheadAttention"),
                   {"num_heads": num_heads, "bias": bias, "dropout": dropout}, inputs)


def test_multihead_attention_heads_must_divide_embed_dim():
    spec = get_spec("MultiheadAttention")
    q = TensorType((3, 10))
    res = resolve_params(spec, {"num_heads": 4}, [q, q, q])
    assert res.ok
    with pytest.raises(ShapeError) as info:
        spec.shape_rule([q, q, q], res.values)
    assert info.value.param == "num_heads"
    assert "10" in info.value.message and "4" in info.value.message
    args, kwargs = spec.module_args(res.values)
    with pytest.raises(AssertionError):
        nn.MultiheadAttention(*args, **kwargs)


def test_multihead_attention_key_and_value_lengths_must_agree():
    spec = get_spec("MultiheadAttention")
    q, k, v = TensorType((3, 8)), TensorType((5, 8)), TensorType((6, 8))
    with pytest.raises(ShapeError, match="same length"):
        spec.shape_rule([q, k, v], resolve_params(spec, {}, [q, k, v]).values)


def test_multihead_attention_infers_kdim_and_vdim():
    spec = get_spec("MultiheadAttention")
    q, k, v = TensorType((3, 8)), TensorType((5, 6)), TensorType((5, 7))
    values = resolve_params(spec, {}, [q, k, v]).values
    assert (values["embed_dim"], values["kdim"], values["vdim"]) == (8, 6, 7)


def _transformer_params(draw, nhead):
    return {
        "nhead": nhead,
        "dim_feedforward": draw(st.integers(1, 12)),
        "dropout": draw(st.sampled_from([0.0, 0.1])),
        "activation": draw(st.sampled_from(["relu", "gelu"])),
        "layer_norm_eps": draw(st.sampled_from([1e-5, 1e-6])),
        "norm_first": draw(st.booleans()),
        "bias": draw(st.booleans()),
    }


@settings(max_examples=30, deadline=None)
@given(data=st.data(), nhead=heads, head_dim=small, seq=small)
def test_transformer_encoder_layer(data, nhead, head_dim, seq):
    params = _transformer_params(data.draw, nhead)
    assert_matches(get_spec("TransformerEncoderLayer"), params, [TensorType((seq, nhead * head_dim))])


@settings(max_examples=30, deadline=None)
@given(data=st.data(), nhead=heads, head_dim=small, target=small, source=small)
def test_transformer_decoder_layer(data, nhead, head_dim, target, source):
    params = _transformer_params(data.draw, nhead)
    d_model = nhead * head_dim
    assert_matches(get_spec("TransformerDecoderLayer"), params,
                   [TensorType((target, d_model)), TensorType((source, d_model))])


@pytest.mark.parametrize("op", ["TransformerEncoderLayer", "TransformerDecoderLayer"])
def test_transformer_defaults(op):
    spec = get_spec(op)
    x = TensorType((6, 16))
    inputs = [x] if op == "TransformerEncoderLayer" else [x, TensorType((4, 16))]
    assert_matches(spec, {}, inputs)
    args, kwargs = spec.module_args(resolve_params(spec, {}, inputs).values)
    assert args == [16, 4] and kwargs == {"batch_first": True}


def test_transformer_nhead_must_divide_d_model():
    spec = get_spec("TransformerEncoderLayer")
    x = TensorType((6, 6))
    with pytest.raises(ShapeError) as info:
        spec.shape_rule([x], resolve_params(spec, {}, [x]).values)
    assert info.value.param == "nhead"


def test_decoder_memory_must_match_d_model():
    spec = get_spec("TransformerDecoderLayer")
    tgt, memory = TensorType((5, 8)), TensorType((7, 12))
    with pytest.raises(ShapeError, match="12") as info:
        spec.shape_rule([tgt, memory], resolve_params(spec, {}, [tgt, memory]).values)
    assert "Linear" in info.value.hint


@pytest.mark.parametrize("op", ["MultiheadAttention", "TransformerEncoderLayer"])
def test_attention_needs_sequences(op):
    spec = get_spec(op)
    x = TensorType((2, 3, 8))
    inputs = [x, x, x] if op == "MultiheadAttention" else [x]
    with pytest.raises(ShapeError):
        spec.shape_rule(inputs, resolve_params(spec, {}, inputs).values)
