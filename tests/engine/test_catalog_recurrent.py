"""Property tests: the Recurrent family's shape rules and param counts agree with real torch modules."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from graph_engine.catalog import get_spec
from graph_engine.catalog.spec import ShapeError, TensorType
from graph_engine.params import resolve_params
from tests.engine.op_harness import assert_matches, run_op

small = st.integers(1, 6)


@st.composite
def recurrent_case(draw):
    op = draw(st.sampled_from(["RNN", "LSTM", "GRU"]))
    layers = draw(st.integers(1, 3))
    params = {
        "hidden_size": draw(small),
        "num_layers": layers,
        "bias": draw(st.booleans()),
        "bidirectional": draw(st.booleans()),
        "dropout": 0.0 if layers == 1 else draw(st.sampled_from([0.0, 0.25, 1.0])),
    }
    if op == "RNN":
        params["nonlinearity"] = draw(st.sampled_from(["tanh", "relu"]))
    return op, params, TensorType((draw(small), draw(small)))


@settings(max_examples=40, deadline=None)
@given(case=recurrent_case())
def test_recurrent_matches_torch(case):
    op, params, x = case
    assert_matches(get_spec(op), params, [x])


@settings(max_examples=10, deadline=None)
@given(op=st.sampled_from(["RNN", "LSTM", "GRU"]), seq=small, features=small, hidden=small)
def test_output_ports_are_batch_first(op, seq, features, hidden):
    """h_n really is the last step of `output` for a one-layer, one-direction layer, per sample."""
    spec = get_spec(op)
    _, outs, _, _ = run_op(spec, {"hidden_size": hidden}, [TensorType((seq, features))])
    output, h_n = outs[0], outs[1]
    assert torch.allclose(h_n[:, -1], output[:, -1])


@pytest.mark.parametrize("op", ["RNN", "LSTM", "GRU"])
def test_dropout_with_one_layer_is_refused(op):
    spec = get_spec(op)
    x = TensorType((5, 3))
    res = resolve_params(spec, {"dropout": 0.5}, [x])
    assert res.ok
    with pytest.raises(ShapeError) as info:
        spec.shape_rule([x], res.values)
    assert info.value.param == "dropout"
    args, kwargs = spec.module_args(res.values)
    with pytest.warns(UserWarning, match="dropout"):  # what the user would otherwise see from torch
        getattr(nn, op)(*args, **kwargs)


@pytest.mark.parametrize("shape", [(7,), (2, 3, 4)])
def test_recurrent_needs_a_sequence(shape):
    spec = get_spec("GRU")
    x = TensorType(shape)
    res = resolve_params(spec, {}, [x])
    with pytest.raises(ShapeError, match=r"seq_len, features"):
        spec.shape_rule([x], res.values)


def test_batch_first_is_always_emitted():
    spec = get_spec("LSTM")
    res = resolve_params(spec, {"hidden_size": 8}, [TensorType((5, 3))])
    args, kwargs = spec.module_args(res.values)
    assert args == [3, 8]
    assert kwargs == {"batch_first": True}
    assert not resolve_params(spec, {"batch_first": False}, [TensorType((5, 3))]).ok
