"""The benchmark scripts still run (--quick) and print their ratio lines.

Speed is measured by the scripts themselves (benchmarks/README.md), never asserted here: these tests only keep
the scripts from rotting as the engine changes. They check the exit status and the shape of the output.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = ROOT / "benchmarks"
RATIO_LINE = re.compile(r"^ratio .+: \d+\.\d{3} \(.*budget <= [\d.]+.*\) (PASS|OVER)$", re.MULTILINE)


def run_quick(script: str) -> str:
    proc = subprocess.run([sys.executable, str(BENCHMARKS / script), "--quick"], cwd=ROOT,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"{script} --quick failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch is not installed")
@pytest.mark.slow
def test_bench_model_quick_runs_and_prints_ratios():
    out = run_quick("bench_model.py")
    lines = RATIO_LINE.findall(out)
    assert lines, out
    for model in ("mlp", "rescnn", "lstm"):
        assert re.search(rf"^ratio {model} built/", out, re.MULTILINE), out


def test_bench_check_quick_runs_and_prints_ratios():
    out = run_quick("bench_check.py")
    assert RATIO_LINE.search(out), out
    assert "1000-node graph" in out
    assert re.search(r"^ratio full check / budget: ", out, re.MULTILINE), out
    assert re.search(r"^ratio check\(\) after set_param, middle", out, re.MULTILINE), out


@pytest.mark.skipif(importlib.util.find_spec("PySide6") is None, reason="PySide6 is not installed")
@pytest.mark.slow
def test_bench_canvas_quick_runs_and_prints_ratios():
    out = run_quick("bench_canvas.py")
    assert "1000-node graph" in out
    for label in (r"load\+layout\+check\+scene", r"move one node \(drag step at 100%\)", "fit-all repaint",
                  "window painted after launch"):
        assert re.search(rf"^ratio {label} / budget: ", out, re.MULTILINE), (label, out)
    assert len(RATIO_LINE.findall(out)) == 5, out
    # Not a timing: the start-up budget (benchmarks/README.md) wants torch imported lazily, after the
    # window is painted.
    assert "torch imported before the window was painted: no" in out


@pytest.mark.skipif(importlib.util.find_spec("PySide6") is None, reason="PySide6 is not installed")
@pytest.mark.slow
def test_bench_training_gui_quick_runs_and_prints_ratios():
    out = run_quick("bench_training_gui.py")
    for model in ("mlp_digits", "cnn_digits"):
        assert re.search(rf"^ratio {model} GUI/plain throughput: \d+\.\d{{3}} ", out, re.MULTILINE), out
        assert re.search(rf"^ratio {model} UI timer lateness p99: [\d.]+ ms ", out, re.MULTILINE), out


def test_bench_blocks_quick_runs_and_prints_ratios():
    out = run_quick("bench_blocks.py")
    assert len(RATIO_LINE.findall(out)) == 2, out
    assert "1000 leaf layers" in out


@pytest.mark.slow
def test_bench_frozen_quick_runs_and_prints_both_rows():
    out = run_quick("bench_frozen.py")
    row = next(line for line in out.splitlines() if line.startswith("cnn_digits"))
    assert "(13,104 frozen)" in row and re.search(r"\d\.\d\d$", row), out


@pytest.mark.slow
def test_bench_blocks_canvas_quick_runs_and_prints_ratios():
    out = run_quick("bench_blocks_canvas.py")
    assert "17 cards at the top level" in out
    for label in ("open ResNet-152 of blocks", "fit-all repaint of it"):
        assert re.search(rf"^ratio {label} / budget: ", out, re.MULTILINE), (label, out)
    assert len(RATIO_LINE.findall(out)) == 2, out
