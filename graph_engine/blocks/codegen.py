"""Block definitions as nn.Module classes, and instances as calls of them.

Each definition used by the network becomes one class (printed before the classes that use it). Its block
params are its constructor arguments; inside, a layer param that is a `$ref` is written as the expression
(`nn.Conv2d(in_channels, channels * 4, 1)`). Values that checking inferred (in_channels, num_features...) are
written as numbers when every use of the block gives the same one, as a block param when that param has the
same value in every use, and otherwise become an extra constructor argument named after the param (so one class
serves instances with different input sizes, as a hand-written `BasicBlock(in_planes, planes)` does). A
repeated instance is an `nn.Sequential` of copies (`nn.Sequential(*[Block(...) for _ in range(3)])` when the
copies are built alike), so its state_dict keys are `stage1.0.conv1.weight`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graph_engine.blocks import refs
from graph_engine.blocks.model import BlockSpec
from graph_engine.codegen.ir import BlockClass, CallFunction, CallModule, Placeholder, Program, Return
from graph_engine.codegen.namespace import Namespace
from graph_engine.codegen.printer import INDENT, MAX_LINE, format_value
from graph_engine.errors import InvalidGraphError


@dataclass
class _ClassInfo:
    name: str
    params: list[str]  # block params in definition order
    defaults: dict[str, Any]  # block params that have a default
    hidden: list[tuple[str, Any]] = field(default_factory=list)  # (argument, getter(run) -> value)


def lower_blocks(program: Program, project, result) -> None:
    """Add the block classes to `program` and write the constructor of every top-level instance."""
    library = project.blocks
    uses: dict[str, dict[int, Any]] = {}
    _collect(library, project.graph, result, uses)
    infos: dict[str, _ClassInfo] = {}
    for name in _dependency_order(library, uses):
        block_class, infos[name] = _lower_definition(library, library.definition(name), list(uses[name].values()),
                                                     infos, set(library.names))
        program.blocks.append(block_class)
    for call in program.modules:
        if isinstance(call.spec, BlockSpec):
            node = project.graph.node(call.name)
            runs = library.runs(node, result.nodes[call.name])
            copies = [_instance_kwargs(infos[node.block], run) for run in runs]
            call.constructor = _instance_code(infos[node.block], copies, node.repeat)


def _collect(library, graph, result, uses) -> None:
    for node_id in result.order:
        node = graph.node(node_id)
        if node.op != "Block" or node_id not in result.live:
            continue
        for run in library.runs(node, result.nodes.get(node_id)):
            if id(run) not in uses.setdefault(run.block, {}):
                uses[run.block][id(run)] = run
                _collect(library, run.graph, run.result, uses)


def _dependency_order(library, uses) -> list[str]:
    order: list[str] = []

    def visit(name: str) -> None:
        if name in order:
            return
        for used in sorted(library.definition(name).uses()):
            if used in uses:
                visit(used)
        order.append(name)

    for name in sorted(uses):
        visit(name)
    return order


def _same(values: list[Any]) -> bool:
    first = repr(values[0])
    return all(repr(v) == first for v in values[1:])


class _Decider:
    """Decides how each constructor value inside one definition is written (see the module docstring)."""

    def __init__(self, defn, runs, taken: set[str]):
        self.defn = defn
        self.runs = runs
        self.ns = Namespace(set(defn.params) | taken)
        for name in defn.params:
            self.ns.claim(name)
        self.hidden: list[tuple[str, Any]] = []

    def value(self, raw: Any, getter, label: str, inferred: bool = False, alt: str | None = None) -> Any:
        """`inferred`: a value checking read from the input (in_channels...); written as the block param that
        equals it in every use when there is one, as a person writes `nn.Conv2d(channels, channels, 3)`."""
        if refs.is_ref(raw):
            return refs.to_code(raw)
        values = [getter(run) for run in self.runs]
        if _same(values) and not inferred:
            return values[0]
        for param in self.defn.params:
            if all(repr(run.params.get(param)) == repr(v) for run, v in zip(self.runs, values, strict=True)):
                return refs.Expr(param)
        if inferred:
            for param in self.defn.params:  # a fixed multiple of a param (a Concat of two: 2 * channels)
                factor = _common_factor([run.params.get(param) for run in self.runs], values)
                if factor is not None:
                    return refs.Expr(f"{factor} * {param}")
        if _same(values):
            return values[0]
        for name, getter_ in self.hidden:  # a size already passed in (conv1 and downsample read the same input)
            if all(repr(getter_(run)) == repr(v) for run, v in zip(self.runs, values, strict=True)):
                return refs.Expr(name)
        name = self.ns.create(label if label not in self.ns._used or alt is None else alt)
        self.hidden.append((name, getter))
        return refs.Expr(name)


def _lower_definition(library, defn, runs, infos, block_names) -> tuple[BlockClass, _ClassInfo]:
    from graph_engine.codegen.lowering import lower_graph

    base = runs[0]
    ns = Namespace(set(base.graph.nodes) | block_names)
    for node_id in base.graph.nodes:
        ns.claim(node_id)
    placeholders, body, ret = lower_graph(base.graph, base.result, ns)
    placeholders = _all_inputs(defn, base, placeholders)
    ret = _ordered_return(defn, ret)
    decider = _Decider(defn, runs, block_names)
    for instr in body:
        raw_params = defn.graph.node(instr.result if isinstance(instr, CallFunction) else instr.name).params
        raw_params = raw_params if isinstance(raw_params, dict) else {}
        if isinstance(instr, CallFunction):
            for key in instr.params:
                if not _same([run.result.nodes[instr.result].params.get(key) for run in runs]):
                    raise InvalidGraphError(
                        f"{instr.result} in block {defn.name}: {key} differs between the block's instances, "
                        f"which one {defn.name} class cannot express", [])
        elif isinstance(instr.spec, BlockSpec):
            _nested_constructor(library, decider, instr, raw_params, runs, infos, defn.sequential is True)
        elif instr.spec.arguments is not None:
            # A custom argument rule may compute with the values, so it gets numbers: they must agree.
            for key in instr.params:
                if not _same([run.result.nodes[instr.name].params.get(key) for run in runs]):
                    raise InvalidGraphError(
                        f"{instr.name} in block {defn.name}: {key} differs between the block's instances, "
                        f"which one {defn.name} class cannot express", [])
        else:
            values = {key: decider.value(raw_params.get(key), _module_getter(instr.name, key), key,
                                         instr.spec.param(key).is_inferred and raw_params.get(key, "auto") == "auto",
                                         f"{instr.name}_{key}")
                      for key in instr.params}
            instr.constructor = _module_code(instr, values)
    info = _ClassInfo(defn.name, list(defn.params),
                      {k: p.default for k, p in defn.params.items() if not p.as_param().required},
                      decider.hidden)
    # Sizes read from the input come first and are always passed (ConvRelu(in_channels, channels=16)).
    signature = [(name, None) for name, _ in decider.hidden]
    signature += [(k, None) for k in info.params if k not in info.defaults]
    signature += [(k, format_value(_literal(info.defaults[k]))) for k in info.params if k in info.defaults]
    items = _sequential_items(defn, body) if defn.sequential else None
    if defn.sequential == "named":
        return BlockClass(defn.name, defn.doc, signature, placeholders, body, ret, None, True), info
    return BlockClass(defn.name, defn.doc, signature, placeholders, body, ret, items), info


def _sequential_items(defn, body) -> list[str]:
    """The nn.Sequential items of a sequential definition, in chain order: each layer's constructor (its
    forward must be the plain call `layer(x)`, which is what nn.Sequential does)."""
    from graph_engine.codegen.printer import _constructor

    by_name = {instr.name: instr for instr in body if isinstance(instr, CallModule)}
    order = defn.chain() or []
    items = []
    for node_id in order:
        instr = by_name.get(node_id)
        if instr is None or instr.port_vars or len(instr.args) != 1 or \
                instr.spec.call_text("self.m", instr.args, instr.params) != f"self.m({instr.args[0]})":
            raise InvalidGraphError(f"{node_id} in block {defn.name}: a sequential block holds only layers "
                                    "called as layer(x); this one is not", [])
        items.append(instr.constructor or _constructor(instr))
    return items


def _common_factor(params: list[Any], values: list[Any]) -> int | None:
    """k (2..8) when every value is k times the param's value in the same use."""
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in params + values) or 0 in params:
        return None
    ratios = {v // p for p, v in zip(params, values, strict=True) if v % p == 0}
    if len(ratios) == 1 and all(v % p == 0 for p, v in zip(params, values, strict=True)):
        factor = ratios.pop()
        return factor if 2 <= factor <= 8 else None
    return None


def _module_getter(node_id: str, key: str):
    return lambda run: run.result.nodes[node_id].params.get(key)


def _nested_constructor(library, decider, instr, raw_params, runs, infos, splice: bool = False) -> None:
    node_id = instr.name
    block = instr.spec.block
    nested = infos[block]

    def copies_in(run):
        node = run.graph.node(node_id)
        return [_instance_kwargs(nested, r) for r in library.runs(node, run.result.nodes[node_id])]

    count = len(copies_in(runs[0]))
    decided = []
    for index in range(count):
        kwargs = {}
        for arg in nested.params + [h for h, _ in nested.hidden]:
            raw = raw_params.get(arg) if arg in nested.params else None
            kwargs[arg] = decider.value(raw, lambda run, i=index, a=arg: copies_in(run)[i][a], arg,
                                        arg not in nested.params, f"{node_id}_{arg}")
        decided.append(kwargs)
    instr.constructor = _instance_code(nested, decided, instr.spec.repeat, splice)


def _instance_kwargs(info: _ClassInfo, run) -> dict[str, Any]:
    kwargs = {name: run.params.get(name) for name in info.params}
    kwargs.update({name: getter(run) for name, getter in info.hidden})
    return kwargs


def _instance_code(info: _ClassInfo, copies: list[dict[str, Any]], repeat: int | None,
                   splice: bool = False) -> str:
    """The constructor of an instance; `splice`: the copies as items of the enclosing sequential block
    (`*[Block() for _ in range(3)]`), so they take its positions rather than nesting one level down."""
    calls = [_call(info, kwargs) for kwargs in copies]
    if repeat is None:
        return calls[0]
    if splice:
        if len(set(calls)) == 1:
            return calls[0] if repeat == 1 else f"*[{calls[0]} for _ in range({repeat})]"
        return ", ".join(calls)
    if len(set(calls)) == 1:
        if repeat == 1:
            return f"nn.Sequential({calls[0]})"
        return f"nn.Sequential(*[{calls[0]} for _ in range({repeat})])"
    one_line = f"nn.Sequential({', '.join(calls)})"
    if len(one_line) <= MAX_LINE:
        return one_line
    inner = f",\n{INDENT * 3}".join(calls)
    return f"nn.Sequential(\n{INDENT * 3}{inner},\n{INDENT * 2})"


def _call(info: _ClassInfo, kwargs: dict[str, Any]) -> str:
    parts = []
    for name, value in kwargs.items():
        if name in info.defaults and not isinstance(value, refs.Expr) and repr(_literal(value)) == repr(
                _literal(info.defaults[name])):
            continue
        parts.append(f"{name}={_code(value)}")
    return f"{info.name}({', '.join(parts)})"


def _module_code(call: CallModule, values: dict[str, Any]) -> str:
    args, kwargs = call.spec.module_args(values)
    parts = [_code(a) for a in args] + [f"{k}={_code(v)}" for k, v in kwargs.items()]
    return f"{call.spec.module}({', '.join(parts)})"


def _literal(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _code(value: Any) -> str:
    if isinstance(value, refs.Expr):
        return value.code
    if isinstance(value, list | tuple) and any(isinstance(v, refs.Expr) for v in value):
        items = [_code(v) for v in value]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    return format_value(value)


def _all_inputs(defn, base, placeholders: list[Placeholder]) -> list[Placeholder]:
    """Every port in listed order, also one the block does not use (forward keeps its signature)."""
    by_name = {p.name: p for p in placeholders}
    result = []
    for name in defn.inputs:
        if name in by_name:
            result.append(by_name[name])
        else:
            result.append(Placeholder(name, base.result.nodes[name].outputs[0]))
    return result


def _ordered_return(defn, ret: Return) -> Return:
    index = {label: i for i, label in enumerate(ret.labels)}
    order = [index[o] for o in defn.outputs if o in index]
    return Return([ret.names[i] for i in order], [ret.labels[i] for i in order], [ret.types[i] for i in order])
