"""The canvas: a QGraphicsView/QGraphicsScene projection of the document's graph (see docs/APP_ARCHITECTURE.md).

`CanvasView` is the widget the main window embeds; `CanvasScene` keeps one item per node and edge in step
with the model; gestures live in `interactions`, the type-to-add popup in `quick_add`, copy/paste in
`clipboard`.
"""

from app.canvas.clipboard import NODES_MIME
from app.canvas.edge_item import EdgeItem
from app.canvas.node_item import NodeItem
from app.canvas.port_item import PortItem
from app.canvas.scene import CanvasScene
from app.canvas.view import OP_MIME, CanvasView

__all__ = ["NODES_MIME", "OP_MIME", "CanvasScene", "CanvasView", "EdgeItem", "NodeItem", "PortItem"]
