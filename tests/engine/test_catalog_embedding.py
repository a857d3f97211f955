"""Property tests: Embedding's shape rule and param count agree with a real torch module."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from graph_engine.catalog import get_spec
from graph_engine.catalog.spec import ShapeError, TensorType
from graph_engine.params import resolve_params
from tests.engine.op_harness import assert_matches


@settings(max_examples=30, deadline=None)
@given(data=st.data(), shape=st.lists(st.integers(1, 5), max_size=3), n=st.integers(1, 20),
       dim=st.integers(1, 8))
def test_embedding(data, shape, n, dim):
    padding = data.draw(st.none() | st.integers(-n, n - 1))
    params = {"num_embeddings": n, "embedding_dim": dim, "padding_idx": padding}
    assert_matches(get_spec("Embedding"), params, [TensorType(tuple(shape), "int64")], int_high=n)


@pytest.mark.parametrize("padding", [10, 11, -11])
def test_padding_idx_out_of_range_is_refused(padding):
    spec = get_spec("Embedding")
    x = TensorType((4,), "int64")
    res = resolve_params(spec, {"num_embeddings": 10, "padding_idx": padding}, [x])
    assert res.ok
    with pytest.raises(ShapeError) as info:
        spec.shape_rule([x], res.values)
    assert info.value.param == "padding_idx" and str(padding) in info.value.message
    args, kwargs = spec.module_args(res.values)
    with pytest.raises(AssertionError):
        nn.Embedding(*args, **kwargs)


def test_embedding_defaults():
    spec = get_spec("Embedding")
    x = TensorType((7,), "int64")
    res = resolve_params(spec, {}, [x])
    assert spec.shape_rule([x], res.values) == (TensorType((7, 64)),)
    assert spec.module_args(res.values) == ([1000, 64], {})
    assert spec.input_dtypes == ("int64",)
