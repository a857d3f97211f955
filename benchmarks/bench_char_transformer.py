"""Validation bits per character of a language-model template per epoch, against the process's CPU time.

    python benchmarks/bench_char_transformer.py [--template char_transformer] [--epochs N] [--threads 1]

CPU time (user + sys) is printed next to the wall time because on a shared machine the wall time measures the
other processes; with one thread the CPU time is what one otherwise idle core takes.
"""

from __future__ import annotations

import argparse
import resource
import time

from graph_engine.templates import load_template
from graph_engine.training import Trainer, TrainingConfig
from graph_engine.training.events import EpochEvent


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template", default="char_transformer")
    parser.add_argument("--epochs", type=int, default=None, help="default: the template's own")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    project = load_template(args.template)
    config = TrainingConfig.from_project(project).with_overrides(epochs=args.epochs, device="cpu")
    t0, c0 = time.perf_counter(), cpu_seconds()

    def report(event):
        if isinstance(event, EpochEvent):
            r = event.record
            print(f"epoch {r['epoch']:3d}  cpu {cpu_seconds() - c0:7.1f} s  wall {time.perf_counter() - t0:7.1f} s  "
                  f"val {r['val_bits_per_char']:.3f} bits/char  next-char accuracy {r['val_accuracy']:.3f}",
                  flush=True)
            print("  " + repr(event.generated[-120:]), flush=True)

    result = Trainer(project, config, listener=report, num_threads=args.threads, probes=False).run()
    print(type(result).__name__, getattr(result, "message", ""))


if __name__ == "__main__":
    main()
