"""Block definitions and the project's library of them.

A `BlockDef` is a named sub-network: typed params, its own `Graph` whose BlockInput / BlockOutput nodes are
its ports (in the order they are listed), and a doc line. An instance is a node `op="Block"` whose `block`
names the definition; its `params` give the block params and `repeat` (optional) chains N copies.

The `BlockLibrary` holds a project's definitions. Graphs of the project point at it (`graph.library`), and
validation resolves an instance's spec through it (`spec_for`): one `BlockSpec` per definition, whose shape
rule checks the definition's graph for the instance's param values and input shapes (see `inner.py`).

Events (arguments): definition_added(name), definition_removed(name), definition_renamed(old, new) and
definition_changed(name) after any edit inside a definition (its graph, params or doc). An edit inside a
definition also announces node_changed(instance_id) on the project graph for every instance that it affects
(directly or through nested blocks), then changed(), so the incremental Checker re-checks exactly those.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from graph_engine.blocks.names import block_name_problem, suggest_block_name
from graph_engine.catalog.spec import REQUIRED, LayerSpec, Param, ParamKind, Port
from graph_engine.errors import GraphEditError
from graph_engine.events import Event
from graph_engine.graph import Graph, Node
from graph_engine.identifiers import id_problem

PARAM_KINDS = tuple(k.value for k in ParamKind)
MAX_REPEAT = 256


@dataclass
class BlockParam:
    """One typed param of a block; `kind` is one of the catalog's ParamKind values."""

    name: str
    kind: str = "int"
    default: Any = REQUIRED
    doc: str = ""
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)  # unknown keys from the file

    def as_param(self) -> Param:
        kind = ParamKind(self.kind) if self.kind in PARAM_KINDS else ParamKind.INT
        return Param(self.name, kind, self.default, self.doc, self.min, self.max, tuple(self.choices),
                     max_len=8 if kind is not ParamKind.INT_LIST else 16)


@dataclass
class BlockDef:
    name: str
    graph: Graph = field(default_factory=Graph)
    params: dict[str, BlockParam] = field(default_factory=dict)
    doc: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    # A sequential definition is a chain generated as an nn.Sequential subclass. True: its layers are numbered,
    # so its state_dict keys are positions (`layer2.0.conv1.weight`, as torchvision's containers); "named": keys
    # are the node ids, as in any block, and the class needs no forward (DenseNet's `features`).
    sequential: bool | str = False

    @property
    def inputs(self) -> list[str]:
        return [n.id for n in self.graph if n.op == "BlockInput"]

    @property
    def outputs(self) -> list[str]:
        return [n.id for n in self.graph if n.op == "BlockOutput"]

    def uses(self) -> set[str]:
        """Names of the blocks this definition's graph instantiates directly."""
        return {n.block for n in self.graph if n.op == "Block" and isinstance(n.block, str)}

    def copy(self, name: str | None = None) -> BlockDef:
        return BlockDef(name or self.name, self.graph.copy(), copy.deepcopy(self.params), self.doc,
                        copy.deepcopy(self.extra), self.sequential)

    def chain(self) -> list[str] | None:
        """The node ids between BlockInput and BlockOutput in chain order, or None when the graph is not one
        chain (what a sequential definition must be)."""
        if len(self.inputs) != 1 or len(self.outputs) != 1:
            return None
        edges = self.graph.edges
        order: list[str] = []
        current = self.inputs[0]
        for _ in range(len(self.graph)):
            out = [e for e in edges if e.src == current]
            if len(out) != 1 or out[0].src_port != 0 or out[0].dst_port != 0:
                return None
            current = out[0].dst
            if current == self.outputs[0]:
                break
            order.append(current)
        else:
            return None
        if len(order) + 2 != len(self.graph) or len(edges) != len(order) + 1:
            return None
        return order


@dataclass(frozen=True)
class BlockSpec(LayerSpec):
    """The spec of one definition's instances (built by the library, never registered in the catalog)."""

    block: str = ""
    repeat: int | None = None


def param_problem(param: BlockParam, taken_blocks=()) -> str | None:
    problem = id_problem(param.name)
    if problem:
        return problem
    if param.name in taken_blocks:
        return f"{param.name!r} is the name of a block"
    if param.kind not in PARAM_KINDS:
        return f"kind must be one of {', '.join(PARAM_KINDS)}, not {param.kind!r:.30}"
    if param.kind == "choice" and not param.choices:
        return "a choice param needs choices"
    return None


def sequential_problem(defn: BlockDef) -> str | None:
    """Why a sequential definition cannot be an nn.Sequential, or None."""
    if not defn.sequential:
        return None
    order = defn.chain()
    if order is None:
        return (f"block {defn.name} is sequential, so its graph must be one chain: a BlockInput, layers each "
                "feeding the next, a BlockOutput")
    if not order:
        return f"block {defn.name} is sequential but holds no layers"
    return None


def repeat_problem(repeat: Any) -> str | None:
    if repeat is None:
        return None
    if isinstance(repeat, bool) or not isinstance(repeat, int) or not 1 <= repeat <= MAX_REPEAT:
        return f"repeat must be a whole number from 1 to {MAX_REPEAT}, not {repeat!r:.30}"
    return None


class BlockLibrary:
    """The block definitions of one project, and the cache of their checked instances."""

    def __init__(self) -> None:
        self._defs: dict[str, BlockDef] = {}
        self.version = 0  # bumped by every edit inside any definition
        self._top: Graph | None = None
        self._specs: dict[tuple[str, Any], BlockSpec | None] = {}
        self._inner: dict[tuple, Any] = {}  # inner.InnerResult by (name, params, input types)
        self._active: list[str] = []  # definitions being checked right now (recursion guard)
        self._ports: dict[str, tuple] = {}  # each definition's ports when last announced
        self.inner_checks = 0  # definitions checked since creation: lets tests and benchmarks see caching
        self.definition_added = Event()
        self.definition_removed = Event()
        self.definition_renamed = Event()
        self.definition_changed = Event()

    # ---- reading -----------------------------------------------------------------------------------------

    def __contains__(self, name: object) -> bool:
        return name in self._defs

    def __iter__(self):
        return iter(self._defs.values())

    def __len__(self) -> int:
        return len(self._defs)

    def __bool__(self) -> bool:  # an empty library is still a library (truthiness must not hide it)
        return True

    @property
    def names(self) -> list[str]:
        return list(self._defs)

    def get(self, name: str) -> BlockDef | None:
        return self._defs.get(name) if isinstance(name, str) else None

    def definition(self, name: str) -> BlockDef:
        defn = self.get(name)
        if defn is None:
            raise GraphEditError(f"there is no block {name!r}", field="block")
        return defn

    def instances(self, name: str) -> list[tuple[str | None, str]]:
        """(definition name or None for the project graph, node id) of every direct instance of `name`."""
        found = [(None, n.id) for n in self._top if n.op == "Block" and n.block == name] if self._top else []
        for defn in self._defs.values():
            found += [(defn.name, n.id) for n in defn.graph if n.op == "Block" and n.block == name]
        return found

    def users(self, name: str) -> set[str]:
        """`name` and every definition that uses it, directly or through other blocks."""
        found = {name}
        changed = True
        while changed:
            changed = False
            for defn in self._defs.values():
                if defn.name not in found and defn.uses() & found:
                    found.add(defn.name)
                    changed = True
        return found

    def use_path(self, start: str, target: str) -> list[str] | None:
        """A chain start -> ... -> target of definitions using one another, or None (recursion checks)."""
        stack = [[start]]
        seen: set[str] = set()
        while stack:
            path = stack.pop()
            defn = self._defs.get(path[-1])
            if defn is None or path[-1] in seen:
                continue
            seen.add(path[-1])
            for used in sorted(defn.uses()):
                if used == target:
                    return path + [used]
                stack.append(path + [used])
        return None

    # ---- wiring ------------------------------------------------------------------------------------------

    def attach(self, top: Graph) -> None:
        """Make `top` (the project graph) resolve its Block nodes through this library."""
        self._top = top
        top.library = self

    # ---- edits (each one user-level step; the app wraps each in one undo command) -------------------------

    def add(self, defn: BlockDef, *, check_name: bool = True) -> BlockDef:
        if defn.name in self._defs:
            raise GraphEditError(f"there is already a block {defn.name!r}", field="name",
                                 hint=f"use another name, e.g. {suggest_block_name(defn.name, self._defs)!r}")
        if check_name:
            problem = block_name_problem(defn.name)
            if problem:
                raise GraphEditError(f"{defn.name!r:.50} cannot name a block: {problem}", field="name",
                                     hint=f"try {suggest_block_name(defn.name, self._defs)!r}")
        self._defs[defn.name] = defn
        defn.graph.library = self
        defn.graph.changed.sub(self._listener(defn))
        self._touch(defn.name, announce=False)
        self.definition_added.emit(defn.name)
        return defn

    def remove(self, name: str) -> BlockDef:
        """Remove a definition (its instances then report an unknown block)."""
        defn = self.definition(name)
        defn.graph.changed.unsub(self._listener(defn))
        del self._defs[name]
        self._touch(name)
        self.definition_removed.emit(name)
        return defn

    def rename(self, old: str, new: str) -> None:
        """Rename a definition and every instance's reference to it."""
        defn = self.definition(old)
        if new == old:
            return
        if new in self._defs:
            raise GraphEditError(f"there is already a block {new!r}", field="name")
        problem = block_name_problem(new)
        if problem:
            raise GraphEditError(f"{new!r:.50} cannot name a block: {problem}", field="name",
                                 hint=f"try {suggest_block_name(new, self._defs)!r}")
        instances = self.instances(old)
        self._defs = {(new if k == old else k): v for k, v in self._defs.items()}
        defn.name = new
        for owner, node_id in instances:
            graph = self._top if owner is None else self._defs[owner].graph
            graph.node(node_id).block = new
        self._touch(new, extra=instances)
        self.definition_renamed.emit(old, new)

    def set_params(self, name: str, params: dict[str, BlockParam]) -> dict[str, BlockParam]:
        """Replace a definition's params; returns the old ones for undo."""
        defn = self.definition(name)
        for param in params.values():
            problem = param_problem(param, self._defs)
            if problem:
                raise GraphEditError(f"block param {param.name!r:.40}: {problem}", field=f"params.{param.name}")
        old, defn.params = defn.params, dict(params)
        self._touch(name)
        return old

    def set_doc(self, name: str, doc: str) -> str:
        defn = self.definition(name)
        old, defn.doc = defn.doc, str(doc)
        self.definition_changed.emit(name)
        return old

    # ---- change propagation ------------------------------------------------------------------------------

    def _listener(self, defn: BlockDef):
        # One bound listener per definition object, so unsub finds the same callable again.
        listener = defn.__dict__.get("_library_listener")
        if listener is None:
            listener = defn.__dict__["_library_listener"] = lambda: self._touch(defn.name)
        return listener

    def _touch(self, name: str, announce: bool = True, extra=()) -> None:
        self.version += 1
        self._specs.clear()
        self._inner.clear()
        if announce:
            self.definition_changed.emit(name)
        top = self._top
        if top is None:
            return
        affected = self.users(name)
        ids = [n.id for n in top if n.op == "Block" and n.block in affected]
        ids += [node_id for owner, node_id in extra if owner is None and node_id not in ids]
        if not ids:
            return
        ports = {n: (d.inputs, d.outputs) for n, d in self._defs.items() if n in affected}
        if any(self._ports.get(n) != p for n, p in ports.items()) or extra:
            self._ports.update(ports)
            top.structure_changed.emit()  # ports of an instance came or went: its wiring must be re-checked
        for node_id in ids:
            top.node_changed.emit(node_id)
        top.version += 1
        top.changed.emit()

    # ---- resolving instances -----------------------------------------------------------------------------

    def spec_for(self, node: Node) -> BlockSpec | None:
        """The spec of a Block node, or None when it names no known block or has a bad repeat."""
        if repeat_problem(node.repeat) is not None:
            return None
        key = (node.block, node.repeat)
        try:
            return self._specs[key]
        except (KeyError, TypeError):
            pass
        defn = self.get(node.block)
        spec = None if defn is None else _make_spec(self, defn, node.repeat)
        try:
            self._specs[key] = spec
        except TypeError:
            pass
        return spec

    def expand(self, graph: Graph, result):
        """A check result of `graph` with the diagnostics from inside its instances (validation calls it)."""
        from graph_engine.blocks import inner

        return inner.expand(self, graph, result)

    def runs(self, node: Node, info) -> list:
        """The checked copies (inner.InnerResult) of an instance node, given its NodeInfo."""
        from graph_engine.blocks import inner

        return inner.runs_of(self, node, info)

    def copy(self) -> BlockLibrary:
        """A detached deep copy of every definition (attach it to a graph to use it)."""
        other = BlockLibrary()
        for defn in self._defs.values():
            other.add(defn.copy(), check_name=False)
        return other

    def problem(self, node: Node) -> tuple[str, str, str]:
        """(message, hint, field) saying why a Block node cannot be resolved."""
        problem = repeat_problem(node.repeat)
        if problem:
            return problem, "use 1 or more copies, or remove repeat", "repeat"
        if not isinstance(node.block, str) or not node.block:
            return "this Block names no block definition", "choose the block it should use", "block"
        from graph_engine.params import closest_name

        guess = closest_name(node.block, self.names)
        hint = f"did you mean {guess!r}?" if guess else (
            "the project's blocks: " + ", ".join(self.names) if self._defs else "the project defines no blocks")
        return f"there is no block {node.block!r:.50}", hint, "block"


def _make_spec(library: BlockLibrary, defn: BlockDef, repeat: int | None) -> BlockSpec:
    from graph_engine.blocks import inner

    outputs = tuple(Port(o) for o in defn.outputs)
    return BlockSpec(
        op="Block",
        category="Blocks",
        doc=defn.doc or f"The block {defn.name}.",
        shape_rule=inner.shape_rule(library, defn.name, repeat),
        params=tuple(p.as_param() for p in defn.params.values()),
        inputs=tuple(Port(i) for i in defn.inputs),
        outputs=outputs,
        input_dtypes=None,
        module=defn.name,
        output_exprs=tuple(f"{{r}}[{i}]" for i in range(len(outputs))) if len(outputs) > 1 else (),
        param_count=inner.param_count_rule(library, defn.name, repeat),
        flops=inner.flops_rule(library, defn.name, repeat),
        block=defn.name,
        repeat=repeat,
    )
