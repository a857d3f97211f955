"""Property tests: the activation specs agree with real torch modules."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graph_engine.catalog import get_spec, specs_in
from graph_engine.catalog.spec import ShapeError, TensorType
from graph_engine.params import resolve_params
from tests.engine.op_harness import assert_matches

shapes = st.lists(st.integers(1, 8), max_size=3).map(tuple)

SIMPLE = ["ReLU", "SiLU", "Tanh", "Sigmoid", "Mish", "Hardswish", "ReLU6", "Hardsigmoid"]


@pytest.mark.parametrize("op", SIMPLE)
@settings(max_examples=10, deadline=None)
@given(shape=shapes)
def test_parameterless(op, shape):
    assert_matches(get_spec(op), {}, [TensorType(shape)])


@settings(max_examples=20, deadline=None)
@given(shape=shapes, slope=st.floats(0.0, 1.0))
def test_leaky_relu(shape, slope):
    assert_matches(get_spec("LeakyReLU"), {"negative_slope": slope}, [TensorType(shape)])


@settings(max_examples=20, deadline=None)
@given(shape=shapes, alpha=st.floats(0.0, 100.0))
def test_elu(shape, alpha):
    assert_matches(get_spec("ELU"), {"alpha": alpha}, [TensorType(shape)])


@settings(max_examples=10, deadline=None)
@given(shape=shapes, approximate=st.sampled_from(["none", "tanh"]))
def test_gelu(shape, approximate):
    assert_matches(get_spec("GELU"), {"approximate": approximate}, [TensorType(shape)])


@settings(max_examples=15, deadline=None)
@given(shape=shapes, low=st.floats(-10.0, 10.0), width=st.floats(0.01, 10.0))
def test_hardtanh(shape, low, width):
    assert_matches(get_spec("Hardtanh"), {"min_val": low, "max_val": low + width}, [TensorType(shape)])


def test_hardtanh_needs_min_below_max():
    with pytest.raises(ShapeError) as info:
        get_spec("Hardtanh").shape_rule([TensorType((4,))], {"min_val": 1.0, "max_val": 1.0})
    assert info.value.param == "min_val"


@settings(max_examples=15, deadline=None)
@given(shape=shapes, beta=st.floats(0.1, 10.0), threshold=st.floats(0.0, 50.0))
def test_softplus(shape, beta, threshold):
    assert_matches(get_spec("Softplus"), {"beta": beta, "threshold": threshold}, [TensorType(shape)])


@pytest.mark.parametrize("op", ["Softmax", "LogSoftmax"])
@settings(max_examples=25, deadline=None)
@given(shape=st.lists(st.integers(1, 8), min_size=1, max_size=3).map(tuple), data=st.data())
def test_softmax(op, shape, data):
    rank = len(shape)
    raw = {}
    if data.draw(st.booleans()):
        raw["dim"] = data.draw(st.one_of(st.integers(1, rank), st.integers(-rank, -1)))
    assert_matches(get_spec(op), raw, [TensorType(shape)])


def test_softmax_dim_is_always_written_and_checked():
    spec = get_spec("Softmax")
    values = resolve_params(spec, {}, [TensorType((10,))]).values
    assert spec.module_args(values) == ([], {"dim": -1})
    for dim in (0, 2, -3):
        with pytest.raises(ShapeError) as info:
            spec.shape_rule([TensorType((10,))], {"dim": dim})
        assert info.value.param == "dim"


@settings(max_examples=25, deadline=None)
@given(shape=st.lists(st.integers(1, 8), min_size=1, max_size=3).map(tuple), per_channel=st.booleans(),
       init=st.floats(-1.0, 1.0))
def test_prelu(shape, per_channel, init):
    raw = {"num_parameters": shape[0] if per_channel else 1, "init": init}
    assert_matches(get_spec("PReLU"), raw, [TensorType(shape)])


def test_prelu_num_parameters_must_match_channels():
    spec = get_spec("PReLU")
    with pytest.raises(ShapeError) as info:
        spec.shape_rule([TensorType((4, 8))], {"num_parameters": 3, "init": 0.25})
    assert info.value.param == "num_parameters" and "4" in info.value.hint


def test_no_inplace_anywhere_and_docs_present():
    specs = specs_in("Activation")
    assert {s.op for s in specs} == {*SIMPLE, "LeakyReLU", "ELU", "GELU", "Softmax", "LogSoftmax", "PReLU",
                                       "Hardtanh", "Softplus"}
    for spec in specs:
        assert "inplace" not in spec.param_names
        assert spec.doc and "\n" not in spec.doc
        assert spec.input_dtypes == ("float32",)
