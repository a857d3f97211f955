"""Checking through blocks: 50 instances of one 20-layer block (1000 leaf layers).

    cd /work/main && .venv/bin/python benchmarks/bench_blocks.py            # a few seconds
    cd /work/main && .venv/bin/python benchmarks/bench_blocks.py --quick    # smoke run

The project: Input [16, 8, 8] -> 50 instances of `Unit` in a chain -> Output. `Unit` has 20 layers
(Conv2d 3x3 with `out_channels: "$channels"`, BatchNorm2d, ReLU, Dropout, repeated) between its BlockInput and
BlockOutput. Measured (median, wall clock):
- full check: a freshly loaded project (empty block cache) checked by a new Checker; budget <= 100 ms
  (benchmarks/README.md: "check, 50 block instances x 20 layers");
- with one Checker kept alive (what the app does): `check()` after an edit inside the definition (a Dropout's
  p, alternating), which re-checks the definition once and re-infers the 50 instances; budget <= 20 ms;
- the same after an edit that changes the block's output shape (the last Conv2d's out_channels), so the first
  instance sees another input than the rest: two checks of the definition; reported against the same budget.
The edit itself (set_param inside the definition, with the 50 node_changed events it announces) is shown too,
and each measurement also with time.thread_time (this thread's CPU time), as benchmarks/bench_check.py does.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import edge, environment_line, median, node, print_table, verdict  # noqa: E402

from graph_engine import Checker, check, load_project  # noqa: E402

INSTANCES, LAYERS, CHANNELS = 50, 20, 16
FULL_BUDGET_MS = 100.0
EDIT_BUDGET_MS = 20.0


def block_project(instances: int = INSTANCES, layers: int = LAYERS) -> dict:
    kinds = [("Conv2d", {"out_channels": "$channels", "kernel_size": 3, "padding": 1}), ("BatchNorm2d", {}),
             ("ReLU", {}), ("Dropout", {"p": 0.1})]
    nodes, edges, prev = [node("x", "BlockInput")], [], "x"
    for i in range(layers):
        op, params = kinds[i % len(kinds)]
        nodes.append(node(f"layer{i}", op, **params))
        edges.append(edge(prev, f"layer{i}"))
        prev = f"layer{i}"
    nodes.append(node("y", "BlockOutput"))
    edges.append(edge(prev, "y"))
    unit = {"params": {"channels": {"kind": "int", "default": CHANNELS, "min": 1}},
            "graph": {"nodes": nodes, "edges": edges}}
    top, top_edges, prev = [node("image", "Input", shape=[CHANNELS, 8, 8])], [], "image"
    for i in range(instances):
        top.append({"id": f"unit{i}", "op": "Block", "block": "Unit", "params": {"channels": CHANNELS}})
        top_edges.append(edge(prev, f"unit{i}"))
        prev = f"unit{i}"
    top.append(node("out", "Output"))
    top_edges.append(edge(prev, "out"))
    return {"format": "layerloom", "format_version": 2, "name": "Blocks bench", "blocks": {"Unit": unit},
            "graph": {"nodes": top, "edges": top_edges}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a fast smoke run (the figures are rough)")
    parser.add_argument("--repeat", type=int, default=None, help="repetitions per measurement (default 31)")
    args = parser.parse_args(argv)
    repeat = args.repeat or (5 if args.quick else 31)
    data = block_project()
    first = load_project(data)
    result = check(first)
    if not result.ok:
        raise SystemExit(f"the benchmark project does not check clean: {result.errors[:3]}")
    leaves = sum(len(first.blocks.get("Unit").graph) - 2 for n in first.graph if n.op == "Block")
    print(f"check through blocks: {INSTANCES} instances x {LAYERS} layers = {leaves} leaf layers"
          f"{' (QUICK: rough figures)' if args.quick else ''}")
    print(environment_line())
    gc.collect()

    full, full_cpu = [], []
    for _ in range(repeat):
        project = load_project(data)  # fresh: nothing cached
        c0, t0 = time.thread_time(), time.perf_counter()
        check(project)
        full.append(time.perf_counter() - t0)
        full_cpu.append(time.thread_time() - c0)

    project = load_project(data)
    checker = Checker(project.graph)
    checker.check()
    unit = project.blocks.get("Unit").graph

    def edit_series(node_id: str, name: str, values):
        edits, checks, cpu = [], [], []
        before = project.blocks.inner_checks
        for i in range(repeat):
            t0 = time.perf_counter()
            unit.set_param(node_id, name, values[i % 2])
            c1, t1 = time.thread_time(), time.perf_counter()
            r = checker.check()
            checks.append(time.perf_counter() - t1)
            cpu.append(time.thread_time() - c1)
            edits.append(t1 - t0)
            assert r.ok, r.errors[:2]
        return edits, checks, cpu, (project.blocks.inner_checks - before) / repeat

    same_edits, same_checks, same_cpu, same_inner = edit_series("layer3", "p", (0.2, 0.1))
    shape_edits, shape_checks, shape_cpu, shape_inner = edit_series("layer16", "out_channels", (8, "$channels"))

    rows = []
    for label, times, cpu, edits, budget in (
            ("full check (fresh project)", full, full_cpu, None, FULL_BUDGET_MS),
            (f"check() after an edit inside Unit ({same_inner:g} inner check)", same_checks, same_cpu, same_edits,
             EDIT_BUDGET_MS),
            (f"check() after a shape edit inside Unit ({shape_inner:g} inner checks)", shape_checks, shape_cpu,
             shape_edits, EDIT_BUDGET_MS)):
        ms = median(times) * 1000
        rows.append([label, f"{ms:.2f}", f"{median(cpu) * 1000:.2f}", f"{median(edits) * 1000:.2f}" if edits else "-",
                     f"{budget:.0f}", verdict(ms, budget)])
    print_table(["measurement", "median ms", "cpu ms", "edit ms", "budget ms", "verdict"], rows)
    print("(verdicts on wall-clock medians; cpu ms is this thread's own CPU time: when it is far below the wall "
          "time, other processes held the cores)")
    for label, times, budget in (("blocks full check", full, FULL_BUDGET_MS),
                                 ("blocks check after edit inside definition", same_checks, EDIT_BUDGET_MS)):
        ms = median(times) * 1000
        print(f"ratio {label}: {ms / budget:.3f} ({ms:.2f} ms; budget <= {budget:.0f} ms) {verdict(ms, budget)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
