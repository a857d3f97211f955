"""Engine edits on blocks: group / ungroup, make unique, rename, edit a definition, programmatic creation."""

import pytest
import torch

from graph_engine import GraphEditError, build_model, check, generate_code
from graph_engine.blocks.edits import add_instance, create_definition, group, make_unique, ungroup
from graph_engine.graph import Edge, Graph, Node
from graph_engine.project_io import load_project, project_to_dict
from tests.engine.blocks_factory import e, n, nested_project


def residual_cnn():
    return load_project({
        "format": "layerloom", "format_version": 1, "name": "res",
        "graph": {"nodes": [n("image", "Input", {"shape": [3, 6, 6]}),
                            n("stem", "Conv2d", {"out_channels": 4, "kernel_size": 3, "padding": 1}),
                            n("conv1", "Conv2d", {"out_channels": 4, "kernel_size": 3, "padding": 1}),
                            n("act1", "ReLU"), n("add1", "Add"), n("pool", "AdaptiveAvgPool2d", {"output_size": 1}),
                            n("flat", "Flatten"), n("head", "Linear", {"out_features": 3}),
                            n("side", "Linear", {"out_features": 2}), n("logits", "Output"), n("aux", "Output")],
                  "edges": [e("image", "stem"), e("stem", "conv1"), e("conv1", "act1"), e("act1", "add1"),
                            e("stem", "add1", 0, 1), e("add1", "pool"), e("pool", "flat"), e("flat", "head"),
                            e("head", "logits"), e("flat", "side"), e("side", "aux")]}})


def graph_shape(graph):
    nodes = sorted((nd.id, nd.op, repr(nd.params), nd.block, nd.repeat) for nd in graph)
    return nodes, sorted((x.src, x.dst, x.src_port, x.dst_port) for x in graph.edges)


def outputs_with_weights_of(flat_model, project, rename):
    model = build_model(project).eval()
    state = {rename(k): v for k, v in flat_model.state_dict().items()}
    model.load_state_dict(state, strict=True)
    with torch.no_grad():
        return model(torch.ones(2, 3, 6, 6) * 0.5)


def test_group_then_ungroup_returns_the_same_graph():
    project = residual_cnn()
    before = graph_shape(project.graph)
    flat = build_model(project).eval()
    with torch.no_grad():
        want = flat(torch.ones(2, 3, 6, 6) * 0.5)
    grouped = group(project, ["conv1", "act1", "add1", "pool"], "ResidualUnit")
    defn = project.blocks.get(grouped.block)
    assert defn.inputs == ["x"] and defn.outputs == ["y"]
    assert [x for x in project.graph.edges if grouped.instance in (x.src, x.dst)] == [
        Edge("stem", "residual_unit", 0, 0), Edge("residual_unit", "flat", 0, 0)]
    assert check(project).ok
    inside = {"conv1", "act1", "add1", "pool"}
    got = outputs_with_weights_of(flat, project, lambda k: f"residual_unit.{k}" if k.split(".")[0] in inside else k)
    for w, g in zip(want, got, strict=True):
        assert torch.equal(w, g)
    ungroup(project, grouped.instance)
    assert graph_shape(project.graph) == before and len(project.blocks) == 0
    assert project_to_dict(project)["format_version"] == 1


def test_group_with_several_cut_edges_makes_ports_in_order():
    project = residual_cnn()
    before = graph_shape(project.graph)
    grouped = group(project, ["conv1", "act1", "add1", "pool", "flat"], "Body")
    defn = project.blocks.get("Body")
    # one input (stem feeds two inner nodes: one port), one output read twice outside (flat -> head, side)
    assert defn.inputs == ["x"] and defn.outputs == ["y"]
    assert sorted((x.dst, x.src_port) for x in project.graph.out_edges(grouped.instance)) == [("head", 0), ("side", 0)]
    assert check(project).ok
    ungroup(project, grouped.instance)
    assert graph_shape(project.graph) == before
    with pytest.raises(GraphEditError, match="loop through act1, add1, conv1"):
        group(project, ["stem", "pool"], "Loop")
    grouped = group(project, ["stem", "conv1", "act1"], "TwoOut")
    assert project.blocks.get("TwoOut").inputs == ["x"] and project.blocks.get("TwoOut").outputs == ["y1", "y2"]
    assert sorted((x.src_port, x.dst, x.dst_port) for x in project.graph.out_edges(grouped.instance)) == [
        (0, "add1", 0), (1, "add1", 1)]  # act1 (its cut edge is listed first), then stem
    grouped2 = group(project, ["head", "side"], "Heads")
    assert project.blocks.get("Heads").inputs == ["x"] and project.blocks.get("Heads").outputs == ["y1", "y2"]
    result = check(project)
    assert result.ok, result.errors
    ungroup(project, grouped2.instance)
    ungroup(project, grouped.instance)
    assert graph_shape(project.graph) == before


def test_ports_and_io_nodes_cannot_be_grouped():
    project = residual_cnn()
    with pytest.raises(GraphEditError, match="cannot go into a block"):
        group(project, ["image", "stem"], "Bad")
    with pytest.raises(GraphEditError, match="cannot name"):
        group(project, ["stem"], "bad name")


def test_editing_a_definition_changes_every_instance_and_make_unique_detaches_one():
    project = load_project(nested_project())
    res = project.blocks.get("BasicBlock").graph
    assert check(project).ok
    res.set_param("conv2", "kernel_size", 1)  # one edit, every instance of BasicBlock (4 uses) follows
    res.set_param("conv2", "padding", 0)
    model = build_model(project)
    assert model.stage1.res[0].conv2.kernel_size == (1, 1) and model.stage2[1].res[1].conv2.kernel_size == (1, 1)
    stage = project.blocks.get("Stage").graph
    new = make_unique(project, "res", block="Stage")
    assert new == "BasicBlock2" and stage.node("res").block == "BasicBlock2"
    project.blocks.get("BasicBlock2").graph.set_param("conv2", "kernel_size", 3)
    project.blocks.get("BasicBlock2").graph.set_param("conv2", "padding", 1)
    model = build_model(project)
    assert model.stage1.res[0].conv2.kernel_size == (3, 3)
    assert check(project).ok


def test_rename_a_definition_renames_its_instances():
    project = load_project(nested_project())
    seen = []
    project.blocks.definition_renamed.sub(lambda old, new: seen.append((old, new)))
    project.blocks.rename("Stage", "ResStage")
    assert seen == [("Stage", "ResStage")]
    assert project.graph.node("stage1").block == "ResStage" and project.graph.node("stage2").block == "ResStage"
    assert check(project).ok
    with pytest.raises(GraphEditError, match="cannot name a block"):
        project.blocks.rename("ResStage", "nn")


def test_ungroup_of_a_repeated_nested_instance_keeps_the_outputs():
    project = load_project(nested_project())
    want_model = build_model(project).eval()
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        want = want_model(x)
    inserted = ungroup(project, "stage2", remove_unused=False)
    assert "stage2_0_widen" in inserted and "stage2_1_res" in inserted
    result = check(project)
    assert result.ok, result.errors
    model = build_model(project).eval()
    state = {}
    for key, value in want_model.state_dict().items():
        parts = key.split(".")
        if parts[0] == "stage2":
            key = f"stage2_{parts[1]}_{parts[2]}." + ".".join(parts[3:])
        state[key] = value
    model.load_state_dict(state, strict=True)
    with torch.no_grad():
        assert torch.equal(model(x), want)


def test_programmatic_definitions_and_instances_refuse_recursion():
    project = residual_cnn()
    body = Graph()
    body.add_node(Node("x", "BlockInput"))
    body.add_node(Node("act", "ReLU"))
    body.add_node(Node("y", "BlockOutput"))
    body.add_edge(Edge("x", "act"))
    body.add_edge(Edge("act", "y"))
    create_definition(project, "Act", body, doc="a ReLU")
    with pytest.raises(GraphEditError, match="cannot contain"):
        add_instance(project, body, "again", "Act")
    project.graph.remove_edge(Edge("conv1", "act1"))
    add_instance(project, project.graph, "extra", "Act")
    project.graph.add_edge(Edge("conv1", "extra"))
    project.graph.add_edge(Edge("extra", "act1"))
    assert check(project).ok
    assert "self.extra = Act()" in generate_code(project)


def test_a_grouped_block_is_named_after_its_layers_and_its_ports_are_placed():
    from graph_engine.layout import apply_missing_positions

    project = residual_cnn()
    apply_missing_positions(project.graph)
    grouped = group(project, ["conv1", "act1", "add1"])
    assert grouped.block == "ConvReluAdd" and grouped.instance == "conv_relu_add"
    second = group(project, ["head"])
    assert second.block == "LinearBlock"
    third = group(project, ["side"])
    assert third.block == "LinearBlock2"
    defn = project.blocks.definition("ConvReluAdd")
    xs = {nd.id: nd.pos[0] for nd in defn.graph}
    inner = [xs[i] for i in ("conv1", "act1", "add1")]
    assert all(pos is not None for pos in (nd.pos for nd in defn.graph))
    assert max(xs[p] for p in defn.inputs) < min(inner) and min(xs[p] for p in defn.outputs) > max(inner)
    assert check(project).ok
