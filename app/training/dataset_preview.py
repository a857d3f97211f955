"""A look at the chosen dataset before training: sample images, the head of a table, the 2-D points, a few
windows of a series, token sequences. It draws `Dataset.preview()` (graph_engine/data/base.py), plain data.

Loading a dataset can take a second (scikit-learn's import, a CSV file, a folder of images), so it happens in
a `QThreadPool` thread; the result comes back queued to the GUI thread. Previews are cached per dataset
config, and only the newest request is drawn (a quick succession of edits never draws a stale one).
`wait_for_previews()` lets tests and the application's exit join the loading threads.

    preview = DatasetPreview()
    preview.set_config({"name": "moons", "noise": 0.2}, base_dir=None)
    preview.loaded.connect(...)        # (kind, summary) once drawn; failed(message) when it cannot load
"""

from __future__ import annotations

import json
import math
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QPointF, QRectF, QRunnable, QSize, Qt, QThreadPool, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPainterPath, QPalette, QPen, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QHeaderView,
    QLabel,
    QSizePolicy,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

# The dashboard's class colours (app/training/plots/colors.py, TensorFlow Playground's), so a class looks the
# same everywhere. Copied, not imported: importing the plots package imports pyqtgraph.
CLASS_COLORS = ("#f59322", "#0877bd", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
                "#bcbd22", "#7f7f7f")
CACHE_SIZE = 8
_pool = QThreadPool()
_pool.setMaxThreadCount(1)  # one dataset loads at a time; newer requests queue behind it
_cache: OrderedDict[str, dict[str, Any]] = OrderedDict()


def wait_for_previews(timeout_ms: int = 60_000) -> bool:
    """Block until every preview being loaded has finished (tests, application exit)."""
    return _pool.waitForDone(timeout_ms)


def load_preview(config: dict[str, Any], base_dir: str | Path | None = None) -> dict[str, Any]:
    """`Dataset.preview()` of a training.dataset config (may raise DatasetError / ProjectError)."""
    from graph_engine.data import load_dataset

    return load_dataset(config, None, base_dir=base_dir).preview()


def _cache_key(config: dict[str, Any], base_dir: str | Path | None) -> str:
    return json.dumps([config, None if base_dir is None else str(base_dir)], sort_keys=True, default=str)


class _Signals(QObject):
    done = Signal(int, object, str)  # request number, preview dict or None, error message


class _LoadTask(QRunnable):
    def __init__(self, number: int, config: dict[str, Any], base_dir: str | Path | None, signals: _Signals):
        super().__init__()
        self.number, self.config, self.base_dir, self.signals = number, config, base_dir, signals

    def run(self) -> None:
        try:
            preview, error = load_preview(self.config, self.base_dir), ""
        except Exception as exc:  # noqa: BLE001 - a bad file or setting: shown in place of the preview
            preview, error = None, str(exc) or type(exc).__name__
            hint = getattr(exc, "hint", "")
            if hint:
                error += f" ({hint})"
        try:
            self.signals.done.emit(self.number, preview, error)
        except RuntimeError:  # the preview widget and its signals object are gone
            pass


def summary_text(preview: dict[str, Any]) -> str:
    """ "1797 samples · [64] · 10 classes" """
    parts = [f"{preview['n_samples']:,} samples", "[" + ", ".join(str(d) for d in preview["sample_shape"]) + "]"]
    if preview.get("kind") == "text":
        parts.append(f"{preview['vocab_size']} characters")
    elif preview.get("num_classes"):
        parts.append(f"{preview['num_classes']} classes")
    else:
        parts.append(preview.get("task", ""))
    return " · ".join(p for p in parts if p)


def array_to_pixmap(image: np.ndarray, size: int) -> QPixmap:
    """A [H, W] (grey) or [H, W, 3] (RGB) float image in 0..1 as a square pixmap of `size` pixels."""
    a = np.nan_to_num(np.asarray(image, dtype=np.float32))
    lo, hi = float(a.min()) if a.size else 0.0, float(a.max()) if a.size else 1.0
    if lo < 0.0 or hi > 1.0:  # standardised data: stretch to 0..1 for display
        a = (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)
    data = np.ascontiguousarray((np.clip(a, 0, 1) * 255).astype(np.uint8))
    if data.ndim == 2:
        h, w = data.shape
        qimage = QImage(data.data, w, h, w, QImage.Format.Format_Grayscale8).copy()
    else:
        h, w = data.shape[:2]
        rgb = np.ascontiguousarray(data[..., :3])
        qimage = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
    return QPixmap.fromImage(qimage).scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio,
                                            Qt.TransformationMode.FastTransformation)


class _Plot(QWidget):
    """A small painted plot: 2-D points coloured by class, or a series with its windows."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.points: np.ndarray | None = None
        self.labels: np.ndarray | None = None
        self.series: np.ndarray | None = None
        self.windows: list[tuple[int, int]] = []  # (start, length) spans to shade on the series
        self.setMinimumHeight(150)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def sizeHint(self) -> QSize:
        return QSize(260, 200)

    def show_points(self, points: np.ndarray, labels: np.ndarray | None) -> None:
        self.points, self.labels, self.series, self.windows = points, labels, None, []
        self.update()

    def show_series(self, series: np.ndarray, windows: list[tuple[int, int]]) -> None:
        self.points, self.labels, self.series, self.windows = None, None, series, windows
        self.update()

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), self.palette().color(QPalette.ColorRole.Base))
        box = QRectF(self.rect()).adjusted(8, 8, -8, -8)
        if self.points is not None and len(self.points):
            self._paint_points(p, box)
        elif self.series is not None and len(self.series):
            self._paint_series(p, box)
        p.end()

    @staticmethod
    def _scale(values: np.ndarray, lo: float, hi: float, a: float, b: float) -> np.ndarray:
        span = hi - lo if hi > lo else 1.0
        return a + (values - lo) / span * (b - a)

    def _paint_points(self, p: QPainter, box: QRectF) -> None:
        pts = np.asarray(self.points, dtype=np.float64)
        x0, x1 = float(pts[:, 0].min()), float(pts[:, 0].max())
        y0, y1 = float(pts[:, 1].min()), float(pts[:, 1].max())
        side = min(box.width(), box.height())
        square = QRectF(box.center().x() - side / 2, box.center().y() - side / 2, side, side)
        xs = self._scale(pts[:, 0], x0, x1, square.left(), square.right())
        ys = self._scale(pts[:, 1], y0, y1, square.bottom(), square.top())
        labels = np.zeros(len(pts), dtype=np.int64) if self.labels is None else np.asarray(self.labels)
        p.setPen(Qt.PenStyle.NoPen)
        radius = 2.2 if len(pts) > 1500 else 3.0
        for k in np.unique(labels) if labels.dtype.kind in "iu" else [0]:
            color = QColor(CLASS_COLORS[int(k) % len(CLASS_COLORS)])
            color.setAlphaF(0.8)
            p.setBrush(color)
            chosen = labels == k if labels.dtype.kind in "iu" else slice(None)
            for x, y in zip(xs[chosen].tolist(), ys[chosen].tolist(), strict=True):
                p.drawEllipse(QPointF(x, y), radius, radius)

    def _paint_series(self, p: QPainter, box: QRectF) -> None:
        s = np.asarray(self.series, dtype=np.float64)
        finite = s[np.isfinite(s)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        n = len(s)
        shade = QColor(self.palette().color(QPalette.ColorRole.Highlight))
        shade.setAlphaF(0.16)
        for start, length in self.windows:
            if start < n:
                a = box.left() + start / max(1, n - 1) * box.width()
                b = box.left() + min(n - 1, start + length) / max(1, n - 1) * box.width()
                p.fillRect(QRectF(a, box.top(), max(1.0, b - a), box.height()), shade)
        xs = self._scale(np.arange(n, dtype=np.float64), 0, max(1, n - 1), box.left(), box.right())
        ys = self._scale(s, lo, hi, box.bottom(), box.top())
        path = QPainterPath(QPointF(xs[0], ys[0]))
        for x, y in zip(xs[1:].tolist(), ys[1:].tolist(), strict=True):
            path.lineTo(x, y if math.isfinite(y) else box.bottom())
        p.setPen(QPen(QColor(CLASS_COLORS[0]), 1.5))
        p.drawPath(path)


class DatasetPreview(QWidget):
    """See the module docstring. `kind` is the kind shown ("image", "table", "points2d", "series",
    "tokens"), "" while loading or after a failure."""

    loaded = Signal(str, str)  # kind, summary
    failed = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.kind = ""
        self.preview: dict[str, Any] | None = None
        self.error = ""
        self._request = 0
        self._keys: dict[int, str] = {}  # request number -> cache key, while loading
        self._request_key = ""  # the config asked for last
        self._shown_key = ""  # the config shown (preview or failure)
        self._signals = _Signals()  # no parent: it must outlive this widget while a load finishes
        self._signals.done.connect(self._done)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        self.summary.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        layout.addWidget(self.summary)
        self.stack = QStackedWidget(self)
        layout.addWidget(self.stack, 1)
        self.images = QWidget(self.stack)
        self.images_grid = QGridLayout(self.images)
        self.images_grid.setContentsMargins(0, 0, 0, 0)
        self.images_grid.setSpacing(4)
        self.table = QTableWidget(self.stack)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setMinimumHeight(160)
        self.plot = _Plot(self.stack)
        self.message = QLabel(self.stack)
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        for widget in (self.images, self.table, self.plot, self.message):
            self.stack.addWidget(widget)
        self.stack.setCurrentWidget(self.message)

    # ---- requests ------------------------------------------------------------------------------------

    def set_config(self, config: dict[str, Any] | None, base_dir: str | Path | None = None) -> None:
        """Show the dataset `config` names (a training.dataset object); loads in the background."""
        config = dict(config or {"name": "digits"})
        key = _cache_key(config, base_dir)
        if key == self._shown_key and self._request_key == key and not self.error:
            return  # already shown (or on its way): an unrelated settings change
        self._request += 1
        self._request_key = key
        if key in _cache:
            _cache.move_to_end(key)
            self._show(_cache[key])
            return
        self.kind, self.preview, self.error = "", None, ""
        self.summary.setText(f"Loading {config.get('name', 'the dataset')}…")
        self.message.setText("")
        self.stack.setCurrentWidget(self.message)
        self._keys[self._request] = key
        _pool.start(_LoadTask(self._request, config, base_dir, self._signals))

    def _done(self, number: int, preview: dict[str, Any] | None, error: str) -> None:
        key = self._keys.pop(number, None)
        if preview is not None and key is not None:
            _cache[key] = preview
            while len(_cache) > CACHE_SIZE:
                _cache.popitem(last=False)
        if number != self._request:
            return  # a newer request is on its way
        self._shown_key = key or ""
        if preview is None:
            self.kind, self.preview, self.error = "", None, error
            self.summary.setText("")
            self.message.setText(f"Cannot preview this dataset: {error}")
            self.stack.setCurrentWidget(self.message)
            self.failed.emit(error)
            return
        self._show(preview)

    # ---- drawing -------------------------------------------------------------------------------------

    def _show(self, preview: dict[str, Any]) -> None:
        self._shown_key = self._request_key
        self.preview, self.error = preview, ""
        self.kind = preview["kind"]
        text = summary_text(preview)
        if preview.get("warnings"):
            text += " · " + "; ".join(preview["warnings"][:2])
        self.summary.setText(text)
        {"image": self._show_images, "table": self._show_table, "points2d": self._show_points,
         "series": self._show_series, "tokens": self._show_tokens, "text": self._show_text}[self.kind](preview)
        self.loaded.emit(self.kind, text)

    def _show_images(self, preview: dict[str, Any]) -> None:
        while self.images_grid.count():
            item = self.images_grid.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        small = QFont(self.font())
        small.setPointSizeF(small.pointSizeF() * 0.85)
        columns = 4 if len(preview["images"]) > 9 else 3
        for i, (image, name) in enumerate(zip(preview["images"], preview["label_names"], strict=True)):
            cell = QLabel(self.images)
            cell.setPixmap(array_to_pixmap(image, 52))
            cell.setAlignment(Qt.AlignmentFlag.AlignCenter)
            cell.setToolTip(name)
            caption = QLabel(name, self.images)
            caption.setFont(small)
            caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
            row, col = divmod(i, columns)
            self.images_grid.addWidget(cell, 2 * row, col)
            self.images_grid.addWidget(caption, 2 * row + 1, col)
        self.stack.setCurrentWidget(self.images)

    def _fill_table(self, columns: list[str], rows: list[list[Any]]) -> None:
        self.table.clear()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setColumnCount(len(columns))
        self.table.setRowCount(len(rows))
        self.table.setHorizontalHeaderLabels(columns)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                text = f"{value:.4g}" if isinstance(value, float) else str(value)
                item = QTableWidgetItem(text)
                if isinstance(value, int | float):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, item)
        self.stack.setCurrentWidget(self.table)

    def _show_table(self, preview: dict[str, Any]) -> None:
        self._fill_table(list(preview["columns"]), [list(r) for r in preview["rows"]])

    def _show_points(self, preview: dict[str, Any]) -> None:
        self.plot.show_points(np.asarray(preview["points"]), None if preview["labels"] is None
                              else np.asarray(preview["labels"]))
        self.stack.setCurrentWidget(self.plot)

    def _show_series(self, preview: dict[str, Any]) -> None:
        series = np.asarray(preview["series"])
        width = len(preview["windows"][0]) if preview["windows"] else 0
        spans = [(start, width) for start in preview.get("window_starts", []) if start + width < len(series)]
        self.plot.show_series(series, spans[:3])
        self.stack.setCurrentWidget(self.plot)

    def _show_tokens(self, preview: dict[str, Any]) -> None:
        rows = [[" ".join(str(t) for t in seq), name] for seq, name in
                zip(preview["sequences"], preview["label_names"], strict=True)]
        self._fill_table(["tokens", "label"], rows)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)

    def _show_text(self, preview: dict[str, Any]) -> None:
        # A window's line breaks and tabs shown as symbols, so each window stays one row.
        rows = [[text.replace("\n", "\u23ce").replace("\t", "\u21e5")] for text in preview["texts"]]
        self._fill_table(["windows of the text (each position predicts the next character)"], rows)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)


__all__ = ["DatasetPreview", "array_to_pixmap", "load_preview", "summary_text", "wait_for_previews"]
