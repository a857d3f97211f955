"""Quit: how long from Ctrl+Q to the process being gone, for the real start-up path (app.main.run_gui).

Each launch starts the window offscreen on the welcome page, waits `--delay` seconds (long enough for the
background torch warm-up to finish: an idle window), triggers the Quit action, and the parent times Quit ->
process exit. Measured both ways: with `exit_process=True` (what the `layerloom` command does: the process
ends as soon as the event loop returns, app.main.leave_process) and without it (the interpreter's normal
teardown, as before). Nothing is asserted; the figures go in benchmarks/README.md.

    .venv/bin/python benchmarks/bench_quit.py [--runs 3] [--delay 20] [--quick]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHILD = """
import sys, time
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
import app.main as m
delay, fast = float(sys.argv[1]), sys.argv[2] == "1"
create = m.create_application
def quit_later(*args, **kwargs):
    app = create(*args, **kwargs)
    def go():
        window = next(w for w in QApplication.topLevelWidgets() if w.objectName() == "mainWindow")
        print(f"QUIT {time.time():.6f}", file=sys.stderr, flush=True)
        window.actions_by_name["quit"].trigger()
    QTimer.singleShot(int(delay * 1000), go)
    return app
m.create_application = quit_later
sys.exit(m.run_gui(None, exit_process=fast))
"""


def one_quit(delay: float, fast: bool) -> float:
    with tempfile.TemporaryDirectory(prefix="layerloom-quit-") as tmp:
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", LAYERLOOM_CONFIG_DIR=f"{tmp}/config",
                   LAYERLOOM_STATE_DIR=f"{tmp}/state", PYTHONPATH=str(ROOT))
        proc = subprocess.Popen([sys.executable, "-c", CHILD, str(delay), "1" if fast else "0"], cwd=ROOT, env=env,
                                stderr=subprocess.PIPE, text=True)
        quit_at = None
        for line in proc.stderr:
            if line.startswith("QUIT "):
                quit_at = float(line.split()[1])
        proc.wait(timeout=300)
        gone = time.time()
        if proc.returncode != 0 or quit_at is None:
            raise SystemExit(f"the window did not quit cleanly (exit {proc.returncode})")
        return gone - quit_at


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--delay", type=float, default=20.0, help="seconds between start and Quit")
    parser.add_argument("--quick", action="store_true", help="one run each, 3 s after start")
    args = parser.parse_args()
    runs, delay = (1, 3.0) if args.quick else (args.runs, args.delay)
    for fast in (True, False):
        times = [one_quit(delay, fast) for _ in range(runs)]
        label = "exit_process (layerloom)" if fast else "interpreter teardown   "
        print(f"quit -> process gone, {label}: median {statistics.median(times):.2f} s "
              f"(runs: {', '.join(f'{t:.2f}' for t in times)}; quit {delay:g} s after start)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
