"""An imported torchvision ResNet-152 in the window (issue 9 budgets: open <= 1 s, fit-all repaint <= 33 ms).

    cd /work/main && .venv/bin/python benchmarks/bench_import_open.py           # ~3 min (most of it the import)
    cd /work/main && .venv/bin/python benchmarks/bench_import_open.py --quick   # ResNet-18, a smoke run

Untimed first: torchvision's resnet152 (random weights, eval mode) is imported with
`graph_engine.importer.import_module` at input 3x64x64 (the input size changes the shapes on the cards, not the
graph), which keeps the module hierarchy as blocks (graph_engine/importer/hierarchy.py), and the project is
saved to a temporary folder with `save_import`, as `layerloom import` writes it. Measured, with the app's own
QApplication set-up (Fusion, offscreen unless QT_QPA_PLATFORM says otherwise) and one MainWindow of 1400x900
with fresh settings, as `layerloom gui --screenshot` makes it:

1. open (budget <= 1 s): `read_project(path)` (the JSON file), `Document(project)` (which runs the first full
   check, through every block instance), `window.set_document(document)` (canvas, palette, inspector, problems
   panel), `fit_all()` and a synchronous repaint of the window. Median of the repetitions, each on fresh
   objects.
2. fit-all repaint (budget <= 33 ms): on the open window, from 100% zoom centred elsewhere (untimed),
   `fit_all()` then a synchronous `viewport().repaint()` of the canvas; median of the repetitions.

Times are wall-clock (time.perf_counter); nothing is asserted: one `ratio` line per budget, PASS or OVER.
torchvision is a dev dependency (pip install -e '.[dev]'); nothing is downloaded.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_canvas import ratio_line  # noqa: E402
from common import ROOT, environment_line, median, print_table, verdict  # noqa: E402

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

OPEN_BUDGET_MS = 1000.0
FIT_BUDGET_MS = 33.0
VIEW_SIZE = (1400, 900)
INPUT = (3, 64, 64)


def imported_project(model: str, folder: Path) -> tuple[Path, int, int]:
    """Import torchvision's `model` and save it; returns the project file, its block count and leaf layers."""
    sys.path.insert(0, str(ROOT))
    import torch

    from graph_engine.importer import import_module, save_import
    from tests.engine.real_models import torchvision_models

    torch.manual_seed(0)
    module = getattr(torchvision_models(), model)(num_classes=1000).eval()
    result = import_module(module, [INPUT], name=model)
    if set(result.state) != set(module.state_dict()):
        raise SystemExit("the import did not keep torchvision's state_dict keys")
    project_file, _ = save_import(result, folder / f"{model}.layerloom.json")
    leaves = sum(1 for m in module.modules() if not list(m.children()))
    return project_file, len(result.project.blocks), leaves


def _read(path: Path):
    from graph_engine import load_project

    return load_project(path)


def _save_flat(path: Path, out: Path) -> None:
    from graph_engine.blocks.edits import ungroup
    from graph_engine.layout import apply_missing_positions
    from graph_engine.project_io import save_project

    project = _read(path)
    while instances := [n.id for n in project.graph if n.op == "Block"]:
        ungroup(project, instances[0])
    for node in project.graph:
        node.pos = None
    apply_missing_positions(project.graph)
    save_project(project, out)


def measure_open(path: Path, repeat: int, app) -> tuple[dict[str, list[float]], dict]:
    from app.document import Document
    from app.file_ops import read_project
    from app.main_window import MainWindow
    from app.settings import open_settings

    steps: dict[str, list[float]] = {k: [] for k in ("read_project", "Document (check)", "set_document",
                                                      "fit + first paint", "total")}
    info: dict = {}
    with tempfile.TemporaryDirectory(prefix="layerloom-bench-") as tmp:
        for index in range(repeat):
            window = MainWindow(settings=open_settings(Path(tmp) / f"settings{index}.ini"), autosaver=None)
            window.resize(*VIEW_SIZE)
            window.show()
            app.processEvents()
            gc.collect()
            t0 = time.perf_counter()
            project = read_project(path)
            t1 = time.perf_counter()
            document = Document(project, path)
            t2 = time.perf_counter()
            window.set_document(document)
            t3 = time.perf_counter()
            window.canvas.fit_all()
            window.repaint()
            t4 = time.perf_counter()
            for key, value in zip(steps, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t4 - t0), strict=True):
                steps[key].append(value * 1e3)
            info = {"ok": document.result.ok, "cards": len(document.graph), "zoom": window.canvas.zoom()}
            if index < repeat - 1:
                window.close()
                window.deleteLater()
                app.processEvents()
            else:
                info["window"] = window
    return steps, info


def measure_fit(view, app, repeat: int) -> list[float]:
    times = []
    ids = [n.id for n in view.document.graph]
    for i in range(repeat):
        view.zoom_by(1.0 / view.zoom())  # back to 100% (untimed), centred on a card away from the middle
        view.center_on(ids[(7 * i) % len(ids)])
        view.viewport().repaint()
        app.processEvents()
        t0 = time.perf_counter()
        view.fit_all()
        view.viewport().repaint()
        times.append((time.perf_counter() - t0) * 1e3)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="ResNet-18 and fewer repetitions (a smoke run)")
    parser.add_argument("--repeat", type=int, default=None, help="repetitions (default 7, quick 2)")
    parser.add_argument("--project", type=Path, default=None,
                        help="a project this script's import wrote before (skips the import)")
    args = parser.parse_args(argv)
    repeat = args.repeat or (2 if args.quick else 7)
    model = "resnet18" if args.quick else "resnet152"

    from app.main import create_application

    app = create_application()
    with tempfile.TemporaryDirectory(prefix="layerloom-import-") as tmp:
        t0 = time.perf_counter()
        if args.project is not None:
            path, blocks, leaves = args.project, len(_read(args.project).blocks), 0
        else:
            path, blocks, leaves = imported_project(model, Path(tmp))
        took = time.perf_counter() - t0
        print(f"imported torchvision {model} ({leaves or 'its'} leaf modules) at {'x'.join(map(str, INPUT))} in "
              f"{took:.0f} s: {blocks} block definitions, {path.stat().st_size / 1024:.0f} KiB project file; view "
              f"{VIEW_SIZE[0]}x{VIEW_SIZE[1]}, platform {app.platformName()}{' (QUICK)' if args.quick else ''}")
        print(environment_line())
        print()
        steps, info = measure_open(path, repeat, app)
        if not info["ok"]:
            raise SystemExit("the imported project does not check clean")
        rows = [[name, f"{median(v):.1f}", f"{min(v):.1f}", f"{max(v):.1f}",
                 f"<= {OPEN_BUDGET_MS:g} ms" if name == "total" else "(part)",
                 verdict(median(v), OPEN_BUDGET_MS) if name == "total" else "-"] for name, v in steps.items()]
        print(f"1. open in the window ({repeat} repetitions; {info['cards']} top-level cards; fit-all zoom "
              f"{info['zoom']:.3f})")
        print_table(["step", "median ms", "min ms", "max ms", "budget", "verdict"], rows)
        print()
        window = info["window"]
        fits = measure_fit(window.canvas, app, max(repeat, 5) * 3)
        print(f"2. fit-all repaint ({len(fits)} repetitions)")
        print_table(["step", "median ms", "min ms", "max ms", "budget", "verdict"],
                    [["fit_all + repaint", f"{median(fits):.2f}", f"{min(fits):.2f}", f"{max(fits):.2f}",
                      f"<= {FIT_BUDGET_MS:g} ms", verdict(median(fits), FIT_BUDGET_MS)]])
        print()
        window.close()
        # Reference, not budgeted: the same network with every block ungrouped (the flat graph imports gave
        # before), measured the same way in the same run, so the load of the machine can be read off.
        flat_path = Path(tmp) / "flat.layerloom.json"
        _save_flat(path, flat_path)
        flat_steps, flat_info = measure_open(flat_path, max(2, repeat // 2), app)
        flat_fits = measure_fit(flat_info["window"].canvas, app, max(repeat, 5))
        flat_info["window"].close()
        print(f"3. reference: the same network ungrouped ({flat_info['cards']} cards)")
        print_table(["step", "median ms", "min ms", "max ms"],
                    [["open (total)", *(f"{f(flat_steps['total']):.1f}" for f in (median, min, max))],
                     ["fit_all + repaint", *(f"{f(flat_fits):.2f}" for f in (median, min, max))]])
        print()
        print(ratio_line(f"open imported {model}", median(steps["total"]), OPEN_BUDGET_MS, "ms"))
        print(ratio_line(f"fit-all repaint of imported {model}", median(fits), FIT_BUDGET_MS, "ms"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
