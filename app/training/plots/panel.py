"""`LivePanel`: what every training plot shares. A title line, the plot (or a short explanatory placeholder when
the plot does not apply), and the refresh discipline that keeps live plotting cheap:

- a panel listens to `RunData.updated(kind)` for the kinds it draws (`KINDS`) and only marks itself dirty;
- a single-shot QTimer (`REFRESH_MS`, 100 ms) coalesces every update in that window into one `refresh()`,
  so a panel redraws at most ~10 times a second however often data arrives;
- a hidden panel (a closed dock, another tab) stays dirty and refreshes once when it is shown again;
- under a dashboard the panels take turns instead, one redraw per tick across all of them
  (`set_budget`, app/training/plots/refresh.py), so they never all repaint in the same pass;
- `refresh()` only calls setData/setImage on items made once in the constructor (or once per new layer / run
  slot), never clears and rebuilds the scene.

Mouse (every plot view the panel makes): the wheel scrolls what the dashboard sits in (the event is passed on
to the parents), Ctrl+wheel zooms the plot, a double-click resets it; once a plot is zoomed or panned a
"Reset view" button shows in the panel's header.

Also: `make_plot()` builds a pyqtgraph PlotWidget styled from the palette with peak downsampling and clip to
view, and `apply_colors()` restyles everything when the palette changes (light <-> dark at runtime).
"""

from __future__ import annotations

import html
from typing import Any

import pyqtgraph as pg
import shiboken6
from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QWheelEvent
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QApplication,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.training.plots.colors import PlotColors
from app.training.run_data import RunData

REFRESH_MS = 100
TICK_DENSITY = 1.7  # pyqtgraph's default spacing with major ticks only leaves 2-3 labels on a small plot
ALL_KINDS = frozenset({"steps", "epoch", "probe", "status"})


class LivePanel(QWidget):
    """Base of the dashboard's panels; subclasses build their items in __init__ and implement refresh()."""

    KINDS: frozenset[str] = ALL_KINDS
    refreshed = Signal()  # after every refresh (tests wait on it)
    # The epochs the x axis was last set to span (panels that show the whole run's width set it once per
    # change, so a person's zoom is not undone by every refresh); 0: set it again on the next refresh.
    _planned_epochs = 0
    min_interval_ms = REFRESH_MS  # under a RefreshBudget: never redrawn sooner than this after the last time

    def __init__(self, title: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.colors = PlotColors.from_palette(self.palette())
        self.run: RunData | None = None
        self.overlay_runs: list[RunData] = []
        self.refresh_count = 0
        self._dirty = False
        self._plots: list[tuple[pg.PlotItem, dict[str, str]]] = []
        self._plot_widgets: list[pg.GraphicsView] = []
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self._on_timer)
        self._budget: Any = None  # a RefreshBudget (refresh.py) when a dashboard shares one among its panels

        self.title_label = QLabel(title)
        font = QFont(self.title_label.font())
        font.setBold(True)
        self.title_label.setFont(font)
        self.subtitle_label = ElidedLabel()
        self.subtitle_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.reset_button = QToolButton()
        self.reset_button.setObjectName("plotReset")
        self.reset_button.setText("⟲ Reset view")
        self.reset_button.setToolTip("Show the whole plot again (or double-click the plot). Ctrl+wheel zooms.")
        self.reset_button.setAutoRaise(True)
        self.reset_button.clicked.connect(self.reset_view)
        self.reset_button.hide()
        self._mouse = PlotMouse(self)
        self.header_layout = header = QHBoxLayout()
        header.setContentsMargins(4, 0, 4, 0)
        header.addWidget(self.title_label)
        header.addWidget(self.subtitle_label, 1)
        header.addWidget(self.reset_button)

        self.placeholder = QLabel()
        self.placeholder.setWordWrap(True)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setMargin(16)
        self.placeholder.setAutoFillBackground(True)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.placeholder)
        # A legend under the plot, for panels whose lines could be anywhere (an in-plot legend would hide
        # some); entries may be links (href = a node id) that choose a layer.
        self.legend_label = QLabel()
        self.legend_label.setTextFormat(Qt.TextFormat.RichText)
        self.legend_label.setWordWrap(True)
        self.legend_label.setContentsMargins(4, 0, 4, 0)
        self.legend_label.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(2)
        layout.addLayout(header)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.legend_label)
        self.setMinimumSize(180, 150)
        # The dashboard's grid stretches decide the sizes, not the plots' large size hints.
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self._style_labels()

    def hasHeightForWidth(self) -> bool:
        # The wrapping legend label would make the whole panel height-for-width, and a grid then sizes its
        # rows by preferred heights instead of its stretch factors.
        return False

    # ---- the run ------------------------------------------------------------------------------------

    def set_run(self, run: RunData | None) -> None:
        """Show `run` (None: nothing). The panel redraws within REFRESH_MS."""
        if run is self.run:
            return
        if self.run is not None:
            disconnect_run(self.run, self._on_run_updated)
        self.run = run
        if run is not None:
            if run in self.overlay_runs:  # now the current run: not an overlay any more
                self.overlay_runs.remove(run)
                run.updated.disconnect(self._on_run_updated)
                self.overlays_changed()
            run.updated.connect(self._on_run_updated)
        self.run_changed()
        self.schedule()

    def set_overlay_runs(self, runs: list[RunData]) -> None:
        """Other runs to draw next to the current one (panels that compare runs use `overlay_runs`). The
        current run is left out if listed."""
        for run in self.overlay_runs:
            disconnect_run(run, self._on_run_updated)
        self.overlay_runs = [r for r in dict.fromkeys(runs) if r is not self.run]
        for run in self.overlay_runs:
            run.updated.connect(self._on_run_updated)
        self.overlays_changed()
        self.schedule()

    def overlays_changed(self) -> None:
        """The overlay runs changed (legends are rebuilt here, not on every refresh)."""

    def run_color(self, run: RunData, index: int) -> QColor:
        """A run's colour: the one pinned on it (RunData.color), else the index-th of the run palette."""
        if run.color:
            return QColor(run.color)
        return self.colors.run_color(index)

    def run_changed(self) -> None:
        """A new run (or none): forget anything kept about the previous one."""

    def _on_run_updated(self, kind: str) -> None:
        if kind in self.KINDS:
            self.schedule()

    # ---- refresh discipline -------------------------------------------------------------------------------

    @property
    def dirty(self) -> bool:
        return self._dirty

    def set_budget(self, budget: Any) -> None:
        """Take turns with the other panels of `budget` (a RefreshBudget) instead of refreshing on a timer."""
        self._budget = budget

    def schedule(self) -> None:
        """Something changed: refresh once within REFRESH_MS (several calls in that time cost one refresh)."""
        self._dirty = True
        if self._budget is not None:
            self._budget.request(self)
        elif not self._timer.isActive():
            self._timer.start()

    def _on_timer(self) -> None:
        if self.isVisible():
            self.refresh_now()
        # hidden: stay dirty; showEvent refreshes

    def flush(self) -> None:
        """Refresh now if something is pending and the panel is visible (a screenshot, a test)."""
        if self._dirty and self.isVisible():
            self._timer.stop()
            if self._budget is not None:
                self._budget.forget(self)
            self.refresh_now()

    def refresh_now(self) -> None:
        self._dirty = False
        self.refresh_count += 1
        self.refresh()
        self.refreshed.emit()

    def refresh(self) -> None:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        if self._dirty and self._budget is not None:
            self._budget.request(self)
        elif self._dirty and not self._timer.isActive():
            # A single zero-delay refresh; start(0) would set the coalescing timer's interval to 0 for good.
            QTimer.singleShot(0, self._on_timer)

    # ---- placeholder / plot ---------------------------------------------------------------------------

    def set_content(self, widget: QWidget) -> None:
        self.stack.addWidget(widget)
        self.stack.setCurrentWidget(widget)

    def show_placeholder(self, text: str) -> None:
        """Replace the plot with a short explanation (the panel does not apply, or has nothing yet)."""
        self.placeholder.setText(text)
        self.stack.setCurrentWidget(self.placeholder)
        self.legend_label.hide()
        self.set_subtitle("")

    def show_content(self) -> None:
        if self.stack.count() > 1:
            self.stack.setCurrentIndex(1)
        self.legend_label.setVisible(bool(self.legend_label.text()))

    @property
    def showing_placeholder(self) -> bool:
        return self.stack.currentWidget() is self.placeholder

    def set_subtitle(self, text: str) -> None:
        self.subtitle_label.set_full_text(text)

    def set_legend(self, entries: list[tuple[QColor, str, str]], note: str = "") -> None:
        """The legend under the plot: (colour, text, href) entries, a link when href is set; `note` after
        them in the secondary colour. No entries and no note: no legend."""
        if not entries and not note:
            self.legend_label.clear()
            self.legend_label.hide()
            return
        parts = []
        for color, text, href in entries:
            name = html.escape(text)
            if href:
                name = (f"<a href='{html.escape(href, quote=True)}' style='color:{self.colors.foreground.name()};"
                        f"text-decoration:none'>{name}</a>")
            parts.append(f"<span style='color:{color.name()}'>■</span>&nbsp;{name}")
        if note:
            parts.append(f"<span style='color:{self.colors.muted.name()}'>{html.escape(note)}</span>")
        text = " &nbsp; ".join(parts)
        if self.legend_label.text() != text:
            self.legend_label.setText(text)
        self.legend_label.setVisible(not self.showing_placeholder)

    # ---- plots and colours --------------------------------------------------------------------------------

    def make_plot(self, *, bottom: str = "", left: str = "", mouse: bool = True,
                  log_left: bool = False) -> pg.PlotWidget:
        """A PlotWidget styled from the palette, with peak downsampling and clip-to-view for long runs.
        `log_left`: the left axis is a LogAxis (decade labels only when the range is wide)."""
        axes = {"left": LogAxis("left")} if log_left else None
        widget = pg.PlotWidget(background=self.colors.background, axisItems=axes)
        widget.setMinimumSize(120, 90)
        item = widget.getPlotItem()
        item.setDownsampling(auto=True, mode="peak")
        item.setClipToView(True)
        item.hideButtons()
        item.setMenuEnabled(False)
        if not mouse:
            item.getViewBox().setMouseEnabled(x=False, y=False)
        else:
            item.getViewBox().sigRangeChangedManually.connect(self._zoomed)
        widget.viewport().installEventFilter(self._mouse)
        for name in ("left", "bottom", "right"):
            axis = item.getAxis(name)
            axis.enableAutoSIPrefix(False)
            # Major ticks (and grid lines) only, a few more of them: the minor level's many alpha-blended grid
            # lines made up two thirds of a plot's paint time (~6 ms -> ~1.5 ms a plot here).
            axis.setTickDensity(TICK_DENSITY)
            if not isinstance(axis, LogAxis):
                axis.setStyle(maxTickLevel=0)
        labels = {"bottom": bottom, "left": left}
        self._plots.append((item, labels))
        self._plot_widgets.append(widget)
        self._style_plot(item, labels)
        return widget

    def register_view(self, widget: pg.GraphicsView) -> None:
        """A non-PlotWidget graphics view whose background follows the palette."""
        self._plot_widgets.append(widget)
        widget.setBackground(self.colors.background)
        widget.viewport().installEventFilter(self._mouse)

    def _zoomed(self, *_args: Any) -> None:
        self.reset_button.show()

    def reset_view(self) -> None:
        """Back to the panel's own view (double-click, "Reset view"): y follows the data again and x spans
        the run (or the data)."""
        for item, _ in self._plots:
            box = item.getViewBox()
            if any(box.state["mouseEnabled"]):
                box.enableAutoRange(x=True, y=True)
        self._planned_epochs = 0
        self.reset_button.hide()
        self._dirty = True
        if self.isVisible():
            self._timer.stop()
            self.refresh_now()

    def label_plot(self, item: pg.PlotItem, **labels: str) -> None:
        """Change axis labels (kept so that a palette change re-colours them)."""
        for plot, known in self._plots:
            if plot is item:
                known.update(labels)
                self._style_plot(item, known)

    def _style_plot(self, item: pg.PlotItem, labels: dict[str, str]) -> None:
        c = self.colors
        pen = pg.mkPen(c.muted, width=1)
        text_pen = pg.mkPen(c.foreground)
        for name in ("left", "bottom", "right"):
            axis = item.getAxis(name)
            axis.setPen(pen)
            axis.setTextPen(text_pen)
            if name in labels and labels[name]:
                axis.setLabel(labels[name], color=c.foreground.name())
        item.showGrid(x=True, y=True, alpha=c.grid_alpha)

    def _style_labels(self) -> None:
        self.subtitle_label.setStyleSheet(f"color: {self.colors.muted.name()};")
        self.legend_label.setStyleSheet(f"color: {self.colors.foreground.name()};")
        self.placeholder.setStyleSheet(f"color: {self.colors.muted.name()};"
                                       f"background: {self.colors.background.name()};")

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            colors = PlotColors.from_palette(self.palette())
            if colors != self.colors:
                self.colors = colors
                self._style_labels()
                for widget in self._plot_widgets:
                    widget.setBackground(colors.background)
                for item, labels in self._plots:
                    self._style_plot(item, labels)
                self.apply_colors()
                self.schedule()

    def apply_colors(self) -> None:
        """Re-pen the panel's own items from `self.colors` (images are redrawn by the refresh that follows)."""


class PlotMouse(QObject):
    """Event filter on a panel's plot viewports (module docstring): a plain wheel is not the plot's, Ctrl+wheel
    is; a double-click resets the panel's view."""

    def __init__(self, panel: LivePanel):
        super().__init__(panel)
        self.panel = panel

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.Wheel and not event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            # Not the plot's: handed to the scroll bar of the nearest scroll area around the panel (the
            # dashboard's), as if the wheel had turned over a blank part of it.
            area = _scroll_area_around(self.panel)
            if area is not None:
                delta = event.angleDelta()
                bar = area.verticalScrollBar() if abs(delta.y()) >= abs(delta.x()) else area.horizontalScrollBar()
                QApplication.sendEvent(bar, QWheelEvent(
                    event.position(), event.globalPosition(), event.pixelDelta(), delta, event.buttons(),
                    event.modifiers(), event.phase(), event.inverted()))
            return True
        if kind == QEvent.Type.MouseButtonDblClick and event.button() == Qt.MouseButton.LeftButton:
            self.panel.reset_view()
            return True
        return False


def _scroll_area_around(widget: QWidget) -> QAbstractScrollArea | None:
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QAbstractScrollArea) and not isinstance(parent, pg.GraphicsView):
            return parent
        parent = parent.parentWidget()
    return None


def disconnect_run(run: RunData, slot: Any) -> None:
    """Disconnect `slot` from run.updated unless the run's QObject is already deleted (a run removed from the
    runs list is deleteLater()'d; its connections went with it, and touching its signal would raise)."""
    if shiboken6.isValid(run):
        run.updated.disconnect(slot)


class LogAxis(pg.AxisItem):
    """A log-mode axis that labels only the powers of ten once the view spans more than ~1.3 decades:
    pyqtgraph otherwise labels every minor tick (0.9 0.8 0.7 ...) when it finds fewer than three decades."""

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list:
        levels = super().tickValues(minVal, maxVal, size)
        # Linear (the learning rate without a schedule): major ticks only, like the other axes. Log: keep
        # the minor decade ticks, which are the point of a log axis.
        return levels if self.logMode else levels[:1]

    def logTickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        strings = super().logTickStrings(values, scale, spacing)
        low, high = self.range if self.range is not None else (0.0, 0.0)
        if abs(high - low) < 1.3:
            return strings
        return [text if abs(v - round(v)) < 1e-6 else "" for v, text in zip(values, strings, strict=False)]


class ElidedLabel(QLabel):
    """A one-line plain-text label that shortens its text with "…" to the width it is given (the whole text
    is its tooltip) instead of asking for more room or being cut off mid-glyph."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._full = ""
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    def set_full_text(self, text: str) -> None:
        if text != self._full:
            self._full = text
            self.setToolTip(text)
            self._elide()

    def full_text(self) -> str:
        return self._full

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        width = max(0, self.contentsRect().width())
        self.setText(self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, width))


def pen(color: Any, width: float = 1.5, style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> Any:
    """A cosmetic pen (pyqtgraph's mkPen is cosmetic: the width is in pixels whatever the zoom)."""
    return pg.mkPen(color, width=width, style=style)


__all__ = ["ALL_KINDS", "REFRESH_MS", "ElidedLabel", "LivePanel", "LogAxis", "PlotMouse", "disconnect_run", "pen"]
