"""Checking a 20,000-node chain of ReLUs with one back edge near the start (issue 14, item 2).

    cd /work/main && .venv/bin/python benchmarks/bench_check_cycle.py           # ~10 s
    cd /work/main && .venv/bin/python benchmarks/bench_check_cycle.py --quick   # 2,000 nodes, a few seconds

The file (about 1.3 MB) is inside the documented limits (MAX_NODES). Everything after the cycle has no order,
and finding that used to cost one ancestor search per node: 5.5 s at 2,000 nodes, minutes at 20,000. Now
every step is one linear pass. Reported: the median over a few repetitions of `check(project)` (a new Checker,
structure and shapes), and, apart, `load_project(path)` and a whole `layerloom check FILE` in this process.
Wall time (perf_counter) and this thread's CPU time (thread_time) are both shown: on a shared machine the
wall time includes time spent waiting for a core. Budget: check <= 1 s.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from graph_engine import check, load_project  # noqa: E402
from graph_engine.cli import main as cli_main  # noqa: E402

BUDGET_S = 1.0


def chain_with_back_edge(count: int) -> dict:
    nodes = [{"id": "x", "op": "Input", "params": {"shape": [4]}}]
    nodes += [{"id": f"r{i}", "op": "ReLU"} for i in range(count)]
    nodes.append({"id": "out", "op": "Output"})
    ids = [n["id"] for n in nodes]
    edges = [{"src": a, "dst": b} for a, b in zip(ids, ids[1:], strict=False)]
    edges.append({"src": "r5", "dst": "r2"})
    return {"format": "layerloom", "format_version": 1, "name": "cycle chain",
            "graph": {"nodes": nodes, "edges": edges}}


def timed(fn, repeat: int) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(repeat):
        w, c = time.perf_counter(), time.thread_time()
        fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.thread_time() - c)
    return statistics.median(walls), statistics.median(cpus)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 nodes, one repetition")
    parser.add_argument("--nodes", type=int, default=None, help="ReLUs in the chain (default 19,990)")
    args = parser.parse_args()
    count = args.nodes or (2_000 if args.quick else 19_990)
    repeat = 1 if args.quick else 5
    data = chain_with_back_edge(count)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cycle.layerloom.json"
        path.write_text(json.dumps(data))
        size = path.stat().st_size
        project = load_project(path)
        load_wall, load_cpu = timed(lambda: load_project(path), repeat)
        check_wall, check_cpu = timed(lambda: check(project), repeat)

        def whole_cli() -> None:
            with contextlib.redirect_stdout(io.StringIO()):
                assert cli_main(["check", str(path)]) == 1

        cli_wall, cli_cpu = timed(whole_cli, repeat)
    result = check(project)
    cycle = sorted(d.node_id for d in result.errors if "cycle" in d.message)
    print(f"{len(project.graph)} nodes, {len(project.graph.edges)} edges, {size / 1e6:.2f} MB; cycle: {cycle}")
    print(f"{'step':<28}{'wall ms':>10}{'cpu ms':>10}")
    for name, wall, cpu in (("load_project(path)", load_wall, load_cpu), ("check(project)", check_wall, check_cpu),
                            ("layerloom check FILE", cli_wall, cli_cpu)):
        print(f"{name:<28}{wall * 1e3:>10.1f}{cpu * 1e3:>10.1f}")
    verdict = "PASS" if check_wall <= BUDGET_S else "OVER"
    print(f"ratio check/budget: {check_wall / BUDGET_S:.3f} (check {check_wall:.3f} s, budget <= 1.0 s) {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
