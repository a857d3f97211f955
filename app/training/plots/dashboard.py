"""`TrainingDashboard`: every live plot of one run, in one widget the main window places.

    dashboard = TrainingDashboard()
    dashboard.set_run(run_data)                 # RunData (app/training/run_data.py), fed by the worker
    dashboard.set_overlay_runs([older, other])  # compared in the loss and metric plots, one colour per run
    dashboard.select_layer("conv1")             # the activation and gradient views follow the canvas

Layout (a 4-column grid): a summary line; Loss (two columns), the task's metric, Learning rate; then
Activations of the selected layer, Gradient norms, the network view and the Confusion matrix. The network view
is whichever of Decision boundary (2-D point datasets) and Feature maps (networks with a Conv2d) applies, in
one cell: they never both apply, and when neither does the decision-boundary panel explains both.

Every panel refreshes itself at most every REFRESH_MS and not while hidden (panel.py); so does the summary.
"""

from __future__ import annotations

import html
import math
import weakref

import shiboken6
from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtWidgets import QGridLayout, QLabel, QSizePolicy, QStackedWidget, QVBoxLayout, QWidget

from app.training.plots.activation_histograms import ActivationHistograms
from app.training.plots.colors import PlotColors
from app.training.plots.confusion_matrix import ConfusionMatrix
from app.training.plots.decision_boundary import DecisionBoundary
from app.training.plots.feature_maps import FeatureMaps
from app.training.plots.gradient_norms import GradientNorms
from app.training.plots.loss_plot import LossPlot
from app.training.plots.lr_plot import LrPlot
from app.training.plots.metric_plot import MetricPlot
from app.training.plots.panel import REFRESH_MS, LivePanel, disconnect_run
from app.training.run_data import RunData

NARROW_WIDTH = 1000  # below this many pixels the panels go two by two
STATUS_COLORS = {"running": "#2ca02c", "paused": "#f0a020", "finished": "#2f7fd8", "stopped": "#8a8f98",
                 "failed": "#e5484d"}


class TrainingDashboard(QWidget):
    """The live training plots of one run (module docstring)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("trainingDashboard")
        self.run: RunData | None = None
        self.overlay_runs: list[RunData] = []
        self.layer_id: str | None = None
        self._watched: weakref.WeakSet[RunData] = weakref.WeakSet()  # weak: never keeps a dropped run alive

        self.loss_plot = LossPlot()
        self.metric_plot = MetricPlot()
        self.lr_plot = LrPlot()
        self.activation_histograms = ActivationHistograms()
        self.gradient_norms = GradientNorms()
        self.feature_maps = FeatureMaps()
        self.decision_boundary = DecisionBoundary()
        self.confusion_matrix = ConfusionMatrix()
        self.activation_histograms.layer_chosen.connect(self.select_layer)
        self.gradient_norms.layer_chosen.connect(self.select_layer)

        self.network_view = QStackedWidget()
        self.network_view.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.network_view.addWidget(self.decision_boundary)
        self.network_view.addWidget(self.feature_maps)

        self.summary = QLabel()
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.summary.setWordWrap(True)  # a long summary (a failure, the dataset and device) wraps, not cut
        self.summary.setContentsMargins(6, 2, 6, 2)
        self._summary_timer = QTimer(self)
        self._summary_timer.setSingleShot(True)
        self._summary_timer.setInterval(REFRESH_MS)
        self._summary_timer.timeout.connect(self._refresh_summary)
        self._summary_dirty = False

        self.grid = QGridLayout()
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(6)
        self.columns = 0
        self._arrange(4)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 6)
        layout.setSpacing(4)
        layout.addWidget(self.summary)
        layout.addLayout(self.grid, 1)
        self._refresh_summary()

    def _arrange(self, columns: int) -> None:
        """Four columns (wide) or two (a narrow dock): (widget, row, column, column span) per cell."""
        if columns == self.columns:
            return
        self.columns = columns
        wide = [(self.loss_plot, 0, 0, 2), (self.metric_plot, 0, 2, 1), (self.lr_plot, 0, 3, 1),
                (self.activation_histograms, 1, 0, 1), (self.gradient_norms, 1, 1, 1), (self.network_view, 1, 2, 1),
                (self.confusion_matrix, 1, 3, 1)]
        narrow = [(self.loss_plot, 0, 0, 2), (self.metric_plot, 1, 0, 1), (self.lr_plot, 1, 1, 1),
                  (self.activation_histograms, 2, 0, 1), (self.gradient_norms, 2, 1, 1), (self.network_view, 3, 0, 1),
                  (self.confusion_matrix, 3, 1, 1)]
        cells = wide if columns == 4 else narrow
        for widget, *_ in cells:
            self.grid.removeWidget(widget)
        for widget, row, col, span in cells:
            self.grid.addWidget(widget, row, col, 1, span)
        for col in range(4):
            self.grid.setColumnStretch(col, 1 if col < columns else 0)
        rows = [5, 6, 0, 0] if columns == 4 else [4, 3, 5, 5]
        for row, stretch in enumerate(rows):
            self.grid.setRowStretch(row, stretch)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._arrange(4 if event.size().width() >= NARROW_WIDTH else 2)

    @property
    def panels(self) -> dict[str, LivePanel]:
        return {"loss": self.loss_plot, "metric": self.metric_plot, "lr": self.lr_plot,
                "activations": self.activation_histograms, "gradients": self.gradient_norms,
                "feature_maps": self.feature_maps, "decision_boundary": self.decision_boundary,
                "confusion_matrix": self.confusion_matrix}

    # ---- the contract ----------------------------------------------------------------------------------

    def set_run(self, run: RunData | None) -> None:
        """Show this run (None: empty plots with their placeholders)."""
        if run is self.run:
            return
        if self.run is not None:
            disconnect_run(self.run, self._on_updated)
        self.run = run
        if run is not None:
            run.updated.connect(self._on_updated)
            self._watch(run)
        for panel in self.panels.values():
            panel.set_run(run)
        self.overlay_runs = [r for r in self.overlay_runs if r is not run]
        self._choose_network_view()
        self._schedule_summary()

    def set_overlay_runs(self, runs: list[RunData]) -> None:
        """Runs drawn next to the current one in the loss and metric plots (each its own colour, a legend)."""
        self.overlay_runs = [r for r in dict.fromkeys(runs) if r is not self.run and shiboken6.isValid(r)]
        for run in self.overlay_runs:
            self._watch(run)
        self.loss_plot.set_overlay_runs(self.overlay_runs)
        self.metric_plot.set_overlay_runs(self.overlay_runs)

    def select_layer(self, node_id: str | None) -> None:
        """Show this node's activations over time and highlight its gradient norm (None: the first layer)."""
        self.layer_id = node_id
        self.activation_histograms.select_layer(node_id)
        self.gradient_norms.select_layer(node_id)

    def _watch(self, run: RunData) -> None:
        """Forget a run whose QObject is deleted (the runs list deleteLater()s a removed run)."""
        if run not in self._watched:
            self._watched.add(run)
            run.destroyed.connect(self._forget_deleted)

    def _forget_deleted(self) -> None:
        # Emitted from the QObject's destructor: check once it is done. (With self as the context, the call is
        # dropped if the dashboard goes too, as when the window closes and takes the runs with it.)
        QTimer.singleShot(0, self, self._drop_deleted_runs)

    def _drop_deleted_runs(self) -> None:
        if not shiboken6.isValid(self):
            return
        for run in [r for r in self._watched if not shiboken6.isValid(r)]:
            self._watched.discard(run)
        if self.run is not None and not shiboken6.isValid(self.run):
            self.set_run(None)
        if any(not shiboken6.isValid(r) for r in self.overlay_runs):
            self.set_overlay_runs([r for r in self.overlay_runs if shiboken6.isValid(r)])

    def flush(self) -> None:
        """Refresh every visible panel with pending data now (screenshots, tests)."""
        self._choose_network_view()
        for panel in self.panels.values():
            panel.flush()
        if self._summary_timer.isActive():
            self._summary_timer.stop()
        self._refresh_summary()

    # ---- internals ----------------------------------------------------------------------------------------

    def _on_updated(self, kind: str) -> None:
        if kind in ("probe", "status"):
            self._choose_network_view()
        self._schedule_summary()

    def _choose_network_view(self) -> None:
        probe = self.run.latest_probe if self.run is not None else None
        wanted = self.feature_maps if probe is not None and probe.feature_maps is not None else self.decision_boundary
        if self.network_view.currentWidget() is not wanted:
            self.network_view.setCurrentWidget(wanted)

    def _schedule_summary(self) -> None:
        self._summary_dirty = True
        if not self._summary_timer.isActive():
            self._summary_timer.start()

    def _refresh_summary(self) -> None:
        if not self.isVisible() and self.summary.text():
            return  # stays dirty: showEvent refreshes
        self._summary_dirty = False
        self.summary.setText(summary_html(self.run, PlotColors.from_palette(self.palette())))

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._summary_dirty:
            QTimer.singleShot(0, self._refresh_summary)  # start(0) would change the timer's interval for good

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self._schedule_summary()


def summary_html(run: RunData | None, colors: PlotColors) -> str:
    """The dashboard's one-line summary: name, status, progress, latest metrics, device."""
    muted = colors.muted.name()
    if run is None:
        return f"<span style='color:{muted}'>No run yet: start training to see its curves here.</span>"
    status = run.status
    dot = f"<span style='color:{STATUS_COLORS.get(status, muted)}'>●</span>"
    parts = [f"<b>{html.escape(run.name or 'run')}</b>", f"{dot} {status}"]
    planned = run.epochs_planned
    parts.append(f"epoch {run.current_epoch}" + (f" / {planned}" if planned else ""))
    if len(run.steps):
        parts.append(f"step {run.last_step}")
    record = run.records[-1] if run.records else {}
    if run.is_classification and record.get("val_accuracy") is not None:
        parts.append(f"val accuracy {100 * record['val_accuracy']:.1f} %")
    elif record.get("val_r2") is not None:
        parts.append(f"val R² {record['val_r2']:.3f}")
    if record.get("val_loss") is not None:
        parts.append(f"val loss {record['val_loss']:.4g}")
    best = run.best
    if best is not None and run.records and math.isfinite(best.get("value", math.nan)):
        parts.append(f"best {best['monitor'].replace('_', ' ')} {best['value']:.4g} @ epoch {best['epoch']}")
    elapsed = sum(r.get("time_s") or 0.0 for r in run.records)
    if elapsed:
        parts.append(f"{elapsed:.1f} s")
    text = " &nbsp;·&nbsp; ".join(parts)
    if run.finished is not None and run.finished.stopped_early:
        text += f" &nbsp;<span style='color:{muted}'>(stopped early: {html.escape(run.finished.reason)})</span>"
    if run.failure is not None:
        where = f" in layer {run.failure.node_id}" if run.failure.node_id else ""
        hint = f" {html.escape(run.failure.hint)}" if run.failure.hint else ""
        text += (f"<br><span style='color:{STATUS_COLORS['failed']}'>{html.escape(run.failure.message)}"
                 f"{html.escape(where) if where and run.failure.node_id not in run.failure.message else ''}"
                 f"</span><span style='color:{muted}'>{hint}</span>")
    if run.started is not None:
        s = run.started
        text += (f" &nbsp;&nbsp;<span style='color:{muted}'>{html.escape(s.dataset)} · {s.n_train} train / "
                 f"{s.n_val} val · {html.escape(s.device_name)} · {s.param_count:,} parameters</span>")
    return text


__all__ = ["TrainingDashboard", "summary_html"]
