"""LayerLoom's built-in block library: ready-made definitions the palette offers beside a project's own blocks.

The definitions are data, written once in `resources/blocks/builtin.layerloom.json`: an ordinary format_version 2
project file read by the same reader as every project (`load_project`), so a built-in block obeys exactly the
rules of a user's block (names, typed params, `$refs`, nesting). Its top-level key `examples` (unknown to the
project format) gives, per block, input shapes that suit its defaults: the engine tests build each block into a
tiny project with them, and the palette's tooltip says them.

Using one (`add_builtin_instance`) copies the definition and the definitions it uses into the project, then adds
an instance. A project definition of the same name whose content is the same (layer positions aside) is reused,
so a second drag of "BasicBlock" adds another instance of the first copy; one the user has since edited is left
alone and the built-in one arrives under a free name (`BasicBlock2`), its nested references renamed to match.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graph_engine.blocks.edits import add_instance
from graph_engine.blocks.model import BlockDef, BlockLibrary
from graph_engine.blocks.names import suggest_block_name
from graph_engine.graph import Graph, Node
from graph_engine.identifiers import default_id
from graph_engine.resource_files import resource_path

# How the app names a built-in block where a project block's name goes (a palette drag, a double-click): a
# block name never holds ":", so the two cannot be confused.
BUILTIN_PREFIX = "builtin:"
LIBRARY_PARTS = ("blocks", "builtin.layerloom.json")  # under the bundled resources (graph_engine/resource_files.py)


@dataclass(frozen=True)
class BuiltinBlocks:
    library: BlockLibrary  # detached: never attached to a project graph, never edited
    examples: dict[str, tuple[tuple[int, ...], ...]]  # block -> input shapes (no batch) that suit its defaults

    @property
    def names(self) -> list[str]:
        return self.library.names

    def get(self, name: str) -> BlockDef | None:
        return self.library.get(name)

    def needed(self, name: str) -> list[str]:
        """`name` and every definition it uses, directly or not, the used ones first."""
        order: list[str] = []

        def visit(current: str) -> None:
            if current in order:
                return
            for used in sorted(self.library.definition(current).uses()):
                visit(used)
            order.append(current)

        visit(name)
        return order


@lru_cache(maxsize=1)
def builtin_blocks() -> BuiltinBlocks:
    """The built-in library, read once from its file (a broken file is a bug of LayerLoom: it raises)."""
    from graph_engine.project_io import load_project

    project = load_project(resource_path(*LIBRARY_PARTS))
    raw = project.extra.get("examples", {})
    examples = {name: tuple(tuple(int(v) for v in shape) for shape in shapes) for name, shapes in raw.items()}
    return BuiltinBlocks(project.blocks, examples)


def comparable(defn: BlockDef) -> dict[str, Any]:
    """What makes two definitions the same block: doc, params and graph, without layer positions."""
    from graph_engine.blocks.io import param_to_dict
    from graph_engine.project_io import graph_to_dict

    graph = graph_to_dict(defn.graph)
    for node in graph["nodes"]:
        node.pop("pos", None)
    return {"doc": defn.doc, "params": {k: param_to_dict(p) for k, p in defn.params.items()}, "graph": graph}


def copy_into(project, name: str) -> tuple[str, list[str]]:
    """Make the built-in block `name` (and those it uses) available in `project`. Returns the name it has
    there and the names of the definitions this added (empty when every one was reused)."""
    builtin = builtin_blocks()
    library = project.blocks
    mapping: dict[str, str] = {}
    added: list[str] = []
    for needed in builtin.needed(name):
        defn = builtin.get(needed).copy()
        _rename_uses(defn.graph, mapping)
        existing = library.get(needed)
        if existing is not None and comparable(existing) == comparable(defn):
            mapping[needed] = needed
            continue
        target = needed if existing is None else suggest_block_name(needed, library.names)
        defn.name = target
        library.add(defn)
        mapping[needed] = target
        added.append(target)
    return mapping[name], added


def add_builtin_instance(project, graph: Graph, name: str, pos=None, node_id: str | None = None) -> Node:
    """Copy the built-in block `name` into `project` when needed and add an instance of it to `graph`."""
    block, _ = copy_into(project, name)
    node_id = node_id or default_id(block, graph.nodes)
    return add_instance(project, graph, node_id, block, pos=pos)


def _rename_uses(graph: Graph, mapping: dict[str, str]) -> None:
    # The copy is detached (not in any library yet), so its nodes can be changed in place.
    for node in graph:
        if node.op == "Block" and node.block in mapping:
            node.block = mapping[node.block]
