"""What the network predicts over the plane, for 2-D point datasets (moons, circles, spirals, xor), the way
TensorFlow Playground shows it: each grid cell is tinted with the class colours mixed by the predicted
probabilities, strongly where the network is sure and fading to the background where it hesitates; the
boundary (where the two most likely classes tie) is drawn as a line; the training points sit on top in their
class colours. The grid comes from the engine's probe (ProbeEvent.decision_boundary)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QWidget

from app.training.plots.colors import with_alpha
from app.training.plots.panel import LivePanel, pen

MAX_TINT = 0.62  # the surest cell's tint: pastel, so points of the same class still stand out on it

NOT_2D = ("The decision boundary is drawn for classification of 2-D points (moons, circles, spirals, xor); "
          "networks with a Conv2d layer show their feature maps here instead.")


def boundary_image(probs: np.ndarray, class_colors: list[QColor], background: QColor) -> np.ndarray:
    """uint8 RGBA [G (y), G (x), 4] from class probabilities [G, G, K] (row-major, y up the rows)."""
    p = np.nan_to_num(np.asarray(probs, dtype=np.float32))
    k = p.shape[-1]
    colors = np.array([[c.redF(), c.greenF(), c.blueF()] for c in class_colors[:k]], dtype=np.float32)
    total = p.sum(-1, keepdims=True)
    p = np.divide(p, total, out=np.full_like(p, 1.0 / k), where=total > 0)
    mixed = p @ colors
    sure = (p.max(-1) - 1.0 / k) / (1.0 - 1.0 / k) if k > 1 else np.ones(p.shape[:2], np.float32)
    tint = (MAX_TINT * np.clip(sure, 0.0, 1.0) ** 0.7)[..., None]
    bg = np.array([background.redF(), background.greenF(), background.blueF()], dtype=np.float32)
    rgb = bg * (1.0 - tint) + mixed * tint
    out = np.empty(p.shape[:2] + (4,), dtype=np.uint8)
    out[..., :3] = np.round(np.clip(rgb, 0, 1) * 255)
    out[..., 3] = 255
    return out


def tie_margins(probs: np.ndarray) -> list[np.ndarray]:
    """Per class k (one for two classes): p_k minus the largest other class's p, zero on k's boundary."""
    p = np.asarray(probs, dtype=np.float32)
    k = p.shape[-1]
    if k < 2:
        return []
    out = []
    for c in range(1 if k == 2 else k):
        others = np.delete(p, c, axis=-1).max(-1)
        out.append(p[..., c] - others)
    return out


class DecisionBoundary(LivePanel):
    """Class-probability grid as an image, with the boundary line and the training points."""

    KINDS = frozenset({"probe", "status"})

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Decision boundary", parent)
        self.plot_widget = self.make_plot(bottom="x₁", left="x₂", mouse=False)
        self.plot_item = item = self.plot_widget.getPlotItem()
        item.showGrid(x=False, y=False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setZValue(-10)
        item.addItem(self.image)
        self.contours: list[pg.IsocurveItem] = []  # made once per class count, parented to the image
        self.scatter = pg.ScatterPlotItem(size=6, pxMode=True)
        item.addItem(self.scatter)
        self.image_shape: tuple[int, ...] = ()
        self._points_key: tuple = ()
        self._range_key: tuple = ()
        self.set_content(self.plot_widget)
        self.apply_colors()
        self.show_placeholder(NOT_2D)

    def apply_colors(self) -> None:
        for contour in self.contours:
            contour.setPen(pen(with_alpha(self.colors.foreground, 0.75), 1.6))
        self._points_key = ()  # point outlines follow the background: re-set them

    def run_changed(self) -> None:
        self._points_key = ()
        self._range_key = ()

    def refresh(self) -> None:
        run = self.run
        probe = run.latest_probe if run is not None else None
        db = probe.decision_boundary if probe is not None else None
        if run is None or db is None:
            if run is not None and probe is None and not run.ended and run.probe_every != 0:
                self.show_placeholder("Waiting for the first probe…")
            elif run is not None and run.probe_every == 0:
                self.show_placeholder("Probes are off for this run (probe_every = 0).")
            else:
                self.show_placeholder(NOT_2D)
            return
        self.show_content()
        c = self.colors
        k = db.probs.shape[-1]
        class_colors = [c.class_color(i) for i in range(k)]
        self.image.setImage(boundary_image(db.probs, class_colors, c.background), autoLevels=False, levels=None)
        self.image_shape = tuple(db.probs.shape[:2])
        xs, ys = np.asarray(db.xs, np.float64), np.asarray(db.ys, np.float64)
        dx = (xs[-1] - xs[0]) / max(1, len(xs) - 1)
        dy = (ys[-1] - ys[0]) / max(1, len(ys) - 1)
        rect = QRectF(xs[0] - dx / 2, ys[0] - dy / 2, xs[-1] - xs[0] + dx, ys[-1] - ys[0] + dy)
        self.image.setRect(rect)
        margins = tie_margins(db.probs)
        while len(self.contours) < len(margins):
            contour = pg.IsocurveItem(level=0.0, axisOrder="row-major")
            contour.setParentItem(self.image)
            contour.setPos(0.5, 0.5)  # isocurve points are at pixel indices; pixel centres are at +0.5
            contour.setPen(pen(with_alpha(c.foreground, 0.75), 1.6))
            self.contours.append(contour)
        for i, contour in enumerate(self.contours):
            contour.setVisible(i < len(margins))
            contour.setData(margins[i] if i < len(margins) else None, 0.0)
        key = (id(db.points), len(db.points), c)
        if key != self._points_key:  # the same training points on every probe: set them once
            self._points_key = key
            brushes = [pg.mkBrush(col) for col in class_colors]
            labels = np.clip(np.asarray(db.labels, dtype=np.int64), 0, k - 1)
            self.scatter.setData(pos=np.asarray(db.points, dtype=np.float64), brush=[brushes[i] for i in labels],
                                 pen=pg.mkPen(c.background, width=1))
        range_key = (rect.x(), rect.y(), rect.width(), rect.height())
        if range_key != self._range_key:
            self._range_key = range_key
            self.plot_item.setRange(rect, padding=0)
        names = list(run.class_names[:k]) if len(run.class_names) >= k else [f"class {i}" for i in range(k)]
        self.set_subtitle(f"step {probe.step}")
        self.set_legend([(class_colors[i], names[i], "") for i in range(k)], "line: boundary")


__all__ = ["DecisionBoundary", "boundary_image", "tie_margins"]
