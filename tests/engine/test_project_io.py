"""Project files: round trips, unknown keys, atomic saves, versions and migrations."""

import json
import os

import pytest

from graph_engine import (
    NewerFormatError,
    NotAProjectError,
    ProjectError,
    load_project,
    project_io,
    project_to_dict,
    save_project,
)

DESIGN_EXAMPLE = {
    "format": "layerloom",
    "format_version": 1,
    "name": "LeNet-5",
    "graph": {
        "nodes": [
            {"id": "image", "op": "Input", "params": {"shape": [1, 28, 28]}, "pos": [0, 0]},
            {"id": "fc", "op": "Linear", "params": {"out_features": 6}},
            {"id": "logits", "op": "Output"},
        ],
        "edges": [{"src": "image", "dst": "fc"}, {"src": "fc", "dst": "logits", "src_port": 0, "dst_port": 0}],
    },
    "training": {"dataset": {"name": "digits"}, "epochs": 20},
    "future_feature": {"keep": [1, 2, 3]},
}


def test_round_trip_keeps_everything_including_unknown_keys(tmp_path):
    data = json.loads(json.dumps(DESIGN_EXAMPLE))
    data["graph"]["nodes"][1]["comment"] = "a note from a newer app"
    path = tmp_path / "p.layerloom.json"
    path.write_text(json.dumps(data))
    project = load_project(path)
    save_project(project, tmp_path / "q.layerloom.json")
    again = json.loads((tmp_path / "q.layerloom.json").read_text())
    assert again["future_feature"] == {"keep": [1, 2, 3]}
    assert again["training"] == data["training"]
    assert again["graph"]["nodes"][1]["comment"] == "a note from a newer app"
    assert [n["id"] for n in again["graph"]["nodes"]] == ["image", "fc", "logits"]
    assert project_to_dict(load_project(tmp_path / "q.layerloom.json")) == again


def test_newer_version_is_refused_and_file_untouched(tmp_path):
    path = tmp_path / "new.layerloom.json"
    raw = json.dumps({**DESIGN_EXAMPLE, "format_version": 7}).encode()
    path.write_bytes(raw)
    before = os.stat(path).st_mtime_ns
    with pytest.raises(NewerFormatError, match="newer LayerLoom") as err:
        load_project(path)
    assert err.value.field == "format_version"
    assert path.read_bytes() == raw and os.stat(path).st_mtime_ns == before


def test_migrations_run_in_order(monkeypatch):
    calls = []

    def migrate_v1_to_v2(data):
        calls.append(data["format_version"])
        return {**data, "name": data["name"] + " (migrated)"}

    monkeypatch.setattr(project_io, "FORMAT_VERSION", 2)
    monkeypatch.setitem(project_io.MIGRATIONS, 1, migrate_v1_to_v2)
    project = load_project(json.loads(json.dumps(DESIGN_EXAMPLE)))
    assert calls == [1] and project.name == "LeNet-5 (migrated)"


@pytest.mark.parametrize("content, error", [
    (b"{not json", NotAProjectError),
    (b"", NotAProjectError),
    (b"[1, 2]", NotAProjectError),
    (b'{"format": "other", "format_version": 1}', NotAProjectError),
    (b'{"format": "layerloom", "format_version": "1"}', NotAProjectError),
    (b"\xff\xfe\x00garbage", NotAProjectError),
    (b'{"format": "layerloom", "format_version": 1, "graph": {"nodes": {}}}', ProjectError),
])
def test_unreadable_files_give_typed_errors(tmp_path, content, error):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(error):
        load_project(path)


def test_duplicate_ids_name_the_node():
    data = json.loads(json.dumps(DESIGN_EXAMPLE))
    data["graph"]["nodes"].append({"id": "fc", "op": "ReLU"})
    with pytest.raises(ProjectError) as err:
        load_project(data)
    assert err.value.node_id == "fc" and err.value.field == "id"


def test_failed_save_leaves_the_old_file_and_no_temp_files(tmp_path):
    path = tmp_path / "p.layerloom.json"
    project = load_project(json.loads(json.dumps(DESIGN_EXAMPLE)))
    save_project(project, path)
    before = path.read_bytes()
    project.extra["bad"] = object()  # not JSON-serialisable: the save fails while writing
    with pytest.raises(TypeError):
        save_project(project, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.layerloom.json"]


def test_save_into_a_missing_folder_is_a_project_error(tmp_path):
    project = load_project(json.loads(json.dumps(DESIGN_EXAMPLE)))
    with pytest.raises(ProjectError, match="cannot save"):
        save_project(project, tmp_path / "no" / "such" / "p.json")


def test_saved_file_is_readable_by_others(tmp_path):
    path = tmp_path / "p.layerloom.json"
    save_project(load_project(json.loads(json.dumps(DESIGN_EXAMPLE))), path)
    assert path.stat().st_mode & 0o044  # not the private 0600 of a temp file


def test_save_failing_at_the_final_rename_cleans_up(tmp_path):
    target = tmp_path / "p.layerloom.json"
    target.mkdir()
    (target / "keep.txt").write_text("x")  # a non-empty folder cannot be replaced by a file
    with pytest.raises(ProjectError, match="cannot save") as err:
        save_project(load_project(json.loads(json.dumps(DESIGN_EXAMPLE))), target)
    assert "unchanged" in err.value.hint
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.layerloom.json"]
    assert (target / "keep.txt").read_text() == "x"
