"""The side panels around the canvas. Each is a QWidget built from the Document alone (never the canvas);
the main window puts them in docks and wires their signals:

- `PalettePanel.op_requested(op)`: add that layer at the view's centre; `focus_search()` for Ctrl+F.
- `InspectorPanel`: edits the selected layer through Document methods; needs no wiring.
- `DiagnosticsPanel.node_activated(id)`: the layer is already selected; centre the view on it.
- `CodeViewPanel.export_requested()`: ask for a file name and write `code_view.code()`.
- `StatusInfo`: a status-bar widget (parameters, FLOPs, training memory); `refresh()` after the batch size
  changes.
"""

from app.panels.code_view import CodeViewPanel
from app.panels.diagnostics import DiagnosticsPanel, severity_icon
from app.panels.inspector import InspectorPanel
from app.panels.palette import OP_MIME_TYPE, PalettePanel, category_swatch, op_from_mime, op_mime_data
from app.panels.python_highlighter import PythonHighlighter
from app.panels.status_info import StatusInfo, format_bytes, format_count

__all__ = [
    "OP_MIME_TYPE",
    "CodeViewPanel",
    "DiagnosticsPanel",
    "InspectorPanel",
    "PalettePanel",
    "PythonHighlighter",
    "StatusInfo",
    "category_swatch",
    "format_bytes",
    "format_count",
    "op_from_mime",
    "op_mime_data",
    "severity_icon",
]
