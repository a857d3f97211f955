"""Blocks: hierarchical, reusable, parametrised sub-networks (format_version 2, docs/FILE_FORMAT.md).

    model.py    BlockDef, BlockParam, BlockLibrary (a project's definitions, their events and caches)
    names.py    the rules for block names (class names in generated code)
    refs.py     "$param" references and their arithmetic
    inner.py    checking through blocks: per-instance inference, cached; diagnostics with hierarchy paths
    codegen.py  one nn.Module class per definition; repeated instances as nn.Sequential
    io.py       the `blocks` section of the project file
    edits.py    group / ungroup / make unique: engine methods the app and the importer call
    resolve.py  spec_for(graph, node): what validation and lowering use to find a node's spec
"""

from graph_engine.blocks.model import BlockDef, BlockLibrary, BlockParam, BlockSpec
from graph_engine.blocks.names import block_name_problem, suggest_block_name

__all__ = ["BlockDef", "BlockLibrary", "BlockParam", "BlockSpec", "block_name_problem", "suggest_block_name"]
