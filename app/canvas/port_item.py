"""A port on a node card: where edges start (outputs, right edge) and end (inputs, left edge).

Ports are children of their `NodeItem`, so they move with it for free. They only draw themselves and report
hover; dragging from a port is handled by `interactions.NewLinkAction`, never by the port.
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from app.canvas.appearance import LOD_DETAIL, PORT_HIT_RADIUS, PORT_RADIUS

if TYPE_CHECKING:
    from app.canvas.node_item import NodeItem


class PortState(Enum):
    NORMAL = 0
    VALID = 1  # a valid drop target during a link drag
    INVALID = 2  # not a valid target during a link drag (dimmed)
    SOURCE = 3  # where the link drag started


class PortItem(QGraphicsItem):
    """One input or output port. `index` is the port number used in `Edge.src_port` / `Edge.dst_port`."""

    def __init__(self, node_item: NodeItem, is_output: bool, index: int, name: str):
        super().__init__(node_item)
        self.node_item = node_item
        self.is_output = is_output
        self.index = index
        self.name = name
        self.connected = False
        self.state = PortState.NORMAL
        self.problem: str | None = None  # why this port is not a valid target, during a link drag
        self._hovered = False
        self.setAcceptHoverEvents(True)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setZValue(1)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)  # as the card's (node_item.py)

    @property
    def node_id(self) -> str:
        return self.node_item.node_id

    def boundingRect(self) -> QRectF:
        r = PORT_HIT_RADIUS + 1
        return QRectF(-r, -r, 2 * r, 2 * r)

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addEllipse(QPointF(0, 0), PORT_HIT_RADIUS, PORT_HIT_RADIUS)
        return path

    def set_connected(self, connected: bool) -> None:
        """A connected port is drawn filled, a free one hollow."""
        if connected != self.connected:
            self.connected = connected
            self.update()

    def set_state(self, state: PortState, problem: str | None = None) -> None:
        """Highlight (valid target) or dim (invalid, with the reason kept in `problem`) during a link drag."""
        self.problem = problem
        if state != self.state:
            self.state = state
            self.setOpacity(0.28 if state is PortState.INVALID else 1.0)
            self.update()

    def hoverEnterEvent(self, event) -> None:
        self._hovered = True
        self.update()
        super().hoverEnterEvent(event)

    def hoverLeaveEvent(self, event) -> None:
        self._hovered = False
        self.update()
        super().hoverLeaveEvent(event)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        if lod < LOD_DETAIL:
            return
        scene = self.scene()
        colors = scene.colors
        accent = self.node_item.accent
        radius = PORT_RADIUS
        if self.state is PortState.VALID or self._hovered or self.state is PortState.SOURCE:
            ring = QColor(colors.valid if self.state is PortState.VALID else colors.selection)
            ring.setAlpha(90)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(ring)
            painter.drawEllipse(QPointF(0, 0), radius + 4, radius + 4)
            radius += 1
        if self.state is PortState.VALID:
            fill, border = colors.valid, colors.valid.darker(130)
        elif self.connected:
            fill, border = accent, accent.darker(140)
        else:
            fill, border = colors.card, accent.darker(115) if not colors.dark else accent
        painter.setPen(QPen(border, 1.6))
        painter.setBrush(QBrush(fill))
        painter.drawEllipse(QPointF(0, 0), radius, radius)
