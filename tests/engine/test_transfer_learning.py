"""Transfer learning (issue 10): start from given weights, freeze layers, replace a head and fine-tune.

The must-show: a CNN imported with its weights through the importer, its backbone frozen, a new Linear head
for an image folder's classes, trained on that folder: every frozen tensor (weights and BatchNorm buffers) is
bitwise unchanged and the head learns."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
import torch

from graph_engine.export.weights import WeightsError, read_weights, save_weights
from graph_engine.graph import Edge, Node
from graph_engine.importer import import_module, save_import
from graph_engine.project_io import load_project, project_to_dict, save_project
from graph_engine.training import recipe
from graph_engine.training.config import TrainingConfig, TrainingConfigError
from graph_engine.training.freezing import frozen_paths, parameter_split
from graph_engine.training.loop import Trainer
from graph_engine.validation import check
from tests.engine.transfer_models import pretrained_cnn, write_digit_folder

BACKBONE = ("conv1", "bn1", "conv2", "bn2")


def import_cnn(folder, steps):
    """The CNN imported with its weights: (project path, weights path, the module's state)."""
    module = pretrained_cnn(steps)
    result = import_module(module, [(1, 28, 28)], name="Small CNN")
    assert result.max_abs_diff == 0.0
    project_path, weights_path = save_import(result, folder / "small.layerloom.json")
    return project_path, weights_path, {k: v.clone() for k, v in module.state_dict().items()}


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    return import_cnn(tmp_path_factory.mktemp("imported"), steps=0)


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    return import_cnn(tmp_path_factory.mktemp("pretrained"), steps=30)


def replace_head(project, classes, new_id="head"):
    """On the canvas: delete the Linear head, add a new one of `classes` outputs, connect it."""
    graph = project.graph
    graph.remove_node("fc")
    graph.add_node(Node(new_id, "Linear", {"out_features": classes}))
    graph.add_edge(Edge("flatten", new_id))
    graph.add_edge(Edge(new_id, "out"))


@pytest.mark.slow
def test_fine_tune_frozen_backbone_new_head_on_an_image_folder(pretrained, tmp_path):
    project_path, weights_path, source_state = pretrained
    classes = 3
    folder = write_digit_folder(tmp_path / "digits", per_class=40, classes=classes)
    project = load_project(project_path)
    replace_head(project, classes)
    for node_id in BACKBONE:
        project.graph.set_trainable(node_id, False)
    project.training = {"dataset": {"name": "image_folder", "path": str(folder), "size": 28},
                        "init": {"weights": weights_path.name, "fresh": ["head", "fc"]},
                        "optimizer": {"name": "Adam", "lr": 0.05}, "epochs": 12, "batch_size": 16,
                        "val_fraction": 0.25, "seed": 3}
    save_project(project, tmp_path / "fine.layerloom.json")
    weights_path_copy = tmp_path / weights_path.name
    weights_path_copy.write_bytes(weights_path.read_bytes())

    trainer = Trainer(tmp_path / "fine.layerloom.json", run_dir=tmp_path / "run")
    result = trainer.run()
    assert type(result).__name__ == "FinishedEvent", result
    after = trainer.model.state_dict()
    for key, before in source_state.items():
        if key.startswith("fc."):
            continue
        assert torch.equal(after[key].cpu(), before), f"{key} changed although its layer is frozen"
        assert after[key].dtype == before.dtype
    # The optimiser was never given the frozen parameters.
    given = {id(p) for group in trainer.optimizer.param_groups for p in group["params"]}
    assert given == {id(p) for p in trainer.model.head.parameters()}
    assert trainer.frozen_count == sum(v.numel() for k, v in source_state.items()
                                       if not k.startswith("fc.") and "running" not in k and "num_batches" not in k)
    best = max(r["val_accuracy"] for r in trainer.history)
    assert best >= 0.75, f"the new head did not learn: best val accuracy {best} (chance {1 / classes:.2f})"
    # What the run reports: started from the file, the head newly initialised.
    assert any("newly initialised: head" in w for w in trainer.warnings)
    # The run folder's weights are the trained ones, frozen tensors still the file's.
    final = read_weights(tmp_path / "run" / "model.safetensors")
    assert torch.equal(final["bn2.running_var"], source_state["bn2.running_var"])


def test_without_fresh_a_replaced_head_is_refused_naming_the_layers(imported, tmp_path):
    project_path, weights_path, _ = imported
    project = load_project(project_path)
    replace_head(project, 6)
    project.training = {"dataset": {"name": "shapes", "n_samples": 60}, "init": str(weights_path), "epochs": 1}
    result = Trainer(project, base_dir=tmp_path).run()
    assert type(result).__name__ == "FailedEvent"
    assert "head.weight is missing from the file" in result.message
    assert "'fc' (not a layer of this network): " in result.message
    assert "fc.weight is in the file but not in the network" in result.message
    assert "training.init.fresh" in result.hint and "--fresh head --fresh fc" in result.hint


def test_a_mis_shaped_head_kept_under_its_id_is_refused_then_started_fresh(imported, tmp_path):
    project_path, weights_path, source_state = imported
    project = load_project(project_path)
    project.graph.set_params("fc", {"out_features": 6})
    project.training = {"dataset": {"name": "shapes", "n_samples": 60}, "init": {"weights": str(weights_path)},
                        "epochs": 1, "val_fraction": 0.5}
    failed = Trainer(project).run()
    assert type(failed).__name__ == "FailedEvent"
    assert "layer 'fc' (Linear): fc.weight has shape [10, 16] in the file but [6, 16] in the network" in failed.message
    project.training["init"]["fresh"] = ["fc"]
    trainer = Trainer(project)
    trainer.prepare()
    state = trainer.model.state_dict()
    assert torch.equal(state["conv1.weight"], source_state["conv1.weight"])
    assert state["fc.weight"].shape == (6, 16)
    assert trainer.init_report.fresh_layers == ["fc"]


def test_init_loads_a_pt_state_dict_and_a_bad_file_is_a_clear_error(imported, tmp_path):
    project_path, _, source_state = imported
    torch.save(source_state, tmp_path / "w.pt")
    project = load_project(project_path)
    project.training = {"dataset": {"name": "stroke_digits", "n_samples": 40}, "init": "w.pt", "epochs": 1}
    trainer = Trainer(project, base_dir=tmp_path)
    trainer.prepare()
    assert all(torch.equal(trainer.model.state_dict()[k], v) for k, v in source_state.items())
    project.training["init"] = "missing.safetensors"
    result = Trainer(project, base_dir=tmp_path).run()
    assert type(result).__name__ == "FailedEvent" and "missing.safetensors does not exist" in result.message
    project.training["init"] = {"weights": "w.pt", "fresh": ["nothing_here"]}
    result = Trainer(project, base_dir=tmp_path).run()
    assert "'nothing_here'" in result.message


@pytest.mark.parametrize("bad", [3, "", {"weights": 1}, {"weights": "a.pt", "fresh": "fc"},
                                 {"weights": "a.pt", "extra": 1}])
def test_bad_init_settings_name_the_field(bad):
    with pytest.raises(TrainingConfigError) as info:
        TrainingConfig.parse({"init": bad})
    assert info.value.field.startswith("training.init")


def test_init_round_trips_through_the_config():
    cfg = TrainingConfig.parse({"init": "w.safetensors"})
    assert cfg.init.weights == "w.safetensors" and cfg.to_dict()["init"] == {"weights": "w.safetensors"}
    assert "init" not in TrainingConfig.parse({}).to_dict()
    again = TrainingConfig.parse({"init": {"weights": "w.pt", "fresh": ["fc", "fc"]}}).with_overrides(epochs=2)
    assert again.init.fresh == ("fc",)


def test_trainable_false_is_in_the_file_only_when_frozen(imported, tmp_path):
    project_path, _, _ = imported
    project = load_project(project_path)
    assert "trainable" not in json.dumps(project_to_dict(project))
    project.graph.set_trainable("conv1", False)
    data = project_to_dict(project)
    assert [n for n in data["graph"]["nodes"] if n["id"] == "conv1"][0]["trainable"] is False
    save_project(project, tmp_path / "p.layerloom.json")
    back = load_project(tmp_path / "p.layerloom.json")
    assert not back.graph.node("conv1").trainable and back.graph.node("conv2").trainable
    assert not back.copy().graph.node("conv1").trainable
    data["graph"]["nodes"][1]["trainable"] = "no"
    from graph_engine.errors import ProjectError
    from graph_engine.project_io import parse_project

    with pytest.raises(ProjectError) as info:
        parse_project(data)
    assert info.value.field == "trainable" and info.value.node_id == "conv1"


def test_parameter_split_and_frozen_batchnorm_stays_in_eval_mode(imported):
    project_path, _, _ = imported
    project = load_project(project_path)
    project.graph.set_trainable("bn1", False)
    project.graph.set_trainable("conv2", False)
    result = check(project)
    trainable, frozen = parameter_split(project, result)
    assert frozen == 16 + (16 * 8 * 9 + 16) and trainable + frozen == result.total_params
    model = __import__("graph_engine.codegen", fromlist=["build_model"]).build_model(project)
    fixed = recipe.freeze(model, frozen_paths(project))
    assert fixed == [model.bn1]
    recipe.train_mode(model, fixed)
    assert model.training and model.bn2.training and not model.bn1.training
    assert not model.conv2.weight.requires_grad and model.conv1.weight.requires_grad


def test_every_layer_frozen_says_to_unfreeze(imported):
    project_path, _, _ = imported
    project = load_project(project_path)
    for node in list(project.graph):
        project.graph.set_trainable(node.id, False)
    project.training = {"dataset": {"name": "stroke_digits", "n_samples": 40}, "epochs": 1}
    result = Trainer(project).run()
    assert type(result).__name__ == "FailedEvent" and "unfreeze" in result.hint


def test_saved_init_weights_are_never_unpickled(tmp_path):
    """A .pt with a Python object in it is refused (weights_only), for init as for every weights file."""
    torch.save({"w": torch.zeros(1), "obj": {1, 2}}, tmp_path / "bad.pt")
    with pytest.raises(WeightsError):
        read_weights(tmp_path / "bad.pt")
    save_weights({"a": torch.ones(2)}, tmp_path / "ok.safetensors")
    assert np.array_equal(recipe.read_state_dict(tmp_path / "ok.safetensors")["a"].numpy(), np.ones(2))


# ---- the exported train.py does the same --------------------------------------------------------------------


@pytest.mark.slow
def test_exported_train_py_starts_from_the_weights_freezes_and_matches_the_app(imported, tmp_path):
    from graph_engine import generate_code
    from graph_engine.export import write_train_script
    from tests.engine.test_export_train_script import run_script

    project_path, weights_path, source_state = imported
    folder = write_digit_folder(tmp_path / "digits", per_class=12, classes=3)
    project = load_project(project_path)
    replace_head(project, 3)
    for node_id in BACKBONE:
        project.graph.set_trainable(node_id, False)
    project.training = {"dataset": {"name": "image_folder", "path": str(folder), "size": 28},
                        "init": {"weights": str(weights_path), "fresh": ["head", "fc"]}, "epochs": 2,
                        "batch_size": 8, "device": "cpu"}
    export = tmp_path / "export"
    export.mkdir()
    (export / "model.py").write_text(generate_code(project), encoding="utf-8")
    script = write_train_script(project, export / "train.py", export / "model.py")
    proc = run_script([sys.executable, str(script), "--out", "out"], cwd=export)
    assert proc.returncode == 0, proc.stderr
    assert "frozen: conv1, bn1, conv2, bn2" in proc.stdout and "newly initialised: head.weight, head.bias" in proc.stdout
    ours = json.loads((export / "out" / "metrics.json").read_text())
    app = Trainer(project, probes=False).run().history
    for mine, theirs in zip(ours, app, strict=True):
        for key in ("train_loss", "train_accuracy", "val_loss", "val_accuracy"):
            assert mine[key] == pytest.approx(theirs[key], rel=1e-6, abs=1e-9), key
    trained = read_weights(export / "out" / "model.safetensors")
    for key, before in source_state.items():
        if not key.startswith("fc."):
            assert torch.equal(trained[key], before), key
    # Without FRESH the script refuses the file, naming the keys, and says what to do.
    source = script.read_text(encoding="utf-8")
    assert "FRESH = ('head', 'fc')" in source
    script.write_text(source.replace("FRESH = ('head', 'fc')", "FRESH = ()"), encoding="utf-8")
    proc = run_script([sys.executable, str(script), "--out", "out2"], cwd=export)
    assert proc.returncode != 0 and "head.weight is missing from the file" in proc.stderr and "FRESH" in proc.stderr


def test_a_script_without_frozen_layers_has_no_freezing_code(imported):
    from graph_engine.export import generate_train_script

    source = generate_train_script(load_project(imported[0]))  # the script is written without loading data
    assert "def freeze(" not in source and "FROZEN" not in source and "--init" in source
    frozen = load_project(imported[0])
    frozen.graph.set_trainable("conv1", False)
    assert "FROZEN = ('conv1',)" in generate_train_script(frozen)


# ---- the command line ---------------------------------------------------------------------------------------


def test_layerloom_train_init_and_fresh(imported, tmp_path, capsys, monkeypatch):
    from graph_engine.training.cli_train import run_train

    project_path, weights_path, source_state = imported
    project = load_project(project_path)
    replace_head(project, 6)
    project.graph.set_trainable("conv1", False)
    project.training = {"dataset": {"name": "shapes", "n_samples": 48}, "epochs": 1, "batch_size": 16}
    save_project(project, tmp_path / "fine.layerloom.json")
    monkeypatch.chdir(weights_path.parent)  # a path on the command line starts at the current folder
    code = run_train([str(tmp_path / "fine.layerloom.json"), "--init", weights_path.name, "--out",
                      str(tmp_path / "a")])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "head.weight is missing from the file" in err
    assert "--fresh head --fresh fc" in err
    code = run_train([str(tmp_path / "fine.layerloom.json"), "--init", weights_path.name, "--fresh", "head",
                      "--fresh", "fc", "--out", str(tmp_path / "b"), "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "warning: started from the weights in " in err and "newly initialised: head" in err
    assert "(80 more frozen)" in err  # conv1: 8 * 1 * 9 + 8
    trained = read_weights(tmp_path / "b" / "model.safetensors")
    assert torch.equal(trained["conv1.weight"], source_state["conv1.weight"])
    assert not torch.equal(trained["conv2.weight"], source_state["conv2.weight"])  # trained
    copy = json.loads((tmp_path / "b" / "project.layerloom.json").read_text())
    assert copy["training"]["init"] == {"weights": str(weights_path), "fresh": ["head", "fc"]}
    assert run_train([str(tmp_path / "fine.layerloom.json"), "--fresh", "head"]) == 1
    assert "--fresh needs starting weights" in capsys.readouterr().err


def test_layerloom_summary_counts_frozen_parameters(imported, tmp_path, capsys):
    from graph_engine.cli import main

    project = load_project(imported[0])
    project.graph.set_trainable("conv2", False)
    save_project(project, tmp_path / "p.layerloom.json")
    assert main(["summary", str(tmp_path / "p.layerloom.json")]) == 0
    out = capsys.readouterr().out
    assert "frozen" in [line for line in out.splitlines() if line.startswith("conv2 ")][0]
    assert "1,168 frozen (trainable: false)" in out  # 16 * 8 * 9 + 16


# ---- blocks -------------------------------------------------------------------------------------------------


def test_a_frozen_block_instance_freezes_everything_inside_and_counts_match_the_model():
    from graph_engine.codegen import build_model
    from graph_engine.project_io import parse_project
    from tests.engine.blocks_factory import nested_project

    data = nested_project()
    for node in data["graph"]["nodes"]:
        if node["id"] == "stage2":
            node["trainable"] = False  # a repeated instance of a block that holds a repeated block
    data["blocks"]["BasicBlock"]["graph"]["nodes"][2]["trainable"] = False  # bn1 in every BasicBlock
    project = parse_project(data)
    assert project_to_dict(project)["blocks"]["BasicBlock"]["graph"]["nodes"][2]["trainable"] is False
    paths = frozen_paths(project)
    assert paths == ["stage1.res.0.bn1", "stage1.res.1.bn1", "stage2"]
    model = build_model(project)
    fixed = recipe.freeze(model, paths)
    frozen_model = {name for name, p in model.named_parameters() if not p.requires_grad}
    assert frozen_model == {name for name, _ in model.named_parameters()
                            if name.startswith("stage2.") or ".bn1." in name}
    assert len(fixed) == 2 + 2 * 2  # stage1's two bn1, and stage2's two copies of two BasicBlocks
    result = check(project)
    trainable, frozen = parameter_split(project, result)
    assert frozen == sum(p.numel() for p in model.parameters() if not p.requires_grad)
    assert trainable == sum(p.numel() for p in model.parameters() if p.requires_grad)


def test_ungrouping_a_frozen_instance_keeps_its_layers_frozen():
    from graph_engine.blocks import edits
    from graph_engine.project_io import parse_project
    from tests.engine.blocks_factory import nested_project

    project = parse_project(nested_project())
    project.graph.set_trainable("stage1", False)
    inserted = edits.ungroup(project, "stage1")
    assert inserted and all(not project.graph.node(n).trainable for n in inserted)


def test_a_resumed_run_continues_from_its_checkpoint_not_from_init(imported, tmp_path):
    from graph_engine.training.loop import resume

    project_path, weights_path, source_state = imported
    copy = tmp_path / "w.safetensors"
    copy.write_bytes(weights_path.read_bytes())
    project = load_project(project_path)
    project.graph.set_trainable("conv1", False)
    project.training = {"dataset": {"name": "stroke_digits", "n_samples": 40}, "init": str(copy), "epochs": 1,
                        "batch_size": 16, "device": "cpu"}
    first = Trainer(project, run_dir=tmp_path / "run").run()
    assert type(first).__name__ == "FinishedEvent"
    copy.unlink()  # the starting weights are gone: resuming must not need them
    again = resume(tmp_path / "run", epochs=2, probes=False)
    assert type(again).__name__ == "FinishedEvent" and len(again.history) == 2
    final = read_weights(tmp_path / "run" / "model.safetensors")
    assert torch.equal(final["conv1.weight"], source_state["conv1.weight"])  # frozen through the resume too
