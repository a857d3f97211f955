"""Exports never overwrite each other or the person's own files, command lines they print or write quote file
names for the shell, and a training script whose data is missing says so (issue 14, items 8, 9 and 13)."""

from __future__ import annotations

import csv
import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from graph_engine.export import export_bundle
from graph_engine.project_io import load_project, save_project
from graph_engine.templates import load_template
from tests.engine.test_export_cli import run


@pytest.fixture
def moons(tmp_path) -> Path:
    save_project(load_template("moons_mlp"), tmp_path / "moons.layerloom.json")
    return tmp_path / "moons.layerloom.json"


# ---- item 8: collisions --------------------------------------------------------------------------------


@pytest.mark.parametrize(("first", "second", "name"), [
    ("--code", "--train-script", "x.py"),
    ("--code", "--onnx", "y.py"),
])
def test_two_exports_into_one_file_are_refused(capsys, moons, tmp_path, first, second, name):
    target = tmp_path / name
    code, out, err = run(capsys, "export", moons, first, target, second, target)
    assert code == 1 and out == ""
    assert first in err and second in err and "nothing was written" in err
    assert not target.exists()


def test_code_inside_the_bundle_folder_collides_with_the_bundle(capsys, moons, tmp_path):
    code, _, err = run(capsys, "export", moons, "--code", tmp_path / "b" / "model.py", "--bundle", tmp_path / "b")
    assert code == 1 and "--bundle (model.py)" in err
    assert not (tmp_path / "b").exists()


def test_a_bundle_never_silently_replaces_the_persons_files(capsys, moons, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("my notes\n")
    model = tmp_path / "model.py"
    model.write_text("# my model\n")
    code, out, err = run(capsys, "export", moons, "--bundle", tmp_path)
    assert code == 1 and out == ""
    assert "README.md, model.py" in err and "--force" in err
    assert readme.read_text() == "my notes\n" and model.read_text() == "# my model\n"
    assert not (tmp_path / "train.py").exists()
    code, out, err = run(capsys, "export", moons, "--bundle", tmp_path, "--force")
    assert code == 0, err
    assert "my notes" not in readme.read_text()


def test_exporting_again_into_a_bundle_replaces_its_own_files_but_not_edited_ones(capsys, moons, tmp_path):
    folder = tmp_path / "bundle"
    assert run(capsys, "export", moons, "--bundle", folder)[0] == 0
    assert run(capsys, "export", moons, "--bundle", folder)[0] == 0  # only its own files: no --force needed
    (folder / "train.py").write_text((folder / "train.py").read_text() + "# tuned by hand\n")
    code, _, err = run(capsys, "export", moons, "--bundle", folder)
    assert code == 1 and "train.py" in err and "README.md" not in err
    assert "# tuned by hand" in (folder / "train.py").read_text()


def test_a_project_file_named_like_a_bundle_file_does_not_clash(tmp_path):
    path = tmp_path / "src" / "model.py"
    path.parent.mkdir()
    save_project(load_template("moons_mlp"), path)
    result = export_bundle(load_project(path), tmp_path / "b", project_path=path)
    assert result.files["project"].name == "project.layerloom.json"
    assert load_project(result.files["project"]).name == "Moons MLP"


# ---- item 9: quoting -------------------------------------------------------------------------------------


HOSTILE = "net;touch PWNED;$(touch PWNED2).layerloom.json"


def bash_lines(readme: str) -> list[str]:
    blocks = readme.split("```bash\n")[1:]
    return [line for block in blocks for line in block.split("```")[0].splitlines() if line.strip()]


def test_bundle_readme_quotes_the_project_file_name_for_bash(tmp_path):
    path = tmp_path / HOSTILE
    save_project(load_template("moons_mlp"), path)
    result = export_bundle(load_project(path), tmp_path / "b", project_path=path)
    lines = bash_lines(result.files["readme"].read_text(encoding="utf-8"))
    with_name = [line for line in lines if line.startswith("layerloom ")]
    assert len(with_name) == 3
    for line in with_name:
        assert shlex.split(line)[2] == HOSTILE, line  # one word, exactly the file name
    if sys.platform != "win32":  # what the issue did: run the line in a shell
        for line in with_name:
            subprocess.run(["bash", "-c", line.replace("layerloom", "true", 1)], cwd=result.folder, check=True)
        assert not (result.folder / "PWNED").exists() and not (result.folder / "PWNED2").exists()


def test_printed_command_lines_quote_file_names(capsys, tmp_path):
    project = tmp_path / "p.layerloom.json"
    save_project(load_template("moons_mlp"), project)
    target = tmp_path / "my model;rm -rf x.py"
    code, out, _ = run(capsys, "export", project, "--code", target)
    assert code == 0
    assert f"run `python {shlex.quote(target.name)}`" in out


# ---- item 13: missing data -------------------------------------------------------------------------------


@pytest.fixture
def csv_project(tmp_path) -> tuple[Path, Path]:
    data = tmp_path / "table.csv"
    with data.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["a", "b", "y"])
        for i in range(40):
            writer.writerow([i * 0.1, (i % 7) * 0.3, i % 2])
    project = {"format": "layerloom", "format_version": 1, "name": "Table",
               "graph": {"nodes": [{"id": "x", "op": "Input", "params": {"shape": [2]}},
                                   {"id": "fc", "op": "Linear", "params": {"out_features": 2}},
                                   {"id": "out", "op": "Output"}],
                         "edges": [{"src": "x", "dst": "fc"}, {"src": "fc", "dst": "out"}]},
               "training": {"dataset": {"name": "csv", "path": "table.csv"}, "epochs": 1, "batch_size": 8,
                            "device": "cpu"}}
    path = tmp_path / "table.layerloom.json"
    path.write_text(json.dumps(project))
    return path, data


def test_export_warns_when_the_data_file_is_missing(capsys, csv_project, tmp_path):
    project, data = csv_project
    code, _, err = run(capsys, "export", project, "--code", tmp_path / "m.py", "--train-script", tmp_path / "t.py")
    assert code == 0 and err == ""
    data.unlink()
    code, _, err = run(capsys, "export", project, "--code", tmp_path / "m.py", "--train-script", tmp_path / "t.py")
    assert code == 0
    assert err.startswith("warning: t.py will stop as it starts: ") and "table.csv does not exist" in err


@pytest.mark.slow
def test_the_exported_script_says_clearly_that_its_data_is_missing(capsys, csv_project, tmp_path):
    project, data = csv_project
    assert run(capsys, "export", project, "--code", tmp_path / "m.py", "--train-script", tmp_path / "t.py")[0] == 0
    data.unlink()
    proc = subprocess.run([sys.executable, str(tmp_path / "t.py"), "--out", str(tmp_path / "run")],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().startswith("error: the data ") and "--data PATH" in proc.stderr
