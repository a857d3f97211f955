"""Files in a run folder get the permissions a plain save gives, like the project copy beside them (issue 14,
item 14): mkstemp's owner-only 0600 must not leak into weights and checkpoints."""

from __future__ import annotations

import os
import stat

import torch

from graph_engine.project_io import atomic_write_bytes
from graph_engine.training.checkpoints import save_weights


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_weights_in_a_run_folder_have_the_project_copys_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write_bytes(tmp_path / "project.layerloom.json", b"{}")
        save_weights(torch.nn.Linear(2, 2), tmp_path / "last.safetensors")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "last.safetensors") == _mode(tmp_path / "project.layerloom.json") == 0o644


def test_a_replaced_weights_file_keeps_its_mode(tmp_path):
    target = tmp_path / "best.safetensors"
    save_weights(torch.nn.Linear(2, 2), target)
    os.chmod(target, 0o640)
    save_weights(torch.nn.Linear(2, 2), target)
    assert _mode(target) == 0o640
