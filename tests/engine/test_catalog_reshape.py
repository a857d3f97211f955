"""Property tests: the Reshape family's rules agree with torch.

For random params, valid or not: when the rule accepts, torch gives the predicted shape and dtype; when it
refuses, torch raises too, except where LayerLoom is deliberately stricter (anything touching the batch dim).
"""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graph_engine.catalog import get_spec
from graph_engine.catalog.spec import ShapeError, TensorType
from graph_engine.params import resolve_params
from tests.engine.op_harness import check_agrees

sizes = st.integers(1, 4)
dtypes = st.sampled_from(["float32", "int64"])
shapes = st.lists(sizes, min_size=1, max_size=4).map(tuple)


def batch_dim(dim, rank):
    """Whether a torch dim names the batch of a tensor whose batch-less rank is `rank`."""
    return -(rank + 1) <= dim <= rank and dim % (rank + 1) == 0


def dims_for(rank):
    """Mostly valid non-batch dims (either sign), sometimes the batch or out of range."""
    return st.one_of(st.integers(1, rank), st.integers(-rank, -1), st.integers(-(rank + 2), rank + 1))


@settings(max_examples=40, deadline=None)
@given(data=st.data(), shape=shapes, dtype=dtypes)
def test_flatten(data, shape, dtype):
    r = len(shape)
    start, end = data.draw(dims_for(r)), data.draw(dims_for(r))
    check_agrees("Flatten", {"start_dim": start, "end_dim": end}, [TensorType(shape, dtype)],
          torch_may_accept=batch_dim(start, r) or batch_dim(end, r))


def test_flatten_default_makes_a_vector():
    assert check_agrees("Flatten", {}, [TensorType((3, 4, 5))])
    spec = get_spec("Flatten")
    assert spec.shape_rule([TensorType((3, 4, 5))], resolve_params(spec, {}).values) == (TensorType((60,)),)


@settings(max_examples=40, deadline=None)
@given(data=st.data(), shape=shapes, dtype=dtypes, parts=st.lists(sizes, min_size=1, max_size=3),
       fit=st.booleans(), infer=st.booleans())
def test_unflatten(data, shape, dtype, parts, fit, infer):
    r = len(shape)
    dim = data.draw(dims_for(r))
    shape = list(shape)
    if fit and -(r + 1) <= dim <= r and dim % (r + 1):
        shape[dim % (r + 1) - 1] = math.prod(parts)
    if infer:
        parts[data.draw(st.integers(0, len(parts) - 1))] = -1
    check_agrees("Unflatten", {"dim": dim, "unflattened_size": parts}, [TensorType(tuple(shape), dtype)],
          torch_may_accept=batch_dim(dim, r))


def test_unflatten_refuses_two_minus_ones_and_zeros():
    x = [TensorType((12,))]
    assert not check_agrees("Unflatten", {"dim": 1, "unflattened_size": [-1, -1]}, x)
    assert not check_agrees("Unflatten", {"dim": 1, "unflattened_size": [0, 12]}, x)
    assert check_agrees("Unflatten", {"dim": -1, "unflattened_size": [3, -1]}, x)


@st.composite
def factor_groups(draw):
    """Two shapes with the same number of elements (or, sometimes, not)."""
    factors = draw(st.lists(st.integers(1, 4), min_size=1, max_size=5))

    def group(fs):
        cuts = sorted(draw(st.sets(st.integers(1, max(len(fs) - 1, 1)), max_size=len(fs) - 1)))
        bounds = [0, *[c for c in cuts if c < len(fs)], len(fs)]
        return [math.prod(fs[a:b]) for a, b in zip(bounds, bounds[1:], strict=False) if b > a]

    source = group(factors)
    target = group(draw(st.permutations(factors)))
    if draw(st.integers(0, 4)) == 0:
        target[draw(st.integers(0, len(target) - 1))] += 1
    if draw(st.booleans()):
        target[draw(st.integers(0, len(target) - 1))] = -1
    if draw(st.integers(0, 9)) == 0:
        target.append(draw(st.sampled_from([0, -1])))
    return tuple(source), target


@settings(max_examples=40, deadline=None)
@given(case=factor_groups(), dtype=dtypes)
def test_reshape(case, dtype):
    source, target = case
    check_agrees("Reshape", {"shape": target}, [TensorType(source, dtype)])


def test_reshape_to_a_single_number():
    assert check_agrees("Reshape", {"shape": []}, [TensorType((1, 1))])
    assert not check_agrees("Reshape", {"shape": []}, [TensorType((2,))])


@settings(max_examples=40, deadline=None)
@given(data=st.data(), shape=shapes, dtype=dtypes, how=st.sampled_from(["valid", "negative", "random"]))
def test_permute(data, shape, dtype, how):
    full = len(shape) + 1
    if how == "random":
        dims = data.draw(st.lists(st.integers(-full - 1, full), min_size=1, max_size=full + 1))
    else:
        dims = [0, *data.draw(st.permutations(range(1, full)))]
        if how == "negative":
            dims = [d - full if data.draw(st.booleans()) else d for d in dims]
    norm = [d % full for d in dims]
    real_permutation = all(-full <= d < full for d in dims) and sorted(norm) == list(range(full))
    check_agrees("Permute", {"dims": dims}, [TensorType(shape, dtype)],
          torch_may_accept=real_permutation and norm[0] != 0)


@settings(max_examples=40, deadline=None)
@given(data=st.data(), shape=shapes, dtype=dtypes)
def test_transpose(data, shape, dtype):
    r = len(shape)
    a, b = data.draw(dims_for(r)), data.draw(dims_for(r))
    check_agrees("Transpose", {"dim0": a, "dim1": b}, [TensorType(shape, dtype)],
          torch_may_accept=batch_dim(a, r) or batch_dim(b, r))


@settings(max_examples=40, deadline=None)
@given(data=st.data(), shape=shapes, dtype=dtypes)
def test_select(data, shape, dtype):
    r = len(shape)
    dim = data.draw(dims_for(r))
    index = data.draw(st.integers(-5, 4))
    check_agrees("Select", {"dim": dim, "index": index}, [TensorType(shape, dtype)], torch_may_accept=batch_dim(dim, r))


@settings(max_examples=40, deadline=None)
@given(data=st.data(), shape=shapes, keepdim=st.booleans(), as_list=st.booleans())
def test_mean(data, shape, keepdim, as_list):
    r = len(shape)
    if as_list:
        dim = data.draw(st.lists(dims_for(r), max_size=3))
        touches_batch = not dim or any(batch_dim(d, r) for d in dim)
    else:
        dim = data.draw(dims_for(r))
        touches_batch = batch_dim(dim, r)
    check_agrees("Mean", {"dim": dim, "keepdim": keepdim}, [TensorType(shape)], torch_may_accept=touches_batch)


def test_rank_zero_inputs_are_refused_with_a_message():
    x = [TensorType(())]
    for op in ("Flatten", "Transpose", "Select", "Mean", "Unflatten"):
        raw = {"unflattened_size": [1]} if op == "Unflatten" else {}
        spec = get_spec(op)
        with pytest.raises(ShapeError, match="besides the batch"):
            spec.shape_rule(x, resolve_params(spec, raw, x).values)


def test_emitted_code_is_plain_and_parenthesised():
    values = {"shape": (4, -1)}
    assert get_spec("Reshape").emit(["x"], values) == "x.reshape(x.shape[0], 4, -1)"
    assert get_spec("Reshape").emit(["a + b"], values) == "(a + b).reshape((a + b).shape[0], 4, -1)"
    assert get_spec("Permute").emit(["x"], {"dims": (0, 2, 1)}) == "x.permute(0, 2, 1)"
    assert get_spec("Transpose").emit(["x"], {"dim0": 1, "dim1": -1}) == "x.transpose(1, -1)"
    assert get_spec("Select").emit(["x"], {"dim": 1, "index": -1}) == "x.select(1, -1)"
    assert get_spec("Mean").emit(["x"], {"dim": (2, 3), "keepdim": True}) == "x.mean(dim=[2, 3], keepdim=True)"
    assert get_spec("Mean").emit(["x"], {"dim": 1, "keepdim": False}) == "x.mean(dim=1, keepdim=False)"
