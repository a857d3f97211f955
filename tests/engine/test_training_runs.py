"""Runs kept on disk (graph_engine.training.runs): a folder per run with its settings, project snapshot and
metrics, listed again by a fresh call (as after a restart), renamed and deleted; and the architecture diff
between two runs' snapshots."""

from __future__ import annotations

from pathlib import Path

import pytest

from graph_engine.templates import load_template
from graph_engine.training.runs import (
    RunError,
    architecture_diff,
    create_run,
    delete_run,
    finish_run,
    list_runs,
    load_snapshot,
    read_metrics,
    rename_run,
    runs_folder,
)


def test_the_runs_folder_sits_beside_the_project_or_in_app_data(tmp_path):
    assert runs_folder(tmp_path / "net.layerloom.json", tmp_path / "data") == tmp_path / "net.runs"
    assert runs_folder(None, tmp_path / "data") == tmp_path / "data" / "runs" / "untitled"


def test_a_run_folder_is_listed_again_renamed_and_deleted(tmp_path):
    project = load_template("mlp_digits")
    runs = runs_folder(tmp_path / "net.layerloom.json", tmp_path)
    first = create_run(runs, "run 1", project)
    second = create_run(runs, "run 1", project)  # the same name twice: two folders
    assert first != second and first.parent == second.parent == runs
    (first / "metrics.json").write_text('[{"epoch": 1, "train_loss": 0.5}, {"epoch": 2, "train_loss": 0.25}]',
                                        encoding="utf-8")  # as the trainer writes it
    (second / "metrics.json").write_text('[{"epoch": 1, "train_lo', encoding="utf-8")  # torn
    finish_run(first, "stopped")

    listed = list_runs(runs)  # a fresh read, as a restarted app does
    assert [r.folder for r in listed] == [first, second]
    assert listed[0].status == "stopped" and listed[1].status == "running"
    assert [r["train_loss"] for r in read_metrics(first)] == [0.5, 0.25] and read_metrics(second) == []
    assert not listed[0].resumable  # stopped, but no resume state was written
    snapshot = load_snapshot(first)
    assert list(snapshot.graph.nodes) == list(project.graph.nodes)

    rename_run(first, "  wide layer  ")
    assert list_runs(runs)[0].name == "wide layer"
    with pytest.raises(RunError):
        rename_run(first, " ")
    delete_run(second)
    assert [r.folder for r in list_runs(runs)] == [first]
    with pytest.raises(RunError):
        delete_run(tmp_path)  # not a run folder: nothing removed
    assert tmp_path.exists()


def test_a_damaged_run_file_is_listed_with_its_problem(tmp_path):
    run = create_run(tmp_path / "runs", "r", load_template("mlp_digits"))
    (run / "run.json").write_text("{not json", encoding="utf-8")
    [info] = list_runs(tmp_path / "runs")
    assert info.problem and info.folder == run
    assert list_runs(Path(tmp_path / "missing")) == []


def test_the_architecture_diff_names_the_layers_and_params_that_differ():
    a = load_template("mlp_digits")
    b = a.copy()
    assert architecture_diff(a, b).same
    linear = next(n for n in b.graph.nodes.values() if n.op == "Linear" and "out_features" in n.params)
    old = linear.params["out_features"]
    b.graph.set_params(linear.id, {**linear.params, "out_features": old * 2})
    diff = architecture_diff(a, b)
    assert diff.params == {linear.id: {"out_features": (old, old * 2)}}
    assert diff.lines() == [f"~ {linear.id}.out_features: {old} -> {old * 2}"]
    removed = b.graph.remove_node(next(n for n in b.graph.nodes.values() if n.op == "ReLU").id)
    diff = architecture_diff(a, b)
    assert diff.removed == [removed[0].id] and diff.edges_removed and not diff.added
