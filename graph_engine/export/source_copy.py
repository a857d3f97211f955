"""Copying real functions into a generated script: their source, specialised and with what they call.

    fold(source, {"CLIPPED": False})   # `if CLIPPED: A else: B` becomes B, dedented; comments stay
    collect(["main"], pool)            # main and every pooled function it calls, transitively

The exported train.py is assembled this way from graph_engine.training.recipe (the primitives the engine's
Trainer runs), graph_engine/export/train_script_main.py and train_script_data.py, so no code lives in strings
and a script holds only the branches and functions its project uses.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable, Mapping
from typing import Any


def function_source(fn: Callable[..., Any], name: str | None = None) -> str:
    """The source of a module-level function (with its decorators), renamed to `name` when given."""
    source = textwrap.dedent(inspect.getsource(fn))
    if name is not None and name != fn.__name__:
        source = source.replace(f"def {fn.__name__}(", f"def {name}(", 1)
    return source


def fold(source: str, flags: Mapping[str, bool | str]) -> str:
    """Settle every `if` whose test uses only flags (names, not, and, or): the taken branch replaces the
    statement, dedented. A flag whose value is a string (an expression) is substituted into a test that is
    just the flag or `not` the flag, for what is only known at run time."""
    while True:
        tree = ast.parse(source)
        lines = source.splitlines()
        target, value = _next_settled(tree, lines, flags)
        if target is None:
            return source
        source = "\n".join(_replace(target, value, lines)) + "\n"


def names_used(source: str) -> set[str]:
    """Every name the code reads (functions called, constants, modules)."""
    return {node.id for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Name)}


def collect(roots: list[str], pool: Mapping[str, str]) -> list[str]:
    """The names of `pool` (name -> source) reachable from `roots`, in the pool's order."""
    wanted: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in wanted or name not in pool:
            continue
        wanted.add(name)
        todo.extend(names_used(pool[name]) - wanted)
    return [name for name in pool if name in wanted]


def _elifs(tree: ast.AST, lines: list[str]) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and len(node.orelse) == 1 and isinstance(node.orelse[0], ast.If):
            inner = node.orelse[0]
            if lines[inner.lineno - 1].lstrip().startswith("elif"):
                out.add(id(inner))
    return out


def _next_settled(tree: ast.AST, lines: list[str], flags: Mapping[str, bool | str]) -> tuple[Any, Any]:
    elifs = _elifs(tree, lines)
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and id(node) not in elifs:
            value = _settle(node.test, flags)
            if value is not None:
                return node, value
    return None, None


def _settle(test: ast.expr, flags: Mapping[str, bool | str]) -> bool | str | None:
    """True/False for a test made of flags only; an expression (str) for a run-time flag; None otherwise."""
    if isinstance(test, ast.Name) and isinstance(flags.get(test.id), str):
        return flags[test.id]
    if (isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not) and isinstance(test.operand, ast.Name)
            and isinstance(flags.get(test.operand.id), str)):
        return f"not ({flags[test.operand.id]})"
    names = {n.id for n in ast.walk(test) if isinstance(n, ast.Name)}
    allowed = (ast.Name, ast.Load, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not)
    if not names or not all(isinstance(n, allowed) for n in ast.walk(test)):
        return None
    if any(not isinstance(flags.get(n), bool) for n in names):
        return None
    return bool(eval(compile(ast.Expression(test), "<flags>", "eval"), {"__builtins__": {}}, dict(flags)))  # noqa: S307 - names are booleans


def _replace(node: ast.If, value: bool | str, lines: list[str]) -> list[str]:
    first = lines[node.lineno - 1]
    if isinstance(value, str):
        lines[node.lineno - 1] = first[:node.test.col_offset] + value + first[node.test.end_col_offset:]
        return lines
    keep = node.body if value else node.orelse
    if not value and keep and isinstance(keep[0], ast.If) and lines[keep[0].lineno - 1].lstrip().startswith("elif"):
        elif_line = lines[keep[0].lineno - 1].replace("elif", "if", 1)
        return lines[:node.lineno - 1] + [elif_line] + lines[keep[0].lineno:]
    kept: list[str] = []
    if keep:
        depth = keep[0].col_offset - node.col_offset
        comment = first.find("#", node.test.end_col_offset)
        if value and comment >= 0:  # the if's own comment explains the block it kept
            kept.append(" " * node.col_offset + first[comment:])
        start = min([keep[0].lineno] + [d.lineno for d in getattr(keep[0], "decorator_list", [])])
        for line in lines[start - 1:keep[-1].end_lineno]:
            kept.append(line[depth:] if line[:depth].strip() == "" else line)
    return lines[:node.lineno - 1] + kept + lines[node.end_lineno:]


__all__ = ["collect", "fold", "function_source", "names_used"]
