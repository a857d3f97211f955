"""Saving projects and exports: symlinks are written through, killed saves leave nothing behind for long, and
files keep the permissions of a plain save (issue 14, items 14 and 17)."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from graph_engine import load_project, save_project
from graph_engine.cli import main
from graph_engine.project_io import (
    STALE_TEMP_AGE_S,
    atomic_write_bytes,
    atomic_write_with,
    remove_stale_temp_files,
)
from tests.engine.project_factory import mlp, write_project

ROOT = Path(__file__).resolve().parents[2]
posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX symlinks, modes and signals")


@posix_only
def test_save_project_writes_through_a_symlink(tmp_path):
    (tmp_path / "real").mkdir()
    real = write_project(tmp_path / "real", mlp(), "net.layerloom.json")
    link = tmp_path / "net.layerloom.json"
    link.symlink_to(real)
    project = load_project(link)
    project.name = "Edited"
    save_project(project, link)
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert load_project(real).name == "Edited"
    assert not [p for p in real.parent.iterdir() if p.name.startswith(".")]


@posix_only
def test_cli_new_force_writes_through_a_symlink(tmp_path, capsys):
    real = write_project(tmp_path, mlp(), "real.layerloom.json")
    link = tmp_path / "link.layerloom.json"
    link.symlink_to(real)
    assert main(["new", "--template", "mlp_diabetes", str(link), "--force"]) == 0, capsys.readouterr()
    assert link.is_symlink()
    assert load_project(real).name != "Tiny MLP"


def stale_file(folder: Path, name: str, pid: int) -> Path:
    path = folder / f".{name}.layerloom-{pid}-abc123.tmp"
    path.write_bytes(b"half a project")
    return path


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@posix_only
def test_the_next_save_removes_temp_files_of_killed_saves(tmp_path):
    target = tmp_path / "net.layerloom.json"
    dead = stale_file(tmp_path, target.name, dead_pid())
    mine = stale_file(tmp_path, target.name, os.getpid())  # ours, maybe a save in another thread: kept
    other = stale_file(tmp_path, "other.layerloom.json", dead_pid())  # another file's: not this save's business
    save_project(load_project(mlp()), target)
    assert not dead.exists()
    assert mine.exists() and other.exists()
    old = time.time() - STALE_TEMP_AGE_S - 60
    os.utime(mine, (old, old))
    assert remove_stale_temp_files(target) == [mine]


@posix_only
def test_a_save_killed_midway_leaves_a_recognisable_temp_file_that_the_next_save_removes(tmp_path):
    target = tmp_path / "big.bin"
    script = ("import sys, time\n"
              "from graph_engine.project_io import atomic_write_with\n"
              "def write(tmp):\n"
              "    open(tmp, 'wb').write(b'x' * 1000)\n"
              "    print('writing', flush=True)\n"
              "    time.sleep(60)\n"
              f"atomic_write_with({str(target)!r}, write)\n")
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout.readline().strip() == "writing"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    leftovers = [p.name for p in tmp_path.iterdir()]
    assert len(leftovers) == 1 and leftovers[0].startswith(".big.bin.layerloom-"), leftovers
    atomic_write_bytes(target, b"complete")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.bin"]
    assert target.read_bytes() == b"complete"


@posix_only
def test_files_written_by_name_get_the_mode_of_a_plain_save(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write_with(tmp_path / "w.bin", lambda tmp: Path(tmp).write_bytes(b"1"))
        plain = tmp_path / "plain.bin"
        plain.write_bytes(b"1")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "w.bin").stat().st_mode) == stat.S_IMODE(plain.stat().st_mode) == 0o644


@posix_only
def test_a_read_only_file_can_be_replaced_and_stays_read_only(tmp_path):
    target = tmp_path / "ro.bin"
    target.write_bytes(b"old")
    target.chmod(0o444)
    atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new" and stat.S_IMODE(target.stat().st_mode) == 0o444
