"""The dashboard of a GAN run, fed by a REAL short run of the gan_digits template (graph_engine's GanTrainer,
synchronous, CPU): the samples grid from fixed noise takes the network view and updates every epoch, the
losses and the discriminator's accuracy take the metric cell, and a collapse warning shows in red."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from app.training.plots import TrainingDashboard
from app.training.plots.demo import record_run
from app.training.plots.gan_samples import grid_qimage
from app.training.run_data import RunData
from graph_engine.training.events import EpochEvent

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "training_gan_digits.png"


class Recorder(RunData):
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


@pytest.fixture(scope="module")
def gan_run(qapp) -> Recorder:
    run = Recorder("gan_digits")
    result = record_run("gan_digits", run, epochs=3, batch_size=256, gan={"samples": 36})
    assert result.ok, result
    return run


def make_dashboard(qtbot, size=(1400, 860)) -> TrainingDashboard:
    dashboard = TrainingDashboard()
    qtbot.addWidget(dashboard)
    dashboard.resize(*size)
    dashboard.show()
    qtbot.waitExposed(dashboard)
    return dashboard


def test_the_samples_grid_and_the_gan_curves_follow_the_run(qtbot, gan_run):
    dashboard = make_dashboard(qtbot)
    run = RunData("gan", config=gan_run.config)
    dashboard.set_run(run)
    samples, losses = dashboard.gan_samples, dashboard.gan_losses
    images = []
    for event in gan_run.events:
        if isinstance(event, list):
            run.add_steps(event)
            continue
        run.add_event(event)
        if isinstance(event, EpochEvent):
            dashboard.flush()
            assert dashboard.network_view.currentWidget() is samples and samples.isVisible()
            assert dashboard.metric_view.currentWidget() is losses and losses.isVisible()
            assert not samples.showing_placeholder and not losses.showing_placeholder
            images.append(samples.image)
            assert samples.image.width() == samples.image.height() == 6 * 9 + 1  # 36 samples of 8x8, 1 px gaps
            assert not samples.image_label.pixmap().isNull()
    assert len(images) == 3 and images[0] != images[-1]  # the grid is redrawn from each epoch's samples
    x, y = losses.g_curve.xData, losses.g_curve.yData  # the data given (getData() is clipped to the view)
    assert list(x) == [1.0, 2.0, 3.0] and np.isfinite(y).all()
    assert list(losses.d_curve.yData) == [r["d_loss"] for r in run.records]
    assert list(losses.real_curve.yData) == [r["d_real_accuracy"] for r in run.records]
    assert list(losses.fake_curve.yData) == [r["d_fake_accuracy"] for r in run.records]
    assert not losses.warning_label.isVisible()
    assert losses.subtitle_label.full_text().startswith("G ")


def test_a_collapse_warning_shows_in_red(qtbot, gan_run):
    dashboard = make_dashboard(qtbot)
    run = RunData("collapsing", config=gan_run.config)
    dashboard.set_run(run)
    for event in gan_run.events:
        if isinstance(event, list):
            run.add_steps(event)
        else:
            run.add_event(event)
    last = next(e for e in reversed(gan_run.events) if isinstance(e, EpochEvent))
    text = "mode collapse: the samples vary 0.010, the real data 0.300; lower the learning rates"
    run.add_event(EpochEvent({**last.record, "epoch": last.record["epoch"] + 1, "warning": text}, last.samples))
    dashboard.flush()
    assert dashboard.gan_losses.warning_label.isVisible()
    assert "mode collapse" in dashboard.gan_losses.warning_label.text()


def test_a_classifier_run_keeps_the_usual_cells(qtbot):
    dashboard = make_dashboard(qtbot)
    run = RunData("moons")
    assert record_run("moons_mlp", run, epochs=1, probe_every=0).ok
    dashboard.set_run(run)
    dashboard.flush()
    assert dashboard.metric_view.currentWidget() is dashboard.metric_plot
    assert dashboard.network_view.currentWidget() is not dashboard.gan_samples


def test_the_grid_image_is_the_samples_pixels():
    samples = np.zeros((4, 1, 2, 2), dtype=np.float32)
    samples[3] = 1.0
    image = grid_qimage(samples)
    assert (image.width(), image.height()) == (2 * 3 + 1, 2 * 3 + 1)
    assert image.pixelColor(1, 1).value() == 0 and image.pixelColor(4, 4).value() == 255


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_gan_dashboard_screenshot(qtbot, tmp_path):
    """docs/screenshots/training_gan_digits.png is this picture (40 epochs); LAYERLOOM_SCREENSHOTS=1 writes it."""
    run = RunData("gan_digits")
    assert record_run("gan_digits", run, epochs=40).ok
    dashboard = make_dashboard(qtbot)
    dashboard.set_run(run)
    dashboard.flush()
    qtbot.wait(50)
    dashboard.flush()
    shot = SCREENSHOT if os.environ.get("LAYERLOOM_SCREENSHOTS") == "1" else tmp_path / SCREENSHOT.name
    assert dashboard.grab().save(str(shot))
    assert shot.stat().st_size > 10_000
