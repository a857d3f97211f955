"""Looking inside the network: probe statistics and finding the first layer that went non-finite.

Forward hooks are installed only for the duration of one probe forward pass (or one diagnosis) and removed in
a `finally`, so the training steps themselves never run with hooks. The generated model names each layer
attribute after its node id, so a top-level child's name *is* the node id (functional nodes such as Add or
Concat have no module and do not appear).

A probe runs the fixed probe batch in eval mode under no_grad and inside `torch.random.fork_rng`: it never
changes the weights, BatchNorm statistics or the random number stream, so probing does not change training.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from torch import nn

from graph_engine.training.events import DecisionBoundary, FeatureMaps, LayerStats, ProbeEvent

RELU_LIKE = frozenset({"ReLU", "ReLU6"})  # outputs exactly 0 for negative inputs: units can "die"
HIST_BINS = 30
HIST_SAMPLES = 8192  # histogram from at most this many values per layer (an even stride over the rest)
MAX_FEATURE_MAPS = 64
GRID = 60  # decision-boundary grid points per axis
MAX_POINTS = 1000


def node_modules(model: nn.Module, node_ops: dict[str, str]) -> list[tuple[str, nn.Module]]:
    """(node id, module) for every top-level child of the generated model that is a node of the graph."""
    return [(name, m) for name, m in model.named_children() if name in node_ops]


def first_tensor(value: Any) -> torch.Tensor | None:
    """The first tensor in a module output (LSTM returns (output, (h, c)); attention (output, weights))."""
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, list | tuple):
        for item in value:
            found = first_tensor(item)
            if found is not None:
                return found
    return None


def _all_tensors(value: Any) -> Iterator[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _all_tensors(item)


@contextmanager
def forward_hooks(modules: list[tuple[str, nn.Module]], fn: Callable[[str, Any], None]) -> Iterator[None]:
    """Hooks calling fn(node_id, output) on each module, removed when the block ends (even on error)."""
    handles = []
    try:
        for name, module in modules:
            handles.append(module.register_forward_hook(_hook(name, fn)))
        yield
    finally:
        for handle in handles:
            handle.remove()


def _hook(name: str, fn: Callable[[str, Any], None]):
    def hook(module, inputs, output):
        fn(name, output)

    return hook


# ---- non-finite diagnosis --------------------------------------------------------------------------------


def find_first_nonfinite(model: nn.Module, node_ops: dict[str, str], x: torch.Tensor,
                         autocast: Any = None) -> tuple[str | None, str]:
    """Run `x` through `model` (its current mode) with hooks; the first node (in execution order) whose output
    holds NaN or Inf, and "NaN" or "Inf". (None, "") when every layer output is finite."""
    found: list[tuple[str, str]] = []

    def check(name: str, output: Any) -> None:
        if found:
            return
        for t in _all_tensors(output):
            if t.is_floating_point() and not bool(torch.isfinite(t).all()):
                found.append((name, "NaN" if bool(torch.isnan(t).any()) else "Inf"))
                return

    modules = node_modules(model, node_ops)
    with torch.no_grad(), torch.random.fork_rng(devices=_rng_devices(x)), forward_hooks(modules, check):
        try:
            if autocast is not None:
                with autocast():
                    model(x)
            else:
                model(x)
        except RuntimeError:
            pass  # a layer may refuse NaN input; what was found before it still counts
    return found[0] if found else (None, "")


def nonfinite_parameters(model: nn.Module, node_ops: dict[str, str]) -> str | None:
    """The first node (in definition order) whose parameters hold NaN/Inf, else None."""
    for name, module in node_modules(model, node_ops):
        for p in module.parameters():
            if not bool(torch.isfinite(p).all()):
                return name
    return None


def _rng_devices(x: torch.Tensor) -> list[int]:
    return [x.device.index or 0] if x.device.type == "cuda" else []


# ---- probes ----------------------------------------------------------------------------------------------


class ProbeRunner:
    """Collects a ProbeEvent on demand: activation statistics on a fixed probe batch, gradient and weight norms,
    the first conv layer's feature maps, and the decision boundary for 2-D point classification."""

    def __init__(self, model: nn.Module, node_ops: dict[str, str], probe_x: torch.Tensor, *,
                 boundary_points: torch.Tensor | None = None, boundary_labels: torch.Tensor | None = None,
                 autocast: Any = None):
        self.model = model
        self.node_ops = node_ops
        self.probe_x = probe_x
        self.autocast = autocast
        self.modules = node_modules(model, node_ops)
        self.grid: torch.Tensor | None = None
        self.boundary: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None
        if boundary_points is not None and boundary_labels is not None and len(boundary_points):
            self._make_grid(boundary_points, boundary_labels)

    def _make_grid(self, points: torch.Tensor, labels: torch.Tensor) -> None:
        pts = points.detach().float().cpu()
        low = pts.min(0).values
        high = pts.max(0).values
        pad = (high - low).clamp(min=1e-3) * 0.1
        xs = torch.linspace(float(low[0] - pad[0]), float(high[0] + pad[0]), GRID)
        ys = torch.linspace(float(low[1] - pad[1]), float(high[1] + pad[1]), GRID)
        gy, gx = torch.meshgrid(ys, xs, indexing="ij")
        self.grid = torch.stack([gx.reshape(-1), gy.reshape(-1)], 1).to(points.device, points.dtype)
        keep = min(MAX_POINTS, len(pts))
        self.boundary = (xs.numpy(), ys.numpy(), pts[:keep].numpy().copy(),
                         labels[:keep].detach().cpu().numpy().astype(np.int64))

    def norms(self) -> dict[str, tuple[float | None, float | None]]:
        """node id -> (gradient norm, weight norm) of the current parameters and gradients."""
        out: dict[str, tuple[float | None, float | None]] = {}
        for name, module in self.modules:
            params = list(module.parameters())
            if not params:
                out[name] = (None, None)
                continue
            weight = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(p.detach().float())
                                                           for p in params]))
            grads = [p.grad for p in params if p.grad is not None]
            grad = (torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g.detach().float())
                                                          for g in grads])) if grads else None)
            out[name] = (None if grad is None else float(grad), float(weight))
        return out

    def run(self, step: int, epoch: int) -> ProbeEvent:
        norms = self.norms()
        outputs: dict[str, torch.Tensor] = {}

        def keep(name: str, output: Any) -> None:
            t = first_tensor(output)
            if t is not None and name not in outputs:
                outputs[name] = t.detach()

        model = self.model
        # Each module's own mode comes back (a frozen layer's BatchNorm stays in eval mode: freezing.py).
        modes = [(m, m.training) for m in model.modules()]
        feature_maps = None
        boundary = None
        try:
            model.eval()
            with torch.no_grad(), torch.random.fork_rng(devices=_rng_devices(self.probe_x)):
                with forward_hooks(self.modules, keep):
                    self._forward(self.probe_x)
                if self.grid is not None and self.boundary is not None:
                    probs = torch.softmax(self._forward(self.grid).float(), dim=1)
                    xs, ys, pts, labels = self.boundary
                    boundary = DecisionBoundary(xs, ys, probs.reshape(GRID, GRID, -1).cpu().numpy(), pts, labels)
        finally:
            for module, mode in modes:
                module.training = mode
        layers: dict[str, LayerStats] = {}
        for name, t in outputs.items():
            op = self.node_ops[name]
            layers[name] = _stats(name, op, t, norms.get(name, (None, None)))
            if feature_maps is None and op.startswith("Conv") and t.dim() == 4 and t.is_floating_point():
                maps = t[0, :MAX_FEATURE_MAPS].float().cpu().numpy().copy()
                sample = self.probe_x[0].float().cpu().numpy().copy()
                feature_maps = FeatureMaps(name, maps, sample)
        return ProbeEvent(step, epoch, layers, feature_maps, boundary)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.autocast is not None:
            with self.autocast():
                return self.model(x)
        return self.model(x)


def _stats(name: str, op: str, t: torch.Tensor, norms: tuple[float | None, float | None]) -> LayerStats:
    shape = tuple(int(d) for d in t.shape)
    if not t.is_floating_point() or t.numel() == 0:
        empty = np.zeros(HIST_BINS, dtype=np.int64)
        return LayerStats(name, op, shape, math.nan, math.nan, math.nan, math.nan, empty,
                          np.zeros(HIST_BINS + 1, dtype=np.float32), None, *norms)
    v = t.float()
    flat = v.reshape(-1)
    figures = torch.stack([flat.mean(), flat.std(correction=0), flat.min(), flat.max()]).tolist()
    if all(math.isfinite(f) for f in figures):  # the usual case: no mask, one sync
        finite = flat
        mean, std, low, high = figures
    else:
        finite = flat[torch.isfinite(flat)]
        if finite.numel():
            mean, std = float(finite.mean()), float(finite.std(correction=0))
            low, high = float(finite.min()), float(finite.max())
        else:
            low = high = mean = std = math.nan
    lo, hi = (low, high) if math.isfinite(low) else (0.0, 1.0)
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    if finite.numel() > HIST_SAMPLES:  # an evenly strided sample is plenty for a 30-bin picture
        step = -(-finite.numel() // HIST_SAMPLES)
        finite = finite[::step]
    counts = torch.histc(finite, bins=HIST_BINS, min=lo, max=hi) if finite.numel() else torch.zeros(HIST_BINS)
    edges = np.linspace(lo, hi, HIST_BINS + 1, dtype=np.float32)
    dead = None
    if op in RELU_LIKE and v.dim() >= 2:
        if v.dim() == 3:  # [N, C, L] or [N, T, F]: ambiguous, so every (non-batch) position is a unit
            units = v.reshape(v.shape[0], -1).transpose(0, 1)
        else:  # [N, F] features, [N, C, H, W] channels
            units = v.transpose(0, 1).reshape(v.shape[1], -1)
        dead = float((units <= 0).all(dim=1).float().mean())
    return LayerStats(name, op, shape, mean, std, low, high, counts.cpu().numpy().astype(np.int64), edges, dead,
                      *norms)


__all__ = ["RELU_LIKE", "ProbeRunner", "find_first_nonfinite", "first_tensor", "forward_hooks", "node_modules",
           "nonfinite_parameters"]
