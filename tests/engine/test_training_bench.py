"""benchmarks/bench_training.py still runs (--quick) and prints its ratio lines; speed is not asserted here."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RATIO_LINE = re.compile(r"^ratio .+: \d+\.\d{3} \(.*budget <= [\d.]+.*\) (PASS|OVER)$", re.MULTILINE)


def test_bench_training_quick_runs_and_prints_ratios():
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_training.py"), "--quick"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for model in ("mlp_digits", "cnn_digits"):
        assert re.search(rf"^ratio {model} engine/hand epoch: ", proc.stdout, re.MULTILINE), proc.stdout
    assert len(RATIO_LINE.findall(proc.stdout)) == 2, proc.stdout
