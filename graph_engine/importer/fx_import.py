"""Importing a PyTorch module as a LayerLoom project, with torch.fx.

    result = import_file("net.py", "Net", input_shapes=[(1, 28, 28)])
    project_path, weights_path = save_import(result, "net.layerloom.json")

How it works:
1. the module is traced with `torch.fx.symbolic_trace` (torch.nn layers are leaves; the user's own modules,
   Sequential, ModuleList loops are traced through), then dead code is removed;
2. the traced graph is run twice, at batch sizes 2 and 3, recording every value: tensor shapes tell a
   reshape's target shape and prove the batch stays first; plain values (sizes) must not depend on the batch
   where they become parameters;
3. every node is mapped: leaf modules to their catalog op with params read back from the module
   (`op_mapping.read_module`), calls and tensor methods to catalog ops (`op_mapping.FUNCTIONS`/`METHODS`),
   tuple outputs of RNN/LSTM/GRU/MultiheadAttention to the layer's ports (PyTorch's `h_n[-1]` becomes a
   Select on LayerLoom's batch-first h_n port; `h_n.transpose(0, 1)` the port itself). Chained `a + b + c`
   becomes one Add with three inputs, as LayerLoom writes it;
4. every problem is collected (with the fx node's name and target) and raised together as an `ImportReport`:
   never a silent partial import;
5. the graph gets ids from the module names (`features.0` -> `features_0`, via `suggest_id`), is laid out and
   checked; the module's weights are renamed to the graph's state_dict keys, loaded strictly into
   `build_model(project)`, and both models are run on the same batch: the import is accepted only when the
   outputs agree (rtol 1e-4, atol 1e-5), so a mapping mistake can never pass silently.

Importing a file runs its code (`import_file` executes it like `python FILE.py` would import it); the CLI asks
before doing so.
"""

from __future__ import annotations

import collections
import importlib.util
import itertools
import linecache
import os
import re
import sys
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import fx, nn

from graph_engine.catalog import get_spec
from graph_engine.errors import ProjectError
from graph_engine.graph import Edge, Graph, Node
from graph_engine.identifiers import suggest_id
from graph_engine.importer.op_mapping import (
    FUNCTIONS,
    METHODS,
    RECURRENT_OPS,
    REFUSED,
    TUPLE_OPS,
    Unsupported,
    describe_target,
    int_tuple,
    read_module,
    tidy_params,
)
from graph_engine.layout import apply_missing_positions
from graph_engine.project import Project
from graph_engine.validation import check

BATCHES = (2, 3)
CHECK_BATCH = 3
RTOL, ATOL = 1e-4, 1e-5
MAX_PROBLEMS_IN_MESSAGE = 20
PROJECT_SUFFIXES = (".layerloom.json", ".json")

_counter = itertools.count(1)


# ---- results and the report --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportProblem:
    """Something that cannot be imported: the fx node's name (None for the module as a whole), its target
    (what it calls) and why."""

    node: str | None
    target: str
    reason: str

    def __str__(self) -> str:
        where = f"fx node {self.node!r} ({self.target})" if self.node else self.target
        return f"{where}: {self.reason}"


class ImportReport(ProjectError):
    """The import was refused; `problems` lists every offending module and call (nothing was written)."""

    def __init__(self, source: str, problems: Sequence[ImportProblem], hint: str = ""):
        self.source = source
        self.problems = list(problems)
        n = len(self.problems)
        shown = "; ".join(str(p) for p in self.problems[:MAX_PROBLEMS_IN_MESSAGE])
        more = f"; and {n - MAX_PROBLEMS_IN_MESSAGE} more" if n > MAX_PROBLEMS_IN_MESSAGE else ""
        super().__init__(f"cannot import {source}: {n} problem{'s' if n != 1 else ''}: {shown}{more}",
                         hint=hint or "rewrite those parts with layers and calls LayerLoom knows (see the catalog), "
                                      "then import again")

    def lines(self) -> list[str]:
        """A header line, then one line per problem (what the CLI prints)."""
        n = len(self.problems)
        return [f"cannot import {self.source}: {n} problem{'s' if n != 1 else ''}",
                *(f"  - {p}" for p in self.problems)]


@dataclass
class ImportResult:
    project: Project
    state: dict[str, torch.Tensor] = field(repr=False)  # keys == build_model(project).state_dict() keys
    max_abs_diff: float = 0.0  # between the module and build_model(project) + state, on a probe batch
    modules: dict[str, str] = field(default_factory=dict)  # module path -> node id


# ---- loading a module from a file --------------------------------------------------------------------------


def load_module_object(path: str | Path, name: str) -> tuple[nn.Module, str]:
    """Execute FILE.py and call `name()` (a module class or a factory function) with no arguments.

    Returns (module, the module name it was loaded under). The caller removes it from sys.modules when done
    (`forget_module`)."""
    path = Path(path)
    if not path.is_file():
        raise ProjectError(f"{path} does not exist" if not path.exists() else f"{path} is not a file",
                           hint="give FILE.py:ClassName")
    if not name.isidentifier():
        raise ProjectError(f"{name!r} is not a Python name", hint="give FILE.py:ClassName, e.g. net.py:Net")
    module_name = f"layerloom_import_{next(_counter)}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ProjectError(f"{path} cannot be loaded as Python code", hint="give a .py file")
    py_module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = py_module
    folder = str(path.resolve().parent)
    sys.path.insert(0, folder)
    previous = sys.dont_write_bytecode
    sys.dont_write_bytecode = True
    try:
        spec.loader.exec_module(py_module)
    except BaseException as exc:
        forget_module(module_name)
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise ProjectError(f"running {path.name} failed: {_exc_text(exc)}{_user_line(exc, path)}",
                           hint="fix the file so that `python FILE.py` imports cleanly") from None
    finally:
        sys.dont_write_bytecode = previous
        try:
            sys.path.remove(folder)
        except ValueError:
            pass
    obj = getattr(py_module, name, None)
    if obj is None:
        forget_module(module_name)
        found = sorted(k for k, v in vars(py_module).items()
                       if isinstance(v, type) and issubclass(v, nn.Module) and v.__module__ == module_name)
        raise ProjectError(f"{path.name} has no {name!r}",
                           hint=f"modules it defines: {', '.join(found)}" if found else "it defines no nn.Module class")
    try:
        instance = obj()
    except TypeError as exc:
        forget_module(module_name)
        raise ProjectError(f"{name}() cannot be built without arguments ({exc})",
                           hint="import a class (or a function) that needs no arguments, e.g. a small factory "
                                "function that returns the configured module") from None
    except Exception as exc:
        forget_module(module_name)
        raise ProjectError(f"{name}() failed: {_exc_text(exc)}{_user_line(exc, path)}") from None
    if not isinstance(instance, nn.Module):
        forget_module(module_name)
        raise ProjectError(f"{name}() returned a {type(instance).__name__}, not a torch.nn.Module",
                           hint="give a class derived from nn.Module, or a function that returns one")
    return instance, module_name


def forget_module(module_name: str) -> None:
    sys.modules.pop(module_name, None)


def import_file(path: str | Path, name: str, input_shapes: Sequence[Sequence[int]],
                input_dtypes: Sequence[str] | None = None) -> ImportResult:
    """Load FILE.py, instantiate `name`, and import it (see `import_module`). Runs the file's code."""
    module, module_name = load_module_object(path, name)
    try:
        return import_module(module, input_shapes, input_dtypes, name=name, source=f"{Path(path).name}:{name}",
                             source_file=Path(path))
    finally:
        forget_module(module_name)


# ---- the import ------------------------------------------------------------------------------------------------


def import_module(module: nn.Module, input_shapes: Sequence[Sequence[int]],
                  input_dtypes: Sequence[str] | None = None, *, name: str | None = None, source: str | None = None,
                  source_file: Path | None = None) -> ImportResult:
    """Turn `module` into a project and its weights. `input_shapes`: one shape per forward() argument, batch
    excluded; `input_dtypes`: "float32" (default) or "int64" (token ids) per argument."""
    name = name or type(module).__name__
    source = source or name
    shapes = [tuple(int(d) for d in s) for s in input_shapes]
    if any(not s or any(d < 1 for d in s) for s in shapes):
        raise ProjectError(f"input shapes must be lists of positive sizes, not {[list(s) for s in shapes]}",
                           hint="e.g. --input-shape 1,28,28 for one 28x28 grey image")
    dtypes = list(input_dtypes) if input_dtypes else ["float32"] * len(shapes)
    if len(dtypes) == 1 and len(shapes) > 1:
        dtypes = dtypes * len(shapes)
    if len(dtypes) != len(shapes) or any(d not in ("float32", "int64") for d in dtypes):
        raise ProjectError(f"give one dtype (float32 or int64) per input, not {dtypes}")
    module.eval()
    concrete = _defaulted_arguments(module, len(shapes))
    try:
        traced = _trace(module, concrete)
    except Exception as exc:
        raise ImportReport(source, [_trace_problem(exc, module, source_file)],
                           hint="LayerLoom imports a fixed graph: replace Python control flow that depends on "
                                "tensor values with tensor operations, or import the parts that trace") from None
    traced.graph.eliminate_dead_code()
    placeholders = [n for n in traced.graph.nodes if n.op == "placeholder"]
    if len(placeholders) != len(shapes):
        args = ", ".join(n.target for n in placeholders)
        raise ProjectError(f"{name}.forward takes {len(placeholders)} input(s) ({args}) but "
                           f"{len(shapes)} input shape(s) were given",
                           hint="give one --input-shape per forward() argument, in order")
    runs = [_record(traced, shapes, dtypes, batch, source) for batch in BATCHES]
    mapper = _Mapper(traced, runs, shapes, dtypes)
    mapper.map_all()
    if mapper.problems:
        raise ImportReport(source, mapper.problems)
    project = mapper.project(name)
    result = check(project)
    if not result.ok:
        problems = [ImportProblem(mapper.fx_name.get(d.node_id, d.node_id), mapper.target_of.get(d.node_id, "graph"),
                                  f"{d.message}" + (f" ({d.hint})" if d.hint else "")) for d in result.errors]
        raise ImportReport(source, problems)
    apply_missing_positions(project.graph)
    state = mapper.state(module)
    diff = _compare(module, project, result, state, source)
    return ImportResult(project, state, diff, {_user_path(k): v for k, v in mapper.module_nodes.items()})


ROOT = "m"  # the traced module hangs under this name (see _trace)


def _defaulted_arguments(module: nn.Module, given: int) -> dict[str, Any]:
    """forward() arguments after the `given` inputs that have defaults (`mask=None`): traced with their
    defaults, so `forward(self, x, mask=None)` imports with one input shape."""
    import inspect

    try:
        params = list(inspect.signature(module.forward).parameters.values())
    except (TypeError, ValueError):
        return {}
    plain = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    extra = plain[given:]
    if not extra or any(p.default is inspect.Parameter.empty for p in extra):
        return {}
    return {p.name: p.default for p in extra}


def _trace(module: nn.Module, concrete: dict[str, Any] | None = None) -> fx.GraphModule:
    """symbolic_trace, with the module one level down (`m.conv1`): a layer may be called `code` or `graph`,
    which are GraphModule's own attributes at the top level. Arguments in `concrete` are fixed to their values
    and their placeholders (and fx's checks of them) removed."""
    tracer = fx.Tracer()
    tracer.record_stack_traces = True  # to name nodes after the variables they are assigned to
    graph = tracer.trace(module, concrete_args=concrete or None)
    if concrete:
        _drop_specialised_placeholders(graph, len([n for n in graph.nodes if n.op == "placeholder"]) - len(concrete))
    for node in graph.nodes:
        if node.op in ("call_module", "get_attr"):
            node.target = f"{ROOT}.{node.target}"
    root = nn.Module()
    root.add_module(ROOT, module)
    return fx.GraphModule(root, graph, class_name=type(module).__name__)


def _drop_specialised_placeholders(graph: fx.Graph, keep: int) -> None:
    """Remove the placeholders after the first `keep` and the assertion nodes fx hangs on them; a value that
    is really used (not only asserted on) stays, and the import then reports the extra input."""
    placeholders = [n for n in graph.nodes if n.op == "placeholder"][keep:]
    for placeholder in reversed(placeholders):
        below: list[fx.Node] = []
        stack = [placeholder]
        while stack:
            node = stack.pop()
            for user in node.users:
                if user not in below:
                    below.append(user)
                    stack.append(user)
        if any(n.op == "output" for n in below):  # the value reaches the result: a real input
            continue
        order = {n: i for i, n in enumerate(graph.nodes)}
        for node in sorted(below, key=order.__getitem__, reverse=True):
            graph.erase_node(node)
        graph.erase_node(placeholder)


_FRAME = re.compile(r'File "([^"]+)", line (\d+), in [^\n]*\n[ \t]*([^\n]*)')
_ASSIGNMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*=(?!=)")


def variable_names(graph: fx.Graph) -> dict[fx.Node, str]:
    """Node -> the variable the user's code assigns its value to (`last = gru.select(1, -1)` -> "last"), for
    variables assigned exactly once in the traced code; nodes on lines like `x = F.relu(x)` repeated for every
    layer keep fx's names (relu, relu_1...)."""
    torch_dir = os.path.dirname(torch.__file__)
    groups: list[tuple[tuple[str, int], fx.Node, str]] = []
    for n in graph.nodes:
        frames = [f for f in _FRAME.findall(n.stack_trace or "") if not f[0].startswith(torch_dir)]
        if not frames:
            continue
        file, line, code = frames[-1]
        key = (file, int(line))
        if groups and groups[-1][0] == key:
            groups[-1] = (key, n, code)  # the outermost call of a line is the last node traced on it
        else:
            groups.append((key, n, code))
    arguments = {str(n.target) for n in graph.nodes if n.op == "placeholder"}
    assigned = [(key, n, m.group(1)) for key, n, code in groups if (m := _ASSIGNMENT.match(code))]
    counts = collections.Counter((key[0], var) for key, _, var in assigned)
    return {n: var for key, n, var in assigned if counts[(key[0], var)] == 1 and var not in arguments}


def _user_path(target: Any) -> str:
    """A module or attribute path as the user wrote it (without the ROOT prefix)."""
    return str(target).removeprefix(ROOT + ".")


def _record(traced: fx.GraphModule, shapes, dtypes, batch: int, source: str) -> dict[fx.Node, Any]:
    gen = torch.Generator().manual_seed(batch)
    inputs = [torch.zeros((batch, *s), dtype=torch.int64) if d == "int64"
              else torch.randn((batch, *s), generator=gen) for s, d in zip(shapes, dtypes, strict=True)]
    recorder = _Recorder(traced)
    try:
        with torch.no_grad():
            recorder.run(*inputs)
    except Exception as exc:
        node = recorder.current
        raise ImportReport(source, [ImportProblem(
            node.name if node is not None else None,
            _target_text(traced, node) if node is not None else "forward",
            f"running the module on inputs of shape {[[batch, *s] for s in shapes]} failed: {_exc_text(exc)}")],
            hint="check --input-shape (one sample, batch excluded) and --dtype") from None
    return recorder.seen


class _Recorder(fx.Interpreter):
    """Runs the traced graph and keeps a summary of every node's value."""

    def __init__(self, gm: fx.GraphModule):
        super().__init__(gm)
        self.seen: dict[fx.Node, Any] = {}
        self.current: fx.Node | None = None

    def run_node(self, n: fx.Node) -> Any:
        self.current = n
        value = super().run_node(n)
        self.seen[n] = _summary(value)
        return value


@dataclass(frozen=True)
class _TensorInfo:
    shape: tuple[int, ...]
    dtype: torch.dtype


def _summary(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return _TensorInfo(tuple(value.shape), value.dtype)
    if isinstance(value, torch.Size):
        return tuple(int(d) for d in value)
    if isinstance(value, tuple | list):
        return type(value)(_summary(v) for v in value) if isinstance(value, list) else tuple(_summary(v) for v in value)
    return value


def _has_tensor(summary: Any) -> bool:
    if isinstance(summary, _TensorInfo):
        return True
    if isinstance(summary, tuple | list):
        return any(_has_tensor(v) for v in summary)
    return False


# ---- values during mapping ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Ref:
    """A tensor available in the LayerLoom graph: a node's output port."""

    node: str
    port: int = 0


@dataclass(frozen=True)
class _TupleOut:
    """The raw tuple a multi-output layer returns (RNN/LSTM/GRU, MultiheadAttention)."""

    node: str
    op: str


@dataclass(frozen=True)
class _StateTuple:
    """LSTM's (h_n, c_n) pair."""

    node: str


@dataclass(frozen=True)
class _RawState:
    """h_n / c_n in PyTorch's [layers * directions, batch, hidden] layout (LayerLoom's port is batch-first)."""

    node: str
    port: int


_CONST = object()  # a plain value (a size, a shape): read from the recorded runs when used
_FAILED = object()  # a node that could not be mapped (already reported)


@dataclass
class _PendingNode:
    op: str
    params: dict[str, Any]
    inputs: list[_Ref | None]
    fx_name: str
    target: str


class _Mapper:
    def __init__(self, gm: fx.GraphModule, runs: list[dict[fx.Node, Any]], shapes, dtypes):
        self.gm = gm
        self.runs = runs
        self.shapes = shapes
        self.dtypes = dtypes
        self.values: dict[fx.Node, Any] = {}
        self.nodes: dict[str, _PendingNode] = {}
        self.outputs: list[_Ref] = []
        self.problems: list[ImportProblem] = []
        self.module_nodes: dict[str, str] = {}  # module path -> node id (modules that hold weights)
        self.module_calls: dict[str, int] = {}
        self.fx_name: dict[str, str] = {}
        self.target_of: dict[str, str] = {}
        self.merge_uses: dict[str, int] = {}  # Add/Multiply node id -> fx users of its value
        self.no_weights: set[fx.Node] = set()  # attention calls with need_weights=False
        self.variables = variable_names(gm.graph)

    # ---- driving -----------------------------------------------------------------------------------------

    def map_all(self) -> None:
        for n in self.gm.graph.nodes:
            if n.op == "output":
                self._output(n)
                continue
            try:
                self.values[n] = self._map(n)
            except Unsupported as exc:
                self.problems.append(ImportProblem(n.name, _target_text(self.gm, n), str(exc)))
                self.values[n] = _FAILED
        for n in self.gm.graph.nodes:
            if n.op == "placeholder" and not n.users:
                self.problems.append(ImportProblem(n.name, f"forward argument {n.target!r}",
                                                   "is not used, so it cannot become an Input of the graph"))

    def _map(self, n: fx.Node) -> Any:
        if n.op == "placeholder":
            return self._placeholder(n)
        if n.op == "get_attr":
            raise Unsupported(f"reads self.{_user_path(n.target)} directly: a parameter or buffer outside any layer (LayerLoom "
                              "layers own all their weights; wrap it in a layer such as nn.Linear)")
        if n.op == "call_module":
            sub = self.gm.get_submodule(n.target)
            tensor_args = [a for a in n.args if isinstance(a, fx.Node) and isinstance(self.runs[0].get(a), _TensorInfo)]
            op, params = read_module(sub, [self._shape(a) for a in tensor_args])  # Unsupported: the module itself
            if self._any_failed(n):
                return _FAILED
            return self._call_module(n, sub, op, params)
        if n.op in ("call_function", "call_method"):
            if n.op == "call_function" and n.target in REFUSED:
                raise Unsupported(REFUSED[n.target])
            table = FUNCTIONS if n.op == "call_function" else METHODS
            entry = table.get(n.target) if n.op == "call_method" or _hashable(n.target) else None
            if self._any_failed(n):
                if entry is None and _has_tensor(self.runs[0].get(n)):
                    raise Unsupported(f"LayerLoom has no layer for {_target_text(self.gm, n)}")
                return _FAILED
            if not _has_tensor(self.runs[0].get(n)) and not self._has_graph_input(n):
                return _CONST  # shape arithmetic: x.size(0), x.shape[1] * 2, math.prod(...)
            if entry is None:
                raise Unsupported(f"LayerLoom has no layer for {_target_text(self.gm, n)}")
            handler, names, defaults = entry
            kind, _, op = handler.partition(":")
            bound = _bind(n, names, defaults)
            return getattr(self, "_h_" + kind)(n, bound, op)
        raise Unsupported(f"an fx {n.op} node")

    def _any_failed(self, n: fx.Node) -> bool:
        return any(self.values.get(a) is _FAILED for a in n.all_input_nodes)

    def _has_graph_input(self, n: fx.Node) -> bool:
        return any(isinstance(self.values.get(a), _Ref | _TupleOut | _StateTuple | _RawState)
                   for a in n.all_input_nodes)

    # ---- helpers -----------------------------------------------------------------------------------------

    def _add(self, n: fx.Node, op: str, params: dict[str, Any], inputs: list[_Ref | None],
             name: str | None = None) -> str:
        if n.op in ("call_function", "call_method"):
            name = self.variables.get(n) or name
        node_id = suggest_id(name or n.name, set(self.nodes))
        spec = get_spec(op)
        self.nodes[node_id] = _PendingNode(op, tidy_params(spec, params), inputs, n.name, _target_text(self.gm, n))
        self.fx_name[node_id] = n.name
        self.target_of[node_id] = _target_text(self.gm, n)
        return node_id

    def _tensor(self, arg: Any, what: str = "input") -> _Ref:
        value = self.values.get(arg) if isinstance(arg, fx.Node) else None
        if isinstance(value, _Ref):
            return value
        if isinstance(value, _RawState):
            raise Unsupported("uses an RNN hidden state in PyTorch's [layers, batch, hidden] layout; LayerLoom "
                              "keeps the batch first: index it (h_n[-1]) or transpose it (h_n.transpose(0, 1)) first")
        if isinstance(value, _TupleOut | _StateTuple):
            raise Unsupported("uses a layer's whole tuple output; pick one element (out[0]) first")
        if isinstance(arg, fx.Node):
            raise Unsupported(f"its {what} is not a tensor of the graph")
        raise Unsupported(f"its {what} is a constant ({_short(arg)}), not a tensor; LayerLoom has no constant layer")

    def _const(self, arg: Any) -> Any:
        """A plain value; fx nodes are read from the recorded runs and must not depend on the batch size."""
        if isinstance(arg, fx.Node):
            a, b = self.runs[0].get(arg), self.runs[1].get(arg)
            if _has_tensor(a):
                raise Unsupported(f"a parameter is computed from the tensor {arg.name!r}; it must be a constant")
            if a != b:
                raise Unsupported(f"a parameter ({arg.name}) depends on the batch size")
            return a
        if isinstance(arg, tuple | list):
            return type(arg)(self._const(v) for v in arg)
        return arg

    def _shape(self, n: fx.Node, run: int = 0) -> tuple[int, ...]:
        info = self.runs[run].get(n)
        if not isinstance(info, _TensorInfo):
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

    def _result(self, n: fx.Node, ref: _Ref) -> _Ref:
        self._batch_first(n)
        return ref

    # ---- node kinds --------------------------------------------------------------------------------------

    def _placeholder(self, n: fx.Node) -> _Ref:
        index = [p for p in self.gm.graph.nodes if p.op == "placeholder"].index(n)
        shape = self._batch_first(n)
        node_id = suggest_id(n.target, set(self.nodes))
        params: dict[str, Any] = {"shape": list(shape)}
        if self.dtypes[index] != "float32":
            params["dtype"] = self.dtypes[index]
        self.nodes[node_id] = _PendingNode("Input", params, [], n.name, f"forward argument {n.target!r}")
        self.fx_name[node_id] = n.name
        self.target_of[node_id] = f"forward argument {n.target!r}"
        return _Ref(node_id)

    def _call_module(self, n: fx.Node, sub: nn.Module, op: str, params: dict[str, Any]) -> Any:
        target = str(n.target)
        calls = self.module_calls.get(target, 0) + 1
        self.module_calls[target] = calls
        has_weights = any(True for _ in itertools.chain(sub.parameters(), sub.buffers()))
        if calls > 1 and has_weights:
            raise Unsupported(f"self.{_user_path(target)} is called {calls} times: LayerLoom layers cannot share weights; "
                              "use one layer per call")
        inputs = self._module_inputs(n, op)
        node_id = self._add(n, op, params, inputs)
        if has_weights:
            self.module_nodes[target] = node_id
        if op in TUPLE_OPS:
            return _TupleOut(node_id, op)
        return self._result(n, _Ref(node_id))

    def _module_inputs(self, n: fx.Node, op: str) -> list[_Ref | None]:
        args, kwargs = list(n.args), dict(n.kwargs)
        if op == "MultiheadAttention":
            names = ("query", "key", "value", "key_padding_mask", "need_weights", "attn_mask",
                     "average_attn_weights", "is_causal")
            bound = dict(zip(names, args, strict=False))
            bound.update(kwargs)
            for key, allowed in (("key_padding_mask", None), ("attn_mask", None), ("is_causal", False),
                                 ("average_attn_weights", True)):
                if key in bound and self._const(bound[key]) is not allowed:
                    raise Unsupported(f"calls the attention layer with {key}={_short(bound[key])}; LayerLoom's "
                                      "MultiheadAttention takes query, key and value only")
            if "need_weights" in bound and not self._const(bound["need_weights"]):
                self.no_weights.add(n)
            q = self._tensor(bound.get("query"), "query")
            k = self._tensor(bound.get("key"), "key")
            v = self._tensor(bound.get("value"), "value")
            if k == q and v == q:
                return [q, None, None]
            return [q, k, None if v == q else v]
        if op in ("TransformerEncoderLayer", "TransformerDecoderLayer"):
            count = 1 if op == "TransformerEncoderLayer" else 2
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

    def _output(self, n: fx.Node) -> None:
        value = n.args[0]
        items = list(value) if isinstance(value, tuple | list) else [value]
        if isinstance(value, dict):
            self.problems.append(ImportProblem(n.name, "return", "forward returns a dict; return a tensor or a "
                                                                "tuple of tensors"))
            return
        for item in items:
            if isinstance(item, fx.Node) and self.values.get(item) is _FAILED:
                continue
            try:
                self.outputs.append(self._tensor(item, "returned value"))
            except Unsupported as exc:
                self.problems.append(ImportProblem(n.name, "return", str(exc)))

    # ---- call handlers (named after op_mapping's handler kinds) -------------------------------------------

    def _h_activation(self, n, b, op):
        x = self._tensor(b["input"])
        params = {}
        if op == "ELU":
            params["alpha"] = float(self._const(b["alpha"]))
        elif op == "LeakyReLU":
            params["negative_slope"] = float(self._const(b["negative_slope"]))
        elif op == "GELU":
            params["approximate"] = self._const(b["approximate"])
        return self._result(n, _Ref(self._add(n, op, params, [x])))

    def _h_softmax(self, n, b, op):
        x = self._tensor(b["input"])
        if self._const(b.get("dtype")) is not None:
            raise Unsupported("a dtype argument")
        dim = self._const(b.get("dim"))
        if dim is None:
            dim = 0 if self._rank(b["input"]) in (0, 1, 3) else 1
        return self._result(n, _Ref(self._add(n, op, {"dim": int(dim)}, [x])))

    def _h_dropout(self, n, b, op):
        x = self._tensor(b["input"])
        return self._result(n, _Ref(self._add(n, op, {"p": float(self._const(b["p"]))}, [x])))

    def _h_pool(self, n, b, op):
        x = self._tensor(b["input"])
        if self._const(b.get("return_indices", False)):
            raise Unsupported("return_indices=True (LayerLoom's pooling returns the values only)")
        if self._const(b.get("divisor_override")) is not None:
            raise Unsupported("divisor_override")
        kernel = int_tuple(self._const(b["kernel_size"]))
        stride = self._const(b["stride"])
        stride = None if stride is None or stride == [] or stride == () or int_tuple(stride) == kernel else int_tuple(stride)
        params = {"kernel_size": kernel, "stride": stride, "padding": int_tuple(self._const(b["padding"])),
                  "ceil_mode": bool(self._const(b["ceil_mode"]))}
        if op.startswith("Max"):
            params["dilation"] = int_tuple(self._const(b["dilation"]))
        else:
            params["count_include_pad"] = bool(self._const(b["count_include_pad"]))
        return self._result(n, _Ref(self._add(n, op, params, [x])))

    def _h_adaptive(self, n, b, op):
        x = self._tensor(b["input"])
        if self._const(b.get("return_indices", False)):
            raise Unsupported("return_indices=True")
        size = self._const(b["output_size"])
        if size is None or (isinstance(size, tuple | list) and any(s is None for s in size)):
            raise Unsupported("an output_size of None (keep that dim) has no LayerLoom form")
        return self._result(n, _Ref(self._add(n, op, {"output_size": int_tuple(size)}, [x])))

    def _h_interpolate(self, n, b, op):
        x = self._tensor(b["input"])
        if self._const(b["antialias"]) or self._const(b["recompute_scale_factor"]):
            raise Unsupported("antialias / recompute_scale_factor")
        mode = self._const(b["mode"])
        if mode not in get_spec("Upsample").param("mode").choices:
            raise Unsupported(f"interpolation mode {mode!r}")
        scale = self._const(b["scale_factor"])
        if isinstance(scale, tuple | list):
            if len(set(scale)) != 1:
                raise Unsupported("a different scale_factor per dim")
            scale = scale[0]
        size = self._const(b["size"])
        params = {"size": None if size is None else int_tuple(size),
                  "scale_factor": None if scale is None else float(scale), "mode": mode,
                  "align_corners": bool(self._const(b["align_corners"]))}
        return self._result(n, _Ref(self._add(n, "Upsample", params, [x])))

    def _h_flatten(self, n, b, op):
        x = self._tensor(b["input"])
        rank = self._rank(b["input"])
        start, end = int(self._const(b["start_dim"])), int(self._const(b["end_dim"]))
        if rank and start % rank == 0:
            raise Unsupported("flattens the batch dimension into the features; use torch.flatten(x, 1)")
        return self._result(n, _Ref(self._add(n, "Flatten", {"start_dim": start, "end_dim": end}, [x])))

    def _h_reshape(self, n, b, op):
        x = self._tensor(b["input"])
        try:
            shape = self._batch_first(n)
        except Unsupported:
            raise Unsupported(f"reshapes {list(self._shape(b['input']))} to {list(self._shape(n))} at batch "
                              f"{BATCHES[0]}, which does not keep the batch as the first dim (write "
                              "x.view(x.size(0), ...) or x.reshape(-1, ...))") from None
        return _Ref(self._add(n, "Reshape", {"shape": list(shape)}, [x]))

    def _h_alias(self, n, b, op):
        x = self._tensor(b["input"])
        before, after = self.runs[0].get(b["input"]), self.runs[0].get(n)
        if not isinstance(after, _TensorInfo) or (before.shape, before.dtype) != (after.shape, after.dtype):
            raise Unsupported("changes the tensor's dtype or shape (LayerLoom keeps float32 features and int64 ids)")
        return x

    def _h_cat(self, n, b, op):
        tensors = b["tensors"]
        if not isinstance(tensors, tuple | list) or len(tensors) < 2:
            if isinstance(tensors, tuple | list) and len(tensors) == 1:
                return self._tensor(tensors[0])
            raise Unsupported("concatenates something other than a list of tensors")
        refs = [self._tensor(t) for t in tensors]
        dim = int(self._const(b.get("dim", b.get("axis", 0))))
        if dim % (self._rank(tensors[0]) or 1) == 0:
            raise Unsupported("joins along the batch dimension (dim 0); LayerLoom joins samples' features (dim=1)")
        return self._result(n, _Ref(self._add(n, "Concat", {"dim": dim}, refs)))

    def _h_merge(self, n, b, op):
        if "alpha" in b and self._const(b["alpha"]) != 1:
            raise Unsupported("torch.add with alpha")
        word = "adds" if op == "Add" else "multiplies"
        for key in ("input", "other"):
            if not isinstance(b[key], fx.Node) or not isinstance(self.values.get(b[key]), _Ref):
                if not isinstance(b[key], fx.Node):
                    raise Unsupported(f"{word} a constant ({_short(b[key])}); LayerLoom has no constant layer")
        a, c = self._tensor(b["input"]), self._tensor(b["other"])
        sa, sc = self._shape(b["input"]), self._shape(b["other"])
        if sa != sc:
            raise Unsupported(f"{word} tensors of shapes {list(sa)} and {list(sc)}; LayerLoom's {op} needs equal "
                              "shapes (no broadcasting)")
        first = self.nodes.get(a.node)
        if (first is not None and first.op == op and a.port == 0 and len(b["input"].users) == 1
                and self.merge_uses.get(a.node) == 1):
            first.inputs.append(c)  # a + b + c: one Add with three inputs, evaluated left to right
            self.merge_uses[a.node] = len(n.users)
            return self._result(n, a)
        node_id = self._add(n, op, {}, [a, c])
        self.merge_uses[node_id] = len(n.users)
        return self._result(n, _Ref(node_id))

    def _h_mean(self, n, b, op):
        x = self._tensor(b["input"])
        dim = self._const(b["dim"])
        if dim is None:
            raise Unsupported("averages every dim, the batch too; give the dims, e.g. x.mean(dim=1)")
        if self._const(b["dtype"]) is not None:
            raise Unsupported("a dtype argument")
        dims = [int(d) for d in dim] if isinstance(dim, tuple | list) else [int(dim)]
        rank = self._rank(b["input"])
        if any(d % rank == 0 for d in dims):
            raise Unsupported("averages over the batch dimension")
        value = dims[0] if len(dims) == 1 and not isinstance(dim, tuple | list) else dims
        return self._result(n, _Ref(self._add(n, "Mean", {"dim": value, "keepdim": bool(self._const(b["keepdim"]))}, [x])))

    def _dims_arg(self, b) -> list[int]:
        if "*" in b:
            rest = list(b["*"])
            if len(rest) == 1 and isinstance(rest[0], tuple | list):
                rest = list(rest[0])
            return [int(d) for d in self._const(rest)]
        return [int(d) for d in self._const(b["dims"])]

    def _h_permute(self, n, b, op):
        value = self.values.get(b["input"]) if isinstance(b["input"], fx.Node) else None
        dims = self._dims_arg(b)
        if isinstance(value, _RawState):
            if [d % 3 for d in dims] == [1, 0, 2]:
                return _Ref(value.node, value.port)
            raise Unsupported("permutes an RNN hidden state other than to batch-first (1, 0, 2)")
        x = self._tensor(b["input"])
        rank = self._rank(b["input"])
        if len(dims) != rank or dims[0] % rank != 0:
            raise Unsupported("moves the batch dimension (LayerLoom keeps it first: dims must start with 0)")
        return self._result(n, _Ref(self._add(n, "Permute", {"dims": dims}, [x])))

    def _h_transpose(self, n, b, op):
        value = self.values.get(b["input"]) if isinstance(b["input"], fx.Node) else None
        d0, d1 = int(self._const(b["dim0"])), int(self._const(b["dim1"]))
        if isinstance(value, _RawState):
            if {d0 % 3, d1 % 3} == {0, 1}:
                return _Ref(value.node, value.port)
            raise Unsupported("transposes an RNN hidden state other than to batch-first (0, 1)")
        x = self._tensor(b["input"])
        rank = self._rank(b["input"])
        if d0 % rank == 0 or d1 % rank == 0:
            raise Unsupported("swaps the batch dimension (LayerLoom keeps it first)")
        return self._result(n, _Ref(self._add(n, "Transpose", {"dim0": d0, "dim1": d1}, [x])))

    def _h_select(self, n, b, op):
        x = self._tensor(b["input"])
        dim, index = int(self._const(b["dim"])), int(self._const(b["index"]))
        if dim % self._rank(b["input"]) == 0:
            raise Unsupported("picks samples out of the batch (dim 0)")
        return self._result(n, _Ref(self._add(n, "Select", {"dim": dim, "index": index}, [x])))

    def _h_getitem(self, n, b, op):
        source, index = b["input"], b["index"]
        value = self.values.get(source) if isinstance(source, fx.Node) else None
        if isinstance(value, _TupleOut | _StateTuple | _RawState) or isinstance(value, _Ref):
            index = self._const(index)
        if isinstance(value, _TupleOut):
            i = _index(index, 2)
            if i == 0:
                return _Ref(value.node, 0)
            if value.op == "MultiheadAttention":
                if source in self.no_weights:
                    raise Unsupported("uses the attention weights of a call with need_weights=False")
                return _Ref(value.node, 1)
            return _StateTuple(value.node) if value.op == "LSTM" else _RawState(value.node, 1)
        if isinstance(value, _StateTuple):
            return _RawState(value.node, 1 + _index(index, 2))
        if isinstance(value, _RawState):
            if not isinstance(index, int):
                raise Unsupported("indexes an RNN hidden state with something other than one layer number")
            state = ("h_n", "c_n")[value.port - 1]
            node_id = self._add(n, "Select", {"dim": 1, "index": int(index)}, [_Ref(value.node, value.port)],
                                f"{value.node}_{state}_last" if index == -1 else f"{value.node}_{state}_{index}")
            return self._result(n, _Ref(node_id))
        x = self._tensor(source)
        rank = self._rank(source)
        items = list(index) if isinstance(index, tuple) else [index]
        ints = [(i, v) for i, v in enumerate(items) if isinstance(v, int) and not isinstance(v, bool)]
        full = all(isinstance(v, slice) and v == slice(None) for i, v in enumerate(items) if (i, v) not in ints)
        if not full or len(ints) > 1 or len(items) > rank:
            raise Unsupported(f"indexes with {_short(index)}; LayerLoom can pick one position along one dim "
                              "(x[:, -1] is a Select) but has no slicing layer")
        if not ints:
            return x
        dim, position = ints[0]
        if dim == 0:
            raise Unsupported("picks samples out of the batch (x[i]); index a later dim, e.g. x[:, i]")
        name = f"{x.node}_last" if position == -1 else f"{x.node}_select"
        return self._result(n, _Ref(self._add(n, "Select", {"dim": dim, "index": position}, [x], name)))

    def _h_getattr(self, n, b, op):
        raise Unsupported(f"reads the attribute {self._const(b['name'])!r} of a tensor")

    def _h_size(self, n, b, op):
        return _CONST

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
        state = {}
        for path, node_id in self.module_nodes.items():
            for key, value in self.gm.get_submodule(path).state_dict().items():
                state[f"{node_id}.{key}"] = value.detach().clone()
        return state


# ---- checking the import -------------------------------------------------------------------------------------


def _compare(module: nn.Module, project: Project, result, state, source: str) -> float:
    from graph_engine.codegen import compile_project
    from graph_engine.export.weights import WeightsError, load_strict

    compiled = compile_project(project, result)
    built = compiled.create_model()
    try:
        load_strict(built, state, "the module's weights", {n.id: n.op for n in project.graph})
    except WeightsError as exc:
        raise ImportReport(source, [ImportProblem(None, "weights", str(exc))]) from None
    built.eval()
    module.eval()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        inputs = tuple(compiled.example_inputs(CHECK_BATCH))
    try:
        with torch.no_grad():
            want = module(*inputs)
            got = built(*inputs)
    except Exception as exc:
        raise ImportReport(source, [ImportProblem(None, "forward", f"running the imported graph failed: "
                                                                  f"{_exc_text(exc)}")]) from None
    want = list(want) if isinstance(want, tuple | list) else [want]
    got = list(got) if isinstance(got, tuple | list) else [got]
    worst = 0.0
    for a, c in zip(want, got, strict=True):
        if not isinstance(a, torch.Tensor) or a.shape != c.shape:
            raise ImportReport(source, [ImportProblem(None, "outputs", "the imported graph's outputs have other "
                                                                      "shapes than the module's")])
        if a.numel():
            worst = max(worst, float((a.double() - c.double()).abs().max()))
        if not torch.allclose(a.double(), c.double(), rtol=RTOL, atol=ATOL):
            raise ImportReport(source, [ImportProblem(None, "outputs", f"the imported graph does not reproduce the "
                                                                      f"module's outputs (max abs diff {worst:.3g})")],
                               hint="this is a LayerLoom bug; please report it with the module") from None
    return worst


# ---- saving ----------------------------------------------------------------------------------------------------


def weights_path_for(project_path: str | Path) -> Path:
    """Where an imported project's weights go: beside it, named after it (net.layerloom.json -> net.safetensors)."""
    path = Path(project_path)
    stem = path.name
    for suffix in PROJECT_SUFFIXES:
        if stem.endswith(suffix) and len(stem) > len(suffix):
            stem = stem[: -len(suffix)]
            break
    else:
        stem = path.stem
    return path.with_name(stem + ".safetensors")


def save_import(result: ImportResult, project_path: str | Path) -> tuple[Path, Path]:
    """Write the project and, beside it, its weights (safetensors). Returns both paths."""
    from graph_engine.export.weights import save_weights
    from graph_engine.project_io import save_project

    project_path = Path(project_path)
    weights = weights_path_for(project_path)
    save_weights(result.state, weights, {"format": "pt", "layerloom": f"imported {result.project.name}"})
    save_project(result.project, project_path)
    return project_path, weights


# ---- helpers -------------------------------------------------------------------------------------------------


def _bind(n: fx.Node, names: tuple[str, ...], defaults: dict[str, Any]) -> dict[str, Any]:
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


def _index(index: Any, length: int) -> int:
    if not isinstance(index, int) or isinstance(index, bool) or not -length <= index < length:
        raise Unsupported(f"indexes a layer's output tuple with {_short(index)}")
    return index % length


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _target_text(gm: fx.GraphModule, n: fx.Node) -> str:
    if n.op == "call_module":
        try:
            cls = type(gm.get_submodule(n.target))
        except AttributeError:
            return f"self.{_user_path(n.target)}"
        prefix = "nn." if cls.__module__.startswith("torch.nn") else ""
        return f"self.{_user_path(n.target)}: {prefix}{cls.__name__}"
    if n.op == "call_method":
        return f"Tensor.{n.target}"
    if n.op == "get_attr":
        return f"self.{_user_path(n.target)}"
    if n.op == "placeholder":
        return f"forward argument {n.target!r}"
    return describe_target(n.target)


def _exc_text(exc: BaseException) -> str:
    text = str(exc).strip()
    first = text.splitlines()[0][:300] if text else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def _user_line(exc: BaseException, path: Path) -> str:
    """' (net.py, line 12: `if x.sum() > 0:`)' for the innermost frame in the user's file, if any."""
    try:
        target = path.resolve()
    except OSError:
        return ""
    found = None
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        try:
            if Path(frame.f_code.co_filename).resolve() == target:
                found = (frame.f_code.co_filename, lineno)
        except OSError:
            continue
    if found is None:
        return ""
    line = linecache.getline(found[0], found[1]).strip()
    return f" ({path.name}, line {found[1]}" + (f": `{line[:80]}`)" if line else ")")


def _trace_problem(exc: BaseException, module: nn.Module, source_file: Path | None) -> ImportProblem:
    """Where tracing stopped: the innermost frame outside torch (the user's forward), with its line."""
    torch_dir = os.path.dirname(torch.__file__)
    here = os.path.dirname(os.path.dirname(__file__))
    where = None
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        filename = frame.f_code.co_filename
        if filename.startswith(torch_dir) or filename.startswith(here) or filename.startswith("<"):
            continue
        where = (filename, lineno, frame.f_code.co_name)
    cls = type(module).__name__
    if where is None:
        target = f"{cls}.forward"
    else:
        line = linecache.getline(where[0], where[1]).strip()
        target = f"{Path(where[0]).name}, line {where[1]} in {where[2]}" + (f": `{line[:80]}`" if line else "")
    reason = _exc_text(exc)
    if "control flow" in str(exc) or "iterate" in str(exc) or "bool" in str(exc):
        reason += " (Python control flow that depends on tensor values cannot become a fixed graph)"
    return ImportProblem(None, target, f"cannot be traced with torch.fx: {reason}")


__all__ = ["ImportProblem", "ImportReport", "ImportResult", "forget_module", "import_file", "import_module",
           "load_module_object", "save_import", "weights_path_for"]
