"""Property tests: the normalization specs agree with real torch modules."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from graph_engine.catalog import get_spec
from graph_engine.catalog.spec import ShapeError, TensorType
from graph_engine.params import resolve_params
from tests.engine.op_harness import assert_matches, call_op

dims = st.integers(1, 8)
eps = st.sampled_from([1e-5, 1e-3, 1e-12, 0.1])
momentum = st.sampled_from([0.1, 0.01, 0.5, None])


def refusal(op, raw, shape):
    spec = get_spec(op)
    inputs = [TensorType(shape)]
    with pytest.raises(ShapeError) as info:
        spec.shape_rule(inputs, resolve_params(spec, raw, inputs).values)
    return info.value


@settings(max_examples=30, deadline=None)
@given(shape=st.lists(dims, min_size=1, max_size=2), eps=eps, momentum=momentum, affine=st.booleans(),
       track=st.booleans())
def test_batch_norm1d(shape, eps, momentum, affine, track):
    raw = {"eps": eps, "momentum": momentum, "affine": affine, "track_running_stats": track}
    assert_matches(get_spec("BatchNorm1d"), raw, [TensorType(tuple(shape))])


@settings(max_examples=30, deadline=None)
@given(c=dims, h=dims, w=dims, eps=eps, momentum=momentum, affine=st.booleans(), track=st.booleans())
def test_batch_norm2d(c, h, w, eps, momentum, affine, track):
    raw = {"eps": eps, "momentum": momentum, "affine": affine, "track_running_stats": track}
    assert_matches(get_spec("BatchNorm2d"), raw, [TensorType((c, h, w))])


@settings(max_examples=30, deadline=None)
@given(shape=st.lists(dims, min_size=1, max_size=3), affine=st.booleans(), bias=st.booleans(), eps=eps)
def test_layer_norm_inferred(shape, affine, bias, eps):
    raw = {"elementwise_affine": affine, "bias": bias, "eps": eps}
    assert_matches(get_spec("LayerNorm"), raw, [TensorType(tuple(shape))])


@settings(max_examples=20, deadline=None)
@given(shape=st.lists(dims, min_size=1, max_size=3), data=st.data(), affine=st.booleans(), bias=st.booleans())
def test_layer_norm_explicit_trailing_dims(shape, data, affine, bias):
    # normalized_shape may name more than the last dim. resolve_params compares an explicit inferred value
    # with the inferred one (the last dim only), so this checks the shape rule and counts directly.
    k = data.draw(st.integers(1, len(shape)))
    spec = get_spec("LayerNorm")
    values = {"normalized_shape": tuple(shape[-k:]), "eps": 1e-5, "elementwise_affine": affine, "bias": bias}
    inputs = [TensorType(tuple(shape))]
    (out,) = spec.shape_rule(inputs, values)
    args, kwargs = spec.module_args(values)
    module = nn.LayerNorm(*args, **kwargs)
    with torch.no_grad():
        real = module(torch.randn(2, *shape))
    assert tuple(real.shape) == (2, *out.shape)
    assert spec.param_count(inputs, values) == sum(p.numel() for p in module.parameters())


def test_layer_norm_refuses_mismatched_trailing_dims():
    spec = get_spec("LayerNorm")
    inputs = [TensorType((4, 6))]
    with pytest.raises(ShapeError) as info:
        spec.shape_rule(inputs, {"normalized_shape": (5, 6), "eps": 1e-5, "elementwise_affine": True,
                                 "bias": True})
    assert info.value.param == "normalized_shape" and "[4, 6]" in info.value.message


@settings(max_examples=30, deadline=None)
@given(groups=st.integers(1, 4), per_group=st.integers(1, 3), rest=st.lists(dims, max_size=2),
       affine=st.booleans(), eps=eps)
def test_group_norm(groups, per_group, rest, affine, eps):
    shape = (groups * per_group, *rest)
    assert_matches(get_spec("GroupNorm"), {"num_groups": groups, "affine": affine, "eps": eps},
                   [TensorType(shape)])


def test_group_norm_groups_must_divide_channels():
    err = refusal("GroupNorm", {"num_groups": 4}, (6, 8, 8))
    assert err.param == "num_groups" and "6" in err.message and "1, 2, 3, 6" in err.hint


@settings(max_examples=30, deadline=None)
@given(c=dims, h=dims, w=dims, affine=st.booleans(), track=st.booleans(), momentum=momentum)
def test_instance_norm2d(c, h, w, affine, track, momentum):
    if h * w == 1:
        w = 2
    raw = {"affine": affine, "track_running_stats": track, "momentum": momentum}
    assert_matches(get_spec("InstanceNorm2d"), raw, [TensorType((c, h, w))])


def test_instance_norm2d_refuses_single_pixel():
    err = refusal("InstanceNorm2d", {}, (8, 1, 1))
    assert "pixel" in err.message
    with pytest.raises(ValueError):
        nn.InstanceNorm2d(8)(torch.randn(2, 8, 1, 1))


def test_rank_messages():
    err = refusal("BatchNorm2d", {}, (64,))
    assert err.message == "BatchNorm2d expects [channels, height, width] per sample, but gets [64] (1 dims)"
    assert "BatchNorm1d" in err.hint
    assert "BatchNorm2d" in refusal("BatchNorm1d", {}, (3, 8, 8)).hint


def test_inferred_features_are_positional():
    spec = get_spec("BatchNorm2d")
    values = resolve_params(spec, {}, [TensorType((6, 4, 4))]).values
    assert spec.module_args(values) == ([6], {})
    spec = get_spec("GroupNorm")
    values = resolve_params(spec, {}, [TensorType((6, 4, 4))]).values
    assert spec.module_args(values) == ([2, 6], {})


class TorchvisionLayerNorm2d(nn.LayerNorm):
    """torchvision.models.convnext.LayerNorm2d, copied (torchvision does not import with the CPU torch wheel)."""

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        x = nn.functional.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


@settings(max_examples=20, deadline=None)
@given(shape=st.tuples(st.integers(1, 6), st.integers(1, 4), st.integers(1, 4)), affine=st.booleans(),
       bias=st.booleans(), eps=st.sampled_from([1e-5, 1e-6]))
def test_layer_norm2d_is_torchvisions(shape, affine, bias, eps):
    spec = get_spec("LayerNorm2d")
    raw = {"elementwise_affine": affine, "bias": bias, "eps": eps}
    assert_matches(spec, raw, [TensorType(shape)])
    values = resolve_params(spec, raw, [TensorType(shape)]).values
    reference = TorchvisionLayerNorm2d(shape[0], eps=eps, elementwise_affine=affine, bias=bias)
    with torch.no_grad():
        for p in reference.parameters():
            p.copy_(torch.randn_like(p))
    args, kwargs = spec.module_args(values)
    module = nn.LayerNorm(*args, **kwargs)
    module.load_state_dict(reference.state_dict(), strict=True)  # torchvision's weights load as they are
    x = torch.randn(2, *shape)
    got = eval(spec.call_text("m", ["x"], values), {"nn": nn}, {"m": module, "x": x})
    assert torch.allclose(got, reference(x), atol=1e-6)


def test_layer_norm2d_normalises_each_pixel_over_channels():
    spec = get_spec("LayerNorm2d")
    values = resolve_params(spec, {"elementwise_affine": False}, [TensorType((8, 3, 3))]).values
    out, _ = call_op(spec, values, [torch.randn(2, 8, 3, 3) * 5 + 2])
    assert torch.allclose(out.mean(dim=1), torch.zeros(2, 3, 3), atol=1e-5)
    with pytest.raises(ShapeError):
        spec.shape_rule([TensorType((8, 3))], values)
