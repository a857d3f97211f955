"""Gestures as objects (orange-canvas-core's `NewLinkAction`): the scene hands the mouse to one of these while
it runs, and the gesture ends by calling one Document method or by refusing with a reason.

NewLinkAction: a drag from an output port (or backwards from an input port). At drag start every candidate
port is judged with `Document.connection_problem`: valid ones are highlighted, invalid ones dimmed and keep
their reason. Ports nearest the press are judged first, synchronously (the nearest SYNC_PORTS at once, so a
graph of ordinary size is judged in full before the first mouse move however busy the machine is); on a very
large graph the rest are judged in slices of a few milliseconds on idle time, so the drag starts at once.
Dropping on a valid port connects; on an invalid one refuses with the reason (a `message`, which the status
bar shows) and adds nothing; on a node's body picks the first valid port of that node; on empty canvas asks
for the quick-add popup wired to the dragged port. The reason shown as a tooltip while the drag hovers an invalid port goes
away when the drag ends or is cancelled (a tooltip left at the drop point floated over the canvas until the
mouse happened to move far enough).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QPoint, QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QPen
from PySide6.QtWidgets import QGraphicsPathItem, QToolTip

from app.canvas.edge_item import bezier_path
from app.canvas.node_item import NodeItem
from app.canvas.port_item import PortItem, PortState
from graph_engine.graph import Edge

if TYPE_CHECKING:
    from app.canvas.scene import CanvasScene

SLICE_SECONDS = 0.008
# At drag start at least this many of the nearest ports are judged before the time slice counts, so on any
# graph of ordinary size every port is judged at once however busy the machine is (the time slices only
# matter for very large graphs).
SYNC_PORTS = 64
SNAP_PIXELS = 16.0  # a drop this close to a port (in screen pixels) lands on it
_PENDING = object()


class NewLinkAction(QObject):
    def __init__(self, scene: CanvasScene, port: PortItem, view_scale: float = 1.0):
        super().__init__(scene)
        self.scene = scene
        self.document = scene.document
        self.port = port
        self.from_output = port.is_output
        self.view_scale = max(view_scale, 1e-3)
        self.finished = False
        self._verdicts: dict[PortItem, object] = {}
        self._pending: list[PortItem] = []
        self._touched: list[PortItem] = []
        self._tip_port: PortItem | None = None
        self._tip_shown = False  # a reason is showing as a tooltip
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._judge_some)
        pen = QPen(scene.colors.selection, 2.0, Qt.PenStyle.DashLine)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        self.rubber = QGraphicsPathItem()
        self.rubber.setPen(pen)
        self.rubber.setZValue(10.0)
        scene.addItem(self.rubber)
        self._start()

    # ---- judging candidates ------------------------------------------------------------------------------

    def edge_to(self, target: PortItem) -> Edge:
        """The edge a drop on `target` would add."""
        if self.from_output:
            return Edge(self.port.node_id, target.node_id, self.port.index, target.index)
        return Edge(target.node_id, self.port.node_id, target.index, self.port.index)

    def _start(self) -> None:
        origin = self.port.node_item
        start = self.start_point()
        self.port.set_state(PortState.SOURCE)
        self._touched.append(self.port)
        for port in origin.inputs + origin.outputs:
            if port is not self.port:
                port.set_state(PortState.INVALID, "a layer cannot feed itself")
                self._touched.append(port)
        candidates: list[tuple[float, PortItem]] = []
        for item in self.scene.item_for_node.values():
            if item is origin:
                continue
            for port in item.inputs if self.from_output else item.outputs:
                d = item.pos() - start
                candidates.append((d.x() * d.x() + d.y() * d.y(), port))
        candidates.sort(key=lambda c: c[0])
        self._pending = [p for _, p in reversed(candidates)]  # nearest last: pop() takes it first
        for port in self._pending:
            self._verdicts[port] = _PENDING
        self._judge_some(at_least=SYNC_PORTS)
        self.rubber.setPath(bezier_path(start, start))

    def _judge(self, port: PortItem) -> str | None:
        verdict = self._verdicts.get(port, _PENDING)
        if verdict is _PENDING:
            verdict = self.document.connection_problem(self.edge_to(port))
            self._verdicts[port] = verdict
            port.set_state(PortState.VALID if verdict is None else PortState.INVALID, verdict)
            self._touched.append(port)
        return verdict  # type: ignore[return-value]

    def _judge_some(self, at_least: int = 0) -> None:
        deadline = time.perf_counter() + SLICE_SECONDS
        judged = 0
        while self._pending and not self.finished:
            port = self._pending.pop()
            if port.scene() is self.scene:
                self._judge(port)
            judged += 1
            if judged >= at_least and time.perf_counter() > deadline:
                break
        if self._pending and not self.finished:
            self._timer.start()

    def problem_for(self, port: PortItem) -> str | None:
        """Why a drop on `port` would be refused (None: it would connect)."""
        if port.node_item is self.port.node_item:
            return "a layer cannot feed itself"
        if port.is_output == self.from_output:
            return "connect an output to an input"
        return self._judge(port)

    # ---- following the mouse -----------------------------------------------------------------------------

    def start_point(self) -> QPointF:
        """The dragged port's centre, in scene coordinates."""
        return self.port.scenePos()

    def target_at(self, scene_pos: QPointF) -> PortItem | None:
        """The port a drop at `scene_pos` lands on: the nearest port of the other direction within reach."""
        reach = max(SNAP_PIXELS / self.view_scale, 10.0)
        area = QRectF(scene_pos.x() - reach, scene_pos.y() - reach, 2 * reach, 2 * reach)
        best, best_d = None, reach * reach
        for item in self.scene.items(area):
            if isinstance(item, PortItem) and item.is_output != self.from_output and item is not self.port:
                d = item.scenePos() - scene_pos
                dist = d.x() * d.x() + d.y() * d.y()
                if dist <= best_d:
                    best, best_d = item, dist
        return best

    def node_at(self, scene_pos: QPointF) -> NodeItem | None:
        """The card under `scene_pos` (a drop on a card picks its first valid port)."""
        for item in self.scene.items(scene_pos):
            if isinstance(item, NodeItem):
                return item
            if isinstance(item, PortItem):
                return item.node_item
        return None

    def move(self, scene_pos: QPointF, screen_pos: QPoint | None = None) -> None:
        """Follow the mouse: the rubber curve snaps onto a valid port; over an invalid one the reason shows
        as a tooltip right away, before the drop."""
        target = self.target_at(scene_pos)
        problem = self.problem_for(target) if target is not None else None
        end = target.scenePos() if target is not None and problem is None else scene_pos
        start = self.start_point()
        self.rubber.setPath(bezier_path(start, end) if self.from_output else bezier_path(end, start))
        if target is not self._tip_port:
            self._tip_port = target
            if problem and screen_pos is not None:
                QToolTip.showText(screen_pos, problem)
                self._tip_shown = True
            elif self._tip_shown:
                QToolTip.hideText()
                self._tip_shown = False

    # ---- ending ------------------------------------------------------------------------------------------

    def finish(self, scene_pos: QPointF) -> None:
        """The mouse was released at `scene_pos`: connect, refuse, or ask for the quick-add popup."""
        if self.finished:
            return
        target = self.target_at(scene_pos)
        node = None if target is not None else self.node_at(scene_pos)
        try:
            if target is not None:
                self._drop_on(target)
            elif node is not None and node is not self.port.node_item:
                self._drop_on_node(node)
            elif node is None:
                wiring = ({"connect_from": (self.port.node_id, self.port.index)} if self.from_output
                          else {"connect_to": (self.port.node_id, self.port.index)})
                self.cleanup()
                self.scene.quick_add_requested.emit(scene_pos, wiring)
        finally:
            self.cleanup()

    def _drop_on(self, target: PortItem) -> None:
        problem = self.problem_for(target)
        edge = self.edge_to(target)
        if problem is not None:
            self._refuse(edge, problem)
            return
        self.scene.connect_edge(edge)

    def _drop_on_node(self, node: NodeItem) -> None:
        ports = node.inputs if self.from_output else node.outputs
        if not ports:
            what = "inputs" if self.from_output else "outputs"
            self._refuse(None, f"{node.node_id} has no {what}", node.node_id)
            return
        valid = [p for p in ports if self.problem_for(p) is None]
        free = [p for p in valid if not p.connected]
        if valid:
            self.scene.connect_edge(self.edge_to((free or valid)[0]))
        else:
            self._refuse(self.edge_to(ports[0]), self.problem_for(ports[0]) or "")

    def _refuse(self, edge: Edge | None, problem: str, node_id: str = "") -> None:
        where = f"{edge.src} → {edge.dst}" if edge is not None else node_id
        self.scene.message.emit(f"Cannot connect {where}: {problem}")

    def cancel(self) -> None:
        """Abandon the drag (Escape, another button, the source node deleted)."""
        self.cleanup()

    def cleanup(self) -> None:
        """Restore every port it highlighted and remove the rubber curve (idempotent)."""
        if self.finished:
            return
        self.finished = True
        self._timer.stop()
        if self._tip_shown:
            QToolTip.hideText()
            self._tip_shown = False
        for port in self._touched:
            if port.scene() is not None:
                port.set_state(PortState.NORMAL)
        self._touched.clear()
        self._pending.clear()
        if self.rubber.scene() is not None:
            self.scene.removeItem(self.rubber)
        if self.scene.link_action is self:
            self.scene.link_action = None
        self.deleteLater()
