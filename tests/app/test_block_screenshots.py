"""The pictures of blocks in the app (docs/screenshots/blocks_*.png): a network built from built-in blocks at
the top level, the inside of one with the breadcrumb bar, and the palette's built-in blocks. The pictures are
written into docs/screenshots only with LAYERLOOM_SCREENSHOTS=1 (else into a temporary folder), so running the
tests leaves the repository unchanged; what they show is asserted either way."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QApplication

from graph_engine.blocks.builtin import BUILTIN_PREFIX
from graph_engine.graph import Edge
from tests.app.block_windows import open_window

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
CHAIN = [("ConvBnAct", {"channels": 32}), ("BasicBlock", {"channels": 32}), ("BasicBlockDown", {"channels": 64}),
         ("InvertedResidualSE", {"channels": 64})]


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERLOOM_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("LAYERLOOM_STATE_DIR", str(tmp_path / "state"))


def shot_path(tmp_path: Path, name: str) -> Path:
    return SHOTS / name if os.environ.get("LAYERLOOM_SCREENSHOTS") == "1" else tmp_path / name


def build_network(window) -> list[str]:
    """The digits CNN rebuilt from built-in blocks: image -> ConvBnAct -> BasicBlock x2 -> BasicBlockDown -> InvertedResidualSE -> pool -> linear -> logits."""
    doc = window.document
    for node_id in [n for n in doc.graph.nodes if n not in ("image", "logits")]:
        doc.remove_nodes([node_id])
    ids = []
    for (name, params), node_id in zip(CHAIN, ("stem", "layer1", "layer2", "layer3"), strict=True):
        doc.rename(doc.add_block_instance(BUILTIN_PREFIX + name), node_id)
        for key, value in params.items():
            doc.set_param(node_id, key, value)
        ids.append(node_id)
    doc.project.graph.set_instance(ids[1], "BasicBlock", 2)
    pool = doc.add_node("AdaptiveAvgPool2d")
    flat = doc.add_node("Flatten")
    head = doc.add_node("Linear", params={"out_features": 10})
    doc.rename(pool, "pool")
    doc.rename(flat, "flatten")
    doc.rename(head, "fc")
    pool, flat, head = "pool", "flatten", "fc"
    chain = ["image", *ids, pool, flat, head, "logits"]
    for src, dst in zip(chain, chain[1:], strict=False):
        doc.connect(Edge(src, dst, 0, 0))
    doc.tidy_up()
    return ids


def test_block_screenshots(qtbot, tmp_path):
    window = open_window(qtbot, tmp_path, "cnn_digits")
    window.resize(1400, 820)
    doc, view = window.document, window.canvas
    ids = build_network(window)
    result = doc.fresh_result()
    assert result.ok, [str(d) for d in result.errors]
    assert str(result.shape(ids[-1])) == "[64, 4, 4]"
    card = view.canvas.item_for_node[ids[1]]
    assert card.op == "BasicBlock" and card.repeat == 2
    doc.set_selection([ids[2]])
    view.fit_all()
    QApplication.processEvents()
    top = shot_path(tmp_path, "blocks_top_level.png")
    assert window.grab().save(str(top))

    doc.enter_block(ids[2])
    doc.set_selection(["downsample"])
    QApplication.processEvents()
    assert view.breadcrumb.isVisible()
    inside = shot_path(tmp_path, "blocks_inside.png")
    assert window.grab().save(str(inside))
    doc.leave_block()

    palette = window.palette_panel
    window.resizeDocks([window.palette_dock], [330], Qt.Orientation.Horizontal)
    palette.splitter.setSizes([520, 240])
    palette.set_filter("")
    palette.tree.setCurrentItem(palette.item_for_builtin("InvertedResidualSE"))
    palette.tree.scrollToItem(palette.category_item("Blocks"), QAbstractItemView.ScrollHint.PositionAtTop)
    QApplication.processEvents()
    shown = shot_path(tmp_path, "blocks_palette.png")
    assert "built-in block" in palette.description.toPlainText()
    assert "SqueezeExcite" in palette.description.toPlainText()  # the block it uses
    assert window.palette_dock.grab().save(str(shown))
    for path in (top, inside, shown):
        assert path.stat().st_size > 10_000
