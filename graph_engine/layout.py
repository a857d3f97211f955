"""Automatic layered left-to-right layout (for templates, imports and "tidy up").

Longest-path layering puts every node one column right of its furthest predecessor; a few sweeps of the
barycenter heuristic order each column to shorten edges and reduce crossings (Sugiyama-style, without dummy
nodes: good enough for the mostly chain-like graphs networks are). Linear-time per sweep, so a 1000-node
graph lays out in milliseconds.

Networks are long and thin (LeNet-5 is 14 columns of one node), which fitted into a window would be drawn too
small to read. So columns wrap into bands, like lines of text, choosing the band length that brings the whole
picture closest to the canvas's shape (`TARGET_ASPECT`).

Cards are not all one height: a node with several ports on a side (a block with two outputs, LSTM,
MultiheadAttention) gets a row per port below its body (app/canvas/node_item.py), so each node's height is
estimated from its port counts (`node_height`) and a column stacks its nodes by those heights; a graph of
one-port nodes lays out exactly as with a fixed row pitch.
"""

from __future__ import annotations

import math

from graph_engine.graph import Graph

COLUMN_GAP = 240.0
ROW_GAP = 130.0
SWEEPS = 4
TARGET_ASPECT = 1.3  # the canvas between the default docks is a little wider than tall
MIN_BAND_COLUMNS = 3
WRAP_AFTER_COLUMNS = 5
NODE_HEIGHT = 90.0  # about a card's height: bands are separated by a row gap below the tallest column


def layered_layout(graph: Graph, column_gap: float = COLUMN_GAP, row_gap: float = ROW_GAP,
                   wrap: bool = True) -> dict[str, tuple[float, float]]:
    """Positions for every node: columns by depth, rows ordered to keep edges short, long sequences wrapped
    into bands (`wrap`). Cycles are tolerated (their back edges are ignored)."""
    layer = _layers(graph)
    columns: dict[int, list[str]] = {}
    for node_id in graph.nodes:  # graph order as the initial order within a column
        columns.setdefault(layer[node_id], []).append(node_id)
    preds = {n: [e.src for e in graph.in_edges(n) if e.src in layer and layer[e.src] < layer[n]] for n in graph.nodes}
    succs = {n: [e.dst for e in graph.out_edges(n) if e.dst in layer and layer[e.dst] > layer[n]] for n in graph.nodes}
    order = sorted(columns)
    rank = {n: float(i) for col in columns.values() for i, n in enumerate(col)}
    for sweep in range(SWEEPS):
        forward = sweep % 2 == 0
        for c in order if forward else reversed(order):
            neighbours = preds if forward else succs
            col = columns[c]
            col.sort(key=lambda n: _barycenter(neighbours[n], rank, rank[n]))
            for i, n in enumerate(col):
                rank[n] = float(i)
    height = {n: node_height(graph, n) for n in graph.nodes}
    # Offsets of each node inside its column: one row pitch apart, more below a card too tall for it.
    offsets: dict[str, float] = {}
    spans: dict[int, float] = {}
    for c, col in columns.items():
        y = 0.0
        for n in col:
            offsets[n] = y
            y += max(row_gap, height[n] + CLEARANCE)
        # From the first card's top to the last one's bottom, counting a card as NODE_HEIGHT unless it needs
        # more than a row pitch (so graphs of ordinary cards keep exactly the fixed-pitch layout).
        spans[c] = y - row_gap + NODE_HEIGHT
    tallest_span = max(spans.values(), default=NODE_HEIGHT)
    band_height = tallest_span + row_gap
    rows = max(1, round((tallest_span - NODE_HEIGHT) / row_gap) + 1)
    per_band = _band_length(len(order), rows, column_gap, row_gap) if wrap and order else len(order)
    positions: dict[str, tuple[float, float]] = {}
    for index, c in enumerate(order):
        band, slot = divmod(index, per_band)
        top = band * band_height + (tallest_span - spans[c]) / 2
        for n in columns[c]:
            positions[n] = (slot * column_gap, top + offsets[n])
    return positions


def _band_length(n_columns: int, tallest: int, column_gap: float, row_gap: float) -> int:
    """How many columns a band holds so that the laid-out graph is closest to TARGET_ASPECT."""
    if n_columns <= WRAP_AFTER_COLUMNS:
        return n_columns
    band_height = (tallest - 1) * row_gap + NODE_HEIGHT + row_gap
    def badness(k: int) -> float:
        bands = -(-n_columns // k)
        width = k * column_gap
        height = bands * band_height
        return abs(math.log(width / height / TARGET_ASPECT))
    return min(range(MIN_BAND_COLUMNS, n_columns + 1), key=badness)


def _barycenter(neighbours: list[str], rank: dict[str, float], default: float) -> float:
    if not neighbours:
        return default
    return sum(rank[n] for n in neighbours) / len(neighbours)


def _layers(graph: Graph) -> dict[str, int]:
    """Longest-path layer of each node (Kahn's algorithm; nodes left in cycles go after their known preds)."""
    indegree = {n: 0 for n in graph.nodes}
    for e in graph.edges:
        if e.src in indegree and e.dst in indegree and e.src != e.dst:
            indegree[e.dst] += 1
    layer = {n: 0 for n in graph.nodes}
    ready = [n for n, d in indegree.items() if d == 0]
    done: set[str] = set()
    while ready:
        n = ready.pop()
        done.add(n)
        for e in graph.out_edges(n):
            if e.dst not in indegree or e.dst == n:
                continue
            layer[e.dst] = max(layer[e.dst], layer[n] + 1)
            indegree[e.dst] -= 1
            if indegree[e.dst] == 0:
                ready.append(e.dst)
    for n in graph.nodes:  # in a cycle: place after the largest finished predecessor
        if n not in done:
            known = [layer[e.src] for e in graph.in_edges(n) if e.src in done]
            layer[n] = max(known, default=0) + 1
    return layer


def apply_missing_positions(graph: Graph) -> None:
    """Give nodes without a `pos` one from the layered layout (the file's own positions are kept)."""
    if all(node.pos is not None for node in graph):
        return
    positions = layered_layout(graph)
    for node in graph:
        if node.pos is None:
            node.pos = positions[node.id]


# The card geometry of app/canvas/appearance.py, for estimating heights: header, body top margin, one body line,
# one port row, bottom margin.
CARD_HEADER, CARD_BODY_TOP, CARD_LINE, CARD_ROW, CARD_BOTTOM = 24.0, 5.0, 15.0, 17.0, 7.0
CLEARANCE = 10.0  # at least this much free space under a card whose column it shares


def node_height(graph: Graph, node_id: str) -> float:
    """About how tall the node's card is (app/canvas/node_item.py): key params, shape and parameter lines (a
    block's card has its definition's name too; a card with several outputs has no shape line), then a row
    per port on a side with several ports."""
    from graph_engine.blocks.resolve import spec_for

    node = graph.node(node_id)
    spec = spec_for(graph, node)
    if spec is None:
        return NODE_HEIGHT
    params = node.params if isinstance(node.params, dict) else None
    try:
        outputs = spec.output_port_count(params)
    except (TypeError, ValueError):
        outputs = len(spec.outputs)
    inputs = 0 if spec.variadic else len(spec.inputs)
    rows = max(inputs if inputs > 1 else 0, outputs if outputs > 1 else 0)
    lines = (2 if outputs > 1 else 3) + (1 if node.op == "Block" else 0)
    height = CARD_HEADER + CARD_BODY_TOP + lines * CARD_LINE + CARD_BOTTOM
    return height + (3.0 + rows * CARD_ROW if rows else 0.0)
