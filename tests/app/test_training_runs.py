"""Runs are kept: a run trained in one window is a folder beside the project (the trainer's metrics, weights
and snapshot plus run.json), and a second, new window that opens the project lists it again with its
epochs and status; two runs' networks compare (the architecture diff dialog), a run's project opens again; renaming it in the run list
is kept on disk and Delete removes the folder."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from graph_engine.project_io import save_project
from graph_engine.templates import load_template
from graph_engine.training.runs import list_runs, load_snapshot, runs_folder
from tests.app.training_windows import new_window

RUN_TIMEOUT = 120_000  # ms: the first run of a process imports torch


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERLOOM_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("LAYERLOOM_STATE_DIR", str(tmp_path / "state"))


@pytest.mark.slow
def test_a_run_is_listed_again_in_a_second_window(qtbot, tmp_path):
    path = tmp_path / "moons.layerloom.json"
    project = load_template("moons_mlp")
    project.training = {**(project.training or {}), "epochs": 2}
    save_project(project, path)

    first = new_window(qtbot)
    assert first.open_file(path)
    first.show_training_panel()
    session = first.training_session
    with qtbot.waitSignal(session.run_ended, timeout=RUN_TIMEOUT) as ended:
        first.training_panel.start()
    run = ended.args[0]
    assert run.status == "finished" and len(run.records) == 2
    [info] = list_runs(runs_folder(path, tmp_path / "state"))
    assert info.status == "finished" and info.name == run.name
    assert (info.folder / "model.safetensors").exists() and (info.folder / "best.safetensors").exists()
    assert list(load_snapshot(info.folder).graph.nodes) == list(project.graph.nodes)
    # A second run of a wider network, for the architecture diff.
    linear = next(n for n in first.document.graph.nodes.values() if n.op == "Linear" and "out_features" in n.params)
    width = linear.params["out_features"]
    first.document.set_param(linear.id, "out_features", width * 2)
    with qtbot.waitSignal(session.run_ended, timeout=RUN_TIMEOUT) as ended:
        first.training_panel.start()
    wider = ended.args[0]
    assert wider.status == "finished"
    assert first.training_session.shutdown(60_000)
    first.close()

    second = new_window(qtbot)  # as after a restart: nothing shared but the files
    try:
        assert second.open_file(path)
        again = second.training_session.runs
        assert [r.name for r in again] == [run.name, wider.name]
        assert again[0].status == "finished" and len(again[0].records) == 2
        assert [r["train_loss"] for r in again[0].records] == [r["train_loss"] for r in run.records]
        second.ensure_dashboard()
        panel = second.runs_panel
        panel.set_checked(again[0], True)
        panel.set_checked(again[1], True)
        dialog = panel.compare()
        assert dialog.diff.params == {linear.id: {"out_features": (width, width * 2)}}
        assert f"~ {linear.id}.out_features: {width} -> {width * 2}" in dialog.text.toPlainText()
        dialog.close()
        item = panel.item_for(again[0])
        assert item is not None and item.text(0) == run.name
        item.setText(0, "two epochs")  # what an edit of the name cell commits
        assert list_runs(info.folder.parent)[0].name == "two epochs" and again[0].name == "two epochs"
        item.setText(0, "  ")  # an empty name is refused and the old one shows again
        assert item.text(0) == "two epochs"
        panel.tree.setCurrentItem(item)
        asked = []
        panel.confirm_delete = lambda name: asked.append(name) or False  # "Cancel": the run stays
        qtbot.mouseClick(panel.remove_button, Qt.MouseButton.LeftButton)
        assert asked == ["two epochs"] and info.folder.exists() and len(second.training_session.runs) == 2
        panel.confirm_delete = lambda name: asked.append(name) or True  # "Yes": gone for good
        qtbot.mouseClick(panel.remove_button, Qt.MouseButton.LeftButton)
        assert asked == ["two epochs"] * 2
        assert not info.folder.exists() and second.training_session.runs == [again[1]]
        # The project the wider run trained opens as a new project.
        panel.tree.setCurrentItem(panel.item_for(again[1]))
        qtbot.mouseClick(panel.open_button, Qt.MouseButton.LeftButton)
        assert second.document.path is None
        assert second.document.graph.node(linear.id).params["out_features"] == width * 2
    finally:
        assert second.training_session.shutdown(60_000)


def stop_after_an_epoch(qtbot, session, start) -> object:
    """Start (or resume) and stop the run in the slot of its first epoch; the terminal event's run."""
    def on_epoch(_run, _record) -> None:
        session.epoch_ended.disconnect(on_epoch)
        session.stop()

    session.epoch_ended.connect(on_epoch)
    with qtbot.waitSignal(session.run_ended, timeout=RUN_TIMEOUT) as ended:
        start()
    return ended.args[0]


@pytest.mark.slow
def test_a_stopped_run_resumes_from_its_checkpoint(qtbot, tmp_path):
    path = tmp_path / "moons.layerloom.json"
    project = load_template("moons_mlp")
    project.training = {**(project.training or {}), "epochs": 5000}  # it never finishes: it is stopped
    save_project(project, path)
    window = new_window(qtbot)
    try:
        assert window.open_file(path)
        window.show_training_panel()
        session = window.training_session
        run = stop_after_an_epoch(qtbot, session, window.training_panel.start)
        assert run.status == "stopped" and run.records
        done, last_step = len(run.records), int(run.records[-1]["step"])
        [info] = list_runs(runs_folder(path, tmp_path / "state"))
        assert info.status == "stopped" and info.resumable

        window.ensure_dashboard()
        window.runs_panel.tree.setCurrentItem(window.runs_panel.item_for(run))
        again = stop_after_an_epoch(qtbot, session, lambda: qtbot.mouseClick(window.runs_panel.resume_button,
                                                                             Qt.MouseButton.LeftButton))
        assert again is run and run.status == "stopped" and session.runs == [run]
        assert len(run.records) > done and [r["epoch"] for r in run.records] == list(range(1, len(run.records) + 1))
        assert int(run.records[done]["step"]) > last_step  # it went on from the checkpoint, not from step 0
    finally:
        assert window.training_session.shutdown(60_000)


def test_the_run_list_can_be_read_whole_in_a_narrow_pane(qtbot):
    """Long names elide in capped columns, the outcome comes first, and every cell's tooltip has the row whole."""
    from app.training.run_data import RunData
    from app.training.runs_panel import CAPPED_WIDTH, COLUMNS, DATASET, RunsPanel
    from app.training.session import TrainingSession

    session = TrainingSession()
    panel = RunsPanel(session)
    qtbot.addWidget(panel)
    panel.resize(340, 300)
    panel.show()
    qtbot.waitExposed(panel)
    long_dataset = "a_csv_file_with_a_really_quite_long_name_indeed"
    run = RunData("run 1: a run with a long name", {"dataset": {"name": long_dataset}, "epochs": 3,
                                                     "optimizer": {"name": "AdamW", "lr": 0.0003}})
    run.records.append({"epoch": 1, "val_accuracy": 0.953})
    session.run_added.emit(run)
    item = panel.item_for(run)
    assert item.text(DATASET) == long_dataset  # the text is whole; the column shows it elided
    header = panel.tree.header()
    assert header.sectionSize(DATASET) <= CAPPED_WIDTH[DATASET]
    shown = [COLUMNS[header.logicalIndex(v)] for v in range(len(COLUMNS))]
    assert shown[:3] == ["Run", "Val metric", "Status"]
    for column in range(len(COLUMNS)):
        tip = item.toolTip(column)
        for text in ("run 1: a run with a long name", long_dataset, "AdamW 0.0003", "Epochs: 1/3", "95.3% acc", "Running"):
            assert text in tip, (column, text)
    # The hint has a line of its own: as wide as the pane, not squeezed beside the buttons.
    assert panel.hint.width() >= panel.width() - 20
    assert panel.hint.geometry().bottom() < panel.remove_button.geometry().top()
