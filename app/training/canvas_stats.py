"""Live training statistics on the canvas: each card shows its layer's latest probe figures in a small pill
under it (dead units after ReLU-like layers, the gradient norm of its weights), the layer where a run's loss
went NaN/Inf is marked, and clicking a layer during or after a run shows it in the dashboard.

    CanvasStats(canvas.canvas, session, dashboard)   # one per canvas (the canvas is rebuilt per document)

It only reads: probe events from the session (already thinned to a few a second by the worker), and the
document's selection. The cards are told through `CanvasScene.set_live_stats`; nothing here paints.
Figures stay after a run ends (the network is the one that was trained) until the network is edited.
"""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer

if TYPE_CHECKING:  # imported by the main window at start-up: kept light (no numpy)
    from app.canvas.scene import CanvasScene
    from app.training.session import TrainingSession
    from graph_engine.training.events import LayerStats, ProbeEvent

UPDATE_MS = 500
SKIPPED_OPS = frozenset({"Input", "Output"})  # the data itself and a copy of the last layer


def short_number(value: float) -> str:
    """0.0312 -> "0.031", 1234.5 -> "1.2e+03", 0 -> "0"."""
    if value is None or not math.isfinite(value):
        return "NaN" if value is not None and math.isnan(value) else "Inf"
    if value == 0:
        return "0"
    magnitude = abs(value)
    if 1e-3 <= magnitude < 1e3:
        return f"{value:.2g}" if magnitude < 1 else f"{value:.3g}"
    return f"{value:.1e}"


def stats_line(stats: LayerStats) -> str:
    """What a card shows: "dead 12% · ∇ 0.031"; "μ 0.12 σ 0.98" for a layer without either figure."""
    values = (stats.mean, stats.std, stats.min, stats.max)
    if not all(math.isfinite(v) for v in values):
        return "⚠ non-finite output"
    parts = []
    if stats.dead_fraction is not None:
        parts.append(f"dead {stats.dead_fraction:.0%}")
    if stats.grad_norm is not None:
        parts.append(f"∇ {short_number(stats.grad_norm)}")
    if not parts:
        parts.append(f"μ {short_number(stats.mean)}  σ {short_number(stats.std)}")
    return " · ".join(parts)


def stats_tooltip(stats: LayerStats, step: int) -> str:
    rows = [f"<b>Training, step {step:,}</b>",
            f"activations: mean {short_number(stats.mean)}, std {short_number(stats.std)}, "
            f"min {short_number(stats.min)}, max {short_number(stats.max)}"]
    if stats.dead_fraction is not None:
        rows.append(f"dead units: {stats.dead_fraction:.1%} (zero for every probe sample)")
    if stats.grad_norm is not None:
        rows.append(f"gradient norm: {short_number(stats.grad_norm)}")
    if stats.weight_norm is not None:
        rows.append(f"weight norm: {short_number(stats.weight_norm)}")
    return "<br>".join(html.escape(r) if i else r for i, r in enumerate(rows))


class CanvasStats(QObject):
    """Feeds one canvas scene from the session (see the module docstring). `dashboard`: the
    TrainingDashboard (anything with `select_layer(node_id)`), a function returning it or None (the main window
    makes its dashboard only when first shown), or None."""

    def __init__(self, scene: CanvasScene, session: TrainingSession, dashboard: Any = None,
                 parent: QObject | None = None):
        super().__init__(parent if parent is not None else scene)
        self.scene = scene
        self.session = session
        self.dashboard = dashboard
        self.document = scene.document
        self.stats: dict[str, tuple[str, str]] = {}
        self.flagged: str | None = None
        self._pending: ProbeEvent | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(UPDATE_MS)
        self._timer.timeout.connect(self._show_pending)
        self._links = [
            (session.run_added, self._run_added), (session.probe_received, self._probe),
            (session.run_ended, self._run_ended), (self.document.selection_changed, self._selection),
            (self.document.level_changed, self._show_stats),  # the scene made its cards anew
        ]
        bridge = self.document.bridge
        for signal in (bridge.node_added, bridge.node_removed, bridge.edge_added, bridge.edge_removed,
                       bridge.node_changed, bridge.node_renamed):
            self._links.append((signal, self._edited))
        for signal, slot in self._links:
            signal.connect(slot)
        run = session.current
        if run is not None and session.document is self.document and run.latest_probe is not None:
            self._probe(run, run.latest_probe)

    def detach(self) -> None:
        for signal, slot in self._links:
            try:
                signal.disconnect(slot)
            except (RuntimeError, TypeError):  # already gone with its object
                pass
        self._links = []

    def _mine(self) -> bool:
        return self.session.document is self.document

    def _run_added(self, run: Any) -> None:
        if self._mine():
            self.clear()

    def _probe(self, run: Any, event: ProbeEvent) -> None:
        if run is not self.session.current or not self._mine():
            return
        self._pending = event  # the newest wins; the cards change at most twice a second
        if not self._timer.isActive():
            self._timer.start()

    def _show_pending(self) -> None:
        event, self._pending = self._pending, None
        if event is not None and self.session.running and self._mine():
            self._apply_probe(event)

    def _apply_probe(self, event: ProbeEvent) -> None:
        graph = self.document.project.graph  # probes are of the project graph's layers (block instances too)
        stats = {}
        for node_id, layer in event.layers.items():
            if node_id in graph and layer.op not in SKIPPED_OPS:
                stats[node_id] = (stats_line(layer), stats_tooltip(layer, event.step))
        self.stats = stats
        self._show_stats()

    def _show_stats(self, *args) -> None:
        """The statistics on the cards, when the canvas shows the project graph (inside a block definition its
        layers' ids are another graph's, so nothing is shown there)."""
        inside = self.document.current_block is not None
        self.scene.set_live_stats({} if inside else self.stats, None if inside else self.flagged)

    def _run_ended(self, run: Any, event: Any) -> None:
        if not self._mine():
            return
        if self._pending is not None:  # the last figures of the run
            self._timer.stop()
            pending, self._pending = self._pending, None
            self._apply_probe(pending)
        node = getattr(event, "node_id", None)
        if getattr(event, "status", "") == "failed" and node and node in self.document.project.graph:
            self.flagged = event.node_id
            text = "⚠ NaN/Inf started here" if event.kind == "nonfinite" else "⚠ the run failed here"
            self.stats[event.node_id] = (text, f"<b>Training failed</b><br>{html.escape(event.message)}")
        self._show_stats()

    def _edited(self, *_args: Any) -> None:
        if not self.session.running and (self.stats or self.flagged):
            self.clear()

    def clear(self) -> None:
        self._timer.stop()
        self._pending = None
        self.stats, self.flagged = {}, None
        self.scene.set_live_stats({}, None)

    def _selection(self, node_ids: list[str]) -> None:
        dashboard = self.dashboard
        if callable(dashboard) and not hasattr(dashboard, "select_layer"):
            dashboard = dashboard()
        if dashboard is None or len(node_ids) != 1 or self.session.latest is None:
            return
        dashboard.select_layer(node_ids[0])


__all__ = ["CanvasStats", "short_number", "stats_line", "stats_tooltip"]
