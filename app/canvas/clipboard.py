"""Copy and paste of layers: mime type `application/x-layerloom-nodes`, JSON `{"nodes": [...], "edges": [...]}`
in the project file's node/edge format, so a selection pasted into another window (or a text editor) is
exactly what a project file would hold. The same JSON also goes out as text/plain.

Reading is as strict as opening a file (`project_io.parse_graph`): malformed clipboard content is refused
with a reason, never half-pasted.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from PySide6.QtCore import QMimeData
from PySide6.QtGui import QGuiApplication

from graph_engine.errors import ProjectError
from graph_engine.graph import Edge, Graph, Node
from graph_engine.project_io import edge_to_dict, node_to_dict, parse_graph

NODES_MIME = "application/x-layerloom-nodes"
MAX_CLIPBOARD_BYTES = 16 * 1024 * 1024


class ClipboardError(Exception):
    """The clipboard holds something that is not LayerLoom layers; `str()` says why."""


def nodes_to_json(nodes: Iterable[Node], edges: Iterable[Edge]) -> str:
    """The clipboard JSON for these nodes and edges (the project file's format)."""
    return json.dumps({"nodes": [node_to_dict(n) for n in nodes], "edges": [edge_to_dict(e) for e in edges]},
                      ensure_ascii=False)


def nodes_from_json(text: str | bytes) -> tuple[list[Node], list[Edge]]:
    """Parse clipboard JSON into nodes and edges (raises ClipboardError with the reason)."""
    if len(text) > MAX_CLIPBOARD_BYTES:
        raise ClipboardError("the clipboard holds too much to paste")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise ClipboardError("the clipboard does not hold LayerLoom layers") from None
    if not isinstance(data, dict) or not isinstance(data.get("nodes"), list):
        raise ClipboardError("the clipboard does not hold LayerLoom layers")
    try:
        graph = parse_graph({"nodes": data["nodes"], "edges": data.get("edges", [])})
    except ProjectError as exc:
        raise ClipboardError(f"cannot paste: {exc}") from None
    return [n for n in graph], list(graph.edges)


def selection_mime(graph: Graph, node_ids: Iterable[str]) -> QMimeData | None:
    """Mime data for the given layers and the edges among them (None when there is nothing to copy)."""
    nodes, edges = graph.subgraph(node_ids)
    if not nodes:
        return None
    text = nodes_to_json(nodes, edges)
    mime = QMimeData()
    mime.setData(NODES_MIME, text.encode("utf-8"))
    mime.setText(text)
    return mime


def _looks_like_nodes(text: str) -> bool:
    text = text.strip()
    return text.startswith("{") and '"nodes"' in text


def mime_has_nodes(mime: QMimeData | None) -> bool:
    """Whether `mime` holds layers Paste could take: our mime type, or text shaped like its JSON. Cheap (no
    parsing), for enabling Paste each time the clipboard changes; pasting still parses strictly."""
    if mime is None:
        return False
    return mime.hasFormat(NODES_MIME) or (mime.hasText() and _looks_like_nodes(mime.text()))


def nodes_from_mime(mime: QMimeData | None) -> tuple[list[Node], list[Edge]] | None:
    """Layers held by `mime`: our own mime type, or text/plain holding the same JSON. None when it holds
    neither; ClipboardError when it claims to but is malformed."""
    if mime is None:
        return None
    if mime.hasFormat(NODES_MIME):
        return nodes_from_json(bytes(mime.data(NODES_MIME).data()))
    if mime.hasText():
        text = mime.text().strip()
        if _looks_like_nodes(text):
            try:
                return nodes_from_json(text)
            except ClipboardError:
                return None  # ordinary text that happens to look like JSON: not ours to complain about
    return None


def copy_to_clipboard(graph: Graph, node_ids: Iterable[str]) -> int:
    """Put the layers on the system clipboard; returns how many were copied."""
    ids = list(node_ids)
    mime = selection_mime(graph, ids)
    if mime is None:
        return 0
    QGuiApplication.clipboard().setMimeData(mime)
    return len([i for i in ids if i in graph])


def clipboard_has_nodes() -> bool:
    return mime_has_nodes(QGuiApplication.clipboard().mimeData())


def clipboard_nodes() -> tuple[list[Node], list[Edge]] | None:
    """The layers on the system clipboard (see `nodes_from_mime`)."""
    return nodes_from_mime(QGuiApplication.clipboard().mimeData())
