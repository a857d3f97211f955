"""Icons and the QAction factory used by the main window's menus and toolbar.

Icons come from the desktop's icon theme when it has one (Linux desktops: Breeze, Adwaita...), else they are
painted here as simple vector line drawings by a QIconEngine. Painting at the size and device pixel ratio
asked for keeps them sharp on high-DPI screens, and taking the colour from the current palette at paint time
makes them follow a switch between light and dark.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QObject, QPointF, QRect, QRectF, QSize, Qt
from PySide6.QtGui import (
    QAction,
    QGuiApplication,
    QIcon,
    QIconEngine,
    QKeySequence,
    QPainter,
    QPainterPath,
    QPalette,
    QPen,
    QPixmap,
)

from graph_engine.resource_files import resource_path

Draw = Callable[[QPainter], None]  # draws in a 24x24 box with the pen already set


def _page(p: QPainter) -> None:
    path = QPainterPath(QPointF(6, 3))
    path.lineTo(14, 3)
    path.lineTo(19, 8)
    path.lineTo(19, 21)
    path.lineTo(6, 21)
    path.closeSubpath()
    p.drawPath(path)
    p.drawPolyline([QPointF(14, 3), QPointF(14, 8), QPointF(19, 8)])


def _new(p: QPainter) -> None:
    _page(p)
    p.drawLine(QPointF(12.5, 11), QPointF(12.5, 18))
    p.drawLine(QPointF(9, 14.5), QPointF(16, 14.5))


def _open(p: QPainter) -> None:
    path = QPainterPath(QPointF(3, 19))
    path.lineTo(3, 5)
    path.lineTo(9, 5)
    path.lineTo(11, 7)
    path.lineTo(19, 7)
    path.lineTo(19, 10)
    p.drawPath(path)
    body = QPainterPath(QPointF(3, 19))
    body.lineTo(6, 10)
    body.lineTo(22, 10)
    body.lineTo(19, 19)
    body.closeSubpath()
    p.drawPath(body)


def _save(p: QPainter) -> None:
    path = QPainterPath(QPointF(4, 4))
    path.lineTo(17, 4)
    path.lineTo(20, 7)
    path.lineTo(20, 20)
    path.lineTo(4, 20)
    path.closeSubpath()
    p.drawPath(path)
    p.drawRect(QRectF(8, 4, 8, 5))
    p.drawRect(QRectF(7, 13, 10, 7))


def _arrow(p: QPainter, mirror: bool) -> None:
    if mirror:
        p.translate(24, 0)
        p.scale(-1, 1)
    path = QPainterPath(QPointF(5, 10))
    path.lineTo(15, 10)
    path.cubicTo(QPointF(22, 10), QPointF(22, 20), QPointF(15, 20))
    path.lineTo(10, 20)
    p.drawPath(path)
    p.drawPolyline([QPointF(9, 6), QPointF(5, 10), QPointF(9, 14)])


def _fit(p: QPainter) -> None:
    for sx, sy in ((1, 1), (-1, 1), (1, -1), (-1, -1)):
        cx, cy = 12 - 8 * sx, 12 - 8 * sy
        p.drawPolyline([QPointF(cx, cy + 5 * sy), QPointF(cx, cy), QPointF(cx + 5 * sx, cy)])
    p.drawRoundedRect(QRectF(8.5, 8.5, 7, 7), 1.5, 1.5)


def _magnifier(p: QPainter, plus: bool) -> None:
    p.drawEllipse(QPointF(10, 10), 6, 6)
    p.drawLine(QPointF(14.5, 14.5), QPointF(20.5, 20.5))
    p.drawLine(QPointF(7, 10), QPointF(13, 10))
    if plus:
        p.drawLine(QPointF(10, 7), QPointF(10, 13))


def _tidy(p: QPainter) -> None:
    boxes = [QRectF(2.5, 9, 5, 6), QRectF(10, 3.5, 5, 6), QRectF(10, 14.5, 5, 6), QRectF(17.5, 9, 5, 6)]
    for b in boxes:
        p.drawRoundedRect(b, 1.2, 1.2)
    p.drawLine(QPointF(7.5, 11), QPointF(10, 7))
    p.drawLine(QPointF(7.5, 13), QPointF(10, 17))
    p.drawLine(QPointF(15, 7), QPointF(17.5, 11))
    p.drawLine(QPointF(15, 17), QPointF(17.5, 13))


def _export(p: QPainter) -> None:
    p.drawPolyline([QPointF(8, 6), QPointF(3, 12), QPointF(8, 18)])
    p.drawPolyline([QPointF(16, 6), QPointF(21, 12), QPointF(16, 18)])
    p.drawLine(QPointF(13.5, 4.5), QPointF(10.5, 19.5))


def _delete(p: QPainter) -> None:
    p.drawLine(QPointF(4, 6), QPointF(20, 6))
    p.drawPolyline([QPointF(9, 6), QPointF(9.5, 3.5), QPointF(14.5, 3.5), QPointF(15, 6)])
    path = QPainterPath(QPointF(6, 6))
    path.lineTo(7, 21)
    path.lineTo(17, 21)
    path.lineTo(18, 6)
    p.drawPath(path)
    p.drawLine(QPointF(10, 10), QPointF(10, 17))
    p.drawLine(QPointF(14, 10), QPointF(14, 17))


def _copy(p: QPainter) -> None:
    p.drawRoundedRect(QRectF(8, 8, 12, 13), 1.5, 1.5)
    p.drawPolyline([QPointF(5, 16), QPointF(4, 16), QPointF(4, 3), QPointF(15, 3), QPointF(15, 5)])


def _paste(p: QPainter) -> None:
    p.drawRoundedRect(QRectF(5, 5, 14, 16), 1.5, 1.5)
    p.drawRoundedRect(QRectF(9, 3, 6, 4), 1, 1)


def _cut(p: QPainter) -> None:
    p.drawEllipse(QPointF(7, 18), 3, 3)
    p.drawEllipse(QPointF(17, 18), 3, 3)
    p.drawLine(QPointF(9, 16), QPointF(18, 3))
    p.drawLine(QPointF(15, 16), QPointF(6, 3))


def _find(p: QPainter) -> None:
    p.drawEllipse(QPointF(10, 10), 6, 6)
    p.drawLine(QPointF(14.5, 14.5), QPointF(20.5, 20.5))


DRAWINGS: dict[str, tuple[str, Draw]] = {
    # our name: (freedesktop icon theme name, fallback drawing)
    "new": ("document-new", _new),
    "open": ("document-open", _open),
    "save": ("document-save", _save),
    "undo": ("edit-undo", lambda p: _arrow(p, False)),
    "redo": ("edit-redo", lambda p: _arrow(p, True)),
    "fit": ("zoom-fit-best", _fit),
    "zoom-in": ("zoom-in", lambda p: _magnifier(p, True)),
    "zoom-out": ("zoom-out", lambda p: _magnifier(p, False)),
    "tidy": ("distribute-graph-directed", _tidy),
    "export": ("document-export", _export),
    "delete": ("edit-delete", _delete),
    "copy": ("edit-copy", _copy),
    "paste": ("edit-paste", _paste),
    "cut": ("edit-cut", _cut),
    "find": ("edit-find", _find),
}


class PaintedIconEngine(QIconEngine):
    """Paints a line drawing in the palette's text colour at whatever size and scale is asked for."""

    def __init__(self, draw: Draw):
        super().__init__()
        self._draw = draw

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode, state: QIcon.State) -> None:
        palette = QGuiApplication.palette()
        group = QPalette.ColorGroup.Disabled if mode == QIcon.Mode.Disabled else QPalette.ColorGroup.Active
        color = palette.color(group, QPalette.ColorRole.WindowText)
        if mode == QIcon.Mode.Selected:
            color = palette.color(QPalette.ColorRole.HighlightedText)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        side = min(rect.width(), rect.height())
        painter.translate(rect.x() + (rect.width() - side) / 2, rect.y() + (rect.height() - side) / 2)
        painter.scale(side / 24.0, side / 24.0)
        pen = QPen(color, 1.7 if side >= 20 else 2.0)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        self._draw(painter)
        painter.restore()

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        pixmap = QPixmap(size)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        self.paint(painter, QRect(0, 0, size.width(), size.height()), mode, state)
        painter.end()
        return pixmap

    def scaledPixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State, scale: float) -> QPixmap:
        pixmap = self.pixmap(QSize(math.ceil(size.width() * scale), math.ceil(size.height() * scale)), mode, state)
        pixmap.setDevicePixelRatio(scale)
        return pixmap

    def clone(self) -> QIconEngine:
        return PaintedIconEngine(self._draw)


def icon(name: str) -> QIcon:
    """The icon called `name` (a key of DRAWINGS): the theme's when it has one, else our drawing."""
    theme_name, draw = DRAWINGS[name]
    painted = QIcon(PaintedIconEngine(draw))
    return QIcon.fromTheme(theme_name, painted) if QIcon.hasThemeIcon(theme_name) else painted


# The application icon's files (made from layerloom.svg by installers/make_icons.py). They live next to the
# templates, in the folder graph_engine/resource_files.py finds (a checkout, a wheel, the bundle).
ICONS_DIR = resource_path("icons")
APP_ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def app_icon_file(size: int) -> Path:
    return ICONS_DIR / f"layerloom-{size}.png"


def app_icon() -> QIcon:
    """LayerLoom's own icon (a loom: three layers woven by two threads), every size rendered from its SVG."""
    result = QIcon()
    for side in APP_ICON_SIZES:
        path = app_icon_file(side)
        if path.is_file():
            result.addFile(str(path), QSize(side, side))
    return result


def make_action(parent: QObject, text: str, slot: Callable[[], object] | None = None, *,
                shortcuts: Sequence[QKeySequence | QKeySequence.StandardKey | str] = (),
                icon_name: str | None = None, tip: str = "", checkable: bool = False,
                object_name: str = "") -> QAction:
    """A QAction with its shortcuts (the first is the one menus show), icon, status tip and tooltip."""
    action = QAction(text, parent)
    keys: list[QKeySequence] = []
    for key in shortcuts:
        if isinstance(key, QKeySequence.StandardKey):
            keys.extend(QKeySequence.keyBindings(key))
        else:
            keys.append(QKeySequence(key))
    unique = {k.toString(): k for k in keys if not k.isEmpty()}
    keys = list(unique.values())
    if keys:
        action.setShortcuts(keys)
    if icon_name:
        action.setIcon(icon(icon_name))
    if tip:
        action.setStatusTip(tip)
    shown = text.replace("&", "").rstrip(".…")
    if keys:
        shown += f" ({keys[0].toString(QKeySequence.SequenceFormat.NativeText)})"
    action.setToolTip(shown)
    action.setCheckable(checkable)
    if object_name:
        action.setObjectName(object_name)
    if slot is not None:
        action.triggered.connect(lambda _checked=False: slot())
    return action
