"""How validation and code generation find the spec of a node: the catalog's, or its block definition's.

Kept apart from the rest of graph_engine.blocks (and free of imports from validation) so validation can use
it without an import cycle.
"""

from __future__ import annotations

from graph_engine.catalog import get_spec
from graph_engine.catalog.spec import LayerSpec


def spec_for(graph, node) -> LayerSpec | None:
    """The spec that describes `node` in `graph`: a Block node's comes from the project's block library."""
    if node.op == "Block":
        library = getattr(graph, "library", None)
        return library.spec_for(node) if library is not None else None
    return get_spec(node.op)


def block_problem(graph, node) -> tuple[str, str, str]:
    """(message, hint, field) for a Block node `spec_for` could not resolve."""
    library = getattr(graph, "library", None)
    if library is None:
        return f"there is no block {node.block!r:.50}", "the project defines no blocks", "block"
    return library.problem(node)
