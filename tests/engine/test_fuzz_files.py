"""Volume fuzzing of project files: 20,000 mutated files per run, in process (issue 14, "Must show").

Unlike test_fuzz_projects.py (hypothesis, a few thousand examples with shrinking), this is a plain seeded
mutator built for volume: each file is a seed project (the templates and the factory's networks) with 1 to 4
random mutations (params set to legal, edge and wild values, ops swapped, Input shapes changed, nodes and edges
added, dropped or rewired, keys deleted or retyped), and one file in ten is also damaged as bytes. Each is
written to disk and goes through `load_project(path)` and `check`. Properties:

- loading raises nothing but ProjectError, and `check` raises nothing;
- every diagnostic is sound (severity, text, a node of the graph or None);
- when `check` accepts a file, every node has its output shapes, `generate_code` succeeds and compiles, and the
  network builds and trains one step: a forward pass on `example_inputs` with the inferred output shapes, a
  loss, backward and an Adam step (once per distinct generated source and input shapes, which decide it; see
  TRAIN for how many per run).

The run is bounded: a file that takes more than PER_FILE_LIMIT_S to load and check fails the test (a hang or a
super-linear path). `LAYERLOOM_FUZZ_FILES` sets the count (default 20,000; about 60 s here) and
`LAYERLOOM_FUZZ_SEED` the seed (default: a new one per run, printed, so a failure can be replayed).
"""

from __future__ import annotations

import copy
import json
import math
import os
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from graph_engine import ProjectError, check, compile_project, generate_code, load_project
from graph_engine.catalog import CATALOG, REQUIRED
from graph_engine.validation import ERROR, WARNING
from tests.engine.project_factory import seed_projects

FILES = int(os.environ.get("LAYERLOOM_FUZZ_FILES", "20000"))
SEED = int(os.environ.get("LAYERLOOM_FUZZ_SEED", str(random.SystemRandom().randrange(1 << 30))))
PER_FILE_LIMIT_S = 5.0
MAX_TRAIN_PARAMS = 5_000_000  # accepted networks larger than this are built but not stepped (time, not safety)
# Building and stepping a network costs ~0.1-1 s, checking a file ~1 ms: a CI run trains the first TRAIN
# distinct accepted networks and compiles the generated source of all of them; LAYERLOOM_FUZZ_TRAIN=all trains
# every one (the nightly-size run in benchmarks/README.md).
TRAIN_TEXT = os.environ.get("LAYERLOOM_FUZZ_TRAIN", "40")
TRAIN = 1 << 62 if TRAIN_TEXT == "all" else int(TRAIN_TEXT)

SEEDS = seed_projects()
SEED_TEXTS = {name: json.dumps(data) for name, data in SEEDS.items()}
OPS = sorted(CATALOG)
WILD = [None, True, False, 0, -1, 1, 2, 3, 7, 1 << 24, (1 << 24) + 1, 1 << 31, 10**12, 2**70, 0.0, 0.5, -2.5,
        1e308, math.nan, math.inf, -math.inf, "", "auto", "x", "float32", "int64", "\ud800", "\x1b[2J", [], [1],
        [2, 3], [0, 0], [1, 2, 3, 4, 5, 6], {}, {"a": 1}, [[1]]]


def legal(param, rng: random.Random) -> Any:
    """A value inside the param's declared kind, range and choices (kept small so models stay tiny)."""
    if param.choices:
        return rng.choice(param.choices)
    low = math.ceil(param.min) if param.min is not None else -2
    high = min(int(param.max) if param.max is not None else 6, low + 6)
    kind = str(param.kind)
    if kind.endswith("bool"):
        return rng.random() < 0.5
    if kind.endswith("float"):
        return rng.uniform(param.min if param.min is not None else -1.0, min(param.max or 1.0, (param.min or 0) + 2))
    if kind.endswith("int"):
        return rng.randint(low, high)
    if kind.endswith("int_tuple"):
        if param.length is None or rng.random() < 0.5:
            return rng.randint(low, high)
        return [rng.randint(low, high) for _ in range(param.length)]
    return [rng.randint(low, high) for _ in range(rng.randint(param.min_len, max(param.min_len, min(param.max_len, 4))))]


def value_for(param, rng: random.Random) -> Any:
    roll = rng.random()
    if roll < 0.55:
        return legal(param, rng)
    if roll < 0.75:
        bounds = [b for b in (param.min, param.max) if b is not None and math.isfinite(b)]
        edges = [int(b) + d for b in bounds for d in (-1, 0, 1)] + ["auto", None]
        if param.default is not REQUIRED:
            edges.append(copy.deepcopy(param.default))
        return rng.choice(edges)
    return copy.deepcopy(rng.choice(WILD))


def mutate(data: dict, rng: random.Random) -> None:
    graph = data.get("graph")
    nodes = graph.get("nodes") if isinstance(graph, dict) else None
    edges = graph.get("edges") if isinstance(graph, dict) else None
    if not isinstance(nodes, list) or not isinstance(edges, list):
        return
    items = [n for n in nodes if isinstance(n, dict)]
    ids = [n.get("id") for n in items]
    kind = rng.choice(["param", "param", "param", "param", "op", "shape", "shape", "drop_node", "dup_node",
                       "add_edge", "drop_edge", "rewire", "port", "delete_key", "retype", "rename", "training"])
    if not items:
        return
    target = rng.choice(items)
    if kind == "param":
        spec = CATALOG.get(target.get("op")) if isinstance(target.get("op"), str) else None
        if spec is None or not spec.params or rng.random() < 0.1:
            spec = CATALOG[rng.choice(OPS)]
            if not spec.params:
                return
        param = rng.choice(spec.params)
        params = target.get("params")
        if not isinstance(params, dict):
            params = target["params"] = {}
        params[param.name] = value_for(param, rng)
    elif kind == "op":
        target["op"] = rng.choice(OPS)
        if rng.random() < 0.5:
            target.pop("params", None)
    elif kind == "shape":
        inputs = [n for n in items if n.get("op") == "Input"]
        if inputs:
            node = rng.choice(inputs)
            shape = [rng.choice([1, 1, 2, 3, 4, 5, 8, 16, 28, 64]) for _ in range(rng.randint(1, 4))]
            if rng.random() < 0.05:
                shape[0] = rng.choice([0, -1, 1 << 20, 8192])
            if not isinstance(node.get("params"), dict):
                node["params"] = {}
            node["params"]["shape"] = shape
            if rng.random() < 0.15:
                node["params"]["dtype"] = rng.choice(["float32", "int64"])
    elif kind == "drop_node":
        nodes.remove(target)
    elif kind == "dup_node":
        twin = copy.deepcopy(target)
        twin["id"] = f"{twin.get('id')}_{rng.randint(0, 99)}" if rng.random() < 0.8 else twin.get("id")
        nodes.insert(rng.randint(0, len(nodes)), twin)
    elif kind == "add_edge":
        item = {"src": rng.choice(ids), "dst": rng.choice(ids)}
        if rng.random() < 0.4:
            item["dst_port"] = rng.choice([0, 1, 2, 5])
        if rng.random() < 0.2:
            item["src_port"] = rng.choice([0, 1, 2])
        edges.append(item)
    elif kind == "drop_edge" and edges:
        edges.pop(rng.randrange(len(edges)))
    elif kind == "rewire" and edges:
        item = rng.choice(edges)
        if isinstance(item, dict):
            item[rng.choice(["src", "dst"])] = rng.choice(ids)
    elif kind == "port" and edges:
        item = rng.choice(edges)
        if isinstance(item, dict):
            item[rng.choice(["src_port", "dst_port"])] = copy.deepcopy(rng.choice([0, 1, 2, 3, -1, 1024, "0", None]))
    elif kind == "delete_key" and len(target) > 0:
        key = rng.choice(list(target))
        del target[key]
    elif kind == "retype" and len(target) > 0:
        key = rng.choice(list(target))
        target[key] = copy.deepcopy(rng.choice(WILD))
    elif kind == "rename":
        new = rng.choice(["class", "forward", "1a", "x", "_", "a b", "self", "torch", "nn", "F"])
        old = target.get("id")
        target["id"] = new
        for e in edges:
            if isinstance(e, dict):
                for end in ("src", "dst"):
                    if e.get(end) == old:
                        e[end] = new
    elif kind == "training":
        training = data.setdefault("training", {})
        if isinstance(training, dict):
            key = rng.choice(["batch_size", "epochs", "task", "loss", "seed", "dataset"])
            training[key] = copy.deepcopy(rng.choice(WILD + [1, 4, 1 << 18, "classification", "regression"]))


def damage(text: bytes, rng: random.Random) -> bytes:
    cut = rng.randrange(len(text) + 1)
    kind = rng.choice(["truncate", "insert", "delete", "flip"])
    if kind == "truncate":
        return text[:cut]
    if kind == "insert":
        return text[:cut] + rng.choice([b"{", b"]", b",", b'"', b"\\", b"NaN", b"1e999", b"\xff", b"-"]) + text[cut:]
    if kind == "delete":
        return text[:cut] + text[cut + rng.randint(1, 8):]
    if cut < len(text):
        return text[:cut] + bytes([text[cut] ^ (1 << rng.randrange(8))]) + text[cut + 1:]
    return text


def make_file(rng: random.Random, folder: Path, index: int) -> Path:
    data = json.loads(SEED_TEXTS[rng.choice(sorted(SEED_TEXTS))])
    for _ in range(rng.randint(1, 4)):
        mutate(data, rng)
    text = json.dumps(data, ensure_ascii=rng.random() < 0.5).encode("utf-8", "surrogatepass")
    if rng.random() < 0.1:
        text = damage(text, rng)
    path = folder / f"f{index % 16}.layerloom.json"
    path.write_bytes(text)
    return path


def assert_sound(project, result) -> None:
    for d in result.diagnostics:
        assert d.severity in (ERROR, WARNING)
        assert isinstance(d.message, str) and d.message.strip() and isinstance(d.hint, str)
        assert d.node_id is None or d.node_id in project.graph, (d.node_id, d.message)


def train_one_step(project, result) -> bool:
    """Build the accepted network and take one optimiser step on its example inputs; False when skipped."""
    import torch

    if result.total_params > MAX_TRAIN_PARAMS:
        return False
    compiled = compile_project(project, result)
    torch.manual_seed(0)
    model = compiled.create_model().train()
    params = [p for p in model.parameters() if p.requires_grad]
    outputs = model(*compiled.example_inputs(2))
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    expected = [result.nodes[n.id].inputs[0] for n in project.graph if n.op == "Output" and n.id in result.live]
    assert [tuple(t.shape) for t in outputs] == [(2, *t.shape) for t in expected]
    floats = [o for o in outputs if o.is_floating_point()]
    if params and floats and any(o.requires_grad for o in floats):
        loss = sum(o.float().square().mean() for o in floats if o.requires_grad)
        opt = torch.optim.Adam(params, lr=1e-3)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return True


@pytest.mark.slow
@pytest.mark.timeout(900)  # ~60 s on a quiet machine; the per-file limit is what catches a hang
def test_twenty_thousand_mutated_files_load_check_and_what_is_accepted_trains():
    rng = random.Random(SEED)
    stats = {"files": 0, "loaded": 0, "accepted": 0, "distinct_accepted": 0, "trained": 0, "slowest_s": 0.0}
    trained: set[tuple] = set()
    start, cpu_start = time.perf_counter(), time.process_time()
    with tempfile.TemporaryDirectory(prefix="layerloom-fuzz-files-") as folder:
        for index in range(FILES):
            path = make_file(rng, Path(folder), index)
            where = f"file {index} of seed {SEED} (LAYERLOOM_FUZZ_SEED={SEED}): {path.read_bytes()[:3000]!r}"
            stats["files"] += 1
            t0 = time.perf_counter()
            try:
                project = load_project(path)
            except ProjectError as exc:
                assert exc.message, where
                continue
            stats["loaded"] += 1
            result = check(project)
            elapsed = time.perf_counter() - t0
            stats["slowest_s"] = max(stats["slowest_s"], elapsed)
            assert elapsed < PER_FILE_LIMIT_S, where
            assert_sound(project, result)
            if not result.ok:
                continue
            stats["accepted"] += 1
            missing = [n.id for n in project.graph if result.nodes[n.id].outputs is None]
            assert not missing, (missing, where)
            source = generate_code(project, result)
            inputs = tuple(str(result.shape(n.id)) for n in project.graph if n.op == "Input")
            key = (source, inputs)
            if key in trained:
                continue
            trained.add(key)
            stats["distinct_accepted"] += 1
            compile(source, "<fuzz>", "exec")
            if stats["trained"] >= TRAIN:
                continue
            try:
                stats["trained"] += train_one_step(project, result)
            except Exception as exc:  # noqa: BLE001 - any failure here is the bug this test looks for
                raise AssertionError(f"{type(exc).__name__}: {exc}\n{where}") from exc
    stats["seconds"] = round(time.perf_counter() - start, 1)
    stats["cpu_seconds"] = round(time.process_time() - cpu_start, 1)
    print(f"\nfuzz files (seed {SEED}): {stats}")
    assert stats["files"] == FILES
    assert stats["loaded"] > FILES // 3 and stats["accepted"] > FILES // 50, stats  # the mix stays meaningful
