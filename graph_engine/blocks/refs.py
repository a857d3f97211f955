"""Block param references inside a definition: `"$channels"`, and a little arithmetic over them.

A value (or an element of a list value) that is a string starting with `$` is a reference expression over the
block's params: `"$channels"`, `"$channels * 4"`, `"$width // 2"`, `"$a + $b"`, `"($c + 1) * 2"`, `"-$k"`.
Allowed: whole numbers and decimals, `+ - * // /`, unary minus and parentheses; every name is written `$name`
and must be a param of the block. Nothing else is accepted (no calls, attributes or other names), so an
expression is checked data, never code: it is parsed with `ast`, every node kind is checked, and generated
code gets it back through `ast.unparse` of that checked tree (`channels * 4`).
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MAX_EXPR_LENGTH = 200
_ALLOWED_CHARS = re.compile(r"[$A-Za-z0-9_ +\-*/().]*\Z")
_REF = re.compile(r"\$([A-Za-z][A-Za-z0-9_]*)")
_OPS = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
        ast.FloorDiv: lambda a, b: a // b, ast.Div: lambda a, b: a / b}


class RefError(Exception):
    """A reference expression that cannot be used; the message says why."""


@dataclass(frozen=True)
class Expr:
    """A value in generated code that is an expression over constructor arguments (`channels * 4`)."""

    code: str


def is_ref(value: Any) -> bool:
    """Whether a raw param value holds a reference anywhere (itself or one of its list elements)."""
    if isinstance(value, str):
        return value.startswith("$")
    if isinstance(value, list | tuple):
        return any(is_ref(v) for v in value)
    return False


def parse(text: str) -> ast.expr:
    """The checked syntax tree of one reference expression (names without their `$`)."""
    if len(text) > MAX_EXPR_LENGTH:
        raise RefError(f"a reference expression can be at most {MAX_EXPR_LENGTH} characters long")
    if not _ALLOWED_CHARS.match(text):
        raise RefError(f"{text[:40]!r} may use only $names, numbers, + - * / // and parentheses")
    body = text[1:] if text.startswith("$") and _REF.fullmatch(text) else text
    if body is not text:
        source = body
    else:
        if re.search(r"(?<![$A-Za-z0-9_])[A-Za-z_]", text):
            raise RefError(f"in {text[:40]!r} every name must be written $name")
        source = _REF.sub(r"\1", text)
        if "$" in source:
            raise RefError(f"{text[:40]!r}: $ must be followed by a param name")
    try:
        tree = ast.parse(source, mode="eval").body
    except SyntaxError:
        raise RefError(f"{text[:40]!r} is not a valid expression") from None
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp | ast.UnaryOp | ast.Name | ast.Load) or type(node) in _OPS:
            if isinstance(node, ast.UnaryOp) and not isinstance(node.op, ast.USub):
                raise RefError(f"{text[:40]!r}: only unary minus is allowed")
            continue
        if isinstance(node, ast.USub):
            continue
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            continue
        raise RefError(f"{text[:40]!r} may use only $names, numbers, + - * / // and parentheses")
    return tree


def names(text: str) -> list[str]:
    return [n.id for n in ast.walk(parse(text)) if isinstance(n, ast.Name)]


def evaluate(text: str, values: Mapping[str, Any], known: Any = None) -> Any:
    """The value of `text` given the block param `values`; RefError naming an unknown param or a bad value.
    `known` lists the block's params (for the "unknown param" message), default: the keys of `values`."""
    tree = parse(text)
    known = list(values) if known is None else list(known)
    for name in names(text):
        if name not in known:
            hint = f" (the block's params: {', '.join(known)})" if known else " (the block has no params)"
            raise RefError(f"${name} is not a param of this block{hint}")
    if isinstance(tree, ast.Name):
        return values.get(tree.id)  # a plain reference passes any value through (lists, choices, booleans)
    return _eval(tree, values, text)


def _eval(node: ast.expr, values: Mapping[str, Any], text: str) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        value = values.get(node.id)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise RefError(f"${node.id} is {value!r:.30}, not a number, so {text[:40]!r} cannot be computed")
        return value
    if isinstance(node, ast.UnaryOp):
        return -_eval(node.operand, values, text)
    assert isinstance(node, ast.BinOp)
    left, right = _eval(node.left, values, text), _eval(node.right, values, text)
    if isinstance(node.op, ast.FloorDiv | ast.Div) and right == 0:
        raise RefError(f"{text[:40]!r} divides by zero")
    result = _OPS[type(node.op)](left, right)
    if isinstance(result, float) and not math.isfinite(result) or abs(result) > 1e15:
        raise RefError(f"{text[:40]!r} gives a number out of range")
    return result


def resolve(value: Any, values: Mapping[str, Any], known: Any = None) -> Any:
    """A raw param value with every reference replaced by its value (lists element by element)."""
    if isinstance(value, str) and value.startswith("$"):
        return evaluate(value, values, known)
    if isinstance(value, list | tuple) and is_ref(value):
        return [resolve(v, values, known) for v in value]
    return value


def to_code(value: Any) -> Any:
    """A raw value with each reference turned into an `Expr` for generated code (lists element by element)."""
    if isinstance(value, str) and value.startswith("$"):
        return Expr(ast.unparse(parse(value)))
    if isinstance(value, list | tuple):
        return tuple(to_code(v) for v in value)
    return value
