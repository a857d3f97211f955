"""The final model's confusion matrix on the validation set (FinishedEvent.confusion_matrix), drawn like
MATLAB's confusionchart: true class down the rows, predicted class along the columns, each cell showing its
count; correct predictions (the diagonal) in blue and mistakes in orange-red, the shade by the fraction of
that true class. Shown when a classification run with a validation set ends."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QWidget

from app.training.plots.panel import LivePanel

MAX_LABELLED = 20  # more classes than this: no count in each cell (they would not fit)
MAX_TICK_NAME = 10


def confusion_image(matrix: np.ndarray, background: QColor, dark: bool) -> np.ndarray:
    """uint8 RGBA [K (true, row), K (predicted, column), 4]: diagonal blue, off-diagonal orange-red, shaded by
    the count's fraction of its row (a light floor, so a single mistake still shows)."""
    m = np.asarray(matrix, dtype=np.float64)
    rows = m.sum(axis=1, keepdims=True)
    frac = np.divide(m, rows, out=np.zeros_like(m), where=rows > 0)
    good = QColor("#1f5fae") if not dark else QColor("#3d86e0")
    bad = QColor("#d9480f") if not dark else QColor("#ff7a3d")
    bg = np.array([background.redF(), background.greenF(), background.blueF()])
    out = np.empty(m.shape + (4,), dtype=np.uint8)
    shade = np.where(m > 0, 0.25 + 0.75 * frac, 0.0)[..., None]
    diag = np.eye(len(m), dtype=bool)[..., None]
    color = np.where(diag, [good.redF(), good.greenF(), good.blueF()], [bad.redF(), bad.greenF(), bad.blueF()])
    rgb = bg * (1 - shade) + color * shade
    out[..., :3] = np.round(np.clip(rgb, 0, 1) * 255)
    out[..., 3] = 255
    return out


class ConfusionMatrix(LivePanel):
    """Counts per (true, predicted) class at the end of a classification run."""

    KINDS = frozenset({"status"})

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Confusion matrix", parent)
        self.plot_widget = self.make_plot(bottom="predicted class", left="true class", mouse=False)
        self.plot_item = item = self.plot_widget.getPlotItem()
        item.showGrid(x=False, y=False)
        item.getViewBox().invertY(True)
        item.getViewBox().setAspectLocked(True)
        self.image = pg.ImageItem(axisOrder="row-major")
        item.addItem(self.image)
        self.cell_labels: list[pg.TextItem] = []  # K*K, made once per class count
        self.matrix: np.ndarray | None = None
        self._size = 0
        self.set_content(self.plot_widget)
        self.show_placeholder("The confusion matrix appears when a classification run ends.")

    def run_changed(self) -> None:
        self.matrix = None

    def apply_colors(self) -> None:
        self._size = -1  # re-colour the cell texts on the next refresh

    def refresh(self) -> None:
        run = self.run
        if run is None:
            self.show_placeholder("The confusion matrix appears when a classification run ends.")
            return
        if not run.is_classification:
            self.show_placeholder("A confusion matrix is for classification; this run is "
                                  f"{run.task or 'not a classification'}.")
            return
        matrix = run.confusion_matrix
        if matrix is None:
            if run.status == "finished" and not run.has_validation:
                text = "No confusion matrix: this run has no validation set (val_fraction = 0)."
            elif run.ended:
                text = "The confusion matrix is made when a run finishes; this one " + run.status + "."
            else:
                text = "The confusion matrix appears when the run finishes."
            self.show_placeholder(text)
            return
        self.show_content()
        m = np.asarray(matrix, dtype=np.int64)
        k = len(m)
        self.matrix = m
        c = self.colors
        self.image.setImage(confusion_image(m, c.background, c.dark), autoLevels=False, levels=None)
        self.image.setRect(QRectF(0, 0, k, k))
        names = list(run.class_names[:k]) if len(run.class_names) >= k else [str(i) for i in range(k)]
        short = [n if len(n) <= MAX_TICK_NAME else n[:MAX_TICK_NAME - 1] + "…" for n in names]
        ticks = [[(i + 0.5, short[i]) for i in range(k)]]
        self.plot_item.getAxis("bottom").setTicks(ticks)
        self.plot_item.getAxis("left").setTicks(ticks)
        self._update_labels(m)
        self.plot_item.setRange(QRectF(0, 0, k, k), padding=0.01)
        total = int(m.sum())
        correct = int(np.trace(m))
        self.set_subtitle(f"{100 * correct / max(1, total):.1f} % of {total} correct")

    def _update_labels(self, m: np.ndarray) -> None:
        k = len(m)
        wanted = k * k if k <= MAX_LABELLED else 0
        rebuild = len(self.cell_labels) != wanted
        if rebuild:
            for label in self.cell_labels:
                self.plot_item.removeItem(label)
            font = QFont()
            font.setPointSizeF(8.0 if k > 6 else 9.5)
            self.cell_labels = []
            for i in range(wanted):
                label = pg.TextItem(anchor=(0.5, 0.5))
                label.setFont(font)
                label.setPos(i % k + 0.5, i // k + 0.5)
                self.plot_item.addItem(label)
                self.cell_labels.append(label)
        if not wanted:
            return
        rows = m.sum(axis=1)
        text = self.colors.foreground
        for i, label in enumerate(self.cell_labels):
            r, col = divmod(i, k)
            value = int(m[r, col])
            label.setText(str(value) if value or r == col else "")
            strong = rows[r] > 0 and value / rows[r] > 0.5
            label.setColor(QColor("#ffffff") if strong else text)
        self._size = k


__all__ = ["ConfusionMatrix", "confusion_image"]
