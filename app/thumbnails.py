"""Small pictures of a graph for the template gallery.

A thumbnail is painted, not rendered from a scene: rounded boxes in the layer category's colour at the
positions the canvas will use (the file's own positions; `layered_layout` for nodes without one), joined by
the same left-to-right curves as the canvas edges. Painting a template costs about a millisecond; pixmaps
are cached per (file, modification time, size, device pixel ratio, light/dark) so the welcome page redraws
for free.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen, QPixmap

from app.theme import category_color
from graph_engine.blocks.resolve import spec_for
from graph_engine.graph import Graph
from graph_engine.layout import layered_layout

NODE_W = 150.0  # the size of a node in scene units, as drawn by the canvas (near enough for a thumbnail)
NODE_H = 64.0
MARGIN = 10.0

_cache: dict[tuple, QPixmap] = {}


def graph_positions(graph: Graph) -> dict[str, tuple[float, float]]:
    """Where each node sits: its own `pos`, else the layered layout's."""
    missing = [n for n in graph if n.pos is None]
    laid_out = layered_layout(graph) if missing else {}
    return {n.id: n.pos if n.pos is not None else laid_out[n.id] for n in graph}


def paint_graph(painter: QPainter, graph: Graph, rect: QRectF, *, dark: bool = False) -> None:
    """Paint `graph` scaled to fit `rect` (keeping its aspect ratio, centred)."""
    positions = graph_positions(graph)
    if not positions:
        return
    xs = [p[0] for p in positions.values()]
    ys = [p[1] for p in positions.values()]
    bounds = QRectF(min(xs), min(ys), max(xs) - min(xs) + NODE_W, max(ys) - min(ys) + NODE_H)
    area = rect.adjusted(MARGIN, MARGIN, -MARGIN, -MARGIN)
    scale = min(area.width() / bounds.width(), area.height() / bounds.height(), 0.6)
    offset_x = area.x() + (area.width() - bounds.width() * scale) / 2 - bounds.x() * scale
    offset_y = area.y() + (area.height() - bounds.height() * scale) / 2 - bounds.y() * scale

    # At thumbnail scale a long chain's boxes would be thin slivers; grow them (about their centres) into
    # readable chips, as far as the gaps between columns and rows allow.
    width, height = NODE_W * scale, NODE_H * scale
    col_step = _min_step(xs) * scale
    row_step = _min_step(ys) * scale
    height = max(height, min(16.0, row_step * 0.75))
    width = max(width, min(height * 1.7, col_step * 0.8))

    def box(node_id: str) -> QRectF:
        x, y = positions[node_id]
        cx = offset_x + (x + NODE_W / 2) * scale
        cy = offset_y + (y + NODE_H / 2) * scale
        return QRectF(cx - width / 2, cy - height / 2, width, height)

    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    edge_color = QColor("#8d96a3") if dark else QColor("#9aa3ae")
    painter.setPen(QPen(edge_color, max(1.0, 2.2 * scale), Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    for edge in graph.edges:
        if edge.src not in positions or edge.dst not in positions:
            continue
        a, b = box(edge.src), box(edge.dst)
        start = QPointF(a.right(), a.center().y())
        end = QPointF(b.left(), b.center().y())
        bend = max(abs(end.x() - start.x()) / 2, 20 * scale)
        path = QPainterPath(start)
        path.cubicTo(QPointF(start.x() + bend, start.y()), QPointF(end.x() - bend, end.y()), end)
        painter.drawPath(path)
    radius = min(max(2.0, 8 * scale), height / 3)
    for node in graph:
        spec = spec_for(graph, node)
        color = category_color(spec.category if spec else "")
        r = box(node.id)
        fill = QColor(color)
        fill.setAlpha(255)
        body = QColor(color).lighter(175) if not dark else QColor(color).darker(230)
        painter.setPen(QPen(color.darker(115) if not dark else color, max(1.0, min(2.0, 2 * scale))))
        painter.setBrush(body)
        painter.drawRoundedRect(r, radius, radius)
        header = QRectF(r.x(), r.y(), r.width(), r.height() * 0.36)
        clip = QPainterPath()
        clip.addRoundedRect(r, radius, radius)
        painter.save()
        painter.setClipPath(clip)
        painter.fillRect(header, fill)
        painter.restore()
    painter.restore()


def _min_step(values: list[float]) -> float:
    distinct = sorted(set(values))
    steps = [b - a for a, b in zip(distinct, distinct[1:], strict=False) if b - a > 1e-6]
    return min(steps) if steps else 1e9


def render_graph(graph: Graph, size: QSize, device_pixel_ratio: float = 1.0, *, dark: bool = False,
                 background: QColor | None = None) -> QPixmap:
    pixmap = QPixmap(size * device_pixel_ratio)
    pixmap.setDevicePixelRatio(device_pixel_ratio)
    pixmap.fill(background if background is not None else Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    try:
        paint_graph(painter, graph, QRectF(0, 0, size.width(), size.height()), dark=dark)
    finally:
        painter.end()
    return pixmap


def template_thumbnail(path: str | os.PathLike, graph_loader, size: QSize, device_pixel_ratio: float = 1.0, *,
                       dark: bool = False) -> QPixmap:
    """The cached thumbnail of the project file `path`; `graph_loader()` reads its graph on a cache miss."""
    path = Path(path)
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        mtime = 0
    key = (str(path), mtime, size.width(), size.height(), round(device_pixel_ratio, 2), dark)
    pixmap = _cache.get(key)
    if pixmap is None:
        pixmap = render_graph(graph_loader(), size, device_pixel_ratio, dark=dark)
        _cache[key] = pixmap
    return pixmap


def clear_cache() -> None:
    _cache.clear()
