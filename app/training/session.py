"""Training runs of the open project: start, pause, resume and stop, the run list, the overlay selection.

    session = TrainingSession(document)
    run = session.start()          # a RunData; the document is read-only until the run ends
    session.pause(); session.resume(); session.stop()
    session.shutdown()             # stop and join the thread (window closing, tests)

A run trains a *snapshot* of the project (`document.project.copy()` when Start is pressed) in a
`TrainingWorker` on its own QThread. While it runs the document is read-only (`Document.set_read_only`):
the canvas and the panels show the network the run uses, and the history of runs stays meaningful. Events
arrive here in the GUI thread (queued signals) and go into the run's `RunData` (app/training/run_data.py),
which the dashboard draws; the session adds the things a panel needs besides the data: the state
("idle" | "starting" | "running" | "paused" | "stopping"), progress and ETA, the overfitting warning.

Pause, edit, resume: while a run started from the document is paused, the document is editable again (the
canvas, the inspector and the training settings). `resume()` sends what changed, the training section and, when
its generated code differs from the network being trained, the network, to the Trainer (`TrainingWorker.edit`,
checked at once: a refusal is `edit_refused(message)` and the run stays paused), makes the document read-only
again and resumes; the engine applies the edit before the next step and reports a ChangedEvent, which goes into
the run's `changes` (the loss plot marks it) and updates the run's snapshot and settings. `start(pause_at=N)`
pauses after exactly N steps (tests, reproducible edits).

The session outlives documents: the main window keeps one and calls `set_document` when another project
opens (a run still going is stopped first). So the run list can compare different networks.

Threads: each run gets a new QThread. Its worker moves itself back to the GUI thread and quits the thread
when the run ends; the session keeps a reference to every thread until it has finished, and `shutdown()`
stops the run and waits for them, so a QThread is never destroyed while it runs (that aborts the process).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from graph_engine.errors import ProjectError

if TYPE_CHECKING:  # the window imports this module at start-up: numpy and the worker come with the first run
    from app.document import Document
    from app.training.run_data import RunData
    from app.training.worker import TrainingWorker
    from graph_engine.project import Project
    from graph_engine.training.events import (
        EpochEvent,
        PausedEvent,
        ProbeEvent,
        ResumedEvent,
        StartedEvent,
        StepEvent,
    )

SUMMARY_MS = 250  # the run list, the overfitting check: at most 4 updates a second
OVERFIT_EPOCHS = 3  # warn after this many epochs of rising validation loss with falling training loss
STATES = ("idle", "starting", "running", "paused", "stopping")


def overfitting_streak(history: list[dict[str, Any]]) -> int:
    """How many of the last epochs in a row had validation loss up and training loss down, each against
    the epoch before (0 when the last epoch did not)."""
    streak = 0
    for prev, cur in zip(reversed(history[:-1]), reversed(history[1:]), strict=False):
        values = (prev.get("val_loss"), cur.get("val_loss"), prev.get("train_loss"), cur.get("train_loss"))
        if any(v is None or not math.isfinite(v) for v in values):
            break
        if cur["val_loss"] > prev["val_loss"] and cur["train_loss"] < prev["train_loss"]:
            streak += 1
        else:
            break
    return streak


def overfitting_message(history: list[dict[str, Any]], epochs: int = OVERFIT_EPOCHS) -> str:
    """The warning to show ("" when there is none)."""
    streak = overfitting_streak(history)
    if streak < epochs:
        return ""
    finite = [r for r in history if r.get("val_loss") is not None and math.isfinite(r["val_loss"])]
    best = min(finite, key=lambda r: r["val_loss"])
    return (f"Overfitting: validation loss has risen for {streak} epochs while training loss fell "
            f"(best {best['val_loss']:.4g} at epoch {best['epoch']}). Try early stopping, weight decay, "
            "dropout or augmentation.")


@dataclass
class Progress:
    """Where the current run is. `fraction` 0..1; `eta_s` None until a rate is known."""

    epoch: int = 0  # the epoch being trained (1-based; 0 before the first step)
    epochs: int = 0
    step: int = 0
    total_steps: int = 0
    fraction: float = 0.0
    eta_s: float | None = None
    elapsed_s: float = 0.0


@dataclass(eq=False)
class RunMeta:
    """What the session knows about a run besides its data."""

    run: RunData
    project_name: str
    snapshot: Project
    number: int
    started: StartedEvent | None = None
    end: Any = None  # FinishedEvent | StoppedEvent | FailedEvent
    document: Document | None = None  # the document it made read-only, until the run ends
    worker: TrainingWorker | None = None
    thread: QThread | None = None
    warnings: list[str] = field(default_factory=list)
    relay: Any = None
    folder: Path | None = None  # its run folder (graph_engine.training.runs); None when it could not be made
    editable: bool = False  # started from the document: it may be edited while paused
    pending: dict[str, Any] | None = None  # an edit sent to the trainer, not yet applied (snapshot, config)


def format_duration(seconds: float | None) -> str:
    """3 -> "3 s", 75 -> "1 min 15 s", 4000 -> "1 h 7 min"."""
    if seconds is None or not math.isfinite(seconds):
        return "—"
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


class _RunRelay(QObject):
    """Receives one worker's signals in the GUI thread and hands them to the session with their run.

    (A lambda connected to a signal from another thread runs in *that* thread in PySide6; a bound method
    of a QObject living in the GUI thread is called in the GUI thread, queued.)"""

    def __init__(self, session: TrainingSession, meta: RunMeta):
        super().__init__(session)
        self.session, self.meta = session, meta

    @Slot(object)
    def started(self, event: Any) -> None:
        self.session._on_started(self.meta, event)

    @Slot(list)
    def steps(self, batch: list) -> None:
        self.session._on_steps(self.meta, batch)

    @Slot(object)
    def epoch(self, event: Any) -> None:
        self.session._on_epoch(self.meta, event)

    @Slot(object)
    def probe(self, event: Any) -> None:
        self.session._on_probe(self.meta, event)

    @Slot(object)
    def paused(self, event: Any) -> None:
        self.session._on_paused(self.meta, event)

    @Slot(object)
    def resumed(self, event: Any) -> None:
        self.session._on_resumed(self.meta, event)

    @Slot(object)
    def changed(self, event: Any) -> None:
        self.session._on_changed(self.meta, event)

    @Slot(object)
    def ended(self, event: Any) -> None:
        self.session._on_ended(self.meta, event)

    @Slot()
    def thread_finished(self) -> None:
        self.session._thread_finished(self.meta)


class TrainingSession(QObject):
    """See the module docstring."""

    state_changed = Signal(str)
    run_added = Signal(object)  # RunData (a new run, before its thread starts)
    run_started = Signal(object, object)  # RunData, StartedEvent
    progress_changed = Signal(object)  # Progress
    epoch_ended = Signal(object, object)  # RunData, EpochEvent.record
    probe_received = Signal(object, object)  # RunData, ProbeEvent
    run_ended = Signal(object, object)  # RunData, FinishedEvent | StoppedEvent | FailedEvent
    run_changed = Signal(object)  # RunData whose summary (epochs, metric, status) changed
    overlay_changed = Signal(list)  # list[RunData]
    warning_changed = Signal(str)  # the overfitting warning ("" when none)
    run_edited = Signal(object, object)  # RunData, ChangedEvent: an edit made while paused took effect
    edit_refused = Signal(str)  # why the edits made while paused cannot be applied (the run stays paused)

    def __init__(self, document: Document | None = None, parent: QObject | None = None, *,
                 num_threads: int | None = None):
        super().__init__(parent)
        self.document = document
        self.num_threads = num_threads
        self.state = "idle"
        self._metas: list[RunMeta] = []
        self._current: RunMeta | None = None
        self._overlay: list[RunData] = []
        self._live_threads: list[tuple[QThread, TrainingWorker]] = []
        self._counter = 0
        self._progress = Progress()
        self._t_start = 0.0
        self._paused_total = 0.0
        self._paused_at: float | None = None
        self._first_step_t: float | None = None
        self._first_step = 0
        self.warning = ""
        self._epoch_dirty: set[RunMeta] = set()
        self._epoch_timer = QTimer(self)
        self._epoch_timer.setSingleShot(True)
        self._epoch_timer.setInterval(SUMMARY_MS)
        self._epoch_timer.timeout.connect(self._epochs_settled)

    # ---- queries -------------------------------------------------------------------------------------

    @property
    def runs(self) -> list[RunData]:
        return [m.run for m in self._metas]

    @property
    def current(self) -> RunData | None:
        """The run going on now (None when idle)."""
        return self._current.run if self._current is not None else None

    @property
    def latest(self) -> RunData | None:
        """The current run, else the last one."""
        return self._metas[-1].run if self._metas else None

    def current_editable(self) -> bool:
        """The current run may be edited while it is paused (it was started from the document)."""
        return self._current is not None and self._current.editable

    @property
    def running(self) -> bool:
        return self.state != "idle"

    @property
    def progress(self) -> Progress:
        return self._progress

    @property
    def overlay(self) -> list[RunData]:
        return list(self._overlay)

    def meta(self, run: RunData) -> RunMeta | None:
        return next((m for m in self._metas if m.run is run), None)

    # ---- documents -----------------------------------------------------------------------------------

    def set_document(self, document: Document | None) -> None:
        """Another project is open: a run still going is stopped (it keeps its data in the run list)."""
        if document is self.document:
            return
        if self._current is not None:
            self._release(self._current)  # the old document is going away: do not touch it later
            self.stop()
        self.document = document
        self.load_saved_runs()

    # ---- runs kept on disk ---------------------------------------------------------------------------

    def runs_dir(self) -> Path | None:
        """The document's runs folder: beside its file, or in the app's state folder while it is unsaved."""
        from app.autosave import state_dir
        from graph_engine.training.runs import runs_folder

        if self.document is None:
            return None
        return runs_folder(self.document.path, state_dir())

    def load_saved_runs(self) -> list[RunData]:
        """Add the runs kept in the document's runs folder that the list does not hold yet (after a restart,
        or when the project is opened again). A run whose snapshot cannot be read is skipped."""
        from app.training.run_data import RunData
        from graph_engine.training.runs import list_runs, load_snapshot, read_changes, read_metrics

        folder = self.runs_dir()
        if folder is None:
            return []
        known = {m.folder for m in self._metas if m.folder is not None}
        added = []
        for info in list_runs(folder):
            if info.folder in known or info.problem:
                continue
            try:
                snapshot = load_snapshot(info.folder)
            except ProjectError:
                continue
            task = info.training.get("task") or "classification"
            run = RunData(info.name, config=info.training, task=task, parent=self)
            run._adopt_history(read_metrics(info.folder))
            for change in read_changes(info.folder):
                run.add_change(change)
            run._set_status(info.status if info.status in ("finished", "stopped", "failed") else "stopped")
            self._counter += 1
            self._metas.append(RunMeta(run, snapshot.name, snapshot, self._counter, folder=info.folder))
            added.append(run)
            self.run_added.emit(run)
        return added

    def rename_run(self, run: RunData, name: str) -> None:
        """A new name for a run (kept in its folder); raises graph_engine.training.runs.RunError."""
        from graph_engine.training.runs import rename_run

        meta = self.meta(run)
        if meta is None:
            return
        if meta.folder is not None:
            rename_run(meta.folder, name)
        run.name = name.strip()
        self.run_changed.emit(run)

    # ---- control -------------------------------------------------------------------------------------

    def start(self, *, name: str | None = None, pause_at: int | None = None) -> RunData | None:
        """Train a snapshot of the document's project in a new thread; None when a run is already going."""
        if self.running or self.document is None:
            return None
        from app.training.run_data import RunData
        from app.training.worker import TrainingWorker
        from graph_engine.training.config import TrainingConfig

        document = self.document
        snapshot = document.project.copy()
        self._counter += 1
        try:
            config = TrainingConfig.from_project(snapshot).to_dict()
        except ProjectError:
            config = dict(snapshot.training or {})  # the worker reports the problem as a failed run
        task = config.get("task") or "classification"
        run = RunData(name or f"run {self._counter}", config=config, task=task, parent=self)
        meta = RunMeta(run, snapshot.name, snapshot, self._counter, editable=True)
        self._metas.append(meta)
        self._current = meta
        epochs = config.get("epochs")
        self._progress = Progress(epochs=epochs if isinstance(epochs, int) else 0)
        self._t_start = time.perf_counter()
        self._paused_total, self._paused_at, self._first_step_t, self._first_step = 0.0, None, None, 0
        self._set_warning("")

        base_dir = document.path.parent if document.path is not None else None
        meta.folder = self._new_run_folder(run.name, snapshot)
        worker = TrainingWorker(snapshot, base_dir=base_dir, num_threads=self.num_threads, run_dir=meta.folder,
                                pause_at=pause_at)
        self._launch(meta, worker, document)
        self.run_added.emit(run)
        self.run_changed.emit(run)
        meta.thread.start()
        return run

    def _launch(self, meta: RunMeta, worker: TrainingWorker, document: Document) -> None:
        """The worker in its own thread, its signals through a relay in this thread; the document read-only."""
        thread = QThread()
        thread.setObjectName(f"layerloom-training-{meta.number}")
        worker.moveToThread(thread)
        meta.worker, meta.thread = worker, thread
        relay = _RunRelay(self, meta)
        meta.relay = relay
        worker.started.connect(relay.started)
        worker.steps.connect(relay.steps)
        worker.epoch.connect(relay.epoch)
        worker.probe.connect(relay.probe)
        worker.paused.connect(relay.paused)
        worker.resumed.connect(relay.resumed)
        worker.changed.connect(relay.changed)
        worker.ended.connect(relay.ended)
        thread.started.connect(worker.run)
        thread.finished.connect(relay.thread_finished)
        self._live_threads.append((thread, worker))

        meta.document = document
        document.set_read_only(True)
        self._set_state("starting")

    def resume_run(self, run: RunData) -> RunData | None:
        """Continue a stopped run from its last checkpoint (Trainer.from_checkpoint on its folder): the same
        run, its optimiser, schedule and random state carried on. None when it cannot be resumed."""
        from graph_engine.training.runs import RESUME_FILE

        meta = self.meta(run)
        if (self.running or self.document is None or meta is None or meta.folder is None
                or run.status != "stopped" or not (meta.folder / RESUME_FILE).exists()):
            return None
        from app.training.worker import TrainingWorker

        meta.end = None
        self._current = meta
        epochs = run.config.get("epochs")
        self._progress = Progress(epochs=epochs if isinstance(epochs, int) else 0)
        self._t_start = time.perf_counter()
        self._paused_total, self._paused_at, self._first_step_t, self._first_step = 0.0, None, None, 0
        self._set_warning("")
        worker = TrainingWorker(meta.snapshot, num_threads=self.num_threads, run_dir=meta.folder, resume=True)
        self._launch(meta, worker, self.document)
        self.run_changed.emit(run)
        thread = meta.thread
        thread.start()
        return run

    def _new_run_folder(self, name: str, snapshot: Project) -> Path | None:
        from graph_engine.training.runs import create_run

        folder = self.runs_dir()
        try:
            return create_run(folder, name, snapshot) if folder is not None else None
        except OSError as exc:  # a read-only folder: the run still trains, it is only not kept
            self._set_warning(f"this run is not kept: cannot write to {folder} ({exc.strerror or exc})")
            return None

    def pause(self) -> None:
        if self._current is not None and self.state in ("starting", "running"):
            self._current.worker.pause()

    def resume(self) -> bool:
        """Continue a paused run, with the edits made meanwhile (module docstring). False when they were
        refused (`edit_refused` says why; the run stays paused) or there is nothing to resume."""
        meta = self._current
        if meta is None or self.state not in ("starting", "running", "paused"):
            return False
        if self.state == "paused" and meta.editable and meta.document is not None:
            try:
                self._send_edit(meta)
            except ProjectError as exc:
                from graph_engine.training.settings import error_text

                self.edit_refused.emit(f"Cannot resume with these changes: {error_text(exc)}")
                return False
            meta.document.set_read_only(True)
        meta.worker.resume()
        return True

    def _send_edit(self, meta: RunMeta) -> None:
        """The document's training section, and its network when that differs from the one being trained, to
        the paused trainer (which checks them now and applies them when it resumes)."""
        from graph_engine.codegen import generate_code
        from graph_engine.training.config import TrainingConfig
        from graph_engine.training.freezing import frozen_paths

        document = meta.document
        result = document.recheck()
        if not result.ok:
            first = result.errors[0]
            raise ProjectError(f"the network has {len(result.errors)} error(s); first: {first}",
                               node_id=first.node_id, hint="fix it in the Problems panel, or undo the edit")
        project = document.project
        network = (generate_code(project, result) != generate_code(meta.snapshot)
                   or frozen_paths(project) != frozen_paths(meta.snapshot))  # freezing is no code change
        config = TrainingConfig.from_project(project)
        meta.worker.edit(training=project.training, project=project.copy() if network else None)
        meta.pending = {"snapshot": project.copy() if network else None, "config": config.to_dict()}

    def stop(self) -> None:
        """Ask the run to end before its next step; `run_ended` follows with a StoppedEvent."""
        if self._current is not None and self.state != "stopping":
            self._current.worker.stop()
            self._set_state("stopping")

    def shutdown(self, timeout_ms: int = 60_000) -> bool:
        """Stop the run and wait for every training thread to end (closing the window, tests). True when
        they all did."""
        if self._current is not None:
            self._current.worker.stop()
        ok = True
        for thread, _worker in list(self._live_threads):
            ok = thread.wait(timeout_ms) and ok
        if self._current is not None:
            self._release(self._current)
        return ok

    def set_overlay(self, runs: list[RunData]) -> None:
        """The runs whose curves are drawn over the current one's."""
        runs = [r for r in runs if self.meta(r) is not None]
        if runs != self._overlay:
            self._overlay = runs
            self.overlay_changed.emit(list(runs))

    def remove_run(self, run: RunData) -> None:
        """Forget an ended run and delete its folder."""
        meta = self.meta(run)
        if meta is None or meta is self._current:
            return
        self._metas.remove(meta)
        if meta.folder is not None:
            from graph_engine.training.runs import RunError, delete_run

            try:
                delete_run(meta.folder)
            except (RunError, OSError):
                pass  # already gone
        if run in self._overlay:
            self.set_overlay([r for r in self._overlay if r is not run])
        run.deleteLater()

    # ---- worker events (GUI thread) ------------------------------------------------------------------

    def _on_started(self, meta: RunMeta, event: StartedEvent) -> None:
        meta.started = event
        meta.warnings = list(event.warnings)
        meta.run.set_started(event)
        if meta is self._current:
            self._progress = Progress(epoch=event.start_epoch + 1, epochs=event.epochs,
                                      step=event.start_epoch * event.steps_per_epoch,
                                      total_steps=event.epochs * event.steps_per_epoch,
                                      fraction=event.start_epoch / max(1, event.epochs))
            self._first_step = self._progress.step
            if self.state == "starting":
                self._set_state("running")  # a pause asked for while starting arrives as a PausedEvent next
            self.progress_changed.emit(self._progress)
        self.run_started.emit(meta.run, event)

    def _on_steps(self, meta: RunMeta, batch: list[StepEvent]) -> None:
        meta.run.add_steps(batch)
        if meta is not self._current or not batch:
            return
        now = time.perf_counter()
        last = batch[-1]
        p = self._progress
        if self._first_step_t is None:
            # The rate is measured from the first batch on: set-up time (data, model, torch) is not training.
            self._first_step_t, self._first_step = now, batch[0].step - 1
        p.step, p.epoch = last.step, last.epoch
        p.elapsed_s = now - self._t_start - self._paused_total
        if p.total_steps:
            p.fraction = min(1.0, last.step / p.total_steps)
            done = last.step - self._first_step
            spent = now - self._first_step_t - self._paused_since(self._first_step_t)
            if done >= 5 and spent > 0.2:
                p.eta_s = (p.total_steps - last.step) * spent / done
        self.progress_changed.emit(p)

    def _paused_since(self, t0: float) -> float:
        # Pauses all happen after the first step in practice; the total is close enough for an ETA.
        return self._paused_total

    def _on_epoch(self, meta: RunMeta, event: EpochEvent) -> None:
        meta.run.add_epoch(event.record)
        if event.generated:  # a language model's sample after this epoch
            meta.run.add_generated(event.epoch, event.generated)
        self.epoch_ended.emit(meta.run, event.record)
        # A small network ends 50 epochs a second: the run list and the warning follow a few times a second.
        self._epoch_dirty.add(meta)
        if not self._epoch_timer.isActive():
            self._epoch_timer.start()

    def _epochs_settled(self) -> None:
        dirty, self._epoch_dirty = self._epoch_dirty, set()
        for meta in dirty:
            if meta in self._metas:
                self.run_changed.emit(meta.run)
            if meta is self._current:
                self._set_warning(overfitting_message(meta.run.records))

    def _on_probe(self, meta: RunMeta, event: ProbeEvent) -> None:
        meta.run.add_probe(event)
        self.probe_received.emit(meta.run, event)

    def _on_paused(self, meta: RunMeta, event: PausedEvent) -> None:
        meta.run.set_paused()
        if meta is self._current and self.state != "stopping":
            self._paused_at = time.perf_counter()
            if meta.editable and meta.document is not None:
                meta.document.set_read_only(False)  # edits made now go to the run when it resumes
            self._set_state("paused")
        self.run_changed.emit(meta.run)

    def _on_resumed(self, meta: RunMeta, event: ResumedEvent) -> None:
        meta.run.set_resumed()
        if meta is self._current:
            if self._paused_at is not None:
                self._paused_total += time.perf_counter() - self._paused_at
                self._paused_at = None
            if self.state != "stopping":
                self._set_state("running")
        self.run_changed.emit(meta.run)

    def _on_changed(self, meta: RunMeta, event: Any) -> None:
        pending, meta.pending = meta.pending, None
        if pending is not None:
            if event.network and pending["snapshot"] is not None:
                meta.snapshot = pending["snapshot"]
            meta.run.config = dict(pending["config"])
        meta.run.add_change(event)
        if meta is self._current and event.epochs and event.steps_per_epoch:
            p = self._progress
            p.epochs = event.epochs
            p.total_steps = event.step + (event.epochs - event.epoch + 1) * event.steps_per_epoch
        self.run_edited.emit(meta.run, event)
        self.run_changed.emit(meta.run)

    def _on_ended(self, meta: RunMeta, event: Any) -> None:
        meta.end = event
        if meta in self._epoch_dirty:
            self._epoch_timer.stop()
            self._epochs_settled()
        status = getattr(event, "status", "failed")  # FinishedEvent, StoppedEvent or FailedEvent
        if status == "finished":
            meta.run.set_finished(event)
        elif status == "stopped":
            meta.run.set_stopped(event)
        else:
            meta.run.set_failed(event)
        self._release(meta)
        if meta.folder is not None:
            from graph_engine.training.runs import RunError, finish_run

            try:
                finish_run(meta.folder, status if status in ("finished", "stopped") else "failed")
            except (RunError, OSError):
                pass  # the folder went away under the run; the run list still has its data
        if meta is self._current:
            self._current = None
            if status == "finished":
                p = self._progress
                p.fraction, p.eta_s = 1.0, 0.0
                self.progress_changed.emit(p)
            self._set_state("idle")
        self.run_changed.emit(meta.run)
        self.run_ended.emit(meta.run, event)

    def _release(self, meta: RunMeta) -> None:
        document, meta.document = meta.document, None
        if document is not None:
            document.set_read_only(False)

    def _thread_finished(self, meta: RunMeta) -> None:
        thread = meta.thread
        self._live_threads = [(t, w) for t, w in self._live_threads if t is not thread]
        if thread is not None:
            thread.wait()  # finished has been emitted; wait() returns at once and makes deletion safe
        meta.thread = None
        meta.worker = None  # back in the GUI thread (TrainingWorker.run moved it): freed here
        if meta.relay is not None:
            meta.relay.deleteLater()
            meta.relay = None

    # ---- helpers -------------------------------------------------------------------------------------

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.state_changed.emit(state)

    def _set_warning(self, text: str) -> None:
        if text != self.warning:
            self.warning = text
            self.warning_changed.emit(text)


def start_blocker(document: Any) -> str:
    """Why the network cannot be trained as it is ("" when it can): its first error, and how many more."""
    if document is None:
        return "no project is open"
    errors = document.result.errors
    if not errors:
        return ""
    first = errors[0]
    where = f"{first.node_id}: " if first.node_id else ""
    more = f" (and {len(errors) - 1} more in Problems)" if len(errors) > 1 else ""
    return f"Fix the network first: {where}{first.message}{more}"


def session_state_allows_edits(session: TrainingSession) -> bool:
    """The document's network and settings may change now: no run, or a run paused (the edit goes to it)."""
    return session.state in ("idle", "paused")


def run_action_state(session: TrainingSession) -> dict[str, bool]:
    """Which of start/pause/resume/stop make sense now (the panel's buttons and the Train menu). Start needs a
    network without errors (`start_blocker` says why not)."""
    state = session.state
    return {"start": state == "idle" and session.document is not None and not start_blocker(session.document),
            "pause": state in ("starting", "running"), "resume": state == "paused",
            "stop": state in ("starting", "running", "paused")}


__all__ = ["OVERFIT_EPOCHS", "run_action_state", "session_state_allows_edits", "start_blocker", "Progress", "RunMeta", "TrainingSession", "format_duration", "overfitting_message",
           "overfitting_streak"]
