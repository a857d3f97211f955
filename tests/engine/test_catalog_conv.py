"""Property tests: the convolution specs agree with real torch modules, on valid params and on refusals."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from graph_engine.catalog import get_spec
from graph_engine.catalog.spec import ShapeError, TensorType
from graph_engine.params import resolve_params
from tests.engine.op_harness import BATCH, assert_matches

TORCH_ERRORS = (RuntimeError, ValueError, NotImplementedError)

# Per spatial dim count: the largest spatial size drawn (3-D convs stay tiny).
MAX_SPATIAL = {1: 16, 2: 12, 3: 6}


def tuple_or_int(draw, values):
    """Pass [k, k] sometimes as the single int k, as people write it."""
    if len(set(values)) == 1 and draw(st.booleans()):
        return values[0]
    return list(values)


def build(spec, raw, inputs):
    res = resolve_params(spec, raw, inputs)
    assert res.ok, res.problems
    args, kwargs = spec.module_args(res.values)
    return res.values, getattr(nn, spec.module.removeprefix("nn."))(*args, **kwargs).eval()


def check_both_ways(spec, raw, inputs):
    """The shape rule refuses exactly when torch does; otherwise shapes and param counts match.

    torch is run with and without autograd (they take different kernels). An output with a zero-sized
    dim counts as a refusal: torch sometimes returns one instead of raising.
    """
    res = resolve_params(spec, raw, inputs)
    assert res.ok, res.problems
    try:
        spec.shape_rule(inputs, res.values)
        refused = None
    except ShapeError as err:
        refused = err
    if refused is None:
        assert_matches(spec, raw, inputs)
        return
    assert refused.message and refused.hint, (spec.op, raw)
    for grad in (False, True):
        x = torch.randn(BATCH, *inputs[0].shape, requires_grad=grad)
        try:
            _, module = build(spec, raw, inputs)
            with torch.set_grad_enabled(grad):
                out = module(x)
        except TORCH_ERRORS:
            continue
        assert 0 in out.shape, (spec.op, raw, inputs, refused.message, tuple(out.shape))


def conv_flops_match(spec, raw, inputs):
    values, module = build(spec, raw, inputs)
    outputs = spec.shape_rule(inputs, values)
    with FlopCounterMode(display=False) as counter:
        module(torch.randn(BATCH, *inputs[0].shape))
    assert spec.flops(inputs, outputs, values) * BATCH == counter.get_total_flops(), (spec.op, raw)


@st.composite
def valid_conv(draw, n, transposed=False):
    groups = draw(st.sampled_from([1, 1, 2, 4]))
    c_in = groups * draw(st.integers(1, 8 // groups))
    c_out = groups * draw(st.integers(1, 8 // groups))
    mode = "zeros" if transposed else draw(st.sampled_from(["zeros", "reflect", "replicate", "circular"]))
    sizes, ks, ss, ps, ds, ops = [], [], [], [], [], []
    for _ in range(n):
        size = draw(st.integers(1, MAX_SPATIAL[n]))
        max_pad = {"reflect": size - 1, "circular": size}.get(mode, 3)
        pad = draw(st.integers(0, min(max_pad, 3)))
        d = draw(st.integers(1, 3))
        s = draw(st.integers(1, 3))
        if transposed:
            k = draw(st.integers(1, 4))
            op_ = draw(st.integers(0, max(s, d) - 1))
            # keep the output >= 1 (a padding that trims everything is tested separately)
            out = (size - 1) * s + d * (k - 1) + op_ + 1
            pad = min(pad, (out - 1) // 2)
            ops.append(op_)
        else:
            max_k = min(5, (size + 2 * pad - 1) // d + 1)
            k = draw(st.integers(1, max_k))
        sizes.append(size)
        ks.append(k)
        ss.append(s)
        ps.append(pad)
        ds.append(d)
    raw = {"out_channels": c_out, "kernel_size": tuple_or_int(draw, ks), "stride": tuple_or_int(draw, ss),
           "padding": tuple_or_int(draw, ps), "dilation": tuple_or_int(draw, ds), "groups": groups,
           "bias": draw(st.booleans())}
    if transposed:
        raw["output_padding"] = tuple_or_int(draw, ops)
    elif mode != "zeros" or draw(st.booleans()):
        raw["padding_mode"] = mode
    if draw(st.booleans()):
        raw["in_channels"] = c_in  # explicit and agreeing
    return raw, [TensorType((c_in, *sizes))]


@pytest.mark.parametrize("n", [1, 2, 3])
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_conv_valid(n, data):
    raw, inputs = data.draw(valid_conv(n))
    assert_matches(get_spec(f"Conv{n}d"), raw, inputs)


@pytest.mark.parametrize("n", [1, 2])
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_conv_transpose_valid(n, data):
    raw, inputs = data.draw(valid_conv(n, transposed=True))
    assert_matches(get_spec(f"ConvTranspose{n}d"), raw, inputs)


@pytest.mark.parametrize("op", ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d"])
@settings(max_examples=8, deadline=None)
@given(data=st.data())
def test_conv_flops_match_torch_counter(op, data):
    n = int(op[-2])
    raw, inputs = data.draw(valid_conv(n, transposed=op.startswith("ConvT")))
    raw["padding_mode"] = "zeros"
    if op.startswith("ConvT"):
        del raw["padding_mode"]
    conv_flops_match(get_spec(op), raw, inputs)


@st.composite
def any_conv(draw, n, transposed=False):
    """Params within their ranges but not necessarily compatible with the input."""
    small = st.integers(1, 5)
    sizes = [draw(st.integers(1, MAX_SPATIAL[n] // 2)) for _ in range(n)]
    raw = {
        "out_channels": draw(st.integers(1, 6)),
        "kernel_size": [draw(small) for _ in range(n)],
        "stride": [draw(st.integers(1, 3)) for _ in range(n)],
        "padding": [draw(st.integers(0, 3 if transposed else 5)) for _ in range(n)],
        "dilation": [draw(st.integers(1, 3)) for _ in range(n)],
        "groups": draw(st.sampled_from([1, 1, 1, 2, 3])),
    }
    if transposed:
        raw["output_padding"] = [draw(st.sampled_from([0, 0, 1, 2])) for _ in range(n)]
    else:
        raw["padding_mode"] = draw(st.sampled_from(["zeros", "reflect", "replicate", "circular"]))
    return raw, [TensorType((draw(st.integers(1, 6)), *sizes))]


@pytest.mark.parametrize("op", ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d"])
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_conv_refuses_exactly_when_torch_does(op, data):
    raw, inputs = data.draw(any_conv(int(op[-2]), transposed=op.startswith("ConvT")))
    check_both_ways(get_spec(op), raw, inputs)


# ---- messages ------------------------------------------------------------------------------------------


def refusal(op, raw, shape):
    spec = get_spec(op)
    inputs = [TensorType(shape)]
    with pytest.raises(ShapeError) as info:
        spec.shape_rule(inputs, resolve_params(spec, raw, inputs).values)
    return info.value


def test_wrong_rank_names_layout_and_sibling():
    err = refusal("Conv2d", {}, (64,))
    assert err.message == "Conv2d expects [channels, height, width] per sample, but gets [64] (1 dims)"
    assert "Unflatten" in err.hint
    err = refusal("Conv2d", {}, (3, 100))
    assert "Conv1d" in err.hint
    err = refusal("Conv1d", {}, (3, 8, 8, 8))
    assert "Conv3d" in err.hint


def test_too_small_output_names_numbers():
    err = refusal("Conv2d", {"kernel_size": 5}, (3, 4, 8))
    assert err.param == "kernel_size"
    assert "height" in err.message and "4" in err.message and "5" in err.message
    assert "padding" in err.hint and "kernel_size" in err.hint


def test_groups_must_divide_channels():
    err = refusal("Conv2d", {"groups": 2, "out_channels": 16}, (3, 8, 8))
    assert err.param == "groups" and "in_channels=3" in err.message
    err = refusal("Conv2d", {"groups": 2, "out_channels": 5}, (4, 8, 8))
    assert err.param == "groups" and "out_channels=5" in err.message


def test_output_padding_and_padding_modes():
    err = refusal("ConvTranspose2d", {"stride": 2, "output_padding": 2}, (3, 8, 8))
    assert err.param == "output_padding"
    err = refusal("Conv1d", {"padding": 4, "padding_mode": "reflect"}, (3, 4))
    assert err.param == "padding" and "reflect" in err.message


def test_codegen_args_read_like_hand_written():
    spec = get_spec("Conv2d")
    values = resolve_params(spec, {"out_channels": 6, "kernel_size": 5, "padding": 2}, [TensorType((1, 28, 28))])
    assert spec.module_args(values.values) == ([1, 6], {"kernel_size": 5, "padding": 2})
    assert not any(p.name == "padding_mode" for p in get_spec("ConvTranspose2d").params)
