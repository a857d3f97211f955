"""Transfer learning in the app (issue 10), driven in a real window: freeze layers from the inspector (one undo
step, a snowflake and "frozen" on the card, frozen parameters counted in the status bar), and Train > Train
from These Weights... on an imported project whose head was replaced (the mismatched layers start fresh only
when the person says yes)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from app.autosave import Autosaver, AutosaveSession
from app.main_window import MainWindow
from app.settings import open_settings
from app.training.start_weights import run_weights, stored_path, weights_beside
from graph_engine.graph import Edge
from graph_engine.importer import import_module, save_import
from tests.engine.transfer_models import pretrained_cnn

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "frozen_backbone.png"
BACKBONE = ["conv1", "bn1", "conv2", "bn2"]


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERLOOM_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("LAYERLOOM_STATE_DIR", str(tmp_path / "state"))


@pytest.fixture
def imported(tmp_path):
    result = import_module(pretrained_cnn(0), [(1, 28, 28)], name="Small CNN")
    return save_import(result, tmp_path / "small.layerloom.json")


@pytest.fixture
def window(qtbot, tmp_path, imported):
    win = MainWindow(settings=open_settings(), autosaver=Autosaver(AutosaveSession(tmp_path / "state"), 60_000))
    win.ask_save_changes = lambda: "discard"
    errors = []
    win.show_error = lambda *args: errors.append(args)
    win.errors = errors
    qtbot.addWidget(win)
    win.resize(1300, 760)
    win.show()
    qtbot.waitExposed(win)
    assert win.open_file(imported[0])
    return win


def test_the_inspector_freezes_a_layer_in_one_undo_step_and_the_card_shows_it(window, qtbot):
    doc = window.document
    window.canvas.canvas.select_nodes(["conv2"])
    box = window.inspector_panel.trainable_box
    assert box is not None and box.isChecked()
    box.click()
    assert not doc.graph.node("conv2").trainable
    item = window.canvas.canvas.item_for_node["conv2"]
    assert item.frozen
    texts = [t.static.text() for t in item._texts]
    assert any(t.endswith("· frozen") for t in texts), texts
    qtbot.waitUntil(lambda: "frozen" in window.status_info.params_label.text())
    assert "1.2k frozen" in window.status_info.params_label.text()  # 16 * 8 * 9 + 16 = 1,168
    assert "frozen" in window.inspector_panel.params_label.text()
    doc.undo_stack.undo()
    assert doc.graph.node("conv2").trainable and not item.frozen and box.isChecked()
    doc.undo_stack.redo()
    assert not box.isChecked()
    window.canvas.canvas.select_nodes(["x"])
    assert window.inspector_panel.trainable_box is None  # an Input has nothing to train


def test_train_from_these_weights_after_replacing_the_head(window, imported, tmp_path):
    doc = window.document
    assert weights_beside(doc) == imported[1]
    questions = []
    window.ask_yes_no = lambda title, text: questions.append(text) or False
    # The network as imported fits its own weights: no question.
    assert window.train_from_weights(imported[1])
    assert doc.project.training["init"] == {"weights": "small.safetensors"}
    assert questions == []
    doc.undo_stack.undo()
    assert "init" not in (doc.project.training or {})
    # Replace the head on the canvas, freeze the backbone.
    doc.delete(["fc"])
    head = doc.add_node("Linear", (900.0, 0.0), {"out_features": 3})
    doc.connect(Edge("flatten", head))
    doc.connect(Edge(head, "out"))
    doc.set_trainable(BACKBONE, False)
    assert not window.train_from_weights(imported[1])  # "no": nothing changes
    assert "init" not in (doc.project.training or {})
    assert f"these layers do not match it: {head}, fc" in questions[-1]
    window.ask_yes_no = lambda title, text: True
    assert window.train_from_weights(imported[1])
    assert doc.project.training["init"] == {"weights": "small.safetensors", "fresh": [head, "fc"]}
    assert "newly initialised" in window.statusBar().currentMessage()
    assert window.errors == []
    panel = window.ensure_training_panel()
    assert panel.init_label.text() == f"small.safetensors; newly initialised: {head}, fc"
    assert panel.init_clear.isEnabled()

    doc.tidy_up()
    window.canvas.fit_all()
    window.canvas.canvas.select_nodes([])
    QApplication.processEvents()
    # docs/screenshots/frozen_backbone.png is this picture: LAYERLOOM_SCREENSHOTS=1 writes it there.
    shot = SCREENSHOT if os.environ.get("LAYERLOOM_SCREENSHOTS") == "1" else tmp_path / SCREENSHOT.name
    assert window.canvas.grab().save(str(shot))

    panel.init_clear.click()  # back to the network's own initialisation, one undo step
    assert "init" not in (doc.project.training or {}) and not panel.init_clear.isEnabled()
    doc.undo_stack.undo()
    assert doc.project.training["init"]["fresh"] == [head, "fc"]


def test_a_file_that_is_not_weights_is_reported(window, tmp_path):
    bad = tmp_path / "notes.pt"
    bad.write_bytes(b"not a state dict")
    assert not window.train_from_weights(bad)
    assert window.errors and window.errors[0][0] == "Cannot train from these weights"
    assert "init" not in (window.document.project.training or {})


def test_run_weights_and_stored_paths(window, tmp_path):
    run = tmp_path / "runs" / "r1"
    run.mkdir(parents=True)
    assert run_weights(run) is None and run_weights(None) is None
    (run / "best.safetensors").write_bytes(b"x")
    assert run_weights(run) == run / "best.safetensors"
    (run / "model.safetensors").write_bytes(b"x")
    assert run_weights(run) == run / "model.safetensors"
    assert stored_path(window.document, run / "model.safetensors") == "runs/r1/model.safetensors"
    outside = tmp_path.parent / "elsewhere.safetensors"
    assert stored_path(window.document, outside) == str(outside.resolve())


def test_freeze_the_selected_backbone_from_the_canvas_in_one_undo_step(window):
    doc = window.document
    window.canvas.canvas.select_nodes(BACKBONE)
    steps = doc.undo_stack.count()
    window.canvas.freeze_selection(True)
    assert [doc.graph.node(n).trainable for n in BACKBONE] == [False] * 4
    assert all(window.canvas.canvas.item_for_node[n].frozen for n in BACKBONE)
    assert doc.undo_stack.count() == steps + 1 and doc.undo_stack.undoText() == "Freeze 4 layers"
    window.canvas.freeze_selection(False)
    assert all(doc.graph.node(n).trainable for n in BACKBONE)
    doc.undo_stack.undo()
    assert not any(doc.graph.node(n).trainable for n in BACKBONE)


def test_train_from_a_kept_runs_weights_through_its_context_menu(qtbot, tmp_path, imported):
    from graph_engine.project_io import load_project
    from graph_engine.training import Trainer
    from graph_engine.training.runs import create_run, finish_run, runs_folder

    project = load_project(imported[0])
    project.training = {"dataset": {"name": "stroke_digits", "n_samples": 40}, "epochs": 1, "batch_size": 16,
                        "device": "cpu"}
    folder = create_run(runs_folder(imported[0], tmp_path / "state"), "first run", project, project.training)
    assert type(Trainer(project, run_dir=folder, probes=False).run()).__name__ == "FinishedEvent"
    finish_run(folder, "finished")

    win = MainWindow(settings=open_settings(), autosaver=Autosaver(AutosaveSession(tmp_path / "state"), 60_000))
    win.ask_save_changes = lambda: "discard"
    qtbot.addWidget(win)
    win.show()
    assert win.open_file(imported[0])
    win.ensure_dashboard()
    run = next(r for r in win.training_session.runs if r.name == "first run")
    menu = win.runs_panel.context_menu(run)
    action = next(a for a in menu.actions() if a.text() == "Train from These Weights")
    assert action.isEnabled()
    action.trigger()
    init = win.document.project.training["init"]
    assert init == {"weights": f"small.runs/{folder.name}/model.safetensors"}
