"""Will it fit, in the window: the status bar's memory read-out says whether the network fits the device's free
memory at the batch size (the figure injected through StatusInfo.memory_source), and Train > Find Batch Size
sets the largest batch size that fits as one undoable edit; the panel's button does the same."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from graph_engine.project_io import save_project
from graph_engine.templates import load_template
from graph_engine.training.fit import USABLE_FRACTION
from graph_engine.validation import estimated_memory_bytes
from tests.app.training_windows import new_window


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERLOOM_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("LAYERLOOM_STATE_DIR", str(tmp_path / "state"))


def test_the_status_bar_says_whether_it_fits_and_find_batch_size_picks_the_largest(qtbot, tmp_path):
    path = tmp_path / "lenet.layerloom.json"
    project = load_template("lenet5")
    project.training = {**(project.training or {}), "device": "cpu", "batch_size": 64}
    save_project(project, path)
    window = new_window(qtbot)
    assert window.open_file(path)
    result = window.document.result
    fixed = estimated_memory_bytes(result, 0)
    per_sample = estimated_memory_bytes(result, 1) - fixed
    asked = []
    free = {"bytes": int((fixed + 40 * per_sample) / USABLE_FRACTION) + 1}  # room for 40 samples

    def source(device):
        asked.append(device)
        return free["bytes"]

    info = window.status_info
    info.memory_source = source
    info.refresh()
    assert asked[-1] == "cpu"
    assert "too big for CPU" in info.memory_label.text() and "batch size 40 would" in info.memory_label.toolTip()
    assert window.find_batch_size() == 40
    assert window.document.project.training["batch_size"] == 40
    assert "fits CPU" in info.memory_label.text() and "@ batch 40" in info.memory_label.text()
    window.document.undo_stack.undo()
    assert window.document.project.training["batch_size"] == 64

    free["bytes"] = fixed // 2  # not even one sample: refused with the reason, nothing changes
    errors = []
    window.show_error = lambda *args: errors.append(args)
    assert window.find_batch_size() is None
    assert "even at batch size 1" in errors[-1][1] and window.document.project.training["batch_size"] == 64

    free["bytes"] = int((fixed + 1000 * per_sample) / USABLE_FRACTION) + 1
    window.show_training_panel()
    qtbot.mouseClick(window.training_panel.find_batch_button, Qt.MouseButton.LeftButton)
    assert window.document.project.training["batch_size"] == 1000
    assert window.actions_by_name["train_find_batch"] in window.train_menu.actions()
    window.close()
