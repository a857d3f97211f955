"""The training worker: `graph_engine.training.Trainer` in a QThread, its events turned into Qt signals.

    worker = TrainingWorker(document.project.copy(), base_dir=folder)
    thread = QThread(); worker.moveToThread(thread); thread.started.connect(worker.run)
    worker.steps.connect(...); worker.ended.connect(thread.quit); thread.start()
    worker.pause(); worker.resume(); worker.stop()    # from the GUI thread, any time

Signals (in the style of napari's `thread_worker`), all emitted from the worker thread and delivered
queued to receivers in the GUI thread, in the engine's order:
- `started(StartedEvent)`;
- `steps(list[StepEvent])`: step metrics *batched*: the listener collects StepEvents and emits at most one
  list every `STEP_INTERVAL_S` (0.1 s: ~10 updates a second however fast the steps are), and always flushes
  what it holds before any other event, so a receiver never sees an epoch before its steps;
- `epoch(EpochEvent)`, `paused(PausedEvent)`, `resumed(ResumedEvent)`, `changed(ChangedEvent)` (an edit made
  while paused took effect; `edit()` hands it to the Trainer, `pause_at` makes the run pause at a known step);
- `probe(ProbeEvent)`: thinned to at most one every `PROBE_INTERVAL_S` (0.25 s; the newest wins; its `step` says
  where it was taken) because a small network probes ~30 times a second at probe_every=50 and each event
  carries histograms of every layer; the last probe before an epoch end or the run's end is always sent;
  Probes that would only be dropped are not computed either: after each epoch the worker raises the run's
  `probe_every` (`trainer.config`, read by the loop once per epoch) to about one probe per `PROBE_INTERVAL_S`
  at the measured step rate, never below the project's own setting. A probe forks the RNG, so this changes
  nothing in the training itself; on the digits MLP (~1400 steps a second) it saves ~3 % of the run;
- exactly one of `finished(FinishedEvent)`, `stopped(StoppedEvent)`, `failed(FailedEvent)`, then
  `ended(event)` with the same event (connect `thread.quit` there).

The worker never touches a widget. The Trainer is built in the worker thread (building it imports torch, the
dataset libraries and the generated model code: seconds the GUI must not wait). pause/resume/stop may come
before it exists; they are remembered under a lock and applied when it does. Anything the Trainer raises
(a TrainingConfigError from a bad setting, a bug) becomes a FailedEvent: an exception must never escape a
thread.
"""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot

from graph_engine.errors import ProjectError
from graph_engine.project import Project
from graph_engine.training.events import (
    ChangedEvent,
    EpochEvent,
    FailedEvent,
    FinishedEvent,
    PausedEvent,
    ProbeEvent,
    ResumedEvent,
    StartedEvent,
    StepEvent,
    StoppedEvent,
)

STEP_INTERVAL_S = 0.1  # at most ~10 step batches a second: the GUI thread is never flooded
PROBE_INTERVAL_S = 0.25  # at most ~4 probes a second


class TrainingWorker(QObject):
    """Runs one training run of a project snapshot; see the module docstring."""

    started = Signal(object)  # StartedEvent
    steps = Signal(list)  # list[StepEvent]
    epoch = Signal(object)  # EpochEvent
    probe = Signal(object)  # ProbeEvent
    paused = Signal(object)  # PausedEvent
    resumed = Signal(object)  # ResumedEvent
    changed = Signal(object)  # ChangedEvent
    finished = Signal(object)  # FinishedEvent
    stopped = Signal(object)  # StoppedEvent
    failed = Signal(object)  # FailedEvent
    ended = Signal(object)  # the terminal event, after the signal of its kind

    def __init__(self, project: Project, *, base_dir: str | Path | None = None, num_threads: int | None = None,
                 step_interval: float = STEP_INTERVAL_S, probe_interval: float = PROBE_INTERVAL_S,
                 run_dir: str | Path | None = None, resume: bool = False, pause_at: int | None = None,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.run_dir = run_dir  # the trainer writes metrics, weights and checkpoints there
        self.resuming = resume  # continue the run saved in run_dir (Trainer.from_checkpoint)
        self.project = project  # a snapshot: the document may change while this runs
        self.base_dir = base_dir
        self.num_threads = num_threads
        self.step_interval = step_interval
        self.probe_interval = probe_interval
        self.pause_at = pause_at  # pause after this many steps (Trainer.pause_at), e.g. for a reproducible edit
        self.result: Any = None  # the terminal event, once the run has ended
        self._lock = threading.Lock()
        self._trainer: Any = None
        self._stop_requested = False
        self._pause_requested = False
        self._pending: list[StepEvent] = []
        self._last_flush = 0.0
        self._pending_probe: ProbeEvent | None = None
        self._last_probe = -1e9
        self._ended = False
        self._epoch_t0: float | None = None  # when the current epoch's first step arrived
        self._epoch_steps = 0

    # ---- control (any thread) ------------------------------------------------------------------------

    def pause(self) -> None:
        """Pause before the next step."""
        with self._lock:
            self._pause_requested = True
            if self._trainer is not None:
                self._trainer.pause()

    def resume(self) -> None:
        with self._lock:
            self._pause_requested = False
            if self._trainer is not None:
                self._trainer.resume()

    def stop(self) -> None:
        """End the run before the next step (a paused run ends too); `stopped` follows."""
        with self._lock:
            self._stop_requested = True
            self._pause_requested = False
            if self._trainer is not None:
                self._trainer.stop()

    def edit(self, training: Any = None, project: Project | None = None) -> dict[str, Any]:
        """While paused: Trainer.edit (checked now, raises its ProjectError; applied when the run resumes)."""
        with self._lock:
            if self._trainer is None:
                from graph_engine.training.config import TrainingConfigError

                raise TrainingConfigError("the run is not under way yet", "training", "wait until it has started")
            return self._trainer.edit(training=training, project=project)

    @property
    def stop_requested(self) -> bool:
        return self._stop_requested

    # ---- the run (worker thread) ---------------------------------------------------------------------

    @Slot()
    def run(self) -> None:
        """Build the Trainer and train; always ends with exactly one terminal signal and `ended`. Then the
        worker moves itself back to the application's thread (so it can be freed there) and, when it runs in
        a QThread of its own, quits that thread's event loop."""
        try:
            self._train()
        except BaseException as exc:  # noqa: BLE001 - never let an exception escape the thread
            self._flush_steps()
            self._terminal(FailedEvent(f"training failed: {_one_line(exc)}", None, "error", error=exc))
        finally:
            with self._lock:
                self._trainer = None  # the model and the data tensors go with it
        app = QCoreApplication.instance()
        here = QThread.currentThread()
        if app is not None and here is not app.thread():
            self.moveToThread(app.thread())
            here.quit()

    def _train(self) -> None:
        from graph_engine.training.loop import Trainer  # imports torch: here, never on the GUI thread

        try:
            if self.resuming:
                trainer = Trainer.from_checkpoint(self.run_dir, self._listen, project=self.project,
                                                  num_threads=self.num_threads)
            else:
                trainer = Trainer(self.project, listener=self._listen, base_dir=self.base_dir,
                                  num_threads=self.num_threads, run_dir=self.run_dir)
        except ProjectError as exc:  # a bad training setting: the config is parsed in the constructor
            event = FailedEvent(str(exc), getattr(exc, "node_id", None), "config", getattr(exc, "hint", "") or "",
                                error=exc)
            self._terminal(event)
            return
        with self._lock:
            self._trainer = trainer
            if self.pause_at is not None:
                trainer.pause_at(self.pause_at)
            if self._stop_requested:
                trainer.stop()
            elif self._pause_requested:
                trainer.pause()
        result = trainer.run()  # the terminal event reaches _listen, which emits it ...
        self._flush_steps()
        self._terminal(result)  # ... so this is a no-op unless a listener was skipped

    def _listen(self, event: Any) -> None:
        """The Trainer's listener (worker thread): batch steps, thin probes, forward the rest in order."""
        if isinstance(event, StepEvent):
            self._pending.append(event)
            now = time.perf_counter()
            if self._epoch_t0 is None:
                self._epoch_t0 = now
            self._epoch_steps += 1
            if now - self._last_flush >= self.step_interval:
                self._flush_steps(now)
            if self._pending_probe is not None and now - self._last_probe >= self.probe_interval:
                self._flush_probe(now)
            return
        if isinstance(event, ProbeEvent):
            now = time.perf_counter()
            self._pending_probe = event
            if now - self._last_probe >= self.probe_interval:
                self._flush_steps(now)
                self._flush_probe(now)
            return
        self._flush_steps()
        if isinstance(event, EpochEvent | FinishedEvent | StoppedEvent | FailedEvent):
            self._flush_probe()
        if isinstance(event, EpochEvent):
            self._space_probes()
        if isinstance(event, PausedEvent | ResumedEvent):
            self._epoch_t0, self._epoch_steps = None, 0  # a pause is not a step rate
        if isinstance(event, StartedEvent):
            self.started.emit(event)
        elif isinstance(event, EpochEvent):
            self.epoch.emit(event)
        elif isinstance(event, PausedEvent):
            self.paused.emit(event)
        elif isinstance(event, ResumedEvent):
            self.resumed.emit(event)
        elif isinstance(event, ChangedEvent):
            self.changed.emit(event)
        elif isinstance(event, FinishedEvent | StoppedEvent | FailedEvent):
            self._terminal(event)

    def _space_probes(self) -> None:
        """Raise probe_every to ~one probe per probe_interval at the step rate of the epoch just ended."""
        now = time.perf_counter()
        t0, steps = self._epoch_t0, self._epoch_steps
        self._epoch_t0, self._epoch_steps = None, 0
        trainer = self._trainer
        if trainer is None or t0 is None or steps < 2 or now <= t0:
            return
        every = trainer.config.probe_every
        wanted = math.ceil(steps / (now - t0) * self.probe_interval)
        if every > 0 and wanted > every:
            trainer.config = trainer.config.replace(probe_every=wanted)

    def _flush_steps(self, now: float | None = None) -> None:
        if self._pending:
            batch, self._pending = self._pending, []
            self.steps.emit(batch)
        self._last_flush = time.perf_counter() if now is None else now

    def _flush_probe(self, now: float | None = None) -> None:
        if self._pending_probe is not None:
            probe, self._pending_probe = self._pending_probe, None
            self.probe.emit(probe)
            self._last_probe = time.perf_counter() if now is None else now

    def _terminal(self, event: Any) -> None:
        if self._ended:
            return
        self._ended = True
        self.result = event
        if isinstance(event, FinishedEvent):
            self.finished.emit(event)
        elif isinstance(event, StoppedEvent):
            self.stopped.emit(event)
        else:
            self.failed.emit(event)
        self.ended.emit(event)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


__all__ = ["PROBE_INTERVAL_S", "STEP_INTERVAL_S", "TrainingWorker"]
