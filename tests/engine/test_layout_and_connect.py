"""Automatic layout and the connection check the canvas asks while dragging."""

from graph_engine import Edge, Node, check
from graph_engine.connect import connection_problem
from graph_engine.layout import layered_layout
from tests.engine.test_validation import mlp, project


def test_layout_puts_each_node_right_of_its_inputs_without_overlap():
    p = project(
        [("x", "Input", {"shape": [8]}), ("a", "Linear", {}), ("b", "Linear", {}), ("c", "Linear", {}),
         ("add", "Add", {}), ("y", "Output", {})],
        [("x", "a"), ("a", "b"), ("b", "c"), ("x", "add", 0, 0), ("c", "add", 0, 1), ("add", "y")])
    pos = layered_layout(p.graph)
    for e in p.graph.edges:
        assert pos[e.src][0] < pos[e.dst][0]
    assert len(set(pos.values())) == len(pos)


def test_layout_tolerates_cycles():
    p = project([("x", "Input", {"shape": [8]}), ("a", "Linear", {}), ("b", "Linear", {})],
                [("x", "a"), ("a", "b"), ("b", "a")])
    assert set(layered_layout(p.graph)) == {"x", "a", "b"}


def test_connection_problems_are_explained():
    p = mlp()
    result = check(p)
    g = p.graph
    assert connection_problem(g, result, Edge("fc1", "fc1")) == "a layer cannot feed itself"
    assert "loop" in connection_problem(g, result, Edge("fc2", "fc1"))
    assert "no input port 1" in connection_problem(g, result, Edge("x", "fc2", 0, 1))
    assert connection_problem(g, result, Edge("x", "act")) is None  # replaces fc1 -> act: allowed
    p.graph.add_node(Node("conv", "Conv2d"))
    assert "expects" in connection_problem(g, check(p), Edge("fc2", "conv"))
