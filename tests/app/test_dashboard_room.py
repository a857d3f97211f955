"""The dashboard has room of its own (the Train perspective, app/editor_area.py) and never squeezes the canvas:
at 1400x900 the canvas keeps its cards (with shapes) and every plot shows whole, without scrolling; an old,
cramped saved layout is not restored."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings

from app.canvas.appearance import LOD_TEXT
from app.main_window import STATE_KEY, MainWindow
from app.settings import open_settings
from tests.app.training_windows import new_window


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERLOOM_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("LAYERLOOM_STATE_DIR", str(tmp_path / "state"))


def shown_docks(window: MainWindow) -> set[str]:
    return {d.objectName() for d in window.docks + window.training_docks if not d.isHidden()}


def test_train_perspective_gives_the_canvas_and_every_plot_room(qtbot):
    window = new_window(qtbot)
    assert window.new_from_template("cnn_digits")  # the largest digits template: 15 layers
    qtbot.wait(50)
    design_docks = shown_docks(window)
    assert "layersDock" in design_docks and window.perspective == "design"
    design_width = window.canvas.viewport().width()

    window.show_dashboard()
    assert window.perspective == "train" and window.actions_by_name["perspective_train"].isChecked()
    canvas = window.canvas
    qtbot.waitUntil(lambda: canvas.viewport().width() >= 560, timeout=3000)
    assert canvas.isVisible() and canvas.viewport().height() >= 450
    canvas.fit_all()
    assert canvas.zoom() >= LOD_TEXT  # fitted, the cards are full cards with their shapes, not pills
    assert not shown_docks(window)  # the design docks gave the dashboard their room

    dashboard = window.dashboard
    scroll = window.findChild(type(window.editor_area.dashboard_host.currentWidget()), "dashboardScroll")
    assert dashboard.isVisible() and dashboard.width() >= 700 and dashboard.height() >= 700
    assert not scroll.verticalScrollBar().isVisible() and not scroll.horizontalScrollBar().isVisible()
    for key, panel in dashboard.panels.items():
        if panel.isVisible():
            assert panel.width() >= 220 and panel.height() >= 200, (key, panel.size())

    window.set_perspective("design")
    assert shown_docks(window) == design_docks and not dashboard.isVisible()
    qtbot.waitUntil(lambda: window.canvas.viewport().width() == design_width, timeout=3000)


def test_a_dock_opened_in_train_stays_there_and_leaves_design_alone(qtbot):
    window = new_window(qtbot)
    assert window.new_from_template("moons_mlp")
    window.set_perspective("train")
    window.show_training_panel()  # the settings, opened while watching
    window.set_perspective("design")
    assert "trainingDock" not in shown_docks(window) and "layersDock" in shown_docks(window)
    window.set_perspective("train")
    assert shown_docks(window) == {"trainingDock"}


def test_a_layout_saved_by_an_older_version_is_not_restored(qtbot, tmp_path):
    path = tmp_path / "old.ini"
    first = MainWindow(settings=open_settings(path), autosaver=None)
    qtbot.addWidget(first)
    first.resize(1400, 900)
    first.show()
    qtbot.waitExposed(first)
    assert first.new_from_template("moons_mlp")
    first.diagnostics_dock.hide()
    old_state = first.saveState(2)  # what the version with the docked dashboard saved
    first.close()
    first.settings.setValue(STATE_KEY, old_state)
    first.settings.sync()

    second = MainWindow(settings=QSettings(str(path), QSettings.Format.IniFormat), autosaver=None)
    qtbot.addWidget(second)
    assert not second._layout_ready  # not restored: the first-run layout is laid out instead
    second.resize(1400, 900)
    second.show()
    qtbot.waitExposed(second)
    assert second.new_from_template("moons_mlp")
    assert not second.diagnostics_dock.isHidden()


@pytest.mark.slow
def test_a_finished_run_shows_its_final_state_and_one_status_everywhere(qtbot):
    """A run whose probes are far apart (probe_every 1000 > the run's 39 steps): the dashboard still ends on
    the last step, and the summary, the Training panel and the run list say the same thing."""
    from app.training.run_status import run_status
    from graph_engine.training.events import FinishedEvent

    window = new_window(qtbot)
    assert window.new_from_template("moons_mlp")
    window.document.set_training_settings({"epochs": 3, "probe_every": 1000})
    window.show_training_panel()
    panel = window.training_panel
    session = window.training_session
    with qtbot.waitSignal(session.run_ended, timeout=120_000) as ended:
        panel.start()
    run, event = ended.args
    assert isinstance(event, FinishedEvent) and run.last_step == 39  # 400 samples, batch 32: 13 steps an epoch
    dashboard = window.dashboard
    assert window.perspective == "train" and dashboard.run is run
    dashboard.flush()

    assert run.latest_probe.step == run.last_step
    assert dashboard.decision_boundary.subtitle_label.full_text() == f"step {run.last_step}"
    last_x = run.step_to_epoch(run.last_step)
    assert last_x == pytest.approx(3.0)
    for node_id, curve in dashboard.gradient_norms.curves.items():
        xs, _ = curve.getData()
        assert xs[-1] == pytest.approx(last_x), node_id  # every layer's gradient norm reaches the end
    xs, _ = dashboard.loss_plot.raw_curve.getData()
    assert xs[-1] == pytest.approx(last_x)

    state = run_status(run)
    assert state.text == "Finished · epoch 3 / 3 · step 39"
    summary = dashboard.summary.text()
    assert "Finished" in summary and "epoch 3 / 3" in summary and "step 39" in summary
    assert panel.progress.format().startswith(state.text)
    item = window.runs_panel.item_for(run)
    assert item.text(4) == "3/3" and item.text(6) == state.label
    window.training_session.shutdown(60_000)


@pytest.mark.slow
def test_screenshots_of_a_run_in_progress_and_finished(qtbot, tmp_path):
    """docs/screenshots/train_in_progress.png and train_finished.png (rewritten only with
    LAYERLOOM_SCREENSHOTS=1): cnn_digits in the Train perspective at 1400x900, the cards with their shapes."""
    import os
    from pathlib import Path

    from PySide6.QtCore import QTimer

    from app.training.run_status import run_status

    out = Path(__file__).resolve().parents[2] / "docs" / "screenshots" if os.environ.get(
        "LAYERLOOM_SCREENSHOTS") == "1" else tmp_path
    window = new_window(qtbot)
    assert window.new_from_template("cnn_digits")
    window.document.set_training_settings({"epochs": 12})
    window.show_training_panel()
    session = window.training_session
    shots: dict = {}

    def look() -> None:  # in the GUI thread while the run goes on
        run = session.current
        if run is not None and run.current_epoch >= 5 and "mid" not in shots:
            window.dashboard.flush()
            shots["mid"] = (window.grab(), run_status(run).text, window.canvas.zoom())

    timer = QTimer()
    timer.timeout.connect(look)
    timer.start(50)
    with qtbot.waitSignal(session.run_ended, timeout=300_000):
        window.training_panel.start()
    timer.stop()
    window.dashboard.flush()
    assert "mid" in shots, "the run ended before its 5th epoch was seen"
    mid, mid_status, mid_zoom = shots["mid"]
    assert mid_status.startswith("Running · epoch") and mid_zoom >= LOD_TEXT
    assert window.canvas.zoom() >= LOD_TEXT and run_status(session.latest).text.startswith("Finished · epoch 12 / 12")
    end = window.grab()
    assert (mid.width(), mid.height()) == (end.width(), end.height()) == (1400, 900)
    assert mid.save(str(out / "train_in_progress.png")) and end.save(str(out / "train_finished.png"))
    window.training_session.shutdown(60_000)
