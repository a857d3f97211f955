"""One training run's data as the GUI keeps it: `RunData`, pure data plus one Qt signal, no widgets.

The worker (app/training, a QThread) receives the engine's events (graph_engine.training.events) and hands
them to a RunData *in the GUI thread*, batched:

    run = RunData("moons #3", config=cfg.to_dict(), task="classification")
    run.add_event(started)               # or the typed methods: set_started, add_steps, add_epoch, add_probe,
    run.add_steps(step_events)           #   set_paused, set_resumed, set_finished, set_stopped, set_failed
    run.updated.connect(on_updated)      # updated(kind): "steps" | "epoch" | "probe" | "status"

What it keeps and what it costs:
- steps: `GrowingColumns` (step, x in epochs, loss, smoothed loss, lr) in preallocated numpy arrays whose
  capacity doubles when full, so adding a step is amortised O(1) and a plot's `setData` gets contiguous views
  (`steps.column("loss")`) without copying. The smoothed loss is a debiased exponential moving average (the
  one TensorBoard draws), updated incrementally as steps arrive.
- epochs: the records as the engine sent them (`records`, list of dicts) and `epoch_values(key)`, a cached
  float array per key with NaN where a value is missing (None).
- probes: the latest ProbeEvent, and per layer a `LayerHistory`: every probe's mean/std/min/max, dead
  fraction, gradient and weight norms (growing columns, never thinned: a few floats per probe), plus a
  bounded history of activation histograms (`HISTOGRAM_HISTORY` at most; when full, every other older
  histogram is dropped, so the history always spans the whole run with an even-ish spacing).
- the end: FinishedEvent (history, best, confusion matrix), StoppedEvent or FailedEvent.

Not thread-safe by design: Qt objects belong to one thread, and the worker's queued signals already deliver
in the GUI thread.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from graph_engine.training.events import (
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

STATUSES = ("running", "paused", "finished", "stopped", "failed")
DEFAULT_SMOOTHING = 0.9  # EMA weight of the previous value; ~10 steps of memory
HISTOGRAM_HISTORY = 256  # activation histograms kept per layer (thinned when full)
INITIAL_CAPACITY = 256


class GrowingColumns:
    """Named float columns of one length, in preallocated numpy arrays that double in capacity when full.

    `column(name)` is a view of the filled part: cheap, contiguous, and safe to hand to `setData` (appending
    only writes past the end of a view, and a doubling copies into new arrays, leaving old views intact)."""

    def __init__(self, names: Sequence[str], capacity: int = INITIAL_CAPACITY, dtype: Any = np.float64):
        if not names:
            raise ValueError("GrowingColumns needs at least one column")
        self.names = tuple(names)
        self._dtype = np.dtype(dtype)
        self._arrays = {name: np.empty(max(1, capacity), self._dtype) for name in self.names}
        self._size = 0

    def __len__(self) -> int:
        return self._size

    @property
    def capacity(self) -> int:
        return len(self._arrays[self.names[0]])

    def column(self, name: str) -> np.ndarray:
        return self._arrays[name][:self._size]

    def reserve(self, size: int) -> None:
        """Make room for `size` rows in all, doubling the capacity as often as needed."""
        capacity = self.capacity
        if size <= capacity:
            return
        while capacity < size:
            capacity *= 2
        for name, old in self._arrays.items():
            new = np.empty(capacity, self._dtype)
            new[:self._size] = old[:self._size]
            self._arrays[name] = new

    def append(self, **columns: Any) -> None:
        """Append rows: every column by name, each a scalar or a 1-D sequence of the same length."""
        if set(columns) != set(self.names):
            missing = sorted(set(self.names) - set(columns))
            extra = sorted(set(columns) - set(self.names))
            raise KeyError(f"columns missing {missing}, unknown {extra}")
        values = {name: np.atleast_1d(np.asarray(columns[name], dtype=self._dtype)) for name in self.names}
        lengths = {len(v) for v in values.values()}
        if len(lengths) != 1:
            raise ValueError(f"columns of different lengths: { {k: len(v) for k, v in values.items()} }")
        n = lengths.pop()
        if n == 0:
            return
        self.reserve(self._size + n)
        for name, v in values.items():
            self._arrays[name][self._size:self._size + n] = v
        self._size += n

    def set_column(self, name: str, values: np.ndarray) -> None:
        """Overwrite a whole column (same length) in place, e.g. after a setting that derives it changed."""
        self._arrays[name][:self._size] = values

    def clear(self) -> None:
        self._size = 0


def ema(values: np.ndarray, weight: float, state: tuple[float, int] = (0.0, 0)) -> tuple[np.ndarray, tuple[float, int]]:
    """Debiased exponential moving average of `values` continuing from `state` = (raw average, count).

    out[i] = avg_i / (1 - weight**count_i) with avg_i = weight * avg_{i-1} + (1 - weight) * v_i: without the
    debiasing the curve would start at 0 instead of the first loss. Non-finite values are skipped (the
    previous smoothed value repeats). Returns the smoothed values and the state to continue from."""
    avg, count = state
    out = np.empty(len(values), dtype=np.float64)
    last = math.nan if count == 0 else avg / (1.0 - weight ** count)
    for i, v in enumerate(np.asarray(values, dtype=np.float64).tolist()):
        if math.isfinite(v):
            avg = weight * avg + (1.0 - weight) * v
            count += 1
            last = avg / (1.0 - weight ** count) if weight > 0 else v
        out[i] = last
    return out, (avg, count)


def rebin_histograms(counts: Sequence[np.ndarray], edges: Sequence[np.ndarray], low: float, high: float,
                     bins: int) -> np.ndarray:
    """Histograms with their own equal-width bins (edges[i][0] to edges[i][-1], as the engine's probes make
    them), redistributed onto `bins` equal bins over [low, high].

    Each row's counts are spread uniformly inside its source bins (linear interpolation of the cumulative
    count), so histograms taken over different ranges line up in one image. Rows are normalised by their total
    (fractions of the layer's values; what falls outside [low, high] is left out); an empty histogram stays all
    zero. Vectorised over rows: no Python loop per histogram. Returns float32 [len(counts), bins]."""
    rows = len(counts)
    out = np.zeros((rows, bins), dtype=np.float32)
    if not rows or not high > low:
        return out
    lengths = {len(c) for c in counts}
    if len(lengths) != 1:  # histograms of different bin counts: one at a time
        for row, (c, e) in enumerate(zip(counts, edges, strict=True)):
            out[row] = rebin_histograms([c], [e], low, high, bins)[0]
        return out
    n = lengths.pop()
    c = np.asarray(counts, dtype=np.float64).reshape(rows, n)
    first = np.array([float(e[0]) if len(e) else 0.0 for e in edges])
    last = np.array([float(e[-1]) if len(e) else 0.0 for e in edges])
    total = c.sum(axis=1)
    valid = (total > 0) & (last > first) & np.isfinite(first) & np.isfinite(last)
    if not valid.any() or n == 0:
        return out
    c, first, last, total = c[valid], first[valid], last[valid], total[valid]
    cdf = np.concatenate([np.zeros((len(c), 1)), np.cumsum(c, axis=1)], axis=1)  # [rows, n + 1]
    grid = np.linspace(low, high, bins + 1)
    pos = np.clip((grid[None, :] - first[:, None]) / (last - first)[:, None] * n, 0.0, float(n))
    index = np.minimum(pos.astype(np.int64), n - 1)
    frac = pos - index
    at = np.take_along_axis(cdf, index, axis=1) + frac * np.take_along_axis(c, index, axis=1)
    out[valid] = np.diff(at, axis=1) / total[:, None]
    return out


class LayerHistory:
    """One layer's probe statistics over the run (see the module docstring for what is bounded)."""

    SERIES = ("step", "mean", "std", "min", "max", "dead", "grad_norm", "weight_norm")

    def __init__(self, node_id: str, op: str, max_histograms: int = HISTOGRAM_HISTORY):
        self.node_id = node_id
        self.op = op
        self.shape: tuple[int, ...] = ()
        self.series = GrowingColumns(self.SERIES, capacity=64)
        self.max_histograms = max(2, max_histograms)
        self.hist_steps: list[int] = []
        self.hist_counts: list[np.ndarray] = []
        self.hist_edges: list[np.ndarray] = []
        self.has_params = False
        self.relu_like = False
        self._image_cache: tuple | None = None  # ((bins, coverage), histogram_image result) until the next add

    def add(self, step: int, stats: Any) -> None:
        self._image_cache = None
        self.shape = tuple(stats.shape)
        self.has_params = self.has_params or stats.weight_norm is not None
        self.relu_like = self.relu_like or stats.dead_fraction is not None
        self.series.append(step=step, mean=_num(stats.mean), std=_num(stats.std), min=_num(stats.min),
                           max=_num(stats.max), dead=_num(stats.dead_fraction), grad_norm=_num(stats.grad_norm),
                           weight_norm=_num(stats.weight_norm))
        if len(self.hist_steps) >= self.max_histograms:
            # Keep the first and every other one after it, and always the newest: the spacing doubles.
            keep = list(range(0, len(self.hist_steps), 2))
            self.hist_steps = [self.hist_steps[i] for i in keep]
            self.hist_counts = [self.hist_counts[i] for i in keep]
            self.hist_edges = [self.hist_edges[i] for i in keep]
        self.hist_steps.append(step)
        self.hist_counts.append(np.asarray(stats.histogram))
        self.hist_edges.append(np.asarray(stats.bin_edges))

    def value_range(self) -> tuple[float, float]:
        """The smallest and largest bin edge over the kept histograms (0, 1 when there are none)."""
        lows = [float(e[0]) for e in self.hist_edges if len(e) and math.isfinite(float(e[0]))]
        highs = [float(e[-1]) for e in self.hist_edges if len(e) and math.isfinite(float(e[-1]))]
        if not lows or not highs:
            return 0.0, 1.0
        low, high = min(lows), max(highs)
        return (low, high) if high > low else (low - 0.5, high + 0.5)

    def histogram_image(self, bins: int = 64, coverage: float = 0.998) -> tuple[np.ndarray, np.ndarray, float, float]:
        """(fractions float32 [probes, bins], probe steps, low, high): the kept histograms on common bins.

        [low, high] holds `coverage` of all the values seen (every probe weighted alike), not the extremes:
        one early outlier would otherwise squeeze every later histogram into a few bins."""
        key = (bins, coverage)
        if self._image_cache is not None and self._image_cache[0] == key:
            return self._image_cache[1]
        low, high = self.value_range()
        if coverage < 1.0 and self.hist_counts:
            fine = rebin_histograms(self.hist_counts, self.hist_edges, low, high, 512).sum(axis=0)
            total = float(fine.sum())
            if total > 0:
                cdf = np.cumsum(fine) / total
                tail = (1.0 - coverage) / 2
                grid = np.linspace(low, high, 513)
                first = int(np.searchsorted(cdf, tail, side="left"))
                last = int(np.searchsorted(cdf, 1.0 - tail, side="left"))
                new_low, new_high = float(grid[first]), float(grid[min(last + 1, 512)])
                if new_high > new_low:
                    low, high = new_low, new_high
        image = rebin_histograms(self.hist_counts, self.hist_edges, low, high, bins)
        result = (image, np.asarray(self.hist_steps, dtype=np.float64), low, high)
        self._image_cache = (key, result)
        return result


def _num(value: Any) -> float:
    return math.nan if value is None else float(value)


class RunData(QObject):
    """One run's data for the plots (module docstring). Methods are called in the GUI thread."""

    updated = Signal(str)  # "steps" | "epoch" | "probe" | "status" | "changes" | "generated"

    STEP_COLUMNS = ("step", "x", "loss", "smoothed", "lr")

    def __init__(self, name: str = "", config: Mapping[str, Any] | None = None, task: str = "classification",
                 parent: QObject | None = None, *, smoothing: float = DEFAULT_SMOOTHING,
                 max_histograms: int = HISTOGRAM_HISTORY):
        super().__init__(parent)
        self.name = name
        self.config: dict[str, Any] = dict(config or {})
        self.task = task or "classification"
        self.status = "running"
        self.color: str | None = None  # a runs list may pin a colour; the dashboard picks one otherwise
        self.started: StartedEvent | None = None
        self.class_names: tuple[str, ...] = ()
        self.num_classes: int | None = None
        self.epochs_planned: int | None = _int_or_none(self.config.get("epochs"))
        self.steps_per_epoch: int | None = None
        self._last_step_epoch: int | None = None
        self._smoothing = float(smoothing)
        self._ema_state: tuple[float, int] = (0.0, 0)
        self.steps = GrowingColumns(self.STEP_COLUMNS)
        self.steps_finite = True  # every step loss and lr so far is finite: plots may skip their finite check
        self.records: list[dict[str, Any]] = []
        self._epoch_cache: dict[str, np.ndarray] = {}
        self.latest_probe: ProbeEvent | None = None
        self.probe_count = 0
        self.layers: dict[str, LayerHistory] = {}  # node id -> history, in execution order
        self._max_histograms = max_histograms
        self.finished: FinishedEvent | None = None
        self.stopped: StoppedEvent | None = None
        self.failure: FailedEvent | None = None
        # Edits made while paused (ChangedEvent as records: step, epoch, settings, network), in order; the loss
        # plot marks each. A batch-size edit changes the steps per epoch from its step on: (step, x, n) pieces.
        self.changes: list[dict[str, Any]] = []
        self._pieces: list[tuple[float, float, int]] = []
        self.samples: np.ndarray | None = None  # a GAN run's latest fixed-noise samples (EpochEvent.samples)
        self.generated: list[tuple[int, str]] = []  # a language model's (epoch, sample text), in epoch order

    # ---- settings and derived values ------------------------------------------------------------------

    @property
    def smoothing(self) -> float:
        return self._smoothing

    def set_smoothing(self, weight: float) -> None:
        """Change the EMA weight (0 = no smoothing, < 1) and recompute the smoothed column."""
        weight = min(max(float(weight), 0.0), 0.999)
        if weight == self._smoothing:
            return
        self._smoothing = weight
        smoothed, self._ema_state = ema(self.steps.column("loss"), weight)
        self.steps.set_column("smoothed", smoothed)
        self.updated.emit("steps")

    @property
    def probe_every(self) -> int | None:
        return _int_or_none(self.config.get("probe_every"))

    @property
    def has_validation(self) -> bool:
        if self.started is not None:
            return self.started.n_val > 0
        if self.records:
            return any(r.get("val_loss") is not None for r in self.records)
        fraction = self.config.get("val_fraction")
        return fraction is None or float(fraction) > 0

    @property
    def is_classification(self) -> bool:
        return self.task == "classification"

    @property
    def current_epoch(self) -> int:
        """The last completed epoch (0 before the first one ends)."""
        return int(self.records[-1]["epoch"]) if self.records else 0

    @property
    def last_step(self) -> int:
        return int(self.steps.column("step")[-1]) if len(self.steps) else 0

    @property
    def confusion_matrix(self) -> np.ndarray | None:
        return None if self.finished is None else self.finished.confusion_matrix

    @property
    def best(self) -> dict[str, Any] | None:
        """The engine's best epoch when the run ended, else the lowest val_loss (train_loss) so far."""
        for end in (self.finished, self.stopped):
            if end is not None and end.best is not None:
                return end.best
        if not self.records:
            return None
        key = "val_loss" if self.has_validation else "train_loss"
        values = self.epoch_values(key)
        if not np.isfinite(values).any():
            return None
        i = int(np.nanargmin(values))
        return {"epoch": self.records[i]["epoch"], "monitor": key, "value": float(values[i]),
                "record": self.records[i]}

    @property
    def ended(self) -> bool:
        return self.status in ("finished", "stopped", "failed")

    def epoch_values(self, key: str) -> np.ndarray:
        """float64 array of one record key over the epochs, NaN where missing; cached until the next epoch."""
        cached = self._epoch_cache.get(key)
        if cached is None:
            cached = np.array([_num(r.get(key)) for r in self.records], dtype=np.float64)
            self._epoch_cache[key] = cached
        return cached

    def epoch_keys(self) -> list[str]:
        keys: dict[str, None] = {}
        for record in self.records:
            keys.update(dict.fromkeys(record))
        return list(keys)

    def step_to_epoch(self, steps: np.ndarray | float) -> np.ndarray | float:
        """Step index -> position in epochs (step k of an epoch of n steps ends at epoch k / n; after an edit of
        the batch size, from the edit's step on with the new n)."""
        steps = np.asarray(steps, dtype=np.float64)
        x = steps / float(self._steps_per_epoch_guess())
        for start, x0, n in self._pieces:
            x = np.where(steps > start, x0 + (steps - start) / float(n), x)
        return x

    def add_change(self, event: Any) -> None:
        """An edit made while paused took effect (a ChangedEvent, or its record from changes.json)."""
        record = event if isinstance(event, dict) else {
            "step": event.step, "epoch": event.epoch,
            "settings": {k: list(v) for k, v in event.settings.items()},
            **({"network": {"kept": list(event.kept), "fresh": list(event.fresh), "removed": list(event.removed)}}
               if event.network else {})}
        self.changes.append(record)
        spe = getattr(event, "steps_per_epoch", 0)
        if spe and self.steps_per_epoch and spe != self._current_steps_per_epoch():
            step = float(record["step"])
            self._pieces.append((step, float(self.step_to_epoch(step)), int(spe)))
        epochs = getattr(event, "epochs", 0)
        if epochs:
            self.epochs_planned = int(epochs)
        self.updated.emit("changes")

    def _current_steps_per_epoch(self) -> int:
        return self._pieces[-1][2] if self._pieces else self._steps_per_epoch_guess()

    def _steps_per_epoch_guess(self) -> int:
        if self.steps_per_epoch:
            return self.steps_per_epoch
        if len(self.steps):  # still in the first epoch with no StartedEvent: the steps seen so far
            return max(1, self.last_step)
        return 1

    # ---- events in ----------------------------------------------------------------------------------------

    def add_event(self, event: Any) -> None:
        """Dispatch any engine event to the typed method below (a list of StepEvents goes to add_steps)."""
        if isinstance(event, list | tuple):
            self.add_steps(event)
        elif isinstance(event, StepEvent):
            self.add_steps([event])
        elif isinstance(event, EpochEvent):
            if event.samples is not None:  # a GAN run's fixed-noise samples (app/training/plots/gan_samples.py)
                self.samples = event.samples
            self.add_epoch(event.record)
            if event.generated:
                self.add_generated(event.epoch, event.generated)
        elif isinstance(event, ProbeEvent):
            self.add_probe(event)
        elif isinstance(event, StartedEvent):
            self.set_started(event)
        elif isinstance(event, PausedEvent):
            self.set_paused()
        elif isinstance(event, ResumedEvent):
            self.set_resumed()
        elif isinstance(event, FinishedEvent):
            self.set_finished(event)
        elif isinstance(event, StoppedEvent):
            self.set_stopped(event)
        elif isinstance(event, FailedEvent):
            self.set_failed(event)
        else:
            raise TypeError(f"RunData.add_event: not a training event: {type(event).__name__}")

    def set_started(self, event: StartedEvent) -> None:
        """What the run will do: task, class names, epochs, steps per epoch (gives steps their epoch x)."""
        self.started = event
        self.task = event.task or self.task
        self.class_names = tuple(event.class_names)
        self.num_classes = event.num_classes
        self.epochs_planned = event.epochs
        self._set_steps_per_epoch(event.steps_per_epoch)
        self.status = "running"
        self.updated.emit("status")

    def add_steps(self, events: Iterable[StepEvent]) -> None:
        """Append a batch of StepEvents (in step order); one `updated("steps")` for the whole batch."""
        events = list(events)
        if not events:
            return
        if self.steps_per_epoch is None:
            self._learn_steps_per_epoch(events)
        steps = np.fromiter((e.step for e in events), np.float64, len(events))
        loss = np.fromiter((e.loss for e in events), np.float64, len(events))
        lr = np.fromiter((e.lr for e in events), np.float64, len(events))
        smoothed, self._ema_state = ema(loss, self._smoothing, self._ema_state)
        if self.steps_finite and not (np.isfinite(loss).all() and np.isfinite(lr).all()
                                      and np.isfinite(smoothed).all()):
            self.steps_finite = False
        self.steps.append(step=steps, x=self.step_to_epoch(steps), loss=loss, smoothed=smoothed, lr=lr)
        if self.steps_per_epoch is None:  # first epoch, length unknown: it spans 0..1 so far (rare: no Started)
            self.steps.set_column("x", self.step_to_epoch(self.steps.column("step")))
        self.updated.emit("steps")

    def add_epoch(self, record: Mapping[str, Any]) -> None:
        """Append one epoch record (EpochEvent.record)."""
        self.records.append(dict(record))
        self._epoch_cache.clear()
        if self.steps_per_epoch is None and record.get("step") and record.get("epoch") == 1:
            self._set_steps_per_epoch(int(record["step"]))
        self.updated.emit("epoch")

    def add_generated(self, epoch: int, text: str) -> None:
        """A language model's sample text after `epoch` (EpochEvent.generated)."""
        self.generated.append((int(epoch), str(text)))
        self.updated.emit("generated")

    def add_probe(self, event: ProbeEvent) -> None:
        """Keep the probe as the latest one and add each layer's statistics to its history."""
        self.latest_probe = event
        self.probe_count += 1
        for node_id, stats in event.layers.items():
            history = self.layers.get(node_id)
            if history is None:
                history = self.layers[node_id] = LayerHistory(node_id, stats.op, self._max_histograms)
            history.add(event.step, stats)
        self.updated.emit("probe")

    def probe_epochs(self, node_id: str) -> np.ndarray:
        """The probe positions (in epochs) of one layer's series."""
        history = self.layers.get(node_id)
        if history is None:
            return np.empty(0)
        return np.asarray(self.step_to_epoch(history.series.column("step")))

    def set_paused(self) -> None:
        self._set_status("paused")

    def set_resumed(self) -> None:
        self._set_status("running")

    def set_finished(self, event: FinishedEvent) -> None:
        """The run completed (or stopped early): keeps the history, best epoch and confusion matrix."""
        self.finished = event
        self._adopt_history(event.history)
        self._set_status("finished")

    def set_stopped(self, event: StoppedEvent | None = None) -> None:
        """Stopped by the person (the StoppedEvent is optional)."""
        self.stopped = event
        if event is not None:
            self._adopt_history(event.history)
        self._set_status("stopped")

    def set_failed(self, event: FailedEvent) -> None:
        """The run failed: `failure.message` (one line), `failure.node_id` (the layer, when known)."""
        self.failure = event
        self._adopt_history(event.history)
        self._set_status("failed")

    # ---- internals ----------------------------------------------------------------------------------------

    def _set_status(self, status: str) -> None:
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        self.status = status
        self.updated.emit("status")

    def _adopt_history(self, history: list[dict[str, Any]]) -> None:
        # A run rebuilt from a finished event (or one whose epoch events were missed) still gets its curves.
        if history and len(history) > len(self.records):
            self.records = [dict(r) for r in history]
            self._epoch_cache.clear()
            if self.steps_per_epoch is None and self.records[0].get("step"):
                self._set_steps_per_epoch(int(self.records[0]["step"]) // max(1, int(self.records[0]["epoch"])))
            self.updated.emit("epoch")

    def _learn_steps_per_epoch(self, events: list[StepEvent]) -> None:
        # Without a StartedEvent: the first step of a new epoch e tells the length of the e - 1 before it.
        previous = self._last_step_epoch
        for e in events:
            if previous is not None and e.epoch > previous and e.epoch >= 2:
                self._set_steps_per_epoch(max(1, (e.step - 1) // (e.epoch - 1)))
                break
            previous = e.epoch
        self._last_step_epoch = events[-1].epoch

    def _set_steps_per_epoch(self, steps_per_epoch: int) -> None:
        if not steps_per_epoch or steps_per_epoch == self.steps_per_epoch:
            return
        self.steps_per_epoch = int(steps_per_epoch)
        if len(self.steps):  # positions computed with a guess: recompute them once
            self.steps.set_column("x", self.step_to_epoch(self.steps.column("step")))


def _int_or_none(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


__all__ = ["GrowingColumns", "LayerHistory", "RunData", "ema", "rebin_histograms"]
