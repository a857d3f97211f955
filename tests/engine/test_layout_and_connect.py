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


def test_layout_stacks_a_column_by_card_heights_and_blocks_connect_through_their_ports():
    from graph_engine.blocks.builtin import add_builtin_instance
    from graph_engine.layout import CLEARANCE, ROW_GAP, node_height
    from graph_engine.project import Project

    project = Project(name="two-input block")
    g = project.graph
    g.add_node(Node("low", "Input", {"shape": [64, 8, 8]}))
    g.add_node(Node("high", "Input", {"shape": [32, 16, 16]}))
    up = add_builtin_instance(project, g, "UNetUp").id  # two inputs, each a port row: a taller card
    side = add_builtin_instance(project, g, "ConvBnAct").id
    g.add_edge(Edge("low", up, 0, 0))
    g.add_edge(Edge("high", up, 0, 1))
    g.add_edge(Edge("high", side))
    for i, src in enumerate((up, side)):
        g.add_node(Node(f"out{i}", "Output"))
        g.add_edge(Edge(src, f"out{i}"))
    assert node_height(g, up) + CLEARANCE > ROW_GAP > node_height(g, side) + CLEARANCE
    pos = layered_layout(g, wrap=False)
    assert pos[up][0] == pos[side][0]  # one column
    upper, lower = sorted((up, side), key=lambda n: pos[n][1])
    assert pos[lower][1] - pos[upper][1] == max(ROW_GAP, node_height(g, upper) + CLEARANCE)
    # connect: a block's ports are its definition's (the bare catalog Block has none), shapes checked inside
    result = check(project)
    assert result.ok, [str(d) for d in result.errors]
    assert connection_problem(g, result, Edge(up, "out1", 0, 0)) is None
    assert "UNetUp has no output port 1" in connection_problem(g, result, Edge(up, "out1", 1, 0))
    assert "UNetUp has no input port 2" in connection_problem(g, result, Edge("low", up, 0, 2))
