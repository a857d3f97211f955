"""Hostile ids and strings: each is refused or neutralised, and nothing from a file is ever executed.

A sentinel proves it. Every code payload tries to create the file PWNED in the test's tmp folder when it is
executed; the payloads go into every place of a project file a string can go (node id, op, param values, a
choice, a param name, edge ends, the project name, the dataset name, unknown keys), the project goes through
load, check, save, code generation, building (which executes the generated source) and, where the string
legitimately reaches code (the project name, inside a repr'd literal), `python model.py` in a subprocess. The
sentinel must never appear. A canary test shows that the sentinel does detect execution.

Ids are attribute names in generated code, so besides code payloads the list covers every Python keyword and
soft keyword, builtins, nn.Module attributes, the generated code's own names, leading underscores, unicode
look-alikes, invisible and bidi characters, quotes, newlines, backslashes, a 5000-character name, an empty
string and a leading digit. Each is reported on its node (field "id") with a valid suggested id, refused by
Graph.add_node / rename_node, keeps code generation shut until fixed, and the suggestion fixes it.
"""

from __future__ import annotations

import ast
import builtins
import codecs
import json
import keyword
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from graph_engine import (
    GraphEditError,
    InvalidGraphError,
    InvalidIdError,
    Node,
    ProjectError,
    build_model,
    check,
    compile_project,
    generate_code,
    load_project,
    save_project,
)
from graph_engine.identifiers import MAX_ID_LENGTH, id_problem, is_valid_id, suggest_id
from tests.engine.project_factory import (
    edge,
    find_node,
    lstm_classifier,
    mlp,
    rename_everywhere,
    write_project,
)

REPO = Path(__file__).resolve().parents[2]
SENTINEL = "PWNED"
S = "{S}"  # replaced by the sentinel's absolute path in each test
PY = "__import__('pathlib').Path(r'{S}').touch()"
FULLWIDTH_PY = "__\uff49\uff4d\uff50\uff4f\uff52\uff54__('pathlib').Path(r'{S}').touch()"

# Strings that would create the sentinel if any of them reached Python (or a shell, a template engine, a
# deserialiser) unescaped. `{S}` is the sentinel path.
CODE_PAYLOADS = [
    PY,
    "x = " + PY,
    "');" + PY + ";('",
    '");' + PY + ';("',
    "'''\n" + PY + "\n'''",
    '"""\n' + PY + '\n"""',
    "\n" + PY + "\n",
    "fc1\n        " + PY,  # indentation injection into __init__'s body
    "fc1 = " + PY,
    "fc1; " + PY,
    "fc1 # \n" + PY,
    "self.fc1 = " + PY,
    "{" + PY + "}",  # f-string / str.format braces
    "{0.__class__.__mro__[1].__subclasses__()}",
    "exec(" + repr(PY) + ")",
    "eval(" + repr(PY) + ")",
    "exec(bytes.fromhex('" + PY.encode().hex() + "'))",
    "__builtins__.__import__('os').system('touch {S}')",
    "lambda: " + PY,
    "[" + PY + " for _ in [0]]",
    "\\'; " + PY + " #",
    "\\\n" + PY,
    "fc1\x00" + PY,
    "fc1\r" + PY,
    "fc1\u2028" + PY,
    "\u202e" + PY,
    FULLWIDTH_PY,  # full-width letters: NFKC would turn them into __import__
    "$(touch {S})",
    "`touch {S}`",
    "; touch {S}",
    "&& touch {S} #",
    "{{ " + PY + " }}",  # jinja
    "${" + PY + "}",
    "%(" + PY + ")s",
    "cos\nsystem\n(S'touch {S}'\ntR.",  # pickle protocol 0
    "!!python/object/apply:os.system ['touch {S}']",  # yaml
    "<script>" + PY + "</script>",
    "# -*- coding: rot13 -*-\n" + codecs.encode(PY, "rot13"),
    "\x1b]0;" + PY + "\x07\x1b[2J",  # terminal escapes
]

SOFT_KEYWORDS = ["match", "case", "type", "_"]
BUILTIN_NAMES = ["print", "len", "object", "super", "exec", "eval", "open", "input", "id", "__import__",
                 "compile", "globals", "setattr", "getattr", "range", "list", "dict", "True", "None",
                 "__builtins__", "__name__", "__file__"]
MODULE_NAMES = ["forward", "training", "parameters", "state_dict", "to", "cuda", "eval", "train", "zero_grad",
                "apply", "children", "modules", "register_buffer", "add_module", "load_state_dict", "half",
                "float", "T_destination", "dump_patches", "call_super_init", "_modules", "_parameters",
                "_buffers", "__call__", "__dict__", "__class__", "__init__", "__setattr__", "__getattr__"]
CODE_NAMES = ["self", "torch", "nn", "F", "math", "create_model", "model", "example", "output"]
SHAPE_NAMES = [
    "_x", "__x", "_", "__", "___init___",
    "\u0441onv1",  # Cyrillic es
    "c\u03bfnv1",  # Greek omicron
    "\uff43\uff4f\uff4e\uff56\uff11",  # full-width "conv1"
    "\ufb01lter",  # "fi" ligature: NFKC makes it "filter", a builtin
    "\U0001d41c\U0001d428\U0001d427\U0001d42f",  # mathematical bold "conv"
    "\u210cidden",  # script H
    "fc\u200b1", "fc\u200d1", "\ufefffc1", "fc1\u2060",  # zero-width space / joiner, BOM, word joiner
    "fc\u202e1", "\u2066fc1\u2069",  # bidi override, isolate
    "fc\n1", "fc\t1", "fc 1", "fc-1", "fc.1", "fc'1", 'fc"1', "fc\\1", "fc1\n", " fc1",
    "fc\x001", "fc\ud8001",  # NUL, lone surrogate
    "x" * 5000, "a" * (MAX_ID_LENGTH + 1), "",
    "1fc", "123", "0x10", "1e5",
]

ID_PAYLOADS = list(dict.fromkeys(
    keyword.kwlist + SOFT_KEYWORDS + BUILTIN_NAMES + MODULE_NAMES + CODE_NAMES + SHAPE_NAMES + CODE_PAYLOADS))


def short_id(payload: str) -> str:
    return ascii(payload)[:60]


def arm(payload: str, sentinel: Path) -> str:
    return payload.replace(S, str(sentinel))


@pytest.fixture
def sentinel(tmp_path):
    path = tmp_path / SENTINEL
    yield path
    assert not path.exists(), "a string from a project file was executed"
    assert not list(tmp_path.rglob(SENTINEL)), "a string from a project file was executed"
    assert not (REPO / SENTINEL).exists()


def test_the_payload_list_is_large_and_the_sentinel_works(tmp_path):
    """Canary: the payload really creates the sentinel when Python executes it, so its absence means
    something. And there are at least 50 hostile strings."""
    assert len(ID_PAYLOADS) >= 150 and len(CODE_PAYLOADS) >= 35
    path = tmp_path / SENTINEL
    exec(arm(PY, path))  # noqa: S102 - the canary itself
    assert path.exists()
    path.unlink()
    exec(unicodedata.normalize("NFKC", arm(FULLWIDTH_PY, path)))  # noqa: S102 - what Python does to names
    assert path.exists()


def test_every_id_payload_is_invalid_by_the_rules():
    for payload in ID_PAYLOADS:
        assert id_problem(payload), ascii(payload)
        assert not is_valid_id(payload)


# ---- ids ----------------------------------------------------------------------------------------------


def mlp_with_id(payload: str, old: str = "fc1") -> dict:
    return rename_everywhere(mlp(), old, payload)


@pytest.mark.parametrize("payload", ID_PAYLOADS, ids=short_id)
def test_hostile_id_is_reported_refused_and_fixed(payload, tmp_path, sentinel):
    bad = arm(payload, sentinel)
    path = write_project(tmp_path, mlp_with_id(bad))
    project = load_project(path)  # a bad id loads, so the app can show it and propose a fix
    assert bad in project.graph

    result = check(project)
    on_node = [d for d in result.errors if d.node_id == bad and d.field == "id"]
    assert len(on_node) == 1, [str(d) for d in result.diagnostics]
    diagnostic = on_node[0]
    suggestion = suggest_id(bad, project.graph.nodes)
    assert is_valid_id(suggestion), suggestion
    assert suggestion not in project.graph
    assert repr(suggestion) in diagnostic.hint
    assert len(diagnostic.message) < 300  # a 5000-character id is shortened in the message

    # Nothing is generated, built or executed while the id is wrong.
    with pytest.raises(InvalidGraphError) as info:
        generate_code(project)
    assert any(d.node_id == bad and d.field == "id" for d in info.value.diagnostics)
    with pytest.raises(InvalidGraphError):
        build_model(project)
    with pytest.raises(InvalidGraphError):
        compile_project(project)

    # The edit API refuses the id outright, and a refused edit changes nothing.
    fresh = load_project(mlp()).graph
    before = list(fresh.nodes)
    with pytest.raises(InvalidIdError) as refused:
        fresh.add_node(Node(bad, "ReLU"))
    assert refused.value.field == "id" and "try" in refused.value.hint
    with pytest.raises(InvalidIdError) as refused:
        fresh.rename_node("act1", bad)
    assert refused.value.field == "id" and "try" in refused.value.hint
    assert list(fresh.nodes) == before and check(fresh).ok
    graph = project.graph
    with pytest.raises(GraphEditError):  # already there, and invalid anyway
        graph.add_node(Node(bad, "ReLU"))

    # Saving keeps the user's name exactly: their file is not silently rewritten.
    save_project(project, tmp_path / "saved.layerloom.json")
    assert bad in load_project(tmp_path / "saved.layerloom.json").graph

    # The suggested id fixes it: the project builds and runs.
    graph.rename_node(bad, suggestion)
    assert check(project).ok
    source = generate_code(project)
    assert f"self.{suggestion} = nn.Linear(64, 32)" in source
    compile(source, "model.py", "exec")
    import torch

    with torch.no_grad():
        assert tuple(build_model(project)(torch.zeros(2, 64)).shape) == (2, 10)


@pytest.mark.parametrize("payload", ["class", "forward", "\u0441onv1", "fc\u200b1", "fc\n1", "x" * 5000, "",
                                     "1fc", PY, "\x1b]0;title\x07\x1b[2J", "fc\ud8001", "fc\u202e1"],
                         ids=short_id)
def test_cli_reports_hostile_id_without_traceback(payload, tmp_path, sentinel, capsys):
    from graph_engine.cli import main

    bad = arm(payload, sentinel)
    path = write_project(tmp_path, mlp_with_id(bad))
    code = main(["check", str(path)])
    out, err = capsys.readouterr()
    output = out + err
    assert code == 1, output
    assert "Traceback" not in output
    assert repr(suggest_id(bad, {"x", "act1", "drop", "fc2", "out"})) in output
    # What reaches the terminal is neutralised: no raw control, invisible or bidi characters that could
    # rewrite the screen or disguise what is printed.
    sneaky = {c for c in output if c not in "\n\t" and unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp")}
    assert not sneaky, sorted(map(ascii, sneaky))


@pytest.mark.parametrize("payload", ["fc\ud8001", "\x1b[2J" + PY, "fc\u202e1"], ids=short_id)
def test_cli_subprocess_survives_hostile_ids(payload, tmp_path, sentinel):
    """The real entry point, with real stdout encodings: a lone surrogate must not crash the printing."""
    bad = arm(payload, sentinel)
    path = write_project(tmp_path, mlp_with_id(bad))
    done = subprocess.run([sys.executable, "-m", "graph_engine", "check", str(path)], cwd=tmp_path,
                          capture_output=True, timeout=120)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert b"Traceback" not in output


def test_lone_surrogate_from_a_json_escape_can_be_saved(tmp_path):
    """ENGINE BUG (project_io.save_project / atomic_write_text): a file may spell a lone surrogate as the JSON
    escape \\ud800; it loads, but saving raises a raw UnicodeEncodeError (json.dumps(ensure_ascii=False) then
    a strict UTF-8 write) and leaves the temporary file behind. Expected: the save succeeds (e.g. escape what
    UTF-8 cannot hold) and round-trips, or a ProjectError, and never a stray .tmp file."""
    data = mlp("name \ud800")
    rename_everywhere(data, "fc1", "fc\ud8001")
    path = write_project(tmp_path, data)
    assert b"\\ud800" in path.read_bytes()
    project = load_project(path)
    out = tmp_path / "saved.layerloom.json"
    try:
        save_project(project, out)
    except ProjectError:
        assert not out.exists()
    else:
        again = load_project(out)
        assert again.name == "name \ud800" and "fc\ud8001" in again.graph
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != out.name) == [path.name], "stray temp file"


def test_non_text_ids_are_refused_at_load_and_by_the_edit_api(tmp_path):
    for value in (7, 1.5, None, True, ["fc1"], {"id": "fc1"}):
        data = mlp_with_id(value)
        with pytest.raises(ProjectError) as info:
            load_project(write_project(tmp_path, data))
        assert info.value.field == "graph.nodes[1].id", info.value
        with pytest.raises(InvalidIdError):
            load_project(mlp()).graph.add_node(Node(value, "ReLU"))  # type: ignore[arg-type]


def test_several_hostile_ids_get_distinct_suggestions_that_build(tmp_path, sentinel):
    """Ids whose suggestions would collide (with each other or with existing nodes) still get unique ones."""
    data = mlp()
    bad_ids = {"fc1": "fc\u200b2", "act1": "f\u0441\u200d2", "drop": "fc2\n", "fc2": "_fc2"}
    for old, new in bad_ids.items():
        rename_everywhere(data, old, new)
    project = load_project(write_project(tmp_path, data))
    assert {d.node_id for d in check(project).errors if d.field == "id"} == set(bad_ids.values())
    for bad in bad_ids.values():
        project.graph.rename_node(bad, suggest_id(bad, project.graph.nodes))
    assert all(is_valid_id(n) for n in project.graph.nodes)
    assert len(set(project.graph.nodes)) == len(project.graph.nodes)
    assert check(project).ok
    build_model(project)


def test_suggest_id_is_always_valid_and_free():
    taken: set[str] = set()
    for payload in ID_PAYLOADS + ["layer", "layer_2", "n_1", "import_pathlib"]:
        suggestion = suggest_id(payload, taken)
        assert is_valid_id(suggestion), (ascii(payload), suggestion)
        assert suggestion not in taken
        taken.add(suggestion)


# ---- payloads in every other place of the file ---------------------------------------------------------

REFUSED_PLACES = ["op", "int_param", "float_param", "choice_param", "int_list_param", "param_name",
                  "edge_src", "edge_dst"]


def place_refused(data: dict, place: str, payload: str) -> str:
    """Put `payload` where the file is wrong; return the node that must carry the error."""
    if place == "op":
        find_node(data, "fc1")["op"] = payload
        return "fc1"
    if place == "int_param":
        find_node(data, "fc1")["params"]["out_features"] = payload
        return "fc1"
    if place == "float_param":
        find_node(data, "drop")["params"]["p"] = payload
        return "drop"
    if place == "choice_param":
        find_node(data, "x")["params"]["dtype"] = payload
        return "x"
    if place == "int_list_param":
        find_node(data, "x")["params"]["shape"] = [64, payload]
        return "x"
    if place == "param_name":
        find_node(data, "fc1")["params"][payload] = 1
        return "fc1"
    if place == "edge_src":
        data["graph"]["edges"][-1]["src"] = payload
        return "out"
    if place == "edge_dst":
        data["graph"]["edges"].append(edge("fc2", payload))
        return "fc2"
    raise AssertionError(place)


@pytest.mark.parametrize("place", REFUSED_PLACES)
@pytest.mark.parametrize("payload", CODE_PAYLOADS, ids=short_id)
def test_payload_in_a_checked_place_is_an_error_on_its_node(payload, place, tmp_path, sentinel):
    data = mlp()
    owner = place_refused(data, place, arm(payload, sentinel))
    project = load_project(write_project(tmp_path, data))
    result = check(project)
    assert any(d.node_id == owner for d in result.errors), [str(d) for d in result.diagnostics]
    for d in result.diagnostics:
        assert d.node_id is None or d.node_id in project.graph
        assert len(d.message) < 400, d.message
    with pytest.raises(InvalidGraphError):
        generate_code(project)
    with pytest.raises(InvalidGraphError):
        build_model(project)
    save_project(project, tmp_path / "saved.layerloom.json")
    load_project(tmp_path / "saved.layerloom.json")


def clean_reference() -> str:
    return generate_code(load_project(mlp("Reference")))


def normalised(source: str) -> str:
    """The generated module with the project name's literal and the class name blanked out, as an AST dump:
    two projects that differ only in their names print the same."""
    tree = ast.parse(source)
    class_name = next(n.name for n in tree.body if isinstance(n, ast.ClassDef))
    for n in ast.walk(tree):
        if isinstance(n, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "PROJECT_NAME" for t in n.targets):
            n.value = ast.Constant("")
        elif isinstance(n, ast.ClassDef):
            n.name = "CLASS"
        elif isinstance(n, ast.Name) and n.id == class_name:
            n.id = "CLASS"
        elif isinstance(n, ast.Constant) and isinstance(n.value, str):
            n.value = n.value.replace(class_name, "CLASS")
    return ast.dump(tree)


LEGIT_PLACES = ["project_name", "dataset_name", "top_level_key", "top_level_value", "node_extra", "edge_extra",
                "training_value", "description"]


def place_legit(data: dict, place: str, payload: str) -> None:
    """Put `payload` where a file may hold any text; the project stays valid."""
    if place == "project_name":
        data["name"] = payload
    elif place == "dataset_name":
        data["training"]["dataset"]["name"] = payload
    elif place == "top_level_key":
        data[payload] = {"note": 1}
    elif place == "top_level_value":
        data["future_feature"] = {"script": payload, "list": [payload]}
    elif place == "node_extra":
        find_node(data, "fc1")["comment"] = payload
        find_node(data, "fc1")[payload] = payload
    elif place == "edge_extra":
        data["graph"]["edges"][0]["label"] = payload
    elif place == "training_value":
        data["training"]["optimizer"]["name"] = payload
        data["training"]["loss"] = payload
    elif place == "description":
        data["description"] = payload
    else:
        raise AssertionError(place)


@pytest.mark.parametrize("place", LEGIT_PLACES)
@pytest.mark.parametrize("payload", CODE_PAYLOADS, ids=short_id)
def test_payload_in_free_text_never_reaches_code_unescaped(payload, place, tmp_path, sentinel):
    data = mlp("Reference")
    armed = arm(payload, sentinel)
    place_legit(data, place, armed)
    path = write_project(tmp_path, data)
    project = load_project(path)
    assert check(project).ok
    source = generate_code(project)
    reference = clean_reference()
    if place == "project_name":
        tree = ast.parse(source)
        literal = next(n.value for n in tree.body if isinstance(n, ast.Assign)
                       and any(isinstance(t, ast.Name) and t.id == "PROJECT_NAME" for t in n.targets))
        assert ast.literal_eval(literal) == armed[:200]  # the name is data, in a literal, nothing more
        class_name = next(n.name for n in tree.body if isinstance(n, ast.ClassDef))
        assert class_name.isascii() and class_name.isalnum() and class_name[0].isalpha()
        assert normalised(source) == normalised(reference)
    else:
        assert source == reference  # the payload does not reach the code at all
    compiled = compile_project(project)  # executes the generated source
    import torch

    with torch.no_grad():
        assert tuple(compiled.create_model()(torch.zeros(2, 64)).shape) == (2, 10)
    save_project(project, tmp_path / "saved.layerloom.json")
    again = json.loads((tmp_path / "saved.layerloom.json").read_text(encoding="utf-8"))
    original = json.loads(path.read_text(encoding="utf-8"))
    if place == "edge_extra":  # the format keeps unknown keys at the top level and on nodes, not on edges
        again["graph"]["edges"] = original["graph"]["edges"] = []
    assert again == original  # every character of their text kept


def scripts_for_all_payloads(folder: Path, sentinel: Path) -> list[Path]:
    scripts = []
    for i, payload in enumerate(CODE_PAYLOADS):
        data = mlp(arm(payload, sentinel))
        place_legit(data, "dataset_name", arm(payload, sentinel))
        place_legit(data, "top_level_key", arm(payload, sentinel))
        script = folder / f"model_{i}.py"
        script.write_text(generate_code(load_project(data)), encoding="utf-8")
        scripts.append(script)
    return scripts


RUN_ALL = """
import runpy, sys
for path in sys.argv[1:]:
    runpy.run_path(path, run_name="__main__")
print("ran", len(sys.argv) - 1)
"""


def test_generated_scripts_run_without_executing_any_payload(tmp_path, sentinel):
    """Every payload as a project name: the exported file runs as a script (as `python model.py` does, one
    interpreter for all of them to keep it fast) and the sentinel never appears."""
    scripts = scripts_for_all_payloads(tmp_path, sentinel)
    done = subprocess.run([sys.executable, "-c", RUN_ALL, *map(str, scripts)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"ran {len(scripts)}" in done.stdout
    assert done.stdout.count("out (2, 10)") == len(scripts)


@pytest.mark.parametrize("payload", [PY, '"""\n' + PY + '\n"""', "\\'; " + PY + " #", FULLWIDTH_PY],
                         ids=short_id)
def test_python_model_py_does_not_execute_the_project_name(payload, tmp_path, sentinel):
    data = mlp(arm(payload, sentinel))
    script = tmp_path / "model.py"
    script.write_text(generate_code(load_project(data)), encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "out (2, 10)" in done.stdout


# ---- valid ids that sit next to the generated code's own names ----------------------------------------

TRICKY_VALID = {
    "example_inputs": "fc1", "PROJECT_NAME": "act1", "Module": "drop", "ReferenceNet": "fc2",
    "batch_size": "x", "x_" + "a" * (MAX_ID_LENGTH - 2): "out",
}


def test_valid_ids_next_to_generated_names_build_and_run_as_a_script(tmp_path):
    data = mlp("Reference net")
    for new, old in TRICKY_VALID.items():
        assert is_valid_id(new), new
        rename_everywhere(data, old, new)
    project = load_project(write_project(tmp_path, data))
    assert check(project).ok, [str(d) for d in check(project).diagnostics]
    compiled = compile_project(project)
    assert compiled.class_name != "ReferenceNet"  # the class does not shadow the node named like it
    script = tmp_path / "model.py"
    script.write_text(compiled.source, encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "(2, 10)" in done.stdout


def test_ids_named_like_generated_helper_variables_do_not_clash(tmp_path):
    """A multi-output op gets helper variables ({id}_out, {id}_h_n); other nodes may already be called that."""
    data = lstm_classifier()
    rename_everywhere(data, "last", "rnn_out")
    rename_everywhere(data, "head", "rnn_h_n")
    data["graph"]["nodes"].append({"id": "rnn_c_n", "op": "Output"})
    data["graph"]["edges"].append(edge("rnn", "rnn_c_n", 1, 0))  # h_n: [num_layers, hidden]
    project = load_project(write_project(tmp_path, data))
    assert check(project).ok, [str(d) for d in check(project).diagnostics]
    compiled = compile_project(project)
    model = compiled.create_model().eval()
    import torch

    with torch.no_grad():
        logits, h_n = model(*compiled.example_inputs(3))
    assert tuple(logits.shape) == (3, 4) and tuple(h_n.shape) == (3, 1, 16)


def test_builtins_and_keywords_are_all_covered():
    """Every keyword, soft keyword and builtin of this Python is refused as an id."""
    for name in keyword.kwlist + keyword.softkwlist + dir(builtins):
        assert not is_valid_id(name), name
