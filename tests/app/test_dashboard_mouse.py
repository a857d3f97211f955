"""The dashboard's plots and the mouse: the wheel scrolls the dashboard, Ctrl+wheel zooms a plot, a double-click
(or the "Reset view" button) resets it; and the confusion matrix's labels never overlap (10+ classes)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QImage, QPainter, QWheelEvent
from PySide6.QtWidgets import QApplication, QScrollArea

from app.training.plots import TrainingDashboard
from app.training.plots.demo import record_run
from app.training.run_data import RunData
from graph_engine.training.events import FinishedEvent


@pytest.fixture(scope="module")
def moons(qapp) -> RunData:
    run = RunData("moons")
    assert record_run("moons_mlp", run, epochs=6, probe_every=5).ok
    return run


def wheel(widget, modifiers=Qt.KeyboardModifier.NoModifier, delta=-120) -> None:
    center = QPointF(widget.width() / 2, widget.height() / 2)
    event = QWheelEvent(center, widget.mapToGlobal(center), QPoint(), QPoint(0, delta), Qt.MouseButton.NoButton,
                        modifiers, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def ranges(plot_widget) -> list[list[float]]:
    return [list(r) for r in plot_widget.getPlotItem().getViewBox().viewRange()]


def test_wheel_scrolls_ctrl_wheel_zooms_double_click_resets(qtbot, moons):
    dashboard = TrainingDashboard()
    dashboard.setMinimumHeight(1400)  # taller than the scroll area: there is something to scroll
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setWidget(dashboard)
    qtbot.addWidget(scroll)
    scroll.resize(1000, 600)
    scroll.show()
    qtbot.waitExposed(scroll)
    dashboard.set_run(moons)
    dashboard.flush()
    loss = dashboard.loss_plot
    viewport = loss.plot_widget.viewport()
    home = ranges(loss.plot_widget)
    bar = scroll.verticalScrollBar()
    assert bar.maximum() > 0 and bar.value() == 0

    wheel(viewport)
    assert bar.value() > 0  # the dashboard scrolled ...
    assert ranges(loss.plot_widget) == home  # ... and the plot did not zoom
    assert not loss.reset_button.isVisibleTo(loss)

    scrolled = bar.value()
    wheel(viewport, Qt.KeyboardModifier.ControlModifier, delta=120)
    zoomed = ranges(loss.plot_widget)
    assert zoomed != home and bar.value() == scrolled  # Ctrl+wheel zooms the plot, not the page
    assert (zoomed[0][1] - zoomed[0][0]) < (home[0][1] - home[0][0])
    assert loss.reset_button.isVisibleTo(loss)  # a visible way back

    qtbot.mouseDClick(viewport, Qt.MouseButton.LeftButton, pos=viewport.rect().center())
    assert ranges(loss.plot_widget)[0] == pytest.approx(home[0], rel=1e-3)
    assert not loss.reset_button.isVisibleTo(loss)

    wheel(viewport, Qt.KeyboardModifier.ControlModifier, delta=120)
    assert loss.reset_button.isVisibleTo(loss)
    qtbot.mouseClick(loss.reset_button, Qt.MouseButton.LeftButton)
    assert ranges(loss.plot_widget)[0] == pytest.approx(home[0], rel=1e-3)
    assert not loss.reset_button.isVisibleTo(loss)


CIFAR = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def finished_classification(names: tuple[str, ...], seed: int = 0) -> RunData:
    k = len(names)
    rng = np.random.default_rng(seed)
    matrix = rng.integers(0, 40, size=(k, k)) + np.diag(rng.integers(500, 1500, size=k))  # 4-digit diagonal
    run = RunData("cifar-like", task="classification")
    run.class_names, run.num_classes = names, k
    record = {"epoch": 1, "step": 10, "train_loss": 1.0, "val_loss": 1.0, "val_accuracy": 0.8}
    run.add_epoch(record)
    run.set_finished(FinishedEvent([record], None, False, "", matrix))
    return run


def text_rects(axis) -> list[QRectF]:
    """Where the axis draws its tick labels (pyqtgraph's own layout of them)."""
    image = QImage(10, 10, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    try:
        painter.setFont(axis.style["tickFont"] or axis.font())
        _, _, texts = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    return [rect for rect, _flags, text in texts if text]


def overlapping(rects: list[QRectF]) -> list[tuple[int, int]]:
    return [(i, j) for i in range(len(rects)) for j in range(i + 1, len(rects))
            if rects[i].adjusted(0.5, 0.5, -0.5, -0.5).intersects(rects[j].adjusted(0.5, 0.5, -0.5, -0.5))]


@pytest.mark.parametrize("names", [CIFAR, tuple(str(i) for i in range(10)),
                                   tuple(f"class number {i}" for i in range(16))])
@pytest.mark.parametrize("size", [(260, 250), (420, 380)])
def test_confusion_matrix_labels_never_overlap(qtbot, names, size):
    from app.training.plots.confusion_matrix import ConfusionMatrix

    panel = ConfusionMatrix()
    qtbot.addWidget(panel)
    panel.resize(*size)
    panel.show()
    qtbot.waitExposed(panel)
    panel.set_run(finished_classification(names))
    panel.flush()
    for _ in range(3):  # painted: the axes widen to their texts (pyqtgraph's autoExpandTextSpace), cells resize
        panel.grab()
        qtbot.wait(10)
    item = panel.plot_item
    for side in ("bottom", "left"):
        rects = text_rects(item.getAxis(side))
        assert rects, side
        assert not overlapping(rects), (side, overlapping(rects))
    shown = [label for label in panel.cell_labels if label.isVisible() and label.textItem.toPlainText()]
    cells = [label.sceneBoundingRect() for label in shown]
    assert not overlapping(cells)
    box = item.getViewBox()
    cell_w = box.mapViewToScene(QPointF(1, 0)).x() - box.mapViewToScene(QPointF(0, 0)).x()
    assert all(r.width() <= cell_w + 0.5 for r in cells)  # each count inside its own cell
    # Every name is there in full for the pointer: the cell's tooltip says true and predicted class.
    assert panel.cell_tooltip(0, 1) .startswith(f"true {names[0]} · predicted {names[1]}")
