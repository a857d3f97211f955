"""What the canvas looks like: colours derived once from the palette, fonts, and the node card's metrics.

Everything here is computed when the palette changes, never while painting: items read these objects in
`paint()` and draw precomputed text and paths with them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from PySide6.QtGui import QColor, QFont, QFontMetricsF, QGuiApplication, QPalette

from app.theme import ERROR_COLOR, WARNING_COLOR

# Node card metrics, in scene units (pixels at 100% zoom). Templates and the layered layout place nodes on a
# 220 x 140 grid, so a 150-wide card leaves 70 px between columns for the edge and its shape label.
NODE_WIDTH = 150.0
HEADER_H = 24.0
BODY_TOP = HEADER_H + 5.0
LINE_H = 15.0
PORT_Y0 = BODY_TOP + LINE_H / 2  # a lone port sits level with the first body line: chains stay straight
ROW_H = 17.0  # one row per port when a side has several (LSTM outputs, MultiheadAttention inputs)
BOTTOM_PAD = 7.0
CORNER = 6.0
PAD_X = 9.0
PORT_RADIUS = 4.5
PORT_HIT_RADIUS = 9.0

# Below these zoom levels text is skipped (it would be unreadable anyway): what keeps a fitted 1000-node
# graph cheap to repaint.
LOD_TEXT = 0.58  # full cards above this (their 11 px text is ~6 px on screen there)
LOD_PORTS = 0.3  # ports shown above this
LOD_DETAIL = 0.2  # cards with a large title above this, plain blocks below

ACCENT = QColor("#3d8bfd")
VALID = QColor("#2fbf71")


def _mix(a: QColor, b: QColor, t: float) -> QColor:
    """`a` moved towards `b` by `t` (0..1)."""
    return QColor.fromRgbF(a.redF() + (b.redF() - a.redF()) * t, a.greenF() + (b.greenF() - a.greenF()) * t,
                           a.blueF() + (b.blueF() - a.blueF()) * t, 1.0)


FROZEN_COLOR = "#3b8fd9"  # ice blue, readable on dark and light cards


@dataclass
class CanvasColors:
    """The canvas palette; dark or light following the application palette."""

    dark: bool
    background: QColor
    grid: QColor
    card: QColor
    card_border: QColor
    text: QColor
    text_dim: QColor
    edge: QColor
    edge_hover: QColor
    label_bg: QColor
    selection: QColor = field(default_factory=lambda: QColor(ACCENT))
    valid: QColor = field(default_factory=lambda: QColor(VALID))
    error: QColor = field(default_factory=lambda: QColor(ERROR_COLOR))
    warning: QColor = field(default_factory=lambda: QColor(WARNING_COLOR))
    frozen: QColor = field(default_factory=lambda: QColor(FROZEN_COLOR))  # the snowflake of a frozen card

    @classmethod
    def from_palette(cls, palette: QPalette) -> CanvasColors:
        """Dark colours when the palette's window colour is dark, light ones otherwise."""
        window = palette.color(QPalette.ColorRole.Window)
        dark = window.lightness() < 128
        if dark:
            return cls(dark=True, background=QColor("#1d1f23"), grid=QColor("#3a3e46"), card=QColor("#2a2d33"),
                       card_border=QColor("#41464f"), text=QColor("#e8eaed"), text_dim=QColor("#9aa1ab"),
                       edge=QColor("#7e8793"), edge_hover=QColor("#c9d1dc"), label_bg=QColor("#1d1f23"))
        return cls(dark=False, background=QColor("#f3f4f6"), grid=QColor("#c6cbd3"), card=QColor("#ffffff"),
                   card_border=QColor("#c9ced6"), text=QColor("#1d2127"), text_dim=QColor("#667080"),
                   edge=QColor("#8a93a0"), edge_hover=QColor("#39414d"), label_bg=QColor("#f3f4f6"))

    def header(self, category_color: QColor) -> QColor:
        """The header band: the category colour, softened towards the card so text stays readable."""
        return _mix(category_color, self.card, 0.55 if not self.dark else 0.45)


def default_colors() -> CanvasColors:
    """Colours for the application's current palette."""
    return CanvasColors.from_palette(QGuiApplication.palette())


@dataclass(frozen=True)
class CanvasFonts:
    title: QFont
    op: QFont
    body: QFont
    small: QFont
    title_metrics: QFontMetricsF
    op_metrics: QFontMetricsF
    body_metrics: QFontMetricsF
    small_metrics: QFontMetricsF


@lru_cache(maxsize=1)
def fonts() -> CanvasFonts:
    """The canvas fonts, sized in pixels so cards have the same geometry on every screen (made once)."""
    base = QFont(QGuiApplication.font())

    def sized(px: int, bold: bool = False) -> QFont:
        font = QFont(base)
        font.setPixelSize(px)
        font.setBold(bold)
        font.setHintingPreference(QFont.HintingPreference.PreferNoHinting)  # text scales smoothly with zoom
        return font

    title, op, body, small = sized(12, True), sized(10), sized(11), sized(10)
    return CanvasFonts(title, op, body, small, QFontMetricsF(title), QFontMetricsF(op), QFontMetricsF(body),
                       QFontMetricsF(small))
