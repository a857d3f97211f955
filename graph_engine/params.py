"""Checking and resolving a node's params against its spec.

`validate_value` is what the inspector calls before an edit is pushed; `resolve_params` is what validation
calls for every node: it checks names, types, ranges and choices, fills defaults, and reads "auto" params
from the incoming tensors. Nothing here allocates tensors or imports torch.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from graph_engine.catalog.spec import LayerSpec, Param, ParamKind, TensorType

AUTO = "auto"


@dataclass(frozen=True)
class ParamProblem:
    field: str | None  # the param's name, None for the params object itself
    message: str
    hint: str = ""


@dataclass
class Resolution:
    values: dict[str, Any]  # every param of the spec, inferred ones filled when inputs were known
    problems: list[ParamProblem] = field(default_factory=list)
    explicit_inferred: dict[str, Any] = field(default_factory=dict)  # inferred params the file set by hand

    @property
    def ok(self) -> bool:
        return not self.problems


def closest_name(name: str, candidates: Sequence[str]) -> str | None:
    if not isinstance(name, str):
        return None
    lowered = {c.lower(): c for c in candidates}
    if name.lower() in lowered:
        return lowered[name.lower()]
    match = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[match[0]] if match else None


def describe_value(value: Any) -> str:
    """A short, safe rendering of a value from a file for an error message."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _range_text(param: Param) -> str:
    if param.min is not None and param.max is not None:
        return f"between {_fmt(param.min)} and {_fmt(param.max)}"
    if param.min is not None:
        return f"at least {_fmt(param.min)}"
    return f"at most {_fmt(param.max)}"


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


def _check_number(param: Param, value: float) -> str | None:
    if param.min is not None and value < param.min or param.max is not None and value > param.max:
        return f"{param.name} must be {_range_text(param)}, not {describe_value(value)}"
    return None


def validate_value(param: Param, value: Any) -> str | None:
    """Why `value` is not acceptable for `param`, or None when it is. Does not handle "auto"."""
    if value is None:
        return None if param.nullable else f"{param.name} cannot be empty"
    kind = param.kind
    if kind is ParamKind.BOOL:
        return None if isinstance(value, bool) else f"{param.name} must be true or false, not {describe_value(value)}"
    if kind is ParamKind.INT:
        if not _is_int(value):
            return f"{param.name} must be a whole number, not {describe_value(value)}"
        return _check_number(param, value)
    if kind is ParamKind.FLOAT:
        if not (_is_int(value) or isinstance(value, float)):
            return f"{param.name} must be a number, not {describe_value(value)}"
        if not math.isfinite(value):
            return f"{param.name} must be a finite number, not {describe_value(value)}"
        return _check_number(param, value)
    if kind is ParamKind.CHOICE:
        if not isinstance(value, str) or value not in param.choices:
            return f"{param.name} must be one of {', '.join(param.choices)}; not {describe_value(value)}"
        return None
    if kind is ParamKind.INT_TUPLE:
        if _is_int(value):
            return _check_number(param, value)
        if not isinstance(value, list | tuple) or not all(_is_int(v) for v in value):
            count = f"{param.length} " if param.length is not None else ""
            return f"{param.name} must be a whole number or a list of {count}whole numbers"
        if param.length is not None and len(value) != param.length:
            return f"{param.name} must hold {param.length} numbers, not {len(value)}"
        return next((err for v in value if (err := _check_number(param, v))), None)
    if kind is ParamKind.INT_LIST:
        if not isinstance(value, list | tuple) or not all(_is_int(v) for v in value):
            return f"{param.name} must be a list of whole numbers, not {describe_value(value)}"
        if not param.min_len <= len(value) <= param.max_len:
            return f"{param.name} must hold {param.min_len} to {param.max_len} numbers, not {len(value)}"
        return next((err for v in value if (err := _check_number(param, v))), None)
    raise AssertionError(f"unhandled param kind {kind}")


def normalise_value(param: Param, value: Any) -> Any:
    """The canonical in-memory form of a valid value: floats as float, lists as tuples."""
    if value is None:
        return None
    if param.kind is ParamKind.FLOAT:
        return float(value)
    if param.kind in (ParamKind.INT_TUPLE, ParamKind.INT_LIST) and isinstance(value, list | tuple):
        return tuple(value)
    return value


def resolve_params(spec: LayerSpec, raw: Any, inputs: Sequence[TensorType] | None = None) -> Resolution:
    """Check `raw` (the node's params from the file) against `spec` and return every param's value.

    `inputs` are the incoming tensor types; when they are known, "auto" params are read from them and
    explicit values of such params must agree. Problems are collected, never raised.
    """
    problems: list[ParamProblem] = []
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        return Resolution({}, [ParamProblem(None, "params must be an object of name: value pairs")])
    known = spec.param_names
    for name in raw:
        if name not in known:
            problems.append(_unknown_param(spec, name))
    values: dict[str, Any] = {}
    explicit_inferred: dict[str, Any] = {}
    for param in spec.params:
        given = param.name in raw
        value = raw.get(param.name) if given else None
        if param.fixed:
            if given and value != param.default:
                problems.append(ParamProblem(param.name, f"{param.name} must be {describe_value(param.default)} "
                                             "in LayerLoom", "remove it; LayerLoom keeps the batch dimension first"))
            values[param.name] = param.default
            continue
        if param.is_inferred and (not given or value == AUTO):
            values[param.name] = _infer(param, inputs)
            continue
        if not given:
            if param.required:
                problems.append(ParamProblem(param.name, f"{param.name} is required", f"set {param.name}"))
                values[param.name] = None
            else:
                values[param.name] = normalise_value(param, param.default)
            continue
        error = validate_value(param, value)
        if error:
            problems.append(ParamProblem(param.name, error, _hint_for(param)))
            values[param.name] = None if param.required or param.is_inferred else normalise_value(param, param.default)
            continue
        values[param.name] = normalise_value(param, value)
        if param.is_inferred:
            explicit_inferred[param.name] = values[param.name]
    if inputs is not None:
        for name, explicit in explicit_inferred.items():
            param = spec.param(name)
            expected = _infer(param, inputs)
            if param.explicit_ok is not None and _explicit_ok(param, inputs, explicit):
                continue
            if expected is not None and expected != explicit:
                problems.append(ParamProblem(
                    name, f"{name} is {explicit} but the incoming tensor gives {expected}",
                    f'remove {name} (or set it to "auto") so it follows the input'))
                values[name] = expected
    return Resolution(values, problems, explicit_inferred)


def _explicit_ok(param: Param, inputs: Sequence[TensorType], value: Any) -> bool:
    try:
        return bool(param.explicit_ok(inputs, value))
    except (IndexError, ValueError, TypeError):
        return False


def _infer(param: Param, inputs: Sequence[TensorType] | None) -> Any:
    if inputs is None:
        return None
    try:
        return param.inferred(inputs)
    except (IndexError, ValueError, TypeError, ZeroDivisionError):
        return None  # the shape rule reports the real problem with the input


def _unknown_param(spec: LayerSpec, name: Any) -> ParamProblem:
    shown = describe_value(name)
    if not spec.params:
        return ParamProblem(str(name)[:40], f"{spec.op} takes no params, but the file sets {shown}", f"remove {shown}")
    guess = closest_name(name, spec.param_names)
    hint = f"did you mean {guess!r}?" if guess else "known params: " + ", ".join(spec.param_names)
    return ParamProblem(str(name)[:40], f"{spec.op} has no param {shown}", hint)


def _hint_for(param: Param) -> str:
    if param.kind is ParamKind.CHOICE:
        return "choose one of: " + ", ".join(param.choices)
    if param.min is not None or param.max is not None:
        return f"use a value {_range_text(param)}"
    return ""
