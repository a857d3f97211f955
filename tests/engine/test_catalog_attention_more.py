"""Property tests: ScaledDotProductAttention, causal attention and the TransformerEncoder/Decoder stacks agree
with torch (shapes, parameter counts, and for causal attention, values: no position sees a later one)."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from graph_engine.catalog import get_spec
from graph_engine.catalog.spec import ShapeError, TensorType
from graph_engine.params import resolve_params
from tests.engine.op_harness import assert_matches, call_op, check_agrees

small = st.integers(1, 5)
heads = st.integers(1, 3)


@st.composite
def sdpa_case(draw):
    lead = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    target, source, e, ev = draw(small), draw(small), draw(small), draw(small)
    q, k, v = lead + (target, e), lead + (source, e), lead + (source, ev)
    how = draw(st.sampled_from(["ok", "ok", "features", "length", "lead"]))
    if how == "features":
        k = lead + (source, e + 1)
    elif how == "length":
        v = lead + (source + 1, ev)
    elif how == "lead" and lead:
        q = (lead[0] + 1,) + q[1:]
    # torch broadcasts leading dims of size 1, and when the value and key feature sizes are equal its fused CPU
    # kernel accepts a value length that differs from the key length (it does not check it; found by this
    # test); LayerLoom refuses both
    torch_may_accept = how == "lead" or (how == "length" and e == ev)
    return [TensorType(q), TensorType(k), TensorType(v)], torch_may_accept


@settings(max_examples=50, deadline=None)
@given(case=sdpa_case(), is_causal=st.booleans(), scale=st.sampled_from([None, 0.5]),
       dropout=st.sampled_from([0.0, 0.2]))
def test_scaled_dot_product_attention(case, is_causal, scale, dropout):
    types, torch_may_accept = case
    raw = {"is_causal": is_causal, "scale": scale, "dropout_p": dropout}
    check_agrees("ScaledDotProductAttention", raw, types, torch_may_accept=torch_may_accept)


def test_sdpa_is_torchs_function():
    spec = get_spec("ScaledDotProductAttention")
    q, k, v = torch.randn(2, 3, 5, 4), torch.randn(2, 3, 7, 4), torch.randn(2, 3, 7, 6)
    values = {"is_causal": True, "scale": None, "dropout_p": 0.1}
    out, count = call_op(spec, values, [q, k, v])  # eval mode: no dropout
    assert count == 0
    assert torch.equal(out, nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True))


def causal_is_causal(spec, values, inputs):
    """Changing the last position must not change any earlier output."""
    torch.manual_seed(0)
    out, _ = call_op(spec, values, inputs)
    out = out[0] if isinstance(out, tuple) else out
    changed = [x.clone() for x in inputs]
    changed[0][:, -1] += 5.0
    if len(changed) == 3 and changed[1] is not None:  # MultiheadAttention self-attention: q = k = v
        changed = [changed[0], changed[0], changed[0]]
    torch.manual_seed(0)
    out2, _ = call_op(spec, values, changed)
    out2 = out2[0] if isinstance(out2, tuple) else out2
    return torch.allclose(out[:, :-1], out2[:, :-1], atol=1e-5) and not torch.allclose(out[:, -1], out2[:, -1])


@pytest.mark.parametrize("op", ["MultiheadAttention", "TransformerEncoderLayer", "TransformerEncoder",
                                "TransformerDecoderLayer", "TransformerDecoder"])
def test_causal_option_masks_later_positions(op):
    spec = get_spec(op)
    x = TensorType((6, 8))
    types = {"MultiheadAttention": [x, x, x]}.get(op, [x] if "Encoder" in op else [x, TensorType((4, 8))])
    raw = {"causal": True, "dropout": 0.0}
    if "Transformer" in op:
        raw["dim_feedforward"] = 16
    assert_matches(spec, raw, types)
    values = resolve_params(spec, raw, types).values
    assert spec.module_args(values) == spec.module_args({**values, "causal": False})  # not a constructor arg
    x0 = torch.randn(2, 6, 8)
    inputs = [x0, x0, x0] if op == "MultiheadAttention" else [x0] if "Encoder" in op else [x0, torch.randn(2, 4, 8)]
    assert causal_is_causal(spec, values, inputs)
    assert not causal_is_causal(spec, {**values, "causal": False}, inputs)


def test_causal_cross_attention_is_refused():
    spec = get_spec("MultiheadAttention")
    q, k = TensorType((3, 8)), TensorType((5, 8))
    with pytest.raises(ShapeError) as info:
        spec.shape_rule([q, k, k], resolve_params(spec, {"causal": True}, [q, k, k]).values)
    assert info.value.param == "causal"


def _stack_params(draw, nhead):
    return {
        "num_layers": draw(st.integers(1, 3)),
        "nhead": nhead,
        "dim_feedforward": draw(st.integers(1, 8)),
        "dropout": 0.0,
        "activation": draw(st.sampled_from(["relu", "gelu"])),
        "layer_norm_eps": draw(st.sampled_from([1e-5, 1e-6])),
        "norm_first": draw(st.booleans()),
        "bias": draw(st.booleans()),
        "norm": draw(st.booleans()),
    }


@settings(max_examples=20, deadline=None)
@given(data=st.data(), nhead=heads, head_dim=small, seq=small)
def test_transformer_encoder_stack(data, nhead, head_dim, seq):
    assert_matches(get_spec("TransformerEncoder"), _stack_params(data.draw, nhead), [TensorType((seq, nhead * head_dim))])


@settings(max_examples=20, deadline=None)
@given(data=st.data(), nhead=heads, head_dim=small, target=small, source=small)
def test_transformer_decoder_stack(data, nhead, head_dim, target, source):
    d = nhead * head_dim
    assert_matches(get_spec("TransformerDecoder"), _stack_params(data.draw, nhead),
                   [TensorType((target, d)), TensorType((source, d))])


def test_stack_is_torchs_container_around_one_layer():
    spec = get_spec("TransformerEncoder")
    x = TensorType((5, 16))
    values = resolve_params(spec, {"num_layers": 3, "norm": True, "norm_first": True}, [x]).values
    args, kwargs = spec.module_args(values)
    assert args[0].module == "nn.TransformerEncoderLayer" and args[1] == 3
    assert kwargs["norm"].module == "nn.LayerNorm" and kwargs["enable_nested_tensor"] is False
    with pytest.raises(ShapeError) as info:
        spec.shape_rule([TensorType((5, 6))], resolve_params(spec, {}, [TensorType((5, 6))]).values)
    assert info.value.param == "nhead"
    with pytest.raises(ShapeError, match="^TransformerEncoder expects"):
        spec.shape_rule([TensorType((5, 8, 2))], resolve_params(spec, {}, [TensorType((5, 8, 2))]).values)
