"""Property tests: the dropout specs agree with real torch modules."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graph_engine.catalog import get_spec
from graph_engine.catalog.spec import ShapeError, TensorType
from graph_engine.params import resolve_params
from tests.engine.op_harness import assert_matches

probabilities = st.floats(0.0, 1.0)


@settings(max_examples=20, deadline=None)
@given(shape=st.lists(st.integers(1, 8), max_size=3).map(tuple), p=probabilities)
def test_dropout(shape, p):
    assert_matches(get_spec("Dropout"), {"p": p}, [TensorType(shape)])


@settings(max_examples=20, deadline=None)
@given(shape=st.tuples(*[st.integers(1, 8)] * 3), p=probabilities)
def test_dropout2d(shape, p):
    assert_matches(get_spec("Dropout2d"), {"p": p}, [TensorType(shape)])


@pytest.mark.parametrize("shape", [(), (16,), (3, 16), (1, 3, 8, 8)])
def test_dropout2d_needs_images(shape):
    # torch only warns (or silently changes meaning) on these ranks; LayerLoom refuses them
    spec = get_spec("Dropout2d")
    with pytest.raises(ShapeError) as info:
        spec.shape_rule([TensorType(shape)], {"p": 0.5})
    assert "[channels, height, width]" in info.value.message


def test_dropout_rate_is_written_out_and_bounded():
    spec = get_spec("Dropout")
    values = resolve_params(spec, {}, [TensorType((8,))]).values
    assert spec.module_args(values) == ([0.5], {})
    assert not resolve_params(spec, {"p": 1.5}, [TensorType((8,))]).ok
