"""Built-in templates: every one is valid, and its exported code is standalone and equals the in-app model."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
import torch

from graph_engine import build_model, check, compile_project, load_project, project_to_dict
from graph_engine.cli import main
from graph_engine.gan import check_gan
from graph_engine.layout import layered_layout
from graph_engine.templates import (
    SUFFIX,
    UnknownTemplateError,
    closest_template,
    get_template,
    list_templates,
    load_template,
    template_names,
    templates_dir,
)

TEMPLATES = list_templates()
NAMES = [t.name for t in TEMPLATES]
REQUIRED = {"mlp_digits", "cnn_digits", "lenet5", "resnet_digits", "lstm_sine", "gru_tokens", "transformer_tokens",
            "autoencoder_digits", "unet_small", "dcgan_generator", "moons_mlp"}
DATASETS = {"digits", "iris", "wine", "breast_cancer", "diabetes", "moons", "circles", "spirals", "xor", "sine",
            "tokens", "char_text", "stroke_digits"}
LOSS_FOR_TASK = {"classification": "CrossEntropyLoss", "regression": "MSELoss", "autoencoder": "MSELoss",
                 "language_model": "CrossEntropyLoss"}
# Elements per sample of each built-in dataset whose size is fixed (a matching Input reshapes it).
DATASET_FEATURES = {"digits": 64, "iris": 4, "wine": 13, "breast_cancer": 30, "diabetes": 10, "moons": 2,
                    "circles": 2, "spirals": 2, "xor": 2}
DATASET_CLASSES = {"digits": 10, "iris": 3, "wine": 3, "breast_cancer": 2, "moons": 2, "circles": 2, "spirals": 2,
                   "xor": 2}


def test_the_required_templates_exist():
    assert REQUIRED <= set(NAMES), REQUIRED - set(NAMES)
    assert NAMES == sorted(NAMES)
    assert template_names() == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_template_is_valid_without_warnings(name):
    project = load_template(name)
    result = check(project)
    assert result.ok
    assert result.diagnostics == [], [str(d) for d in result.diagnostics]
    assert set(result.live) == set(project.graph.nodes), "every node is used"
    assert result.total_params > 0


@pytest.mark.parametrize("name", NAMES)
def test_template_file_is_a_tidy_project(name):
    info = get_template(name)
    assert info.path == templates_dir() / f"{name}{SUFFIX}"
    raw = json.loads(info.path.read_text(encoding="utf-8"))
    # version 1 unless the template uses blocks (then version 2, and every definition is laid out too)
    assert raw["format"] == "layerloom" and raw["format_version"] == (2 if "blocks" in raw else 1)
    for defn in load_template(name).blocks:
        assert {n.id: n.pos for n in defn.graph} == layered_layout(defn.graph), defn.name
    assert info.title == raw["name"] and info.title
    assert info.description == raw["description"] and len(info.description) > 40
    assert 20 < len(info.summary) <= 100 and info.summary.endswith(".")
    nodes = raw["graph"]["nodes"]
    positions = [tuple(n["pos"]) for n in nodes]
    assert len(set(positions)) == len(positions), "no two nodes on the same spot"
    assert {n["id"]: tuple(n["pos"]) for n in nodes} == layered_layout(load_template(name).graph), \
        "templates are laid out by graph_engine.layout (regenerate the positions after editing a template)"
    # The description is an unknown top-level key: it survives a load and a save.
    project = load_project(info.path)
    assert project_to_dict(project)["description"] == raw["description"]
    assert project_to_dict(project)["graph"] == raw["graph"]


@pytest.mark.parametrize("name", NAMES)
def test_template_training_section_is_sensible(name):
    project = load_template(name)
    training = project.training
    if training is None:
        assert "no training section" in get_template(name).description
        return
    if training.get("recipe") == "gan":  # a generator and its discriminator (tests/engine/test_gan.py)
        nets = check_gan(project)
        assert training["dataset"]["name"] in ("digits", "stroke_digits") and training["val_fraction"] == 0
        assert nets.sample_shape == {"digits": (1, 8, 8), "stroke_digits": (1, 28, 28)}[training["dataset"]["name"]]
        assert {n["id"]: tuple(n["pos"]) for n in project_to_dict(project)["discriminator"]["nodes"]} == \
            layered_layout(project.discriminator)
        return
    assert training["task"] in LOSS_FOR_TASK
    assert training["loss"] == LOSS_FOR_TASK[training["task"]]
    assert training["optimizer"]["name"] == "Adam" and 0 < training["optimizer"]["lr"] < 0.1
    assert isinstance(training["epochs"], int) and training["epochs"] >= 1
    assert isinstance(training["batch_size"], int) and training["batch_size"] >= 1
    assert 0 < training["val_fraction"] < 1 and training["seed"] == 0 and training["device"] == "auto"
    result = check(project)
    (input_id,) = [n.id for n in project.graph if n.op == "Input"]
    (output_id,) = [n.id for n in project.graph if n.op == "Output"]
    in_type, out_type = result.shape(input_id), result.nodes[output_id].inputs[0]
    if "dataset" not in training:
        assert "names no dataset" in get_template(name).description
        return
    dataset = training["dataset"]["name"]
    assert dataset in DATASETS
    if dataset in DATASET_FEATURES:
        assert in_type.numel == DATASET_FEATURES[dataset], "the dataset's samples reshape to the Input"
    if training["task"] == "classification" and dataset in DATASET_CLASSES:
        assert out_type.shape == (DATASET_CLASSES[dataset],)
    if training["task"] == "autoencoder":
        assert out_type.shape == in_type.shape
    if dataset == "tokens":
        assert in_type.dtype == "int64"


@pytest.mark.parametrize("name", NAMES)
def test_cli_check_accepts_template(name, capsys):
    assert main(["check", str(get_template(name).path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ok: ") and "warning" not in out


def test_unknown_template_suggests_the_closest_name():
    with pytest.raises(UnknownTemplateError) as info:
        load_template("lenet")
    assert info.value.suggestion == "lenet5"
    assert "did you mean 'lenet5'?" in str(info.value)
    assert closest_template("unet") == "unet_small"
    assert closest_template("Resnet-Digits") == "resnet_digits"
    assert closest_template("qqqqqq") is None
    with pytest.raises(UnknownTemplateError):
        load_template("../graph_engine/cli")  # names come from the folder listing, never become a path


DRIVER = textwrap.dedent("""
    import contextlib, importlib.util, io, json, runpy, sys

    OURS = ("graph_engine", "app", "layerloom")

    class Forbid:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in OURS:
                raise ImportError("generated code must not import " + name)
            return None

    sys.meta_path.insert(0, Forbid())
    import torch

    for name, code_path, data_path, expected_line in json.loads(sys.argv[1]):
        spec = importlib.util.spec_from_file_location("exported_" + name, code_path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        data = torch.load(data_path, weights_only=True)
        model = module.create_model()
        model.load_state_dict(data["state"], strict=True)
        model.eval()
        with torch.no_grad():
            out = model(*data["inputs"])
        outs = out if isinstance(out, tuple) else (out,)
        assert len(outs) == len(data["expected"]), name
        for got, want in zip(outs, data["expected"]):
            assert got.dtype == want.dtype and torch.equal(got, want), name + ": outputs differ"
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            runpy.run_path(code_path, run_name="__main__")  # the file's own `python model.py` block
        lines = printed.getvalue().splitlines()
        assert lines[0] == expected_line, (name, lines)
        assert lines[1].startswith("parameters: "), (name, lines)
        print(name, "ok", lines[1])
    leaked = sorted(m for m in sys.modules if m.split(".")[0] in OURS)
    assert not leaked, leaked
    print("all ok")
""")


def _expected_main_line(project) -> str:
    result = check(project)
    (output_id,) = [n.id for n in project.graph if n.op == "Output"]
    shape = result.nodes[output_id].inputs[0].shape
    return f"{output_id} {(2, *shape)}"


def test_exported_code_is_standalone_and_equals_build_model(tmp_path):
    """All templates in one subprocess (one torch import): export with the CLI, load the in-app model's
    weights into the exported class with strict=True, compare eval outputs exactly, run the __main__ block."""
    cases = []
    for info in TEMPLATES:
        code_path = tmp_path / f"{info.name}_model.py"
        assert main(["export", str(info.path), "--code", str(code_path)]) == 0
        project = load_project(info.path)
        compiled = compile_project(project)
        assert code_path.read_text(encoding="utf-8") == compiled.source
        torch.manual_seed(0)
        model = build_model(project)
        inputs = compiled.example_inputs(4)
        with torch.no_grad():
            model.train()
            model(*inputs)  # moves BatchNorm running statistics away from their initial values
            model.eval()
            out = model(*inputs)
        expected = out if isinstance(out, tuple) else (out,)
        data_path = tmp_path / f"{info.name}.pt"
        torch.save({"state": model.state_dict(), "inputs": inputs, "expected": expected}, data_path)
        cases.append([info.name, str(code_path), str(data_path), _expected_main_line(project)])
    proc = subprocess.run([sys.executable, "-c", DRIVER, json.dumps(cases)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "all ok"
    assert len(proc.stdout.splitlines()) == len(TEMPLATES) + 1


def test_exported_file_runs_as_a_script(tmp_path):
    info = get_template("lenet5")
    code_path = tmp_path / "model.py"
    assert main(["export", str(info.path), "--code", str(code_path)]) == 0
    proc = subprocess.run([sys.executable, str(code_path)], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["logits (2, 10)", "parameters: 61706"]
