"""Built model vs hand-written PyTorch: forward + backward, as a ratio measured in one run.

    cd /work/main && .venv/bin/python benchmarks/bench_model.py            # ~8 s per model
    cd /work/main && .venv/bin/python benchmarks/bench_model.py --quick    # smoke run, a few seconds

For each network the script constructs a project dict, builds it with `graph_engine.build_model` (the
generated source, executed) and compares it with the same network written by hand as an ordinary
`nn.Module` class in this file, in two styles:

- "modules":    activations/pooling as module attributes, the same layout the generated code has;
- "functional": only the layers with weights are modules, activations are `torch.relu` etc. in forward().

Both hand-written models get the built model's weights (`load_state_dict(strict=True)`, the keys are equal)
and the same input batch; their outputs are compared before timing. One timed step is zero_grad, forward,
`out.square().mean()`, backward. After a warm-up the models run in rotating interleaved order (A B C,
B C A, C A B, ...), each sample a block of several steps; the table reports the median time per step of
each model and the ratio built / hand-written of the medians (budget <= 1.02, benchmarks/README.md), plus the
median and 25th-75th percentiles of the per-round ratios (built / reference within one round), and the
ratio of the medians of process CPU time (time.process_time, which leaves out time spent waiting for a core).
These are checks on the noise: when they disagree with the ratio by more than 0.02, or wall time is well
above CPU time, the machine was busy and the script says so; run again. A round in which any sample lost
the CPU to another process (wall > 1.05 x CPU time) is dropped. "samples" is rounds kept/rounds run x steps
per sample (a sample lasts ~4 ms, so a scheduler slice lost to another process spoils few of them).
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    chain,
    edge,
    environment_line,
    median,
    node,
    print_table,
    project,
    verdict,
)

BUDGET = 1.02

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from graph_engine import build_model, load_project  # noqa: E402

# ---- (a) MLP on [64] ---------------------------------------------------------------------------------------


def mlp_project() -> dict:
    return project([node("x", "Input", shape=[64]),
                    node("fc1", "Linear", out_features=128), node("act1", "ReLU"),
                    node("fc2", "Linear", out_features=64), node("act2", "ReLU"),
                    node("fc3", "Linear", out_features=10),
                    node("out", "Output")],
                   chain("x", "fc1", "act1", "fc2", "act2", "fc3", "out"), name="Bench MLP")


class MLPModules(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 128)
        self.act1 = nn.ReLU()
        self.fc2 = nn.Linear(128, 64)
        self.act2 = nn.ReLU()
        self.fc3 = nn.Linear(64, 10)

    def forward(self, x):
        return self.fc3(self.act2(self.fc2(self.act1(self.fc1(x)))))


class MLPFunctional(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 128)
        self.fc2 = nn.Linear(128, 64)
        self.fc3 = nn.Linear(64, 10)

    def forward(self, x):
        x = torch.relu(self.fc1(x))
        x = torch.relu(self.fc2(x))
        return self.fc3(x)


# ---- (b) residual CNN on [1, 8, 8] (digits-sized) ------------------------------------------------------------

CH = 16


def cnn_project() -> dict:
    nodes = [node("x", "Input", shape=[1, 8, 8]),
             node("stem", "Conv2d", out_channels=CH, kernel_size=3, padding=1),
             node("stem_bn", "BatchNorm2d"), node("stem_act", "ReLU")]
    edges = chain("x", "stem", "stem_bn", "stem_act")
    prev = "stem_act"
    for b in (1, 2):
        ids = [f"b{b}_conv1", f"b{b}_bn1", f"b{b}_act1", f"b{b}_conv2", f"b{b}_bn2"]
        nodes += [node(ids[0], "Conv2d", out_channels=CH, kernel_size=3, padding=1, bias=False),
                  node(ids[1], "BatchNorm2d"), node(ids[2], "ReLU"),
                  node(ids[3], "Conv2d", out_channels=CH, kernel_size=3, padding=1, bias=False),
                  node(ids[4], "BatchNorm2d"),
                  node(f"b{b}_add", "Add"), node(f"b{b}_act2", "ReLU")]
        edges += chain(prev, *ids)
        edges += [edge(ids[4], f"b{b}_add", 0, 0), edge(prev, f"b{b}_add", 0, 1)]
        edges += chain(f"b{b}_add", f"b{b}_act2")
        prev = f"b{b}_act2"
    nodes += [node("pool", "MaxPool2d", kernel_size=2), node("flat", "Flatten"),
              node("fc", "Linear", out_features=10), node("out", "Output")]
    edges += chain(prev, "pool", "flat", "fc", "out")
    return project(nodes, edges, name="Bench ResCNN")


class CNNModules(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, CH, kernel_size=3, padding=1)
        self.stem_bn = nn.BatchNorm2d(CH)
        self.stem_act = nn.ReLU()
        self.b1_conv1 = nn.Conv2d(CH, CH, kernel_size=3, padding=1, bias=False)
        self.b1_bn1 = nn.BatchNorm2d(CH)
        self.b1_act1 = nn.ReLU()
        self.b1_conv2 = nn.Conv2d(CH, CH, kernel_size=3, padding=1, bias=False)
        self.b1_bn2 = nn.BatchNorm2d(CH)
        self.b1_act2 = nn.ReLU()
        self.b2_conv1 = nn.Conv2d(CH, CH, kernel_size=3, padding=1, bias=False)
        self.b2_bn1 = nn.BatchNorm2d(CH)
        self.b2_act1 = nn.ReLU()
        self.b2_conv2 = nn.Conv2d(CH, CH, kernel_size=3, padding=1, bias=False)
        self.b2_bn2 = nn.BatchNorm2d(CH)
        self.b2_act2 = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.flat = nn.Flatten()
        self.fc = nn.Linear(CH * 4 * 4, 10)

    def forward(self, x):
        x = self.stem_act(self.stem_bn(self.stem(x)))
        y = self.b1_bn2(self.b1_conv2(self.b1_act1(self.b1_bn1(self.b1_conv1(x)))))
        x = self.b1_act2(y + x)
        y = self.b2_bn2(self.b2_conv2(self.b2_act1(self.b2_bn1(self.b2_conv1(x)))))
        x = self.b2_act2(y + x)
        return self.fc(self.flat(self.pool(x)))


class CNNFunctional(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, CH, kernel_size=3, padding=1)
        self.stem_bn = nn.BatchNorm2d(CH)
        self.b1_conv1 = nn.Conv2d(CH, CH, kernel_size=3, padding=1, bias=False)
        self.b1_bn1 = nn.BatchNorm2d(CH)
        self.b1_conv2 = nn.Conv2d(CH, CH, kernel_size=3, padding=1, bias=False)
        self.b1_bn2 = nn.BatchNorm2d(CH)
        self.b2_conv1 = nn.Conv2d(CH, CH, kernel_size=3, padding=1, bias=False)
        self.b2_bn1 = nn.BatchNorm2d(CH)
        self.b2_conv2 = nn.Conv2d(CH, CH, kernel_size=3, padding=1, bias=False)
        self.b2_bn2 = nn.BatchNorm2d(CH)
        self.fc = nn.Linear(CH * 4 * 4, 10)

    def forward(self, x):
        x = F.relu(self.stem_bn(self.stem(x)))
        y = self.b1_bn2(self.b1_conv2(F.relu(self.b1_bn1(self.b1_conv1(x)))))
        x = F.relu(y + x)
        y = self.b2_bn2(self.b2_conv2(F.relu(self.b2_bn1(self.b2_conv1(x)))))
        x = F.relu(y + x)
        return self.fc(torch.flatten(F.max_pool2d(x, 2), 1))


# ---- (c) LSTM sequence model: [32, 8] -> LSTM 64 -> last step -> Linear 1 ------------------------------------


def lstm_project() -> dict:
    return project([node("x", "Input", shape=[32, 8]),
                    node("lstm", "LSTM", hidden_size=64, batch_first=True),
                    node("last", "Select", dim=1, index=-1),
                    node("fc", "Linear", out_features=1),
                    node("out", "Output")],
                   chain("x", "lstm", "last", "fc", "out"), name="Bench LSTM")


class LSTMHand(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(8, 64, batch_first=True)
        self.fc = nn.Linear(64, 1)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.fc(out[:, -1])


# ---- measuring -----------------------------------------------------------------------------------------------


@dataclass
class Case:
    name: str
    make_project: Callable[[], dict]
    input_shape: tuple[int, ...]
    references: dict[str, type[nn.Module]]


CASES = [
    Case("mlp", mlp_project, (64,), {"modules": MLPModules, "functional": MLPFunctional}),
    Case("rescnn", cnn_project, (1, 8, 8), {"modules": CNNModules, "functional": CNNFunctional}),
    Case("lstm", lstm_project, (32, 8), {"hand-written": LSTMHand}),
]


def make_step(model: nn.Module, x: torch.Tensor, sync: Callable[[], None]) -> Callable[[int], tuple[float, float]]:
    """A function running `n` training steps (without the optimizer); returns (wall, process CPU) seconds
    per step."""

    def run(n: int) -> tuple[float, float]:
        sync()
        c0, t0 = time.process_time(), time.perf_counter()
        for _ in range(n):
            model.zero_grad(set_to_none=True)
            out = model(x)
            out.square().mean().backward()
        sync()
        t1, c1 = time.perf_counter(), time.process_time()
        return (t1 - t0) / n, (c1 - c0) / n

    return run


def percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    k = (len(s) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def bench_case(case: Case, args, device: torch.device, sync) -> list[dict]:
    torch.manual_seed(0)
    built = build_model(load_project(case.make_project())).to(device).train()
    models: dict[str, nn.Module] = {"built": built}
    for label, cls in case.references.items():
        hand = cls().to(device).train()
        hand.load_state_dict(built.state_dict(), strict=True)
        models[label] = hand
    x = torch.randn(args.batch, *case.input_shape, device=device)
    with torch.no_grad():
        expected = built(x)
        for label, model in models.items():
            got = model(x)
            if got.shape != expected.shape or not torch.allclose(got, expected, rtol=1e-4, atol=1e-5):
                raise SystemExit(f"{case.name}: {label} does not compute what the built model computes")

    steps = {label: make_step(m, x, sync) for label, m in models.items()}
    for run in steps.values():  # warm-up: allocator, autograd graph caches, CPU frequency
        run(args.warmup)
    # Steps per sample, so that one sample lasts about `sample_ms`.
    one = median([steps["built"](1)[0] for _ in range(5)])
    inner = max(1, round(args.sample_ms / 1000 / max(one, 1e-7)))
    labels = list(steps)
    rounds = max(3, int(args.seconds / (len(labels) * inner * one)))
    if args.quick:
        rounds = min(rounds, 5)
    samples: dict[str, list[float]] = {label: [] for label in labels}
    cpu: dict[str, list[float]] = {label: [] for label in labels}
    gc_was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        for r in range(rounds):
            shift = r % len(labels)
            for label in labels[shift:] + labels[:shift]:  # rotate who goes first: no order advantage
                wall, cpu_time = steps[label](inner)
                samples[label].append(wall)
                cpu[label].append(cpu_time)
    finally:
        if gc_was_enabled:
            gc.enable()

    # A round in which some sample lost the CPU to another process (wall time well above CPU time) says
    # nothing about the models: drop it, unless too few rounds are left to say anything at all.
    clean = [r for r in range(rounds)
             if all(samples[k][r] <= 1.05 * cpu[k][r] + 20e-6 / inner for k in labels)]
    if len(clean) >= max(3, rounds // 5):
        samples = {k: [v[r] for r in clean] for k, v in samples.items()}
        cpu = {k: [v[r] for r in clean] for k, v in cpu.items()}
    built_med = median(samples["built"])
    rows = []
    for label in labels[1:]:
        ref_med = median(samples[label])
        paired = [b / h for b, h in zip(samples["built"], samples[label], strict=True)]
        rows.append({"model": case.name, "reference": label, "built_ms": built_med * 1e3, "hand_ms": ref_med * 1e3,
                     "ratio": built_med / ref_med, "paired": median(paired),
                     "cpu_ratio": median(cpu["built"]) / median(cpu[label]),
                     "busy": built_med / median(cpu["built"]),
                     "p25": percentile(paired, 0.25), "p75": percentile(paired, 0.75),
                     "rounds": rounds, "kept": len(samples["built"]), "inner": inner})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a fast smoke run (the figures are rough)")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=8.0, help="timed seconds per model (default 8)")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument("--models", default=",".join(c.name for c in CASES),
                        help="comma-separated subset of: " + ", ".join(c.name for c in CASES))
    args = parser.parse_args(argv)
    args.warmup, args.sample_ms = 30, 4.0
    if args.quick:
        args.seconds, args.warmup, args.sample_ms = 0.3, 3, 2.0

    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    wanted = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = set(wanted) - {c.name for c in CASES}
    if unknown:
        parser.error(f"unknown model(s): {', '.join(sorted(unknown))}")

    print(f"Built model vs hand-written PyTorch: forward+backward, batch {args.batch}, device {device}"
          f"{' (QUICK: rough figures)' if args.quick else ''}")
    print(environment_line(args.threads))
    results = []
    for case in CASES:
        if case.name in wanted:
            results += bench_case(case, args, device, sync)

    print()
    headers = ["model", "reference", "built ms", "hand ms", "ratio", "per-round ratio med [p25-p75]",
               "cpu ratio", "samples", "budget", "verdict"]
    print_table(headers, [[r["model"], r["reference"], f"{r['built_ms']:.4f}", f"{r['hand_ms']:.4f}",
                           f"{r['ratio']:.3f}", f"{r['paired']:.3f} [{r['p25']:.3f}-{r['p75']:.3f}]",
                           f"{r['cpu_ratio']:.3f}",
                           f"{r['kept']}/{r['rounds']}x{r['inner']}",
                           f"<= {BUDGET:.2f}", verdict(r["ratio"], BUDGET)] for r in results], text_columns=2)
    noisy = [r for r in results if r["busy"] > 1.10 or abs(r["ratio"] - r["paired"]) > 0.02
             or abs(r["ratio"] - r["cpu_ratio"]) > 0.02]
    if noisy:
        print("\nNOTE: the machine was busy or noisy during " + ", ".join(sorted({r["model"] for r in noisy}))
              + " (wall time well above CPU time, or the ratio estimates disagree by > 0.02): those figures are "
              "not reliable; run again on a quieter machine.")
    print()
    for r in results:
        print(f"ratio {r['model']} built/{r['reference']}: {r['ratio']:.3f} (budget <= {BUDGET:.2f}) "
              f"{verdict(r['ratio'], BUDGET)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
