"""Validation never says "valid" about a network it could not fully work out, stays linear on large graphs with
cycles, and refuses models too large for any machine as a whole (issue 14, items 1, 2 and 7)."""

from __future__ import annotations

import json
import time

import pytest

from graph_engine import check, load_project
from graph_engine.cli import main
from graph_engine.validation import (
    MAX_ACTIVATIONS_PER_SAMPLE,
    MAX_TOTAL_PARAMS,
    Checker,
    model_size_problems,
)
from tests.engine.project_factory import chain, edge, node, project, sequential

# ---- item 1: inferred sizes the input cannot give ------------------------------------------------------


def one_number_per_sample(*layers: dict) -> dict:
    """Input [32] -> Mean (one number per sample) -> layers -> Output."""
    return sequential(node("m", "Mean", dim=1), *layers, input_shape=[32])


@pytest.mark.parametrize(("layer", "field"), [
    (node("fc", "Linear", out_features=1), None),
    (node("fc", "RNN", hidden_size=4), None),
    (node("fc", "GroupNorm", num_groups=1), None),
    (node("fc", "InstanceNorm2d"), None),
    (node("fc", "LayerNorm"), None),
])
def test_a_size_inferred_from_one_number_per_sample_is_an_error_on_that_node(layer, field):
    data = one_number_per_sample(layer, node("fc2", "Linear", out_features=2))
    result = check(load_project(data))
    assert not result.ok
    errors = [d for d in result.errors if d.node_id == "fc"]
    assert errors, [str(d) for d in result.diagnostics]
    assert errors[0].message and errors[0].hint
    assert not any(d.node_id in ("fc2", "out") for d in result.errors)  # downstream is not blamed


def test_check_and_export_of_the_issue_project_fail_cleanly(tmp_path, capsys):
    path = tmp_path / "mean.layerloom.json"
    path.write_text(json.dumps(one_number_per_sample(node("fc", "Linear", out_features=1))))
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr()
    assert "error: fc" in out.out and "Traceback" not in out.out + out.err
    assert main(["export", str(path), "--code", str(tmp_path / "m.py")]) == 1
    out = capsys.readouterr()
    assert "fc" in out.err and "Traceback" not in out.out + out.err
    assert not (tmp_path / "m.py").exists()


def test_validation_never_calls_valid_a_network_with_a_node_it_could_not_infer(monkeypatch):
    """The safety net: a shape rule that (wrongly) gives up without saying why still yields an error."""
    import graph_engine.validation as validation

    data = sequential(node("act", "ReLU"), node("fc", "Linear", out_features=2), input_shape=[8])
    real = validation.Checker._infer

    def silent_on_act(self, n, structure, skip_shapes=False):
        info = real(self, n, structure, skip_shapes)
        if n.id == "act":
            info.outputs = None
            info.diagnostics = []
        return info

    monkeypatch.setattr(validation.Checker, "_infer", silent_on_act)
    result = check(load_project(data))
    assert not result.ok
    assert [d.node_id for d in result.errors] == ["act"]


# ---- item 2: cycles on long chains -------------------------------------------------------------------


def relu_chain_with_back_edge(count: int) -> dict:
    nodes = [node("x", "Input", shape=[4])] + [node(f"r{i}", "ReLU") for i in range(count)] + [node("out", "Output")]
    return project(nodes, chain(*(n["id"] for n in nodes)) + [edge("r5", "r2")])


def test_cycle_members_are_reported_and_everything_after_them_is_left_alone():
    result = check(load_project(relu_chain_with_back_edge(50)))
    cycle = {d.node_id for d in result.errors if "cycle" in d.message}
    assert cycle == {"r2", "r3", "r4", "r5"}
    assert result.order == ["x", "r0", "r1"]
    assert result.nodes["r40"].outputs is None


def test_a_self_loop_and_two_separate_cycles_are_found():
    nodes = [node("x", "Input", shape=[4])] + [node(f"r{i}", "ReLU") for i in range(10)] + [node("out", "Output")]
    edges = chain(*(n["id"] for n in nodes)) + [edge("r1", "r1", dst_port=1), edge("r7", "r6")]
    result = check(load_project(project(nodes, edges)))
    assert {d.node_id for d in result.errors if "cycle" in d.message} == {"r1", "r6", "r7"}


@pytest.mark.slow
def test_check_of_a_20000_node_chain_with_a_back_edge_is_linear():
    """Was minutes (a reachability search per node after the cycle); the bound is 10x the measured figure in
    benchmarks/README.md, so only a quadratic algorithm can miss it."""
    loaded = load_project(relu_chain_with_back_edge(19_990))
    start = time.process_time()
    result = Checker(loaded.graph).check()
    elapsed = time.process_time() - start
    assert not result.ok
    assert elapsed < 10.0, elapsed


# ---- item 7: whole-model limits ------------------------------------------------------------------------


def test_many_layers_each_legal_are_refused_together():
    layers = [node(f"fc{i}", "Linear", out_features=30_000) for i in range(6)]
    result = check(load_project(sequential(*layers, input_shape=[30_000])))
    assert all(d.node_id is None for d in result.errors), [str(d) for d in result.errors]
    [error] = result.errors
    assert "parameters in all" in error.message and "fc" in error.hint
    assert result.total_params > MAX_TOTAL_PARAMS


def test_a_huge_input_is_refused_for_its_activations_per_sample():
    data = sequential(node("conv", "Conv2d", out_channels=4, kernel_size=3, padding=1), node("act", "ReLU"),
                      node("pool", "AdaptiveAvgPool2d", output_size=1), node("flat", "Flatten"),
                      input_shape=[3, 8192, 8192])
    result = check(load_project(data))
    [error] = result.errors
    assert error.node_id is None and "values per sample" in error.message
    assert MAX_ACTIVATIONS_PER_SAMPLE < 3 * 8192 * 8192 * 4


def test_the_batch_size_of_the_project_is_part_of_the_limit(tmp_path, capsys):
    data = sequential(node("fc", "Linear", out_features=16), input_shape=[1 << 18],
                      training={"batch_size": 1 << 18})
    result = check(load_project(data))
    [error] = result.errors
    assert error.field == "batch_size" and "batch size 262144" in error.message
    assert check(load_project(data).graph).ok  # the graph alone (no batch size) is within the limits
    assert model_size_problems(result) == []
    path = tmp_path / "big.layerloom.json"
    path.write_text(json.dumps(data))
    assert main(["export", str(path), "--code", str(tmp_path / "m.py")]) == 1
    assert "batch_size" in capsys.readouterr().err
