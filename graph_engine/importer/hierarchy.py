"""Step 6: the module hierarchy back as blocks, so an imported project keeps the source's state_dict keys.

The mapper produces a flat graph; every node knows the module it came from (a layer: its module's path; any
other op: the innermost module whose forward ran it, torch.fx's `nn_module_stack`; an op keeps the variable
name the mapper gave it). Here each submodule
becomes a Block instance whose id is its attribute name, so the built model's keys are the source's
(`layer2.0.conv1.weight`), and a checkpoint of the original loads with strict=True into the exported class.

- A submodule becomes a block when its nodes can be cut out: at least one input and one output, and no path
  from its outputs back into its inputs through the outside. A submodule that cannot is dissolved into its
  parent, its nodes named `<attribute>_<name>`; the keys that change are reported (`ImportResult.notes`).
- Containers numbered like `nn.Sequential` / `nn.ModuleList` become sequential blocks (docs/FILE_FORMAT.md):
  their items keep their positions as keys; consecutive items of one definition with equal values become one
  repeated item. A numbered container whose items do not form a chain is dissolved (its keys change).
- Submodules with the same structure (ops, wiring, nested definitions, and the module class) share one
  definition: the values that differ between them become block params (values equal in every use merge into
  one param; a fixed multiple of another param is written `$p * 4`). Sizes read from the input (in_channels)
  are left to checking, so they are not params at all. Structures of one class that differ get names that say
  how (`BasicBlock`, `BasicBlockDownsample`).
- A Concat whose leading inputs are exactly another Concat's inputs takes that Concat instead (the same tensor,
  since concatenation is associative), and a Concat whose inputs all come from outside its module moves up to
  the parent. DenseNet's dense layers then each take one tensor and the block reads `x = cat(x, layer(x))`, as
  a person writes it, rather than every layer taking the whole growing list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from graph_engine.blocks.edits import _between
from graph_engine.blocks.model import BlockDef, BlockParam
from graph_engine.blocks.names import block_name_problem, suggest_block_name
from graph_engine.catalog import get_spec
from graph_engine.catalog.spec import REQUIRED
from graph_engine.graph import Edge, Graph, Node
from graph_engine.identifiers import id_problem, suggest_id
from graph_engine.project import Project

CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)
PORT_IN, PORT_OUT = "x", "y"


@dataclass
class _Path:
    """One submodule (or the root, path "") as it is being turned into a graph."""

    path: str
    parent: str | None
    label: str  # its id in the parent's graph (its attribute name)
    members: list[str] = field(default_factory=list)  # flat node ids owned directly, in graph order
    children: list[str] = field(default_factory=list)  # child paths, in graph order
    inside: set[str] = field(default_factory=set)  # every flat node id below it
    inputs: list[tuple[str, int]] = field(default_factory=list)  # outside (node, port) feeding it, in order
    outputs: list[tuple[str, int]] = field(default_factory=list)  # inside (node, port) read outside
    sequential: bool = False
    local: dict[str, str] = field(default_factory=dict)  # member flat id -> its id in this graph
    local_id: str = ""  # its own id in its parent's graph
    block: str | None = None  # the definition it became
    values: dict[str, Any] = field(default_factory=dict)  # its instance's block param values
    raw: Any = None


@dataclass
class Hierarchy:
    project: Project
    prefixes: dict[str, str]  # flat node id -> its path in the built model (`layer2.0.conv1`)
    notes: list[str]


def rebuild(flat: Project, owners: dict[str, tuple[str, str]], source: nn.Module, class_name: str,
            weighted: set[str]) -> Hierarchy:
    """The hierarchical project for the flat one. `owners`: flat node id -> (owning module path, base name:
    a layer's attribute name, an op's variable name); `weighted`: the flat nodes that hold state."""
    graph = flat.graph.copy()
    owners = dict(owners)
    _chain_concats(graph)
    _hoist_concats(graph, owners)
    _sink_concats(graph, owners)
    return _Builder(graph, owners, source, class_name, flat.name, weighted).run()


def owners_from(graph: Graph, module_of: dict[str, str], fx_of: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """(owning module path, base name) of every node of the mapper's flat graph. `module_of`: layer node id ->
    its module's path; `fx_of`: node id -> the fx node it was made from (its meta names the module stack)."""
    layers = set(module_of.values())
    owners: dict[str, tuple[str, str]] = {}
    for node in graph:
        path = module_of.get(node.id)
        if node.op in ("Input", "Output") or path == "":
            owners[node.id] = ("", node.id)
        elif path is not None:
            owner, _, name = path.rpartition(".")
            while owner in layers:  # a layer inside a layer's own forward (timm's BatchNormAct2d.act)
                owner, _, layer = owner.rpartition(".")
                name = f"{layer}_{name}"
            owners[node.id] = (owner, name)
        else:
            fx_node = fx_of.get(node.id)
            stack = list((fx_node.meta.get("nn_module_stack") or {}) if fx_node is not None else {})
            owner = re.sub(r"@\d+$", "", stack[-1]) if stack else ""
            # the mapper's id comes from the variable name in forward(); its suffix only made it unique
            # in the flat graph, and copies of one block must get the same names
            name = re.sub(r"_\d+$", "", node.id) or _op_name(node.op)
            while owner in layers:  # an op inside a layer's own forward (ConvNeXt's LayerNorm2d): beside it
                owner, _, layer = owner.rpartition(".")
                name = f"{layer}_{name}"
            owners[node.id] = (owner, name)
    return owners


# ---- Concat rewriting ------------------------------------------------------------------------------------


def _inputs_of(graph: Graph, node_id: str) -> list[tuple[str, int]]:
    edges = sorted((e for e in graph.edges if e.dst == node_id), key=lambda e: e.dst_port)
    return [(e.src, e.src_port) for e in edges]


def _chain_concats(graph: Graph) -> None:
    concats = [n for n in graph if n.op == "Concat"]
    original = {n.id: _inputs_of(graph, n.id) for n in concats}
    for node in concats:
        mine = original[node.id]
        best = None
        for other in concats:
            theirs = original[other.id]
            if other.id == node.id or other.params != node.params or not 2 <= len(theirs) < len(mine):
                continue
            if mine[:len(theirs)] == theirs and (best is None or len(theirs) > len(original[best])):
                best = other.id
        if best is None:
            continue
        rest = mine[len(original[best]):]
        for edge in [e for e in graph.edges if e.dst == node.id]:
            graph.remove_edge(edge)
        for port, (src, src_port) in enumerate([(best, 0), *rest]):
            graph.add_edge(Edge(src, node.id, src_port, port))


def _within(path: str, owner: str) -> bool:
    return owner == path or path == "" or owner.startswith(path + ".")


def _hoist_concats(graph: Graph, owners: dict[str, tuple[str, str]]) -> None:
    for node in graph:  # graph order is the traced order, so a Concat's inputs have moved before it
        if node.op != "Concat":
            continue
        owner, name = owners[node.id]
        sources = [src for src, _ in _inputs_of(graph, node.id)]
        while owner and not any(_within(owner, owners[s][0]) for s in sources):
            owner = owner.rpartition(".")[0]
        owners[node.id] = (owner, name)


def _sink_concats(graph: Graph, owners: dict[str, tuple[str, str]]) -> None:
    """`cat([x, layer(x)])` where layer is a submodule taking x alone becomes layer's last op, so the layer
    returns the grown tensor and the layers chain (DenseNet's dense layers)."""
    for node in graph:
        inputs = _inputs_of(graph, node.id)
        if node.op != "Concat" or len(inputs) != 2:
            continue
        owner = owners[node.id][0]
        (a, _), (b, _) = inputs
        below = owners[b][0]
        if not below.startswith(owner + "." if owner else ""):
            continue
        child = (owner + "." if owner else "") + below[len(owner) + 1 if owner else 0:].split(".")[0]
        inside = {n for n, (o, _) in owners.items() if _within(child, o)}
        if a in inside or b not in inside:
            continue
        feeding = {e.src for e in graph.edges if e.dst in inside and e.src not in inside}
        read_outside = {e.dst for e in graph.edges if e.src in inside and e.dst not in inside}
        if feeding == {a} and read_outside == {node.id}:
            owners[node.id] = (child, owners[node.id][1])


def sequential_kind(defn: BlockDef, module: nn.Module | None) -> bool | str:
    """"named" for a definition from an nn.Sequential or nn.ModuleDict (or a subclass) whose graph is a chain of
    layers called as layer(x): generated as an nn.Sequential subclass, keys by name, no forward to read."""
    if not isinstance(module, nn.Sequential | nn.ModuleDict) or defn.sequential:
        return defn.sequential
    order = defn.chain()
    if not order:
        return False
    for node_id in order:
        node = defn.graph.node(node_id)
        if node.op != "Block" and not _plain_layer(node.op):
            return False
    return "named"


def _plain_layer(op: str) -> bool:
    spec = get_spec(op)
    return (spec is not None and spec.module is not None and spec.call is None and spec.input_port_count() == 1
            and len(spec.outputs) == 1 and not spec.output_exprs)


# ---- building ----------------------------------------------------------------------------------------------


class _Builder:
    def __init__(self, graph: Graph, owners, source: nn.Module, class_name: str, name: str, weighted: set[str]):
        self.graph = graph
        self.weighted = weighted
        self.owners = owners
        self.source = source
        self.name = name
        self.order = {node_id: i for i, node_id in enumerate(graph.nodes)}
        self.paths: dict[str, _Path] = {"": _Path("", None, "")}
        self.notes: list[str] = []
        self.defs: list[BlockDef] = []
        self.taken_names: set[str] = {class_name}
        self.families: dict[str, list[_Path]] = {}  # class name -> the first group that took it

    def run(self) -> Hierarchy:
        self._tree()
        self._dissolve_what_cannot_be_cut()
        for height in sorted({self._height(p) for p in self.paths.values() if p.path}):
            level = [p for p in self.paths.values() if p.path and self._height(p) == height]
            for p in level:
                p.raw = self._raw(p)
            self._define(level)
        top = self._raw(self.paths[""])
        project = Project(name=self.name, graph=_graph(top), training=None)
        for defn in self.defs:
            project.blocks.add(defn)
        return Hierarchy(project, self._prefixes(), self.notes)

    # -- the module tree

    def _tree(self) -> None:
        for node_id in self.graph.nodes:
            owner, _ = self.owners[node_id]
            self._ensure(owner)
            self.paths[owner].members.append(node_id)
        for p in self.paths.values():
            for node_id in p.members:
                path: str | None = p.path
                while path is not None:
                    self.paths[path].inside.add(node_id)
                    path = self.paths[path].parent

    def _ensure(self, path: str) -> None:
        if path in self.paths:
            return
        parent = path.rpartition(".")[0]
        self._ensure(parent)
        self.paths[path] = _Path(path, parent, path.rpartition(".")[2])
        self.paths[parent].children.append(path)

    def _height(self, p: _Path) -> int:
        return 1 + max((self._height(self.paths[c]) for c in p.children), default=0)

    def _module(self, path: str) -> nn.Module | None:
        try:
            return self.source.get_submodule(path) if path else self.source
        except AttributeError:
            return None

    def _ports(self, p: _Path) -> None:
        incoming = sorted((e for e in self.graph.edges if e.dst in p.inside and e.src not in p.inside),
                          key=lambda e: (self.order[e.dst], e.dst_port))
        outgoing = sorted((e for e in self.graph.edges if e.src in p.inside and e.dst not in p.inside),
                          key=lambda e: (self.order[e.src], e.src_port))
        p.inputs = list(dict.fromkeys((e.src, e.src_port) for e in incoming))
        p.outputs = list(dict.fromkeys((e.src, e.src_port) for e in outgoing))

    def _dissolve_what_cannot_be_cut(self) -> None:
        for p in sorted((p for p in self.paths.values() if p.path), key=lambda p: -p.path.count(".")):
            self._ports(p)
            problem = self._cut_problem(p)
            if problem is None:
                p.sequential = self._is_numbered(p)
                if p.sequential:
                    problem = self._chain_problem(p)
            if problem is not None:
                self._dissolve(p, problem)

    def _cut_problem(self, p: _Path) -> str | None:
        if not p.inputs:
            return "it takes no tensor from outside"
        if not p.outputs:
            return "nothing outside uses what it computes"
        if any(self.graph.node(n).op in ("Input", "Output") for n in p.inside):
            return "it holds a model input or output"
        if _between(self.graph, p.inside):
            return "its layers are interleaved with layers outside it"
        return None

    def _items(self, p: _Path) -> list[str]:
        """The labels of what sits directly in p: its member layers' names and its children's labels."""
        return [self.owners[m][1] for m in p.members] + [self.paths[c].label for c in p.children]

    def _is_numbered(self, p: _Path) -> bool:
        labels = self._items(p)
        return bool(labels) and all(x.isdigit() for x in labels)

    def _chain_problem(self, p: _Path) -> str | None:
        items: dict[int, tuple[set[str], list, list]] = {}
        for m in p.members:
            label = self.owners[m][1]
            if not label.isdigit():
                return f"the container runs {label} between its items"
            outs = [(m, e.src_port) for e in self.graph.edges if e.src == m]
            items[int(label)] = ({m}, _inputs_of(self.graph, m), list(dict.fromkeys(outs)))
            if not _plain_layer(self.graph.node(m).op):
                return f"its item {label} is not a layer called as layer(x)"
        for c in p.children:
            child = self.paths[c]
            if not child.label.isdigit():
                return f"it holds {child.label}, which is not numbered"
            items[int(child.label)] = (child.inside, child.inputs, child.outputs)
        if sorted(items) != list(range(len(items))):
            return "some of its items are not in the graph (their positions would move)"
        previous = p.inputs
        if len(previous) != 1 or len(p.outputs) != 1:
            return "it does not take one tensor and give one"
        for index in range(len(items)):
            inside, ins, outs = items[index]
            if list(dict.fromkeys(ins)) != previous or len(outs) != 1:
                return f"its item {index} does not take the previous item's output alone"
            previous = outs
        if previous != p.outputs:
            return "its result is not its last item's output"
        return None

    def _dissolve(self, p: _Path, why: str) -> None:
        parent = self.paths[p.parent]
        for m in p.members:
            owner, name = self.owners[m]
            self.owners[m] = (parent.path, f"{p.label}_{name}")
        at = parent.children.index(p.path)
        parent.children[at:at + 1] = p.children
        for c in p.children:
            self.paths[c].parent = parent.path
            self.paths[c].label = f"{p.label}_{self.paths[c].label}"
        parent.members = sorted(parent.members + p.members, key=self.order.__getitem__)
        del self.paths[p.path]
        if p.inside & self.weighted:
            self.notes.append(f"{p.path} is not a block ({why}), so its keys start {p.label}_ rather than "
                              f"{p.label}.")

    # -- one path's graph, before definitions are shared

    def _raw(self, p: _Path) -> dict[str, Any]:
        nodes: list[dict[str, Any]] = []
        item_of: dict[str, tuple[str, str | None]] = {}  # flat node id -> (item id, child path or None)
        taken = {self.paths[c].label for c in p.children} if not p.sequential else set()
        if p.sequential:
            entries = sorted([(int(self.owners[m][1]), "m", m) for m in p.members] +
                             [(int(self.paths[c].label), "c", c) for c in p.children])
        else:
            entries = sorted([(self.order[m], "m", m) for m in p.members] +
                             [(min(self.order[n] for n in self.paths[c].inside), "c", c) for c in p.children])
        for _, kind, key in entries:
            if kind == "m":
                node = self.graph.node(key)
                base = self.owners[key][1]
                if p.sequential:
                    base = f"{_op_name(node.op)}_{base}"
                local = suggest_id(base, taken) if id_problem(base) or base in taken else base
                taken.add(local)
                p.local[key] = local
                nodes.append({"id": local, "op": node.op, "params": dict(node.params), "block": None,
                              "repeat": None, "pos": node.pos})
                item_of[key] = (local, None)
            else:
                child = self.paths[key]
                local = child.label
                if p.sequential:
                    local = suggest_id(f"{_op_name(child.block)}_{child.label}", taken)
                elif id_problem(local):
                    local = suggest_id(local, taken)
                    if child.inside & self.weighted:
                        self.notes.append(f"{child.path} is named {local} (its name is not an identifier)")
                taken.add(local)
                child.local_id = local
                nodes.append({"id": local, "op": "Block", "params": dict(child.values), "block": child.block,
                              "repeat": None, "pos": None})
                for n in child.inside:
                    item_of[n] = (local, key)
        edges: list[tuple[str, str, int, int]] = []
        in_ports = [PORT_IN if len(p.inputs) == 1 else f"{PORT_IN}{i + 1}" for i in range(len(p.inputs))]
        out_ports = [PORT_OUT if len(p.outputs) == 1 else f"{PORT_OUT}{i + 1}" for i in range(len(p.outputs))]
        taken_ports = {n["id"] for n in nodes}
        in_ports = [_free(x, taken_ports) for x in in_ports]
        out_ports = [_free(y, taken_ports) for y in out_ports]

        def source(src: str, port: int) -> tuple[str, int]:
            if src not in p.inside:
                return in_ports[p.inputs.index((src, port))], 0
            item, child = item_of[src]
            return item, port if child is None else self.paths[child].outputs.index((src, port))

        for e in sorted(self.graph.edges, key=lambda e: (self.order[e.dst], e.dst_port)):
            if e.dst not in p.inside:
                continue
            item, child = item_of[e.dst]
            if child is not None and e.src in self.paths[child].inside:
                continue
            src, src_port = source(e.src, e.src_port)
            dst_port = e.dst_port if child is None else self.paths[child].inputs.index((e.src, e.src_port))
            edges.append((src, item, src_port, dst_port))
        for index, (src, port) in enumerate(p.outputs if p.path else []):
            s, sp = source(src, port)
            edges.append((s, out_ports[index], sp, 0))
        edges = list(dict.fromkeys(edges))
        if p.path:
            nodes = ([{"id": x, "op": "BlockInput", "params": {}, "block": None, "repeat": None, "pos": None}
                      for x in in_ports] + nodes +
                     [{"id": y, "op": "BlockOutput", "params": {}, "block": None, "repeat": None, "pos": None}
                      for y in out_ports])
        raw = {"nodes": nodes, "edges": edges}
        if p.sequential:
            _merge_repeats(raw)
        return raw

    # -- sharing definitions

    def _signature(self, p: _Path) -> tuple:
        module = self._module(p.path)
        nodes = tuple((n["id"], n["op"], n["block"], n["repeat"], self._fixed_keys(n)) for n in p.raw["nodes"])
        return (p.sequential, type(module).__name__ if module is not None else "", nodes,
                tuple(sorted(p.raw["edges"])))

    def _fixed_keys(self, node: dict[str, Any]) -> tuple[str, ...]:
        """Keys of a node's params that must be given alike to share a definition: those without a default
        to fill in when another instance leaves them out."""
        if node["op"] == "Block":
            return ()
        spec = get_spec(node["op"])
        keys = []
        for key in node["params"]:
            param = spec.param(key) if spec is not None and key in spec.param_names else None
            if param is None or param.default is REQUIRED or param.is_inferred:
                keys.append(key)
        return tuple(sorted(keys))

    def _define(self, level: list[_Path]) -> None:
        groups: dict[tuple, list[_Path]] = {}
        for p in level:
            groups.setdefault(self._signature(p), []).append(p)
        named = _names_for(self, list(groups.values()))
        for members, name in named:
            defn, values = self._definition(name, members)
            self.defs.append(defn)
            for p, v in zip(members, values, strict=True):
                p.block, p.values = defn.name, v

    def _definition(self, name: str, members: list[_Path]) -> tuple[BlockDef, list[dict[str, Any]]]:
        rep = members[0].raw
        columns: list[tuple[int, str]] = []
        for index in range(len(rep["nodes"])):
            keys: list[str] = []
            for p in members:
                keys += [k for k in p.raw["nodes"][index]["params"] if k not in keys]
            columns += [(index, k) for k in keys]
        table = {c: [self._value(p.raw["nodes"][c[0]], c[1]) for p in members] for c in columns}
        varying = [c for c in columns if len({repr(v) for v in table[c]}) > 1]
        # Columns equal in every use share one param; a fixed multiple of another is written `$p * k`.
        primaries: list[tuple[int, str]] = []
        uses: dict[tuple[int, str], tuple[tuple[int, str], int]] = {}
        for c in varying:
            match = next((pc for pc in primaries if repr(table[pc]) == repr(table[c])), None)
            factor = None if match is not None else next(
                ((pc, k) for pc in primaries if (k := _factor(table[pc], table[c]))), None)
            if match is not None:
                uses[c] = (match, 1)
            elif factor is not None:
                uses[c] = factor
            else:
                primaries.append(c)
                uses[c] = (c, 1)
        fields = [c[1] for c in primaries]
        params: dict[str, BlockParam] = {}
        primary: dict[str, tuple[int, str]] = {}
        param_of: dict[tuple[int, str], str] = {}
        for c in primaries:
            node = rep["nodes"][c[0]]
            base = c[1] if fields.count(c[1]) == 1 else f"{node['id']}_{c[1]}"
            pname = suggest_id(base, set(params) | {d.name for d in self.defs} | {name})
            params[pname] = self._param(pname, node, c[1])
            primary[pname] = c
            param_of[c] = pname
        refs = {c: f"${param_of[pc]}" + (f" * {k}" if k != 1 else "") for c, (pc, k) in uses.items()}
        graph_nodes = []
        for index, node in enumerate(rep["nodes"]):
            node = dict(node, params=dict(node["params"]))
            for (i, key), ref in refs.items():
                if i == index:
                    node["params"][key] = ref
            for (i, key) in columns:
                if i == index and (i, key) not in refs and key not in node["params"]:
                    node["params"][key] = table[(i, key)][0]
            graph_nodes.append(node)
        values = [{pname: table[c][j] for pname, c in primary.items()} for j in range(len(members))]
        module = self._module(members[0].path)
        what = type(module).__name__.lstrip("_") if module is not None else name
        shown = ", ".join(p.path for p in members[:3]) + (f" and {len(members) - 3} more" if len(members) > 3 else "")
        doc = f"Imported {what}: {shown}"
        doc = doc if len(doc) <= 90 else f"Imported {what}, {len(members)} uses"
        defn = BlockDef(name, _graph({"nodes": graph_nodes, "edges": rep["edges"]}), params, doc[:200],
                        sequential=members[0].sequential)
        defn.sequential = sequential_kind(defn, module)
        return defn, values

    def _value(self, node: dict[str, Any], key: str) -> Any:
        if key in node["params"]:
            return node["params"][key]
        if node["op"] == "Block":
            param = next(d for d in self.defs if d.name == node["block"]).params.get(key)
            return param.default if param is not None else None
        spec = get_spec(node["op"])
        return spec.param(key).default

    def _param(self, name: str, node: dict[str, Any], key: str) -> BlockParam:
        # No default: every instance states its value (a catalog default is an editor's starting value, not
        # the source module's), so the code reads BottleneckDownsample(in_channels=256, out_channels=128).
        if node["op"] == "Block":
            inner = next(d for d in self.defs if d.name == node["block"]).params[key]
            kind, choices = inner.kind, inner.choices
        else:
            param = get_spec(node["op"]).param(key)
            kind, choices = param.kind.value, tuple(param.choices)
        return BlockParam(name, kind, REQUIRED, f"{node['id']}.{key}", choices=choices)

    # -- keys

    def _prefixes(self) -> dict[str, str]:
        out: dict[str, str] = {}

        def walk(p: _Path, prefix: str) -> None:
            for m, local in p.local.items():
                label = self.owners[m][1] if p.sequential else local
                out[m] = f"{prefix}{label}"
            for c in p.children:
                child = self.paths[c]
                walk(child, f"{prefix}{child.label if p.sequential else child.local_id}.")

        walk(self.paths[""], "")
        return out


def _op_name(op: str | None) -> str:
    """snake_case for an op or block name: ReLU -> relu, AdaptiveAvgPool2d -> adaptive_avg_pool2d."""
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z][a-z])", "_", op or "block").lower()
    return text if not id_problem(text) else f"{text}_layer"


def _free(name: str, taken: set[str]) -> str:
    out = suggest_id(name, taken) if name in taken else name
    taken.add(out)
    return out


def _factor(base: list[Any], values: list[Any]) -> int | None:
    """k (2..8) when every value is k times the base value of the same use."""
    ints = all(isinstance(v, int) and not isinstance(v, bool) for v in base + values)
    if not ints or 0 in base:
        return None
    ks = {v // b for b, v in zip(base, values, strict=True) if v % b == 0}
    if len(ks) == 1 and all(v % b == 0 for b, v in zip(base, values, strict=True)):
        k = ks.pop()
        return k if 2 <= k <= 8 else None
    return None


def _merge_repeats(raw: dict[str, Any]) -> None:
    """Consecutive chain items of one definition with equal values become one repeated item."""
    nodes = raw["nodes"]
    merged: list[dict[str, Any]] = []
    for node in nodes:
        last = merged[-1] if merged else None
        if (last is not None and node["op"] == "Block" and last["op"] == "Block" and last["block"] == node["block"]
                and repr(last["params"]) == repr(node["params"])):
            last["repeat"] = (last["repeat"] or 1) + 1
            continue
        merged.append(dict(node))
    ids = [n["id"] for n in merged]
    raw["nodes"] = merged
    raw["edges"] = [(a, b, 0, 0) for a, b in zip(ids, ids[1:], strict=False)]


def _graph(raw: dict[str, Any]) -> Graph:
    graph = Graph()
    for n in raw["nodes"]:
        graph.add_node(Node(n["id"], n["op"], n["params"], n.get("pos"), {}, n["block"], n["repeat"]),
                       check_id=False)
    for src, dst, sp, dp in raw["edges"]:
        graph.add_edge(Edge(src, dst, sp, dp))
    return graph


def _container_label(members: list[_Path]) -> str:
    """The name a plain container's definition is called by: its attribute name, or for one definition that
    several attributes share (ResNet's layer1 and layer4) their common stem (`layer`), so that no stage is
    named after another one."""
    labels = [m.label if not m.label.isdigit() else m.path for m in members]
    stems = {re.sub(r"[_.]?\d+$", "", label) for label in labels}
    if len(set(labels)) > 1 and len(stems) == 1 and stems != {""}:
        return stems.pop()
    return labels[0]


def _names_for(builder: _Builder, groups: list[list[_Path]]) -> list[tuple[list[_Path], str]]:
    """A class name per group: the module's class, or for plain containers the attribute's CamelCase form.
    Groups of one class that differ are told apart by the one part only they have (`BasicBlockDownsample`)
    or else by how many blocks they hold (`DenseBlock6`, `DenseBlock12`)."""
    by_base: dict[str, list[list[_Path]]] = {}
    for members in groups:
        module = builder._module(members[0].path)
        if module is None or type(module) in CONTAINERS:
            base = suggest_block_name(_container_label(members))
        else:
            base = suggest_block_name(type(module).__name__)
        by_base.setdefault(base, []).append(members)
    out = []
    for base, family in by_base.items():
        family.sort(key=lambda m: len(m[0].raw["nodes"]))
        earlier = builder.families.get(base)  # a smaller structure of this class, from a lower level
        if earlier is not None:
            family.insert(0, earlier)
        plain_ids = {n["id"] for n in family[0][0].raw["nodes"]}
        counts = [sum(n["op"] == "Block" for n in m[0].raw["nodes"]) for m in family]
        by_count = len(family) > 1 and len(set(counts)) == len(family)
        for index, members in enumerate(family):
            extra = [n["id"] for n in members[0].raw["nodes"] if n["id"] not in plain_ids]
            if index and len(extra) == 1:
                wish = base + "".join(w[:1].upper() + w[1:] for w in extra[0].split("_"))
            elif by_count and (index or not all(len([1 for n in m[0].raw["nodes"] if n["id"] not in plain_ids]) == 1
                                                for m in family[1:])):
                wish = f"{base}{counts[index]}"
            else:
                wish = base
            if earlier is not None and index == 0:
                continue
            if block_name_problem(wish) or wish in builder.taken_names:
                wish = suggest_block_name(wish, builder.taken_names)
            builder.taken_names.add(wish)
            builder.families.setdefault(base, members)
            out.append((members, wish))
    return out
