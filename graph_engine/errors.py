"""Typed errors, raised from one place so the CLI and the app can show them without a traceback.

Every error carries what a person needs to fix it: the node and the field when there is one, and a hint.
`ProjectError` and its subclasses are user errors (a bad file, a bad edit); anything else is a bug.
"""

from __future__ import annotations


class LayerLoomError(Exception):
    """Base of every error LayerLoom raises on purpose."""

    def __init__(self, message: str, *, node_id: str | None = None, field: str | None = None, hint: str = ""):
        super().__init__(message)
        self.message = message
        self.node_id = node_id
        self.field = field
        self.hint = hint

    def __str__(self) -> str:
        where = []
        if self.node_id is not None:
            where.append(f"node {self.node_id!r}")
        if self.field is not None:
            where.append(f"field {self.field!r}")
        text = f"{', '.join(where)}: {self.message}" if where else self.message
        return f"{text} ({self.hint})" if self.hint else text


class ProjectError(LayerLoomError):
    """The project (file or in-memory) is not acceptable as it stands."""


class NotAProjectError(ProjectError):
    """The file cannot be read, is not JSON, or is not a LayerLoom project."""


class NewerFormatError(ProjectError):
    """The file was written by a newer LayerLoom; it is refused and left untouched."""


class GraphEditError(ProjectError):
    """An edit that the graph model refuses (unknown node, duplicate id, invalid connection...)."""


class InvalidIdError(GraphEditError):
    """A node id that cannot be a Python attribute name in generated code."""


class InvalidGraphError(ProjectError):
    """Code cannot be generated or built because validation found errors; `diagnostics` lists them."""

    def __init__(self, message: str, diagnostics=()):
        super().__init__(message)
        self.diagnostics = list(diagnostics)
