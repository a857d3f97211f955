"""The training settings in the app come from the engine's description: one editor per described setting
with its label, edits as one undo step through Document.set_training_setting (the panel follows the engine's
training_changed event), Start disabled with the reason while the network has errors, and the first
Train > Start showing the settings and the dataset preview instead of training on defaults nobody saw."""

from __future__ import annotations

import pytest

from app.document import EditRefused
from graph_engine.training.settings_spec import SETTINGS, default_of
from tests.app.training_windows import new_window


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERLOOM_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("LAYERLOOM_STATE_DIR", str(tmp_path / "state"))


@pytest.fixture
def win(qtbot):
    window = new_window(qtbot)
    yield window
    assert window.training_session.shutdown(60_000), "a training thread did not end"


def test_the_panel_has_one_editor_per_described_setting(win):
    assert win.new_from_template("mlp_digits")
    win.show_training_panel()
    panel = win.training_panel
    for described in SETTINGS:
        if described.key == "device":
            assert panel.device_combo.currentData() == default_of("device")
            continue
        editor = panel.editors[described.key]
        label, _ = panel._rows[described.key]
        assert label.text() == described.label and editor.param is described.param


def test_a_setting_changed_through_the_document_is_one_undo_step_the_panel_follows(win):
    assert win.new_from_template("mlp_digits")
    win.show_training_panel()
    document, panel = win.document, win.training_panel
    before = document.undo_stack.count()
    document.set_training_setting("epochs", 7)
    assert document.undo_stack.count() == before + 1 and document.undo_stack.undoText() == "Set training epochs"
    assert panel.editors["epochs"].spin.value() == 7
    document.undo_stack.undo()
    assert panel.editors["epochs"].spin.value() == document.project.training["epochs"] != 7
    with pytest.raises(EditRefused, match="epochs"):
        document.set_training_setting("epochs", 0)
    assert document.undo_stack.count() == before + 1  # the refused value left no step


def test_start_is_disabled_with_the_reason_while_the_network_has_errors(win, qtbot):
    assert win.new_from_template("mlp_digits")
    win.show_training_panel()
    document, panel = win.document, win.training_panel
    assert panel.start_button.isEnabled() and panel.start_blocked.isHidden()
    output = next(n.id for n in document.graph.nodes.values() if n.op == "Output")
    document.remove_nodes([output])
    qtbot.waitUntil(lambda: not document.result.ok, timeout=5000)
    assert not panel.start_button.isEnabled() and not win.actions_by_name["train_start"].isEnabled()
    assert panel.start_blocked.text().startswith("Fix the network first")
    assert panel.start_button.toolTip() == panel.start_blocked.text()
    win.start_training()  # the shortcut does nothing either
    assert win.training_session.state == "idle" and not win.training_session.runs
    document.undo_stack.undo()
    qtbot.waitUntil(lambda: document.result.ok, timeout=5000)
    assert panel.start_button.isEnabled() and panel.start_blocked.isHidden()


def test_the_first_start_shows_the_settings_and_the_preview(win):
    assert win.new_from_template("mlp_digits")
    assert win.training_panel is None or not win.training_panel.seen
    win.start_training()
    panel = win.training_panel
    assert panel is not None and panel.isVisible() and panel.preview.isVisible()
    assert win.training_session.state == "idle" and not win.training_session.runs  # nothing trained yet


def test_mixed_precision_is_never_shown_on_where_it_cannot_apply(win, qtbot):
    from app.training.device_info import DeviceChoice, fallback_choices

    assert default_of("mixed_precision") is False  # off unless asked for
    assert win.new_from_template("mlp_digits")
    win.show_training_panel()
    document, panel = win.document, win.training_panel
    check = panel.editors["mixed_precision"].primary_input
    panel._fill_devices(fallback_choices())  # a machine without a GPU: auto and the CPU
    assert not check.isChecked() and not check.isEnabled()
    document.set_training_setting("mixed_precision", True)  # a project saved on a GPU machine
    assert not check.isChecked() and not check.isEnabled()
    assert "no CUDA GPU" in check.toolTip() and "asks for it" in check.toolTip()
    # The same project where the device list has a CUDA GPU: the box shows the project's value and edits it.
    panel._fill_devices([*fallback_choices(), DeviceChoice("cuda:0", "cuda:0: a GPU (8.0 GiB)")])
    assert panel.trains_on_cuda() and check.isChecked() and check.isEnabled()
    check.click()
    assert document.project.training["mixed_precision"] is False
    document.undo_stack.undo()
    assert check.isChecked()
    document.set_training_setting("device", "cpu")  # training on the CPU of that machine
    assert not panel.trains_on_cuda() and not check.isChecked() and not check.isEnabled()
    assert "not a CUDA GPU" in check.toolTip()
