"""The graph model: every edit changes the model once and announces it; refused edits change nothing."""

import pytest

from graph_engine import Edge, Graph, GraphEditError, InvalidIdError, Node


def _chain() -> Graph:
    g = Graph()
    g.add_node(Node("x", "Input", {"shape": [8]}))
    g.add_node(Node("fc", "Linear", {"out_features": 4}))
    g.add_node(Node("y", "Output"))
    g.add_edge(Edge("x", "fc"))
    g.add_edge(Edge("fc", "y"))
    return g


def test_events_fire_once_per_edit():
    g = Graph()
    seen = []
    g.node_added.sub(lambda node, index: seen.append(("added", node.id, index)))
    g.edge_added.sub(lambda edge: seen.append(("edge", edge.src, edge.dst)))
    g.node_changed.sub(lambda node_id: seen.append(("changed", node_id)))
    g.add_node(Node("x", "Input", {"shape": [8]}))
    g.add_node(Node("fc", "Linear"))
    g.add_edge(Edge("x", "fc"))
    g.set_param("fc", "out_features", 3)
    assert seen == [("added", "x", 0), ("added", "fc", 1), ("edge", "x", "fc"), ("changed", "fc")]
    assert g.node("fc").params == {"out_features": 3}


def test_remove_node_returns_what_undo_needs_and_restores_exactly():
    g = _chain()
    node, index, edges = g.remove_node("fc")
    assert (node.id, index) == ("fc", 1)
    assert set(edges) == {Edge("x", "fc"), Edge("fc", "y")}
    assert g.edges == [] and list(g.nodes) == ["x", "y"]
    g.add_node(node, index)
    for e in edges:
        g.add_edge(e)
    assert list(g.nodes) == ["x", "fc", "y"]
    assert g.in_edges("y") == [Edge("fc", "y")]


def test_rename_keeps_order_and_edges():
    g = _chain()
    g.rename_node("fc", "hidden")
    assert list(g.nodes) == ["x", "hidden", "y"]
    assert g.edges == [Edge("x", "hidden"), Edge("hidden", "y")]
    assert g.out_edges("x") == [Edge("x", "hidden")]


@pytest.mark.parametrize("bad", ["class", "forward", "_private", "1st", "with space", "сonv", "a" * 65, ""])
def test_invalid_ids_are_refused_without_change(bad):
    g = _chain()
    version = g.version
    with pytest.raises(InvalidIdError) as err:
        g.add_node(Node(bad, "ReLU"))
    assert "try" in err.value.hint
    with pytest.raises(InvalidIdError):
        g.rename_node("fc", bad)
    assert list(g.nodes) == ["x", "fc", "y"] and g.version == version


def test_duplicate_id_unknown_op_and_dangling_edge_are_refused():
    g = _chain()
    with pytest.raises(GraphEditError, match="already"):
        g.add_node(Node("fc", "Linear"))
    with pytest.raises(GraphEditError, match="Conv2d"):
        g.add_node(Node("c", "conv2d"))
    with pytest.raises(GraphEditError, match="does not exist"):
        g.add_edge(Edge("x", "nowhere"))
    with pytest.raises(GraphEditError, match="already connected"):
        g.add_edge(Edge("x", "fc"))


def test_copy_is_detached():
    g = _chain()
    snapshot = g.copy()
    g.set_param("fc", "out_features", 99)
    g.remove_node("y")
    assert snapshot.node("fc").params == {"out_features": 4}
    assert "y" in snapshot and len(snapshot.edges) == 2


def test_moves_do_not_bump_the_check_version():
    g = _chain()
    version = g.version
    moved = []
    g.node_moved.sub(lambda node_id, pos: moved.append((node_id, pos)))
    g.move_node("fc", (10, 20))
    assert moved == [("fc", (10.0, 20.0))] and g.version == version
