"""File > Export… (app/export_dialog.py): the files it writes from a kept run's trained weights pass the CLI's
checks (the same `verify_code` / `verify_onnx` lines `layerloom export` prints, and the weights load strictly
into the exported model, bitwise equal to the run's); a bundle checks; weights that no longer fit the network
are named and nothing is written."""

from __future__ import annotations

import pytest
import torch

from app.export_dialog import run_weights_file
from graph_engine.cli import main as cli_main
from graph_engine.export import load_module_from_file, load_strict, read_weights, verify_code, verify_onnx
from graph_engine.project_io import load_project, save_project
from graph_engine.templates import load_template
from graph_engine.training.loop import Trainer
from graph_engine.training.runs import create_run, finish_run, runs_folder
from tests.app.training_windows import new_window

EXPORT_TIMEOUT = 120_000  # ms: the first export of a process imports torch, onnx and onnxruntime


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERLOOM_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("LAYERLOOM_STATE_DIR", str(tmp_path / "state"))


@pytest.fixture
def trained(tmp_path):
    """A saved moons project with one kept, finished run (trained headless into the project's runs folder)."""
    path = tmp_path / "moons.layerloom.json"
    project = load_template("moons_mlp")
    project.training = {**(project.training or {}), "epochs": 2}
    save_project(project, path)
    folder = create_run(runs_folder(path, tmp_path / "state"), "kept", project)
    result = Trainer(project, run_dir=folder, base_dir=tmp_path, probes=False).run()
    assert result.status == "finished"
    finish_run(folder, "finished")
    return path, folder


def open_dialog(qtbot, path):
    window = new_window(qtbot)
    assert window.open_file(path)
    dialog = window.open_export_dialog()
    qtbot.addWidget(dialog)
    return window, dialog


def run_export(qtbot, dialog) -> bool:
    with qtbot.waitSignal(dialog.done, timeout=EXPORT_TIMEOUT) as done:
        assert dialog.export()
    assert dialog.wait()
    return done.args[0]


@pytest.mark.slow
def test_exported_files_of_a_kept_run_pass_the_cli_checks(qtbot, trained, tmp_path, capsys):
    path, run_folder = trained
    window, dialog = open_dialog(qtbot, path)
    [run] = window.training_session.runs
    out = tmp_path / "out"
    dialog.set_folder(out)
    dialog.set_choices(code=True, weights=True, train_script=True, onnx=True)
    dialog.set_weights_source(run, "best")
    assert run_export(qtbot, dialog), dialog.error
    kinds = [line.kind for line in dialog.lines]
    assert kinds == ["wrote", "check", "wrote", "check", "wrote", "wrote", "check"]
    assert all(line.ok for line in dialog.lines)
    assert sorted(p.name for p in out.iterdir()) == ["model.onnx", "model.py", "model.safetensors", "train.py"]
    assert dialog.results.count() == len(dialog.lines) and "every check passed" in dialog.status.text()

    project = load_project(path)
    best = read_weights(run_weights_file(run_folder, "best"))
    exported = read_weights(out / "model.safetensors")
    assert exported.keys() == best.keys() and all(torch.equal(exported[k], best[k]) for k in best)
    model = load_module_from_file(out / "model.py").create_model()
    load_strict(model, exported, "model.safetensors")  # strict: every layer's tensors, nothing else
    assert verify_code(project, out / "model.py", out / "model.safetensors").ok
    assert verify_onnx(project, out / "model.onnx", reference_state=best).ok
    # The CLI, exporting the same network with the same weights, prints the dialog's check line for the code.
    cli_out = tmp_path / "cli"
    cli_out.mkdir()
    capsys.readouterr()
    assert cli_main(["export", str(path), "--code", str(cli_out / "model.py"), "--weights",
                     str(run_folder / "best.safetensors")]) == 0
    cli_check = [x for x in capsys.readouterr().out.splitlines() if x.startswith("check:")]
    assert cli_check == [dialog.lines[3].text]
    assert (cli_out / "model.py").read_text() == (out / "model.py").read_text()
    window.close()


@pytest.mark.slow
def test_a_bundle_checks_and_weights_that_no_longer_fit_write_nothing(qtbot, trained, tmp_path):
    path, run_folder = trained
    window, dialog = open_dialog(qtbot, path)
    [run] = window.training_session.runs
    bundle = tmp_path / "bundle"
    dialog.set_folder(bundle)
    dialog.set_choices(bundle=True, onnx=True)
    assert not dialog.boxes["code"].isEnabled()  # the bundle holds model.py, the weights and train.py
    dialog.set_weights_source(run, "last")
    assert run_export(qtbot, dialog), dialog.error
    assert [line.kind for line in dialog.lines] == ["wrote", "check", "wrote", "check"]  # ONNX, then the bundle
    project = load_project(path)
    assert verify_code(project, bundle / "model.py", bundle / "model.safetensors").ok
    final = read_weights(run_folder / "model.safetensors")
    assert all(torch.equal(read_weights(bundle / "model.safetensors")[k], final[k]) for k in final)
    assert not [p for p in bundle.iterdir() if p.name.startswith(".layerloom-export-")]  # no staging left over

    # The network changes after the run: its weights no longer fit the Linear layer that was widened.
    linear = next(n for n in window.document.graph.nodes.values() if n.op == "Linear")
    window.document.set_param(linear.id, "out_features", linear.params["out_features"] * 2)
    out = tmp_path / "refused"
    dialog.set_folder(out)
    dialog.set_choices(code=True, weights=True, onnx=True)
    dialog.set_weights_source(run, "best")
    dialog.run_network.setChecked(False)  # the open, edited project with the run's weights: refused
    assert not run_export(qtbot, dialog)
    assert linear.id in dialog.error and "Nothing was exported" in dialog.status.text()
    assert not out.exists() or list(out.iterdir()) == []
    dialog.run_network.setChecked(True)  # the network the run trained: its weights fit
    assert run_export(qtbot, dialog), dialog.error
    width = load_module_from_file(out / "model.py").create_model().state_dict()[f"{linear.id}.weight"].shape[0]
    assert width == linear.params["out_features"] // 2
    assert verify_code(load_project(path), out / "model.py", out / "model.safetensors").ok
    window.close()
