"""The Document: every edit is one undo step, refused edits change nothing, undo/redo restore exact JSON."""

import json

import pytest

from app.document import Document, EditRefused
from graph_engine import Edge, load_project, project_to_json


@pytest.fixture
def doc(qtbot):
    project = load_project({"format": "layerloom", "format_version": 1, "name": "Doc", "graph": {"nodes": [
        {"id": "x", "op": "Input", "params": {"shape": [1, 8, 8]}, "pos": [0, 0]},
        {"id": "y", "op": "Output", "pos": [600, 0]}], "edges": []}})
    document = Document(project)
    yield document
    document.close()


def test_build_undo_to_empty_and_redo_to_the_same_json(doc, qtbot):
    start = project_to_json(doc.project)
    conv = doc.add_node("Conv2d", (200, 0), connect_from=("x", 0))
    doc.set_param(conv, "out_channels", 6)
    act = doc.add_node("ReLU", (300, 0), connect_from=(conv, 0))
    flat = doc.add_node("Flatten", (400, 0), connect_from=(act, 0))
    doc.connect(Edge(flat, "y"))
    doc.rename(act, "act1")
    doc.move_nodes({"act1": ((300.0, 0.0), (320.0, 10.0))})
    with qtbot.waitSignal(doc.checked, timeout=2000):
        pass
    assert doc.result.ok, doc.result.diagnostics
    assert str(doc.result.shape("act1")) == "[6, 6, 6]"
    built = project_to_json(doc.project)
    steps = doc.undo_stack.count()
    assert steps == 7
    while doc.undo_stack.canUndo():
        doc.undo_stack.undo()
    assert project_to_json(doc.project) == start
    while doc.undo_stack.canRedo():
        doc.undo_stack.redo()
    assert project_to_json(doc.project) == built


def test_refused_edits_change_nothing(doc):
    conv = doc.add_node("Conv2d", (200, 0), connect_from=("x", 0))
    before, steps = project_to_json(doc.project), doc.undo_stack.count()
    with pytest.raises(EditRefused, match="between 1 and"):
        doc.set_param(conv, "out_channels", 0)
    with pytest.raises(EditRefused, match="keyword"):
        doc.rename(conv, "class")
    with pytest.raises(EditRefused, match="itself"):
        doc.connect(Edge(conv, conv))
    fc = doc.add_node("Embedding", (300, 0))
    with pytest.raises(EditRefused, match="int64"):
        doc.connect(Edge(conv, fc))
    doc.undo_stack.undo()
    assert project_to_json(doc.project) == before and doc.undo_stack.count() == steps + 1


def test_delete_and_undo_restore_edges_in_order(doc):
    a = doc.add_node("Flatten", (200, 0), connect_from=("x", 0))
    b = doc.add_node("Linear", (300, 0), connect_from=(a, 0))
    doc.connect(Edge(b, "y"))
    edges = list(doc.graph.edges)
    doc.delete([a, b])
    assert list(doc.graph.nodes) == ["x", "y"] and doc.graph.edges == []
    doc.undo_stack.undo()
    assert doc.graph.edges == edges and list(doc.graph.nodes) == ["x", "y", a, b]


def test_connect_replaces_the_edge_feeding_an_input(doc):
    a = doc.add_node("Flatten", (200, 0), connect_from=("x", 0))
    b = doc.add_node("Flatten", (200, 100), connect_from=("x", 0))
    doc.connect(Edge(a, "y"))
    doc.connect(Edge(b, "y"))
    assert doc.graph.in_edges("y") == [Edge(b, "y")]
    doc.undo_stack.undo()
    assert doc.graph.in_edges("y") == [Edge(a, "y")]


def test_paste_makes_fresh_ids_and_read_only_refuses(doc):
    a = doc.add_node("Flatten", (200, 0), connect_from=("x", 0))
    nodes, edges = doc.graph.subgraph(["x", a])
    new = doc.paste(nodes, edges)
    assert len(new) == 2 and not set(new) & {"x", a}
    assert Edge(new[0], new[1]) in doc.graph.edges
    doc.set_read_only(True)
    with pytest.raises(EditRefused, match="training"):
        doc.add_node("ReLU")
    assert json.loads(project_to_json(doc.project))["graph"]["nodes"][-1]["id"] == new[1]


def test_new_layers_are_named_in_snake_case_and_history_names_them(doc):
    relu = doc.add_node("ReLU", (200, 0), connect_from=("x", 0))
    leaky = doc.add_node("LeakyReLU", (300, 0))
    norm = doc.add_node("BatchNorm2d", (400, 0))
    inp = doc.add_node("Input", (0, 300))
    assert (relu, leaky, norm, inp) == ("relu_1", "leaky_relu_1", "batch_norm2d_1", "input_1")
    assert doc.add_node("ReLU", (200, 100)) == "relu_2"
    stack = doc.undo_stack
    assert [stack.text(i) for i in range(3)] == ["Add ReLU relu_1", "Add LeakyReLU leaky_relu_1",
                                                 "Add BatchNorm2d batch_norm2d_1"]
    doc.delete([relu])
    assert stack.undoText() == "Delete relu_1"
    doc.delete([leaky, norm])
    assert stack.undoText() == "Delete 2 layers"
    a = doc.add_node("Flatten", (200, 0), connect_from=("x", 0))
    doc.delete([], [Edge("x", a)])
    assert stack.undoText() == f"Delete edge x → {a}"
