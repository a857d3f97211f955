"""Colours of the training plots, derived from the widget's palette so light and dark both read well.

Series colours follow the conventions people know: training blue and validation orange (MATLAB's training
progress, TensorBoard), class colours from TensorFlow Playground (orange, blue, then more), runs in a
categorical palette. Colour maps are 256-entry RGBA lookup tables (uint8) that images index directly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtGui import QColor, QPalette

RUN_COLORS = ("#2f7fd8", "#e8710a", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
              "#bcbd22", "#7f7f7f")
CLASS_COLORS = ("#f59322", "#0877bd", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
                "#bcbd22", "#7f7f7f")
TRAIN = "#2f7fd8"
VALIDATION = "#e8710a"
SECONDARY = "#2ca02c"  # a second metric on its own axis (R2)


def is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def mix(a: QColor, b: QColor, t: float) -> QColor:
    """`a` moved a fraction `t` toward `b`."""
    return QColor.fromRgbF(a.redF() + (b.redF() - a.redF()) * t, a.greenF() + (b.greenF() - a.greenF()) * t,
                           a.blueF() + (b.blueF() - a.blueF()) * t)


def with_alpha(color: str | QColor, alpha: float) -> QColor:
    c = QColor(color)
    c.setAlphaF(alpha)
    return c


def lookup_table(stops: list[tuple[float, QColor]], n: int = 256) -> np.ndarray:
    """uint8 [n, 4] RGBA table interpolating between (position 0..1, colour) stops."""
    positions = np.array([p for p, _ in stops])
    channels = np.array([[c.red(), c.green(), c.blue(), c.alpha()] for _, c in stops], dtype=np.float64)
    x = np.linspace(0.0, 1.0, n)
    table = np.stack([np.interp(x, positions, channels[:, k]) for k in range(4)], axis=1)
    return np.clip(np.round(table), 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class PlotColors:
    """Everything a plot paints with, for one palette."""

    dark: bool
    background: QColor  # plot area
    panel: QColor  # around the plots
    foreground: QColor  # axes, labels, text drawn in the plot
    muted: QColor  # secondary text
    grid_alpha: float
    train: QColor
    train_raw: QColor
    validation: QColor
    secondary: QColor

    @classmethod
    def from_palette(cls, palette: QPalette) -> PlotColors:
        dark = is_dark(palette)
        base = palette.color(QPalette.ColorRole.Base)
        text = palette.color(QPalette.ColorRole.Text)
        window = palette.color(QPalette.ColorRole.Window)
        train = QColor("#5aa2ff") if dark else QColor(TRAIN)
        return cls(dark=dark, background=base, panel=window, foreground=mix(text, base, 0.2),
                   muted=mix(text, base, 0.45), grid_alpha=0.22 if dark else 0.16, train=train,
                   train_raw=with_alpha(mix(train, base, 0.35), 0.55),
                   validation=QColor("#ff9a3c") if dark else QColor(VALIDATION),
                   secondary=QColor("#5cc85c") if dark else QColor(SECONDARY))

    def run_color(self, index: int) -> QColor:
        color = QColor(RUN_COLORS[index % len(RUN_COLORS)])
        return color.lighter(130) if self.dark else color

    def class_color(self, index: int) -> QColor:
        return QColor(CLASS_COLORS[index % len(CLASS_COLORS)])

    def density_table(self) -> np.ndarray:
        """Background -> blue -> bright: histogram density over time."""
        if self.dark:
            stops = [(0.0, self.background), (0.35, QColor("#1d4f86")), (0.75, QColor("#4c9be8")),
                     (1.0, QColor("#d8ecff"))]
        else:
            stops = [(0.0, self.background), (0.3, QColor("#c6dbef")), (0.7, QColor("#4a90c9")),
                     (1.0, QColor("#08306b"))]
        return lookup_table(stops)

    def diverging_table(self) -> np.ndarray:
        """Orange (negative) -> background (zero) -> blue (positive), TensorFlow Playground's map."""
        middle = self.background if self.dark else QColor("#f7f7f7")
        return lookup_table([(0.0, QColor("#f59322")), (0.5, middle), (1.0, QColor("#0877bd"))])

    def grey_table(self) -> np.ndarray:
        return lookup_table([(0.0, QColor("#000000")), (1.0, QColor("#ffffff"))])

    def depth_color(self, index: int, count: int) -> QColor:
        """Layer `index` of `count` on a yellow-green-blue-purple ramp (viridis-like): shallow to deep."""
        stops = [QColor("#e7c21a"), QColor("#5ec962"), QColor("#21918c"), QColor("#3b528b"), QColor("#6a3d9a")]
        if self.dark:
            stops[-1] = QColor("#b38df0")
            stops[-2] = QColor("#6d8fe0")
        t = 0.0 if count <= 1 else index / (count - 1)
        pos = t * (len(stops) - 1)
        i = min(int(pos), len(stops) - 2)
        return mix(stops[i], stops[i + 1], pos - i)


__all__ = ["CLASS_COLORS", "RUN_COLORS", "PlotColors", "is_dark", "lookup_table", "mix", "with_alpha"]
