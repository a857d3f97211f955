"""A ResNet-152-shaped project made of blocks, in the window: opening it, fit-all, entering a block, an edit
inside the shared definition (issue 9's app budgets: open <= 1 s, fit-all repaint <= 33 ms).

    cd /work/main && .venv/bin/python benchmarks/bench_blocks_canvas.py           # ~20 s
    cd /work/main && .venv/bin/python benchmarks/bench_blocks_canvas.py --quick   # smoke run

The project is torchvision's ResNet-152 layout built from the built-in Bottleneck block (graph_engine/blocks/
builtin.py): stem (conv 7x7 /2, batch norm, ReLU, max pool /2) on a 3x224x224 input, then per stage a first
instance with stride 2 (stride 1 in the first stage) and one repeated instance for the rest (3, 8, 36, 3
bottlenecks), average pool, flatten, Linear 1000: 16 cards at the top level, 50 bottleneck copies of 13
layers inside (650 layers). It differs from torchvision in one respect that does not matter here: the
built-in Bottleneck always has its projection skip. Positions are left out, so the layout runs.

Timed (median of the repetitions, time.perf_counter, offscreen Qt through the app's QApplication set-up):
1. open (budget <= 1 s): load_project(dict) + Document (layout and the first full check through the blocks) +
   CanvasView (the scene), on fresh objects.
2. fit-all repaint (budget <= 33 ms): fit_all() then a synchronous full viewport repaint, view 1400x900.
3. entering the Bottleneck instance of the third stage (Document.enter_block: the canvas rebuilt with the
   definition's 16 nodes and their shapes for that instance) and leaving it again; not budgeted.
4. an edit inside the shared definition (one param of conv2, then the re-check of every instance that uses
   it), as the app does it: Document.set_param then Document.recheck; not budgeted (the engine's figure for
   this is bench_blocks.py's).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_canvas import ratio_line  # noqa: E402
from common import edge, environment_line, median, node, print_table, verdict  # noqa: E402

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

OPEN_BUDGET_MS = 1000.0
FIT_BUDGET_MS = 33.0
VIEW_SIZE = (1400, 900)
STAGES = [(64, 3, 1), (128, 8, 2), (256, 36, 2), (512, 3, 2)]  # width, blocks, stride of the first


def resnet152_blocks() -> dict:
    from graph_engine.blocks.builtin import builtin_blocks
    from graph_engine.blocks.io import blocks_to_dict

    builtin = builtin_blocks()
    library = builtin.library
    nodes = [node("image", "Input", shape=[3, 224, 224]),
             node("conv1", "Conv2d", out_channels=64, kernel_size=7, stride=2, padding=3, bias=False),
             node("bn1", "BatchNorm2d"), node("relu", "ReLU"),
             node("maxpool", "MaxPool2d", kernel_size=3, stride=2, padding=1)]
    ids = ["image", "conv1", "bn1", "relu", "maxpool"]
    for index, (width, count, stride) in enumerate(STAGES, start=1):
        first = {"id": f"layer{index}_0", "op": "Block", "block": "Bottleneck",
                 "params": {"width": width, "stride": stride}}
        rest = {"id": f"layer{index}", "op": "Block", "block": "Bottleneck", "params": {"width": width},
                "repeat": count - 1}
        nodes += [first, rest]
        ids += [first["id"], rest["id"]]
    nodes += [node("avgpool", "AdaptiveAvgPool2d", output_size=1), node("flatten", "Flatten"),
              node("fc", "Linear", out_features=1000), node("logits", "Output")]
    ids += ["avgpool", "flatten", "fc", "logits"]
    blocks = {k: v for k, v in blocks_to_dict(library).items() if k == "Bottleneck"}
    for item in blocks.values():
        for n in item["graph"]["nodes"]:
            n.pop("pos", None)
    return {"format": "layerloom", "format_version": 2, "name": "ResNet-152 (blocks)", "blocks": blocks,
            "graph": {"nodes": nodes, "edges": [edge(a, b) for a, b in zip(ids, ids[1:], strict=False)]}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a fast smoke run (the figures are rough)")
    args = parser.parse_args(argv)
    repeat = 2 if args.quick else 7

    from app.canvas.view import CanvasView
    from app.document import Document
    from app.main import create_application
    from graph_engine.project_io import load_project

    app = create_application()
    data = resnet152_blocks()
    print(f"ResNet-152 of blocks: {len(data['graph']['nodes'])} top-level nodes, view {VIEW_SIZE[0]}x{VIEW_SIZE[1]},"
          f" platform {app.platformName()}{' (QUICK: rough figures)' if args.quick else ''}")
    print(environment_line())
    print()

    opens, keep = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        document = Document(load_project(data))
        view = CanvasView(document)
        opens.append((time.perf_counter() - start) * 1000)
        keep.append((document, view))
    document, view = keep[-1]
    result = document.result
    if not result.ok:
        raise SystemExit(f"the benchmark project does not check clean: {result.errors[0]}")
    leaves = sum(1 for d in document.project.blocks for n in d.graph if n.op not in ("BlockInput", "BlockOutput"))
    top_cards = len(view.canvas.item_for_node)
    view.resize(*VIEW_SIZE)
    view.show()
    app.processEvents()

    fits, fit_cpu = [], []
    for _ in range(repeat * 3):
        view.centerOn(0, 0)
        view.zoom_by(1 / view.zoom())
        app.processEvents()
        start, cpu = time.perf_counter(), time.process_time()
        view.fit_all()
        view.viewport().repaint()
        fits.append((time.perf_counter() - start) * 1000)
        fit_cpu.append((time.process_time() - cpu) * 1000)  # this process's CPU: what the load cannot inflate

    enters, leaves_ms = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        document.enter_block("layer3")
        view.viewport().repaint()
        enters.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        document.leave_block()
        view.viewport().repaint()
        leaves_ms.append((time.perf_counter() - start) * 1000)

    edits = []
    document.enter_block("layer3")
    for i in range(repeat):
        start = time.perf_counter()
        document.set_param("conv2", "padding", 1 + (i + 1) % 2)  # 2 then 1: shapes change, then back
        document.recheck()
        edits.append((time.perf_counter() - start) * 1000)
    document.undo_stack.setIndex(0)
    document.recheck()

    rows = [
        ["open: load + layout + check + scene", f"{median(opens):.1f}", f"{min(opens):.1f}", f"{max(opens):.1f}",
         f"<= {OPEN_BUDGET_MS:g} ms", verdict(median(opens), OPEN_BUDGET_MS)],
        ["fit_all() + full repaint", f"{median(fits):.1f}", f"{min(fits):.1f}", f"{max(fits):.1f}",
         f"<= {FIT_BUDGET_MS:g} ms", verdict(median(fits), FIT_BUDGET_MS)],
        ["  the same, CPU time of this process", f"{median(fit_cpu):.1f}", f"{min(fit_cpu):.1f}",
         f"{max(fit_cpu):.1f}", "none", "-"],
        ["enter layer3 (Bottleneck) + repaint", f"{median(enters):.1f}", f"{min(enters):.1f}",
         f"{max(enters):.1f}", "none", "-"],
        ["leave it + repaint", f"{median(leaves_ms):.1f}", f"{min(leaves_ms):.1f}", f"{max(leaves_ms):.1f}",
         "none", "-"],
        ["edit inside + re-check of 50 copies", f"{median(edits):.1f}", f"{min(edits):.1f}", f"{max(edits):.1f}",
         "none", "-"],
    ]
    print(f"{top_cards} cards at the top level; {leaves} layers in the definition; "
          f"{result.total_params:,} parameters")
    print_table(["step", "median ms", "min ms", "max ms", "budget", "verdict"], rows)
    print(ratio_line("open ResNet-152 of blocks", median(opens), OPEN_BUDGET_MS, "ms"))
    print(ratio_line("fit-all repaint of it", median(fits), FIT_BUDGET_MS, "ms"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
