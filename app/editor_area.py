"""`EditorArea`: the main window's central area, in two perspectives.

- **Design**: the canvas alone (the docks around it hold the palette, inspector, problems...).
- **Train**: the canvas on the left with the run list under it, the training dashboard on the right, in the
  central area itself (not a dock). The main window hides the design docks while it shows this perspective,
  so the dashboard's room comes from them and never from the canvas: at 1400x900 the canvas keeps ~600 x 540
  px, enough for a fitted template's cards to show their shapes (a card collapses to a pill below 58 % zoom,
  app/canvas/appearance.py), and the dashboard ~800 x 800 px, every plot readable without scrolling.

The splitters may be dragged; their sizes are saved with the window state (app/main_window.py) under the
same STATE_VERSION, so a layout saved by an older version is never restored.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QLabel, QSplitter, QStackedWidget, QWidget

CANVAS_FRACTION = 0.43  # of the width, in the Train perspective
CANVAS_HEIGHT_FRACTION = 0.68  # of the height of the left column (the run list takes the rest)
MIN_CANVAS = (380, 300)


class EditorArea(QSplitter):
    """See the module docstring."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.setObjectName("editorArea")
        self.setChildrenCollapsible(False)
        self.canvas_column = QSplitter(Qt.Orientation.Vertical, self)
        self.canvas_column.setObjectName("canvasColumn")
        self.canvas_column.setChildrenCollapsible(False)
        self.canvas_host = QStackedWidget(self.canvas_column)
        self.canvas_host.setObjectName("canvasHost")
        self.canvas_host.setMinimumSize(*MIN_CANVAS)
        self.runs_host = QStackedWidget(self.canvas_column)
        self.runs_host.setObjectName("runsHost")
        self.canvas_column.addWidget(self.canvas_host)
        self.canvas_column.addWidget(self.runs_host)
        self.canvas_column.setStretchFactor(0, 1)
        self.dashboard_host = QStackedWidget(self)
        self.dashboard_host.setObjectName("dashboardHost")
        self.dashboard_host.addWidget(QLabel("Start a run to see its curves here.", self.dashboard_host))
        self.addWidget(self.canvas_column)
        self.addWidget(self.dashboard_host)
        self.setStretchFactor(1, 1)
        self.training = False
        self._fractions = (CANVAS_FRACTION, CANVAS_HEIGHT_FRACTION)
        self.runs_host.hide()
        self.dashboard_host.hide()

    def set_canvas(self, canvas: QWidget) -> None:
        """Show this document's canvas (the previous one is deleted by the window)."""
        self.canvas_host.addWidget(canvas)
        self.canvas_host.setCurrentWidget(canvas)

    def set_training_views(self, runs: QWidget, dashboard: QWidget) -> None:
        """Put the run list and the dashboard (made once, on first use) in their places."""
        for host, widget in ((self.runs_host, runs), (self.dashboard_host, dashboard)):
            old = host.currentWidget()
            host.addWidget(widget)
            host.setCurrentWidget(widget)
            if old is not None and old is not widget:
                host.removeWidget(old)
                old.deleteLater()

    def set_training(self, on: bool) -> None:
        """Switch between the Design (canvas only) and Train perspectives."""
        if self.training and not on:
            self._remember_sizes()
        self.training = on
        self.runs_host.setVisible(on)
        self.dashboard_host.setVisible(on)
        if on:
            self._apply_sizes()
            # Again once the newly shown halves are laid out (before that the splitter spreads the sizes
            # given by its own rules, not these fractions).
            QTimer.singleShot(0, self, self._apply_sizes_if_training)

    def _apply_sizes_if_training(self) -> None:
        if self.training:
            self._apply_sizes()

    def _remember_sizes(self) -> None:
        across, down = self.sizes(), self.canvas_column.sizes()
        if sum(across) > 0 and sum(down) > 0 and min(across + down) > 0:
            self._fractions = (across[0] / sum(across), down[0] / sum(down))

    def _apply_sizes(self) -> None:
        across, down = self._fractions
        width, height = self.width(), self.canvas_column.height()
        if width < 100 or height < 100:
            return  # not laid out yet: the deferred call applies them
        self.setSizes([int(width * across), width - int(width * across)])
        self.canvas_column.setSizes([int(height * down), height - int(height * down)])

    def saved_sizes(self) -> str:
        """The Train perspective's split as text (what the window keeps in its settings)."""
        if self.training:
            self._remember_sizes()
        return f"{self._fractions[0]:.4f},{self._fractions[1]:.4f}"

    @staticmethod
    def default_sizes_text() -> str:
        return f"{CANVAS_FRACTION:.4f},{CANVAS_HEIGHT_FRACTION:.4f}"

    def restore_sizes(self, text: object) -> bool:
        try:
            across, down = (float(v) for v in str(text).split(","))
        except (TypeError, ValueError):
            return False
        if not (0.2 <= across <= 0.8 and 0.2 <= down <= 0.9):
            return False
        self._fractions = (across, down)
        if self.training:
            self._apply_sizes()
        return True


__all__ = ["EditorArea"]
