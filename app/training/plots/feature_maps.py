"""The first convolution's feature maps for the first probe sample, next to the sample itself: a grid of small
images, each map scaled to its own largest magnitude on an orange (negative) - neutral (zero) - blue
(positive) map. One ImageItem holds the whole mosaic (a single setImage per refresh, however many maps)."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QWidget

from app.training.plots.panel import LivePanel

GAP = 1  # pixels between tiles (in map pixels), transparent


def grid_shape(count: int) -> tuple[int, int]:
    """(rows, columns) for `count` tiles: as square as possible, wider than tall."""
    if count <= 0:
        return 0, 0
    cols = math.ceil(math.sqrt(count))
    rows = math.ceil(count / cols)
    return rows, cols


def mosaic(maps: np.ndarray, lut: np.ndarray, gap: int = GAP) -> np.ndarray:
    """uint8 RGBA [rows * (H + gap) - gap, cols * (W + gap) - gap, 4] (row-major: y down the rows) of the
    [C, H, W] maps, each scaled by its own max |value| into `lut` (zero at its middle); gaps transparent."""
    maps = np.nan_to_num(np.asarray(maps, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    count, h, w = maps.shape
    rows, cols = grid_shape(count)
    scale = np.abs(maps).reshape(count, -1).max(axis=1)
    scale[scale == 0] = 1.0
    unit = maps / scale[:, None, None]  # -1..1
    index = np.clip(np.round((unit + 1.0) * 0.5 * (len(lut) - 1)), 0, len(lut) - 1).astype(np.intp)
    out = np.zeros((rows * (h + gap) - gap, cols * (w + gap) - gap, 4), dtype=np.uint8)
    for i in range(count):
        r, c = divmod(i, cols)
        out[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = lut[index[i]]
    return out


def sample_image(sample: np.ndarray) -> np.ndarray:
    """The probe sample as uint8 RGBA [H, W, 4]: grey for one channel, colour for three (min-max scaled)."""
    s = np.nan_to_num(np.asarray(sample, dtype=np.float32))
    if s.ndim == 3 and s.shape[0] in (1, 3):
        s = s[0] if s.shape[0] == 1 else np.moveaxis(s, 0, -1)
    elif s.ndim == 3:
        s = s[0]
    elif s.ndim == 1:
        s = s[None, :]
    low, high = float(s.min()), float(s.max())
    unit = (s - low) / (high - low) if high > low else np.zeros_like(s)
    rgb = np.repeat(unit[..., None], 3, axis=-1) if unit.ndim == 2 else unit
    out = np.empty(rgb.shape[:2] + (4,), dtype=np.uint8)
    out[..., :3] = np.round(rgb * 255)
    out[..., 3] = 255
    return out


class FeatureMaps(LivePanel):
    """The probe sample and the first Conv2d's feature maps for it."""

    KINDS = frozenset({"probe", "status"})

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Feature maps", parent)
        self.view_widget = pg.GraphicsLayoutWidget()
        self.register_view(self.view_widget)
        self.view = self.view_widget.addViewBox(lockAspect=True, invertY=True, enableMouse=False)
        self.view.setMenuEnabled(False)
        self.sample_item = pg.ImageItem(axisOrder="row-major")
        self.maps_item = pg.ImageItem(axisOrder="row-major")
        self.sample_label = pg.TextItem(anchor=(0.5, 0))
        self.maps_label = pg.TextItem(anchor=(0.5, 0))
        for item in (self.sample_item, self.maps_item, self.sample_label, self.maps_label):
            self.view.addItem(item)
        self.maps_shape: tuple[int, ...] = ()
        self._layout_key: tuple = ()
        self.set_content(self.view_widget)
        self.apply_colors()
        self.show_placeholder("The first convolution's feature maps appear here for networks with a Conv2d "
                              "layer.")

    def apply_colors(self) -> None:
        self.sample_label.setColor(self.colors.muted)
        self.maps_label.setColor(self.colors.muted)

    def run_changed(self) -> None:
        self._layout_key = ()

    def refresh(self) -> None:
        run = self.run
        probe = run.latest_probe if run is not None else None
        if run is None:
            self.show_placeholder("The first convolution's feature maps appear here for networks with a Conv2d "
                                  "layer.")
            return
        if probe is None or probe.feature_maps is None:
            if probe is None and not run.ended and run.probe_every != 0:
                text = "Waiting for the first probe…"
            elif run.probe_every == 0:
                text = "Probes are off for this run (probe_every = 0)."
            else:
                text = "No feature maps: this network has no 2-D convolution (Conv2d) whose output could be shown."
            self.show_placeholder(text)
            return
        self.show_content()
        fm = probe.feature_maps
        lut = self.colors.diverging_table()
        tiles = mosaic(fm.maps, lut)
        sample = sample_image(fm.sample)
        self.maps_item.setImage(tiles, autoLevels=False, levels=None)
        self.sample_item.setImage(sample, autoLevels=False, levels=None)
        self.maps_shape = tuple(fm.maps.shape)
        count, h, w = fm.maps.shape
        self._place(tiles.shape[:2], sample.shape[:2])
        self.sample_label.setText("input")
        self.maps_label.setText(f"{fm.node_id}: {count} maps of {h}×{w}")
        self.set_subtitle(f"step {probe.step}")
        self.set_legend([(QColor("#f59322"), "negative", ""), (QColor("#0877bd"), "positive", "")],
                        "per-map scale")

    def _tall(self) -> bool:
        size = self.view_widget.size()
        return size.height() > 1.15 * size.width()

    def _place(self, tiles: tuple[int, int], sample: tuple[int, int]) -> None:
        """The sample beside the mosaic (wide panel) or above it (tall panel), then fit the view."""
        tall = self._tall()
        key = (tiles, sample, tall)
        if key == self._layout_key:
            return
        self._layout_key = key
        mh, mw = tiles
        sh, sw = sample
        k = 0.6 * (mw if tall else mh) / max(sh, sw)  # the sample at 60 % of the mosaic's side
        label_h = 0.08 * max(mh, mw) + 1.0  # room for a caption under each image
        if tall:
            left = (mw - sw * k) / 2
            self.sample_item.setRect(QRectF(left, 0, sw * k, sh * k))
            self.sample_label.setPos(mw / 2, sh * k + 0.2)
            top = sh * k + label_h + 0.5
            self.maps_item.setRect(QRectF(0, top, mw, mh))
            self.maps_label.setPos(mw / 2, top + mh + 0.2)
            bounds = QRectF(-0.5, -0.5, mw + 1, top + mh + label_h + 0.5)
        else:
            top = (mh - sh * k) / 2
            self.sample_item.setRect(QRectF(0, top, sw * k, sh * k))
            self.sample_label.setPos(sw * k / 2, top + sh * k + 0.2)
            left = sw * k + max(2.0, 0.15 * mw)
            self.maps_item.setRect(QRectF(left, 0, mw, mh))
            self.maps_label.setPos(left + mw / 2, mh + 0.2)
            bounds = QRectF(-0.5, -0.5, left + mw + 1, mh + label_h + 0.5)
        self.view.setRange(bounds, padding=0.02)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._layout_key and self._layout_key[2] != self._tall():
            self.schedule()


__all__ = ["FeatureMaps", "grid_shape", "mosaic", "sample_image"]
