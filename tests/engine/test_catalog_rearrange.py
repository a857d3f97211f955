"""Property tests: Expand, Chunk, Split, PixelShuffle, PixelUnshuffle and ChannelShuffle agree with torch, and
ops with several outputs get one port per piece."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from graph_engine.catalog import get_spec
from graph_engine.catalog.spec import ShapeError, TensorType
from tests.engine.op_harness import NAMESPACE, check_agrees, run_op

shapes = st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple)


@st.composite
def expand_case(draw):
    shape = draw(shapes)
    sizes = []
    for s in shape:
        choice = draw(st.sampled_from(["keep", "same", "grow", "bad"]))
        sizes.append({"keep": -1, "same": s, "grow": draw(st.integers(1, 4)) if s == 1 else s,
                      "bad": s + draw(st.integers(1, 3))}[choice])
    if draw(st.integers(0, 5)) == 0:
        sizes.append(1)  # one size too many: LayerLoom refuses (torch would treat the batch as a new dim)
        return shape, sizes, True
    return shape, sizes, False


@settings(max_examples=40, deadline=None)
@given(case=expand_case())
def test_expand(case):
    shape, sizes, torch_may_accept = case
    check_agrees("Expand", {"size": sizes}, [TensorType(shape)], torch_may_accept=torch_may_accept)


@settings(max_examples=40, deadline=None)
@given(shape=shapes, chunks=st.integers(2, 5), data=st.data())
def test_chunk(shape, chunks, data):
    dim = data.draw(st.integers(1, len(shape)))
    spec = get_spec("Chunk")
    try:
        predicted = spec.shape_rule([TensorType(shape)], {"chunks": chunks, "dim": dim})
    except ShapeError as err:
        assert err.param == "chunks" and err.hint
        assert len(torch.randn(2, *shape).chunk(chunks, dim=dim)) != chunks  # torch gives another count
        return
    assert len(predicted) == chunks == spec.output_port_count({"chunks": chunks})
    check_agrees("Chunk", {"chunks": chunks, "dim": dim}, [TensorType(shape)])


@settings(max_examples=40, deadline=None)
@given(shape=shapes, data=st.data())
def test_split(shape, data):
    dim = data.draw(st.integers(-len(shape), len(shape)).filter(lambda d: d != 0))
    size = shape[dim - 1 if dim > 0 else dim]
    sizes = data.draw(st.lists(st.integers(1, 4), min_size=2, max_size=4))
    accepted = check_agrees("Split", {"split_sizes": sizes, "dim": dim}, [TensorType(shape)])
    assert accepted == (sum(sizes) == size)
    assert get_spec("Split").output_port_count({"split_sizes": sizes}) == len(sizes)


def test_split_refusal_matches_torch():
    with pytest.raises(RuntimeError):
        torch.randn(2, 5).split([2, 2], dim=1)
    with pytest.raises(ShapeError) as info:
        get_spec("Split").shape_rule([TensorType((5,))], {"split_sizes": [2, 2], "dim": 1})
    assert info.value.param == "split_sizes" and "5" in info.value.hint


def test_output_port_count_falls_back_on_bad_params():
    spec = get_spec("Chunk")
    assert spec.output_port_count({}) == 2 and spec.output_port_count({"chunks": "x"}) == 2
    assert spec.output_port_count({"chunks": 5}) == 5 and spec.output_port_name(4) == "output4"


@settings(max_examples=25, deadline=None)
@given(c=st.integers(1, 4), h=st.integers(1, 4), w=st.integers(1, 4), r=st.integers(1, 3), extra=st.integers(0, 2))
def test_pixel_shuffle(c, h, w, r, extra):
    check_agrees("PixelShuffle", {"upscale_factor": r}, [TensorType((c * r * r + extra, h, w))])


@settings(max_examples=25, deadline=None)
@given(c=st.integers(1, 3), h=st.integers(1, 6), w=st.integers(1, 6), r=st.integers(1, 3))
def test_pixel_unshuffle(c, h, w, r):
    check_agrees("PixelUnshuffle", {"downscale_factor": r}, [TensorType((c, h, w))])


@settings(max_examples=25, deadline=None)
@given(c=st.integers(1, 8), g=st.integers(1, 4), hw=st.lists(st.integers(1, 3), min_size=1, max_size=2))
def test_channel_shuffle_matches_nn_channel_shuffle(c, g, hw):
    t = TensorType((c, *hw))
    try:
        get_spec("ChannelShuffle").shape_rule([t], {"groups": g})
    except ShapeError as err:
        assert c % g and err.param == "groups"
        return
    check_agrees("ChannelShuffle", {"groups": g}, [t])
    x = torch.randn(2, c, *hw)
    expr = get_spec("ChannelShuffle").emit(["x"], {"groups": g})
    assert torch.equal(eval(expr, dict(NAMESPACE), {"x": x}), nn.ChannelShuffle(g)(x))


def test_multi_output_types_per_port():
    predicted, outs, _, _ = run_op(get_spec("Split"), {"split_sizes": [1, 3], "dim": 1}, [TensorType((4, 2))])
    assert [t.shape for t in predicted] == [(1, 2), (3, 2)] and [tuple(o.shape) for o in outs] == [(2, 1, 2), (2, 3, 2)]
