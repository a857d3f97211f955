"""`RefreshBudget`: the dashboard's panels take turns to redraw, one per tick.

Each panel marks itself dirty when its data changes (panel.py). On its own, every dirty panel redrew within
REFRESH_MS of the change, so during a run all of them (six redraw on every step batch) fired in the same
event-loop pass, and one repaint of them all held the GUI thread, and the interpreter lock the training thread
needs, for 15-30 ms at a time, ~40 plot paints a second (benchmarks/README.md, "GUI training").

Under a dashboard a panel asks this object instead. Every TICK_MS it redraws at most one waiting, visible
panel: the one that has waited longest, the loss plot counted PRIORITY times (it is the curve people watch),
and none sooner than REFRESH_MS after its previous redraw. So the GUI thread never paints more than one plot in
a pass (lateness stays low), and at most 1000 / TICK_MS plots a second whatever the step rate (the plots'
share of the interpreter lock is bounded). A run that ends still shows its final state on every panel: each
ends up waiting once more and gets its turn within a few ticks. Hidden panels are skipped and stay dirty;
they redraw when shown (panel.py).
"""

from __future__ import annotations

import time
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QTimer

TICK_MS = 70  # one plot redrawn per tick at most: ~14 a second
PRIORITY = {"LossPlot": 2.0}


class RefreshBudget(QObject):
    """See the module docstring."""

    def __init__(self, parent: QObject | None = None, tick_ms: int = TICK_MS):
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setInterval(tick_ms)
        self._timer.timeout.connect(self._tick)
        self._waiting: dict[Any, float] = {}  # panel -> when it started waiting (s)
        self._last: dict[int, float] = {}  # id(panel) -> its last redraw (s)
        self.redraws = 0

    def request(self, panel: Any) -> None:
        """The panel is dirty: give it a turn (several requests before its turn cost one redraw)."""
        if panel not in self._waiting:
            self._waiting[panel] = time.monotonic()
        if not self._timer.isActive():
            self._timer.start()  # the first turn a tick later: a burst of changes before it costs one redraw

    def forget(self, panel: Any) -> None:
        self._waiting.pop(panel, None)

    def _tick(self) -> None:
        now = time.monotonic()
        best, best_score = None, -1.0
        for panel in list(self._waiting):
            if not shiboken6.isValid(panel) or not panel.dirty:
                del self._waiting[panel]
                continue
            if not panel.isVisible():
                continue  # stays dirty; its showEvent asks again
            last = self._last.get(id(panel), -1e9)
            if (now - last) * 1000 < panel.min_interval_ms:
                continue
            score = (now - self._waiting[panel]) * PRIORITY.get(type(panel).__name__, 1.0)
            if score > best_score:
                best, best_score = panel, score
        if best is not None:
            del self._waiting[best]
            self._last[id(best)] = now
            self.redraws += 1
            best.refresh_now()
        if not any(shiboken6.isValid(p) and p.isVisible() for p in self._waiting):
            self._timer.stop()


__all__ = ["PRIORITY", "TICK_MS", "RefreshBudget"]
