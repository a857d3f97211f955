"""Where a new layer goes: the free spot nearest to where it was asked for.

A layer added from the quick-add box lands at the cursor, or right of the layer it is wired from; either
place may be taken by another card or crossed by an edge, and a card dropped onto an edge looks connected
when it is not. `free_spot` keeps the card's rectangle (with a margin) clear of every card and of every
edge's drawn path (its hit shape, labels included), searching outwards in rings around the wanted place and
taking the nearest free candidate, so a free wanted place is used as it is.

    size = card_size("ReLU")
    top_left = free_spot(scene, wanted_top_left, size)
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, QSizeF, Qt
from PySide6.QtWidgets import QGraphicsScene

from app.canvas.appearance import LINE_H, NODE_WIDTH
from app.canvas.edge_item import EdgeItem
from app.canvas.node_item import NodeItem
from graph_engine.graph import Node

MARGIN = 14.0  # clear space kept around the new card
STEP = 20.0  # grid of the search, scene px
MAX_RINGS = 30  # 600 px each way; past that the wanted place is used (a crowded canvas, rare)


def card_size(op: str, params: dict | None = None) -> QSizeF:
    """The size the card of a new `op` layer will have: measured on a card that is never shown, plus the
    line its output shape adds once the graph is checked."""
    probe = NodeItem(Node("measure", op, dict(params or {})))
    return QSizeF(NODE_WIDTH, probe.height + LINE_H)


def is_free(scene: QGraphicsScene, rect: QRectF) -> bool:
    around = rect.adjusted(-MARGIN, -MARGIN, MARGIN, MARGIN)
    return not any(isinstance(item, NodeItem | EdgeItem)
                   for item in scene.items(around, Qt.ItemSelectionMode.IntersectsItemShape))


def _ring(radius: int) -> list[tuple[int, int]]:
    """Grid offsets at Chebyshev distance `radius`, nearest (Euclidean) first; ties prefer below, then right."""
    if radius == 0:
        return [(0, 0)]
    cells = [(dx, dy) for dx in range(-radius, radius + 1) for dy in range(-radius, radius + 1)
             if max(abs(dx), abs(dy)) == radius]
    return sorted(cells, key=lambda c: (math.hypot(*c), -c[1], -c[0]))


def free_spot(scene: QGraphicsScene, wanted: QPointF, size: QSizeF) -> QPointF:
    """The top-left corner nearest to `wanted` where a card of `size` touches no card and no edge."""
    best: tuple[float, QPointF] | None = None
    for radius in range(MAX_RINGS + 1):
        if best is not None and best[0] <= radius * STEP:
            break  # no cell of this ring or further out can be nearer
        for dx, dy in _ring(radius):
            spot = QPointF(wanted.x() + dx * STEP, wanted.y() + dy * STEP)
            distance = math.hypot(dx, dy) * STEP
            if best is not None and distance >= best[0]:
                continue
            if is_free(scene, QRectF(spot, size)):
                best = (distance, spot)
    return best[1] if best is not None else QPointF(wanted)
