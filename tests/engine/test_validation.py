"""Validation: structure, shapes, params, attribution to nodes, and incremental re-checking."""

from graph_engine import Checker, Edge, Node, check, load_project
from graph_engine.validation import estimated_memory_bytes


def project(nodes, edges, name="T"):
    return load_project({
        "format": "layerloom", "format_version": 1, "name": name,
        "graph": {"nodes": [{"id": i, "op": op, "params": p} for i, op, p in nodes],
                  "edges": [dict(zip(("src", "dst", "src_port", "dst_port"), e, strict=False)) for e in edges]},
    })


def mlp(hidden=32):
    return project(
        [("x", "Input", {"shape": [16]}), ("fc1", "Linear", {"out_features": hidden}), ("act", "ReLU", {}),
         ("fc2", "Linear", {"out_features": 3}), ("y", "Output", {})],
        [("x", "fc1"), ("fc1", "act"), ("act", "fc2"), ("fc2", "y")])


def messages(result, node_id):
    return " | ".join(f"{d.message} {d.hint}" for d in result.for_node(node_id))


def test_valid_mlp_has_shapes_params_and_flops():
    result = check(mlp())
    assert result.ok, result.diagnostics
    assert str(result.shape("fc1")) == "[32]" and str(result.shape("fc2")) == "[3]"
    assert result.nodes["fc1"].params["in_features"] == 16
    assert result.nodes["fc1"].param_count == 16 * 32 + 32
    assert result.total_params == 16 * 32 + 32 + 32 * 3 + 3
    assert result.nodes["fc1"].flops == 2 * 16 * 32
    assert result.order == ["x", "fc1", "act", "fc2", "y"]
    assert estimated_memory_bytes(result, 64) > 4 * 4 * result.total_params


def test_explicit_dim_that_disagrees_is_an_error_on_that_node():
    p = mlp()
    p.graph.set_param("fc2", "in_features", 31)
    result = check(p)
    [diag] = result.errors
    assert diag.node_id == "fc2" and diag.field == "in_features"
    assert "31" in diag.message and "32" in diag.message and "auto" in diag.hint


def test_shape_error_names_the_node_and_downstream_is_not_blamed():
    p = project(
        [("img", "Input", {"shape": [1, 8, 8]}), ("fc", "Linear", {"out_features": 4}),
         ("conv", "Conv2d", {"out_channels": 4}), ("y", "Output", {})],
        [("img", "fc"), ("fc", "conv"), ("conv", "y")])
    result = check(p)
    assert [d.node_id for d in result.errors] == []  # Linear on [1, 8, 8] is fine: it acts on the last dim
    p.graph.set_param("conv", "kernel_size", 9)
    result = check(p)
    assert [d.node_id for d in result.errors] == ["conv"]
    assert "kernel" in messages(result, "conv").lower()


def test_structure_problems_are_attributed():
    p = project(
        [("x", "Input", {"shape": [4]}), ("a", "Linear", {}), ("b", "Linear", {}), ("add", "Add", {}),
         ("y", "Output", {}), ("lonely", "ReLU", {})],
        [("x", "a"), ("a", "b"), ("b", "a"), ("x", "add"), ("b", "y")])
    result = check(p)
    by_node = {d.node_id for d in result.errors}
    assert {"a", "b"} <= by_node  # the cycle
    assert "cycle" in messages(result, "a")
    assert "not connected" in messages(result, "lonely")
    assert "add" in by_node  # Add fed with one input only


def test_port_fed_twice_and_bad_ports():
    p = project(
        [("x", "Input", {"shape": [4]}), ("fc", "Linear", {}), ("y", "Output", {})],
        [("x", "fc"), ("x", "fc", 0, 0), ("fc", "y", 3, 0), ("x", "y", 0, 2)])
    result = check(p)
    text = messages(result, "fc") + messages(result, "y")
    assert "fed twice" in text and "output port 3" in text and "port 2" in text


def test_missing_input_and_output_are_whole_graph_errors():
    p = project([("fc", "Linear", {})], [])
    result = check(p)
    assert any(d.node_id is None and "no Input" in d.message for d in result.errors)
    assert any(d.node_id is None and "no Output" in d.message for d in result.errors)


def test_int_tokens_into_a_float_layer_suggest_an_embedding():
    p = project([("t", "Input", {"shape": [10], "dtype": "int64"}), ("fc", "Linear", {}), ("y", "Output", {})],
                [("t", "fc"), ("fc", "y")])
    [diag] = check(p).errors
    assert diag.node_id == "fc" and "Embedding" in diag.hint


def test_absurd_sizes_are_refused_before_allocation():
    p = project([("x", "Input", {"shape": [4096]}), ("fc", "Linear", {"out_features": 1 << 24}),
                 ("fc2", "Linear", {"out_features": 1 << 24}), ("y", "Output", {})],
                [("x", "fc"), ("fc", "fc2"), ("fc2", "y")])
    result = check(p)
    text = messages(result, "fc") + messages(result, "fc2")
    assert "GiB" in text or "TiB" in text


def test_dead_branch_is_a_warning_and_left_out_of_totals():
    p = mlp()
    p.graph.add_node(Node("side", "Linear", {"out_features": 5}))
    p.graph.add_edge(Edge("act", "side"))
    result = check(p)
    assert result.ok
    assert [d.node_id for d in result.warnings] == ["side"]
    assert "side" not in result.live and result.total_params == check(mlp()).total_params


def test_incremental_check_recomputes_only_downstream():
    p = project([("x", "Input", {"shape": [8]})] + [(f"l{i}", "Linear", {"out_features": 8}) for i in range(50)]
                + [("y", "Output", {})],
                [("x", "l0")] + [(f"l{i}", f"l{i + 1}") for i in range(49)] + [("l49", "y")])
    checker = Checker(p.graph)
    assert checker.check().ok and checker.recomputed == 52
    checker.check()
    assert checker.recomputed == 0
    p.graph.set_param("l45", "out_features", 4)
    result = checker.check()
    assert checker.recomputed == 2  # l45, and l46 whose input changed; its output did not, so l47.. are kept
    assert result.ok and str(result.shape("l45")) == "[4]"
    assert result.nodes["l46"].params["in_features"] == 4
    p.graph.set_param("l10", "bias", False)
    result = checker.check()
    assert checker.recomputed == 1 and result.nodes["l10"].param_count == 8 * 8
    p.graph.set_param("l2", "out_features", 5)
    p.graph.set_param("l49", "out_features", 3)
    checker.check()
    assert checker.recomputed == 4  # l2, l3 (its input changed), l49 and y (l49's output changed)
    p.graph.set_param("l45", "out_features", 0)
    result = checker.check()
    assert [d.node_id for d in result.errors] == ["l45"]
    p.graph.move_node("l10", (5, 5))
    checker.check()
    assert checker.recomputed == 0


def test_incremental_result_equals_full_check_after_structural_edits():
    p = mlp()
    checker = Checker(p.graph)
    checker.check()
    p.graph.remove_node("act")
    p.graph.add_edge(Edge("fc1", "fc2"))
    p.graph.rename_node("fc2", "head")
    incremental, full = checker.check(), check(p)
    assert incremental.diagnostics == full.diagnostics
    assert {k: v.outputs for k, v in incremental.nodes.items()} == {k: v.outputs for k, v in full.nodes.items()}
