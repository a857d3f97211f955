"""Headless trainer epoch vs a plain hand-written loop, same model, data and optimiser, as a ratio in one run.

    cd /work/main && .venv/bin/python benchmarks/bench_training.py            # ~15 s
    cd /work/main && .venv/bin/python benchmarks/bench_training.py --quick    # smoke run, a few seconds
    .venv/bin/python benchmarks/bench_training.py --device cuda               # on a GPU (samples/s recorded)

For each template (mlp_digits, cnn_digits) the script prepares one `Trainer` and takes its data tensors
(already on the device) and its settings. The hand-written loop is what a person writes in a notebook: the
model from `build_model` (same seed, so the same initial weights), the same optimiser (Adam, same lr), and per
epoch a seeded `randperm`, index slicing, zero_grad / forward / cross-entropy / backward / step, a running
loss with `loss.item()`, then validation loss and accuracy under no_grad.

The two are interleaved epoch by epoch, so a busy machine disturbs both alike: a small `Trainer` subclass
(benchmark only) runs one hand-written epoch after each engine epoch, outside the engine's timing. An engine
epoch is timed from the end of the previous hand epoch to the end of the engine's epoch-end work, so it covers
everything the engine does (flag checks, train accuracy, validation, the record, the best-weight copy,
schedules, events). The first epoch of every run is a warm-up and is dropped. Reported: median ms per epoch of
each, the ratio of the medians (budget <= 1.05, benchmarks/README.md), the median and quartiles of the
per-epoch ratios (a noise check), and samples/s. A second row per model, informational, runs the engine with
a listener (a StepEvent every step and probes every 50 steps, what the GUI asks for). Both loops use the
engine's own thread count (`sensible_threads()`: 1 on a 2-core machine) unless `--threads N` says otherwise.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from common import ROOT, environment_line, median, print_table, verdict  # noqa: E402

from graph_engine import build_model, parse_project  # noqa: E402
from graph_engine.training import Trainer  # noqa: E402

BUDGET = 1.05
TEMPLATES = ROOT / "resources" / "templates"
CASES = ("mlp_digits", "cnn_digits")


def load(name: str, epochs: int, device: str):
    data = json.loads((TEMPLATES / f"{name}.layerloom.json").read_text(encoding="utf-8"))
    data["training"] = {**data["training"], "epochs": epochs, "device": device}
    return parse_project(data)


class HandLoop:
    """The hand-written reference: same model init, data tensors and optimiser as the engine."""

    def __init__(self, trainer: Trainer, project, device: torch.device):
        torch.manual_seed(trainer.config.seed)
        self.model = build_model(project).to(device)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=trainer.config.optimizer.lr)
        self.X, self.Y = trainer.X_train, trainer.y_train
        self.Xv, self.Yv = trainer.X_val, trainer.y_val
        self.bs = trainer.config.batch_size
        self.gen = torch.Generator().manual_seed(0)

    def epoch(self) -> tuple[float, float, float]:
        model, opt, X, Y, bs = self.model, self.opt, self.X, self.Y, self.bs
        model.train()
        perm = torch.randperm(len(X), generator=self.gen).to(X.device)
        running = 0.0
        for start in range(0, len(X), bs):
            idx = perm[start:start + bs]
            xb, yb = X[idx], Y[idx]
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            running += loss.item() * len(idx)
        model.eval()
        with torch.no_grad():
            out = model(self.Xv)
            val_loss = F.cross_entropy(out, self.Yv).item()
            accuracy = (out.argmax(1) == self.Yv).float().mean().item()
        return running / len(X), val_loss, accuracy


class Interleaved(Trainer):
    """The engine, with one hand-written epoch run after each of its epochs (outside the engine's timing).

    Engine epoch k = from the end of hand epoch k-1 to the end of the engine's epoch-end work for epoch k, so it
    covers everything the engine does between two epochs; the hand epoch is timed on its own. Pairs
    (engine epoch, hand epoch) are adjacent in time, so a busy machine disturbs both alike."""

    def __init__(self, *args, hand: HandLoop, sync, **kwargs):
        super().__init__(*args, **kwargs)
        self.hand, self.sync = hand, sync
        self.pairs: list[tuple[float, float]] = []
        self.mark = 0.0

    def _train_epoch(self, epoch):  # noqa: D401 - the first epoch starts the clock
        if epoch == 1:
            self.sync()
            self.mark = time.perf_counter()
        return super()._train_epoch(epoch)

    def _end_epoch(self, epoch, done):
        reason = super()._end_epoch(epoch, done)
        self.sync()
        t_engine = time.perf_counter()
        self.hand.epoch()
        self.sync()
        t_hand = time.perf_counter()
        self.pairs.append((t_engine - self.mark, t_hand - t_engine))
        self.mark = time.perf_counter()
        return reason


def bench(name: str, args, device: torch.device) -> list[dict]:
    project = load(name, args.epochs, str(device))
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    reference = Trainer(project, num_threads=args.threads)
    reference.prepare()
    hand = HandLoop(reference, project, device)
    n_train = len(reference.X_train)
    results = []
    for variant, listener in (("engine (headless)", None), ("engine + listener, probes/50", lambda event: None)):
        pairs: list[tuple[float, float]] = []
        for _ in range(args.rounds):
            trainer = Interleaved(project, listener=listener, num_threads=args.threads,
                                  probes=listener is not None, hand=hand, sync=sync)
            result = trainer.run()
            assert result.status == "finished", getattr(result, "message", result)
            pairs += trainer.pairs[1:]  # the first epoch of a run is a warm-up
        e = median([p[0] for p in pairs])
        h = median([p[1] for p in pairs])
        per_pair = [p[0] / p[1] for p in pairs]
        quart = statistics.quantiles(per_pair, n=4) if len(per_pair) >= 2 else [per_pair[0]] * 3
        results.append({"model": name, "variant": variant, "engine_ms": e * 1e3, "hand_ms": h * 1e3,
                        "ratio": e / h, "paired": median(per_pair), "p25": quart[0], "p75": quart[2],
                        "samples": len(pairs), "sps": n_train / e, "hand_sps": n_train / h,
                        "budget": BUDGET if listener is None else None})
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a fast smoke run (the figures are rough)")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads for both loops (default: the engine's choice, sensible_threads())")
    parser.add_argument("--rounds", type=int, default=3, help="runs per variant (default 3)")
    parser.add_argument("--epochs", type=int, default=11, help="epochs per round, the first dropped (default 11)")
    parser.add_argument("--models", default=",".join(CASES), help="comma-separated subset of: " + ", ".join(CASES))
    args = parser.parse_args(argv)
    from graph_engine.training.devices import sensible_threads

    args.threads = args.threads or sensible_threads()
    if args.quick:
        args.rounds, args.epochs = 2, 3
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    wanted = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = set(wanted) - set(CASES)
    if unknown:
        parser.error(f"unknown model(s): {', '.join(sorted(unknown))}")

    print(f"Headless trainer epoch vs hand-written loop (same model, data tensors, optimiser), device {device}"
          f"{' (QUICK: rough figures)' if args.quick else ''}")
    print(environment_line(args.threads))
    if device.type == "cuda":
        print(f"GPU: {torch.cuda.get_device_name(device)}")
    results = []
    for name in wanted:
        results += bench(name, args, device)

    print()
    headers = ["model", "variant", "engine ms", "hand ms", "ratio", "per-epoch med [p25-p75]", "engine samples/s",
               "hand samples/s", "epochs", "budget", "verdict"]
    rows = []
    for r in results:
        per_round = f"{r['paired']:.3f} [{r['p25']:.3f}-{r['p75']:.3f}]"
        rows.append([r["model"], r["variant"], f"{r['engine_ms']:.2f}", f"{r['hand_ms']:.2f}", f"{r['ratio']:.3f}",
                     per_round, f"{r['sps']:,.0f}", f"{r['hand_sps']:,.0f}", str(r["samples"]),
                     "-" if r["budget"] is None else f"<= {r['budget']:.2f}", verdict(r["ratio"], r["budget"])])
    print_table(headers, rows, text_columns=2)
    print()
    for r in results:
        if r["budget"] is not None:
            print(f"ratio {r['model']} engine/hand epoch: {r['ratio']:.3f} "
                  f"(median of {r['samples']} epochs, {r['sps']:,.0f} samples/s on {device}, "
                  f"budget <= {r['budget']:.2f}) {verdict(r['ratio'], r['budget'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
