"""The task's metric per epoch. Classification: accuracy in percent, training (solid) vs validation (dashed).
Regression and autoencoders: validation MAE on the left axis and validation R² on a right axis of its own
(the engine reports both on the validation set only). Other runs are overlaid in their own colours."""

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
DOT = Qt.PenStyle.DotLine
MARKERS_MAX = 40  # epochs; more than this and the dots would merge into a bead chain


class MetricPlot(LivePanel):
    """Accuracy (classification) or MAE and R² (regression, autoencoder) per epoch."""

    KINDS = frozenset({"epoch", "status"})

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Accuracy", parent)
        self.plot_widget = self.make_plot(bottom="epoch", left="accuracy (%)")
        self.plot_item = item = self.plot_widget.getPlotItem()
        item.getViewBox().setLimits(xMin=0)
        self.legend = item.addLegend(offset=(-6, -6), labelTextSize="8pt", verSpacing=-6)
        self.train_curve = item.plot(symbol="o", symbolSize=4)
        self.val_curve = item.plot(symbol="o", symbolSize=5)
        # R² lives in its own ViewBox on the right axis, sharing x with the main one.
        self.r2_view = pg.ViewBox(enableMouse=False)
        item.scene().addItem(self.r2_view)
        item.getAxis("right").linkToView(self.r2_view)
        item.getAxis("right").enableAutoSIPrefix(False)
        self.r2_view.setXLink(item)
        self.r2_curve = pg.PlotDataItem(symbol="s", symbolSize=5)
        self.r2_view.addItem(self.r2_curve)
        item.getViewBox().sigResized.connect(self._sync_views)
        self.overlay_curves: list[tuple[pg.PlotDataItem, pg.PlotDataItem, pg.PlotDataItem]] = []
        self.mode = ""
        self._markers = True
        self._planned_epochs = 0
        self.set_content(self.plot_widget)
        self._set_mode("classification")
        self.show_placeholder("Accuracy (or MAE and R² for regression) appears after the first epoch.")

    def _sync_views(self) -> None:
        vb = self.plot_item.getViewBox()
        self.r2_view.setGeometry(vb.sceneBoundingRect())
        self.r2_view.linkedViewChanged(vb, self.r2_view.XAxis)

    # ---- mode, colours, legend ---------------------------------------------------------------------------

    def _set_mode(self, mode: str) -> None:
        if mode == self.mode:
            return
        self.mode = mode
        item = self.plot_item
        regression = mode != "classification"
        self.title_label.setText("Regression metrics" if regression else "Accuracy")
        self.label_plot(item, left="validation MAE" if regression else "accuracy (%)")
        item.showAxis("right", regression)
        self.r2_view.setVisible(regression)
        if regression:
            self.label_plot(item, right="validation R²")
            item.getViewBox().setLimits(yMin=None, yMax=None)
        else:
            item.getViewBox().setLimits(yMin=-2, yMax=102)
        self.train_curve.setVisible(not regression)
        self.r2_curve.setVisible(regression)
        self._sync_views()
        self._rebuild_legend()
        self.apply_colors()

    def apply_colors(self) -> None:
        c = self.colors
        overlay = bool(self.overlay_runs)
        main = self.run_color(self.run, 0) if overlay and self.run is not None else c.train
        val = main if overlay else c.validation
        regression = self.mode != "classification"
        self.train_curve.setPen(pen(main, 2))
        self.train_curve.setSymbolPen(pg.mkPen(main, width=1))
        self.train_curve.setSymbolBrush(pg.mkBrush(main))
        self.val_curve.setPen(pen(val, 2, DASH))
        self.val_curve.setSymbolPen(pg.mkPen(val, width=1.2))
        self.val_curve.setSymbolBrush(pg.mkBrush(c.background))
        r2 = main if overlay else c.secondary
        self.r2_curve.setPen(pen(r2, 2, DOT if overlay else Qt.PenStyle.SolidLine))
        self.r2_curve.setSymbolPen(pg.mkPen(r2, width=1))
        self.r2_curve.setSymbolBrush(pg.mkBrush(c.background))
        if regression and not overlay:
            self.val_curve.setPen(pen(val, 2))
        for i, (train, val_curve, r2_curve) in enumerate(self.overlay_curves):
            run = self.overlay_runs[i] if i < len(self.overlay_runs) else None
            color = self.run_color(run, i + 1) if run is not None else c.muted
            train.setPen(pen(color, 1.6))
            train.setSymbolPen(pg.mkPen(color, width=1))
            train.setSymbolBrush(pg.mkBrush(color))
            val_curve.setPen(pen(color, 1.6, DASH))
            val_curve.setSymbolPen(pg.mkPen(color, width=1))
            val_curve.setSymbolBrush(pg.mkBrush(c.background))
            r2_curve.setPen(pen(color, 1.6, DOT))
        self.legend.setLabelTextColor(c.foreground)
        self.legend.setBrush(pg.mkBrush(with_alpha(c.background, 0.85)))
        self.legend.setPen(pg.mkPen(with_alpha(c.muted, 0.5)))
        if regression:
            self._rebuild_legend()  # the legend under the plot is text in these colours

    def overlays_changed(self) -> None:
        while len(self.overlay_curves) < len(self.overlay_runs):
            train = self.plot_item.plot(symbol="o", symbolSize=3)
            val = self.plot_item.plot(symbol="o", symbolSize=4)
            r2 = pg.PlotDataItem()
            self.r2_view.addItem(r2)
            self.overlay_curves.append((train, val, r2))
        self._show_overlay_curves()
        self._rebuild_legend()
        self.apply_colors()

    def _show_overlay_curves(self) -> None:
        regression = self.mode != "classification"
        for i, curves in enumerate(self.overlay_curves):
            used = i < len(self.overlay_runs)
            train, val, r2 = curves
            train.setVisible(used and not regression)
            val.setVisible(used)
            r2.setVisible(used and regression)
            if not used:
                for curve in curves:
                    curve.setData([], [])

    def run_changed(self) -> None:
        self._planned_epochs = 0
        self._rebuild_legend()
        self.apply_colors()

    def _rebuild_legend(self) -> None:
        """Classification: a legend in the plot's lower right (accuracy rises away from it). Regression: under
        the plot, since MAE and R² can be anywhere."""
        self.legend.clear()
        regression = self.mode != "classification"
        self.legend.setVisible(not regression)  # an empty LegendItem still draws its frame
        runs = ([self.run] if self.run is not None else []) + list(self.overlay_runs)
        if regression:
            if self.overlay_runs:
                entries = [(self.run_color(run, i), run.name or "run", "") for i, run in enumerate(runs)]
                self.set_legend(entries, "dashed: MAE (left) · dotted: R² (right)")
            else:
                self.set_legend([(self.colors.validation, "MAE (left)", ""), (self.colors.secondary, "R² (right)", "")],
                                "on the validation set")
            return
        self.set_legend([], "solid: training · dashed: validation" if self.overlay_runs else "")
        if self.overlay_runs:
            if self.run is not None:
                self.legend.addItem(self.train_curve, self.run.name or "this run")
            for run, (train, _val, _r2) in zip(self.overlay_runs, self.overlay_curves, strict=False):
                self.legend.addItem(train, run.name or "run")
        else:
            self.legend.addItem(self.train_curve, "training")
            self.legend.addItem(self.val_curve, "validation")

    # ---- data ----------------------------------------------------------------------------------------------

    def refresh(self) -> None:
        run = self.run
        if run is None:
            self.show_placeholder("Accuracy (or MAE and R² for regression) appears after the first epoch.")
            return
        # A language model's accuracy is its next-character accuracy (its bits per character: generated_text.py).
        self._set_mode("classification" if run.is_classification or run.task == "language_model" else "regression")
        self._show_overlay_curves()
        if not run.records:
            self.show_placeholder("Appears after the first epoch." if run.failure is None
                                  else "The run failed before the first epoch ended.")
            return
        self.show_content()
        epochs = run.epoch_values("epoch")
        if self.mode == "classification":
            _plot_finite(self.train_curve, epochs, 100.0 * run.epoch_values("train_accuracy"))
            _plot_finite(self.val_curve, epochs, 100.0 * run.epoch_values("val_accuracy"))
            self.r2_curve.setData([], [])
        else:
            self.train_curve.setData([], [])
            _plot_finite(self.val_curve, epochs, run.epoch_values("val_mae"))
            _plot_finite(self.r2_curve, epochs, run.epoch_values("val_r2"))
        for other, (train, val, r2) in zip(self.overlay_runs, self.overlay_curves, strict=False):
            x = other.epoch_values("epoch")
            if self.mode == "classification":
                _plot_finite(train, x, 100.0 * other.epoch_values("train_accuracy"))
                _plot_finite(val, x, 100.0 * other.epoch_values("val_accuracy"))
            else:
                _plot_finite(val, x, other.epoch_values("val_mae"))
                _plot_finite(r2, x, other.epoch_values("val_r2"))
        self._set_markers(len(epochs) <= MARKERS_MAX)
        planned = max([r.epochs_planned or 0 for r in (run, *self.overlay_runs)] + [run.current_epoch])
        if planned and planned != self._planned_epochs:
            self._planned_epochs = planned
            self.plot_item.setXRange(0, planned, padding=0.01)
        self.set_subtitle(self._summary(run))

    def _set_markers(self, on: bool) -> None:
        """A dot per epoch while they are few enough to tell apart; a plain line after that."""
        if on == self._markers:
            return
        self._markers = on
        self.train_curve.setSymbol("o" if on else None)
        self.val_curve.setSymbol("o" if on else None)
        self.r2_curve.setSymbol("s" if on else None)

    def _summary(self, run: RunData) -> str:
        def last(key: str) -> float:
            values = run.epoch_values(key)
            return float(values[-1]) if len(values) else math.nan

        if self.mode == "classification":
            parts = []
            val, train = last("val_accuracy"), last("train_accuracy")
            if math.isfinite(val):
                parts.append(f"val {100 * val:.1f} %")
                best = np.nanmax(run.epoch_values("val_accuracy"))
                if len(run.records) > 1:
                    parts.append(f"best {100 * best:.1f} %")
            if math.isfinite(train):
                parts.append(f"train {100 * train:.1f} %")
            return " · ".join(parts)
        mae, r2 = last("val_mae"), last("val_r2")
        parts = []
        if math.isfinite(mae):
            parts.append(f"MAE {mae:.3g}")
        if math.isfinite(r2):
            parts.append(f"R² {r2:.3f}")
        return " · ".join(parts)


__all__ = ["MetricPlot"]


def _plot_finite(curve, x, y) -> None:
    """Plot only the epochs that have the value: a run that does not record it (a language model's training
    accuracy) has NaN there, and an all-NaN series makes pyqtgraph's autorange warn on every repaint."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    curve.setData(x[keep], y[keep])
