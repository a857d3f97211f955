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
    pos = layered_layout(p.graph, wrap=False)
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


def test_long_chains_wrap_into_bands_that_read_left_to_right():
    n = 14
    p = project([("x", "Input", {"shape": [8]})] + [(f"l{i}", "ReLU", {}) for i in range(n)] + [("y", "Output", {})],
                [("x", "l0")] + [(f"l{i}", f"l{i + 1}") for i in range(n - 1)] + [(f"l{n - 1}", "y")])
    pos = layered_layout(p.graph)
    xs, ys = {x for x, _ in pos.values()}, sorted({y for _, y in pos.values()})
    assert 1 < len(ys) < len(xs)  # several bands, each several columns long
    width, height = max(xs) - min(xs), ys[-1] - ys[0]
    assert 0.6 < (width + 240) / (height + 220) < 2.5  # roughly the canvas shape, not a 16-column ribbon
    for e in p.graph.edges:  # within a band edges go right; a wrap continues at the start of the next band
        (x0, y0), (x1, y1) = pos[e.src], pos[e.dst]
        assert (y1 == y0 and x1 > x0) or (y1 > y0 and x1 == 0)
    assert layered_layout(p.graph, wrap=False)["y"][1] == 0 and len({y for _, y in layered_layout(p.graph, wrap=False).values()}) == 1
