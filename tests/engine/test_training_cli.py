"""`layerloom train` (run_train): files in RUN_DIR, exit codes, one-line errors, resume."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from safetensors.torch import load_file

from graph_engine import build_model, load_project
from graph_engine.training.cli_train import add_train_arguments, run_train

TEMPLATES = Path(__file__).resolve().parents[2] / "resources" / "templates"


def write(tmp_path: Path, name: str, **training) -> Path:
    data = json.loads((TEMPLATES / f"{name}.layerloom.json").read_text(encoding="utf-8"))
    data["training"] = {**(data.get("training") or {}), **training}
    path = tmp_path / f"{name}.layerloom.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def error_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("error:")]


def test_train_writes_metrics_weights_and_project(tmp_path, capsys):
    path = write(tmp_path, "mlp_digits")
    out = tmp_path / "run"
    code = run_train([str(path), "--epochs", "3", "--device", "cpu", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    records = json.loads((out / "metrics.json").read_text())
    assert [r["epoch"] for r in records] == [1, 2, 3]
    assert {"train_loss", "val_loss", "val_accuracy", "lr", "time_s"} <= set(records[0])
    project = load_project(out / "project.layerloom.json")
    assert project.training["epochs"] == 3 and project.training["device"] == "cpu"
    model = build_model(project)
    model.load_state_dict(load_file(out / "model.safetensors"), strict=True)
    model.load_state_dict(load_file(out / "best.safetensors"), strict=True)
    assert "epoch 3/3" in captured.err and "val_accuracy" in captured.err  # progress goes to stderr
    assert "Traceback" not in captured.err
    assert str(out) in captured.out


def test_resume_continues_in_the_same_folder(tmp_path, capsys):
    path = write(tmp_path, "moons_mlp")
    out = tmp_path / "run"
    assert run_train([str(path), "--epochs", "2", "--out", str(out)]) == 0
    assert run_train([str(path), "--epochs", "2", "--out", str(out)]) == 1  # a run is there already
    assert "--resume" in error_lines(capsys.readouterr().err)[0]
    assert run_train(["--resume", str(out), "--epochs", "4"]) == 0
    assert [r["epoch"] for r in json.loads((out / "metrics.json").read_text())] == [1, 2, 3, 4]
    assert "resuming after epoch 2" in capsys.readouterr().err
    assert run_train([str(path), "--epochs", "1", "--out", str(out), "--force"]) == 0
    assert len(json.loads((out / "metrics.json").read_text())) == 1


def test_failed_run_exits_1_with_one_line(tmp_path, capsys):
    path = write(tmp_path, "mlp_digits", optimizer={"name": "Adam", "lr": 1e6})
    out = tmp_path / "run"
    assert run_train([str(path), "--epochs", "2", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    lines = error_lines(err)
    assert len(lines) == 1 and "learning rate" in lines[0] and "fc" in lines[0]
    assert "Traceback" not in err
    assert not (out / "model.safetensors").exists()  # no final weights for a failed run


def test_user_errors_never_print_a_traceback(tmp_path, capsys):
    garbage = tmp_path / "garbage.layerloom.json"
    garbage.write_text("{not json", encoding="utf-8")
    assert run_train([str(garbage), "--out", str(tmp_path / "a")]) == 2
    assert run_train([str(tmp_path / "missing.layerloom.json")]) == 2
    assert run_train([str(write(tmp_path, "lenet5", dataset={"name": "digits"})), "--out", str(tmp_path / "b")]) == 1  # 8x8 into 28x28
    bad = write(tmp_path, "moons_mlp", epochs="many")
    assert run_train([str(bad), "--out", str(tmp_path / "c")]) == 1
    assert run_train(["--resume", str(tmp_path / "nothing")]) == 1
    assert run_train([]) == 2
    assert run_train([str(bad), "--epochs", "0"]) == 2  # argparse usage error
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert len(error_lines(err)) == 6


def test_add_train_arguments_wires_into_a_parser(tmp_path, capsys):
    parser = argparse.ArgumentParser(prog="layerloom")
    sub = parser.add_subparsers(dest="command")
    add_train_arguments(sub.add_parser("train"))
    path = write(tmp_path, "moons_mlp")
    args = parser.parse_args(["train", str(path), "--epochs", "1", "--out", str(tmp_path / "r")])
    assert args.func is run_train
    assert args.func(args) == 0
    assert (tmp_path / "r" / "metrics.json").exists()
    assert torch.load(tmp_path / "r" / "last_state.pt", weights_only=True)["epoch"] == 1
