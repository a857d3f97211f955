"""The live training plots and their data, fed by REAL short training runs (graph_engine's Trainer, run
synchronously on the CPU, its events recorded): moons_mlp (2-D points: decision boundary), cnn_digits (feature
maps, a 10-class confusion matrix), mlp_diabetes (regression metrics), mlp_digits with an absurd learning rate
(a failed run). Events are replayed into RunData in batches, the way the worker delivers them, and the plots
are checked through their pyqtgraph items: curve lengths grow, images have the right shapes, the confusion
matrix counts the validation set. Also: buffers double and keep their order, overlays draw one curve per run,
select_layer switches the histogram view, hidden panels do not refresh, updates are coalesced."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PySide6.QtGui import QColor, QPalette

from app.training.plots import TrainingDashboard
from app.training.plots.activation_histograms import BINS, uniform_columns
from app.training.plots.demo import record_run
from app.training.plots.feature_maps import grid_shape, mosaic
from app.training.plots.panel import REFRESH_MS
from app.training.run_data import GrowingColumns, RunData, ema, rebin_histograms
from graph_engine.training.events import (
    FailedEvent,
    FinishedEvent,
    ProbeEvent,
    StartedEvent,
    StepEvent,
)

# A ceiling for waits on the GUI (a redraw turn, a run's next event): generous, because CI shares two cores
# with other work; a wait that passes returns as soon as its condition holds.
WAIT_MS = 20000
MOONS = {"epochs": 12, "probe_every": 5}
CNN = {"epochs": 3, "probe_every": 10}


class Recorder(RunData):
    """A RunData that also keeps every event it was given (to replay into fresh RunData in the tests)."""

    def __init__(self, name: str):
        super().__init__(name)
        self.events: list = []

    def add_event(self, event) -> None:
        self.events.append(event)
        super().add_event(event)

    def add_steps(self, events) -> None:
        events = list(events)
        self.events.append(events)
        super().add_steps(events)


def recorded(template: str, **overrides) -> Recorder:
    run = Recorder(template)
    result = record_run(template, run, **overrides)
    assert result.ok, result
    return run


@pytest.fixture(scope="module")
def moons(qapp) -> Recorder:
    return recorded("moons_mlp", **MOONS)


@pytest.fixture(scope="module")
def cnn(qapp) -> Recorder:
    return recorded("cnn_digits", **CNN)


def replay(source: Recorder, name: str | None = None) -> tuple[RunData, list]:
    """A fresh RunData with the source's config, and the source's events to feed into it."""
    run = RunData(name or source.name, config=source.config)
    return run, list(source.events)


def feed(run: RunData, events: list) -> None:
    for event in events:
        if isinstance(event, list):
            run.add_steps(event)
        else:
            run.add_event(event)


def curve_len(curve) -> int:
    x, _ = curve.getData()
    return 0 if x is None else len(x)


def settle(qtbot, dashboard: TrainingDashboard) -> None:
    """Wait until no visible panel has a redraw pending (they take turns: app/training/plots/refresh.py)."""
    qtbot.waitUntil(lambda: not any(p.dirty and p.isVisible() for p in dashboard.panels.values()), timeout=WAIT_MS)


def make_dashboard(qtbot, size=(1400, 860)) -> TrainingDashboard:
    dashboard = TrainingDashboard()
    qtbot.addWidget(dashboard)
    dashboard.resize(*size)
    dashboard.show()
    qtbot.waitExposed(dashboard)
    return dashboard


# ---- RunData ---------------------------------------------------------------------------------------------


def test_growing_columns_double_when_full_and_keep_order():
    buf = GrowingColumns(("step", "loss"), capacity=4)
    capacities = []
    old_view = None
    for start in range(0, 1000, 7):
        values = np.arange(start, min(start + 7, 1000), dtype=np.float64)
        buf.append(step=values, loss=values * 2)
        capacities.append(buf.capacity)
        if start == 0:
            old_view = buf.column("step")
    assert len(buf) == 1000
    assert np.array_equal(buf.column("step"), np.arange(1000))
    assert np.array_equal(buf.column("loss"), 2 * np.arange(1000))
    assert buf.capacity == 1024  # 4 doubled eight times
    assert sorted(set(capacities)) == [8, 16, 32, 64, 128, 256, 512, 1024]
    assert np.array_equal(old_view, np.arange(7))  # a view handed out before a doubling stays valid
    with pytest.raises(KeyError):
        buf.append(step=1.0)
    with pytest.raises(ValueError):
        buf.append(step=[1.0, 2.0], loss=[1.0])


def test_ema_is_debiased_and_continues_across_batches():
    values = np.array([4.0, 2.0, 3.0, math.nan, 1.0, 5.0])
    whole, _ = ema(values, 0.9)
    first, state = ema(values[:3], 0.9)
    rest, _ = ema(values[3:], 0.9, state)
    assert np.allclose(np.concatenate([first, rest]), whole)
    assert whole[0] == pytest.approx(4.0)  # debiased: starts at the first value, not at 0
    assert whole[3] == whole[2]  # a non-finite loss repeats the previous smoothed value
    avg, count, expected = 0.0, 0, []
    for v in (4.0, 2.0, 3.0, 1.0, 5.0):
        avg = 0.9 * avg + 0.1 * v
        count += 1
        expected.append(avg / (1 - 0.9 ** count))
    assert np.allclose(whole[[0, 1, 2, 4, 5]], expected)


def test_run_data_holds_a_real_moons_run(moons):
    started = next(e for e in moons.events if isinstance(e, StartedEvent))
    steps = MOONS["epochs"] * started.steps_per_epoch
    assert moons.status == "finished" and moons.task == "classification"
    assert moons.class_names == ("upper moon", "lower moon")
    assert len(moons.steps) == steps and moons.last_step == steps
    assert np.array_equal(moons.steps.column("step"), np.arange(1, steps + 1))
    assert moons.steps.column("x")[-1] == pytest.approx(MOONS["epochs"])  # x in epochs
    assert moons.steps.capacity >= steps and moons.steps.capacity & (moons.steps.capacity - 1) == 0
    assert np.isfinite(moons.steps.column("smoothed")).all()
    assert np.array_equal(moons.epoch_values("epoch"), np.arange(1, MOONS["epochs"] + 1))
    assert np.isfinite(moons.epoch_values("val_accuracy")).all()
    probes = [e for e in moons.events if isinstance(e, ProbeEvent)]
    every = MOONS["probe_every"]
    assert steps % every  # so the run ends between two probes ...
    assert moons.probe_count == len(probes) == 1 + steps // every + 1  # ... and gets one more at its end
    assert probes[-1].step == steps
    assert list(moons.layers) == list(probes[0].layers)  # execution order
    fc1 = moons.layers["fc1"]
    assert fc1.has_params and len(fc1.series) == len(probes) and len(fc1.hist_counts) == len(probes)
    assert not moons.layers["act1"].has_params
    assert moons.latest_probe is probes[-1] and moons.latest_probe.decision_boundary is not None
    matrix = moons.confusion_matrix
    assert matrix.shape == (2, 2) and matrix.sum() == started.n_val
    assert moons.best["monitor"] == "val_loss"


def test_steps_get_epoch_positions_without_a_started_event(moons):
    run = RunData("no start")
    steps = [e for batch in moons.events if isinstance(batch, list) for e in batch]
    per_epoch = next(e for e in moons.events if isinstance(e, StartedEvent)).steps_per_epoch
    run.add_steps(steps[:5])
    assert run.steps.column("x")[-1] == pytest.approx(1.0)  # first epoch, length unknown: spans 0..1 so far
    run.add_steps(steps[5:])
    assert run.steps_per_epoch == per_epoch
    assert np.allclose(run.steps.column("x"), run.steps.column("step") / per_epoch)


def test_histories_are_bounded_and_histograms_rebin_to_common_bins(moons):
    probes = [e for e in moons.events if isinstance(e, ProbeEvent)]
    run = RunData("bounded", max_histograms=8)
    for probe in probes:
        run.add_probe(probe)
    fc1 = run.layers["fc1"]
    assert len(fc1.series) == len(probes)  # the scalar series keep every probe
    assert 4 <= len(fc1.hist_steps) <= 8  # the histograms are thinned...
    assert fc1.hist_steps[0] == probes[0].step and fc1.hist_steps[-1] == probes[-1].step  # ...over the whole run
    assert fc1.hist_steps == sorted(fc1.hist_steps)
    stats = [p.layers["fc1"] for p in probes]
    low = min(float(s.bin_edges[0]) for s in stats)
    high = max(float(s.bin_edges[-1]) for s in stats)
    image = rebin_histograms([s.histogram for s in stats], [s.bin_edges for s in stats], low, high, 40)
    assert image.shape == (len(stats), 40)
    assert np.allclose(image.sum(axis=1), 1.0, atol=1e-5)  # the full range keeps every value
    grid = np.linspace(low, high, 41)
    for row, s in zip(image, stats, strict=True):  # same as interpolating each cumulative count on its own
        cdf = np.concatenate(([0.0], np.cumsum(s.histogram)))
        expected = np.diff(np.interp(grid, s.bin_edges.astype(np.float64), cdf)) / s.histogram.sum()
        assert np.allclose(row, expected, atol=1e-6)
    fractions, steps, lo, hi = fc1.histogram_image(BINS)
    assert fc1.histogram_image(BINS)[0] is fractions  # cached until the next probe
    assert fractions.shape == (len(fc1.hist_steps), BINS) and low <= lo < hi <= high
    assert (fractions.sum(axis=1) > 0.95).all()  # the coverage range drops only the far tails


# ---- the dashboard, fed live -----------------------------------------------------------------------------


def test_every_moons_plot_receives_data_as_the_run_goes(qtbot, moons):
    dashboard = make_dashboard(qtbot)
    run, events = replay(moons)
    dashboard.set_run(run)
    loss = dashboard.loss_plot
    lengths = []
    for event in events:
        feed(run, [event])
        if isinstance(event, list) and len(lengths) < 3:  # watch the first few batches arrive
            with qtbot.waitSignal(loss.refreshed, timeout=WAIT_MS):
                pass
            lengths.append(curve_len(loss.raw_curve))
    assert lengths == sorted(lengths) and lengths[0] < lengths[-1]  # the curve grows batch by batch
    qtbot.wait(REFRESH_MS + 50)
    dashboard.flush()
    n_steps = len(run.steps)
    n_epochs = MOONS["epochs"]
    assert curve_len(loss.raw_curve) == curve_len(loss.smooth_curve) == n_steps
    assert curve_len(loss.val_curve) == n_epochs
    x, y = loss.smooth_curve.getData()
    assert x[-1] == pytest.approx(n_epochs) and np.isfinite(y).all()
    metric = dashboard.metric_plot
    assert metric.mode == "classification"
    assert curve_len(metric.train_curve) == curve_len(metric.val_curve) == n_epochs
    assert 0 < metric.val_curve.getData()[1].max() <= 100  # percent
    assert curve_len(dashboard.lr_plot.curve) == n_steps
    hist = dashboard.activation_histograms
    assert hist.shown_layer == "fc1" and not hist.showing_placeholder
    assert hist.image_shape == (len(run.layers["fc1"].hist_steps), BINS)
    assert curve_len(hist.mean_curve) == run.probe_count
    grads = dashboard.gradient_norms
    assert set(grads.curves) == {"fc1", "fc2", "fc3"}  # layers with parameters only
    assert all(curve_len(c) == run.probe_count for c in grads.curves.values())
    boundary = dashboard.decision_boundary
    assert dashboard.network_view.currentWidget() is boundary and boundary.isVisible()
    assert boundary.image_shape == (60, 60) and boundary.image.image.shape == (60, 60, 4)
    assert len(boundary.scatter.data) == len(run.latest_probe.decision_boundary.points)
    assert len(boundary.contours) == 1 and boundary.contours[0].isVisible()
    assert dashboard.feature_maps.showing_placeholder  # an MLP on points: no conv layer
    assert "Conv2d" in dashboard.feature_maps.placeholder.text()
    cm = dashboard.confusion_matrix
    assert cm.matrix is not None and cm.matrix.sum() == run.started.n_val
    assert [label.toPlainText() for label in cm.cell_labels[::3]] == [str(cm.matrix[0, 0]), str(cm.matrix[1, 1])]
    assert "Finished" in dashboard.summary.text() and "moons_mlp" in dashboard.summary.text()


def test_cnn_digits_shows_feature_maps_and_a_ten_class_confusion_matrix(qtbot, cnn):
    dashboard = make_dashboard(qtbot)
    run, events = replay(cnn)
    dashboard.set_run(run)
    feed(run, events)
    qtbot.waitUntil(lambda: not dashboard.feature_maps.dirty, timeout=WAIT_MS)
    dashboard.flush()
    maps = dashboard.feature_maps
    assert dashboard.network_view.currentWidget() is maps
    fm = run.latest_probe.feature_maps
    assert fm.node_id == "conv1" and maps.maps_shape == fm.maps.shape == (16, 8, 8)
    rows, cols = grid_shape(16)
    assert maps.maps_item.image.shape == (rows * 9 - 1, cols * 9 - 1, 4)  # 8x8 tiles, 1-pixel gaps
    assert maps.sample_item.image.shape == (8, 8, 4)
    assert "conv1" in maps.maps_label.toPlainText()
    assert dashboard.decision_boundary.showing_placeholder  # images, not 2-D points
    cm = dashboard.confusion_matrix
    n_val = run.started.n_val
    assert cm.matrix.shape == (10, 10) and cm.matrix.sum() == n_val
    assert cm.image.image.shape == (10, 10, 4) and len(cm.cell_labels) == 100
    ticks = cm.plot_item.getAxis("bottom")._tickLevels[0]
    assert [name for _, name in ticks] == list(run.class_names)
    grads = dashboard.gradient_norms
    assert list(grads.curves) == ["conv1", "bn1", "conv2", "bn2", "fc1", "fc2"]
    dashboard.select_layer("act1")  # a ReLU: its dead fraction is shown
    hist = dashboard.activation_histograms
    qtbot.waitUntil(lambda: hist.shown_layer == "act1", timeout=WAIT_MS)
    assert "dead" in hist.subtitle_label.full_text()


def test_mosaic_scales_each_map_and_leaves_gaps_transparent():
    maps = np.stack([np.full((3, 3), -2.0), np.full((3, 3), 5.0), np.zeros((3, 3))]).astype(np.float32)
    lut = np.zeros((256, 4), np.uint8)
    lut[:, 0] = np.arange(256)
    lut[:, 3] = 255
    tiles = mosaic(maps, lut)
    assert tiles.shape == (7, 7, 4)  # 2x2 grid of 3x3 tiles with a 1-pixel gap
    assert tiles[0, 0, 0] == 0 and tiles[0, 4, 0] == 255 and tiles[4, 0, 0] in (127, 128)
    assert tiles[3, :, 3].max() == 0 and tiles[:, 3, 3].max() == 0  # gaps


def test_regression_run_shows_mae_and_r2_and_no_confusion_matrix(qtbot):
    run = recorded("mlp_diabetes", epochs=3, probe_every=10)
    dashboard = make_dashboard(qtbot)
    dashboard.set_run(run)
    qtbot.wait(REFRESH_MS + 50)
    dashboard.flush()
    metric = dashboard.metric_plot
    assert metric.mode == "regression" and metric.title_label.text() == "Regression metrics"
    assert curve_len(metric.val_curve) == curve_len(metric.r2_curve) == 3
    assert metric.r2_view.isVisible() and not metric.train_curve.isVisible()
    assert metric.r2_curve.getData()[1][-1] == pytest.approx(run.records[-1]["val_r2"])
    assert "R²" in metric.legend_label.text() and metric.legend_label.isVisible() and not metric.legend.isVisible()
    assert dashboard.confusion_matrix.showing_placeholder
    assert "classification" in dashboard.confusion_matrix.placeholder.text()
    assert dashboard.decision_boundary.showing_placeholder
    dashboard.set_run(recorded("moons_mlp", epochs=2, probe_every=0))  # back to classification
    qtbot.wait(REFRESH_MS + 50)
    dashboard.flush()
    assert metric.mode == "classification" and not metric.legend_label.isVisible() and metric.legend.isVisible()
    assert [label.text for _, label in metric.legend.items] == ["training", "validation"]


def test_a_failed_run_says_why(qtbot):
    run = RunData("absurd lr")
    result = record_run("mlp_digits", run, epochs=2, optimizer={"name": "Adam", "lr": 1e6})
    assert isinstance(result, FailedEvent) and run.status == "failed" and run.failure is result
    dashboard = make_dashboard(qtbot)
    dashboard.set_run(run)
    qtbot.wait(REFRESH_MS + 50)
    dashboard.flush()
    assert result.message.split(":")[0] in dashboard.summary.text() or "Failed" in dashboard.summary.text()
    assert "Failed" in dashboard.summary.text()
    assert dashboard.confusion_matrix.showing_placeholder
    assert "failed" in dashboard.confusion_matrix.placeholder.text()


# ---- overlays, layer selection, refresh discipline ---------------------------------------------------------


def test_overlay_draws_one_curve_per_run_in_its_own_colour(qtbot, moons):
    dashboard = make_dashboard(qtbot)
    runs = []
    for lr in (0.01, 0.003, 0.03):
        run = recorded("moons_mlp", epochs=4, probe_every=0, optimizer={"name": "Adam", "lr": lr})
        run.name = f"lr {lr}"
        runs.append(run)
    dashboard.set_run(runs[0])
    dashboard.set_overlay_runs(runs)  # the current run in the list is left out
    qtbot.wait(REFRESH_MS + 50)
    dashboard.flush()
    loss = dashboard.loss_plot
    assert loss.overlay_runs == runs[1:]
    visible = [(t, v) for t, v in loss.overlay_curves if t.isVisible()]
    assert len(visible) == 2
    for run, (train, val) in zip(runs[1:], visible, strict=True):
        assert curve_len(train) == len(run.steps) and curve_len(val) == 4
    colors = {loss.smooth_curve.opts["pen"].color().name()} | {t.opts["pen"].color().name() for t, _ in visible}
    assert len(colors) == 3
    legend = [label.text for _, label in loss.legend.items]
    assert legend == ["lr 0.01", "lr 0.003", "lr 0.03"]
    assert "dashed: validation" in loss.legend_label.text() and loss.legend_label.isVisible()
    metric = dashboard.metric_plot
    assert sum(t.isVisible() for t, _, _ in metric.overlay_curves) == 2
    made = list(loss.overlay_curves)
    dashboard.set_overlay_runs(runs[:2])
    dashboard.flush()
    assert [t.isVisible() for t, _ in loss.overlay_curves] == [True, False]
    assert loss.overlay_curves == made  # reused, not rebuilt
    dashboard.set_overlay_runs([])
    dashboard.flush()
    assert not any(t.isVisible() for t, _ in loss.overlay_curves)
    assert not loss.legend_label.isVisible()
    assert [label.text for _, label in loss.legend.items] == ["training (per step)", "training (smoothed)",
                                                               "validation"]


def test_select_layer_switches_the_histogram_and_gradient_views(qtbot, moons):
    dashboard = make_dashboard(qtbot)
    dashboard.set_run(moons)
    qtbot.wait(REFRESH_MS + 50)
    dashboard.flush()
    hist = dashboard.activation_histograms
    assert hist.shown_layer == "fc1"
    first = hist.image.image.copy()
    dashboard.select_layer("act2")
    qtbot.waitUntil(lambda: hist.shown_layer == "act2", timeout=WAIT_MS)
    assert hist.layer_combo.currentText() == "act2"
    assert "Tanh" in hist.subtitle_label.full_text()
    assert not np.array_equal(first, hist.image.image)
    assert np.allclose(hist.mean_curve.getData()[1], moons.layers["act2"].series.column("mean"))
    dashboard.select_layer("fc2")
    qtbot.waitUntil(lambda: hist.shown_layer == "fc2", timeout=WAIT_MS)
    dashboard.flush()  # the panels take turns to redraw (refresh.py): the gradient norms' may come later
    grads = dashboard.gradient_norms
    widths = {node: curve.opts["pen"].widthF() for node, curve in grads.curves.items()}
    assert widths["fc2"] > widths["fc1"] and widths["fc2"] > widths["fc3"]
    assert grads.curves["fc2"].zValue() > grads.curves["fc1"].zValue()
    assert grads.subtitle_label.full_text().startswith("fc2: grad")
    dashboard.select_layer("act1")  # no parameters: no gradient line stands out
    qtbot.waitUntil(lambda: hist.shown_layer == "act1", timeout=WAIT_MS)
    dashboard.flush()
    assert len({curve.opts["pen"].widthF() for curve in grads.curves.values()}) == 1
    assert grads.subtitle_label.full_text() == "act1 has no parameters"
    dashboard.select_layer("input")  # a node that is not probed
    qtbot.waitUntil(lambda: hist.showing_placeholder, timeout=WAIT_MS)
    assert "input" in hist.placeholder.text()
    hist.layer_combo.setCurrentIndex(0)
    hist.layer_combo.activated.emit(0)  # picking in the panel's own list selects everywhere
    assert dashboard.layer_id == "fc1" and grads.layer_id == "fc1"
    grads.legend_label.linkActivated.emit("fc3")  # so does clicking a name in the gradient legend
    assert dashboard.layer_id == "fc3" and hist.layer_id == "fc3"


def test_hidden_panels_do_not_refresh_until_shown(qtbot, moons):
    dashboard = TrainingDashboard()
    qtbot.addWidget(dashboard)
    dashboard.resize(1200, 800)
    run, events = replay(moons)
    dashboard.set_run(run)
    feed(run, events)
    qtbot.wait(3 * REFRESH_MS)
    assert all(p.refresh_count == 0 and p.dirty for p in dashboard.panels.values())
    dashboard.show()
    qtbot.waitUntil(lambda: dashboard.loss_plot.refresh_count == 1, timeout=WAIT_MS)
    assert curve_len(dashboard.loss_plot.raw_curve) == len(run.steps)
    # A panel hidden inside a shown dashboard (the network view shows one of its two) stays dirty too.
    settle(qtbot, dashboard)
    assert dashboard.feature_maps.refresh_count == 0 and dashboard.feature_maps.dirty
    assert dashboard.metric_plot.refresh_count == 1
    dashboard.loss_plot.hide()
    before = dashboard.loss_plot.refresh_count
    run.add_epoch(dict(run.records[-1], epoch=run.current_epoch + 1))
    qtbot.waitUntil(lambda: dashboard.metric_plot.refresh_count >= 2, timeout=WAIT_MS)  # visible: refreshed
    settle(qtbot, dashboard)
    assert dashboard.loss_plot.refresh_count == before and dashboard.loss_plot.dirty
    dashboard.loss_plot.show()
    qtbot.waitUntil(lambda: not dashboard.loss_plot.dirty, timeout=WAIT_MS)
    assert curve_len(dashboard.loss_plot.val_curve) == len(run.records)


def test_a_burst_of_updates_costs_one_refresh(qtbot, moons):
    dashboard = make_dashboard(qtbot)
    run, events = replay(moons)
    dashboard.set_run(run)
    settle(qtbot, dashboard)
    counts = {name: p.refresh_count for name, p in dashboard.panels.items()}
    steps = [e for batch in events if isinstance(batch, list) for e in batch]
    for step in steps:  # one signal per step: the worst a feeder could do
        run.add_steps([step])
    with qtbot.waitSignal(dashboard.loss_plot.refreshed, timeout=WAIT_MS):
        pass
    settle(qtbot, dashboard)
    assert dashboard.loss_plot.refresh_count - counts["loss"] == 1
    assert dashboard.lr_plot.refresh_count - counts["lr"] == 1
    assert dashboard.confusion_matrix.refresh_count == counts["confusion_matrix"]  # no status change: untouched
    assert curve_len(dashboard.loss_plot.raw_curve) == len(steps)


def test_items_are_made_once_and_updated_in_place(qtbot, moons):
    dashboard = make_dashboard(qtbot)
    run, events = replay(moons)
    dashboard.set_run(run)
    half = len(events) // 2
    feed(run, events[:half])
    qtbot.wait(REFRESH_MS + 50)
    dashboard.flush()
    # (The confusion matrix makes its cell labels when the run ends, once per class count: not yet here.)
    plotted = {name: p for name, p in dashboard.panels.items() if hasattr(p, "plot_item") and name != "confusion_matrix"}
    items = {name: list(p.plot_item.items) for name, p in plotted.items()}
    curves = (dashboard.loss_plot.raw_curve, dashboard.gradient_norms.curves["fc1"], dashboard.decision_boundary.image)
    feed(run, events[half:])
    qtbot.wait(REFRESH_MS + 50)
    dashboard.flush()
    assert {name: list(p.plot_item.items) for name, p in plotted.items()} == items
    labels = list(dashboard.confusion_matrix.cell_labels)
    run.set_finished(run.finished)  # a second end: the cell labels are reused
    qtbot.wait(REFRESH_MS + 50)
    dashboard.flush()
    assert dashboard.confusion_matrix.cell_labels == labels and len(labels) == 4
    assert curves == (dashboard.loss_plot.raw_curve, dashboard.gradient_norms.curves["fc1"],
                      dashboard.decision_boundary.image)
    item = dashboard.loss_plot.plot_item
    assert item.ctrl.downsampleCheck.isChecked() and item.ctrl.peakRadio.isChecked()
    assert item.ctrl.clipToViewCheck.isChecked()


def test_uniform_columns_hold_the_latest_probe():
    xs = np.array([0.1, 1.0, 2.0, 3.0])
    idx, start, end = uniform_columns(xs, 1.0, 4)
    assert (start, end) == (0.1, 4.0)
    assert list(idx) == [0, 1, 2, 3]
    idx, _, _ = uniform_columns(xs, 1.0, 8)
    assert list(idx) == sorted(idx) and idx[0] == 0 and idx[-1] == 3


def test_placeholders_before_any_data_and_with_probes_off(qtbot):
    dashboard = make_dashboard(qtbot)
    dashboard.flush()
    assert all(p.showing_placeholder for p in dashboard.panels.values())
    run = RunData("no probes", config={"probe_every": 0, "epochs": 2})
    dashboard.set_run(run)
    run.set_started(StartedEvent(epochs=2, start_epoch=0, steps_per_epoch=3, n_train=10, n_val=4, batch_size=4,
                                 task="classification", loss="CrossEntropyLoss", device="cpu", device_name="CPU",
                                 mixed_precision=False, threads=1, dataset="moons", num_classes=2))
    run.add_steps([StepEvent(i, 1, 1.0 / i, 0.01) for i in range(1, 4)])
    qtbot.wait(REFRESH_MS + 50)
    dashboard.flush()
    assert not dashboard.loss_plot.showing_placeholder
    for panel in (dashboard.activation_histograms, dashboard.gradient_norms):
        assert panel.showing_placeholder and "probe_every = 0" in panel.placeholder.text()
    assert "appears when the run finishes" in dashboard.confusion_matrix.placeholder.text()
    run.set_finished(FinishedEvent(history=[], best=None))
    dashboard.set_run(None)
    dashboard.flush()
    assert all(p.showing_placeholder for p in dashboard.panels.values())


def test_panels_follow_a_switch_to_a_dark_palette(qtbot, cnn):
    dashboard = make_dashboard(qtbot)
    dashboard.set_run(cnn)
    qtbot.wait(REFRESH_MS + 50)
    dashboard.flush()
    light = dashboard.confusion_matrix.image.image.copy()
    palette = QPalette(dashboard.palette())
    for role, color in ((QPalette.ColorRole.Window, "#25282d"), (QPalette.ColorRole.Base, "#1c1e22"),
                        (QPalette.ColorRole.Text, "#e3e6ea"), (QPalette.ColorRole.WindowText, "#e3e6ea")):
        palette.setColor(role, QColor(color))
    dashboard.setPalette(palette)
    qtbot.waitUntil(lambda: dashboard.confusion_matrix.colors.dark, timeout=WAIT_MS)
    qtbot.wait(REFRESH_MS + 50)
    dashboard.flush()
    assert all(p.colors.dark for p in dashboard.panels.values())
    assert dashboard.loss_plot.plot_widget.backgroundBrush().color().name() == "#1c1e22"
    assert not np.array_equal(light, dashboard.confusion_matrix.image.image)  # empty cells are the new background


def test_the_dashboard_flows_its_panels_over_four_three_or_two_columns(qtbot, cnn):
    dashboard = make_dashboard(qtbot, size=(1400, 860))
    dashboard.set_run(cnn)
    assert dashboard.columns == 4
    dashboard.resize(800, 820)  # the Train perspective at 1400x900
    qtbot.waitUntil(lambda: dashboard.columns == 3, timeout=WAIT_MS)
    qtbot.wait(REFRESH_MS + 50)
    loss, metric, lr = (dashboard.loss_plot.geometry(), dashboard.metric_view.geometry(),  # its cell (GAN: a stack)
                        dashboard.lr_plot.geometry())
    assert loss.width() > 1.8 * metric.width() and metric.top() == loss.top()  # the loss spans two columns
    assert lr.top() > loss.bottom()
    heights = [dashboard.grid.cellRect(row, 0).height() for row in range(3)]
    assert min(heights) > 200  # three rows, each its share
    dashboard.resize(560, 1200)
    qtbot.waitUntil(lambda: dashboard.columns == 2, timeout=WAIT_MS)
    qtbot.wait(REFRESH_MS + 50)
    loss, metric, lr = (dashboard.loss_plot.geometry(), dashboard.metric_view.geometry(),  # its cell (GAN: a stack)
                        dashboard.lr_plot.geometry())
    assert loss.width() >= metric.width() + lr.width()  # the loss spans both columns
    assert metric.top() > loss.bottom() and lr.top() == metric.top() and lr.left() > metric.right()
    heights = [dashboard.grid.cellRect(row, 0).height() for row in range(4)]
    assert min(heights) > 150  # every row gets its share, not just the ones whose labels wrap
    dashboard.resize(1400, 860)
    qtbot.waitUntil(lambda: dashboard.columns == 4, timeout=WAIT_MS)


def test_flow_cells_fill_each_row():
    from app.training.plots.dashboard import flow_cells

    assert flow_cells([2, 1, 1, 1, 1, 1, 1], 4) == [(0, 0, 2), (0, 2, 1), (0, 3, 1), (1, 0, 1), (1, 1, 1),
                                                    (1, 2, 1), (1, 3, 1)]
    assert flow_cells([2, 1, 1, 1, 1, 1, 1], 3) == [(0, 0, 2), (0, 2, 1), (1, 0, 1), (1, 1, 1), (1, 2, 1),
                                                    (2, 0, 1), (2, 1, 2)]
    assert flow_cells([2, 1, 2], 2) == [(0, 0, 2), (1, 0, 2), (2, 0, 2)]  # a lone cell takes the whole row


def test_density_levels_keep_the_tails_of_a_spiky_histogram_visible():
    from app.training.plots.activation_histograms import density_levels

    fractions = np.array([[0.5, 0.02, 0.0, 0.48]], dtype=np.float32)  # a ReLU: half the values at 0
    levels = density_levels(fractions)
    assert levels[0, 0] == pytest.approx(1.0) and levels[0, 2] == 0.0
    assert 0.4 < levels[0, 1] < 0.6  # 2 % of the values: still about half strength
    assert np.array_equal(density_levels(np.zeros((2, 3), np.float32)), np.zeros((2, 3)))


def test_a_run_deleted_by_the_runs_list_leaves_the_dashboard(qtbot, qapp, moons):
    from PySide6.QtCore import QEvent

    dashboard = make_dashboard(qtbot)
    shown, overlaid, kept = RunData("shown"), RunData("overlaid"), replay(moons, "kept")[0]
    dashboard.set_run(shown)
    dashboard.set_overlay_runs([overlaid, kept])
    shown.deleteLater()
    overlaid.deleteLater()
    qapp.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
    qtbot.waitUntil(lambda: dashboard.run is None and dashboard.overlay_runs == [kept], timeout=WAIT_MS)
    assert dashboard.loss_plot.run is None and dashboard.loss_plot.overlay_runs == [kept]
    dashboard.set_run(kept)  # no "Signal source has been deleted"
    assert dashboard.overlay_runs == []
