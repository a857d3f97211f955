"""Loss over the run, x in epochs: the per-step training loss (faint), its smoothed curve, and the validation
loss per epoch (dashed, with a dot per epoch), as in MATLAB's training-progress plot. Other runs are overlaid
(smoothed training solid, validation dashed, each run its own colour) with a legend naming the runs. An edit
made while paused (RunData.changes) is a vertical dashed line at its step, labelled with what changed."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from app.training.plots.colors import with_alpha
from app.training.plots.panel import LivePanel, pen
from app.training.run_data import RunData

DASH = Qt.PenStyle.DashLine
MARKERS_MAX = 40  # epochs; more than this and the dots would merge into a bead chain


class LossPlot(LivePanel):
    """Step loss (raw + smoothed) and validation loss per epoch; other runs overlaid."""

    KINDS = frozenset({"steps", "epoch", "status", "changes"})

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Loss", parent)
        self.plot_widget = self.make_plot(bottom="epoch", left="loss")
        self.plot_item = item = self.plot_widget.getPlotItem()
        item.getViewBox().setLimits(xMin=0)
        self.legend = item.addLegend(offset=(-6, 6), labelTextSize="8pt", verSpacing=-6)
        self.raw_curve = item.plot()
        self.smooth_curve = item.plot()
        self.val_curve = item.plot(symbol="o", symbolSize=5)
        self.best_line = pg.InfiniteLine(angle=90, movable=False)
        self.best_line.setZValue(-5)
        item.addItem(self.best_line, ignoreBounds=True)
        self.best_line.hide()
        self.change_lines: list[pg.InfiniteLine] = []  # one per edit made while paused, reused
        # One (smoothed training, validation) pair per overlaid run, made when first needed, then reused.
        self.overlay_curves: list[tuple[pg.PlotDataItem, pg.PlotDataItem]] = []
        self._planned_epochs = 0
        self._markers = True
        self.set_content(self.plot_widget)
        self._rebuild_legend()
        self.apply_colors()
        self.show_placeholder("The loss appears here when a run starts.")

    # ---- colours and legend --------------------------------------------------------------------------------

    def _main_color(self):
        return self.run_color(self.run, 0) if self.run is not None and self.overlay_runs else self.colors.train

    def apply_colors(self) -> None:
        c = self.colors
        main = self._main_color()
        val = main if self.overlay_runs else c.validation
        self.raw_curve.setPen(pen(with_alpha(main, 0.28), 1))
        self.smooth_curve.setPen(pen(main, 2.2))
        self.val_curve.setPen(pen(val, 1.8, DASH))
        self.val_curve.setSymbolPen(pg.mkPen(val, width=1.2))
        self.val_curve.setSymbolBrush(pg.mkBrush(c.background))
        self.best_line.setPen(pen(with_alpha(c.muted, 0.8), 1, Qt.PenStyle.DotLine))
        for line in self.change_lines:
            line.setPen(pen(with_alpha(c.foreground, 0.55), 1, DASH))
            line.label.setColor(c.foreground)
        for i, (train, val_curve) in enumerate(self.overlay_curves):
            run = self.overlay_runs[i] if i < len(self.overlay_runs) else None
            color = self.run_color(run, i + 1) if run is not None else c.muted
            train.setPen(pen(color, 1.8))
            val_curve.setPen(pen(color, 1.4, DASH))
            val_curve.setSymbolPen(pg.mkPen(color, width=1))
            val_curve.setSymbolBrush(pg.mkBrush(c.background))
        self.legend.setLabelTextColor(c.foreground)
        self.legend.setBrush(pg.mkBrush(with_alpha(c.background, 0.85)))
        self.legend.setPen(pg.mkPen(with_alpha(c.muted, 0.5)))

    def overlays_changed(self) -> None:
        while len(self.overlay_curves) < len(self.overlay_runs):
            train = self.plot_item.plot()
            val = self.plot_item.plot(symbol="o", symbolSize=4)
            self.overlay_curves.append((train, val))
        for i, (train, val) in enumerate(self.overlay_curves):
            used = i < len(self.overlay_runs)
            train.setVisible(used)
            val.setVisible(used)
            if not used:
                train.setData([], [])
                val.setData([], [])
        self._rebuild_legend()
        self.apply_colors()

    def run_changed(self) -> None:
        self._planned_epochs = 0
        self._rebuild_legend()
        self.apply_colors()

    def _rebuild_legend(self) -> None:
        self.legend.clear()
        self.set_legend([], "solid: training (smoothed) · dashed: validation" if self.overlay_runs else "")
        if self.overlay_runs:
            if self.run is not None:
                self.legend.addItem(self.smooth_curve, self.run.name or "this run")
            for run, (train, _val) in zip(self.overlay_runs, self.overlay_curves, strict=False):
                self.legend.addItem(train, run.name or "run")
        else:
            self.legend.addItem(self.raw_curve, "training (per step)")
            self.legend.addItem(self.smooth_curve, "training (smoothed)")
            self.legend.addItem(self.val_curve, "validation")

    # ---- data ----------------------------------------------------------------------------------------------

    def refresh(self) -> None:
        run = self.run
        if run is None:
            self.show_placeholder("The loss appears here when a run starts.")
            return
        if not len(run.steps) and not run.records:
            self.show_placeholder(run.failure.message if run.failure is not None
                                  else "Waiting for the first training step…")
            return
        self.show_content()
        x = run.steps.column("x")
        # Step losses are finite (the engine stops a run before reporting a NaN/Inf loss): skipping
        # pyqtgraph's isfinite pass over every point halves the cost of a refresh at a million steps.
        finite = run.steps_finite
        self.raw_curve.setData(x, run.steps.column("loss"), skipFiniteCheck=finite)
        self.smooth_curve.setData(x, run.steps.column("smoothed"), skipFiniteCheck=finite)
        epochs = run.epoch_values("epoch")
        if run.has_validation:
            self.val_curve.setData(epochs, run.epoch_values("val_loss"))
        else:  # all-NaN points break pyqtgraph's scatter bounds (a GAN run, val_fraction 0)
            self.val_curve.setData([], [])
        for other, (train, val) in zip(self.overlay_runs, self.overlay_curves, strict=False):
            train.setData(other.steps.column("x"), other.steps.column("smoothed"))
            val.setData(other.epoch_values("epoch"), other.epoch_values("val_loss"))
        markers = len(epochs) <= MARKERS_MAX
        if markers != self._markers:
            self._markers = markers
            self.val_curve.setSymbol("o" if markers else None)
        self._show_changes(run)
        best = run.best if run.has_validation else None
        if best is not None and best.get("monitor") == "val_loss" and len(epochs) > 1:
            self.best_line.setPos(float(best["epoch"]))
            self.best_line.show()
        else:
            self.best_line.hide()
        planned = max([r.epochs_planned or 0 for r in (run, *self.overlay_runs)] + [run.current_epoch])
        if planned and planned != self._planned_epochs:
            # The whole run's width from the start, so the curve grows left to right (MATLAB does this);
            # set only when it changes, so a person's zoom is not undone by every refresh.
            self._planned_epochs = planned
            self.plot_item.setXRange(0, planned, padding=0.01)
        self.set_subtitle(self._summary(run))

    def _show_changes(self, run: RunData) -> None:
        changes = run.changes
        while len(self.change_lines) < len(changes):
            # The label reads across, left of the line near the top (rotated it is cut off in a short plot; on the
            # right it would run under the legend).
            line = pg.InfiniteLine(angle=90, movable=False, label="",
                                   labelOpts={"position": 0.93, "anchors": [(1, 0.5), (1, 0.5)]})
            line.setZValue(-4)
            self.plot_item.addItem(line, ignoreBounds=True)
            self.change_lines.append(line)
            self.apply_colors()
        for i, line in enumerate(self.change_lines):
            if i < len(changes):
                line.setPos(float(run.step_to_epoch(float(changes[i]["step"]))))
                line.label.setText(change_text(changes[i]))
                line.show()
            else:
                line.hide()

    @staticmethod
    def _summary(run: RunData) -> str:
        parts = []
        if len(run.steps):
            parts.append(f"train {_fmt(run.steps.column('smoothed')[-1])}")
        val = run.epoch_values("val_loss")
        if len(val) and math.isfinite(val[-1]):
            parts.append(f"val {_fmt(val[-1])}")
        best = run.best
        if best is not None and best.get("monitor") == "val_loss" and len(val) > 1:
            parts.append(f"best {_fmt(best['value'])} @ {best['epoch']}")
        return " · ".join(parts)


def change_text(change: dict) -> str:
    """A short label for an edit: "lr 0.01→0.002", "batch 32→64", "network: 2 new layers"."""
    names = {"optimizer.lr": "lr", "batch_size": "batch", "epochs": "epochs", "schedule.name": "schedule"}
    parts = []
    for key, (old, new) in change.get("settings", {}).items():
        label = names.get(key, key.rpartition(".")[2].replace("_", " "))
        parts.append(f"{label} {_short(old)}→{_short(new)}" if not isinstance(new, dict) else f"{label} changed")
    network = change.get("network")
    if network is not None:
        fresh = len(network.get("fresh", ()))
        parts.append(f"network: {fresh} new layer{'s' if fresh != 1 else ''}" if fresh else "network edited")
    return ", ".join(parts[:3]) + (" …" if len(parts) > 3 else "")


def _short(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _fmt(value: float) -> str:
    value = float(value)
    if not np.isfinite(value):
        return "–"
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:.3e}"


__all__ = ["LossPlot", "change_text"]
