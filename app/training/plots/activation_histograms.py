"""One layer's activations over the run: an image with time (epochs) along x and the activation value along y,
each column the histogram of that layer's output on the probe batch (TensorBoard's "histograms" seen from
above), with the mean and mean ± one standard deviation drawn on top. The layer is the one selected on the
canvas (`select_layer`), else the first probed layer.

Each probe's histogram has its own range; `LayerHistory.histogram_image` puts them on common bins, and the
columns are laid on an even time grid (each column shows the latest probe at or before its time), so the
image stays right when the history is thinned or probes are unevenly spaced (the first comes at step 1).
Colour is logarithmic in the fraction of values per bin (`density_levels`): the tails of a distribution stay
visible next to a tall peak such as a ReLU's zeros."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import QComboBox, QSizePolicy, QWidget

from app.training.plots.colors import with_alpha
from app.training.plots.panel import LivePanel, pen

BINS = 64
MAX_COLUMNS = 256


def density_levels(fractions: np.ndarray, floor: float = 1e-3) -> np.ndarray:
    """0..1 colour levels for fractions of values per bin, on a log scale: log(1 + f / floor) over the image's
    largest. A ReLU's spike at exactly 0 (often half the values) would otherwise leave the rest of the
    distribution invisible; a bin holding 2 % of the values still reads at about half strength."""
    peak = float(fractions.max()) if fractions.size else 0.0
    if peak <= 0:
        return np.zeros_like(fractions, dtype=np.float32)
    return (np.log1p(fractions / floor) / math.log1p(peak / floor)).astype(np.float32)


def uniform_columns(xs: np.ndarray, dt: float, count: int) -> tuple[np.ndarray, float, float]:
    """Indices into `xs` (sorted probe times) for `count` evenly spaced columns from xs[0] to xs[-1] + dt,
    each the latest probe at or before its column's centre; and the columns' start and end time."""
    start = float(xs[0])
    end = float(xs[-1]) + dt
    centres = start + (np.arange(count) + 0.5) * (end - start) / count
    idx = np.clip(np.searchsorted(xs, centres, side="right") - 1, 0, len(xs) - 1)
    return idx, start, end


class ActivationHistograms(LivePanel):
    """Histogram-over-time image of the selected layer, with its mean and ±1 std."""

    KINDS = frozenset({"probe", "status"})
    layer_chosen = Signal(str)  # the person picked a layer in the panel's own list

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Activations", parent)
        self.layer_combo = QComboBox()
        self.layer_combo.setToolTip("The layer shown (clicking a node on the canvas chooses it too)")
        self.layer_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.layer_combo.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
        self.layer_combo.setMinimumContentsLength(6)
        self.layer_combo.hide()
        self.layer_combo.activated.connect(self._on_combo)
        self.header_layout.insertWidget(1, self.layer_combo)
        self._combo_layers: list[str] = []
        self.plot_widget = self.make_plot(bottom="epoch", left="activation", mouse=False)
        self.plot_item = item = self.plot_widget.getPlotItem()
        self.image = pg.ImageItem(axisOrder="col-major")
        self.image.setZValue(-10)
        item.addItem(self.image)
        self.upper_curve = item.plot()
        self.lower_curve = item.plot()
        self.mean_curve = item.plot()
        self.layer_id: str | None = None  # chosen with select_layer; None: the first probed layer
        self.shown_layer: str | None = None
        self.image_shape: tuple[int, ...] = ()
        self.set_content(self.plot_widget)
        self.apply_colors()
        self.show_placeholder("Per-layer activation histograms appear here once the run probes its layers.")

    def apply_colors(self) -> None:
        c = self.colors
        self.image.setLookupTable(c.density_table())
        line = with_alpha(c.validation, 0.95)
        self.mean_curve.setPen(pen(line, 2))
        self.upper_curve.setPen(pen(with_alpha(c.validation, 0.75), 1.2, Qt.PenStyle.DashLine))
        self.lower_curve.setPen(pen(with_alpha(c.validation, 0.75), 1.2, Qt.PenStyle.DashLine))

    def select_layer(self, node_id: str | None) -> None:
        """Show this layer (a node id); None goes back to the first probed layer."""
        if node_id != self.layer_id:
            self.layer_id = node_id
            self.schedule()

    def run_changed(self) -> None:
        self.shown_layer = None

    def _on_combo(self, index: int) -> None:
        if 0 <= index < len(self._combo_layers):
            node_id = self._combo_layers[index]
            self.select_layer(node_id)
            self.layer_chosen.emit(node_id)

    def _sync_combo(self, layers: list[str], shown: str | None) -> None:
        with QSignalBlocker(self.layer_combo):
            if layers != self._combo_layers:
                self._combo_layers = list(layers)
                self.layer_combo.clear()
                self.layer_combo.addItems(layers)
            self.layer_combo.setCurrentIndex(layers.index(shown) if shown in layers else -1)
        self.layer_combo.setVisible(bool(layers))

    def refresh(self) -> None:
        run = self.run
        if run is None or not run.layers:
            self._sync_combo([], None)
        if run is None:
            self.show_placeholder("Per-layer activation histograms appear here once the run probes its layers.")
            return
        if run.probe_every == 0:
            self.show_placeholder("Probes are off for this run (probe_every = 0), so there are no activation "
                                  "statistics.")
            return
        if not run.layers:
            every = run.probe_every
            self.show_placeholder("Waiting for the first probe" + (f" (every {every} steps)…" if every else "…")
                                  if not run.ended else "The run ended before its layers were probed.")
            return
        layer = self.layer_id if self.layer_id is not None else next(iter(run.layers))
        history = run.layers.get(layer)
        self._sync_combo(list(run.layers), layer if history is not None else None)
        if history is None:
            self.shown_layer = None
            self.show_placeholder(f"No activation statistics for “{layer}”: only layers with a module of their "
                                  "own are probed (Add, Concat and other functional nodes are not).")
            return
        self.show_content()
        self.shown_layer = layer
        fractions, steps, low, high = history.histogram_image(BINS)
        xs = np.asarray(run.step_to_epoch(steps))
        every = run.probe_every
        if every:
            dt = float(run.step_to_epoch(every))
        elif len(xs) > 1:
            dt = float(np.median(np.diff(xs)))
        else:
            dt = float(run.step_to_epoch(1))
        idx, start, end = uniform_columns(xs, max(dt, 1e-9), min(len(xs), MAX_COLUMNS))
        display = density_levels(fractions[idx])
        self.image.setImage(display, levels=(0.0, 1.0), autoLevels=False)
        self.image_shape = display.shape
        self.image.setRect(QRectF(start, low, end - start, high - low))
        px = run.probe_epochs(layer)
        mean = history.series.column("mean")
        std = history.series.column("std")
        self.mean_curve.setData(px, mean)
        self.upper_curve.setData(px, mean + std)
        self.lower_curve.setData(px, mean - std)
        self.plot_item.setXRange(start, end, padding=0)
        self.plot_item.setYRange(low, high, padding=0.02)
        self.set_subtitle(self._summary(history))
        self.set_legend([(self.colors.validation, "mean ± 1 std", "")], "shade: share of the values")

    def _summary(self, history) -> str:
        series = history.series
        shape = "×".join(str(d) for d in history.shape[1:])
        parts = [f"{history.op} {shape}".strip()]
        if not self.layer_combo.isVisible():
            parts.insert(0, history.node_id)
        mean, std = series.column("mean")[-1], series.column("std")[-1]
        if math.isfinite(mean):
            parts.append(f"μ {mean:.3g}, σ {std:.3g}")
        dead = series.column("dead")[-1]
        if math.isfinite(dead):
            parts.append(f"dead {100 * dead:.0f} %")
        return " · ".join(parts)


__all__ = ["ActivationHistograms", "density_levels", "uniform_columns"]
