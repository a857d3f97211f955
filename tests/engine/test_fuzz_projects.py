"""Fuzzing project files: valid projects, randomly broken, must give typed errors or diagnostics, nothing else.

Seeds are the built-in templates (resources/templates) and the factory's networks. Each example applies a few
random mutations: delete or replace keys anywhere, change types, swap values for random JSON (None, bools,
huge ints, NaN and infinities, strings, nested lists and objects), duplicate or drop nodes, add random edges and
ports, change ops to other catalog ops, move params between specs, and corrupt the JSON text itself.

Properties, for every mutated file:
- `load_project` + `check` succeed or raise only `ProjectError` subclasses;
- every diagnostic has a non-empty str message and a node_id that is None or a node of the graph;
- saving a loaded project and loading it again gives the same diagnostics;
- when `check` is ok, `generate_code` succeeds and the source compiles (a sample is built with torch and run);
- `check FILE` on the CLI exits 0, 1 or 2, agrees with the API, and never prints a traceback.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import itertools
import json
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graph_engine import (
    NewerFormatError,
    NotAProjectError,
    ProjectError,
    check,
    compile_project,
    generate_code,
    load_project,
    project_to_dict,
)
from graph_engine.catalog import CATALOG, REQUIRED
from graph_engine.validation import ERROR, WARNING
from tests.engine.project_factory import clone, seed_projects

SEEDS = seed_projects()
SEED_NAMES = sorted(SEEDS)
OPS = sorted(CATALOG)
PARAM_NAMES = sorted({p.name for spec in CATALOG.values() for p in spec.params})
NEAR_MISSES = ["conv2d", "Linea", "relu", "LSTM ", "input", "", "Add\u200b", "__class__", "Input\n"]
SCALE = int(os.environ.get("LAYERLOOM_FUZZ_SCALE", "1"))  # e.g. 20 for a long hunt; 1 keeps this file ~20 s
FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
                max_examples=1000 * SCALE)
BUILD_EVERY = 50
STATS = {"examples": 0, "loaded": 0, "ok": 0, "built": 0}


@pytest.fixture(scope="module", autouse=True)
def report_stats():
    yield
    print(f"\nfuzz stats: {STATS}")


# ---- strategies -------------------------------------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 70),
    st.sampled_from([0, -1, 1 << 24, (1 << 24) + 1, 1 << 31, 1 << 63, 10**12, -(10**18), 2**100]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 0.5, 1.5, 1e308, -1e-308, math.nan, math.inf, -math.inf]),
    st.text(max_size=12),
    st.sampled_from(["auto", "float32", "int64", "zeros", "relu", "", "0", "1", "true", "None", "\ud800",
                     "a\udfffb", "\x1b[2J", "\u202e", "x\n", "\x00"]),
    st.sampled_from(OPS + PARAM_NAMES + NEAR_MISSES),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
ports = st.one_of(st.integers(0, 3), st.sampled_from([-1, 1023, 1024, 10**9]), st.booleans(),
                  st.sampled_from(["0", None, 0.0, 1.5]))


def containers(value: Any, path: tuple = ()) -> list[tuple]:
    """Paths to every dict and list inside `value` (the root included)."""
    found = []
    if isinstance(value, dict | list):
        found.append(path)
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, child in items:
            found.extend(containers(child, (*path, key)))
    return found


def at(value: Any, path: tuple) -> Any:
    for key in path:
        value = value[key]
    return value


def nodes_of(data: Any) -> list | None:
    graph = data.get("graph") if isinstance(data, dict) else None
    nodes = graph.get("nodes") if isinstance(graph, dict) else None
    return nodes if isinstance(nodes, list) else None


def edges_of(data: Any) -> list | None:
    graph = data.get("graph") if isinstance(data, dict) else None
    edges = graph.get("edges") if isinstance(graph, dict) else None
    return edges if isinstance(edges, list) else None


def node_ids(data: Any) -> list:
    return [n.get("id") for n in nodes_of(data) or [] if isinstance(n, dict)]


def retype(value: Any, draw) -> Any:
    """The same content in another JSON type."""
    options = [str(value), [value], {"value": value}, None]
    if isinstance(value, int | float) and not isinstance(value, bool):
        options += [float(value), bool(value), -value if math.isfinite(value) else 0]
        if isinstance(value, float) and math.isfinite(value):
            options.append(int(value))
    if isinstance(value, str):
        options += [len(value), value.upper(), value + " "]
    if isinstance(value, list):
        options += [list(reversed(value)), value * 2, {str(i): v for i, v in enumerate(value)}]
    return draw(st.sampled_from(options))


def mutate(data: Any, draw) -> Any:
    """One random mutation; returns the (possibly new) root."""
    kind = draw(st.sampled_from([
        "delete", "replace", "retype", "duplicate_node", "drop_node", "random_edge", "drop_edge", "edge_port",
        "swap_edge", "op", "foreign_param", "param_value", "rename", "replace_root",
    ]))
    nodes, edges = nodes_of(data), edges_of(data)
    node_items = [n for n in nodes or [] if isinstance(n, dict)]
    if kind == "replace_root":
        return draw(st.one_of(json_values, st.builds(dict, format=st.just("layerloom"), format_version=ports)))
    if kind in ("delete", "replace", "retype"):
        places = [p for p in containers(data) if at(data, p)]
        if not places:
            return data
        parent = at(data, draw(st.sampled_from(places)))
        key = draw(st.sampled_from(list(parent) if isinstance(parent, dict) else list(range(len(parent)))))
        if kind == "delete":
            del parent[key]
        elif kind == "replace":
            parent[key] = draw(json_values)
        else:
            parent[key] = retype(parent[key], draw)
        return data
    if kind == "duplicate_node" and node_items:
        twin = clone(draw(st.sampled_from(node_items)))
        if draw(st.booleans()):
            twin["id"] = draw(st.text(max_size=6) | st.sampled_from(node_ids(data) or ["x"]))
        nodes.insert(draw(st.integers(0, len(nodes))), twin)
    elif kind == "drop_node" and nodes:
        nodes.pop(draw(st.integers(0, len(nodes) - 1)))
    elif kind == "random_edge" and edges is not None:
        ids = node_ids(data) or ["x"]
        end = st.sampled_from(ids) | st.text(max_size=5)
        item: dict[str, Any] = {"src": draw(end), "dst": draw(end)}
        if draw(st.booleans()):
            item["src_port"] = draw(ports)
        if draw(st.booleans()):
            item["dst_port"] = draw(ports)
        edges.append(item)
    elif kind == "drop_edge" and edges:
        edges.pop(draw(st.integers(0, len(edges) - 1)))
    elif kind in ("edge_port", "swap_edge") and edges:
        item = draw(st.sampled_from(edges))
        if isinstance(item, dict):
            if kind == "edge_port":
                item[draw(st.sampled_from(["src_port", "dst_port"]))] = draw(ports)
            else:
                item["src"], item["dst"] = item.get("dst"), item.get("src")
    elif kind == "op" and node_items:
        draw(st.sampled_from(node_items))["op"] = draw(st.sampled_from(OPS) | st.sampled_from(NEAR_MISSES))
    elif kind in ("foreign_param", "param_value") and node_items:
        target = draw(st.sampled_from(node_items))
        params = target.get("params")
        if not isinstance(params, dict):
            params = target["params"] = {}
        spec = CATALOG.get(target.get("op")) if isinstance(target.get("op"), str) else None
        if kind == "foreign_param" or spec is None or not spec.params:
            other = CATALOG[draw(st.sampled_from(OPS))]
            if not other.params:
                return data
            param = draw(st.sampled_from(other.params))
        else:
            param = draw(st.sampled_from(spec.params))
        candidates = ["auto", None] + ([] if param.default is REQUIRED else [param.default])
        for bound in (param.min, param.max):
            if bound is not None:
                candidates += [bound, bound - 1, bound + 1, int(bound) if math.isfinite(bound) else 0]
        candidates += list(param.choices)
        value = clone(draw(st.sampled_from(candidates) | json_values))  # never alias the spec's defaults
        params[param.name] = [value, value] if draw(st.integers(0, 9)) == 0 else value
    elif kind == "rename" and node_items:
        target = draw(st.sampled_from(node_items))
        target["id"] = draw(st.text(max_size=8) | st.sampled_from(["class", "forward", "_x", "1a", "x"]))
    return data


@st.composite
def mutated_projects(draw) -> tuple[str, Any]:
    name = draw(st.sampled_from(SEED_NAMES))
    data = clone(SEEDS[name])
    for _ in range(draw(st.integers(1, 5))):
        data = mutate(data, draw)
    return name, data


SHAPE_KEEPING_OPS = ["ReLU", "Tanh", "Sigmoid", "GELU", "SiLU", "Mish", "Hardswish", "ELU", "LeakyReLU",
                     "Identity", "Dropout"]


def nudge(data: dict, draw) -> None:
    """A mutation that often keeps the project valid: a param set to a legal-looking value, or an
    activation swapped for another."""
    node_items = [n for n in nodes_of(data) or [] if isinstance(n, dict)]
    target = draw(st.sampled_from(node_items))
    spec = CATALOG.get(target.get("op"))
    if spec is None:
        return
    if target["op"] in SHAPE_KEEPING_OPS and draw(st.booleans()):
        target["op"] = draw(st.sampled_from(SHAPE_KEEPING_OPS))
        target.pop("params", None)
        return
    if not spec.params:
        return
    param = draw(st.sampled_from(spec.params))
    if param.choices:
        value = draw(st.sampled_from(param.choices))
    elif param.kind == "bool":
        value = draw(st.booleans())
    elif param.kind == "float":
        value = draw(st.floats(param.min if param.min is not None else -2.0,
                               param.max if param.max is not None else 2.0))
    elif param.kind in ("int", "int_tuple"):
        low = int(param.min) if param.min is not None else -3
        value = draw(st.integers(low, min(low + 6, int(param.max) if param.max is not None else low + 6)))
    else:
        value = draw(st.lists(st.integers(-1, 6), min_size=param.min_len, max_size=min(param.max_len, 4)))
    target.setdefault("params", {})[param.name] = value


@st.composite
def nudged_projects(draw) -> dict:
    data = clone(SEEDS[draw(st.sampled_from(SEED_NAMES))])
    for _ in range(draw(st.integers(1, 3))):
        nudge(data, draw)
    return data


def legal_value(param, draw) -> Any:
    """A value inside the param's declared kind, range and choices (kept small so models stay tiny)."""
    low = param.min if param.min is not None else -3
    high = param.max if param.max is not None else 6
    int_low = math.ceil(low)
    int_high = min(int(high), int_low + 6)
    if param.choices:
        return draw(st.sampled_from(param.choices))
    if param.kind == "bool":
        return draw(st.booleans())
    if param.kind == "float":
        return draw(st.floats(low, min(high, low + 3)))
    if param.kind == "int" or (param.kind == "int_tuple" and (param.length is None or draw(st.booleans()))):
        return draw(st.integers(int_low, int_high))
    if param.kind == "int_tuple":
        return draw(st.lists(st.integers(int_low, int_high), min_size=param.length, max_size=param.length))
    return draw(st.lists(st.integers(int_low, int_high), min_size=param.min_len,
                         max_size=max(param.min_len, min(param.max_len, 4))))


@st.composite
def single_op_projects(draw) -> dict:
    """Every catalog op, wired from Input(s) of random shapes to Output(s), with random legal params."""
    op = draw(st.sampled_from([o for o in OPS if o not in ("Input", "Output")]))
    spec = CATALOG[op]
    count = draw(st.integers(spec.min_inputs, 3)) if spec.variadic else len(spec.inputs)
    if not spec.variadic and any(p.optional for p in spec.inputs) and draw(st.booleans()):
        count = 1
    dims = st.lists(st.integers(1, 6), min_size=1, max_size=4)
    first = draw(dims)
    nodes: list[dict] = []
    edges: list[dict] = []
    for port in range(count):
        shape = first if draw(st.integers(0, 4)) else draw(dims)
        dtype = "int64" if draw(st.integers(0, 9)) == 0 else "float32"
        nodes.append({"id": f"in{port}", "op": "Input", "params": {"shape": shape, "dtype": dtype}})
        edges.append({"src": f"in{port}", "dst": "op", "src_port": 0, "dst_port": port})
    params = {p.name: legal_value(p, draw) for p in spec.params if not p.fixed and draw(st.booleans())}
    nodes.append({"id": "op", "op": op, "params": params})
    for port in range(len(spec.outputs)):
        if port == 0 or draw(st.booleans()):
            nodes.append({"id": f"out{port}", "op": "Output"})
            edges.append({"src": "op", "dst": f"out{port}", "src_port": port, "dst_port": 0})
    return {"format": "layerloom", "format_version": 1, "name": f"single {op}",
            "graph": {"nodes": nodes, "edges": edges}}


@st.composite
def corrupted_texts(draw) -> bytes:
    """The JSON text of a seed, damaged at the byte level (truncated, spliced, flipped)."""
    text = json.dumps(SEEDS[draw(st.sampled_from(SEED_NAMES))]).encode()
    for _ in range(draw(st.integers(1, 3))):
        cut = draw(st.integers(0, len(text)))
        kind = draw(st.sampled_from(["truncate", "insert", "delete", "flip", "duplicate"]))
        if kind == "truncate":
            text = text[:cut]
        elif kind == "insert":
            text = text[:cut] + draw(st.binary(min_size=1, max_size=4) | st.sampled_from(
                [b"{", b"}", b"[", b"]", b",", b'"', b"\\", b":", b"NaN", b"-", b"1e999", b"\xff"])) + text[cut:]
        elif kind == "delete":
            text = text[:cut] + text[cut + draw(st.integers(1, 8)):]
        elif kind == "flip" and cut < len(text):
            text = text[:cut] + bytes([text[cut] ^ (1 << draw(st.integers(0, 7)))]) + text[cut + 1:]
        else:
            text = text[:cut] + text[max(0, cut - 20):cut] + text[cut:]
    return text


# ---- helpers ------------------------------------------------------------------------------------------

_folder = Path(tempfile.mkdtemp(prefix="layerloom-fuzz-"))
atexit.register(shutil.rmtree, _folder, ignore_errors=True)
_file_counter = itertools.count()


def write(content: Any) -> Path:
    path = _folder / f"fuzz_{next(_file_counter) % 8}.layerloom.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        try:
            path.write_bytes(json.dumps(content, ensure_ascii=False).encode("utf-8"))
        except UnicodeEncodeError:
            path.write_text(json.dumps(content), encoding="ascii")
    return path


def diagnostics_key(result) -> list[tuple]:
    return [(d.severity, d.node_id, d.message, d.hint, d.field) for d in result.diagnostics]


def assert_sound(project, result) -> None:
    for d in result.diagnostics:
        assert d.severity in (ERROR, WARNING)
        assert isinstance(d.message, str) and d.message.strip()
        assert isinstance(d.hint, str)
        assert d.field is None or isinstance(d.field, str)
        assert d.node_id is None or d.node_id in project.graph, (d.node_id, d.message)
        assert isinstance(str(d), str)


def load_and_check(path: Path):
    """Load + check through the API; returns (project, result) or the ProjectError. Anything else escapes."""
    STATS["examples"] += 1
    try:
        project = load_project(path)
    except ProjectError as exc:
        assert isinstance(exc.message, str) and exc.message
        assert isinstance(str(exc), str)
        return exc
    STATS["loaded"] += 1
    result = check(project)
    assert_sound(project, result)
    return project, result


def generate_and_maybe_build(project, result) -> None:
    STATS["ok"] += 1
    source = generate_code(project, result)
    compile(source, "<fuzz>", "exec")
    if STATS["ok"] % BUILD_EVERY == 1:
        import torch

        compiled = compile_project(project, result)
        model = compiled.create_model().eval()
        with torch.no_grad():
            model(*compiled.example_inputs(2))
        STATS["built"] += 1


def run_cli(path: Path) -> tuple[int, str]:
    from graph_engine.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["check", str(path)])
    return code, out.getvalue() + err.getvalue()


# ---- properties ---------------------------------------------------------------------------------------


def test_seeds_are_valid_and_include_the_templates():
    assert len(SEEDS) >= 5
    for name, data in SEEDS.items():
        project = load_project(data)
        result = check(project)
        assert result.ok, (name, [str(d) for d in result.errors])


@FUZZ
@given(case=mutated_projects())
def test_mutated_projects_give_typed_errors_or_sound_diagnostics(case):
    _, data = case
    outcome = load_and_check(write(data))
    if isinstance(outcome, ProjectError):
        return
    project, result = outcome
    # What the app saves, it loads again to the same verdict.
    again = load_project(json.loads(json.dumps(project_to_dict(project))))
    assert diagnostics_key(check(again)) == diagnostics_key(result)
    if result.ok:
        generate_and_maybe_build(project, result)


@settings(FUZZ, max_examples=500 * SCALE)
@given(data=nudged_projects())
def test_nudged_projects_that_check_ok_generate_compiling_code(data):
    outcome = load_and_check(write(data))
    assert not isinstance(outcome, ProjectError), outcome  # nudges never break the file's structure
    project, result = outcome
    if result.ok:
        generate_and_maybe_build(project, result)
    else:
        assert any(d.node_id is not None for d in result.errors)  # a param problem is always on a node


@settings(FUZZ, max_examples=500 * SCALE)
@given(data=single_op_projects())
def test_every_op_with_legal_params_checks_and_its_shapes_are_what_torch_computes(data):
    """Legal params never make check raise; when it is ok, the built model's outputs have the inferred shapes
    (checked on a sample: every BUILD_EVERY-th ok project is built and run)."""
    outcome = load_and_check(write(data))
    assert not isinstance(outcome, ProjectError), outcome
    project, result = outcome
    if not result.ok:
        assert any(d.node_id is not None for d in result.errors)
        return
    STATS["ok"] += 1
    compile(generate_code(project, result), "<fuzz>", "exec")
    if STATS["ok"] % (BUILD_EVERY // 5) != 1:
        return
    import torch

    compiled = compile_project(project, result)
    with torch.no_grad():
        outputs = compiled.create_model().eval()(*compiled.example_inputs(2))
    STATS["built"] += 1
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    expected = [result.nodes[n.id].inputs[0] for n in project.graph if n.op == "Output"]
    assert [tuple(t.shape) for t in outputs] == [(2, *t.shape) for t in expected]


@settings(FUZZ, max_examples=500 * SCALE)
@given(case=mutated_projects())
def test_cli_check_agrees_with_the_api_and_never_prints_a_traceback(case):
    _, data = case
    path = write(data)
    code, output = run_cli(path)
    assert code in (0, 1, 2), output
    assert "Traceback" not in output
    outcome = load_and_check(path)
    if isinstance(outcome, NotAProjectError | NewerFormatError):
        assert code == 2, output
    elif isinstance(outcome, ProjectError):
        assert code == 1, output
    else:
        project, result = outcome
        assert code == (0 if result.ok else 1), output
        for d in result.errors:
            if d.node_id is not None and d.node_id.isidentifier() and d.node_id.isascii():
                assert d.node_id in output, (d.node_id, output)


@settings(FUZZ, max_examples=500 * SCALE)
@given(text=corrupted_texts())
def test_corrupted_json_text_gives_typed_errors(text):
    path = write(text)
    outcome = load_and_check(path)
    code, output = run_cli(path)
    assert "Traceback" not in output
    if isinstance(outcome, NotAProjectError | NewerFormatError):
        assert code == 2, output
    elif isinstance(outcome, ProjectError):
        assert code == 1, output
    else:
        project, result = outcome
        assert code == (0 if result.ok else 1), output
        if result.ok:
            generate_and_maybe_build(project, result)
