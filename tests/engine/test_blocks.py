"""Blocks (format_version 2): file format, checks through the hierarchy, code generation, export."""

import copy
import importlib.util
import json

import pytest
import torch

from graph_engine import InvalidGraphError, NewerFormatError, ProjectError, build_model, check, generate_code
from graph_engine.blocks import BlockDef, BlockLibrary, block_name_problem
from graph_engine.blocks.inner import diagnostic_path, inside_definition
from graph_engine.project_io import (
    load_project,
    migrate_v1_to_v2,
    project_to_dict,
    project_to_json,
    save_project,
)
from graph_engine.validation import Checker
from tests.engine.blocks_factory import chain_project, e, edited, n, nested_project, two_port_project
from tests.engine.test_validation import mlp


def import_file(path):
    spec = importlib.util.spec_from_file_location("exported_blocks_model", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---- file format -----------------------------------------------------------------------------------------


def test_design_example_loads_checks_and_counts_params():
    data = nested_project()
    project = load_project(data)
    result = check(project)
    assert result.ok, result.diagnostics
    assert [d.name for d in project.blocks] == ["BasicBlock", "Stage"]
    assert project.blocks.get("BasicBlock").inputs == ["x"] and project.blocks.get("BasicBlock").outputs == ["y"]
    assert str(result.shape("stage1")) == "[8, 8, 8]" and str(result.shape("stage2")) == "[16, 8, 8]"
    model = build_model(project)
    assert result.total_params == sum(p.numel() for p in model.parameters())
    assert result.nodes["stage2"].param_count == sum(p.numel() for p in model.stage2.parameters())
    assert result.nodes["stage2"].flops > result.nodes["stage1"].flops > 0


def test_v2_round_trip_keeps_unknown_keys_everywhere():
    data = nested_project()
    data["future_top"] = {"x": 1}
    data["blocks"]["Stage"]["colour"] = "teal"
    data["blocks"]["Stage"]["params"]["width"]["ui"] = {"slider": True}
    data["graph"]["nodes"][2]["note"] = "first stage"
    data["blocks"]["BasicBlock"]["graph"]["nodes"][1]["note"] = "inner"
    first = project_to_dict(load_project(copy.deepcopy(data)))
    assert first["format_version"] == 2
    assert first["future_top"] == {"x": 1} and first["blocks"]["Stage"]["colour"] == "teal"
    assert first["blocks"]["Stage"]["params"]["width"]["ui"] == {"slider": True}
    assert first["graph"]["nodes"][2] == data["graph"]["nodes"][2]
    assert first["blocks"]["BasicBlock"]["graph"]["nodes"][1]["note"] == "inner"
    assert first["graph"]["nodes"][3]["repeat"] == 2 and first["graph"]["nodes"][3]["block"] == "Stage"
    again = project_to_dict(load_project(json.loads(json.dumps(first))))
    assert again == first


def test_v1_migration_is_pure_and_the_round_trip_is_stable(tmp_path):
    v1 = project_to_dict(mlp())
    v1_before = copy.deepcopy(v1)
    v2 = migrate_v1_to_v2(v1)
    assert v1 == v1_before and v2["format_version"] == 2 and {**v2, "format_version": 1} == v1
    path = tmp_path / "old.layerloom.json"
    path.write_text(json.dumps(v1), encoding="utf-8")
    saved = project_to_json(load_project(path))
    # no blocks: written as version 1 again (older LayerLoom keeps opening it), byte-stable from then on
    assert json.loads(saved) == v1
    path.write_text(saved, encoding="utf-8")
    assert project_to_json(load_project(path)) == saved
    # a migrated project that gains a block is written as version 2
    project = load_project(path)
    project.blocks.add(BlockDef("Empty"))
    assert json.loads(project_to_json(project))["format_version"] == 2


def test_newer_version_is_refused_and_the_file_untouched(tmp_path):
    data = nested_project()
    data["format_version"] = 3
    path = tmp_path / "future.layerloom.json"
    raw = json.dumps(data).encode()
    path.write_bytes(raw)
    with pytest.raises(NewerFormatError, match="newer LayerLoom"):
        load_project(path)
    assert path.read_bytes() == raw


@pytest.mark.parametrize("name, why", [
    ("nn", "CamelCase"), ("torch", "CamelCase"), ("basic", "CamelCase"), ("Basic_Block", "CamelCase"),
    ("Exception", "already uses"), ("PROJECT_NAME", "CamelCase"), ("Tensor", "already uses"), ("F", "already uses"),
    ("Sequential", "already uses"), ("Blöck", "CamelCase"), ("B" * 65, "at most"), ("", "empty"),
])
def test_block_names_follow_the_id_safety_rules(name, why):
    assert why in block_name_problem(name)
    data = nested_project()
    data["blocks"][name] = data["blocks"].pop("BasicBlock")
    with pytest.raises(ProjectError) as info:
        load_project(data)
    assert info.value.field == f"blocks.{name}" and "cannot name a block" in info.value.message
    with pytest.raises(ProjectError):
        BlockLibrary().add(BlockDef(name))


def test_block_param_names_are_checked_at_load():
    data = edited(nested_project(), lambda d: d["blocks"]["Stage"]["params"].update({"class": {"kind": "int"}}))
    with pytest.raises(ProjectError, match="keyword") as info:
        load_project(data)
    assert info.value.field == "blocks.Stage.params.class"
    data = edited(nested_project(), lambda d: d["blocks"]["Stage"]["params"].update({"BasicBlock": {"kind": "int"}}))
    with pytest.raises(ProjectError, match="name of a block"):
        load_project(data)


# ---- checks through blocks -------------------------------------------------------------------------------


def test_a_problem_inside_carries_its_hierarchy_path_and_shows_in_the_definition():
    # BasicBlock's skip Add fails when the block changes the channel count: Stage's repeated `res` gets 2 * width
    # channels but is asked for width.
    def break_it(d):
        d["blocks"]["Stage"]["graph"]["nodes"][2]["params"] = {"channels": "$width"}
    result = check(load_project(edited(nested_project(), break_it)))
    assert not result.ok
    assert sorted({diagnostic_path(d) for d in result.errors}) == ["stage1.res.0.skip"]
    first = result.errors[0]
    assert first.node_id == "stage1" and first.block == "BasicBlock" and first.inner_node_id == "skip"
    assert "Add needs inputs of the same shape" in first.message and str(first).startswith("error: stage1.res.0.skip:")
    assert set(inside_definition(result.diagnostics, "BasicBlock")) == {"skip"}
    assert result.for_node("stage1")  # shown on the instance's card
    assert result.shape("stage2") is None  # nothing downstream of a failing instance is inferred


def test_a_problem_in_one_copy_of_a_repeated_instance_names_the_copy():
    # Only the second copy of `stage2` sees 16 input channels; a Reshape that needs 8 fails there alone.
    def break_it(d):
        stage = d["blocks"]["Stage"]["graph"]
        stage["nodes"].insert(1, n("check8", "Reshape", {"shape": [8, 8, 8]}))
        stage["edges"][0] = e("x", "check8")
        stage["edges"].insert(1, e("check8", "widen"))
    result = check(load_project(edited(nested_project(), break_it)))
    assert sorted({diagnostic_path(d) for d in result.errors}) == ["stage2.1.check8"], result.diagnostics


def test_unknown_block_param_reference_names_the_node_and_the_field():
    data = edited(nested_project(), lambda d: d["blocks"]["BasicBlock"]["graph"]["nodes"][1]["params"].update(
        {"out_channels": "$chanels"}))
    result = check(load_project(data))
    errors = [d for d in result.errors if "$chanels" in d.message]
    assert errors, result.diagnostics
    d = errors[0]
    assert d.inner_node_id == "conv1" and d.field == "out_channels" and d.block == "BasicBlock"
    assert "not a param of this block" in d.message and "channels" in d.message
    assert diagnostic_path(d).endswith(".conv1")


@pytest.mark.parametrize("expr, bad", [("$channels ** 2", "may use only"), ("$os.system", "every name"),
                                       ("$channels // 0", "divides by zero"), ("$channels.real", "every name")])
def test_bad_reference_expressions_are_errors_not_code(expr, bad):
    data = edited(nested_project(), lambda d: d["blocks"]["BasicBlock"]["graph"]["nodes"][1]["params"].update(
        {"out_channels": expr}))
    result = check(load_project(data))
    assert any(bad in d.message and d.field == "out_channels" for d in result.errors), result.diagnostics


def test_recursion_is_refused_with_the_path():
    def recurse(d):  # BasicBlock uses Stage, which uses BasicBlock
        d["blocks"]["BasicBlock"]["graph"]["nodes"].insert(1, n("loop", "Block", {}, block="Stage"))
        edges = d["blocks"]["BasicBlock"]["graph"]["edges"]
        edges[0] = e("x", "loop")
        edges.insert(1, e("loop", "conv1"))
    project = load_project(edited(nested_project(), recurse))
    result = check(project)
    recursion = [d for d in result.errors if "contains itself" in d.message]
    assert recursion, result.diagnostics
    d = recursion[0]
    assert d.field == "block" and d.inner_node_id == "loop" and "Stage -> BasicBlock -> Stage" in d.message
    assert project.blocks.use_path("Stage", "Stage") == ["Stage", "BasicBlock", "Stage"]
    with pytest.raises(InvalidGraphError):
        generate_code(project)


def test_instance_problems_name_the_node_and_field():
    data = nested_project()
    data["graph"]["nodes"][2]["params"] = {"width": 0}
    data["graph"]["nodes"][3]["repeat"] = 0
    data["graph"]["nodes"].append(n("ghost", "Block", {}, block="BasicBlok"))
    result = check(load_project(data))
    by_node = {(d.node_id, d.field): d.message for d in result.errors}
    assert "width must be at least 1" in by_node[("stage1", "width")]
    assert "repeat must be a whole number" in by_node[("stage2", "repeat")]
    assert "no block 'BasicBlok'" in by_node[("ghost", "block")]


def test_block_ports_outside_a_block_are_errors():
    data = project_to_dict(mlp())
    data["graph"]["nodes"].append(n("stray", "BlockInput"))
    result = check(load_project(data))
    assert any(d.node_id == "stray" and "only work inside a block" in d.message for d in result.diagnostics)


def test_an_edit_inside_a_definition_rechecks_its_instances_incrementally():
    project = load_project(chain_project(instances=10, layers=8))
    checker = Checker(project.graph)
    assert checker.check().ok
    library = project.blocks
    before = library.inner_checks
    unit = library.get("Unit")
    seen = []
    project.graph.node_changed.sub(seen.append)
    unit.graph.set_param("layer4", "out_channels", 4)  # Unit now turns 8 channels into 4, then 4 into 4
    result = checker.check()
    assert library.inner_checks - before == 2  # one check of Unit per distinct input shape, not one per instance
    assert sorted(seen) == sorted(f"unit{i}" for i in range(10))
    assert result.ok and str(result.shape("unit9")) == "[4, 8, 8]"
    unit.graph.set_param("layer0", "out_channels", 0)
    result = checker.check()
    assert [(d.node_id, diagnostic_path(d), d.field) for d in result.errors] == [("unit0", "unit0.layer0",
                                                                                  "out_channels")]
    assert result.shape("unit1") is None  # downstream of the failing instance nothing is inferred


def test_adding_a_port_to_a_definition_rechecks_the_instances_wiring():
    project = load_project(two_port_project())
    checker = Checker(project.graph)
    assert checker.check().ok
    mixer = project.blocks.get("Mixer").graph
    from graph_engine.graph import Node
    mixer.add_node(Node("c", "BlockInput"))
    result = checker.check()
    assert any(d.node_id == "mix" and "input 2 (c) is not connected" in d.message for d in result.errors)


# ---- code generation -------------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [nested_project, two_port_project])
def test_exported_file_equals_built_model(tmp_path, make):
    project = load_project(make())
    source = generate_code(project)
    path = tmp_path / "model.py"
    path.write_text(source)
    exported = import_file(path)
    built = build_model(project).eval()
    fresh = exported.create_model().eval()
    assert list(fresh.state_dict()) == list(built.state_dict())
    fresh.load_state_dict(built.state_dict(), strict=True)
    inputs = exported.example_inputs(3)
    with torch.no_grad():
        want, got = built(*inputs), fresh(*inputs)
    assert torch.equal(want, got)
    assert "torch.nn" not in source.split("from torch import nn")[1] and "layerloom" not in source.split('"""', 2)[2]


def test_one_class_per_definition_with_params_as_constructor_args_and_nested_keys():
    project = load_project(nested_project())
    source = generate_code(project)
    assert source.count("class BasicBlock(nn.Module):") == 1 and source.count("class Stage(nn.Module):") == 1
    assert source.index("class BasicBlock") < source.index("class Stage") < source.index("class NestedNet")
    assert "def __init__(self, channels=16):" in source
    assert "self.conv1 = nn.Conv2d(channels, channels, kernel_size=3, padding=1)" in source
    assert "self.widen = nn.Conv2d(in_channels, width * 2, kernel_size=1)" in source  # inferred, varies by use
    assert "self.res = nn.Sequential(*[BasicBlock(channels=width * 2) for _ in range(2)])" in source
    assert "self.stage2 = nn.Sequential(Stage(in_channels=8), Stage(in_channels=16))" in source
    keys = set(build_model(project).state_dict())
    assert {"stage1.widen.weight", "stage1.res.0.conv1.weight", "stage2.1.res.1.bn1.running_mean"} <= keys
    assert max(len(line) for line in source.splitlines()) <= 120


def test_block_doc_cannot_escape_its_docstring(tmp_path):
    marker = tmp_path / "owned"
    evil = f'"""\nimport pathlib; pathlib.Path({str(marker)!r}).touch()\n"""'
    data = edited(nested_project(), lambda d: d["blocks"]["Stage"].update(doc=evil))
    source = generate_code(load_project(data))
    path = tmp_path / "m.py"
    path.write_text(source)
    import_file(path)
    assert not marker.exists()


def test_onnx_export_of_a_project_with_blocks(tmp_path):
    pytest.importorskip("onnxruntime")
    from graph_engine.export import export_onnx, verify_onnx

    project = load_project(nested_project())
    exported = export_onnx(project, tmp_path / "nested.onnx")
    report = verify_onnx(project, exported.path, reference_state=exported.state)
    assert report.ok, report.line()


def test_saved_project_with_blocks_builds_the_same_after_reload(tmp_path):
    project = load_project(nested_project())
    path = tmp_path / "n.layerloom.json"
    save_project(project, path)
    assert generate_code(load_project(path)) == generate_code(project)


def test_cli_prints_the_hierarchy_path_and_the_block_in_the_summary():
    from graph_engine.cli import format_diagnostic, summary_table

    data = edited(nested_project(), lambda d: d["blocks"]["BasicBlock"]["graph"]["nodes"][1]["params"].update(
        {"out_channels": "$chanels"}))
    result = check(load_project(data))
    assert format_diagnostic(result.errors[0]).startswith("error: stage1.res.0.conv1 [out_channels]: $chanels is not")
    project = load_project(nested_project())
    table = summary_table(project, check(project))
    assert "Stage x2" in table and "stage1  Stage " in table
