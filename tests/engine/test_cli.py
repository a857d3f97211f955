"""The `layerloom` command: exit codes, outputs, and never a traceback for a user error."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import graph_engine
from graph_engine import check, load_project
from graph_engine.cli import COMMANDS, main
from graph_engine.templates import list_templates

# ---- helpers and files ----------------------------------------------------------------------------------


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "Traceback" not in out
    return code, out, err


def project_dict(**conv_params) -> dict:
    return {
        "format": "layerloom",
        "format_version": 1,
        "name": "Tiny CNN",
        "graph": {
            "nodes": [
                {"id": "image", "op": "Input", "params": {"shape": [1, 8, 8]}},
                {"id": "conv1", "op": "Conv2d", "params": {"out_channels": 4, "kernel_size": 3, **conv_params}},
                {"id": "act1", "op": "ReLU"},
                {"id": "flatten", "op": "Flatten"},
                {"id": "fc", "op": "Linear", "params": {"out_features": 10}},
                {"id": "logits", "op": "Output"},
            ],
            "edges": [{"src": "image", "dst": "conv1"}, {"src": "conv1", "dst": "act1"},
                      {"src": "act1", "dst": "flatten"}, {"src": "flatten", "dst": "fc"},
                      {"src": "fc", "dst": "logits"}],
        },
        "training": {"dataset": {"name": "digits"}, "batch_size": 32},
    }


def write(path: Path, data) -> Path:
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


@pytest.fixture
def valid(tmp_path) -> Path:
    return write(tmp_path / "tiny.layerloom.json", project_dict())


@pytest.fixture
def invalid(tmp_path) -> Path:
    return write(tmp_path / "bad.layerloom.json", project_dict(out_channels=0))


@pytest.fixture
def unusable(tmp_path) -> dict[str, Path]:
    """Files `check` must answer with exit 2."""
    newer = project_dict()
    newer["format_version"] = 99
    folder = tmp_path / "folder.layerloom.json"
    folder.mkdir()
    return {
        "not json": write(tmp_path / "notjson.layerloom.json", "this is { not json"),
        "other json": write(tmp_path / "other.json", {"nodes": []}),
        "newer": write(tmp_path / "newer.layerloom.json", newer),
        "missing": tmp_path / "missing.layerloom.json",
        "folder": folder,
        "binary": _binary(tmp_path / "binary.layerloom.json"),
    }


def _binary(path: Path) -> Path:
    path.write_bytes(b"\xff\xfe\x00\x81garbage")
    return path


# ---- no command, help, version --------------------------------------------------------------------------


def test_no_arguments_prints_help_and_exits_0(capsys):
    code, out, err = run(capsys)
    assert code == 0 and err == ""
    assert out.startswith("usage: layerloom")
    for command in COMMANDS:
        assert command in out


def test_help_and_version(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0 and "Exit codes" in out
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.strip() == f"layerloom {graph_engine.__version__}"
    for command in COMMANDS:
        code, out, _ = run(capsys, command, "--help")
        assert code == 0 and out.startswith(f"usage: layerloom {command}")


def test_usage_errors_exit_2_without_traceback(capsys):
    code, out, err = run(capsys, "chek", "x.layerloom.json")
    assert code == 2 and "did you mean 'check'?" in err and out == ""
    code, _, err = run(capsys, "frobnicate")
    assert code == 2 and "unknown command 'frobnicate'" in err
    code, _, err = run(capsys, "check")
    assert code == 2 and "required: PROJECT" in err
    code, _, err = run(capsys, "summary", "x.json", "--batch-size", "0")
    assert code == 2 and "at least 1" in err
    code, _, err = run(capsys, "--no-such-option")
    assert code == 2


# ---- check ----------------------------------------------------------------------------------------------


def test_check_valid_project(capsys, valid):
    code, out, err = run(capsys, "check", valid)
    assert code == 0 and err == ""
    assert out == "ok: Tiny CNN is valid (6 layers, 1,490 parameters)\n"


def test_check_prints_warnings_but_exits_0(capsys, tmp_path):
    data = project_dict()
    data["graph"]["nodes"].append({"id": "spare", "op": "ReLU"})
    data["graph"]["edges"].append({"src": "act1", "dst": "spare"})
    code, out, _ = run(capsys, "check", write(tmp_path / "w.layerloom.json", data))
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == ("warning: spare: this layer's output is not used by any Output (connect it, or delete it: "
                        "it is left out of the generated code)")
    assert lines[-1].startswith("ok: Tiny CNN is valid") and lines[-1].endswith("1 warning)")


def test_check_invalid_project_lists_every_diagnostic(capsys, invalid, tmp_path):
    code, out, err = run(capsys, "check", invalid)
    assert code == 1 and err == ""
    lines = out.splitlines()
    assert lines[0].startswith("error: conv1 [out_channels]: out_channels must ")
    assert lines[0].endswith(", not 0 (use a value between 1 and 1048576)")
    assert lines[-1] == "invalid: Tiny CNN has 1 error and 0 warnings"

    data = project_dict(kernel_sise=3)
    data["graph"]["nodes"][2]["op"] = "Relu"
    data["graph"]["nodes"].append({"id": "class", "op": "ReLU"})
    data["graph"]["nodes"].insert(1, {"id": "spare", "op": "ReLU"})  # listed early: a warning
    data["graph"]["edges"].append({"src": data["graph"]["nodes"][0]["id"], "dst": "spare"})
    code, out, _ = run(capsys, "check", write(tmp_path / "many.layerloom.json", data))
    assert code == 1
    diagnostics = [line for line in out.splitlines() if line.startswith(("error: ", "warning: "))]
    assert len(diagnostics) == len(check(load_project(tmp_path / "many.layerloom.json")).diagnostics) >= 3
    assert any(line.startswith("error: conv1 [kernel_sise]: ") and "'kernel_size'" in line for line in diagnostics)
    assert any(line.startswith("error: act1 [op]: ") and "'ReLU'" in line for line in diagnostics)
    assert any(line.startswith("error: class [id]: ") for line in diagnostics)
    kinds = [line.split(":")[0] for line in diagnostics]
    assert "warning" in kinds and kinds == sorted(kinds)  # every error before the first warning


def test_check_graph_level_errors_have_no_node(capsys, tmp_path):
    data = project_dict()
    data["graph"]["nodes"] = [n for n in data["graph"]["nodes"] if n["op"] != "Output"]
    data["graph"]["edges"] = [e for e in data["graph"]["edges"] if e["dst"] != "logits"]
    code, out, _ = run(capsys, "check", write(tmp_path / "noout.layerloom.json", data))
    assert code == 1
    assert "error: the network has no Output (add an Output layer after the last layer)" in out.splitlines()


@pytest.mark.parametrize("kind", ["not json", "other json", "newer", "missing", "folder", "binary"])
def test_check_unusable_files_exit_2(capsys, unusable, kind):
    path = unusable[kind]
    for command in ("check", "summary"):
        code, out, err = run(capsys, command, path)
        assert code == 2, (command, kind)
        assert out == ""
        assert err.startswith("error: ") and err.count("\n") == 1
    if kind == "newer":
        assert "newer LayerLoom" in err and "format_version 99" in err
    if kind == "not json":
        assert "not valid JSON" in err


def test_check_newer_format_leaves_the_file_untouched(capsys, unusable):
    path = unusable["newer"]
    before = path.read_bytes()
    assert run(capsys, "check", path)[0] == 2
    assert path.read_bytes() == before


def test_check_malformed_project_structure_exits_1(capsys, tmp_path):
    data = project_dict()
    data["graph"]["nodes"].append({"id": "conv1", "op": "ReLU"})  # a duplicate id: ours, but broken
    code, out, err = run(capsys, "check", write(tmp_path / "dup.layerloom.json", data))
    assert code == 1 and out == ""
    assert err.startswith("error: node 'conv1'")


def test_check_json_output(capsys, invalid, valid):
    code, out, _ = run(capsys, "check", "--json", invalid)
    assert code == 1
    data = json.loads(out)
    assert data["ok"] is False and data["errors"] == 1
    assert data["diagnostics"][0]["node_id"] == "conv1" and data["diagnostics"][0]["field"] == "out_channels"
    code, out, _ = run(capsys, "check", "--json", valid)
    assert code == 0 and json.loads(out)["total_params"] == 1490


def test_check_escapes_control_characters_from_the_file(capsys, tmp_path):
    data = project_dict()
    data["name"] = "evil\x1b[2J\nname"
    data["graph"]["nodes"].append({"id": "bad\x1b[31mid", "op": "ReLU"})
    code, out, _ = run(capsys, "check", write(tmp_path / "evil.layerloom.json", data))
    assert code == 1
    assert "\x1b" not in out
    assert "evil\\x1b[2J\\nname" in out


# ---- summary --------------------------------------------------------------------------------------------


def test_summary_table(capsys, valid):
    code, out, err = run(capsys, "summary", valid)
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == "Tiny CNN (tiny.layerloom.json)"
    header, rule = lines[1], lines[2]
    assert header.split() == ["id", "op", "output", "shape", "params", "FLOPs", "status"]
    assert set(rule) == {"-", " "}
    rows = {line.split()[0]: line for line in lines[3:] if line and not line.startswith("-")}
    assert rows["conv1"].split()[:2] == ["conv1", "Conv2d"] and "[4, 6, 6]" in rows["conv1"]
    assert "[144]" in rows["flatten"] and "[10]" in rows["logits"] and "1,450" in rows["fc"]
    assert rows["total"].split()[1] == "1,490"
    # Columns line up: every params cell ends where the header's "params" ends.
    end = header.index("params") + len("params")
    table = [line for line in lines[3:] if line and not line.startswith(("-", "parameters", "FLOPs", "training"))]
    for line in table:
        assert line[end - 1] != " " and line[end] == " ", line
    result = check(load_project(valid))
    assert f"parameters:      {result.total_params:,}" in out
    assert f"FLOPs/sample:    {result.total_flops:,}" in out
    assert "at batch size 32" in out  # the project's batch size


def test_summary_batch_size_option(capsys, valid):
    code, out, _ = run(capsys, "summary", valid, "--batch-size", "1000")
    assert code == 0 and "at batch size 1000" in out


def test_summary_of_an_invalid_project_exits_1(capsys, invalid):
    code, out, _ = run(capsys, "summary", invalid)
    assert code == 1
    assert "error: conv1 [out_channels]: " in out
    assert "conv1" in out.splitlines()[4] and out.splitlines()[4].rstrip().endswith("error")
    assert "training memory" not in out


# ---- export ---------------------------------------------------------------------------------------------


def test_export_code(capsys, valid, tmp_path):
    target = tmp_path / "model.py"
    code, out, err = run(capsys, "export", valid, "--code", target)
    assert code == 0 and err == ""
    assert out.startswith(f"wrote {target}")
    source = target.read_text(encoding="utf-8")
    compile(source, str(target), "exec")
    assert "class TinyCNN(nn.Module):" in source and "def create_model():" in source
    assert "graph_engine" not in source and "layerloom" not in source.split('"""')[-1]
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_export_to_stdout(capsys, valid):
    code, out, _ = run(capsys, "export", valid, "--code", "-")
    assert code == 0 and "class TinyCNN(nn.Module):" in out


def test_export_refuses_an_invalid_project_and_keeps_the_old_file(capsys, invalid, tmp_path):
    target = write(tmp_path / "model.py", "old = 1\n")
    code, out, err = run(capsys, "export", invalid, "--code", target)
    assert code == 1 and out == ""
    assert "error: conv1 [out_channels]: " in err
    assert err.splitlines()[-1].startswith("error: cannot export bad.layerloom.json: the network has 1 error")
    assert target.read_text() == "old = 1\n"


def test_export_needs_a_target(capsys, valid):
    code, _, err = run(capsys, "export", valid)
    assert code == 2 and "give --code" in err


def test_export_unwritable_targets(capsys, valid, tmp_path):
    a_file = write(tmp_path / "plain.txt", "x")
    a_folder = tmp_path / "a_folder"
    a_folder.mkdir()
    for target in (tmp_path / "no" / "such" / "folder" / "model.py", a_file / "model.py", a_folder):
        code, out, err = run(capsys, "export", valid, "--code", target)
        assert code == 1, target
        assert err.startswith("error: cannot save") and err.count("\n") == 1
    assert a_folder.is_dir() and not list(a_folder.iterdir())
    assert a_file.read_text() == "x"


def test_export_never_overwrites_the_project_itself(capsys, valid):
    before = valid.read_bytes()
    code, _, err = run(capsys, "export", valid, "--code", valid)
    assert code == 1 and "the project file itself" in err
    assert valid.read_bytes() == before


def test_export_of_unusable_files_exits_2(capsys, unusable, tmp_path):
    for path in unusable.values():
        code, _, err = run(capsys, "export", path, "--code", tmp_path / "m.py")
        assert code == 2 and err.startswith("error: ")
    assert not (tmp_path / "m.py").exists()


# ---- templates and new ----------------------------------------------------------------------------------


def test_templates_lists_one_a_line(capsys):
    code, out, _ = run(capsys, "templates")
    assert code == 0
    lines = out.splitlines()
    templates = list_templates()
    assert [line.split()[0] for line in lines] == [t.name for t in templates]
    column = max(len(t.name) for t in templates) + 2
    for line, info in zip(lines, templates, strict=True):
        assert line[column:] == info.summary and line[column - 1] == " "


def test_new_then_check_round_trip(capsys, tmp_path):
    out_path = tmp_path / "my_lenet.layerloom.json"
    code, out, _ = run(capsys, "new", "--template", "lenet5", out_path)
    assert code == 0 and out.startswith(f"created {out_path} from template lenet5")
    data = json.loads(out_path.read_text(encoding="utf-8"))
    assert data["name"] == "LeNet-5" and data["description"].startswith("LeNet-5")
    code, out, _ = run(capsys, "check", out_path)
    assert code == 0 and out.startswith("ok: LeNet-5 is valid (14 layers, 61,706 parameters)")


def test_new_refuses_to_overwrite_without_force(capsys, tmp_path):
    out_path = write(tmp_path / "mine.layerloom.json", "precious")
    code, out, err = run(capsys, "new", "--template", "mlp_digits", out_path)
    assert code == 1 and "already exists; use --force" in err
    assert out_path.read_text() == "precious"
    code, _, _ = run(capsys, "new", "--template", "mlp_digits", out_path, "--force")
    assert code == 0 and load_project(out_path).name == "Digits MLP"


def test_new_into_a_folder(capsys, tmp_path):
    code, _, _ = run(capsys, "new", "--template", "cnn_digits", tmp_path)
    assert code == 0 and load_project(tmp_path / "cnn_digits.layerloom.json").name == "Digits CNN"
    code, _, err = run(capsys, "new", "--template", "cnn_digits", tmp_path)
    assert code == 1 and "already exists" in err


def test_new_unknown_template_suggests_the_closest(capsys, tmp_path):
    code, out, err = run(capsys, "new", "--template", "lenet", tmp_path / "x.layerloom.json")
    assert code == 2 and out == ""
    assert err == "error: there is no template named 'lenet' (did you mean 'lenet5'?)\n"
    code, _, err = run(capsys, "new", "--template", "zzzzzz", tmp_path / "x.layerloom.json")
    assert code == 2 and "layerloom templates" in err
    assert not (tmp_path / "x.layerloom.json").exists()


def test_new_into_a_missing_folder_exits_1(capsys, tmp_path):
    code, _, err = run(capsys, "new", "--template", "lenet5", tmp_path / "nope" / "x.layerloom.json")
    assert code == 1 and err.startswith("error: cannot save")


# ---- commands of later versions -------------------------------------------------------------------------


@pytest.mark.parametrize("argv", [
    ["gui"],
    ["gui", "p.layerloom.json", "--screenshot", "shot.png"],
    ["p.layerloom.json"],  # `layerloom PROJECT` opens the GUI
])
def test_the_engine_cli_points_to_the_launcher_for_the_gui(capsys, argv):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.startswith("error: `layerloom gui` opens the desktop app only through the `layerloom` command")
    code, out, _ = run(capsys, "--help")
    assert "not available" not in out and "open the desktop application" in out


# ---- as a real process ----------------------------------------------------------------------------------


def _layerloom(*argv, cwd=None) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "graph_engine", *map(str, argv)], capture_output=True, text=True,
                          timeout=60, cwd=cwd)
    assert "Traceback" not in proc.stderr
    return proc


def test_subprocess_exit_codes(valid, invalid, unusable, tmp_path):
    assert _layerloom().returncode == 0
    ok = _layerloom("check", valid)
    assert ok.returncode == 0 and ok.stdout.startswith("ok: ")
    bad = _layerloom("check", invalid)
    assert bad.returncode == 1 and bad.stdout.startswith("error: conv1 [out_channels]: ")
    assert _layerloom("check", unusable["not json"]).returncode == 2
    assert _layerloom("export", valid, "--code", tmp_path / "m.py").returncode == 0
    assert (tmp_path / "m.py").is_file()
    assert _layerloom("export", valid, "--code", tmp_path / "missing" / "m.py").returncode == 1


def test_console_script_is_installed(valid):
    script = Path(sys.executable).parent / "layerloom"
    assert script.is_file(), "pip install -e . creates the console script"
    proc = subprocess.run([str(script), "check", str(valid)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.startswith("ok: ")


def test_fast_commands_do_not_import_torch(valid, tmp_path):
    code = (
        "import sys\n"
        "from graph_engine.cli import main\n"
        f"codes = [main(['check', {str(valid)!r}]), main(['summary', {str(valid)!r}]), main(['templates']),\n"
        f"         main(['new', '--template', 'lenet5', {str(tmp_path / 'n.layerloom.json')!r}]),\n"
        f"         main(['export', {str(valid)!r}, '--code', {str(tmp_path / 'm.py')!r}, '--no-check'])]\n"
        "assert codes == [0, 0, 0, 0, 0], codes\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
        "print('no torch')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "no torch"

