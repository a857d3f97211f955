"""Property tests: the Linear family's shape rules and param counts agree with real torch modules."""

from hypothesis import given, settings
from hypothesis import strategies as st

from graph_engine.catalog import get_spec
from graph_engine.catalog.spec import TensorType
from tests.engine.op_harness import assert_matches

dims = st.integers(1, 12)


@settings(max_examples=40, deadline=None)
@given(lead=st.lists(dims, max_size=2), features=dims, out=dims, bias=st.booleans())
def test_linear(lead, features, out, bias):
    assert_matches(get_spec("Linear"), {"out_features": out, "bias": bias},
                   [TensorType((*lead, features))])


@settings(max_examples=30, deadline=None)
@given(f1=dims, f2=dims, out=dims, bias=st.booleans())
def test_bilinear(f1, f2, out, bias):
    assert_matches(get_spec("Bilinear"), {"out_features": out, "bias": bias},
                   [TensorType((f1,)), TensorType((f2,))])


@settings(max_examples=10, deadline=None)
@given(shape=st.lists(dims, min_size=1, max_size=3))
def test_identity(shape):
    assert_matches(get_spec("Identity"), {}, [TensorType(tuple(shape))])
