"""Property tests: the Merge family's rules agree with torch.

When the rule accepts, torch gives the predicted shape and dtype; when it refuses, torch raises too, except
where LayerLoom is deliberately stricter (Add/Multiply never broadcast, Concat never joins along the batch or
mixes dtypes).
"""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from graph_engine.catalog import get_spec
from graph_engine.catalog.spec import ShapeError, TensorType
from graph_engine.params import resolve_params
from tests.engine.op_harness import BATCH, check_agrees

sizes = st.integers(1, 3)
shapes = st.lists(sizes, min_size=1, max_size=3).map(tuple)


def broadcastable(types):
    try:
        torch.broadcast_shapes(*[(BATCH, *t.shape) for t in types])
    except RuntimeError:
        return False
    return True


@st.composite
def elementwise_inputs(draw):
    base = draw(shapes)
    n = draw(st.integers(2, 4))
    types = [TensorType(base) for _ in range(n)]
    if draw(st.booleans()):  # make one input differ (sometimes only in a broadcastable way)
        i = draw(st.integers(0, n - 1))
        types[i] = TensorType(draw(shapes))
    return types


@settings(max_examples=40, deadline=None)
@given(op=st.sampled_from(["Add", "Multiply"]), types=elementwise_inputs())
def test_add_and_multiply(op, types):
    accepted = check_agrees(op, {}, types, torch_may_accept=broadcastable(types))
    assert accepted == all(t.shape == types[0].shape for t in types)


@st.composite
def broadcast_inputs(draw):
    base = draw(shapes)
    n = draw(st.integers(2, 3))
    types = []
    for _ in range(n):
        shape = [1 if draw(st.booleans()) else s for s in base]
        if draw(st.integers(0, 4)) == 0:
            shape[draw(st.integers(0, len(shape) - 1))] += 1  # a real mismatch
        if draw(st.integers(0, 5)) == 0:
            shape = shape[1:] or [2, *shape]  # another rank
        types.append(TensorType(tuple(shape)))
    return types


def same_rank_broadcastable(types):
    return len({t.rank for t in types}) == 1 and broadcastable(types)


@settings(max_examples=60, deadline=None)
@given(op=st.sampled_from(["Add", "Multiply"]), types=broadcast_inputs())
def test_declared_broadcast(op, types):
    # LayerLoom broadcasts only between equal ranks: torch would align a shorter shape with the batch dim.
    accepted = check_agrees(op, {"broadcast": True}, types, torch_may_accept=broadcastable(types))
    assert accepted == same_rank_broadcastable(types)


def test_squeeze_excitation_gate_broadcasts_only_when_declared():
    spec = get_spec("Multiply")
    types = [TensorType((16, 8, 8)), TensorType((16, 1, 1))]
    with pytest.raises(ShapeError) as info:
        spec.shape_rule(types, {"broadcast": False})
    assert "broadcast" in info.value.hint
    assert spec.shape_rule(types, {"broadcast": True}) == (TensorType((16, 8, 8)),)
    with pytest.raises(ShapeError) as info:
        spec.shape_rule([TensorType((16, 8, 8)), TensorType((16,))], {"broadcast": True})
    assert "same number of dims" in info.value.message and "[C, 1, 1]" in info.value.hint


def test_shape_mismatch_message_names_both_shapes():
    spec = get_spec("Add")
    with pytest.raises(ShapeError) as info:
        spec.shape_rule([TensorType((8, 4)), TensorType((8, 5))], {"broadcast": False})
    assert "[8, 4]" in info.value.message and "[8, 5]" in info.value.message
    assert "Linear" in info.value.hint and "Conv2d" in info.value.hint and "Reshape" in info.value.hint


@st.composite
def concat_case(draw):
    rank = draw(st.integers(1, 3))
    full = rank + 1
    dim = draw(st.one_of(st.integers(1, rank), st.integers(-rank, -1), st.integers(-full - 1, full)))
    base = list(draw(st.lists(sizes, min_size=rank, max_size=rank)))
    n = draw(st.integers(2, 4))
    types = []
    for _ in range(n):
        shape = list(base)
        if -full <= dim < full and dim % full:
            shape[dim % full - 1] = draw(sizes)  # the joined dim may differ freely
        types.append(shape)
    how = draw(st.sampled_from(["valid", "valid", "other dim", "rank", "dtype"]))
    dtypes = [draw(st.sampled_from(["float32", "int64"]))] * n
    i = draw(st.integers(0, n - 1))
    if how == "other dim":
        j = draw(st.integers(0, rank - 1))
        types[i][j] += 1
    elif how == "rank":
        types[i] = types[i] + [1]
    elif how == "dtype":
        dtypes[i] = "int64" if dtypes[i] == "float32" else "float32"
    batch = -full <= dim < full and dim % full == 0
    return dim, [TensorType(tuple(s), d) for s, d in zip(types, dtypes, strict=True)], batch or how == "dtype"


@settings(max_examples=40, deadline=None)
@given(case=concat_case())
def test_concat(case):
    dim, types, torch_may_accept = case
    check_agrees("Concat", {"dim": dim}, types, torch_may_accept=torch_may_accept)


def test_concat_on_channels_by_default():
    spec = get_spec("Concat")
    types = [TensorType((3, 8, 8)), TensorType((5, 8, 8))]
    assert spec.shape_rule(types, resolve_params(spec, {}, types).values) == (TensorType((8, 8, 8)),)
    assert check_agrees("Concat", {}, types)


def test_concat_keeps_int_dtype():
    types = [TensorType((3,), "int64"), TensorType((2,), "int64")]
    assert check_agrees("Concat", {"dim": -1}, types)


def test_emitted_code():
    assert get_spec("Add").emit(["a", "b", "c"], {}) == "a + b + c"
    assert get_spec("Multiply").emit(["a + b", "c"], {}) == "(a + b) * c"
    assert get_spec("Concat").emit(["a", "b"], {"dim": 1}) == "torch.cat([a, b], dim=1)"


def test_variadic_ports():
    for op in ("Add", "Multiply", "Concat"):
        spec = get_spec(op)
        assert spec.variadic and spec.min_inputs == 2
        assert spec.input_port_count(0) == 2 and spec.input_port_count(5) == 5
        assert spec.input_port_name(3) == "input3"
