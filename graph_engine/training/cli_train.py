"""`layerloom train PROJECT [--epochs N] [--device auto|cpu|cuda|mps] [--out RUN_DIR] [--resume RUN_DIR]
[--init W.safetensors [--fresh NODE]...]`.

`--init` starts from the weights in a file (transfer learning; the project's `training.init` without it) and
`--fresh NODE` names a layer that starts from its own initialisation instead, e.g. a replaced head
(graph_engine/training/init_weights.py).

Trains headless with a text progress bar on stderr (a live bar when stderr is a terminal, and one line per
epoch with its metrics always) and fills RUN_DIR (see graph_engine.training.checkpoints): metrics.json,
model.safetensors (final weights), best.safetensors, last.safetensors + last_state.pt (to resume), and
project.layerloom.json (the project as trained). Without --out, RUN_DIR is runs/<project>-<date-time> in the
current folder. `--resume RUN_DIR` continues a run after its last completed epoch (PROJECT may be left out;
`--epochs` may extend it).

Exit codes: 0 the run finished; 1 it failed (one `error: ...` line: NaN loss, out of memory, a dataset that
does not fit...) or the project is invalid; 2 the project cannot be read (not a LayerLoom file, newer format)
or a command-line mistake; 130 interrupted with Ctrl-C (the last completed epoch stays resumable). A user error
never prints a traceback.

Wiring into the main parser is one line: `add_train_arguments(sub.add_parser("train", ...))`; it sets
`func=run_train`. Importing this module does not import torch.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from graph_engine.errors import InvalidGraphError, NewerFormatError, NotAProjectError, ProjectError
from graph_engine.training.config import TrainingConfig
from graph_engine.training.events import (
    EpochEvent,
    FailedEvent,
    FinishedEvent,
    StartedEvent,
    StepEvent,
    StoppedEvent,
)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_UNUSABLE = 2
EXIT_INTERRUPTED = 130
BAR_WIDTH = 24
BAR_INTERVAL_S = 0.1  # the live bar is redrawn at most 10 times a second


def add_train_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the `train` arguments to `parser` (a sub-parser) and set func=run_train."""
    parser.add_argument("project", metavar="PROJECT", nargs="?",
                        help="a .layerloom.json file (optional with --resume)")
    parser.add_argument("--epochs", type=_positive_int, metavar="N", help="override the project's epochs")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), help="override the project's device")
    parser.add_argument("--out", metavar="RUN_DIR",
                        help="folder for metrics.json, weights and a project copy (default: runs/NAME-DATE)")
    parser.add_argument("--resume", metavar="RUN_DIR", help="continue the run saved in RUN_DIR")
    parser.add_argument("--force", action="store_true", help="start over in an --out folder that holds a run")
    parser.add_argument("--init", metavar="W.safetensors",
                        help="start from these weights (.safetensors or a .pt state_dict), matched by layer name")
    parser.add_argument("--fresh", metavar="NODE", action="append",
                        help="a layer that starts from its own initialisation although --init is given (a replaced "
                             "head); repeat for several")
    parser.set_defaults(func=run_train)
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="layerloom train", description="Train a project without the GUI.")
    return add_train_arguments(parser)


def run_train(args: argparse.Namespace | Sequence[str] | None = None, *, stdout: TextIO | None = None,
              stderr: TextIO | None = None) -> int:
    """Run `layerloom train`; `args` is a parsed namespace or the arguments after `train`. Returns the exit code."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    if not isinstance(args, argparse.Namespace):
        try:
            args = build_parser().parse_args(list(sys.argv[1:] if args is None else args))
        except SystemExit as exc:
            return exc.code if isinstance(exc.code, int) else EXIT_UNUSABLE
    trainer = None
    try:
        trainer = _make_trainer(args, err)
        if trainer is None:
            return EXIT_UNUSABLE
        progress = Progress(err)
        trainer.add_listener(progress)
        from graph_engine.training.run_lock import run_folder_lock

        with run_folder_lock(trainer.run_dir):  # a second `train` into the same --out is refused
            result = trainer.run()
    except (NotAProjectError, NewerFormatError) as exc:
        return _fail(err, str(exc), EXIT_UNUSABLE)
    except ProjectError as exc:
        return _fail(err, str(exc), EXIT_FAILED)
    except OSError as exc:
        text = f"{exc.filename}: {exc.strerror}" if exc.filename and exc.strerror else str(exc)
        return _fail(err, text, EXIT_FAILED)
    except KeyboardInterrupt:
        where = f"; continue with: layerloom train --resume {trainer.run_dir}" if trainer and trainer.epoch else ""
        print(f"\ninterrupted{where}", file=err)
        return EXIT_INTERRUPTED
    if isinstance(result, FailedEvent):
        text = result.message
        if isinstance(result.error, InvalidGraphError):
            text += " (run `layerloom check` for every problem)"
        return _fail(err, text, EXIT_FAILED)
    _summary(out, trainer, result)
    return EXIT_OK


def _make_trainer(args: argparse.Namespace, err: TextIO):
    from graph_engine.project_io import load_project
    from graph_engine.training.loop import Trainer

    if args.resume:
        if getattr(args, "init", None) or getattr(args, "fresh", None):
            raise ProjectError("--init and --fresh start a run; a resumed run continues from its checkpoint",
                               hint="leave out --init and --fresh with --resume")
        run_dir = Path(args.resume)
        if args.out and Path(args.out).resolve() != run_dir.resolve():
            raise ProjectError("--out and --resume name different folders",
                               hint="a resumed run continues in its own folder; leave out --out")
        project = load_project(Path(args.project)) if args.project else None
        return Trainer.from_checkpoint(run_dir, epochs=args.epochs, device=args.device, project=project,
                                       probes=False)
    if not args.project:
        print("error: give a PROJECT to train (or --resume RUN_DIR)", file=err)
        return None
    path = Path(args.project)
    project = load_project(path)
    config = TrainingConfig.from_project(project).with_overrides(epochs=args.epochs, device=args.device,
                                                                 init=_init_override(args, project))
    run_dir = Path(args.out) if args.out else default_run_dir(path)
    from graph_engine.training.checkpoints import LAST_STATE

    if (run_dir / LAST_STATE).exists() and not args.force:
        raise ProjectError(f"{run_dir} already holds a run",
                           hint=f"continue it with --resume {run_dir}, start over with --force, or choose another --out")
    return Trainer(project, config, run_dir=run_dir, base_dir=path.resolve().parent, probes=False)


def _init_override(args: argparse.Namespace, project: Any) -> dict[str, Any] | None:
    """training.init as --init / --fresh change it (a path on the command line starts at the current folder)."""
    weights, fresh = getattr(args, "init", None), getattr(args, "fresh", None)
    if not weights and not fresh:
        return None
    current = TrainingConfig.from_project(project).init
    if not weights:
        if current is None:
            raise ProjectError("--fresh needs starting weights", field="training.init",
                               hint="give them with --init W.safetensors")
        return {"weights": current.weights, "fresh": list(fresh)}
    return {"weights": str(Path(weights).resolve()), "fresh": list(fresh or [])}


def default_run_dir(project_path: Path) -> Path:
    stem = project_path.name.removesuffix(".json").removesuffix(".layerloom") or "run"
    base = Path("runs") / f"{stem}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    candidate, n = base, 2
    while candidate.exists():
        candidate = base.with_name(f"{base.name}-{n}")
        n += 1
    return candidate


def _fail(err: TextIO, message: str, code: int) -> int:
    text = " ".join(str(message).split())  # one line, whatever the message held
    print(f"error: {_clean(text)}", file=err)
    return code


def _clean(text: str) -> str:
    return text if text.isprintable() else "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _summary(out: TextIO, trainer: Any, result: FinishedEvent | StoppedEvent) -> None:
    run_dir = trainer.run_dir
    best = result.best
    best_text = (f"; best {best['monitor']} {best['value']:.4g} at epoch {best['epoch']}" if best else "")
    if isinstance(result, FinishedEvent) and result.stopped_early:
        best_text += f" ({result.reason})"
    if trainer.task == "gan":
        print(f"wrote {run_dir}: samples.png, metrics.json, model.safetensors (the generator), "
              "discriminator.safetensors, project.layerloom.json", file=out)
        return
    print(f"wrote {run_dir}: metrics.json, model.safetensors, best.safetensors, project.layerloom.json{best_text}",
          file=out)


class Progress:
    """A listener that draws the progress on a text stream: a live bar on a terminal, a line per epoch."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.live = bool(getattr(stream, "isatty", lambda: False)())
        self.epochs = 0
        self.steps = 1
        self.start_epoch = 0
        self.t_start = time.perf_counter()
        self.last_draw = 0.0
        self.step_in_epoch = 0
        self.metric_keys: tuple[str, ...] = ()

    def __call__(self, event: Any) -> None:
        if isinstance(event, StepEvent):
            self.step_in_epoch += 1
            if self.live:
                now = time.perf_counter()
                if now - self.last_draw >= BAR_INTERVAL_S:
                    self.last_draw = now
                    self._bar(event)
        elif isinstance(event, EpochEvent):
            self.step_in_epoch = 0
            self._line(self._epoch_text(event.record))
            if event.record.get("warning"):  # a GAN's collapse warning
                self._line(f"warning: {event.record['warning']}")
            if event.generated:  # a language model's sample, indented under its epoch
                self._line("  generated: " + event.generated.replace("\n", "\n  "))
        elif isinstance(event, StartedEvent):
            self.epochs, self.steps, self.start_epoch = event.epochs, event.steps_per_epoch, event.start_epoch
            self.t_start = time.perf_counter()
            resumed = f", resuming after epoch {event.start_epoch}" if event.start_epoch else ""
            amp = ", mixed precision" if event.mixed_precision else ""
            self._line(f"training on {event.device} ({event.device_name}{amp}): {event.dataset}, {event.n_train} "
                       f"train / {event.n_val} validation samples, {event.epochs} epochs of {event.steps_per_epoch} "
                       f"steps (batch {event.batch_size}), {event.param_count:,} parameters{resumed}"
                       + (f" ({event.frozen_count:,} more frozen)" if event.frozen_count else ""))
            for warning in event.warnings:
                self._line(f"warning: {warning}")
        elif isinstance(event, StoppedEvent):
            self._line(f"stopped at epoch {event.epoch}, step {event.step}")
        elif isinstance(event, FinishedEvent):
            self._line(f"done in {time.perf_counter() - self.t_start:.1f} s"
                       + (f" ({event.reason})" if event.stopped_early else ""))

    def _epoch_text(self, r: dict[str, Any]) -> str:
        width = len(str(self.epochs))
        parts = [f"epoch {r['epoch']:>{width}}/{self.epochs}"]
        for key in ("train_loss", "train_accuracy", "val_loss", "val_bits_per_char", "val_accuracy", "val_mae",
                    "val_r2") if "d_loss" not in r else ("d_loss", "g_loss", "d_real_accuracy", "d_fake_accuracy"):
            if key in r:
                value = r[key]
                parts.append(f"{key} {'-' if value is None else f'{value:.4f}'}")
        parts.append(f"lr {r['lr']:.3g}")
        parts.append(f"{r['time_s']:.2f} s")
        if r.get("samples_per_s"):
            parts.append(f"{r['samples_per_s']:,.0f} samples/s")
        return "  ".join(parts)

    def _bar(self, event: StepEvent) -> None:
        done = min(self.step_in_epoch, self.steps)
        filled = int(BAR_WIDTH * done / self.steps)
        elapsed = time.perf_counter() - self.t_start
        total = (self.epochs - self.start_epoch) * self.steps
        finished = (event.epoch - 1 - self.start_epoch) * self.steps + done
        eta = f"  ETA {_duration(elapsed * (total - finished) / finished)}" if finished else ""
        text = (f"epoch {event.epoch}/{self.epochs} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] "
                f"{done}/{self.steps}  loss {event.loss:.4f}{eta}")
        self.stream.write("\r" + text + "\x1b[K")
        self.stream.flush()

    def _line(self, text: str) -> None:
        if self.live:
            self.stream.write("\r\x1b[K")
        self.stream.write(text + "\n")
        self.stream.flush()


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds // 60 % 60:02d}m"


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    return run_train(list(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["Progress", "add_train_arguments", "default_run_dir", "run_train"]
