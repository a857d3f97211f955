"""Train a template headlessly and render the dashboard to a PNG (documentation screenshots, a quick look).

    python -m app.training.plots.demo moons_mlp docs/screenshots/training_moons.png [--epochs N] [--dark]

The run is real (graph_engine.training.Trainer, synchronous, on the CPU); its events go into a RunData the
same way the worker feeds one, in batches of steps.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from graph_engine.training.events import StepEvent


def record_run(template: str, run: Any, **overrides: Any) -> Any:
    """Train resources/templates/<template>.layerloom.json on the CPU and feed every event into `run`
    (a RunData), steps batched by epoch. Returns the terminal event. `overrides`: TrainingConfig keys."""
    from graph_engine.project_io import load_project
    from graph_engine.templates import get_template
    from graph_engine.training import Trainer, TrainingConfig

    project = load_project(get_template(template).path)
    config = TrainingConfig.from_project(project).with_overrides(device="cpu", **overrides)
    run.config = config.to_dict()
    run.epochs_planned = config.epochs
    pending: list[StepEvent] = []

    def listener(event: Any) -> None:
        if isinstance(event, StepEvent):
            pending.append(event)
            return
        if pending:  # the worker batches steps (~10 emits a second); per epoch is the same idea here
            run.add_steps(list(pending))
            pending.clear()
        run.add_event(event)

    return Trainer(project, config, listener=listener, num_threads=1).run()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("template")
    parser.add_argument("out")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--probe-every", type=int)
    parser.add_argument("--layer")
    parser.add_argument("--dark", action="store_true")
    parser.add_argument("--size", default="1400x860", help="WIDTHxHEIGHT")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if args.dark:
        os.environ["LAYERLOOM_THEME"] = "dark"
    from app.main import create_application
    from app.training.plots.dashboard import TrainingDashboard
    from app.training.run_data import RunData

    app = create_application([sys.argv[0]])
    run = RunData(args.template)
    record_run(args.template, run, epochs=args.epochs, probe_every=args.probe_every)
    dashboard = TrainingDashboard()
    width, height = (int(v) for v in args.size.split("x"))
    dashboard.resize(width, height)
    dashboard.set_run(run)
    if args.layer:
        dashboard.select_layer(args.layer)
    dashboard.show()
    app.processEvents()
    dashboard.flush()
    for _ in range(3):  # axes widen to their tick labels one layout pass later
        app.processEvents()
    dashboard.grab().save(args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
