"""The closed layer catalog: every op LayerLoom knows, one module per family, registered at import.

An op name from a project file is only ever looked up in `CATALOG`; it is never imported or resolved with
getattr, so a file cannot reach arbitrary code.
"""

from __future__ import annotations

import difflib

from graph_engine.catalog import (
    activation,
    attention,
    blocks,
    conv,
    dropout,
    embedding,
    io,
    linear,
    merge,
    normalization,
    padding,
    pooling,
    rearrange,
    recurrent,
    reshape,
    tensor,
)
from graph_engine.catalog.spec import (
    REQUIRED,
    LayerSpec,
    Param,
    ParamKind,
    Port,
    ShapeError,
    TensorType,
)

# Palette order: the order categories appear in, and within each the order of SPECS in the family module.
FAMILIES = (io, linear, conv, padding, pooling, normalization, activation, dropout, recurrent, attention, embedding,
            tensor, reshape, rearrange, merge, blocks)


def _build() -> dict[str, LayerSpec]:
    catalog: dict[str, LayerSpec] = {}
    for family in FAMILIES:
        for spec in family.SPECS:
            if spec.op in catalog:
                raise RuntimeError(f"op {spec.op} is registered twice")
            catalog[spec.op] = spec
    return catalog


CATALOG: dict[str, LayerSpec] = _build()
CATEGORIES: tuple[str, ...] = tuple(dict.fromkeys(spec.category for spec in CATALOG.values()))


def get_spec(op: str) -> LayerSpec | None:
    return CATALOG.get(op) if isinstance(op, str) else None


def closest_op(op: str) -> str | None:
    """The known op name closest to `op` ("conv2d" -> "Conv2d"), for "did you mean" hints."""
    if not isinstance(op, str):
        return None
    by_lower = {name.lower(): name for name in CATALOG}
    if op.lower() in by_lower:
        return by_lower[op.lower()]
    match = difflib.get_close_matches(op.lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[match[0]] if match else None


def specs_in(category: str) -> list[LayerSpec]:
    return [s for s in CATALOG.values() if s.category == category]


__all__ = [
    "CATALOG",
    "CATEGORIES",
    "REQUIRED",
    "LayerSpec",
    "Param",
    "ParamKind",
    "Port",
    "ShapeError",
    "TensorType",
    "closest_op",
    "get_spec",
    "specs_in",
]
