"""Broken project files: each gives a clear, typed error that names the node or field, never a traceback.

Every case is a real file written to tmp_path and goes through both doors a user has:
- the API: `load_project` raises a `ProjectError` subclass (file-level problems), or `check` reports an error
  `Diagnostic` on the node at fault (meaning-level problems), with the field and the words a person needs;
- the CLI: `check FILE` exits 1 (invalid, diagnostics printed with node ids) or 2 (unreadable, not a LayerLoom
  file, newer format_version), prints the node id, and never a Python traceback.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from graph_engine import (
    InvalidGraphError,
    NewerFormatError,
    NotAProjectError,
    ProjectError,
    build_model,
    check,
    generate_code,
    load_project,
    save_project,
)
from tests.engine.project_factory import (
    clone,
    cnn,
    edge,
    find_node,
    lstm_classifier,
    mlp,
    node,
    project,
    residual,
    two_branch_concat,
    write_project,
)

REPO = Path(__file__).resolve().parents[2]
ANY = object()  # "do not check this attribute"
DIRECTORY = object()  # the case's path is a folder, not a file
MISSING = object()  # the case's path does not exist


@dataclass(frozen=True)
class Case:
    """One broken file and what a person must be told about it.

    raises: the ProjectError subclass load_project raises, or None when the file loads and `check` must
    report an error diagnostic instead. node_id / field: where the error is (ANY: not checked). words: each
    must appear in the error's text (message and hint). exit: the CLI's exit code.
    """

    id: str
    make: Callable[[], Any]  # -> dict (written as JSON), str (text), bytes, DIRECTORY or MISSING
    raises: type[ProjectError] | None
    node_id: Any = ANY
    field: Any = ANY
    words: tuple[str, ...] = ()
    exit: int = 1


def edited(builder: Callable[[], dict], edit: Callable[[dict], Any]) -> Callable[[], dict]:
    def make() -> dict:
        data = builder()
        edit(data)
        return data
    return make


def set_param(node_id: str, name: str, value: Any, builder: Callable[[], dict] = mlp):
    def edit(data: dict) -> None:
        find_node(data, node_id).setdefault("params", {})[name] = value
    return edited(builder, edit)


def set_key(path: tuple, value: Any, builder: Callable[[], dict] = mlp):
    """Set (or with value=DELETE, remove) data[path[0]][path[1]]..."""
    def edit(data: dict) -> None:
        target = data
        for key in path[:-1]:
            target = target[key]
        if value is DELETE:
            del target[path[-1]]
        else:
            target[path[-1]] = value
    return edited(builder, edit)


DELETE = object()


def cyclic() -> dict:
    """x -> add (port 0); fc -> add (port 1); add -> fc: a loop through two layers, every port fed once."""
    nodes = [node("x", "Input", shape=[8]), node("add", "Add"), node("fc", "Linear", out_features=8),
             node("out", "Output")]
    edges = [edge("x", "add", 0, 0), edge("fc", "add", 0, 1), edge("add", "fc"), edge("add", "out")]
    return project(nodes, edges)


def self_loop() -> dict:
    data = mlp()
    data["graph"]["edges"].append(edge("act1", "act1"))
    data["graph"]["edges"] = [e for e in data["graph"]["edges"] if not (e["src"] == "fc1" and e["dst"] == "act1")]
    return data


def add_edge(*args: Any, builder: Callable[[], dict] = mlp):
    return edited(builder, lambda d: d["graph"]["edges"].append(edge(*args)))


def drop_edge(src: str, dst: str, builder: Callable[[], dict] = mlp):
    def edit(data: dict) -> None:
        data["graph"]["edges"] = [e for e in data["graph"]["edges"] if not (e["src"] == src and e["dst"] == dst)]
    return edited(builder, edit)


def drop_node(node_id: str, builder: Callable[[], dict] = mlp):
    def edit(data: dict) -> None:
        data["graph"]["nodes"] = [n for n in data["graph"]["nodes"] if n["id"] != node_id]
        data["graph"]["edges"] = [e for e in data["graph"]["edges"] if node_id not in (e["src"], e["dst"])]
    return edited(builder, edit)


def edge_port(index: int, key: str, value: Any, builder: Callable[[], dict] = mlp):
    def edit(data: dict) -> None:
        data["graph"]["edges"][index][key] = value
        other = "dst_port" if key == "src_port" else "src_port"
        data["graph"]["edges"][index].setdefault(other, 0)
    return edited(builder, edit)


def fed_twice() -> dict:
    data = mlp()
    data["graph"]["nodes"].insert(1, node("x2", "Input", shape=[64]))
    data["graph"]["edges"].append(edge("x2", "fc1"))
    return data


def duplicate_id() -> dict:
    data = mlp()
    data["graph"]["nodes"].insert(3, node("act1", "Tanh"))
    return data


def json_text(builder: Callable[[], dict], transform: Callable[[str], str]) -> Callable[[], str]:
    return lambda: transform(json.dumps(builder(), indent=1))


CASES = [
    # ---- structure ---------------------------------------------------------------------------------------
    Case("cycle", cyclic, None, "fc", None, ("cycle",)),
    Case("cycle-other-node", cyclic, None, "add", None, ("cycle",)),
    Case("self-loop", self_loop, None, "act1", None, ("cycle",)),
    Case("no-input", drop_node("x"), None, None, ANY, ("no Input",)),
    Case("no-output", drop_node("out"), None, None, ANY, ("no Output",)),
    Case("dangling-src", add_edge("ghost", "out"), None, "out", ANY, ("ghost", "does not exist")),
    Case("dangling-dst", add_edge("fc2", "nowhere"), None, "fc2", ANY, ("nowhere", "does not exist")),
    Case("dangling-both", add_edge("ghost", "nowhere"), None, None, ANY, ("ghost", "nowhere")),
    Case("duplicate-id", duplicate_id, ProjectError, "act1", "id", ("already",), 1),
    Case("dst-port-beyond-inputs", edge_port(1, "dst_port", 1), None, "act1", ANY, ("port 1",)),
    Case("src-port-beyond-outputs", edge_port(1, "src_port", 3), None, "act1", ANY, ("fc1", "port 3")),
    Case("lstm-src-port-beyond-outputs", edge_port(2, "src_port", 3, lstm_classifier), None, "last", ANY,
         ("rnn", "port 3")),
    Case("port-fed-twice", fed_twice, None, "fc1", ANY, ("twice", "x2")),
    Case("unconnected-input", drop_edge("fc1", "act1"), None, "act1", ANY, ("not connected",)),
    Case("add-with-one-input", drop_edge("x", "skip", residual), None, "skip", ANY, ("not connected",)),
    Case("concat-port-gap", edge_port(3, "dst_port", 2, two_branch_concat), None, "join", ANY,
         ("port 2",)),
    # ---- ops and params ----------------------------------------------------------------------------------
    Case("unknown-op-lowercase", edited(cnn, lambda d: find_node(d, "conv1").update(op="conv2d")), None,
         "conv1", "op", ("conv2d", "Conv2d")),
    Case("unknown-op-typo", edited(mlp, lambda d: find_node(d, "fc1").update(op="Lineer")), None,
         "fc1", "op", ("Lineer", "Linear")),
    Case("unknown-op-nonsense", edited(mlp, lambda d: find_node(d, "fc1").update(op="zzqx")), None,
         "fc1", "op", ("zzqx",)),
    Case("int-param-is-string", set_param("fc1", "out_features", "32"), None, "fc1", "out_features",
         ("whole number",)),
    Case("int-param-is-bool", set_param("fc1", "out_features", True), None, "fc1", "out_features",
         ("whole number",)),
    Case("int-param-is-float", set_param("fc1", "out_features", 32.0), None, "fc1", "out_features",
         ("whole number",)),
    Case("int-param-is-fraction", set_param("fc1", "out_features", 32.5), None, "fc1", "out_features",
         ("whole number",)),
    Case("int-param-is-null", set_param("fc1", "out_features", None), None, "fc1", "out_features", ()),
    Case("bool-param-is-list", set_param("fc1", "bias", [1]), None, "fc1", "bias", ("true or false",)),
    Case("bool-param-is-string", set_param("fc1", "bias", "true"), None, "fc1", "bias", ("true or false",)),
    Case("float-param-is-string", set_param("drop", "p", "0.5"), None, "drop", "p", ("number",)),
    Case("float-param-is-nan", json_text(mlp, lambda t: t.replace('"p": 0.1', '"p": NaN')), None, "drop", "p",
         ("finite",)),
    Case("float-param-is-infinity", json_text(mlp, lambda t: t.replace('"p": 0.1', '"p": Infinity')), None,
         "drop", "p", ("finite",)),
    Case("choice-param-unknown", set_param("conv1", "padding_mode", "mirror", cnn), None, "conv1",
         "padding_mode", ("zeros",)),
    Case("int-list-param-has-string", set_param("x", "shape", [64, "8"]), None, "x", "shape", ()),
    Case("out-channels-zero", set_param("conv1", "out_channels", 0, cnn), None, "conv1", "out_channels",
         ("between 1",)),
    Case("dropout-p-above-one", set_param("drop", "p", 1.5), None, "drop", "p", ("between 0 and 1", "1.5")),
    Case("negative-kernel", set_param("conv1", "kernel_size", -3, cnn), None, "conv1", "kernel_size", ("-3",)),
    Case("negative-kernel-in-list", set_param("conv1", "kernel_size", [3, -3], cnn), None, "conv1",
         "kernel_size", ("-3",)),
    Case("kernel-list-too-long", set_param("conv1", "kernel_size", [3, 3, 3], cnn), None, "conv1",
         "kernel_size", ()),
    Case("input-shape-zero", set_param("x", "shape", [0]), None, "x", "shape", ()),
    Case("unknown-param-typo", set_param("conv1", "kernal_size", 3, cnn), None, "conv1", "kernal_size",
         ("kernal_size", "kernel_size")),
    Case("unknown-param-typo-linear", set_param("fc1", "out_featurs", 3), None, "fc1", "out_featurs",
         ("out_featurs", "out_features")),
    Case("param-on-op-without-params", set_param("act1", "inplace", True), None, "act1", "inplace",
         ("inplace",)),
    Case("params-not-an-object", edited(mlp, lambda d: find_node(d, "fc1").update(params=[1, 2])),
         ProjectError, "fc1", "params", (), 1),
    # ---- shapes ------------------------------------------------------------------------------------------
    Case("concat-shape-mismatch", set_param("right", "kernel_size", 3, two_branch_concat), None, "join", ANY,
         ("Concat", "[4, 8, 8]", "[6, 6, 6]")),
    Case("concat-dim-out-of-range", set_param("join", "dim", 5, two_branch_concat), None, "join", "dim",
         ("dim",)),
    Case("add-shape-mismatch", set_param("fc2", "out_features", 8, residual), None, "skip", ANY,
         ("Add", "[8]", "[16]")),
    Case("explicit-in-features-disagrees", set_param("fc1", "in_features", 32), None, "fc1", "in_features",
         ("32", "64")),
    Case("explicit-in-channels-disagrees", set_param("conv1", "in_channels", 3, cnn), None, "conv1",
         "in_channels", ("3", "1")),
    Case("linear-on-token-ids", set_param("x", "dtype", "int64"), None, "fc1", ANY, ("int64",)),
    Case("conv-on-a-vector", set_param("x", "shape", [64], cnn), None, "conv1", ANY, ("Conv2d",)),
    # ---- sizes: refused before anything is allocated -----------------------------------------------------
    Case("linear-10-to-the-12-outputs", set_param("fc1", "out_features", 10**12), None, "fc1", "out_features",
         ("1000000000000",)),
    Case("linear-too-many-weights", edited(mlp, lambda d: (find_node(d, "x")["params"].update(shape=[1 << 20]),
                                                           find_node(d, "fc1")["params"].update(
                                                               out_features=1 << 24))),
         None, "fc1", ANY, ("parameters",)),
    Case("input-too-many-elements", set_param("x", "shape", [1 << 20, 1 << 20], cnn), None, "x", ANY,
         ("values per sample",)),
    # ---- the file's structure: strict --------------------------------------------------------------------
    Case("nodes-not-a-list", set_key(("graph", "nodes"), {"x": 1}), ProjectError, None, "graph.nodes", (),
         1),
    Case("edges-not-a-list", set_key(("graph", "edges"), "x->out"), ProjectError, None, "graph.edges", (),
         1),
    Case("graph-not-an-object", set_key(("graph",), [1]), ProjectError, None, "graph", (), 1),
    Case("training-not-an-object", set_key(("training",), "fast"), ProjectError, None, "training", (), 1),
    Case("name-not-text", set_key(("name",), ["LeNet"]), ProjectError, None, "name", (), 1),
    Case("node-not-an-object", set_key(("graph", "nodes", 1), "fc1"), ProjectError, None, "graph.nodes[1]",
         (), 1),
    Case("node-without-id", set_key(("graph", "nodes", 1, "id"), DELETE), ProjectError, None,
         "graph.nodes[1].id", (), 1),
    Case("node-id-is-a-number", set_key(("graph", "nodes", 1, "id"), 7), ProjectError, None,
         "graph.nodes[1].id", (), 1),
    Case("node-without-op", set_key(("graph", "nodes", 1, "op"), DELETE), ProjectError, "fc1", "op", (),
         1),
    Case("node-pos-not-two-numbers", set_key(("graph", "nodes", 1, "pos"), [1, "2"]), ProjectError, "fc1",
         "pos", (), 1),
    Case("edge-without-dst", set_key(("graph", "edges", 1, "dst"), DELETE), ProjectError, None,
         "graph.edges[1]", (), 1),
    Case("edge-port-negative", edge_port(1, "dst_port", -1), ProjectError, "act1", "graph.edges[1].dst_port",
         (), 1),
    Case("edge-port-is-text", edge_port(1, "src_port", "0"), ProjectError, "act1", "graph.edges[1].src_port",
         (), 1),
    Case("edge-port-is-bool", edge_port(1, "src_port", True), ProjectError, "act1", "graph.edges[1].src_port",
         (), 1),
    # ---- not a LayerLoom file at all: exit 2 --------------------------------------------------------------
    Case("not-json", lambda: '{"format": "layerloom", "format_version": 1,', NotAProjectError, None, ANY,
         ("not valid JSON",), 2),
    Case("empty-file", lambda: "", NotAProjectError, None, ANY, ("JSON",), 2),
    Case("whitespace-file", lambda: " \n\t\n", NotAProjectError, None, ANY, ("JSON",), 2),
    Case("json-list", lambda: [mlp()], NotAProjectError, None, "format", (), 2),
    Case("json-string", lambda: "\"layerloom\"", NotAProjectError, None, "format", (), 2),
    Case("json-null", lambda: "null", NotAProjectError, None, "format", (), 2),
    Case("format-missing", set_key(("format",), DELETE), NotAProjectError, None, "format", (), 2),
    Case("format-wrong", set_key(("format",), "tensorflow"), NotAProjectError, None, "format", (), 2),
    Case("format-wrong-case", set_key(("format",), "LayerLoom"), NotAProjectError, None, "format", (), 2),
    Case("format-version-string", set_key(("format_version",), "1"), NotAProjectError, None, "format_version",
         (), 2),
    Case("format-version-missing", set_key(("format_version",), DELETE), NotAProjectError, None,
         "format_version", (), 2),
    Case("format-version-fraction", set_key(("format_version",), 1.5), NotAProjectError, None,
         "format_version", (), 2),
    Case("format-version-bool", set_key(("format_version",), True), NotAProjectError, None, "format_version",
         (), 2),
    Case("format-version-zero", set_key(("format_version",), 0), NotAProjectError, None, "format_version", (),
         2),
    Case("format-version-newer", set_key(("format_version",), 3), NewerFormatError, None, "format_version",
         ("newer",), 2),
    Case("format-version-far-future", set_key(("format_version",), 10**30), NewerFormatError, None,
         "format_version", ("newer",), 2),
    Case("nested-100000-lists", lambda: "[" * 100_000 + "]" * 100_000, NotAProjectError, None, ANY,
         ("nested too deeply",), 2),
    Case("nested-100000-objects", lambda: '{"a":' * 100_000 + "1" + "}" * 100_000, NotAProjectError, None, ANY,
         ("nested too deeply",), 2),
    Case("nested-100000-inside-params", json_text(mlp, lambda t: t.replace(
        '"out_features": 32', '"out_features": ' + "[" * 100_000 + "]" * 100_000)), NotAProjectError, None, ANY,
        ("nested too deeply",), 2),
    # ENGINE BUG (project_io.read_json): json.loads raises a plain ValueError for an integer literal longer
    # than sys.get_int_max_str_digits() (4300); it escapes load_project instead of a NotAProjectError.
    Case("integer-with-5000-digits", json_text(mlp, lambda t: t.replace('"p": 0.1', '"p": ' + "9" * 5000)),
         NotAProjectError, None, ANY, (), 2),
    Case("binary-file", lambda: bytes(range(256)) * 64, NotAProjectError, None, ANY, ("not a text file",), 2),
    Case("utf16-file", lambda: json.dumps(mlp()).encode("utf-16"), NotAProjectError, None, ANY, (), 2),
    Case("nul-bytes", lambda: b"\x00" * 64, NotAProjectError, None, ANY, (), 2),
    Case("png-header", lambda: b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, NotAProjectError, None, ANY, (), 2),
    Case("directory", lambda: DIRECTORY, NotAProjectError, None, ANY, ("folder",), 2),
    Case("missing-file", lambda: MISSING, NotAProjectError, None, ANY, ("does not exist",), 2),
]

LOAD_ERRORS = [c for c in CASES if c.raises is not None]
CHECK_ERRORS = [c for c in CASES if c.raises is None]


def materialise(case: Case, folder: Path) -> Path:
    content = case.make()
    if content is DIRECTORY:
        path = folder / "a_folder.layerloom.json"
        path.mkdir()
        return path
    if content is MISSING:
        return folder / "no_such_file.layerloom.json"
    if isinstance(content, str | bytes):
        return write_project(folder, content)
    return write_project(folder, content)


def error_text(message: str, hint: str) -> str:
    return f"{message} {hint}"


def assert_names(case: Case, actual_node: Any, actual_field: Any, text: str) -> None:
    if case.node_id is not ANY:
        assert actual_node == case.node_id, (case.id, actual_node, text)
    if case.field is not ANY:
        assert actual_field == case.field, (case.id, actual_field, text)
    for word in case.words:
        assert word in text, (case.id, word, text)


def test_cases_cover_the_brief():
    assert len(CASES) >= 60
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", LOAD_ERRORS, ids=lambda c: c.id)
def test_load_refuses_with_a_typed_error(case, tmp_path):
    path = materialise(case, tmp_path)
    with pytest.raises(ProjectError) as info:
        load_project(path)
    error = info.value
    assert type(error) is case.raises, (case.id, type(error), str(error))
    assert isinstance(error.message, str) and error.message
    assert_names(case, error.node_id, error.field, error_text(str(error), error.hint))
    assert "Traceback" not in str(error)


@pytest.mark.parametrize("case", CHECK_ERRORS, ids=lambda c: c.id)
def test_check_reports_the_node_and_field(case, tmp_path):
    path = materialise(case, tmp_path)
    project = load_project(path)  # loading is lenient about meaning
    result = check(project)
    assert not result.ok, case.id
    matching = [d for d in result.errors
                if (case.node_id is ANY or d.node_id == case.node_id)
                and (case.field is ANY or d.field == case.field)
                and all(w in error_text(d.message, d.hint) for w in case.words)]
    assert matching, (case.id, [(d.node_id, d.field, d.message, d.hint) for d in result.diagnostics])
    for diagnostic in result.diagnostics:
        assert isinstance(diagnostic.message, str) and diagnostic.message
        assert diagnostic.node_id is None or diagnostic.node_id in project.graph
    # Nothing invalid reaches code: both code paths refuse with the diagnostics attached.
    with pytest.raises(InvalidGraphError) as info:
        generate_code(project)
    assert info.value.diagnostics and all(d.is_error for d in info.value.diagnostics)
    with pytest.raises(InvalidGraphError):
        build_model(project)


@pytest.fixture
def run_cli(capsys):
    from graph_engine.cli import main

    def run(*argv: str) -> tuple[int, str]:
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out + err

    return run


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_cli_check_exit_code_and_message(case, tmp_path, run_cli):
    path = materialise(case, tmp_path)
    code, output = run_cli("check", str(path))
    assert code == case.exit, (case.id, code, output)
    assert "Traceback" not in output, output
    assert output.strip(), "the CLI must say what is wrong"
    if isinstance(case.node_id, str):
        assert case.node_id in output, (case.id, output)
    if case.raises is None:
        # The check error's own words are printed, so the user can act on them.
        for word in case.words:
            assert word in output, (case.id, word, output)


def test_cli_check_accepts_a_valid_project(tmp_path, run_cli):
    for builder in (mlp, cnn, residual, two_branch_concat, lstm_classifier):
        path = write_project(tmp_path, builder(), f"{builder.__name__}.layerloom.json")
        code, output = run_cli("check", str(path))
        assert code == 0, output
        assert "Traceback" not in output


@pytest.mark.parametrize("version", [3, 99])
def test_newer_format_version_leaves_the_file_byte_for_byte_unchanged(tmp_path, run_cli, version):
    data = mlp()
    data["format_version"] = version
    data["from_the_future"] = {"keep": True}
    path = write_project(tmp_path, data)
    before = path.read_bytes()
    stamp = os.stat(path).st_mtime_ns
    with pytest.raises(NewerFormatError):
        load_project(path)
    code, output = run_cli("check", str(path))
    assert code == 2 and "Traceback" not in output
    assert "newer" in output.lower()
    assert path.read_bytes() == before
    assert os.stat(path).st_mtime_ns == stamp
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no temp or backup file left behind


def test_every_error_diagnostic_of_a_broken_file_is_printed_with_its_node(tmp_path, run_cli):
    """One file, several independent mistakes: check reports each on its own node, and so does the CLI."""
    data = two_branch_concat()
    find_node(data, "left").update(op="conv2d")
    find_node(data, "head")["params"]["out_features"] = "3"
    find_node(data, "pool")["params"]["output_sise"] = 1
    path = write_project(tmp_path, data)
    result = check(load_project(path))
    assert {d.node_id for d in result.errors} >= {"left", "head", "pool"}
    code, output = run_cli("check", str(path))
    assert code == 1 and "Traceback" not in output
    for node_id in ("left", "head", "pool"):
        assert node_id in output
    assert "Conv2d" in output and "output_size" in output


HUGE_LINEAR_SCRIPT = """
import sys, time, resource
from graph_engine import InvalidGraphError, build_model, check, load_project
start = time.perf_counter()
project = load_project(sys.argv[1])
result = check(project)
assert not result.ok
try:
    build_model(project)
except InvalidGraphError as exc:
    assert exc.diagnostics[0].node_id == "fc1", exc.diagnostics
else:
    raise SystemExit("build_model built a model with a refused layer")
elapsed = time.perf_counter() - start
print(elapsed, "torch" in sys.modules, int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1]))
"""


@pytest.mark.parametrize("sizes", [{"out_features": 10**12}, {"out_features": 1 << 24, "input": 1 << 20}],
                         ids=["10**12-outputs", "2**44-weights"])
def test_huge_linear_is_refused_fast_without_building_torch_modules(tmp_path, sizes):
    data = mlp()
    find_node(data, "fc1")["params"]["out_features"] = sizes["out_features"]
    if "input" in sizes:
        find_node(data, "x")["params"]["shape"] = [sizes["input"]]
    path = write_project(tmp_path, data)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", HUGE_LINEAR_SCRIPT, str(path)], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    elapsed, torch_imported, max_rss_kib = done.stdout.split()
    # Refused analytically: no weights were ever allocated (the memory and import checks prove it; the clock
    # only guards against a hang, since CI machines are shared and noisy).
    assert float(elapsed) < 30.0, elapsed
    assert torch_imported == "False", "refusing a layer must not even import torch"
    assert int(max_rss_kib) < 512 * 1024, max_rss_kib
    assert time.perf_counter() - start < 60


CLI_WITH_RSS = """
import resource, runpy, sys
sys.argv = ["layerloom", *sys.argv[1:]]
try:
    runpy.run_module("graph_engine", run_name="__main__", alter_sys=True)
except SystemExit as exc:
    code = exc.code
else:
    code = 0
print("max_rss_kib", int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1]), file=sys.stderr)
sys.exit(code)
"""


def test_huge_linear_through_the_cli_stays_small(tmp_path):
    """`python -m graph_engine check` (run as the module, as -m does) refuses 2**44 weights in a few MiB."""
    data = mlp()
    find_node(data, "fc1")["params"]["out_features"] = 1 << 24
    find_node(data, "x")["params"]["shape"] = [1 << 20]
    path = write_project(tmp_path, data)
    done = subprocess.run([sys.executable, "-c", CLI_WITH_RSS, "check", str(path)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "fc1" in output and "Traceback" not in output
    max_rss_kib = int(output.split("max_rss_kib")[1].split()[0])
    assert max_rss_kib < 512 * 1024, max_rss_kib  # far below the 64 TiB of weights that were asked for


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


@pytest.mark.parametrize("special", ["/dev/null", "/dev/zero", "/dev/urandom", "fifo"])
def test_special_files_are_refused_without_hanging_or_eating_memory(tmp_path, special):
    """ENGINE BUG (project_io.read_json): the size limit is taken from stat().st_size, which is 0 for devices
    and pipes, and then read_bytes() reads without a bound: `check /dev/zero` grows until memory runs out
    (MemoryError traceback) and `check FIFO` blocks forever. Expected: exit 2 at once ("not a regular file",
    or a bounded read of at most MAX_FILE_BYTES + 1 bytes)."""
    path = special
    if special == "fifo":
        path = str(tmp_path / "pipe.layerloom.json")
        os.mkfifo(path)
    try:
        done = subprocess.run([sys.executable, "-m", "graph_engine", "check", path], cwd=REPO,
                              capture_output=True, text=True, timeout=10, preexec_fn=_limit_memory)
    except subprocess.TimeoutExpired:
        pytest.fail(f"`check {special}` was still running after 10 s")
    output = done.stdout + done.stderr
    assert done.returncode == 2, output[-2000:]
    assert "Traceback" not in output


def test_path_with_a_nul_byte_is_a_typed_error():
    """ENGINE BUG (project_io.read_json): Path.stat() raises ValueError("embedded null byte"), which escapes
    load_project; expected NotAProjectError (a path typed or pasted by the user, or a name from a list)."""
    with pytest.raises(NotAProjectError):
        load_project("broken\x00name.layerloom.json")


def test_moderately_nested_values_do_not_break_the_engine(tmp_path):
    """700 levels of nesting in unknown keys and values loads (json allows it); everything the engine then
    does with the project (check, copy for a training snapshot, save) must still give typed errors only."""
    deep = "[" * 700 + "]" * 700
    text = json.dumps(mlp(), indent=1)
    text = text.replace('"epochs": 2', '"epochs": ' + deep)
    text = text.rstrip().removesuffix("}") + ', "future_key": ' + deep + "}"
    path = write_project(tmp_path, text)
    try:
        project = load_project(path)
    except NotAProjectError:
        return  # refusing it as too deeply nested is fine too
    check(project)
    # ENGINE BUG (project.Project.copy -> copy.deepcopy): RecursionError escapes on a project that loaded.
    project.copy()
    save_project(project, tmp_path / "again.layerloom.json")
    assert load_project(tmp_path / "again.layerloom.json").extra.keys() == project.extra.keys()


def test_broken_file_fixed_in_memory_then_builds(tmp_path):
    """The errors name exactly what to change: applying each hint by hand gives a project that builds."""
    data = cnn()
    find_node(data, "conv1").update(op="conv2d")
    find_node(data, "conv1")["params"]["kernal_size"] = 3
    find_node(data, "fc")["params"]["in_features"] = 5
    path = write_project(tmp_path, data)
    project = load_project(path)
    result = check(project)
    by_field = {(d.node_id, d.field): d for d in result.errors}
    assert "'Conv2d'" in by_field[("conv1", "op")].hint
    fixed = clone(data)
    find_node(fixed, "conv1")["op"] = "Conv2d"
    params = find_node(fixed, "conv1")["params"]
    params["kernel_size"] = params.pop("kernal_size")
    del find_node(fixed, "fc")["params"]["in_features"]
    path.write_text(json.dumps(fixed))
    project = load_project(path)
    assert check(project).ok
    model = build_model(project)
    import torch

    assert tuple(model(torch.zeros(2, 1, 8, 8)).shape) == (2, 10)
