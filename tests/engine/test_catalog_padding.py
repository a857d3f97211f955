"""Property tests: the padding layers' rules agree with real torch modules (shapes, dtypes, no params), and
reflection's limit (each pad smaller than the dim) is refused exactly when torch refuses it."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graph_engine.catalog import get_spec, specs_in
from graph_engine.catalog.spec import ShapeError, TensorType
from tests.engine.op_harness import check_agrees

OPS_1D = ["ZeroPad1d", "ConstantPad1d", "ReflectionPad1d", "ReplicationPad1d"]
OPS_2D = ["ZeroPad2d", "ConstantPad2d", "ReflectionPad2d", "ReplicationPad2d"]


@st.composite
def pad_case(draw, n):
    shape = tuple(draw(st.lists(st.integers(1, 5), min_size=n + 1, max_size=n + 1)))
    padding = draw(st.one_of(st.integers(0, 5), st.lists(st.integers(0, 5), min_size=2 * n, max_size=2 * n)))
    return shape, padding


@pytest.mark.parametrize("op", OPS_1D + OPS_2D)
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_padding_agrees_with_torch(op, data):
    n = 1 if op.endswith("1d") else 2
    shape, padding = data.draw(pad_case(n))
    raw = {"padding": padding}
    if op.startswith("Constant"):
        raw["value"] = data.draw(st.floats(-3.0, 3.0))
    accepted = check_agrees(op, raw, [TensorType(shape)])
    pads = padding if isinstance(padding, list) else [padding] * (2 * n)
    sizes = [shape[-1 - i // 2] for i in range(2 * n)]
    assert accepted == (not op.startswith("Reflection") or all(p < s for p, s in zip(pads, sizes, strict=True)))


def test_pad_order_is_torchs_left_right_top_bottom():
    out = get_spec("ZeroPad2d").shape_rule([TensorType((3, 10, 20))], {"padding": [1, 2, 3, 4]})
    assert out == (TensorType((3, 17, 23)),)


@pytest.mark.parametrize("op", ["ZeroPad2d", "ReflectionPad1d"])
def test_wrong_rank_is_refused_with_a_hint(op):
    with pytest.raises(ShapeError) as info:
        get_spec(op).shape_rule([TensorType((4,))], {"padding": 1})
    assert info.value.hint


def test_constant_pad_writes_its_value_and_padding_category_comes_from_the_catalog():
    spec = get_spec("ConstantPad2d")
    assert spec.module_args({"padding": 2, "value": 0.0}) == ([2, 0.0], {})
    assert {s.op for s in specs_in("Padding")} == set(OPS_1D + OPS_2D)
