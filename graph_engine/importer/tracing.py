"""Step 1: tracing the module with torch.fx (the module hangs one level down, under ROOT), and naming
what the trace found: variables, targets, and where tracing stopped."""

from __future__ import annotations

import collections
import inspect
import linecache
import os
import re
import traceback
from pathlib import Path
from typing import Any

import torch
from torch import fx, nn

from graph_engine.importer.op_mapping import describe_target, known_op
from graph_engine.importer.report import ImportProblem, exc_text

ROOT = "m"  # the traced module hangs under this name (see trace_module)


def defaulted_arguments(module: nn.Module, given: int) -> dict[str, Any]:
    """forward() arguments after the `given` inputs that have defaults (`mask=None`): traced with their
    defaults, so `forward(self, x, mask=None)` imports with one input shape."""

    try:
        params = list(inspect.signature(module.forward).parameters.values())
    except (TypeError, ValueError):
        return {}
    plain = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    extra = plain[given:]
    if not extra or any(p.default is inspect.Parameter.empty for p in extra):
        return {}
    return {p.name: p.default for p in extra}


class _Tracer(fx.Tracer):
    """torch.nn layers are leaves (fx's rule), and so are subclasses of catalog layers that keep the layer's
    forward (a user's `class MyConv(nn.Conv2d): pass` is a Conv2d). Buffers read in forward are traced as
    values (get_attr nodes), so `self.pe[:, :x.size(1)]` slices by the traced size instead of failing."""

    proxy_buffer_attributes = True

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return known_op(m) is not None or super().is_leaf_module(m, module_qualified_name)


def trace_module(module: nn.Module, concrete: dict[str, Any] | None = None) -> fx.GraphModule:
    """symbolic_trace, with the module one level down (`m.conv1`): a layer may be called `code` or `graph`,
    which are GraphModule's own attributes at the top level. Arguments in `concrete` are fixed to their values
    and their placeholders (and fx's checks of them) removed."""
    tracer = _Tracer()
    tracer.record_stack_traces = True  # to name nodes after the variables they are assigned to
    graph = tracer.trace(module, concrete_args=concrete or None)
    if concrete:
        _drop_specialised_placeholders(graph, len([n for n in graph.nodes if n.op == "placeholder"]) - len(concrete))
    _fold_causal_masks(graph)
    for node in graph.nodes:
        if node.op in ("call_module", "get_attr"):
            node.target = f"{ROOT}.{node.target}"
    root = nn.Module()
    root.add_module(ROOT, module)
    return fx.GraphModule(root, graph, class_name=type(module).__name__)


# (mask keyword, flag keyword) of the attention and transformer layers' causal calls, as the catalog emits them
CAUSAL_KEYWORDS = (("attn_mask", "is_causal"), ("src_mask", "is_causal"), ("mask", "is_causal"),
                   ("tgt_mask", "tgt_is_causal"))


def _fold_causal_masks(graph: fx.Graph) -> None:
    """A layer called with a mask and `is_causal=True` (torch then takes the mask to be the causal one, as
    `nn.Transformer.generate_square_subsequent_mask` makes it) is that layer with `causal` on: the call loses
    both keywords, the node is marked (`meta["causal"]`) and the mask's own nodes (torch.full, torch.triu),
    used by nothing else, are removed."""
    for node in list(graph.nodes):
        if node.op != "call_module":
            continue
        for mask_key, flag_key in CAUSAL_KEYWORDS:
            if node.kwargs.get(flag_key) is True and isinstance(node.kwargs.get(mask_key), fx.Node):
                mask = node.kwargs[mask_key]
                node.kwargs = {k: v for k, v in node.kwargs.items() if k not in (mask_key, flag_key)}
                node.meta["causal"] = True
                _erase_unused(graph, mask)


def _erase_unused(graph: fx.Graph, node: fx.Node) -> None:
    """Remove `node` and then whatever fed only it (never a placeholder)."""
    stack = [node]
    while stack:
        n = stack.pop()
        if n.users or n.op in ("placeholder", "output"):
            continue
        feeds = [a for a in n.all_input_nodes]
        graph.erase_node(n)
        stack.extend(feeds)


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


def user_path(target: Any) -> str:
    """A module or attribute path as the user wrote it (without the ROOT prefix)."""
    return str(target).removeprefix(ROOT + ".")


def target_text(gm: fx.GraphModule, n: fx.Node) -> str:
    if n.op == "call_module":
        try:
            cls = type(gm.get_submodule(n.target))
        except AttributeError:
            return f"self.{user_path(n.target)}"
        prefix = "nn." if cls.__module__.startswith("torch.nn") else ""
        return f"self.{user_path(n.target)}: {prefix}{cls.__name__}"
    if n.op == "call_method":
        return f"Tensor.{n.target}"
    if n.op == "get_attr":
        return f"self.{user_path(n.target)}"
    if n.op == "placeholder":
        return f"forward argument {n.target!r}"
    return describe_target(n.target)



def trace_problem(exc: BaseException, module: nn.Module, source_file: Path | None) -> ImportProblem:
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
    reason = exc_text(exc)
    if "control flow" in str(exc) or "iterate" in str(exc) or "bool" in str(exc):
        reason += " (Python control flow that depends on tensor values cannot become a fixed graph)"
    return ImportProblem(None, target, f"cannot be traced with torch.fx: {reason}")
