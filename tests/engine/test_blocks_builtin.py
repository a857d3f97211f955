"""The built-in block library (resources/blocks/builtin.layerloom.json): every block builds into a tiny
project that checks, exports and runs forward in torch with the exported code equal to the built model; using a
block copies its definition (and the nested ones) once."""

from __future__ import annotations

import importlib.util

import pytest
import torch

from graph_engine import build_model, check, generate_code
from graph_engine.blocks.builtin import add_builtin_instance, builtin_blocks, comparable, copy_into
from graph_engine.graph import Edge, Node
from graph_engine.project import Project

EXPECTED = {"ConvBnAct", "BasicBlock", "BasicBlockDown", "Bottleneck", "SqueezeExcite", "InvertedResidualSE",
            "TransformerEncoderBlock", "UNetDown", "UNetUp"}


def tiny_project(name: str) -> tuple[Project, Node]:
    """Inputs of the block's example shapes -> one instance -> one Output per block output."""
    builtin = builtin_blocks()
    project = Project(name=f"{name} test")
    graph = project.graph
    shapes = builtin.examples[name]
    for i, shape in enumerate(shapes):
        graph.add_node(Node(f"in{i}", "Input", {"shape": list(shape)}))
    node = add_builtin_instance(project, graph, name)
    for i in range(len(shapes)):
        graph.add_edge(Edge(f"in{i}", node.id, 0, i))
    for i in range(len(builtin.get(name).outputs)):
        graph.add_node(Node(f"out{i}", "Output"))
        graph.add_edge(Edge(node.id, f"out{i}", i, 0))
    return project, node


def test_the_library_holds_the_issue_blocks_each_with_typed_params_and_an_example():
    builtin = builtin_blocks()
    assert EXPECTED <= set(builtin.names)
    for name in builtin.names:
        defn = builtin.get(name)
        assert defn.doc and defn.params, name
        assert all(p.kind in ("int", "float") and p.doc for p in defn.params.values()), name
        assert name in builtin.examples and len(builtin.examples[name]) == len(defn.inputs), name
    assert builtin.needed("UNetUp") == ["ConvBnAct", "UNetUp"]
    assert builtin.needed("InvertedResidualSE") == ["SqueezeExcite", "InvertedResidualSE"]
    se = builtin.get("SqueezeExcite").graph.node("scale")
    assert se.op == "Multiply" and se.params == {"broadcast": True}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_builtin_block_checks_exports_and_runs(name, tmp_path):
    project, node = tiny_project(name)
    result = check(project)
    assert result.ok, [str(d) for d in result.diagnostics]
    model = build_model(project).eval()
    assert result.nodes[node.id].param_count == sum(p.numel() for p in model.parameters()) > 0
    source = generate_code(project)
    assert f"class {name}(nn.Module):" in source
    path = tmp_path / "model.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(f"builtin_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    fresh = module.create_model().eval()
    assert list(fresh.state_dict()) == list(model.state_dict())
    fresh.load_state_dict(model.state_dict(), strict=True)
    inputs = module.example_inputs(2)
    with torch.no_grad():
        want, got = model(*inputs), fresh(*inputs)
    want = want if isinstance(want, tuple) else (want,)
    got = got if isinstance(got, tuple) else (got,)
    for i, (a, b) in enumerate(zip(want, got, strict=True)):
        assert torch.equal(a, b)
        assert list(a.shape[1:]) == list(result.nodes[f"out{i}"].inputs[0].shape)


def test_shapes_follow_the_block_params():
    project, node = tiny_project("BasicBlockDown")
    assert str(check(project).shape(node.id)) == "[128, 4, 4]"
    project, node = tiny_project("Bottleneck")
    project.graph.set_params(node.id, {"width": 16, "stride": 2})
    assert str(check(project).shape(node.id)) == "[64, 4, 4]"
    project, node = tiny_project("UNetDown")
    result = check(project)
    assert str(result.shape(node.id, 0)) == "[32, 8, 8]" and str(result.shape(node.id, 1)) == "[32, 16, 16]"


def test_a_second_use_reuses_the_definitions_and_an_edited_copy_is_left_alone():
    project, first = tiny_project("UNetUp")
    assert project.blocks.names == ["ConvBnAct", "UNetUp"]
    assert copy_into(project, "UNetUp") == ("UNetUp", [])
    second = add_builtin_instance(project, project.graph, "UNetDown")
    assert project.blocks.names == ["ConvBnAct", "UNetUp", "UNetDown"] and second.block == "UNetDown"
    assert first.id != second.id

    # Moving a layer inside is no edit of the block; changing a param is.
    convbnact = project.blocks.definition("ConvBnAct")
    convbnact.graph.move_node("bn", (5.0, 5.0))
    assert copy_into(project, "ConvBnAct") == ("ConvBnAct", [])
    convbnact.graph.set_params("conv", {**convbnact.graph.node("conv").params, "bias": True})
    name, added = copy_into(project, "UNetUp")
    assert (name, added) == ("UNetUp2", ["ConvBnAct2", "UNetUp2"])
    assert {n.block for n in project.blocks.definition("UNetUp2").graph if n.op == "Block"} == {"ConvBnAct2"}
    assert comparable(project.blocks.definition("ConvBnAct2"))["graph"] == \
        comparable(builtin_blocks().get("ConvBnAct"))["graph"]
    assert builtin_blocks().get("UNetUp").graph.node("conv1").block == "ConvBnAct"  # the library is untouched
