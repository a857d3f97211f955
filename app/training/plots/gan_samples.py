"""A GAN run's samples from its fixed noise: one grid image, redrawn after every epoch, so a person watches
the same noise vectors turn from blotches into digits. The grid is the one the trainer writes to samples.png
(graph_engine/training/image_grid.py), shown with nearest-neighbour scaling to fit the panel."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

from app.training.plots.panel import LivePanel
from graph_engine.training.image_grid import image_grid, is_image_shape


def grid_qimage(samples: np.ndarray) -> QImage:
    """The samples' grid (1 pixel per sample pixel, 1 pixel gaps) as a QImage that owns its memory."""
    grid = image_grid(samples, scale=1, pad=1)
    h, w, c = grid.shape
    fmt = QImage.Format.Format_Grayscale8 if c == 1 else QImage.Format.Format_RGB888
    return QImage(np.ascontiguousarray(grid).data, w, h, w * c, fmt).copy()


class GanSamples(LivePanel):
    """The fixed-noise samples of the current GAN run."""

    KINDS = frozenset({"epoch", "status"})

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Samples (fixed noise)", parent)
        self.image_label = QLabel()
        self.image_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.image: QImage | None = None
        self._shown_epoch: int | None = None
        self.set_content(self.image_label)
        self.show_placeholder("A GAN's samples appear here after its first epoch.")

    def run_changed(self) -> None:
        self.image = None
        self._shown_epoch = None

    def refresh(self) -> None:
        run = self.run
        samples = None if run is None else run.samples
        if samples is None or not is_image_shape(tuple(samples.shape[1:])):
            self.show_placeholder("A GAN's samples appear here after its first epoch." if samples is None else
                                  f"The generator makes {list(samples.shape[1:])}, which is not an image.")
            return
        self.show_content()
        if self._shown_epoch != run.current_epoch or self.image is None:
            self.image = grid_qimage(samples)
            self._shown_epoch = run.current_epoch
        self._fit()
        self.set_subtitle(f"epoch {run.current_epoch}, {len(samples)} samples")

    def _fit(self) -> None:
        if self.image is None:
            return
        size = self.image_label.size()
        pixmap = QPixmap.fromImage(self.image).scaled(size, Qt.AspectRatioMode.KeepAspectRatio,
                                                      Qt.TransformationMode.FastTransformation)
        self.image_label.setPixmap(pixmap)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit()
