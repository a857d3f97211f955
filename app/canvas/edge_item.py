"""An edge: a cubic bezier from an output port to an input port, labelled with the tensor shape it carries.

The path, its bounds and the label are computed in `adjust()` (when an end moves) and `set_label()` (after a
check); the hit shape is stroked lazily, only when Qt asks for it. Painting draws what was prepared.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QPainter, QPainterPath, QPainterPathStroker, QPen, QStaticText
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from app.canvas.appearance import LOD_DETAIL, LOD_TEXT, fonts
from graph_engine.graph import Edge

if TYPE_CHECKING:
    from app.canvas.node_item import NodeItem

EDGE_WIDTH = 2.0
HIT_WIDTH = 10.0
LABEL_PAD_X = 2.0
LABEL_PAD_Y = 0.0


def bezier_path(p0: QPointF, p1: QPointF) -> QPainterPath:
    """The S-curve from an output at `p0` to an input at `p1`. Tangents are horizontal at both ends; a
    backward edge (target left of source) gets longer tangents so it loops around instead of cutting
    through the cards."""
    dx = p1.x() - p0.x()
    dy = abs(p1.y() - p0.y())
    reach = max(abs(dx) * 0.5, 36.0) if dx >= 0 else min(60.0 + abs(dx) * 0.25 + dy * 0.25, 240.0)
    path = QPainterPath(p0)
    path.cubicTo(QPointF(p0.x() + reach, p0.y()), QPointF(p1.x() - reach, p1.y()), p1)
    return path


class EdgeItem(QGraphicsItem):
    def __init__(self, edge: Edge, src: NodeItem, dst: NodeItem):
        super().__init__()
        self.edge = edge
        self.src = src
        self.dst = dst
        self.error = False
        self.label = ""
        self.label_shown = True
        self._static: QStaticText | None = None
        self._label_rect = QRectF()
        self._label_fits = True
        self._path = QPainterPath()
        self._shape: QPainterPath | None = None
        self._bounds = QRectF()
        self._mid = QPointF()
        self._hovered = False
        self._message = ""
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setAcceptHoverEvents(True)
        self.setZValue(-1.0)
        # Cached like the cards (node_item.py): an antialiased curve and its label are blitted on repaints;
        # adjust() (an end moved) changes the geometry, which redraws the pixmap.
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.adjust()

    # ---- geometry ----------------------------------------------------------------------------------------

    def endpoints(self) -> tuple[QPointF, QPointF]:
        """The source and target port centres, in scene coordinates."""
        return (self.src.pos() + self.src.output_anchor(self.edge.src_port),
                self.dst.pos() + self.dst.input_anchor(self.edge.dst_port))

    def adjust(self) -> None:
        """Recompute the curve after an end moved (only the moved node's edges are adjusted)."""
        p0, p1 = self.endpoints()
        self.prepareGeometryChange()
        self._path = bezier_path(p0, p1)
        self._mid = self._path.pointAtPercent(0.5)
        self._shape = None
        self._place_label()

    def _place_label(self) -> None:
        if self._static is not None:
            size = self._static.size()
            w, h = size.width() + 2 * LABEL_PAD_X, size.height() + 2 * LABEL_PAD_Y
            # Just above the curve's midpoint, so the line itself stays visible under it.
            self._label_rect = QRectF(self._mid.x() - w / 2, self._mid.y() - h - 2.0, w, h)
            p0, p1 = self._path.elementAt(0), self._path.elementAt(self._path.elementCount() - 1)
            dx, dy = p1.x - p0.x, abs(p1.y - p0.y)
            # Between two cards closer than the label is wide it would be half hidden: the tooltip says it.
            self._label_fits = not (0 <= dx < w + 6 and dy < 2 * h)
        else:
            self._label_rect = QRectF()
        m = HIT_WIDTH / 2 + 1
        bounds = self._path.controlPointRect().adjusted(-m, -m, m, m)
        self._bounds = bounds.united(self._label_rect) if self._static is not None else bounds

    def set_label(self, text: str, shown: bool = True) -> None:
        """The shape this edge carries; `shown` is False for the 2nd+ edge out of one port (same tensor, one
        label is enough; the tooltip still says it)."""
        if text == self.label and shown == self.label_shown:
            return
        self.label = text
        self.label_shown = shown
        self.prepareGeometryChange()
        self._static = None
        if text and shown:
            f = fonts()
            self._static = QStaticText(text)
            self._static.setTextFormat(Qt.TextFormat.PlainText)
            self._static.prepare(font=f.small)
        self._place_label()
        self._update_tooltip()
        self.update()

    def set_error(self, error: bool, message: str = "") -> None:
        """Draw red (part of a diagnostic, or its target cannot take the tensor); `message` joins the tooltip."""
        if error == self.error and message == self._message:
            return
        self._message = message
        self.error = error
        self.update()
        self._update_tooltip()

    def _update_tooltip(self) -> None:
        e = self.edge
        text = f"{e.src}" + (f":{self.src.outputs[e.src_port].name}" if len(self.src.outputs) > 1
                             and e.src_port < len(self.src.outputs) else "")
        text += f" → {e.dst}" + (f":{self.dst.inputs[e.dst_port].name}" if len(self.dst.inputs) > 1
                                 and e.dst_port < len(self.dst.inputs) else "")
        if self.label:
            text += f"\n{self.label}"
        if self._message:
            text += f"\n{self._message}"
        self.setToolTip(text)

    def path(self) -> QPainterPath:
        """The curve as drawn, in scene coordinates."""
        return self._path

    # ---- QGraphicsItem -----------------------------------------------------------------------------------

    def boundingRect(self) -> QRectF:
        return self._bounds

    def shape(self) -> QPainterPath:
        if self._shape is None:
            stroker = QPainterPathStroker()
            stroker.setWidth(HIT_WIDTH)
            self._shape = stroker.createStroke(self._path)
            if self._static is not None:
                self._shape.addRect(self._label_rect)
        return self._shape

    def hoverEnterEvent(self, event) -> None:
        self._hovered = True
        self.update()
        super().hoverEnterEvent(event)

    def hoverLeaveEvent(self, event) -> None:
        self._hovered = False
        self.update()
        super().hoverLeaveEvent(event)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        colors = self.scene().colors
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        if self.isSelected():
            color, width = colors.selection, EDGE_WIDTH + 1.0
        elif self.error:
            color, width = colors.error, EDGE_WIDTH + (0.5 if self._hovered else 0.0)
        elif self._hovered:
            color, width = colors.edge_hover, EDGE_WIDTH + 0.5
        else:
            color, width = colors.edge, EDGE_WIDTH
        pen = QPen(color, width)
        if lod < LOD_DETAIL:
            # Far out: a hairline without antialiasing; curves stroke ~10x slower and show nothing more.
            pen.setCosmetic(True)
            pen.setWidthF(1.0)
            painter.setPen(pen)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
            painter.drawPath(self._path)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            return
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self._path)
        if self._static is not None and self._label_fits and lod >= LOD_TEXT:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(colors.label_bg)
            r = self._label_rect
            painter.drawRoundedRect(r, 3.0, 3.0)
            painter.setPen(colors.error if self.error else colors.text_dim)
            painter.setFont(fonts().small)
            painter.drawStaticText(QPointF(r.x() + LABEL_PAD_X, r.y() + LABEL_PAD_Y), self._static)
