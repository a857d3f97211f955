"""Property tests: pooling and Upsample specs agree with real torch modules, on valid params and on refusals."""

import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from graph_engine.catalog import get_spec
from graph_engine.catalog.pooling import pool_out_size
from graph_engine.catalog.spec import ShapeError, TensorType
from graph_engine.params import resolve_params
from tests.engine.op_harness import assert_matches
from tests.engine.test_catalog_conv import check_both_ways, tuple_or_int

POOLS = ["MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d"]
ADAPTIVE = ["AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d"]


@st.composite
def valid_pool(draw, op):
    n = int(op[-2])
    max_pool = op.startswith("Max")
    sizes, ks, ss, ps, ds = [], [], [], [], []
    for _ in range(n):
        k = draw(st.integers(1, 5))
        pad = draw(st.integers(0, k // 2))
        d = draw(st.integers(1, 3)) if max_pool else 1
        reach = d * (k - 1) + 1
        sizes.append(draw(st.integers(max(1, reach - 2 * pad), 16)))
        ks.append(k)
        ss.append(draw(st.integers(1, 4)))
        ps.append(pad)
        ds.append(d)
    raw = {"kernel_size": tuple_or_int(draw, ks), "padding": tuple_or_int(draw, ps),
           "ceil_mode": draw(st.booleans())}
    if draw(st.booleans()):
        raw["stride"] = tuple_or_int(draw, ss)
    if max_pool:
        raw["dilation"] = tuple_or_int(draw, ds)
    else:
        raw["count_include_pad"] = draw(st.booleans())
    return raw, [TensorType((draw(st.integers(1, 4)), *sizes))]


@pytest.mark.parametrize("op", POOLS)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_pool_valid(op, data):
    raw, inputs = data.draw(valid_pool(op))
    assert_matches(get_spec(op), raw, inputs)


@pytest.mark.parametrize("op", POOLS)
@settings(max_examples=50, deadline=None)
@given(data=st.data())
def test_pool_refuses_exactly_when_torch_does(op, data):
    # Small inputs, ceil_mode and paddings up to more than half the kernel: the edges of torch's rules.
    n = int(op[-2])
    raw = {
        "kernel_size": [data.draw(st.integers(1, 5)) for _ in range(n)],
        "padding": [data.draw(st.integers(0, 3)) for _ in range(n)],
        "ceil_mode": data.draw(st.booleans()),
        "stride": data.draw(st.one_of(st.none(), st.lists(st.integers(1, 4), min_size=n, max_size=n))),
    }
    if op.startswith("Max"):
        raw["dilation"] = [data.draw(st.integers(1, 3)) for _ in range(n)]
    sizes = [data.draw(st.integers(1, 7)) for _ in range(n)]
    check_both_ways(get_spec(op), raw, [TensorType((2, *sizes))])


def test_ceil_mode_last_window_must_start_inside():
    # size 5, kernel 2, stride 2, padding 1: ceil gives 4 windows, but the 4th would start in the right padding
    assert pool_out_size(5, 2, 2, 1, 1, ceil_mode=False) == 3
    assert pool_out_size(5, 2, 2, 1, 1, ceil_mode=True) == 3
    assert pool_out_size(6, 3, 2, 0, 1, ceil_mode=True) == 3
    assert pool_out_size(6, 3, 2, 0, 1, ceil_mode=False) == 2


def test_pool_messages():
    spec = get_spec("MaxPool2d")
    inputs = [TensorType((8, 1, 1))]
    with pytest.raises(ShapeError) as info:
        spec.shape_rule(inputs, resolve_params(spec, {}, inputs).values)
    assert "height" in info.value.message and info.value.param == "kernel_size"
    assert "kernel_size" in info.value.hint and "padding" in info.value.hint
    with pytest.raises(ShapeError) as info:
        spec.shape_rule(inputs, resolve_params(spec, {"kernel_size": 3, "padding": 2}, inputs).values)
    assert info.value.param == "padding"
    inputs = [TensorType((8, 16))]
    with pytest.raises(ShapeError) as info:
        spec.shape_rule(inputs, resolve_params(spec, {}, inputs).values)
    assert "MaxPool1d" in info.value.hint
    assert spec.module_args(resolve_params(spec, {}, [TensorType((3, 8, 8))]).values) == ([2], {})


@pytest.mark.parametrize("op", ADAPTIVE)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_adaptive_valid(op, data):
    n = int(op[-2])
    out = [data.draw(st.integers(1, 8)) for _ in range(n)]
    sizes = [data.draw(st.integers(1, 12)) for _ in range(n)]
    raw = {"output_size": tuple_or_int(data.draw, out)} if data.draw(st.booleans()) else {}
    assert_matches(get_spec(op), raw, [TensorType((data.draw(st.integers(1, 4)), *sizes))])


def test_adaptive_flops_sum_the_windows():
    spec = get_spec("AdaptiveAvgPool1d")
    inputs = [TensorType((2, 5))]
    values = resolve_params(spec, {"output_size": 3}, inputs).values
    outputs = spec.shape_rule(inputs, values)
    assert spec.flops(inputs, outputs, values) == 2 * (2 + 3 + 2)  # windows [0,2) [1,4) [3,5)


# ---- Upsample ------------------------------------------------------------------------------------------

UPSAMPLE_RANKS = {"nearest": (2, 3, 4), "linear": (2,), "bilinear": (3,), "bicubic": (3,), "trilinear": (4,)}


@settings(max_examples=50, deadline=None)
@given(data=st.data())
def test_upsample_valid(data):
    mode = data.draw(st.sampled_from(sorted(UPSAMPLE_RANKS)))
    rank = data.draw(st.sampled_from(UPSAMPLE_RANKS[mode]))
    spatial = [data.draw(st.integers(1, 8 if rank < 4 else 4)) for _ in range(rank - 1)]
    raw = {"mode": mode}
    if data.draw(st.booleans()):
        raw["size"] = tuple_or_int(data.draw, [data.draw(st.integers(1, 10)) for _ in spatial])
        raw["scale_factor"] = None
    elif data.draw(st.booleans()):
        scale = data.draw(st.floats(0.1, 3.0))
        assume(all(math.floor(d * scale) >= 1 for d in spatial))
        raw["scale_factor"] = scale
    if mode != "nearest" and data.draw(st.booleans()):
        raw["align_corners"] = True
    assert_matches(get_spec("Upsample"), raw, [TensorType((2, *spatial))])


@settings(max_examples=50, deadline=None)
@given(data=st.data())
def test_upsample_refuses_exactly_when_torch_does(data):
    rank = data.draw(st.integers(1, 5))
    raw = {
        "mode": data.draw(st.sampled_from(sorted(UPSAMPLE_RANKS))),
        "size": data.draw(st.one_of(st.none(), st.integers(1, 6), st.lists(st.integers(1, 6), min_size=1,
                                                                           max_size=3))),
        "scale_factor": data.draw(st.one_of(st.none(), st.floats(0.1, 2.5))),
        "align_corners": data.draw(st.booleans()),
    }
    spatial = [data.draw(st.integers(1, 4)) for _ in range(rank - 1)]
    check_both_ways(get_spec("Upsample"), raw, [TensorType((2, *spatial))])


def test_upsample_messages():
    spec = get_spec("Upsample")
    inputs = [TensorType((3, 16))]
    with pytest.raises(ShapeError) as info:
        spec.shape_rule(inputs, resolve_params(spec, {"mode": "bilinear"}, inputs).values)
    assert info.value.param == "mode" and "linear" in info.value.hint
    args, kwargs = spec.module_args(resolve_params(spec, {}, inputs).values)
    assert kwargs == {"scale_factor": 2.0}
