"""The learning rate at every step, x in epochs: flat without a schedule, steps/cosine/one-cycle otherwise. The
y axis turns logarithmic when the rate spans more than a factor of 20 (step decay, reduce-on-plateau)."""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QWidget

from app.training.plots.panel import LivePanel, pen

LOG_SPAN = 20.0


class LrPlot(LivePanel):
    """Learning rate per step."""

    KINDS = frozenset({"steps", "status"})

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Learning rate", parent)
        self.plot_widget = self.make_plot(bottom="epoch", left="learning rate", log_left=True)
        self.plot_item = item = self.plot_widget.getPlotItem()
        item.getViewBox().setLimits(xMin=0)
        self.curve = item.plot()
        self.log_y = False
        self._planned_epochs = 0
        self._low = np.inf
        self._high = -np.inf
        self._seen = 0
        self._constant_at: float | None = None
        self.set_content(self.plot_widget)
        self.apply_colors()
        self.show_placeholder("The learning rate appears here when a run starts.")

    def apply_colors(self) -> None:
        self.curve.setPen(pen(self.colors.secondary, 1.8))

    def run_changed(self) -> None:
        self._planned_epochs = 0
        self._low, self._high, self._seen = np.inf, -np.inf, 0
        self._constant_at = None
        self.plot_item.enableAutoRange(y=True)

    def refresh(self) -> None:
        run = self.run
        if run is None or not len(run.steps):
            self.show_placeholder("The learning rate appears here when a run starts." if run is None or
                                  run.failure is None else "No training step ran.")
            return
        self.show_content()
        lr = run.steps.column("lr")
        new = lr[self._seen:]  # only the new steps: the range is kept incrementally
        if len(new):
            positive = new[new > 0]
            if len(positive):
                self._low = min(self._low, float(positive.min()))
            self._high = max(self._high, float(new.max()))
            self._seen = len(lr)
        log_y = bool(self._low > 0 and self._high / self._low > LOG_SPAN)
        if log_y != self.log_y:
            self.log_y = log_y
            self.plot_item.setLogMode(y=log_y)
        if log_y:
            lr = np.where(lr > 0, lr, np.nan)
        self.curve.setData(run.steps.column("x"), lr, skipFiniteCheck=run.steps_finite and not log_y)
        constant = bool(0 < self._high <= self._low * 1.0001)
        if constant and not log_y:
            # A constant rate: a line in the middle instead of pyqtgraph's tiny span around the value.
            if self._constant_at != self._high:
                self._constant_at = self._high
                self.plot_item.setYRange(0, 2 * self._high, padding=0)
        elif self._constant_at is not None:
            self._constant_at = None
            self.plot_item.enableAutoRange(y=True)
        planned = max(run.epochs_planned or 0, run.current_epoch)
        if planned and planned != self._planned_epochs:
            self._planned_epochs = planned
            self.plot_item.setXRange(0, planned, padding=0.01)
        self.set_subtitle(f"{float(run.steps.column('lr')[-1]):.3g}")


__all__ = ["LrPlot"]
