"""Parameter and PositionalEncoding: shapes, parameter counts and initial values against torch; the sinusoidal
table is the PyTorch tutorial's, bit for bit; the tensor is shared by every sample of the input's batch."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from graph_engine.catalog import get_spec
from graph_engine.catalog.spec import ShapeError, TensorType
from graph_engine.params import resolve_params
from tests.engine.op_harness import NAMESPACE, assert_matches, call_op


@settings(max_examples=25, deadline=None)
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3), init=st.sampled_from(
    ["zeros", "ones", "constant", "normal", "trunc_normal"]), other=st.lists(st.integers(1, 3), max_size=2))
def test_parameter(shape, init, other):
    assert_matches(get_spec("Parameter"), {"shape": shape, "init": init}, [TensorType(tuple(other))])


@pytest.mark.parametrize(("init", "check"), [
    ("zeros", lambda t: bool((t == 0).all())),
    ("ones", lambda t: bool((t == 1).all())),
    ("constant", lambda t: bool((t == 0.5).all())),
    ("normal", lambda t: 0.15 < float(t.std()) < 0.25),
    ("trunc_normal", lambda t: 0.15 < float(t.std()) < 0.25 and float(t.abs().max()) <= 2.0),
])
def test_parameter_init_choice(init, check):
    spec = get_spec("Parameter")
    values = {"shape": [100, 50], "init": init, "std": 0.2, "value": 0.5}
    tensor = eval(spec.attribute(values), dict(NAMESPACE))
    assert tuple(tensor.shape) == (1, 100, 50)  # stored with the leading 1 of timm's class tokens
    assert check(tensor)


@pytest.mark.parametrize("init", ["normal", "trunc_normal"])
def test_parameter_with_std_zero_starts_at_zero(init):
    # std 0 is a legal value; torch's trunc_normal_ divides by it, so the generated code must not call it
    spec = get_spec("Parameter")
    tensor = eval(spec.attribute({"shape": [2, 3], "init": init, "std": 0.0, "value": 0.5}), dict(NAMESPACE))
    assert tuple(tensor.shape) == (1, 2, 3) and bool((tensor == 0).all())


def test_parameter_is_one_tensor_for_every_sample_and_learns_from_all():
    spec = get_spec("Parameter")
    values = {"shape": [1, 4], "init": "normal", "std": 0.02, "value": 0.0}
    out, count = call_op(spec, values, [torch.randn(3, 7)])
    assert count == 4 and tuple(out.shape) == (3, 1, 4)
    assert torch.equal(out[0], out[2])


def test_parameter_takes_any_dtype_as_its_batch_reference():
    assert get_spec("Parameter").input_dtypes is None
    assert_matches(get_spec("Parameter"), {"shape": [2]}, [TensorType((5,), "int64")])


def tutorial_table(max_len, d_model):
    """The PyTorch tutorial's PositionalEncoding buffer (Transformer text classifier), written as it is there."""
    position = torch.arange(max_len).unsqueeze(1)
    div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
    pe = torch.zeros(max_len, 1, d_model)
    pe[:, 0, 0::2] = torch.sin(position * div_term)
    pe[:, 0, 1::2] = torch.cos(position * div_term)
    return pe[:, 0]


@pytest.mark.parametrize(("length", "d"), [(1, 2), (7, 8), (50, 16), (3, 64)])
def test_sinusoidal_table_is_the_tutorials(length, d):
    expr = get_spec("PositionalEncoding").attribute({"kind": "sinusoidal", "max_len": length, "d_model": d})
    assert torch.equal(eval(expr, dict(NAMESPACE)), tutorial_table(length, d))


def test_sinusoidal_table_for_an_odd_width():
    expr = get_spec("PositionalEncoding").attribute({"kind": "sinusoidal", "max_len": 4, "d_model": 5})
    table = eval(expr, dict(NAMESPACE))
    angles = torch.arange(4).unsqueeze(1) * torch.exp(torch.arange(0, 5, 2) * (-math.log(10000.0) / 5))
    assert table.shape == (4, 5)
    assert torch.equal(table[:, 0::2], torch.sin(angles)) and torch.equal(table[:, 1::2], torch.cos(angles[:, :2]))


@settings(max_examples=20, deadline=None)
@given(seq=st.integers(1, 6), d=st.integers(1, 8), kind=st.sampled_from(["sinusoidal", "learned"]),
       extra=st.integers(0, 3))
def test_positional_encoding(seq, d, kind, extra):
    raw = {"kind": kind, "max_len": seq + extra} if extra else {"kind": kind}
    assert_matches(get_spec("PositionalEncoding"), raw, [TensorType((seq, d))])


def test_positional_encoding_adds_the_first_rows_of_the_table():
    spec = get_spec("PositionalEncoding")
    values = resolve_params(spec, {"max_len": 10}, [TensorType((4, 6))]).values
    x = torch.randn(3, 4, 6)
    out, _ = call_op(spec, values, [x])
    assert torch.equal(out, x + tutorial_table(10, 6)[:4])


def test_positional_encoding_refuses_short_tables_and_wrong_ranks():
    spec = get_spec("PositionalEncoding")
    res = resolve_params(spec, {"max_len": 3}, [TensorType((4, 6))])
    assert [p.field for p in res.problems] == ["max_len"]
    with pytest.raises(ShapeError) as info:
        spec.shape_rule([TensorType((4, 6, 2))], {"kind": "learned", "max_len": 4, "d_model": 2})
    assert info.value.hint


@settings(max_examples=25, deadline=None)
@given(shape=st.lists(st.integers(1, 4), max_size=3), factor=st.sampled_from([1.0, -2.5, 0.125]),
       offset=st.sampled_from([0.0, 3.0, -1.5]))
def test_scale(shape, factor, offset):
    spec = get_spec("Scale")
    types = [TensorType(tuple(shape))]
    assert_matches(spec, {"factor": factor, "offset": offset}, types)
    x = torch.randn(2, *shape)
    out, count = call_op(spec, {"factor": factor, "offset": offset}, [x])
    assert count == 0 and torch.equal(out, x * factor + offset)


def test_scale_writes_only_what_it_does():
    emit = get_spec("Scale").emit
    assert emit(["h"], {"factor": 2.0, "offset": 0.0}) == "h * 2.0"
    assert emit(["a + b"], {"factor": 0.5, "offset": -1.0}) == "(a + b) * 0.5 - 1.0"
    assert emit(["h"], {"factor": 1.0, "offset": 0.25}) == "h + 0.25"
    assert emit(["h"], {"factor": 1.0, "offset": 0.0}) == "h"
