"""Step 3 and 4: mapping every traced node to LayerLoom nodes, collecting every problem; then the project
and its state_dict."""

from __future__ import annotations

import itertools
from typing import Any

import torch
from torch import fx, nn

from graph_engine.catalog import get_spec
from graph_engine.graph import Edge, Graph, Node
from graph_engine.identifiers import suggest_id
from graph_engine.importer.call_handlers import HANDLERS, CallHandlers
from graph_engine.importer.op_mapping import (
    FUNCTIONAL_LAYERS,
    FUNCTIONS,
    FUNCTIONS_BY_NAME,
    METHODS,
    MODULE_OPS,
    RECURRENT_OPS,
    REFUSED,
    TUPLE_OPS,
    Unsupported,
    describe_target,
    layer_class,
    normalise,
    read_module,
    tidy_params,
)
from graph_engine.importer.recording import BATCHES, TensorInfo, has_tensor
from graph_engine.importer.report import ImportProblem, short
from graph_engine.importer.tensors import TensorValue, evaluate, read_tensor
from graph_engine.importer.tracing import ROOT, target_text, user_path, variable_names
from graph_engine.importer.values import (
    CONST,
    FAILED,
    PHANTOM,
    MovedBatch,
    PendingNode,
    Pieces,
    PortsOut,
    RawState,
    Ref,
    StateTuple,
    TupleOut,
)
from graph_engine.project import Project


class Mapper(CallHandlers):
    def __init__(self, gm: fx.GraphModule, runs: list[dict[fx.Node, Any]], shapes, dtypes, source: nn.Module):
        self.gm = gm
        self.source = source  # the module traced (gm holds it under ROOT)
        self.runs = runs
        self.shapes = shapes
        self.dtypes = dtypes
        self.values: dict[fx.Node, Any] = {}
        self.nodes: dict[str, PendingNode] = {}
        self.outputs: list[Ref] = []
        self.problems: list[ImportProblem] = []
        self.module_nodes: dict[str, str] = {}  # module path -> node id (modules that hold weights)
        self.module_calls: dict[str, int] = {}
        self.fx_name: dict[str, str] = {}
        self.target_of: dict[str, str] = {}
        self.merge_uses: dict[str, int] = {}  # Add/Multiply node id -> fx users of its value
        self.no_weights: set[fx.Node] = set()  # attention calls with need_weights=False
        self.refused_attrs: set[fx.Node] = set()  # parameters/buffers read in forward, already reported
        self.parameters_used: set[str] = set()  # parameters that became a node (a second use is refused)
        self.tensor_state: dict[str, torch.Tensor] = {}  # Parameter/PositionalEncoding node id -> its tensor
        self.last_ref: Ref | None = None  # the latest graph tensor: what a Parameter node takes the batch from
        self.variables = variable_names(gm.graph)
        self.fx_of: dict[str, fx.Node] = {}  # node id -> the fx node it was made from (hierarchy.py reads its meta)
        self.module_of: dict[str, str] = {}  # layer node id -> its module's path ("" for the traced module itself)
        self.tensor_source: dict[str, str] = {}  # Parameter node id -> the attribute it was read from

    # ---- driving -----------------------------------------------------------------------------------------

    def map_all(self) -> None:
        for n in self.gm.graph.nodes:
            if n.op == "output":
                self._output(n)
                continue
            try:
                self.values[n] = self._map(n)
                if isinstance(self.values[n], Ref) and not self.values[n].node.startswith(PHANTOM):
                    self.last_ref = self.values[n]
            except Unsupported as exc:
                self.problems.append(ImportProblem(n.name, target_text(self.gm, n), str(exc)))
                # a refused tensor stands in as a phantom so that the nodes it feeds are checked (and their
                # problems listed) too; no project is built while there are problems
                single = isinstance(self.runs[0].get(n), TensorInfo)
                self.values[n] = Ref(f"{PHANTOM}{n.name}") if single else FAILED
        for n in self.gm.graph.nodes:
            if n.op == "placeholder" and not n.users:
                self.problems.append(ImportProblem(n.name, f"forward argument {n.target!r}",
                                                   "is not used, so it cannot become an Input of the graph"))

    def _map(self, n: fx.Node) -> Any:
        if n.op == "placeholder":
            return self._placeholder(n)
        if n.op == "get_attr":
            return read_tensor(self.source, user_path(n.target))  # tensors.py: becomes a node where it is used
        if n.op == "call_module":
            sub = self.gm.get_submodule(n.target)
            tensor_args = [a for a in n.args if isinstance(a, fx.Node) and isinstance(self.runs[0].get(a), TensorInfo)]
            op, params = read_module(sub, [self._shape(a) for a in tensor_args])  # Unsupported: the module itself
            if self._any_failed(n):
                return FAILED
            return self._call_module(n, sub, op, params)
        if n.op in ("call_function", "call_method"):
            if n.op == "call_function" and hashable(n.target) and n.target in FUNCTIONAL_LAYERS:
                return self._functional_layer(n, *FUNCTIONAL_LAYERS[n.target])
            if n.op == "call_function" and hashable(n.target) and n.target in REFUSED:
                raise Unsupported(REFUSED[n.target])
            table = FUNCTIONS if n.op == "call_function" else METHODS
            entry = table.get(n.target) if n.op == "call_method" or hashable(n.target) else None
            if entry is None and n.op == "call_function":
                entry = FUNCTIONS_BY_NAME.get(describe_target(n.target))
            if self._on_parameters_only(n):
                if n.op == "call_method" and n.target == "expand":
                    return self._expanded_parameter(n)
                return evaluate(n, self.values.__getitem__, self._plain)
            if self._any_failed(n):
                if entry is None and has_tensor(self.runs[0].get(n)):
                    raise Unsupported(f"LayerLoom has no layer for {target_text(self.gm, n)}")
                return FAILED
            if not has_tensor(self.runs[0].get(n)) and not self._has_graph_input(n):
                return CONST  # shape arithmetic: x.size(0), x.shape[1] * 2, math.prod(...)
            if entry is None:
                raise Unsupported(f"LayerLoom has no layer for {target_text(self.gm, n)}")
            handler, names, defaults = entry
            kind, _, op = handler.partition(":")
            bound = bind_call(n, names, defaults)
            return HANDLERS[kind](self, n, bound, op)
        raise Unsupported(f"an fx {n.op} node")

    def _any_failed(self, n: fx.Node) -> bool:
        return any(self.values.get(a) is FAILED for a in n.all_input_nodes)

    def _has_graph_input(self, n: fx.Node) -> bool:
        return any(isinstance(self.values.get(a), Ref | TupleOut | StateTuple | RawState | MovedBatch | Pieces | PortsOut)
                   for a in n.all_input_nodes)

    # ---- helpers -----------------------------------------------------------------------------------------

    def _add(self, n: fx.Node, op: str, params: dict[str, Any], inputs: list[Ref | None],
             name: str | None = None) -> str:
        if n.op in ("call_function", "call_method"):
            name = self.variables.get(n) or name
        node_id = suggest_id(name or n.name, set(self.nodes))
        spec = get_spec(op)
        self.nodes[node_id] = PendingNode(op, tidy_params(spec, params), inputs, n.name, target_text(self.gm, n))
        self.fx_name[node_id] = n.name
        self.fx_of[node_id] = n
        self.target_of[node_id] = target_text(self.gm, n)
        return node_id

    def _tensor(self, arg: Any, what: str = "input") -> Ref:
        value = self.values.get(arg) if isinstance(arg, fx.Node) else None
        if isinstance(value, Ref):
            return value
        if isinstance(value, RawState):
            raise Unsupported("uses an RNN hidden state in PyTorch's [layers, batch, hidden] layout; LayerLoom "
                              "keeps the batch first: index it (h_n[-1]) or transpose it (h_n.transpose(0, 1)) first")
        if isinstance(value, TupleOut | StateTuple):
            raise Unsupported("uses a layer's whole tuple output; pick one element (out[0]) first")
        if isinstance(value, TensorValue):
            return self._refused_tensor(arg, value)
        if isinstance(value, PortsOut):
            raise Unsupported(f"uses all of {arg.name}'s pieces at once; pick one (pieces[0])")
        if isinstance(value, MovedBatch):
            raise Unsupported(f"uses {arg.name}, which moves the batch dimension (LayerLoom keeps it first: a "
                              "permute's dims must start with 0, unless the result is unbound along dim 0)")
        if isinstance(value, Pieces):
            raise Unsupported(f"uses all of {arg.name}'s unbound pieces at once; pick one (pieces[0])")
        if isinstance(arg, fx.Node):
            raise Unsupported(f"its {what} is not a tensor of the graph")
        raise Unsupported(f"its {what} is a constant ({short(arg)}), not a tensor; LayerLoom has no constant layer")

    def _module(self, path: str) -> nn.Module:
        """The source's own submodule at a traced path (the GraphModule holds copies of only what the graph
        reads: a traced-into module's weights without its buffers or class)."""
        return self.source.get_submodule(user_path(path)) if path != ROOT else self.source

    def _refused_tensor(self, n: fx.Node, t: TensorValue) -> Ref:
        """A parameter or buffer used where LayerLoom cannot take it. Reported once, at the read
        (`self.scale`), and a phantom afterwards, so that every use is still checked."""
        if n not in self.refused_attrs:
            self.refused_attrs.add(n)
            what = "parameter" if t.is_parameter else "buffer"
            self.problems.append(ImportProblem(
                n.name, target_text(self.gm, n),
                f"reads self.{t.base} directly: a {what} outside any layer used where LayerLoom cannot take it "
                "(a parameter can be expanded along the batch, added to or multiplied with a batch tensor; a "
                "buffer only as a sinusoidal positional table)"))
        return Ref(f"{PHANTOM}{n.name}")

    def _on_parameters_only(self, n: fx.Node) -> bool:
        """A call on parameters/buffers (and plain values) only: evaluated on the module's tensors."""
        inputs = [self.values.get(a) for a in n.all_input_nodes]
        return any(isinstance(v, TensorValue) for v in inputs) and not self._has_graph_input(n)

    def _plain(self, arg: Any) -> Any:
        if isinstance(arg, fx.Node) and isinstance(self.values.get(arg), TensorValue):
            return self.values[arg].value
        return self._const(arg)

    def _batch_source(self) -> Ref:
        if self.last_ref is None:
            raise Unsupported("uses a parameter before any input tensor")
        return self.last_ref

    def parameter_node(self, n: fx.Node, t: TensorValue, shape: tuple[int, ...], batch: Ref,
                       name: str | None = None) -> Ref:
        """A Parameter node holding `t` as [1, *shape] (the batch dim it is shared along)."""
        if t.base in self.parameters_used:
            raise Unsupported(f"uses self.{t.base} a second time; two Parameter nodes would train apart")
        if not t.is_parameter:
            raise Unsupported(f"self.{t.base} is a buffer (a constant); LayerLoom's Parameter node is learned")
        self.parameters_used.add(t.base)
        node_id = self._add(n, "Parameter", {"shape": list(shape)}, [batch], name)
        self.tensor_state[node_id] = t.value.reshape(1, *shape).clone()
        self.tensor_source[node_id] = t.base
        return Ref(node_id)

    def _expanded_parameter(self, n: fx.Node) -> Ref:
        """`self.cls_token.expand(B, -1, -1)`: the Parameter node itself (it is given to every sample)."""
        t = self.values[n.args[0]]
        shape = self._batch_first(n)
        if t.value.dim() != len(shape) + 1 or t.value.shape[0] != 1 or tuple(t.value.shape[1:]) != shape:
            raise Unsupported(f"expands self.{t.base} ({list(t.value.shape)}) to more than the batch")
        return self.parameter_node(n, t, shape, self._batch_source())

    def _const(self, arg: Any) -> Any:
        """A plain value; fx nodes are read from the recorded runs and must not depend on the batch size."""
        if isinstance(arg, fx.Node):
            a, b = self.runs[0].get(arg), self.runs[1].get(arg)
            if has_tensor(a):
                raise Unsupported(f"a parameter is computed from the tensor {arg.name!r}; it must be a constant")
            if a != b:
                raise Unsupported(f"a parameter ({arg.name}) depends on the batch size")
            return a
        if isinstance(arg, tuple | list):
            return type(arg)(self._const(v) for v in arg)
        if isinstance(arg, slice):
            return slice(self._const(arg.start), self._const(arg.stop), self._const(arg.step))
        return arg

    def _shape(self, n: fx.Node, run: int = 0) -> tuple[int, ...]:
        info = self.runs[run].get(n)
        if not isinstance(info, TensorInfo):
            raise Unsupported("its result is not a single tensor")
        return info.shape

    def _batch_first(self, n: fx.Node) -> tuple[int, ...]:
        """The output's shape without the batch (checked: dim 0 is the batch in both runs, the rest equal)."""
        a, b = self._shape(n, 0), self._shape(n, 1)
        if not a or a[0] != BATCHES[0] or b[0] != BATCHES[1] or a[1:] != b[1:]:
            raise Unsupported(f"its output {list(a)} (at batch {BATCHES[0]}) does not keep the batch as the first "
                              "dim and the other dims fixed")
        return a[1:]

    def _rank(self, arg: fx.Node) -> int:
        return len(self._shape(arg))

    def _result(self, n: fx.Node, ref: Ref) -> Ref:
        self._batch_first(n)
        return ref

    # ---- node kinds --------------------------------------------------------------------------------------

    def _placeholder(self, n: fx.Node) -> Ref:
        index = [p for p in self.gm.graph.nodes if p.op == "placeholder"].index(n)
        shape = self._batch_first(n)
        node_id = suggest_id(n.target, set(self.nodes))
        params: dict[str, Any] = {"shape": list(shape)}
        if self.dtypes[index] != "float32":
            params["dtype"] = self.dtypes[index]
        self.nodes[node_id] = PendingNode("Input", params, [], n.name, f"forward argument {n.target!r}")
        self.fx_name[node_id] = n.name
        self.target_of[node_id] = f"forward argument {n.target!r}"
        return Ref(node_id)

    def _call_module(self, n: fx.Node, sub: nn.Module, op: str, params: dict[str, Any],
                     target: str | None = None, inputs: list[Ref | None] | None = None) -> Any:
        target = target or str(n.target)
        calls = self.module_calls.get(target, 0) + 1
        self.module_calls[target] = calls
        has_weights = any(True for _ in itertools.chain(sub.parameters(), sub.buffers()))
        if calls > 1 and has_weights:
            raise Unsupported(f"self.{user_path(target)} is called {calls} times: LayerLoom layers cannot share weights; "
                              "use one layer per call")
        inputs = inputs if inputs is not None else self._module_inputs(n, op)
        if n.meta.get("causal"):  # called with a causal mask (tracing.py folds it)
            params = {**params, "causal": True}
        node_id = self._add(n, op, params, inputs)
        self.module_of[node_id] = "" if target == ROOT else user_path(target)
        if has_weights:
            self.module_nodes[target] = node_id
        if op in TUPLE_OPS:
            return TupleOut(node_id, op)
        return self._result(n, Ref(node_id))

    def _module_inputs(self, n: fx.Node, op: str) -> list[Ref | None]:
        args, kwargs = list(n.args), dict(n.kwargs)
        if op == "MultiheadAttention":
            names = ("query", "key", "value", "key_padding_mask", "need_weights", "attn_mask",
                     "average_attn_weights", "is_causal")
            bound = dict(zip(names, args, strict=False))
            bound.update(kwargs)
            for key, allowed in (("key_padding_mask", None), ("attn_mask", None), ("is_causal", False),
                                 ("average_attn_weights", True)):
                if key in bound and self._const(bound[key]) is not allowed:
                    raise Unsupported(f"calls the attention layer with {key}={short(bound[key])}; LayerLoom's "
                                      "MultiheadAttention takes query, key and value only")
            if "need_weights" in bound and not self._const(bound["need_weights"]):
                self.no_weights.add(n)
            q = self._tensor(bound.get("query"), "query")
            k = self._tensor(bound.get("key"), "key")
            v = self._tensor(bound.get("value"), "value")
            if k == q and v == q:
                return [q, None, None]
            return [q, k, None if v == q else v]
        if op in ("TransformerEncoderLayer", "TransformerDecoderLayer", "TransformerEncoder", "TransformerDecoder"):
            count = 1 if op.startswith("TransformerEncoder") else 2
            for key, value in [*enumerate(args)][count:] + list(kwargs.items()):
                if self._const(value) not in (None, False):
                    raise Unsupported(f"calls the transformer layer with a mask or flag ({key}); LayerLoom's layer "
                                      "takes the sequence(s) only")
            return [self._tensor(a) for a in args[:count]]
        if op in RECURRENT_OPS and (len(args) > 1 or "hx" in kwargs):
            if self._const(args[1] if len(args) > 1 else kwargs["hx"]) is not None:
                raise Unsupported("passes an initial hidden state; LayerLoom's recurrent layers start from zeros")
            args = args[:1]
            kwargs.pop("hx", None)
        count = get_spec(op).input_port_count()
        if kwargs or len(args) != count:
            raise Unsupported(f"is called with {len(args)} positional argument(s){' and keywords' if kwargs else ''}; "
                              f"a {op} layer takes {count} tensor(s)")
        return [self._tensor(a) for a in args]

    def _functional_layer(self, n: fx.Node, ops: tuple[str, ...], names: tuple[str, ...],
                          defaults: dict[str, Any]) -> Any:
        """F.batch_norm / F.layer_norm / F.linear / F.conv2d called on one module's own weights (the forward of
        a subclass such as timm's BatchNormAct2d): that module's layer, its weights under the module's path."""
        what = describe_target(n.target)
        b = bind_call(n, names, defaults)
        weight = self.values.get(b["weight"]) if isinstance(b["weight"], fx.Node) else None
        if not isinstance(weight, TensorValue) or weight.value is not weight.table or not weight.base.endswith("weight"):
            raise Unsupported(f"{what} with weights that are not a module's own `weight` (use the nn layer)")
        path = weight.base.removesuffix("weight").removesuffix(".")
        owner = self.source.get_submodule(path)
        cls = layer_class(owner)
        op = MODULE_OPS.get(cls) if cls is not None else None
        if op not in ops:
            raise Unsupported(f"{what} on the weights of {type(owner).__name__}, which is not a {' or '.join(ops)}")
        for key, value in b.items():  # every other tensor argument: the same module's tensor of that name
            if key in ("input", "weight") or not isinstance(value, fx.Node):
                continue
            attr = self.values.get(value)
            if not isinstance(attr, TensorValue) or attr.base != ".".join(filter(None, (path, key))):
                raise Unsupported(f"{what} with a {key} that is not self.{path}.{key}")
        if op.startswith("BatchNorm") and self._const(b["training"]):
            raise Unsupported(f"{what} with training=True in eval mode (batch statistics)")
        op, params = read_module(owner, [self._shape(b["input"])], as_op=op)
        for key in ("eps", "normalized_shape"):  # what the call passes must be what the module holds
            if key in b and key in params and self._const(b[key]) != normalise(get_spec(op).param(key), params[key]):
                raise Unsupported(f"{what} with {key}={short(self._const(b[key]))}, not the module's")
        return self._call_module(n, owner, op, params, target=f"{ROOT}.{path}" if path else ROOT,
                                 inputs=[self._tensor(b["input"])])

    def _output(self, n: fx.Node) -> None:
        value = n.args[0]
        items = list(value) if isinstance(value, tuple | list) else [value]
        if isinstance(value, dict):
            self.problems.append(ImportProblem(n.name, "return", "forward returns a dict; return a tensor or a "
                                                                "tuple of tensors"))
            return
        for item in items:
            if isinstance(item, fx.Node) and self.values.get(item) is FAILED:
                continue
            try:
                self.outputs.append(self._tensor(item, "returned value"))
            except Unsupported as exc:
                self.problems.append(ImportProblem(n.name, "return", str(exc)))

    # ---- results -----------------------------------------------------------------------------------------

    def project(self, name: str) -> Project:
        graph = Graph()
        out_ids: list[str] = []
        for i in range(len(self.outputs)):
            base = "out" if len(self.outputs) == 1 else f"out_{i + 1}"
            out_ids.append(suggest_id(base, set(self.nodes) | set(out_ids)))
        for node_id, pending in self.nodes.items():
            graph.add_node(Node(node_id, pending.op, dict(pending.params)))
        for node_id in out_ids:
            graph.add_node(Node(node_id, "Output"))
        for node_id, pending in self.nodes.items():
            for port, ref in enumerate(pending.inputs):
                if ref is not None:
                    graph.add_edge(Edge(ref.node, node_id, ref.port, port))
        for node_id, ref in zip(out_ids, self.outputs, strict=True):
            graph.add_edge(Edge(ref.node, node_id, ref.port, 0))
        return Project(name=name, graph=graph)

    def state(self, module: nn.Module) -> dict[str, torch.Tensor]:
        state = dict(self.tensor_state)
        for path, node_id in self.module_nodes.items():
            for key, value in self._module(path).state_dict().items():
                state[f"{node_id}.{key}"] = value.detach().clone()
        return state



def bind_call(n: fx.Node, names: tuple[str, ...], defaults: dict[str, Any]) -> dict[str, Any]:
    args, kwargs = list(n.args), dict(n.kwargs)
    bound: dict[str, Any] = {}
    if names and names[-1] == "*":
        fixed = names[:-1]
        for name, value in zip(fixed, args, strict=False):
            bound[name] = value
        bound["*"] = args[len(fixed):]
        if kwargs:
            rest = [kwargs.pop(k) for k in ("dims", "shape", "size", "dim") if k in kwargs]
            if rest:
                bound["*"] = list(bound["*"]) + rest
        if kwargs and n.target not in ("contiguous", "clone", "to", "float"):
            raise Unsupported(f"keyword argument(s) {', '.join(kwargs)}")
        return bound
    if len(args) > len(names):
        raise Unsupported(f"called with {len(args)} positional arguments")
    for name, value in zip(names, args, strict=False):
        bound[name] = value
    for key, value in kwargs.items():
        if key not in names:
            raise Unsupported(f"the keyword argument {key}=")
        bound[key] = value
    for name in names:
        if name not in bound:
            if name not in defaults:
                raise Unsupported(f"the argument {name} is missing")
            bound[name] = defaults[name]
    return bound



def hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True
