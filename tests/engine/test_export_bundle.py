"""The export bundle and the checked export: what is written, the check that passes, the checks that catch a
tampered weights file or code, and weights that are only ever read with safetensors or weights_only."""

from __future__ import annotations

import pickle
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file, save_file

from graph_engine import build_model, check, load_project
from graph_engine.export import WeightsError, export_bundle, load_module_from_file, read_weights, verify_code
from graph_engine.export.weights import load_strict
from graph_engine.project_io import save_project
from graph_engine.templates import load_template


@pytest.fixture
def project_file(tmp_path):
    project = load_template("cnn_digits")
    path = tmp_path / "proj" / "cnn.layerloom.json"
    path.parent.mkdir()
    save_project(project, path)
    return path


def test_bundle_writes_everything_and_checks_it(project_file, tmp_path):
    project = load_project(project_file)
    result = export_bundle(project, tmp_path / "bundle", project_path=project_file)
    names = sorted(p.name for p in (tmp_path / "bundle").iterdir())
    assert names == [".layerloom-bundle.json", "README.md", "cnn.layerloom.json", "model.py", "model.safetensors",
                     "train.py"]
    assert result.check.ok and result.check.max_abs_diff == 0, result.check.line()
    assert result.check.line().startswith("check: model.py reproduces the in-app model (max abs diff 0, batch 4")
    readme = (tmp_path / "bundle" / "README.md").read_text(encoding="utf-8")
    for command in ("python model.py", "python train.py --out runs/single",
                    "torchrun --standalone --nproc_per_node 2 train.py --out runs/ddp",
                    "layerloom export cnn.layerloom.json --onnx model.onnx --weights model.safetensors",
                    'model.load_state_dict(load_file("model.safetensors"), strict=True)'):
        assert command in readme, command
    assert load_project(tmp_path / "bundle" / "cnn.layerloom.json").graph.nodes.keys() == project.graph.nodes.keys()
    # The weights are the ones a training run with the project's seed starts from, and load strictly.
    torch.manual_seed(0)
    fresh = build_model(project)
    written = load_file(tmp_path / "bundle" / "model.safetensors")
    assert all(torch.equal(written[k], v) for k, v in fresh.state_dict().items())
    model = load_module_from_file(tmp_path / "bundle" / "model.py").create_model()
    model.load_state_dict(written, strict=True)
    proc = subprocess.run([sys.executable, "model.py"], cwd=tmp_path / "bundle", capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0 and "parameters:" in proc.stdout, proc.stderr


def test_bundle_carries_given_weights(project_file, tmp_path):
    project = load_project(project_file)
    trained = build_model(project)
    with torch.no_grad():
        for p in trained.parameters():
            p.mul_(-2.0)
    result = export_bundle(project, tmp_path / "b", trained.state_dict())
    assert result.check.ok
    written = load_file(tmp_path / "b" / "model.safetensors")
    assert all(torch.equal(written[k], v) for k, v in trained.state_dict().items())
    assert (tmp_path / "b" / "project.layerloom.json").is_file()


def test_a_relative_dataset_path_is_made_absolute_in_the_bundle(tmp_path):
    project = load_template("moons_mlp")
    project.training = dict(project.training, dataset={"name": "csv", "path": "data/t.csv"}, task="classification")
    export_bundle(project, tmp_path / "b", base_dir=tmp_path / "home")
    copy = load_project(tmp_path / "b" / "project.layerloom.json")
    assert copy.training["dataset"]["path"] == str((tmp_path / "home" / "data" / "t.csv").resolve())
    assert project.training["dataset"]["path"] == "data/t.csv"


# ---- the checked export catches tampering ------------------------------------------------------------------


@pytest.fixture
def bundle(project_file, tmp_path):
    project = load_project(project_file)
    result = export_bundle(project, tmp_path / "bundle", project_path=project_file)
    assert result.check.ok
    return project, result


def test_a_weights_file_with_changed_values_is_caught(bundle):
    project, result = bundle
    path = result.files["weights"]
    state = load_file(path)
    key = next(k for k in state if k.endswith("weight") and state[k].dtype == torch.float32)
    state[key] = state[key] + 0.01
    save_file(state, path)
    report = verify_code(project, result.files["model"], path, reference_state=result.state)
    assert not report.ok and report.max_abs_diff > 1e-4
    assert "does NOT reproduce" in report.line() and "the outputs differ" in report.line()


def test_a_weights_file_with_a_renamed_layer_is_caught_and_named(bundle):
    project, result = bundle
    path = result.files["weights"]
    state = load_file(path)
    key = next(iter(state))
    layer = key.split(".")[0]
    state["renamed." + key.split(".", 1)[1]] = state.pop(key)
    save_file(state, path)
    report = verify_code(project, result.files["model"], path, reference_state=result.state)
    assert not report.ok and report.max_abs_diff is None
    assert f"layer {layer!r}" in report.reason and "missing from the file" in report.reason
    assert "'renamed' (not a layer of this network)" in report.reason


def test_a_damaged_weights_file_is_reported(bundle):
    project, result = bundle
    result.files["weights"].write_bytes(b"not a safetensors file at all")
    report = verify_code(project, result.files["model"], result.files["weights"], reference_state=result.state)
    assert not report.ok and "cannot read weights" in report.reason


def test_edited_code_is_caught(bundle):
    project, result = bundle
    code = result.files["model"]
    source = code.read_text(encoding="utf-8")
    assert "nn.ReLU()" in source
    code.write_text(source.replace("nn.ReLU()", "nn.Tanh()", 1), encoding="utf-8")
    report = verify_code(project, code, result.files["weights"], reference_state=result.state)
    assert not report.ok and report.max_abs_diff > 0
    code.write_text(source.replace("def create_model", "def create_model_renamed"), encoding="utf-8")
    report = verify_code(project, code, result.files["weights"], reference_state=result.state)
    assert not report.ok and "does not run" in report.reason and "AttributeError" in report.reason


def test_checking_leaves_no_bytecode_cache_and_no_module_behind(bundle):
    project, result = bundle
    before = set(sys.modules)
    assert verify_code(project, result.files["model"], result.files["weights"], reference_state=result.state).ok
    assert not (result.folder / "__pycache__").exists()
    assert not [m for m in set(sys.modules) - before if m.startswith("layerloom_exported")]


# ---- weights are read safely and loaded strictly -------------------------------------------------------------


class _Payload:
    """An object whose unpickling would run code."""

    def __reduce__(self):
        return (exec, ("import pathlib; pathlib.Path('PWNED').write_text('x')",))


def test_a_pickle_with_objects_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.pt"
    torch.save({"fc.weight": torch.zeros(2, 2), "payload": _Payload()}, path)
    with pytest.raises(WeightsError, match="holds Python objects"):
        read_weights(path)
    assert not (tmp_path / "PWNED").exists()
    raw = tmp_path / "raw.pkl"
    raw.write_bytes(pickle.dumps({"fc.weight": _Payload()}))
    with pytest.raises(WeightsError):
        read_weights(raw)
    assert not (tmp_path / "PWNED").exists()


def test_a_plain_state_dict_pt_loads_with_weights_only(tmp_path):
    project = load_template("moons_mlp")
    model = build_model(project)
    torch.save(model.state_dict(), tmp_path / "w.pt")
    torch.save({"state_dict": model.state_dict(), "epoch": 3}, tmp_path / "ckpt.pth")
    for name in ("w.pt", "ckpt.pth"):
        weights = read_weights(tmp_path / name)
        other = build_model(project)
        load_strict(other, weights, name)
        assert all(torch.equal(a, b) for a, b in zip(other.state_dict().values(), model.state_dict().values(),
                                                     strict=True))


def test_a_safetensors_file_is_recognised_by_content(tmp_path):
    project = load_template("moons_mlp")
    model = build_model(project)
    save_file(model.state_dict(), tmp_path / "weights.bin.data")
    assert read_weights(tmp_path / "weights.bin.data").keys() == model.state_dict().keys()
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(WeightsError, match="not a weights file"):
        read_weights(tmp_path / "notes.txt")
    with pytest.raises(WeightsError, match="does not exist"):
        read_weights(tmp_path / "missing.safetensors")


def test_strict_loading_names_every_layer_that_does_not_fit():
    project = load_template("mlp_digits")
    model = build_model(project)
    state = dict(model.state_dict())
    state["fc1.weight"] = torch.zeros(5, 5)
    del state["fc2.bias"]
    state["extra.weight"] = torch.zeros(1)
    with pytest.raises(WeightsError) as info:
        load_strict(model, state, "w.safetensors", {n.id: n.op for n in project.graph})
    text = str(info.value)
    assert "layer 'fc1' (Linear): weight has shape [5, 5] in the file" in text
    assert "layer 'fc2' (Linear): bias is missing from the file" in text
    assert "'extra' (not a layer of this network): weight is in the file but not in the network" in text
    assert info.value.node_id == "fc1"
    assert check(project).ok
