"""Unique, legal variable names for generated code (after torch.fx's _Namespace.create_name)."""

from __future__ import annotations

import re

from graph_engine.identifiers import RESERVED


class Namespace:
    def __init__(self, taken: set[str] | None = None):
        self._used: set[str] = set(RESERVED) | (taken or set())

    def claim(self, name: str) -> str:
        """Reserve an already-valid, checked name (a node id) exactly as it is."""
        self._used.add(name)
        return name

    def create(self, candidate: str) -> str:
        """A fresh name based on `candidate`, never shadowing a builtin, keyword or a name in use."""
        base = re.sub(r"[^0-9A-Za-z_]", "_", candidate) or "value"
        if base[0].isdigit():
            base = "v_" + base
        name, n = base, 1
        while name in self._used:
            n += 1
            name = f"{base}_{n}"
        self._used.add(name)
        return name
