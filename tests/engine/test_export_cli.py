"""`layerloom export` (code, training script, ONNX, bundle, weights, checks), `layerloom import` and the wiring
of `layerloom train`: exit codes, the lines printed, and never a traceback."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from graph_engine import build_model, load_project
from graph_engine.cli import main
from graph_engine.project_io import save_project
from graph_engine.templates import load_template

FIXTURES = Path(__file__).parent / "fixtures_import"


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


@pytest.fixture
def moons(tmp_path) -> Path:
    path = tmp_path / "moons.layerloom.json"
    project = load_template("moons_mlp")
    project.training = dict(project.training, epochs=1)
    save_project(project, path)
    return path


def test_export_everything_prints_one_check_line_per_artifact(capsys, moons, tmp_path):
    code, out, err = run(capsys, "export", moons, "--code", tmp_path / "model.py", "--train-script",
                         tmp_path / "train.py", "--onnx", tmp_path / "model.onnx", "--bundle", tmp_path / "bundle")
    assert code == 0 and err == "", err
    lines = out.splitlines()
    assert lines[0].startswith(f"wrote {tmp_path / 'model.py'}: standalone PyTorch code for Moons MLP")
    assert lines[1].startswith("check: model.py reproduces the in-app model (max abs diff 0, batch 4")
    assert lines[1].endswith(": ok")
    assert lines[2].startswith(f"wrote {tmp_path / 'train.py'}: trains Moons MLP")
    assert "torchrun --standalone --nproc_per_node 2 train.py" in lines[2]
    assert lines[3].startswith(f"wrote {tmp_path / 'model.onnx'}: ONNX opset 17")
    assert lines[4].startswith("check: model.onnx in onnxruntime reproduces the in-app model")
    assert "batches 1 and 5" in lines[4] and lines[4].endswith(": ok")
    assert lines[5].startswith(f"wrote {tmp_path / 'bundle'}: model.py, model.safetensors, train.py")
    assert lines[6].startswith("check: model.py reproduces") and lines[6].endswith(": ok")
    assert len(lines) == 7
    assert "MODEL_FILE = 'model.py'" in (tmp_path / "train.py").read_text(encoding="utf-8")


def test_export_with_trained_weights(capsys, moons, tmp_path):
    project = load_project(moons)
    trained = build_model(project)
    with torch.no_grad():
        for p in trained.parameters():
            p.add_(0.1)
    save_file(trained.state_dict(), tmp_path / "trained.safetensors")
    code, out, err = run(capsys, "export", moons, "--onnx", tmp_path / "m.onnx", "--weights",
                         tmp_path / "trained.safetensors", "--bundle", tmp_path / "b")
    assert code == 0, err
    assert out.count(": ok\n") == 2
    written = load_file(tmp_path / "b" / "model.safetensors")
    assert all(torch.equal(written[k], v) for k, v in trained.state_dict().items())


def test_weights_that_do_not_fit_are_refused_naming_the_layer(capsys, moons, tmp_path):
    other = build_model(load_template("mlp_digits"))
    save_file(other.state_dict(), tmp_path / "other.safetensors")
    code, out, err = run(capsys, "export", moons, "--code", tmp_path / "m.py", "--weights",
                         tmp_path / "other.safetensors")
    assert code == 1 and out == ""
    assert err.startswith("error: ") and "do not fit this network" in err and "layer 'fc1' (Linear)" in err
    assert not (tmp_path / "m.py").exists()


def test_weights_in_a_pickle_are_refused(capsys, moons, tmp_path):
    class Payload:
        def __reduce__(self):
            return (print, ("unpickled!",))

    torch.save({"fc1.weight": torch.zeros(1), "x": Payload()}, tmp_path / "evil.pt")
    code, out, err = run(capsys, "export", moons, "--code", tmp_path / "m.py", "--weights", tmp_path / "evil.pt")
    assert code == 1 and "unpickled!" not in out + err
    assert "holds Python objects, not only tensors" in err


@pytest.mark.parametrize(("argv", "message"), [
    ([], "nothing to export"),
    (["--train-script", "t.py"], "--train-script needs --code"),
    (["--code", "-", "--onnx", "m.onnx"], "cannot be combined"),
])
def test_export_usage_errors_exit_2(capsys, moons, tmp_path, argv, message):
    code, out, err = run(capsys, "export", moons, *argv)
    assert code == 2 and out == "" and message in err


def test_export_never_overwrites_the_project_or_the_weights(capsys, moons, tmp_path):
    before = moons.read_bytes()
    for option in ("--code", "--onnx"):
        code, _, err = run(capsys, "export", moons, option, moons)
        assert code == 1 and "the project file itself" in err
    assert moons.read_bytes() == before
    save_file(build_model(load_project(moons)).state_dict(), tmp_path / "w.safetensors")
    code, _, err = run(capsys, "export", moons, "--code", tmp_path / "w.safetensors", "--weights",
                       tmp_path / "w.safetensors")
    assert code == 1 and "the weights file being exported" in err


def test_an_unexportable_onnx_node_is_named(capsys, tmp_path):
    data = {"format": "layerloom", "format_version": 1, "name": "Pool",
            "graph": {"nodes": [{"id": "x", "op": "Input", "params": {"shape": [2, 9, 9]}},
                                {"id": "gap", "op": "AdaptiveAvgPool2d", "params": {"output_size": 4}},
                                {"id": "y", "op": "Output"}],
                      "edges": [{"src": "x", "dst": "gap"}, {"src": "gap", "dst": "y"}]}}
    (tmp_path / "pool.layerloom.json").write_text(json.dumps(data), encoding="utf-8")
    code, out, err = run(capsys, "export", tmp_path / "pool.layerloom.json", "--onnx", tmp_path / "p.onnx")
    assert code == 1 and out == ""
    assert err.startswith("error: node 'gap': cannot export to ONNX: node 'gap': AdaptiveAvgPool2d")
    assert not (tmp_path / "p.onnx").exists()


def test_no_check_skips_the_check(capsys, moons, tmp_path):
    code, out, _ = run(capsys, "export", moons, "--code", tmp_path / "m.py", "--no-check")
    assert code == 0 and len(out.splitlines()) == 1 and "check:" not in out


# ---- train is wired ---------------------------------------------------------------------------------------------


def test_train_runs_from_the_main_command(capsys, moons, tmp_path):
    code, out, err = run(capsys, "train", moons, "--epochs", "1", "--device", "cpu", "--out", tmp_path / "run")
    assert code == 0, err
    assert out.startswith(f"wrote {tmp_path / 'run'}: metrics.json, model.safetensors")
    assert len(json.loads((tmp_path / "run" / "metrics.json").read_text())) == 1
    code, out, _ = run(capsys, "export", moons, "--code", tmp_path / "m.py", "--weights",
                       tmp_path / "run" / "model.safetensors")
    assert code == 0 and out.splitlines()[1].endswith(": ok")


# ---- import ---------------------------------------------------------------------------------------------------


def test_import_with_yes_writes_the_project_and_its_weights(capsys, tmp_path):
    target = tmp_path / "net.layerloom.json"
    code, out, err = run(capsys, "import", f"{FIXTURES / 'tutorial_cnn.py'}:Net", "--input-shape", "3,32,32",
                         "-o", target, "--yes")
    assert code == 0, err
    assert err.startswith("note: importing runs the Python code in") and err.count("\n") == 1
    assert out.startswith("imported Net from tutorial_cnn.py: 12 layers, 62,006 parameters; wrote")
    assert f"(to fine-tune: layerloom train {target} --init {tmp_path / 'net.safetensors'})" in out
    assert (tmp_path / "net.safetensors").is_file()
    code, out, _ = run(capsys, "check", target)
    assert code == 0 and out.startswith("ok: Net is valid (14 layers, 62,006 parameters)")
    code, out, _ = run(capsys, "export", target, "--code", tmp_path / "net.py", "--weights",
                       tmp_path / "net.safetensors")
    assert code == 0 and out.splitlines()[1].endswith(": ok")


def test_import_of_token_models_takes_a_dtype(capsys, tmp_path):
    code, out, err = run(capsys, "import", f"{FIXTURES / 'sequence_models.py'}:GRUClassifier", "--input-shape", "7",
                         "--dtype", "int64", "-o", tmp_path / "gru.layerloom.json", "-y")
    assert code == 0, err
    node = load_project(tmp_path / "gru.layerloom.json").graph.node("tokens")
    assert node.params == {"shape": [7], "dtype": "int64"}


def test_import_asks_before_running_code(capsys, tmp_path, monkeypatch):
    source = f"{FIXTURES / 'tutorial_cnn.py'}:Net"
    target = tmp_path / "n.layerloom.json"
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # not a terminal: refused without --yes
    code, out, err = run(capsys, "import", source, "--input-shape", "3,32,32", "-o", target)
    assert code == 2 and "add --yes" in err and "note: importing runs the Python code" in err
    assert not target.exists()

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr("sys.stdin", Terminal("n\n"))
    code, out, err = run(capsys, "import", source, "--input-shape", "3,32,32", "-o", target)
    assert code == 1 and "import cancelled" in err and not target.exists()
    monkeypatch.setattr("sys.stdin", Terminal("y\n"))
    code, out, err = run(capsys, "import", source, "--input-shape", "3,32,32", "-o", target)
    assert code == 0 and target.exists()


def test_import_report_lists_every_problem(capsys, tmp_path):
    code, out, err = run(capsys, "import", f"{FIXTURES / 'untraceable.py'}:Unmappable", "--input-shape", "1,8,8",
                         "-o", tmp_path / "u.layerloom.json", "--yes")
    assert code == 1 and out == ""
    lines = err.splitlines()
    assert lines[1] == "error: cannot import untraceable.py:Unmappable: 4 problems"
    # F.pad maps to a layer; the four blockers left: torch.erf, nn.Softsign, a buffer added as a constant, cumsum
    assert [line.split("'")[1] for line in lines[2:6]] == ["erf", "act", "add", "cumsum"]
    assert "self.offset is a buffer" in lines[4]
    assert lines[6].startswith("hint: ")
    assert not (tmp_path / "u.layerloom.json").exists() and not (tmp_path / "u.safetensors").exists()
    code, _, err = run(capsys, "import", f"{FIXTURES / 'untraceable.py'}:Gated", "--input-shape", "8",
                       "-o", tmp_path / "g.layerloom.json", "--yes")
    assert code == 1 and "line 15 in forward: `if h.sum() > 0:" in err


@pytest.mark.parametrize(("argv", "message", "exit_code"), [
    (["tutorial_cnn.py", "--input-shape", "3,32,32"], "FILE.py:ClassName", 2),
    (["missing.py:Net", "--input-shape", "3,32,32"], "does not exist", 2),
    (["tutorial_cnn.py:Net", "--input-shape", "3,a,32"], "is not a shape", 2),
    (["tutorial_cnn.py:Net", "--input-shape", "3,32,32", "--dtype", "int64", "--dtype", "float32"], "--dtype once", 2),
    (["tutorial_cnn.py:Nope", "--input-shape", "3,32,32"], "has no 'Nope'", 1),
])
def test_import_mistakes(capsys, tmp_path, monkeypatch, argv, message, exit_code):
    monkeypatch.chdir(FIXTURES)
    code, out, err = run(capsys, "import", *argv, "-o", tmp_path / "x.layerloom.json", "--yes")
    assert code == exit_code and out == "" and message in err, err


def test_import_refuses_to_overwrite_without_force(capsys, tmp_path):
    target = tmp_path / "net.layerloom.json"
    target.write_text("precious", encoding="utf-8")
    argv = ["import", f"{FIXTURES / 'tutorial_cnn.py'}:Net", "--input-shape", "3,32,32", "-o", target, "--yes"]
    code, _, err = run(capsys, *argv)
    assert code == 1 and "already exists; use --force" in err and target.read_text() == "precious"
    code, _, _ = run(capsys, *argv, "--force")
    assert code == 0 and load_project(target).name == "Net"


def test_a_training_script_for_data_that_does_not_fit_comes_with_a_warning(capsys, tmp_path):
    lenet = load_template("lenet5")
    lenet.training = {**lenet.training, "dataset": {"name": "digits"}}  # 28x28 input, digits are 8x8
    save_project(lenet, tmp_path / "lenet.layerloom.json")
    code, out, err = run(capsys, "export", tmp_path / "lenet.layerloom.json", "--code", tmp_path / "m.py",
                         "--train-script", tmp_path / "t.py")
    assert code == 0 and (tmp_path / "t.py").is_file()
    assert err.startswith("warning: t.py will stop as it starts: ") and "784" in err
