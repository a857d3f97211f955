"""Gradient norms per layer over the run, on a log scale: one line per layer with parameters, coloured by depth
(shallow yellow-green to deep purple), so vanishing or exploding gradients show as lines fanning apart. The
layer selected on the canvas is drawn thick and on top; the others stay thin."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget

from app.training.plots.colors import with_alpha
from app.training.plots.panel import LivePanel, pen

LEGEND_MAX = 16  # more layers than this: no names under the plot (the subtitle names the selected one)


class GradientNorms(LivePanel):
    """Per-layer L2 norm of the parameter gradients at each probe, log y."""

    KINDS = frozenset({"probe", "status"})
    layer_chosen = Signal(str)  # a layer name in the legend was clicked

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Gradient norms", parent)
        self.plot_widget = self.make_plot(bottom="epoch", left="gradient norm (log)", log_left=True)
        self.plot_item = item = self.plot_widget.getPlotItem()
        item.setLogMode(y=True)
        item.getViewBox().setLimits(xMin=0)
        self.curves: dict[str, pg.PlotDataItem] = {}  # node id -> its line, made once and reused
        self.layer_id: str | None = None
        self._order: list[str] = []  # layers with parameters, in execution order, as last drawn
        self._styled: tuple = ()
        self._planned_epochs = 0
        self.set_content(self.plot_widget)
        self.legend_label.linkActivated.connect(self._on_link)
        self.apply_colors()
        self.show_placeholder("Gradient norms per layer appear here once the run probes its layers.")

    def select_layer(self, node_id: str | None) -> None:
        if node_id != self.layer_id:
            self.layer_id = node_id
            self.schedule()

    def _on_link(self, node_id: str) -> None:
        self.select_layer(node_id)
        self.layer_chosen.emit(node_id)

    def apply_colors(self) -> None:
        self._styled = ()  # restyle the lines and the legend on the next refresh

    def run_changed(self) -> None:
        for curve in self.curves.values():
            curve.setData([], [])
            curve.hide()
        self._order = []
        self._planned_epochs = 0
        self._styled = ()

    def _style(self, order: list[str]) -> None:
        key = (tuple(order), self.layer_id, self.colors)
        if key == self._styled:
            return
        self._styled = key
        n = len(order)
        chosen = self.layer_id if self.layer_id in order else None  # a layer without parameters: none stands out
        for i, node_id in enumerate(order):
            curve = self.curves[node_id]
            color = self.colors.depth_color(i, n)
            selected = node_id == chosen
            if chosen is None or selected:
                curve.setPen(pen(color, 3.0 if selected else 1.8))
            else:
                curve.setPen(pen(with_alpha(color, 0.6), 1.2))
            curve.setZValue(10 if selected else 0)
        if len(order) <= LEGEND_MAX:
            self.set_legend([(self.colors.depth_color(i, n), node_id, node_id) for i, node_id in enumerate(order)],
                            "shallow → deep")
        else:
            self.set_legend([], f"{n} layers, shallow (yellow) → deep (purple)")

    def refresh(self) -> None:
        run = self.run
        if run is None:
            self.show_placeholder("Gradient norms per layer appear here once the run probes its layers.")
            return
        if run.probe_every == 0:
            self.show_placeholder("Probes are off for this run (probe_every = 0), so there are no gradient "
                                  "norms.")
            return
        order = [node_id for node_id, h in run.layers.items() if h.has_params]
        if not order:
            self.show_placeholder("Waiting for the first probe…" if not run.ended
                                  else "The run ended before its layers were probed.")
            return
        self.show_content()
        for node_id in order:
            if node_id not in self.curves:
                self.curves[node_id] = self.plot_item.plot()
        if order != self._order:
            self._order = order
            for node_id, curve in self.curves.items():
                curve.setVisible(node_id in order)
        self._style(order)
        for node_id in order:
            history = run.layers[node_id]
            grad = history.series.column("grad_norm")
            # log10 of 0 is -inf: a layer with no gradient on a probe leaves a gap rather than a cliff.
            self.curves[node_id].setData(run.probe_epochs(node_id), np.where(grad > 0, grad, np.nan))
        planned = max(run.epochs_planned or 0, run.current_epoch)
        if planned and planned != self._planned_epochs:
            self._planned_epochs = planned
            self.plot_item.setXRange(0, planned, padding=0.01)
        self.set_subtitle(self._summary(run))

    def _summary(self, run) -> str:
        node_id = self.layer_id
        history = run.layers.get(node_id) if node_id is not None else None
        if history is None:
            return f"{len(self._order)} layers with parameters" if node_id is None else f"{node_id}: not probed"
        if not history.has_params:
            return f"{node_id} has no parameters"
        grad = history.series.column("grad_norm")[-1]
        weight = history.series.column("weight_norm")[-1]
        text = f"{node_id}: grad {grad:.3g}"
        if math.isfinite(weight) and weight > 0 and math.isfinite(grad):
            text += f" · weights {weight:.3g}"
        return text


__all__ = ["GradientNorms"]
