"""Blocks: an instance of a block definition, and the ports that define a block's inputs and outputs.

These three specs only make the ops known to the closed catalog (so edits and the palette accept them). What
an instance actually takes and returns depends on its definition: `graph_engine.blocks` builds one spec per
definition (`BlockLibrary.spec_for`) and validation asks for that one. Inside a definition, each BlockInput is
an input port of the block and each BlockOutput an output port, in the order they are listed.
"""

from __future__ import annotations

from graph_engine.catalog.spec import LayerSpec, Port, ShapeError

CATEGORY = "Blocks"


def _port_outside_a_block(inputs, p):
    raise ShapeError("BlockInput and BlockOutput are the ports of a block and only work inside a block definition",
                     "delete it, or group layers into a block (the block gets its ports from the cut edges)")


def _unresolved_block(inputs, p):
    raise ShapeError("this Block names no block definition", "choose the block it should use")


BLOCK = LayerSpec(
    op="Block",
    category=CATEGORY,
    doc="An instance of a block: a sub-network defined once in the project and used many times.",
    shape_rule=_unresolved_block,
    inputs=(),
    outputs=(),
    input_dtypes=None,
    flops=lambda i, o, p: 0,
    keywords=("group", "sub-network", "subnetwork", "module", "unit", "node group"),
)

BLOCK_INPUT = LayerSpec(
    op="BlockInput",
    category=CATEGORY,
    doc="An input port of the block being defined; its shape comes from what each instance receives.",
    shape_rule=_port_outside_a_block,
    inputs=(),
    input_dtypes=None,
    flops=lambda i, o, p: 0,
    keywords=("group input", "port", "argument"),
)

BLOCK_OUTPUT = LayerSpec(
    op="BlockOutput",
    category=CATEGORY,
    doc="An output port of the block being defined: what the block returns.",
    shape_rule=_port_outside_a_block,
    inputs=(Port("input"),),
    outputs=(),
    input_dtypes=None,
    flops=lambda i, o, p: 0,
    keywords=("group output", "port", "return"),
)

SPECS = (BLOCK, BLOCK_INPUT, BLOCK_OUTPUT)
