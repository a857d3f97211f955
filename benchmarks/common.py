"""Helpers shared by the benchmark scripts: project-dict builders, timing, and the printed table.

Benchmarks report ratios measured in one run (the budgets: benchmarks/README.md); nothing here asserts a time.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as `python benchmarks/x.py` from a checkout without installing
    sys.path.insert(0, str(ROOT))

# ---- project dicts (format_version 1, docs/FILE_FORMAT.md) -----------------------------------------------


def node(node_id: str, op: str, **params: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"id": node_id, "op": op}
    if params:
        item["params"] = params
    return item


def edge(src: str, dst: str, src_port: int = 0, dst_port: int = 0) -> dict[str, Any]:
    item: dict[str, Any] = {"src": src, "dst": dst}
    if src_port or dst_port:
        item["src_port"] = src_port
        item["dst_port"] = dst_port
    return item


def chain(*ids: str) -> list[dict[str, Any]]:
    return [edge(a, b) for a, b in zip(ids, ids[1:], strict=False)]


def project(nodes: list[dict], edges: list[dict], name: str) -> dict[str, Any]:
    return {"format": "layerloom", "format_version": 1, "name": name, "graph": {"nodes": nodes, "edges": edges}}


# ---- timing ------------------------------------------------------------------------------------------------


def median(values: list[float]) -> float:
    return statistics.median(values)


def time_call(fn: Callable[[], Any], repeat: int, setup: Callable[[], Any] | None = None) -> list[float]:
    """Seconds per call of `fn`, `repeat` times; `setup` runs untimed before each call."""
    times = []
    for _ in range(repeat):
        if setup is not None:
            setup()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def verdict(value: float, budget: float | None) -> str:
    if budget is None:
        return "-"
    return "PASS" if value <= budget else "OVER"


def print_table(headers: list[str], rows: list[list[str]], text_columns: int = 1) -> None:
    """A plain-text table: the first `text_columns` columns left-aligned, the rest (figures) right-aligned."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i < text_columns else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True)))

    print(line(headers))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line(row))


def environment_line(threads: int | None = None) -> str:
    import os
    import platform

    parts = [f"python {platform.python_version()}", f"{os.cpu_count()} cpus"]
    if "torch" in sys.modules:
        import torch

        parts.append(f"torch {torch.__version__}")
        parts.append(f"threads {threads if threads is not None else torch.get_num_threads()}")
    return ", ".join(parts)
