"""`run_status(run)`: where a run stands, computed one way for every view that says it (the dashboard's summary,
the Training panel's progress bar, the run list), so they never disagree ("Stopped at epoch 135" next to
"epoch 134 / 300", "Not started" beside a finished run).

The epoch convention: while a run trains (or is paused) its epoch is the one in progress, the epoch of the
last step received (1 during the first); once it has ended, the epochs it completed. A run stopped in its
135th epoch therefore reads "stopped · epoch 134 / 300" everywhere, with the step it stopped at.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

LABELS = {"running": "Running", "paused": "Paused", "finished": "Finished", "stopped": "Stopped",
          "failed": "Failed", "idle": "Not started"}


@dataclass(frozen=True)
class RunStatus:
    status: str  # running | paused | finished | stopped | failed | idle (no run)
    epoch: int  # see the module docstring
    epochs: int | None  # planned
    step: int

    @property
    def label(self) -> str:
        return LABELS.get(self.status, self.status)

    @property
    def epoch_text(self) -> str:
        return f"epoch {self.epoch}" + (f" / {self.epochs}" if self.epochs else "")

    @property
    def text(self) -> str:
        """"Stopped · epoch 134 / 300 · step 1,742" (just "Not started" without a run)."""
        if self.status == "idle":
            return self.label
        parts = [self.label, self.epoch_text]
        if self.step:
            parts.append(f"step {self.step:,}")
        return " · ".join(parts)


def run_status(run: Any) -> RunStatus:
    """The status of a RunData (app/training/run_data.py), or of no run (None)."""
    if run is None:
        return RunStatus("idle", 0, None, 0)
    epoch = run.current_epoch
    if not run.ended and len(run.steps):
        last_x = float(run.steps.column("x")[-1])
        in_progress = math.ceil(last_x - 1e-9) if math.isfinite(last_x) else epoch + 1
        epoch = max(epoch, in_progress, 1)
        if run.epochs_planned:
            epoch = min(epoch, run.epochs_planned)
    return RunStatus(run.status, epoch, run.epochs_planned, run.last_step)


__all__ = ["LABELS", "RunStatus", "run_status"]
