"""Training from the main window, driven with qtbot on real widgets and the real Trainer (small templates, a
few epochs): Start streams steps and epochs into the run data and the dashboard, Pause and Resume change the
state, Stop ends the run, the network is read-only during a run and editable after it, an absurd learning
rate typed into the panel fails with a message that names a layer and marks it on the canvas, and the GUI
thread keeps its timers on time while training.

Every wait on the training thread is a `waitSignal` (or `waitUntil` on a state a signal sets) with a timeout;
the `win` fixture stops and joins every training thread before the window goes (a QThread destroyed while
running aborts the process).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QElapsedTimer, Qt, QThread, QTimer

from app.document import EditRefused
from app.main_window import MainWindow
from app.training.canvas_stats import short_number, stats_line
from app.training.dataset_preview import wait_for_previews
from app.training.device_info import DeviceCatalog
from app.training.run_data import RunData
from app.training.session import TrainingSession, overfitting_message, overfitting_streak
from app.training.training_panel import TrainingPanel
from app.training.worker import STEP_INTERVAL_S, TrainingWorker
from graph_engine.training.events import EpochEvent, FailedEvent, FinishedEvent, LayerStats, StoppedEvent
from tests.app.training_windows import new_window

RUN_TIMEOUT = 120_000  # ms: the first run of a process imports torch and builds the model code


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERLOOM_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("LAYERLOOM_STATE_DIR", str(tmp_path / "state"))


@pytest.fixture
def win(qtbot, tmp_path):
    window = new_window(qtbot)
    # These tests drive the run from the Training panel's buttons: keep it open in the Train perspective too,
    # as a person who opened it there would have it (by default Train hides every dock).
    window._train_docks = ["trainingDock"]
    yield window
    assert window.training_session.shutdown(60_000), "a training thread did not end"
    window.shutdown_training()
    qtbot.waitUntil(lambda: not window.training_session._live_threads, timeout=10_000)


def open_template(window: MainWindow, name: str, epochs: int) -> TrainingPanel:
    """Open a template and set its epochs through the panel's editor (one undo step)."""
    assert window.new_from_template(name)
    window.show_training_panel()
    panel = window.training_panel
    editor = panel.editors["epochs"]
    editor.spin.setValue(epochs)
    assert window.document.project.training["epochs"] == epochs
    return panel


def click(qtbot, button) -> None:
    assert button.isEnabled() and button.isVisible(), button.objectName()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def start(qtbot, window: MainWindow) -> RunData:
    session = window.training_session
    with qtbot.waitSignal(session.run_started, timeout=RUN_TIMEOUT) as blocker:
        click(qtbot, window.training_panel.start_button)
    return blocker.args[0]


def wait_end(qtbot, session: TrainingSession, run: RunData):
    """The run's terminal event, waiting for it unless it came already (a short or failing run may end
    in the same event-loop pass that delivered its start)."""
    if not run.ended:
        with qtbot.waitSignal(session.run_ended, timeout=RUN_TIMEOUT,
                              check_params_cb=lambda r, _event: r is run):
            pass
    return session.meta(run).end


def wait_state(qtbot, session: TrainingSession, state: str) -> None:
    if session.state != state:
        with qtbot.waitSignal(session.state_changed, timeout=RUN_TIMEOUT, check_params_cb=lambda s: s == state):
            pass
    assert session.state == state


# ---- a run from the UI -------------------------------------------------------------------------------------


def test_start_streams_steps_and_epochs_into_the_dashboard(win, qtbot):
    window = win
    panel = open_template(window, "moons_mlp", epochs=4)
    document, session = window.document, window.training_session
    assert document.dirty and document.undo_stack.count() == 1  # the epochs edit, undoable

    # What holds while the run lasts is read in a slot on run_started, after the window's own slots: by the
    # time `start` returns, a 4-epoch run may already be over.
    during: dict = {}

    def read_state_during_run(run, _event):
        during["current"] = session.current is run
        during["dashboard"] = window.dashboard is not None and window.dashboard.run is run
        during["train perspective"] = (window.perspective == "train" and window.dashboard.isVisible()
                                       and window.canvas.isVisible())
        during["read-only"] = document.read_only and window.canvas._read_only_label.isVisibleTo(window.canvas)
        try:
            document.add_node("ReLU", (0.0, 0.0))
            during["edit refused"] = False
        except EditRefused:
            during["edit refused"] = True
        during["form disabled"] = not panel.form_host.isEnabled()
        during["start disabled"] = (not panel.start_button.isEnabled()
                                    and not window.actions_by_name["train_start"].isEnabled())
        during["no undo stack"] = window.undo_group.activeStack() is None  # Undo cannot change the network

    session.run_started.connect(read_state_during_run)
    run = start(qtbot, window)
    session.run_started.disconnect(read_state_during_run)
    assert run.name == "run 1"
    assert during and all(during.values()), during

    qtbot.waitUntil(lambda: bool(run.records), timeout=RUN_TIMEOUT)  # epoch_ended filled it
    assert len(run.steps) >= 13 and run.records and np.isfinite(run.steps.column("loss")).all()

    assert isinstance(wait_end(qtbot, session, run), FinishedEvent)
    assert run.status == "finished" and len(run.records) == 4
    assert len(run.steps) == 4 * 13  # 400 training samples, batch 32: 13 steps an epoch
    assert run.layers and run.latest_probe is not None  # probes reached the run data
    assert session.state == "idle" and not document.read_only
    assert window.undo_group.activeStack() is document.undo_stack
    assert panel.form_host.isEnabled() and panel.start_button.isEnabled()
    assert panel.progress.value() == 1000 and "Finished · epoch 4 / 4 · step 52" in panel.progress.format()
    assert "val accuracy" in panel.progress.format()
    # The dashboard drew it: the loss curve holds every step.
    window.dashboard.flush()
    xs, _ys = window.dashboard.loss_plot.raw_curve.getData()
    assert xs is not None and len(xs) == len(run.steps)
    # The run list has it, and the canvas shows each layer's statistics.
    item = window.runs_panel.item_for(run)
    assert item is not None and item.text(6) == "Finished" and "acc" in item.text(5)
    fc1 = window.canvas.canvas.item_for_node["fc1"]
    assert "∇" in fc1.live_stats_text and not fc1.live_flagged
    assert window.canvas.canvas.item_for_node["point"].live_stats_text == ""  # the Input has none
    # Clicking a layer after the run shows it in the dashboard.
    window.document.set_selection(["fc2"])
    assert window.dashboard.layer_id == "fc2"
    # Editable again, and an edit clears the stale statistics.
    document.add_node("ReLU", (0.0, 600.0))
    assert fc1.live_stats_text == ""


def test_pause_resume_and_stop(win, qtbot):
    window = win
    panel = open_template(window, "moons_mlp", epochs=2000)
    session, document = window.training_session, window.document
    run = start(qtbot, window)
    with qtbot.waitSignal(session.progress_changed, timeout=RUN_TIMEOUT):
        pass

    click(qtbot, panel.pause_button)
    wait_state(qtbot, session, "paused")
    assert run.status == "paused"
    assert panel.resume_button.isVisible() and panel.resume_button.isEnabled()
    assert not panel.pause_button.isVisible()
    assert window.actions_by_name["train_pause"].text() == "&Resume Training"
    assert panel.progress.format().startswith("Paused · epoch")
    steps_when_paused = len(run.steps)
    qtbot.wait(400)
    assert len(run.steps) == steps_when_paused  # really paused: no step in 0.4 s
    assert not document.read_only  # a paused run may be edited (tests/app/test_training_live_edit.py)

    click(qtbot, panel.resume_button)
    assert document.read_only  # training again
    wait_state(qtbot, session, "running")
    assert run.status == "running"
    with qtbot.waitSignal(session.progress_changed, timeout=RUN_TIMEOUT):
        pass
    qtbot.waitUntil(lambda: len(run.steps) > steps_when_paused, timeout=RUN_TIMEOUT)
    qtbot.waitUntil(lambda: session.progress.eta_s is not None, timeout=RUN_TIMEOUT)  # a rate is known
    assert session.progress.eta_s > 0
    qtbot.waitUntil(lambda: " left" in panel.progress.format(), timeout=5_000)  # the bar follows at 5 Hz

    with qtbot.waitSignal(session.run_ended, timeout=RUN_TIMEOUT) as blocker:
        click(qtbot, panel.stop_button)
    event = blocker.args[1]
    assert isinstance(event, StoppedEvent) and event.step == run.last_step
    assert run.status == "stopped" and session.state == "idle"
    assert panel.progress.format().startswith(f"Stopped · epoch {run.current_epoch} / 2000 · step {run.last_step:,}")
    assert not document.read_only
    document.add_node("ReLU", (0.0, 600.0))  # editable again
    # The thread has ended and the worker is gone.
    qtbot.waitUntil(lambda: not session._live_threads, timeout=10_000)


def test_stop_while_paused_and_pause_from_the_menu(win, qtbot):
    window = win
    open_template(window, "moons_mlp", epochs=2000)
    session = window.training_session
    start(qtbot, window)
    window.actions_by_name["train_pause"].trigger()
    wait_state(qtbot, session, "paused")
    with qtbot.waitSignal(session.run_ended, timeout=RUN_TIMEOUT) as blocker:
        window.actions_by_name["train_stop"].trigger()
    assert isinstance(blocker.args[1], StoppedEvent)
    assert not window.document.read_only


def test_absurd_learning_rate_fails_with_a_message_and_marks_the_layer(win, qtbot):
    window = win
    panel = open_template(window, "mlp_digits", epochs=5)
    lr = panel.editors["optimizer.lr"]
    lr.line.setFocus()
    lr.line.selectAll()
    qtbot.keyClicks(lr.line, "1e6")
    qtbot.keyClick(lr.line, Qt.Key.Key_Return)
    assert window.document.project.training["optimizer"]["lr"] == 1e6
    assert window.document.undo_stack.undoText() == "Set training learning rate"

    run = start(qtbot, window)
    event = wait_end(qtbot, window.training_session, run)
    assert isinstance(event, FailedEvent) and event.kind == "nonfinite", event
    assert event.node_id in window.document.graph
    assert run.status == "failed"
    text = panel.failure_text
    assert text and "learning rate" in text and event.node_id in text
    assert "\n" not in text  # one message, not a traceback
    scene = window.canvas.canvas
    assert scene.item_for_node[event.node_id].live_flagged
    assert "NaN/Inf" in scene.item_for_node[event.node_id].live_stats_text
    assert sum(item.live_flagged for item in scene.item_for_node.values()) == 1
    assert panel.progress.format().startswith("Failed")
    assert not window.document.read_only
    # Clicking the message selects the layer on the canvas.
    qtbot.mouseClick(panel.failure_label, Qt.MouseButton.LeftButton)
    assert window.document.selection == [event.node_id]
    # The next run clears the mark.
    lr.line.setFocus()
    lr.line.selectAll()
    qtbot.keyClicks(lr.line, "0.001")
    qtbot.keyClick(lr.line, Qt.Key.Key_Return)
    second = start(qtbot, window)
    assert not any(item.live_flagged for item in scene.item_for_node.values())
    assert not panel.failure_text
    window.training_session.stop()  # it may have finished already: either way it ends
    assert isinstance(wait_end(qtbot, window.training_session, second), (FinishedEvent, StoppedEvent))


@pytest.mark.slow
def test_the_window_stays_responsive_while_training(win, qtbot):
    """A 10 ms timer in the GUI thread keeps firing while the digits MLP trains (with live plots, the run
    list and the canvas statistics): training is not on the GUI thread and does not freeze it. How late the
    timer fires depends on what else the machine runs, so the figures are measured by
    benchmarks/bench_training_gui.py (p99 <= 16 ms), not asserted here."""
    window = win
    open_template(window, "mlp_digits", epochs=400)
    session = window.training_session
    run = start(qtbot, window)
    qtbot.waitUntil(lambda: bool(run.records), timeout=RUN_TIMEOUT)
    lateness: list[float] = []
    clock = QElapsedTimer()
    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(10)
    last = [0]

    def tick() -> None:
        now = clock.nsecsElapsed()
        lateness.append((now - last[0]) / 1e6 - 10.0)
        last[0] = now

    timer.timeout.connect(tick)
    clock.start()
    timer.start()
    epochs_before = len(run.records)
    qtbot.wait(2500)
    timer.stop()
    assert len(run.records) > epochs_before  # it trained meanwhile
    session.stop()  # it may have finished already: either way it ends
    wait_end(qtbot, session, run)
    # ~250 ticks on an idle machine; a training loop on the GUI thread would leave next to none. Even on an
    # overloaded two-core machine (measured: 5 ticks at load 10) it keeps firing.
    assert len(lateness) >= 2, sorted(lateness)[-20:]
    print(f"GUI timer: {len(lateness)} ticks in 2.5 s, median lateness {statistics.median(lateness):.1f} ms")


# ---- settings ----------------------------------------------------------------------------------------------------


def test_settings_edits_are_undoable_and_refused_values_say_why(win, qtbot):
    window = win
    panel = open_template(window, "mlp_digits", epochs=3)
    document = window.document
    stack = document.undo_stack
    before = stack.count()
    panel.editors["batch_size"].spin.setValue(16)
    assert document.project.training["batch_size"] == 16
    assert "@ batch 16</span>" in window.status_info.memory_label.text()  # the status bar follows (then: fits?)
    stack.undo()
    assert document.project.training["batch_size"] == 64
    assert panel.editors["batch_size"].spin.value() == 64
    stack.redo()
    assert panel.editors["batch_size"].spin.value() == 16
    assert stack.count() == before + 1

    # Out of the param's range: refused under the editor, nothing changes.
    val = panel.editors["val_fraction"]
    val.line.setText("1.5")
    val.commit_pending()
    assert "val_fraction" in val.message_text() and document.project.training["val_fraction"] == 0.2
    # A value the training config refuses: regression on a classification dataset.
    task = panel.editors["task"]
    task.combo.setCurrentIndex(task.combo.findData("regression"))
    assert "regression" in task.message_text() and document.project.training["task"] == "classification"
    assert stack.count() == before + 1
    # Switching the optimizer shows its own settings.
    opt = panel.editors["optimizer.name"]
    assert panel.editors["optimizer.momentum"].isHidden()
    opt.combo.setCurrentIndex(opt.combo.findData("SGD"))
    assert document.project.training["optimizer"]["name"] == "SGD"
    assert not panel.editors["optimizer.momentum"].isHidden()
    panel.editors["optimizer.momentum"].line.setText("0.9")
    panel.editors["optimizer.momentum"].commit_pending()
    assert document.project.training["optimizer"]["momentum"] == 0.9
    # A schedule shows its params; the augmentation is written only when it does something.
    sched = panel.editors["schedule.name"]
    sched.combo.setCurrentIndex(sched.combo.findData("step"))
    assert not panel.editors["schedule.gamma"].isHidden() and panel.editors["schedule.min_lr"].isHidden()
    panel.editors["augment.noise"].line.setText("0.1")
    panel.editors["augment.noise"].commit_pending()
    assert document.project.training["augment"] == {"noise": 0.1}
    panel.editors["augment.noise"].line.setText("0")
    panel.editors["augment.noise"].commit_pending()
    assert "augment" not in document.project.training


def test_dataset_picker_params_and_preview(win, qtbot, tmp_path):
    window = win
    panel = open_template(window, "moons_mlp", epochs=3)
    document = window.document
    assert {"dataset.n_samples", "dataset.noise", "dataset.seed"} <= set(panel.editors)
    noise = panel.editors["dataset.noise"]
    noise.line.setText("0.3")
    noise.commit_pending()
    assert document.project.training["dataset"] == {"name": "moons", "noise": 0.3}

    with qtbot.waitSignal(panel.preview.loaded, timeout=60_000) as blocker:
        panel.preview_toggle.setChecked(True)
    assert blocker.args[0] == "points2d" and panel.preview.kind == "points2d"
    assert "500 samples" in panel.preview.summary.text()

    combo = panel.dataset_combo
    with qtbot.waitSignal(panel.preview.loaded, timeout=60_000) as blocker:
        combo.setCurrentIndex(combo.findData("iris"))
        combo.activated.emit(combo.currentIndex())
    assert blocker.args[0] == "table" and panel.preview.table.rowCount() == 8
    assert document.project.training["dataset"] == {"name": "iris"}
    assert "dataset.noise" not in panel.editors and "dataset.standardize" in panel.editors

    with qtbot.waitSignal(panel.preview.loaded, timeout=60_000) as blocker:
        combo.setCurrentIndex(combo.findData("digits"))
        combo.activated.emit(combo.currentIndex())
    assert blocker.args[0] == "image" and panel.preview.images_grid.count() == 32  # 16 images + captions

    # A user file: the panel asks for it (a real CSV), then previews its head.
    csv = tmp_path / "points.csv"
    rows = ["x,y,label"] + [f"{i % 7},{(i * 3) % 5},{'a' if i % 2 else 'b'}" for i in range(40)]
    csv.write_text("\n".join(rows) + "\n", encoding="utf-8")
    panel.ask_dataset_path = lambda info: str(csv)
    with qtbot.waitSignal(panel.preview.loaded, timeout=60_000) as blocker:
        combo.setCurrentIndex(combo.findData("csv"))
        combo.activated.emit(combo.currentIndex())
    assert blocker.args[0] == "table"
    assert document.project.training["dataset"] == {"name": "csv", "path": str(csv)}
    path_editor = panel.editors["dataset.path"]
    assert path_editor.line.text() == str(csv) and path_editor.browse is not None
    # Cancelling the file question keeps the dataset.
    panel.ask_dataset_path = lambda info: None
    combo.setCurrentIndex(combo.findData("npz"))
    combo.activated.emit(combo.currentIndex())
    assert document.project.training["dataset"]["name"] == "csv"
    assert combo.currentData() == "csv"
    # A file that cannot be read says so in the preview.
    with qtbot.waitSignal(panel.preview.failed, timeout=60_000):
        path_editor.line.setText(str(tmp_path / "missing.csv"))
        path_editor.commit_pending()
    assert "missing.csv" in panel.preview.message.text()
    wait_for_previews()


def test_device_selector_lists_what_exists(win, qtbot):
    window = win
    panel = open_template(window, "moons_mlp", epochs=2)
    catalog = DeviceCatalog.instance()
    if not catalog.loaded:
        with qtbot.waitSignal(catalog.ready, timeout=RUN_TIMEOUT):
            pass
    combo = panel.device_combo
    values = [combo.itemData(i) for i in range(combo.count())]
    assert values[:2] == ["auto", "cpu"]
    cpu_label = combo.itemText(1)
    assert cpu_label.startswith("CPU (") and "thread" in cpu_label
    import torch

    assert any(v.startswith("cuda") for v in values) == torch.cuda.is_available()
    combo.setCurrentIndex(1)
    combo.activated.emit(1)
    assert window.document.project.training["device"] == "cpu"


# ---- runs list and overlay ----------------------------------------------------------------------------------


def test_runs_are_listed_and_overlaid(win, qtbot):
    window = win
    open_template(window, "moons_mlp", epochs=2)
    session = window.training_session
    for _ in range(2):
        wait_end(qtbot, session, start(qtbot, window))
    first, second = session.runs
    assert window.dashboard.run is second
    panel = window.runs_panel
    assert panel.tree.topLevelItemCount() == 2
    assert panel.item_for(first).text(3) == "Adam 0.01" and panel.item_for(first).text(4) == "2/2"
    panel.set_checked(first, True)
    assert session.overlay == [first] and window.dashboard.overlay_runs == [first]
    panel.set_checked(second, True)
    assert window.dashboard.overlay_runs == [first]  # the shown run is never its own overlay
    # Double-click shows another run in the dashboard.
    panel._activate(panel.item_for(first))
    assert window.dashboard.run is first


def test_opening_another_project_stops_the_run(win, qtbot):
    window = win
    open_template(window, "moons_mlp", epochs=2000)
    session = window.training_session
    old = window.document
    start(qtbot, window)
    with qtbot.waitSignal(session.run_ended, timeout=RUN_TIMEOUT) as blocker:
        assert window.new_from_template("mlp_digits")
    assert isinstance(blocker.args[1], StoppedEvent)
    assert session.document is window.document and not window.document.read_only
    assert session.state == "idle"
    del old


# ---- the worker and the session without widgets ------------------------------------------------------------


def test_worker_batches_steps_and_joins(qtbot):
    from app.file_ops import new_from_template

    project = new_from_template("moons_mlp")
    project.training["epochs"] = 30
    worker = TrainingWorker(project)
    thread = QThread()
    worker.moveToThread(thread)
    thread.started.connect(worker.run)
    batches: list[list] = []
    epochs: list = []
    worker.steps.connect(batches.append)
    worker.epoch.connect(epochs.append)
    t0 = time.perf_counter()
    with qtbot.waitSignal(worker.ended, timeout=RUN_TIMEOUT) as blocker:
        thread.start()
    elapsed = time.perf_counter() - t0
    assert thread.wait(10_000)
    assert isinstance(blocker.args[0], FinishedEvent) and worker.result is blocker.args[0]
    steps = [s.step for batch in batches for s in batch]
    assert steps == list(range(1, 30 * 13 + 1))  # every step, in order, once
    # At most ~10 batches a second, plus the flushes before other events (epochs, probes, the end).
    assert len(batches) <= elapsed / STEP_INTERVAL_S + len(epochs) + 30 * 13 // 50 + 3
    assert len(batches) < len(steps) / 3
    assert worker.thread() is QThread.currentThread()  # handed back to the GUI thread at the end


def test_worker_reports_a_bad_setting_as_a_failed_run(qtbot):
    from app.file_ops import new_from_template

    project = new_from_template("moons_mlp")
    project.training["epochs"] = "many"
    worker = TrainingWorker(project)
    thread = QThread()
    worker.moveToThread(thread)
    thread.started.connect(worker.run)
    with qtbot.waitSignal(worker.failed, timeout=RUN_TIMEOUT) as blocker:
        thread.start()
    assert thread.wait(10_000)
    event = blocker.args[0]
    assert event.kind == "config" and "epochs" in event.message


def test_overfitting_warning():
    history = [{"epoch": i + 1, "train_loss": 1.0 - 0.1 * i, "val_loss": v}
               for i, v in enumerate([0.9, 0.7, 0.6, 0.65, 0.7, 0.8])]
    assert overfitting_streak(history) == 3
    message = overfitting_message(history)
    assert "3 epochs" in message and "epoch 3" in message
    assert overfitting_message(history[:5]) == ""  # only 2 epochs so far
    history.append({"epoch": 7, "train_loss": 0.5, "val_loss": 0.5})
    assert overfitting_streak(history) == 0
    assert overfitting_streak([{"train_loss": 1.0, "val_loss": None}] * 4) == 0


def test_overfitting_warning_shows_in_the_panel(win, qtbot):
    window = win
    panel = open_template(window, "moons_mlp", epochs=2)
    session = window.training_session
    run = start(qtbot, window)
    wait_end(qtbot, session, run)
    meta = session.meta(run)
    session._current = meta  # replay epochs as if the run were still going
    for i, v in enumerate([0.9, 0.7, 0.6, 0.65, 0.7, 0.8]):
        session._on_epoch(meta, EpochEvent({"epoch": 10 + i, "train_loss": 1.0 - 0.1 * i, "val_loss": v}))
    session._epoch_timer.stop()
    session._epochs_settled()  # what the 250 ms timer does
    session._current = None
    assert panel.warning_label.isVisibleTo(panel) and "Overfitting" in panel.warning_label.text()


def test_canvas_stats_text():
    stats = LayerStats("act1", "ReLU", (64, 16), 0.2, 0.5, 0.0, 2.0, np.zeros(4, np.int64),
                       np.linspace(0, 1, 5, dtype=np.float32), dead_fraction=0.125, grad_norm=None)
    assert stats_line(stats) == "dead 12%"
    stats.grad_norm = 0.03125
    assert stats_line(stats) == "dead 12% · ∇ 0.031"
    stats.mean = float("nan")
    assert "non-finite" in stats_line(stats)
    assert short_number(12345.0) == "1.2e+04" and short_number(0.0) == "0"


def test_training_actions_and_menu(win, qtbot):
    window = win
    a = window.actions_by_name
    assert not a["train_start"].isEnabled()  # the welcome page
    open_template(window, "moons_mlp", epochs=2)
    assert a["train_start"].isEnabled() and not a["train_stop"].isEnabled()
    keys = [k.toString() for k in a["train_start"].shortcuts()]
    assert keys == ["Ctrl+R", "F5"]
    with qtbot.waitSignal(window.training_session.run_ended, timeout=RUN_TIMEOUT):
        a["train_start"].trigger()
        assert a["train_stop"].isEnabled() and a["train_pause"].isEnabled()
    assert a["train_start"].isEnabled()
    titles = [m.title() for m in (x.menu() for x in window.menuBar().actions()) if m]
    assert "&Train" in titles


def test_document_path_is_the_base_for_relative_dataset_files(win, qtbot, tmp_path):
    """A run of a saved project finds a CSV next to it by a relative path."""
    window = win
    open_template(window, "mlp_diabetes", epochs=1)
    csv = tmp_path / "table.csv"
    rng = np.random.default_rng(0)
    rows = ["a,b,c,d,e,f,g,h,i,j,target"] + [",".join(f"{v:.3f}" for v in rng.normal(size=11)) for _ in range(60)]
    csv.write_text("\n".join(rows) + "\n", encoding="utf-8")
    window.ask_save_path = lambda suggested: tmp_path / "diabetes.layerloom.json"
    assert window.save_as()
    panel = window.training_panel
    panel.ask_dataset_path = lambda info: "table.csv"
    combo = panel.dataset_combo
    combo.setCurrentIndex(combo.findData("csv"))
    combo.activated.emit(combo.currentIndex())
    assert window.document.project.training["dataset"]["path"] == "table.csv"
    event = wait_end(qtbot, window.training_session, start(qtbot, window))
    assert isinstance(event, FinishedEvent), getattr(event, "message", "")
    assert Path(window.document.path).parent == tmp_path
