"""Colours and sizes shared by the canvas, the palette and the template thumbnails."""

from __future__ import annotations

from PySide6.QtGui import QColor

CATEGORY_COLORS = {
    "Input/Output": "#5b8def",
    "Linear": "#e8a13a",
    "Convolution": "#3fb27f",
    "Pooling": "#2aa6a6",
    "Normalization": "#9b7fe0",
    "Activation": "#e0607e",
    "Dropout": "#8a8f98",
    "Recurrent": "#d77a2f",
    "Attention": "#c85bc4",
    "Embedding": "#b59a2c",
    "Reshape": "#6f8fa8",
    "Merge": "#4e9fd1",
}
FALLBACK_COLOR = "#888888"
ERROR_COLOR = QColor("#e5484d")
WARNING_COLOR = QColor("#f0a020")


def category_color(category: str) -> QColor:
    return QColor(CATEGORY_COLORS.get(category, FALLBACK_COLOR))
