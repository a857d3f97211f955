"""Checkpoints under faults (issue 14, items 3 and 11): a torn pair never resumes silently, and a full disk
while saving ends the run with a clear message, keeping the previous checkpoint.

The torn pairs are made from the real files of a real run (the files of two consecutive epochs, mixed as a
kill between the two writes leaves them). The full disk is a real one: an 8 MiB tmpfs mounted in a private
mount namespace (`unshare -rm`) for a child process, so nothing is mocked.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from graph_engine import parse_project
from graph_engine.training import CheckpointError, EpochEvent, FinishedEvent, Trainer, resume
from graph_engine.training import checkpoints as ck

pytestmark = pytest.mark.slow  # each test trains a few epochs (about 10-30 s here)

TEMPLATES = Path(__file__).resolve().parents[2] / "resources" / "templates"


def mlp_project(epochs: int):
    data = json.loads((TEMPLATES / "mlp_digits.layerloom.json").read_text(encoding="utf-8"))
    data["training"] = {**data["training"], "epochs": epochs}
    return parse_project(data)


def _metrics(history):
    return [{k: v for k, v in r.items() if k not in ("time_s", "samples_per_s")} for r in history]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """An uninterrupted 4-epoch run, and the checkpoint files of a 3-epoch run after epochs 2 and 3."""
    full_dir = tmp_path_factory.mktemp("full")
    full = Trainer(mlp_project(4), run_dir=full_dir).run()
    assert isinstance(full, FinishedEvent), full
    part_dir = tmp_path_factory.mktemp("part")
    saved = tmp_path_factory.mktemp("saved")

    def keep(event):
        if isinstance(event, EpochEvent) and event.epoch in (2, 3):
            for name in (ck.LAST_STATE, ck.LAST_WEIGHTS):
                shutil.copy(part_dir / name, saved / f"{event.epoch}_{name}")

    assert isinstance(Trainer(mlp_project(3), listener=keep, run_dir=part_dir).run(), FinishedEvent)
    return full_dir, full, part_dir, saved


@pytest.mark.parametrize("state_epoch, weights_epoch", [(2, 3), (3, 2)])
def test_a_torn_pair_resumes_exactly_from_the_state(runs, tmp_path, state_epoch, weights_epoch):
    full_dir, full, part_dir, saved = runs
    run = tmp_path / "run"
    shutil.copytree(part_dir, run)
    shutil.copy(saved / f"{state_epoch}_{ck.LAST_STATE}", run / ck.LAST_STATE)
    shutil.copy(saved / f"{weights_epoch}_{ck.LAST_WEIGHTS}", run / ck.LAST_WEIGHTS)
    (run / ck.METRICS_FILE).write_text(json.dumps(json.loads((run / ck.METRICS_FILE).read_text())[:state_epoch]))
    resumed = resume(run, epochs=4)
    assert isinstance(resumed, FinishedEvent), resumed
    assert _metrics(resumed.history) == _metrics(full.history)
    final = ck.load_weights(run / ck.FINAL_WEIGHTS)
    expected = ck.load_weights(full_dir / ck.FINAL_WEIGHTS)
    assert final.keys() == expected.keys() and all(torch.equal(final[k], expected[k]) for k in final)


def test_a_torn_version_1_pair_is_refused(runs, tmp_path):
    _, _, part_dir, saved = runs
    run = tmp_path / "run"
    shutil.copytree(part_dir, run)
    state = torch.load(saved / f"2_{ck.LAST_STATE}", weights_only=True)
    del state["weights"]
    state["version"] = 1
    torch.save(state, run / ck.LAST_STATE)
    shutil.copy(saved / f"3_{ck.LAST_WEIGHTS}", run / ck.LAST_WEIGHTS)
    with pytest.raises(CheckpointError, match="torn"):
        Trainer.from_checkpoint(run, epochs=4).prepare()
    shutil.copy(saved / f"2_{ck.LAST_WEIGHTS}", run / ck.LAST_WEIGHTS)  # a matching version-1 pair resumes
    assert isinstance(resume(run, epochs=3), FinishedEvent)


FULL_DISK = textwrap.dedent("""
    import json, subprocess, sys
    from pathlib import Path
    from graph_engine import parse_project
    from graph_engine.training import Trainer
    from graph_engine.training import checkpoints as ck

    run = Path(sys.argv[1]) / "run"
    data = json.loads(Path(sys.argv[2]).read_text())
    # Wide layers make each checkpoint ~5.8 MiB: the first epoch's files fit the disk, the second's do not.
    for node in data["graph"]["nodes"]:
        if node["op"] == "Linear" and node["params"].get("out_features") != 10:
            node["params"]["out_features"] = 500
    data["training"] = {**data["training"], "epochs": 3}
    result = Trainer(parse_project(data), run_dir=run).run()
    state = ck.load_state(run / ck.LAST_STATE)
    leftovers = sorted(p.name for p in run.iterdir() if p.name.startswith("."))
    print(json.dumps({"kind": type(result).__name__, "message": getattr(result, "message", ""),
                      "state_epoch": state["epoch"], "leftovers": leftovers,
                      "weights_ok": len(ck.checkpoint_weights(run, state)) > 0}))
""")


def test_a_full_disk_while_checkpointing_is_a_clear_message_and_keeps_the_previous_checkpoint(tmp_path):
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-rm", "true"]).returncode != 0:
        pytest.skip("no private mount namespace here (unshare -rm) to mount a small tmpfs in")
    disk = tmp_path / "disk"
    disk.mkdir()
    script = tmp_path / "full_disk.py"
    script.write_text(FULL_DISK)
    command = (f"mount -t tmpfs -o size=8m tmpfs {disk} && {sys.executable} {script} {disk} "
               f"{TEMPLATES / 'mlp_digits.layerloom.json'}")
    done = subprocess.run(["unshare", "-rm", "sh", "-c", command], capture_output=True, text=True, timeout=300,
                          env={"PYTHONPATH": str(Path.cwd()), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["kind"] == "FailedEvent", report
    assert "the disk is full" in report["message"] and "is kept" in report["message"]
    assert report["state_epoch"] >= 1 and report["weights_ok"]
    assert report["leftovers"] == []
