"""Property tests: the dropout specs agree with real torch modules."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from graph_engine.catalog import get_spec
from graph_engine.catalog.spec import ShapeError, TensorType
from graph_engine.params import resolve_params
from tests.engine.op_harness import NAMESPACE, assert_matches

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


def torchvision_stochastic_depth(input, p, mode, training=True):
    """torchvision.ops.stochastic_depth (torchvision 0.28), copied: importing torchvision fails with the CPU
    wheel of torch, and the generated code must not need it anyway."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"drop probability has to be between 0 and 1, but got {p}")
    if mode not in ["batch", "row"]:
        raise ValueError(f"mode has to be either 'batch' or 'row', but got {mode}")
    if not training or p == 0.0:
        return input
    survival_rate = 1.0 - p
    if mode == "row":
        size = [input.shape[0]] + [1] * (input.ndim - 1)
    else:
        size = [1] * input.ndim
    noise = torch.empty(size, dtype=input.dtype, device=input.device)
    noise = noise.bernoulli_(survival_rate)
    if survival_rate > 0.0:
        noise.div_(survival_rate)
    return input * noise


def run_emitted(spec, values, x, training):
    owner = nn.Module().train(training)
    return eval(spec.emit(["x"], values), dict(NAMESPACE), {"self": owner, "x": x})


@settings(max_examples=30, deadline=None)
@given(shape=st.lists(st.integers(1, 5), max_size=3).map(tuple), p=st.sampled_from([0.0, 0.1, 0.5, 0.9, 1.0]),
       mode=st.sampled_from(["row", "batch"]), seed=st.integers(0, 1000))
def test_stochastic_depth_is_torchvisions(shape, p, mode, seed):
    spec = get_spec("StochasticDepth")
    assert_matches(spec, {"p": p, "mode": mode}, [TensorType(shape)])
    x = torch.randn(6, *shape)
    for training in (True, False):
        torch.manual_seed(seed)
        want = torchvision_stochastic_depth(x, p, mode, training)
        torch.manual_seed(seed)
        got = run_emitted(spec, {"p": p, "mode": mode}, x, training)
        assert torch.equal(got, want)


def test_stochastic_depth_drops_whole_samples_in_row_mode():
    x = torch.ones(400, 3, 2)
    torch.manual_seed(0)
    out = run_emitted(get_spec("StochasticDepth"), {"p": 0.25, "mode": "row"}, x, True)
    per_sample = out.flatten(1)
    assert per_sample.unique().tolist() == [0.0, torch.tensor(1 / 0.75).item()]
    assert bool((per_sample == per_sample[:, :1]).all())  # each sample is dropped or kept as a whole
    assert 0.15 < float((per_sample[:, 0] == 0).float().mean()) < 0.35
