"""The final model's confusion matrix on the validation set (FinishedEvent.confusion_matrix), drawn like
MATLAB's confusionchart: true class down the rows, predicted class along the columns, each cell showing its
count; correct predictions (the diagonal) in blue and mistakes in orange-red, the shade by the fraction of
that true class. Shown when a classification run with a validation set ends.

Labels never overlap, whatever the class count and the panel's size (`_fit_labels`, again on every resize):
the counts take the largest font from 9.5 down to 6 pt that fits inside a cell, else none is written; the
class names on the axes are shortened ("autom…") to the cell's width, numbered when not even that fits, and
only every n-th is written when the cells are smaller than one line of text. The full names and the count
are in the tooltip of the cell under the pointer."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF
from PySide6.QtWidgets import QWidget

from app.training.plots.panel import LivePanel

MAX_LABELLED = 40  # more classes than this: no count in each cell (they could not be read)
MAX_TICK_NAME = 10
COUNT_POINTS = (9.5, 8.5, 7.5, 6.5, 6.0)  # font sizes tried for the counts, largest first
TICK_POINTS = 8.0
LEFT_LABEL_PX = 76  # the widest a true-class name on the left axis may be


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
        self.names: list[str] = []
        self._size = 0
        self._fitted: tuple | None = None  # (k, cell px) the labels were last fitted for
        self.tick_font = QFont()
        self.tick_font.setPointSizeF(TICK_POINTS)
        for side in ("bottom", "left"):
            item.getAxis(side).setStyle(tickFont=self.tick_font, autoExpandTextSpace=True)
        item.getViewBox().sigResized.connect(self._fit_labels)
        self.plot_widget.scene().sigMouseMoved.connect(self._hover)
        self.set_content(self.plot_widget)
        self.show_placeholder("The confusion matrix appears when a classification run ends.")

    def run_changed(self) -> None:
        self.matrix = None
        self._fitted = None

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
        self.names = list(run.class_names[:k]) if len(run.class_names) >= k else [str(i) for i in range(k)]
        self._update_labels(m)
        self.plot_item.setRange(QRectF(0, 0, k, k), padding=0.01)
        self._fitted = None
        self._fit_labels()
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
            self.cell_labels = []
            for i in range(wanted):
                label = pg.TextItem(anchor=(0.5, 0.5))
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

    # ---- labels that fit -------------------------------------------------------------------------------

    def cell_pixels(self) -> float:
        """The side of one cell on screen (the aspect is locked: cells are square)."""
        box = self.plot_item.getViewBox()
        width, _height = box.viewPixelSize()
        return 1.0 / width if width > 0 else 0.0

    def _fit_labels(self, *_args) -> None:
        m = self.matrix
        if m is None or self.showing_placeholder:
            return
        k = len(m)
        cell = self.cell_pixels()
        key = (k, round(cell, 1), tuple(self.names))
        if cell <= 0 or key == self._fitted:
            return
        self._fitted = key
        self._fit_counts(m, cell)
        self._fit_ticks(k, cell)

    def _fit_counts(self, m: np.ndarray, cell: float) -> None:
        if not self.cell_labels:
            return
        widest = str(int(m.max())) if m.size else "0"
        chosen = None
        for points in COUNT_POINTS:
            font = QFont()
            font.setPointSizeF(points)
            metrics = QFontMetricsF(font)
            # TextItem pads its text by a few pixels: leave that room too.
            if metrics.horizontalAdvance(widest) + 6 <= cell and metrics.height() + 2 <= cell:
                chosen = font
                break
        for label in self.cell_labels:
            if chosen is None:
                label.hide()
            else:
                label.setFont(chosen)
                label.show()

    def _fit_ticks(self, k: int, cell: float) -> None:
        metrics = QFontMetricsF(self.tick_font)
        line = metrics.height()
        gap = 4.0
        # Along the bottom each name gets one cell's width; too narrow for even "ab…": the class numbers.
        names = [n if len(n) <= MAX_TICK_NAME else n[:MAX_TICK_NAME - 1] + "…" for n in self.names]
        room = cell - gap
        bottom = [metrics.elidedText(n, Qt.TextElideMode.ElideRight, room) for n in names]
        if any(b in ("", "…") or (len(b) < min(3, len(n)) and b.endswith("…")) for b, n in zip(bottom, names,
                                                                                              strict=True)):
            bottom = [str(i) for i in range(k)]
        widest = max(metrics.horizontalAdvance(b) for b in bottom) + gap
        step_bottom = max(1, int(np.ceil(widest / max(cell, 1e-6))))
        # Down the left each name gets one cell's height and at most LEFT_LABEL_PX of width.
        left = [metrics.elidedText(n, Qt.TextElideMode.ElideMiddle, LEFT_LABEL_PX) for n in self.names]
        step_left = max(1, int(np.ceil((line + 1) / max(cell, 1e-6))))
        self.plot_item.getAxis("bottom").setTicks(
            [[(i + 0.5, bottom[i]) for i in range(0, k, step_bottom)], []])
        self.plot_item.getAxis("left").setTicks([[(i + 0.5, left[i]) for i in range(0, k, step_left)], []])

    def cell_tooltip(self, row: int, col: int) -> str:
        m = self.matrix
        if m is None or not (0 <= row < len(m) and 0 <= col < len(m)):
            return ""
        total = int(m[row].sum())
        share = f" ({100 * m[row, col] / total:.1f} % of true {self.names[row]})" if total else ""
        return f"true {self.names[row]} · predicted {self.names[col]}: {int(m[row, col])}{share}"

    def _hover(self, scene_pos: QPointF) -> None:
        if self.matrix is None:
            return
        point = self.plot_item.getViewBox().mapSceneToView(scene_pos)
        text = self.cell_tooltip(int(np.floor(point.y())), int(np.floor(point.x())))
        if self.plot_widget.toolTip() != text:
            self.plot_widget.setToolTip(text)


__all__ = ["ConfusionMatrix", "confusion_image"]
