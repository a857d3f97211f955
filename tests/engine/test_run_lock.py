"""One `layerloom train` per run folder at a time (issue 14, item 16)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from graph_engine.training.cli_train import run_train
from graph_engine.training.run_lock import RunFolderBusy, run_folder_lock

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "resources" / "templates"


def project_file(tmp_path: Path) -> Path:
    data = json.loads((TEMPLATES / "moons_mlp.layerloom.json").read_text(encoding="utf-8"))
    data["training"] = {**(data.get("training") or {}), "epochs": 1}
    path = tmp_path / "moons.layerloom.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_a_second_run_into_a_busy_folder_is_refused_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "run"
    with run_folder_lock(out):  # what a first `layerloom train` holds while it trains
        code = run_train([str(project_file(tmp_path)), "--out", str(out), "--device", "cpu"])
        err = capsys.readouterr().err
        assert code == 1
        assert "in use by another training run" in err and "Traceback" not in err
        assert sorted(p.name for p in out.iterdir()) == [".layerloom-run.lock"]
    assert run_train([str(project_file(tmp_path)), "--out", str(out), "--device", "cpu"]) == 0


def test_the_lock_is_exclusive_within_one_process_too(tmp_path):
    with run_folder_lock(tmp_path / "run"):
        with pytest.raises(RunFolderBusy), run_folder_lock(tmp_path / "run"):
            pass


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_a_killed_run_leaves_no_stale_lock(tmp_path, capsys):
    out = tmp_path / "run"
    script = ("import time, sys\n"
              "from graph_engine.training.run_lock import run_folder_lock\n"
              f"with run_folder_lock({str(out)!r}):\n"
              "    print('locked', flush=True)\n"
              "    time.sleep(120)\n")
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert proc.stdout.readline().strip() == "locked"
        assert run_train([str(project_file(tmp_path)), "--out", str(out), "--device", "cpu"]) == 1
        assert "in use" in capsys.readouterr().err
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    assert run_train([str(project_file(tmp_path)), "--out", str(out), "--device", "cpu"]) == 0
