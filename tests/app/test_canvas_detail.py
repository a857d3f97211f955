"""The canvas's level of detail and its cached drawing, rendered for real through the view: zoomed out a card
still carries its title, and a card, edge or palette change is seen although items blit cached pixmaps."""

from __future__ import annotations

import dataclasses

import pytest
from PySide6.QtCore import QRect
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QGraphicsItem

from app.canvas import CanvasView
from app.canvas.appearance import LOD_DETAIL, LOD_TEXT
from app.document import Document
from graph_engine.project_io import load_project

NODES = [
    {"id": "image", "op": "Input", "params": {"shape": [3, 32, 32]}, "pos": [0, 0]},
    {"id": "conv", "op": "Conv2d", "params": {"out_channels": 8, "kernel_size": 3}, "pos": [220, 0]},
    {"id": "act", "op": "ReLU", "pos": [440, 0]},
]
EDGES = [{"src": "image", "dst": "conv"}, {"src": "conv", "dst": "act"}]


@pytest.fixture
def document():
    doc = Document(load_project({"format": "layerloom", "format_version": 1, "name": "detail",
                                 "graph": {"nodes": NODES, "edges": EDGES}}))
    yield doc
    doc.close()


@pytest.fixture
def view(qtbot, document):
    v = CanvasView(document)
    qtbot.addWidget(v)
    v.resize(900, 500)
    v.show()
    qtbot.waitExposed(v)
    return v


def show_at(view: CanvasView, zoom: float, qtbot) -> None:
    view.zoom_by(zoom / view.zoom())
    view.centerOn(view.canvas.item_for_node["conv"].sceneBoundingRect().center())
    qtbot.wait(10)


def card_rect(view: CanvasView, node_id: str) -> QRect:
    """The card (not its margins) in viewport pixels."""
    item = view.canvas.item_for_node[node_id]
    return view.mapFromScene(item.mapToScene(0, 0, 150, item.height)).boundingRect()


def near(image: QImage, rect: QRect, colour: QColor, tolerance: int = 90) -> int:
    hits = 0
    for y in range(rect.top() + 2, rect.bottom() - 1):
        for x in range(rect.left() + 2, rect.right() - 1):
            c = image.pixelColor(x, y)
            if abs(c.red() - colour.red()) + abs(c.green() - colour.green()) + abs(c.blue() - colour.blue()) < tolerance:
                hits += 1
    return hits


def test_cards_edges_and_ports_cache_their_drawing(view):
    items = view.canvas.items()
    assert items and all(i.cacheMode() is QGraphicsItem.CacheMode.DeviceCoordinateCache for i in items)


@pytest.mark.parametrize("zoom", [LOD_DETAIL + 0.05, (LOD_DETAIL + LOD_TEXT) / 2, 1.0])
def test_a_zoomed_out_card_still_shows_its_title(view, qtbot, zoom):
    show_at(view, zoom, qtbot)
    image = view.grab().toImage()
    rect = card_rect(view, "conv")
    text = view.canvas.colors.text
    # The card's fill alone has no text-coloured pixels; the id written on it does (large when zoomed out).
    assert near(image, rect, text) >= 6, f"no title on the card at zoom {zoom}"
    assert near(image, rect, view.canvas.colors.header(view.canvas.item_for_node["conv"].accent), 30) > 20


def test_a_changed_card_is_redrawn_although_it_is_cached(view, document, qtbot):
    show_at(view, 1.0, qtbot)
    rect = card_rect(view, "conv")
    before = view.grab().toImage().copy(rect)
    document.set_param("conv", "out_channels", 64)  # the key-param line and the shape line change
    document.recheck()
    qtbot.wait(10)
    assert view.grab().toImage().copy(rect) != before
    document.undo_stack.undo()
    document.recheck()
    qtbot.wait(10)
    assert view.grab().toImage().copy(rect) == before


def test_a_new_palette_redraws_the_cached_cards(view, qtbot):
    show_at(view, 1.0, qtbot)
    rect = card_rect(view, "conv")
    old = view.canvas.colors
    body = QColor("#ff00ff")
    view.canvas.set_colors(dataclasses.replace(old, card=body))
    qtbot.wait(10)
    assert near(view.grab().toImage(), rect, body, 30) > 200
    view.canvas.set_colors(old)
    qtbot.wait(10)
    assert near(view.grab().toImage(), rect, body, 30) == 0
