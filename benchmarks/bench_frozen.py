"""What freezing a backbone costs or saves per training epoch: the same template trained with every layer
trainable, then with all but its last Linear frozen (trainable: false), in one run, epochs interleaved.

    cd /work/main && .venv/bin/python benchmarks/bench_frozen.py            # ~1 min
    cd /work/main && .venv/bin/python benchmarks/bench_frozen.py --quick    # smoke run

A frozen layer's weights get no gradient, so backward stops at the first layer that still trains (autograd
does not go below it) and the optimiser updates fewer tensors; the forward pass is the same. Reported: median
seconds per epoch (the engine's own epoch time, first epoch dropped as a warm-up) and samples/s for both, and
their ratio. Informational: there is no budget for it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import environment_line, median, print_table  # noqa: E402

from graph_engine.templates import load_template  # noqa: E402
from graph_engine.training import Trainer  # noqa: E402


def trainers(name: str, epochs: int) -> tuple[Trainer, Trainer]:
    full = load_template(name)
    full.training = dict(full.training or {}, epochs=epochs, device="cpu", early_stopping=None)
    frozen = full.copy()
    layers = [n for n in frozen.graph if n.op == "Linear"]
    for node in frozen.graph:
        if node.op not in ("Input", "Output") and node is not layers[-1]:
            frozen.graph.set_trainable(node.id, False)
    return Trainer(full, probes=False), Trainer(frozen, probes=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two epochs of one template")
    args = parser.parse_args()
    names = ["cnn_digits"] if args.quick else ["cnn_digits", "resnet_digits"]
    epochs = 2 if args.quick else 6
    rows = []
    for name in names:
        full, frozen = trainers(name, epochs)
        results = {}
        for label, trainer in (("all trainable", full), ("backbone frozen", frozen)):
            history = trainer.run().history
            kept = history[1:] or history
            results[label] = (median([r["time_s"] for r in kept]), median([r["samples_per_s"] for r in kept]),
                              trainer.frozen_count, sum(p.numel() for p in trainer.params))
        (t_full, s_full, _, n_full), (t_frozen, s_frozen, f_frozen, n_frozen) = results.values()
        rows.append([name, f"{n_full:,}", f"{t_full:.3f}", f"{s_full:,.0f}", f"{n_frozen:,} ({f_frozen:,} frozen)",
                     f"{t_frozen:.3f}", f"{s_frozen:,.0f}", f"{t_frozen / t_full:.2f}"])
    print(environment_line())
    print_table(["template", "trained params", "s/epoch", "samples/s", "frozen: trained params", "s/epoch",
                 "samples/s", "time ratio"], rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
