"""The canvas with 1000 nodes, and the window's start-up (benchmarks/README.md budgets).

    cd /work/main && .venv/bin/python benchmarks/bench_canvas.py            # ~30 s
    cd /work/main && .venv/bin/python benchmarks/bench_canvas.py --quick    # smoke run, a few seconds
    cd /work/main && .venv/bin/python benchmarks/bench_canvas.py --profile  # + cProfile of steps 2 and 3

The project is bench_check.py's residual ladder (Input, Linear, 249 x (LayerNorm, Linear, ReLU, Add with the
block's input), Linear, Output: 1000 nodes, 1248 edges), as a dict *without positions*, so the layout runs.
Qt renders with the offscreen platform unless QT_QPA_PLATFORM says otherwise, through the app's own
QApplication set-up (Fusion style, its palette and fonts). Measured:

1. load + layout + check (budget <= 1 s): `load_project(dict)`, `graph_engine.layout` (the positions the
   Document would otherwise compute), `Document(project)` (which runs the first full check), and
   `CanvasView(document)` (which builds the CanvasScene: 1000 node cards, 1248 edges). Each step is timed on
   fresh objects, median of the repetitions; the verdict is on the median of the totals. Reported beside it,
   not budgeted: showing that view at 1400x900, fitting all and its first paint.
2. moving one node with its edges (budget <= 2 ms per step): a real drag with QTest (press on the card's
   header, then mouse moves) on the Add in the middle of the ladder (4 edges), at 100% zoom centred on it
   and at fit-all zoom. One step = the mouse-move event (the scene moves the card, `itemChange` re-routes its
   edges) plus `processEvents()`, which runs Qt's dirty-region repaint of the viewport, as the event loop
   does between two mouse moves. A conservative variant is shown too: `setPos` then a synchronous repaint of
   the *whole* viewport (`viewport().repaint()`), which is more than a drag step makes Qt paint.
3. fit-all repaint (budget <= 33 ms): from 100% zoom somewhere else (untimed), `fit_all()` then a full
   synchronous `viewport().repaint()`; median of the repetitions. The repaint alone at that zoom is shown too.
4. window painted after launch (budget <= 1.0 s): `python -m app.launcher` (the `layerloom` console
   entry) in a subprocess with LAYERLOOM_STARTUP_PROBE=1, which prints "window painted after X s" (timed
   from the launcher module's first line) once the main window has been painted, then quits. The verdict is
   on the time from spawning the process to reading that line (interpreter start-up included: what a person
   waits). One more run with `python -X importtime` gives where the import time goes and shows whether torch
   was imported: in this probe mode the app quits before the background warm-up, so any torch import there
   would have happened before the first paint.

Times are wall-clock (time.perf_counter). Nothing here is asserted: the script prints figures, one `ratio`
line per budget with PASS or OVER (tests/engine/test_benchmarks_run.py checks only that they are printed).
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_check import big_project, profile_text  # noqa: E402
from common import ROOT, environment_line, median, print_table, verdict  # noqa: E402

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

LOAD_BUDGET_MS = 1000.0
MOVE_BUDGET_MS = 2.0
FIT_BUDGET_MS = 33.0
LAUNCH_BUDGET_S = 1.0
VIEW_SIZE = (1400, 900)
MOVED_NODE = "add124"  # the Add in the middle of the ladder: 2 edges in, 2 out


def ratio_line(label: str, value: float, budget: float, unit: str) -> str:
    return (f"ratio {label} / budget: {value / budget:.3f} ({value:.{1 if unit == 'ms' and budget >= 100 else 2}f} "
            f"{unit}, budget <= {budget:g} {unit}) {verdict(value, budget)}")


# ---- 1. load + layout + check ------------------------------------------------------------------------------


def measure_load(data: dict, repeat: int, app) -> tuple[dict[str, list[float]], dict[str, float]]:
    from app.canvas import CanvasView
    from app.document import Document
    from graph_engine import load_project
    from graph_engine.layout import apply_missing_positions

    steps: dict[str, list[float]] = {k: [] for k in ("load_project", "layout", "Document (check)",
                                                      "CanvasView (scene)", "total")}
    shown: dict[str, list[float]] = {"show + fit + first paint": []}
    info: dict[str, float] = {}
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        project = load_project(data)
        t1 = time.perf_counter()
        apply_missing_positions(project.graph)
        t2 = time.perf_counter()
        document = Document(project)
        t3 = time.perf_counter()
        view = CanvasView(document)
        t4 = time.perf_counter()
        view.resize(*VIEW_SIZE)
        view.show()
        view.fit_all()
        view.viewport().repaint()
        t5 = time.perf_counter()
        for key, value in zip(steps, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t4 - t0), strict=True):
            steps[key].append(value * 1e3)
        shown["show + fit + first paint"].append((t5 - t4) * 1e3)
        info = {"ok": document.result.ok, "nodes": len(document.graph), "edges": len(document.graph.edges),
                "items": len(view.canvas.items()), "fit zoom": view.zoom()}
        view.close()
        view.deleteLater()
        document.close()
        document.deleteLater()
        app.processEvents()
    steps.update(shown)
    return steps, info


# ---- 2. moving a node, 3. fit-all repaint ---------------------------------------------------------------


class PaintCounter:
    """Counts paint events on a widget (to be sure a measured step did repaint)."""

    def __init__(self, widget) -> None:
        from PySide6.QtCore import QEvent, QObject

        class _Filter(QObject):
            def __init__(self, outer) -> None:
                super().__init__()
                self.outer = outer

            def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt's name
                if event.type() == QEvent.Type.Paint:
                    self.outer.count += 1
                return False

        self.count = 0
        self._filter = _Filter(self)
        widget.installEventFilter(self._filter)
        self._widget = widget

    def remove(self) -> None:
        self._widget.removeEventFilter(self._filter)


def measure_drag(view, app, steps: int) -> tuple[list[float], int]:
    """A real mouse drag of MOVED_NODE's card: per step, the move event and the repaint Qt then does."""
    from PySide6.QtCore import QPoint, QPointF, Qt
    from PySide6.QtTest import QTest

    item = view.canvas.item_for_node[MOVED_NODE]
    viewport = view.viewport()
    start = view.mapFromScene(item.pos() + QPointF(60, 10))
    assert view.canvas.itemAt(view.mapToScene(start), view.transform()) is not None
    app.processEvents()
    counter = PaintCounter(viewport)
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    app.processEvents()
    times = []
    for i in range(1, steps + 1):
        # A small circle, so the card stays in view and goes back and forth like a hand does.
        offset = QPoint(round(12 * ((i % 8) - 4)), round(8 * (((i // 8) % 4) - 2)))
        t0 = time.perf_counter()
        QTest.mouseMove(viewport, start + offset)
        app.processEvents()
        times.append((time.perf_counter() - t0) * 1e3)
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    app.processEvents()
    counter.remove()
    return times, counter.count


def measure_set_pos_full_repaint(view, app, steps: int) -> list[float]:
    from PySide6.QtCore import QPointF

    item = view.canvas.item_for_node[MOVED_NODE]
    home = item.pos()
    times = []
    for i in range(steps):
        target = home + QPointF(10 * ((i % 6) - 3), 10 * ((i % 4) - 2))
        t0 = time.perf_counter()
        item.setPos(target)
        view.viewport().repaint()
        times.append((time.perf_counter() - t0) * 1e3)
    item.setPos(home)
    app.processEvents()
    return times


def measure_fit(view, app, repeat: int) -> tuple[list[float], list[float]]:
    fit_times, repaint_times = [], []
    for i in range(repeat):
        view.zoom_by(1.0 / view.zoom())  # back to 100% (untimed), centred on a node away from the middle
        view.center_on(f"fc{(37 * i) % 249}")
        view.viewport().repaint()
        app.processEvents()
        t0 = time.perf_counter()
        view.fit_all()
        view.viewport().repaint()
        fit_times.append((time.perf_counter() - t0) * 1e3)
        t0 = time.perf_counter()
        view.viewport().repaint()
        repaint_times.append((time.perf_counter() - t0) * 1e3)
    return fit_times, repaint_times


# ---- 4. window painted after launch -----------------------------------------------------------------------


def launch_once(extra_args: list[str] | None = None, timeout: float = 60.0) -> tuple[float, float, str]:
    """(seconds from spawn to the "window painted" line, the seconds the probe printed, all stderr)."""
    env = dict(os.environ, LAYERLOOM_STARTUP_PROBE="1")
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    with _temporary_dirs(env):
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, *(extra_args or []), "-m", "app.launcher"], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        seen, probe, lines = None, None, []
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)
            match = re.match(r"window painted after ([\d.]+) s", line)
            if match and seen is None:
                seen = time.perf_counter() - t0
                probe = float(match.group(1))
        proc.wait(timeout=timeout)
    if proc.returncode != 0 or seen is None:
        raise SystemExit(f"the launch probe failed (exit {proc.returncode}):\n{''.join(lines)[-3000:]}")
    return seen, probe, "".join(lines)


class _temporary_dirs:  # noqa: N801 - used as a context manager
    """Settings and autosave state in a throwaway folder: the probe never touches the person's own."""

    def __init__(self, env: dict[str, str]) -> None:
        import tempfile

        self._tmp = tempfile.TemporaryDirectory(prefix="layerloom-bench-")
        env["LAYERLOOM_CONFIG_DIR"] = str(Path(self._tmp.name) / "config")
        env["LAYERLOOM_STATE_DIR"] = str(Path(self._tmp.name) / "state")

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc) -> None:
        self._tmp.cleanup()


def import_breakdown(stderr: str) -> tuple[dict[str, float], bool]:
    """Cumulative import ms of the interesting top-level modules from `-X importtime`, and whether torch was
    imported at all."""
    cumulative: dict[str, float] = {}
    torch = False
    for line in stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", line)
        if not match:
            continue
        name = match.group(4)
        if name == "torch" or name.startswith("torch."):
            torch = True
        depth = len(match.group(3)) // 2
        if depth <= 1:
            cumulative[name] = cumulative.get(name, 0.0) + int(match.group(2)) / 1e3
    return cumulative, torch


# ---- main ---------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a fast smoke run (the figures are rough)")
    parser.add_argument("--repeat", type=int, default=None, help="repetitions of the load/fit measurements")
    parser.add_argument("--launches", type=int, default=None, help="launches of the window (default 7)")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of a drag and of fit-all repaints")
    args = parser.parse_args(argv)
    repeat = args.repeat or (2 if args.quick else 7)
    launches = args.launches or (1 if args.quick else 7)
    drag_steps = 30 if args.quick else 300

    from app.main import create_application

    app = create_application()
    data = big_project()
    for n in data["graph"]["nodes"]:
        assert "pos" not in n

    print(f"canvas with a {len(data['graph']['nodes'])}-node graph ({len(data['graph']['edges'])} edges), "
          f"view {VIEW_SIZE[0]}x{VIEW_SIZE[1]}, platform {app.platformName()}"
          f"{' (QUICK: rough figures)' if args.quick else ''}")
    print(environment_line())
    print()

    # 1. load + layout + check
    steps, info = measure_load(data, repeat, app)
    if not info["ok"]:
        raise SystemExit("the benchmark graph does not check clean")
    rows = [[name, f"{median(v):.1f}", f"{min(v):.1f}", f"{max(v):.1f}",
             f"<= {LOAD_BUDGET_MS:g} ms" if name == "total" else ("none" if "paint" in name else "(part)"),
             verdict(median(v), LOAD_BUDGET_MS) if name == "total" else "-"]
            for name, v in steps.items()]
    print(f"1. load + layout + check + scene ({repeat} repetitions; {info['items']:.0f} graphics items; "
          f"fit-all zoom {info['fit zoom']:.3f})")
    print_table(["step", "median ms", "min ms", "max ms", "budget", "verdict"], rows)
    print()

    # 2. and 3. on one view of the laid-out project
    from app.canvas import CanvasView
    from app.document import Document
    from graph_engine import load_project

    document = Document(load_project(data))
    view = CanvasView(document)
    view.resize(*VIEW_SIZE)
    view.show()
    app.processEvents()

    view.zoom_by(1.0 / view.zoom())
    view.center_on(MOVED_NODE)
    view.viewport().repaint()
    drag_100, paints_100 = measure_drag(view, app, drag_steps)
    full_100 = measure_set_pos_full_repaint(view, app, max(drag_steps // 3, 10))
    view.fit_all()
    view.viewport().repaint()
    fit_zoom = view.zoom()
    drag_fit, paints_fit = measure_drag(view, app, drag_steps)
    full_fit = measure_set_pos_full_repaint(view, app, max(drag_steps // 3, 10))
    moves = document.undo_stack.count()
    edges = len(view.canvas.item_for_node[MOVED_NODE].edges)
    print(f"2. moving {MOVED_NODE} ({edges} edges) by mouse: {drag_steps} drag steps per zoom "
          f"(paints seen: {paints_100} at 100%, {paints_fit} at fit); {moves} undo steps pushed (one per drag)")
    rows = []
    for label, times, budget in (
        ("drag step at 100% (move event + dirty-region repaint)", drag_100, MOVE_BUDGET_MS),
        (f"drag step at fit zoom {fit_zoom:.3f}", drag_fit, MOVE_BUDGET_MS),
        ("setPos + full viewport repaint at 100%", full_100, None),
        (f"setPos + full viewport repaint at fit zoom {fit_zoom:.3f}", full_fit, None),
    ):
        times_sorted = sorted(times)
        p95 = times_sorted[min(len(times_sorted) - 1, int(0.95 * len(times_sorted)))]
        rows.append([label, f"{median(times):.3f}", f"{p95:.3f}", f"{max(times):.3f}",
                     f"<= {budget:g} ms" if budget else "(reference)", verdict(median(times), budget)])
    print_table(["measurement", "median ms", "p95 ms", "max ms", "budget", "verdict"], rows)
    print()

    fit_times, repaint_times = measure_fit(view, app, repeat * 3)
    print(f"3. fit all from 100% zoom, then a full repaint ({len(fit_times)} repetitions; fit zoom "
          f"{view.zoom():.3f})")
    print_table(["measurement", "median ms", "min ms", "max ms", "budget", "verdict"], [
        ["fit_all() + viewport().repaint()", f"{median(fit_times):.2f}", f"{min(fit_times):.2f}",
         f"{max(fit_times):.2f}", f"<= {FIT_BUDGET_MS:g} ms", verdict(median(fit_times), FIT_BUDGET_MS)],
        ["repaint() alone at fit zoom", f"{median(repaint_times):.2f}", f"{min(repaint_times):.2f}",
         f"{max(repaint_times):.2f}", "(reference)", "-"],
    ])
    print()
    if args.profile:
        view.zoom_by(1.0 / view.zoom())
        view.center_on(MOVED_NODE)
        view.viewport().repaint()
        print(f"==== profile: {drag_steps} drag steps at 100%")
        print(profile_text(lambda: measure_drag(view, app, drag_steps), 1))
        print(f"==== profile: fit_all() + repaint() x {repeat * 3}")
        print(profile_text(lambda: measure_fit(view, app, repeat * 3), 1))
    view.close()
    document.close()

    # 4. window painted after launch
    seen, probe = [], []
    for _ in range(launches):
        s, p, _ = launch_once()
        seen.append(s)
        probe.append(p)
    _, _, imports_err = launch_once(["-X", "importtime"])
    cumulative, torch_imported = import_breakdown(imports_err)
    print(f"4. window painted after launch (`python -m app.launcher`, welcome page; {launches} launches)")
    print_table(["measurement", "median s", "min s", "max s", "budget", "verdict"], [
        ["spawn -> \"window painted\" read", f"{median(seen):.3f}", f"{min(seen):.3f}", f"{max(seen):.3f}",
         f"<= {LAUNCH_BUDGET_S:g} s", verdict(median(seen), LAUNCH_BUDGET_S)],
        ["launcher import -> painted (probe)", f"{median(probe):.3f}", f"{min(probe):.3f}", f"{max(probe):.3f}",
         "(part)", "-"],
    ])
    top = sorted(cumulative.items(), key=lambda kv: -kv[1])[:8]
    print("imports (-X importtime, one run, cumulative ms): " + ", ".join(f"{k} {v:.0f}" for k, v in top))
    print(f"torch imported before the window was painted: {'YES' if torch_imported else 'no'}")
    print()

    total = median(steps["total"])
    print(ratio_line("load+layout+check+scene", total, LOAD_BUDGET_MS, "ms"))
    print(ratio_line("move one node (drag step at 100%)", median(drag_100), MOVE_BUDGET_MS, "ms"))
    print(ratio_line("move one node (drag step at fit zoom)", median(drag_fit), MOVE_BUDGET_MS, "ms"))
    print(ratio_line("fit-all repaint", median(fit_times), FIT_BUDGET_MS, "ms"))
    print(ratio_line("window painted after launch", median(seen), LAUNCH_BUDGET_S, "s"))
    if torch_imported:
        print("NOTE: torch was imported before the first paint (the start-up budget wants it lazy)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
