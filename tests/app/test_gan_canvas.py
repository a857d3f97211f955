"""A GAN project's two networks on the canvas: View > Discriminator shows and edits the
discriminator with the same tools, its problems (how it fits the generator) on its nodes, undo included; the
action is off for a project without a discriminator."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from graph_engine.project_io import project_to_json
from tests.app.block_windows import open_window

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "gan_discriminator.png"


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERLOOM_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("LAYERLOOM_STATE_DIR", str(tmp_path / "state"))


def scene_ids(window) -> set[str]:
    return set(window.canvas.canvas.item_for_node)  # the CanvasView's scene


def test_the_canvas_switches_to_the_discriminator_and_back(qtbot, tmp_path):
    window = open_window(qtbot, tmp_path, "gan_digits")
    doc = window.document
    action = window.actions_by_name["show_discriminator"]
    assert action.isEnabled() and not action.isChecked()
    generator_ids = set(doc.project.graph.nodes)
    assert scene_ids(window) == generator_ids
    action.trigger()
    assert doc.network == "discriminator" and doc.graph is doc.project.discriminator and action.isChecked()
    qtbot.waitUntil(lambda: scene_ids(window) == set(doc.project.discriminator.nodes), timeout=3000)
    assert window.canvas.breadcrumb.isVisible()
    assert "discriminator" in " ".join(w.text() for w in window.canvas.breadcrumb.crumbs)
    assert doc.view_result.ok and doc.view_result.shape("fc1").shape == (256,)
    shot = SCREENSHOT if os.environ.get("LAYERLOOM_SCREENSHOTS") == "1" else tmp_path / SCREENSHOT.name
    assert window.grab().save(str(shot))

    before = project_to_json(doc.project)
    doc.set_param("image", "shape", [64])  # no longer the generator's [1, 8, 8]
    doc.recheck()
    assert doc.project.discriminator.node("image").params["shape"] == [64]
    (problem,) = [d for d in doc.view_result.errors if d.field == "discriminator"]
    assert problem.node_id == "image" and "the generator makes [1, 8, 8]" in problem.message
    doc.undo_stack.undo()
    doc.recheck()
    assert project_to_json(doc.project) == before and doc.view_result.ok

    action.trigger()
    assert doc.network == "generator" and doc.graph is doc.project.graph and not action.isChecked()
    qtbot.waitUntil(lambda: scene_ids(window) == generator_ids, timeout=3000)
    assert not window.canvas.breadcrumb.isVisible()


def test_the_switch_is_off_without_a_discriminator(qtbot, tmp_path):
    window = open_window(qtbot, tmp_path, "mlp_digits")
    assert not window.actions_by_name["show_discriminator"].isEnabled()
    window.toggle_discriminator()
    assert window.document.network == "generator"
