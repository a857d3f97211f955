"""`TrainingDashboard`: every live plot of one run, in one widget the main window places.

    dashboard = TrainingDashboard()
    dashboard.set_run(run_data)                 # RunData (app/training/run_data.py), fed by the worker
    dashboard.set_overlay_runs([older, other])  # compared in the loss and metric plots, one colour per run
    dashboard.select_layer("conv1")             # the activation and gradient views follow the canvas

The panels are listed once, in `PANELS` (key, class, column span, slot): a new panel is one more entry
there. Panels that share a slot share one cell (a QStackedWidget) and the first whose `applies(run)` says
yes (or has none) is shown, the last being the fallback: the network view is Feature maps (networks with a Conv2d) or else
Decision boundary, which explains both when neither applies.

Layout: a summary line, then the cells in `PANELS` order flowed over a grid of 4, 3 or 2 columns by the
width the dashboard has (`columns_for`): in the Train perspective at 1400x900 (~800 px) that is 3 columns,
3 rows, every plot readable without scrolling.

The panels take turns to redraw, one per tick (refresh.py), never while hidden; the summary refreshes at most
every REFRESH_MS.
"""

from __future__ import annotations

import html
import math
import weakref
from collections.abc import Callable
from dataclasses import dataclass

import shiboken6
from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtWidgets import QGridLayout, QLabel, QSizePolicy, QStackedWidget, QVBoxLayout, QWidget

from app.training.plots.activation_histograms import ActivationHistograms
from app.training.plots.colors import PlotColors
from app.training.plots.confusion_matrix import ConfusionMatrix
from app.training.plots.decision_boundary import DecisionBoundary
from app.training.plots.feature_maps import FeatureMaps
from app.training.plots.gan_losses import GanLosses
from app.training.plots.gan_samples import GanSamples
from app.training.plots.generated_text import GeneratedText, is_language_model
from app.training.plots.gradient_norms import GradientNorms
from app.training.plots.loss_plot import LossPlot
from app.training.plots.lr_plot import LrPlot
from app.training.plots.metric_plot import MetricPlot
from app.training.plots.panel import REFRESH_MS, LivePanel, disconnect_run
from app.training.plots.refresh import RefreshBudget
from app.training.run_data import RunData
from app.training.run_status import run_status

COLUMN_WIDTHS = ((1100, 4), (640, 3))  # at least this many pixels wide: this many columns (else 2)


@dataclass(frozen=True)
class PanelSpec:
    """One dashboard panel: `key` (TrainingDashboard.panels), the LivePanel subclass, the columns its cell
    spans (at most the grid's), and its slot (panels of one slot share a cell; see the module docstring)."""

    key: str
    factory: Callable[[], LivePanel]
    span: int = 1
    slot: str = ""
    applies: Callable[[RunData | None], bool] | None = None  # in a shared slot: None always applies

    @property
    def cell(self) -> str:
        return self.slot or self.key


def _has_feature_maps(run: RunData | None) -> bool:
    probe = run.latest_probe if run is not None else None
    return probe is not None and probe.feature_maps is not None


def _is_gan(run: RunData | None) -> bool:
    return run is not None and run.task == "gan"


PANELS: list[PanelSpec] = [
    PanelSpec("loss", LossPlot, span=2),
    PanelSpec("gan_losses", GanLosses, slot="metric", applies=_is_gan),  # a GAN: G/D losses, D accuracy
    PanelSpec("metric", MetricPlot, slot="metric"),
    PanelSpec("lr", LrPlot),
    PanelSpec("activations", ActivationHistograms),
    PanelSpec("gradients", GradientNorms),
    PanelSpec("gan_samples", GanSamples, slot="network", applies=_is_gan),  # a GAN: its fixed-noise samples
    PanelSpec("feature_maps", FeatureMaps, slot="network", applies=_has_feature_maps),
    PanelSpec("decision_boundary", DecisionBoundary, slot="network"),
    PanelSpec("generated_text", GeneratedText, slot="confusion_matrix", applies=is_language_model),
    PanelSpec("confusion_matrix", ConfusionMatrix),
]
ATTRIBUTES = {"loss": "loss_plot", "metric": "metric_plot", "lr": "lr_plot", "activations": "activation_histograms",
              "gradients": "gradient_norms", "feature_maps": "feature_maps", "decision_boundary": "decision_boundary",
              "confusion_matrix": "confusion_matrix", "gan_losses": "gan_losses",
              "gan_samples": "gan_samples"}  # the attribute names older code and tests use


def columns_for(width: int) -> int:
    for least, columns in COLUMN_WIDTHS:
        if width >= least:
            return columns
    return 2


def flow_cells(spans: list[int], columns: int) -> list[tuple[int, int, int]]:
    """(row, column, span) for cells of these spans flowed left to right over `columns` columns; a cell that
    does not fit in what is left of a row starts the next one, and the last cell of a row takes what the row
    has left (no empty holes)."""
    out: list[list[int]] = []
    row = col = 0
    for span in spans:
        span = max(1, min(span, columns))
        if col + span > columns:
            out[-1][2] += columns - col
            row, col = row + 1, 0
        out.append([row, col, span])
        col += span
    if out:
        out[-1][2] += columns - col
    return [(r, c, s) for r, c, s in out]
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

        self._panels: dict[str, LivePanel] = {}
        self._cells: dict[str, QWidget] = {}  # slot -> its widget (a panel, or a stack of the slot's panels)
        self._cell_span: dict[str, int] = {}
        self._slots: dict[str, list[str]] = {}
        self._specs = {spec.key: spec for spec in PANELS}
        self.budget = RefreshBudget(self)  # the panels take turns to redraw (refresh.py)
        for spec in PANELS:
            panel = spec.factory()
            panel.set_budget(self.budget)
            self._panels[spec.key] = panel
            if spec.key in ATTRIBUTES:
                setattr(self, ATTRIBUTES[spec.key], panel)
            self._slots.setdefault(spec.cell, []).append(spec.key)
            self._cell_span[spec.cell] = max(self._cell_span.get(spec.cell, 1), spec.span)
            chooser = getattr(panel, "layer_chosen", None)
            if chooser is not None:
                chooser.connect(self.select_layer)
        for cell, keys in self._slots.items():
            if len(keys) == 1:
                self._cells[cell] = self._panels[keys[0]]
                continue
            stack = QStackedWidget()
            stack.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
            for key in keys:
                stack.addWidget(self._panels[key])
            stack.setCurrentWidget(self._panels[keys[-1]])
            self._cells[cell] = stack
        self.network_view = self._cells.get("network")
        self.metric_view = self._cells.get("metric")

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
        self._arrange(columns_for(self.width()))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 6)
        layout.setSpacing(4)
        layout.addWidget(self.summary)
        layout.addLayout(self.grid, 1)
        self._refresh_summary()

    def _arrange(self, columns: int) -> None:
        """Flow the cells over `columns` columns, rows stretched alike."""
        if columns == self.columns:
            return
        self.columns = columns
        cells = list(self._cells)
        for cell in cells:
            self.grid.removeWidget(self._cells[cell])
        places = flow_cells([self._cell_span[c] for c in cells], columns)
        for cell, (row, col, span) in zip(cells, places, strict=True):
            self.grid.addWidget(self._cells[cell], row, col, 1, span)
        rows = places[-1][0] + 1 if places else 0
        for col in range(4):
            self.grid.setColumnStretch(col, 1 if col < columns else 0)
        for row in range(max(rows, self.grid.rowCount())):
            self.grid.setRowStretch(row, 1 if row < rows else 0)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._arrange(columns_for(event.size().width()))

    @property
    def panels(self) -> dict[str, LivePanel]:
        return dict(self._panels)

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
        """In each shared cell, show the first panel that applies to the run (module docstring)."""
        for cell, keys in self._slots.items():
            if len(keys) < 2:
                continue
            wanted = next((k for k in keys if self._specs[k].applies is None or self._specs[k].applies(self.run)),
                          keys[-1])
            stack = self._cells[cell]
            if stack.currentWidget() is not self._panels[wanted]:
                stack.setCurrentWidget(self._panels[wanted])

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
    state = run_status(run)  # the words the Training panel and the run list use too
    dot = f"<span style='color:{STATUS_COLORS.get(state.status, muted)}'>●</span>"
    parts = [f"<b>{html.escape(run.name or 'run')}</b>", f"{dot} {state.label}", state.epoch_text]
    if state.step:
        parts.append(f"step {state.step:,}")
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


__all__ = ["PANELS", "PanelSpec", "TrainingDashboard", "columns_for", "flow_cells", "summary_html"]
