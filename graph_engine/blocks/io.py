"""Reading and writing the `blocks` section of a project file (format_version 2, docs/FILE_FORMAT.md).

Like the rest of loading, this is strict about structure and lenient about meaning: a definition's graph
loads even with unknown ops or bad `$refs` (check reports them on their node), but a block name or a block
param that could not become a class or an argument name in generated code is refused at load time, naming
the field and proposing a fixed name. Unknown keys of a definition and of a param survive a round trip.
"""

from __future__ import annotations

from typing import Any

from graph_engine.blocks.model import BlockDef, BlockLibrary, BlockParam, param_problem
from graph_engine.blocks.names import block_name_problem, suggest_block_name
from graph_engine.catalog.spec import REQUIRED
from graph_engine.errors import ProjectError
from graph_engine.project_io import MAX_NODES, graph_to_dict, parse_graph

DEF_KEYS = ("doc", "params", "graph", "sequential")
PARAM_KEYS = ("kind", "default", "doc", "min", "max", "choices")


def parse_blocks(data: Any) -> BlockLibrary:
    library = BlockLibrary()
    if data is None:
        return library
    if not isinstance(data, dict):
        raise ProjectError("blocks must be an object mapping block names to definitions", field="blocks")
    total = 0
    for name, item in data.items():
        where = f"blocks.{name}"
        problem = block_name_problem(name)
        if problem:
            raise ProjectError(f"{name!r:.50} cannot name a block: {problem}", field=where,
                               hint=f"rename it, e.g. to {suggest_block_name(name, data)!r}")
        if not isinstance(item, dict):
            raise ProjectError(f"the block {name} must be an object with params and a graph", field=where)
        doc = item.get("doc", "")
        if not isinstance(doc, str):
            raise ProjectError(f"the doc of block {name} must be text", field=f"{where}.doc")
        graph_data = item.get("graph", {})
        if not isinstance(graph_data, dict):
            raise ProjectError(f"the graph of block {name} must be an object with nodes and edges",
                               field=f"{where}.graph")
        try:
            graph = parse_graph(graph_data)
        except ProjectError as exc:
            raise ProjectError(f"in block {name}: {exc.message}", node_id=exc.node_id,
                               field=f"{where}.{exc.field}" if exc.field else where, hint=exc.hint) from None
        total += len(graph)
        if total > MAX_NODES:
            raise ProjectError(f"the blocks hold more than {MAX_NODES} nodes", field="blocks")
        params = _parse_params(name, item.get("params", {}), data)
        sequential = item.get("sequential", False)
        if not isinstance(sequential, bool) and sequential != "named":
            raise ProjectError(f"sequential of block {name} must be true, \"named\" or false",
                               field=f"{where}.sequential")
        extra = {k: v for k, v in item.items() if k not in DEF_KEYS}
        library.add(BlockDef(name, graph, params, doc, extra, sequential), check_name=False)
    return library


def _parse_params(block: str, data: Any, block_names) -> dict[str, BlockParam]:
    where = f"blocks.{block}.params"
    if not isinstance(data, dict):
        raise ProjectError(f"the params of block {block} must be an object of name: description pairs", field=where)
    params: dict[str, BlockParam] = {}
    for name, item in data.items():
        if not isinstance(item, dict):
            raise ProjectError(f"block param {name!r:.40} must be an object with a kind", field=f"{where}.{name}")
        choices = item.get("choices", ())
        if not isinstance(choices, list | tuple) or not all(isinstance(c, str) for c in choices):
            raise ProjectError(f"choices of block param {name!r:.40} must be a list of text", field=f"{where}.{name}")
        bounds = []
        for key in ("min", "max"):
            value = item.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
                raise ProjectError(f"{key} of block param {name!r:.40} must be a number", field=f"{where}.{name}.{key}")
            bounds.append(value)
        doc = item.get("doc", "")
        param = BlockParam(name, item.get("kind", "int"), item.get("default", REQUIRED),
                           doc if isinstance(doc, str) else "", bounds[0], bounds[1], tuple(choices),
                           {k: v for k, v in item.items() if k not in PARAM_KEYS})
        problem = param_problem(param, block_names)
        if problem:
            raise ProjectError(f"block param {name!r:.40} of {block}: {problem}", field=f"{where}.{name}")
        if param.default is not REQUIRED:
            from graph_engine.params import validate_value

            error = validate_value(param.as_param(), param.default)
            if error:
                raise ProjectError(f"the default of block param {name!r:.40} of {block}: {error}",
                                   field=f"{where}.{name}.default")
        params[name] = param
    return params


def blocks_to_dict(library: BlockLibrary) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for defn in library:
        item: dict[str, Any] = {}
        if defn.doc:
            item["doc"] = defn.doc
        if defn.sequential:
            item["sequential"] = defn.sequential
        item["params"] = {p.name: param_to_dict(p) for p in defn.params.values()}
        item["graph"] = graph_to_dict(defn.graph)
        for key, value in defn.extra.items():
            item.setdefault(key, value)
        out[defn.name] = item
    return out


def param_to_dict(param: BlockParam) -> dict[str, Any]:
    item: dict[str, Any] = {"kind": param.kind}
    if param.default is not REQUIRED:
        item["default"] = list(param.default) if isinstance(param.default, tuple) else param.default
    for key in ("min", "max"):
        if getattr(param, key) is not None:
            item[key] = getattr(param, key)
    if param.choices:
        item["choices"] = list(param.choices)
    if param.doc:
        item["doc"] = param.doc
    for key, value in param.extra.items():
        item.setdefault(key, value)
    return item
