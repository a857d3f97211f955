"""Step 2: running the traced graph at two batch sizes and keeping a summary of every value (tensor
shapes and dtypes, plain values)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import fx

from graph_engine.importer.report import ImportProblem, ImportReport, exc_text
from graph_engine.importer.tracing import target_text

BATCHES = (2, 3)


def record_runs(traced: fx.GraphModule, shapes, dtypes, batch: int, source: str) -> dict[fx.Node, Any]:
    gen = torch.Generator().manual_seed(batch)
    inputs = [torch.zeros((batch, *s), dtype=torch.int64) if d == "int64"
              else torch.randn((batch, *s), generator=gen) for s, d in zip(shapes, dtypes, strict=True)]
    recorder = _Recorder(traced)
    try:
        with torch.no_grad():
            recorder.run(*inputs)
    except Exception as exc:
        node = recorder.current
        raise ImportReport(source, [ImportProblem(
            node.name if node is not None else None,
            target_text(traced, node) if node is not None else "forward",
            f"running the module on inputs of shape {[[batch, *s] for s in shapes]} failed: {exc_text(exc)}")],
            hint="check --input-shape (one sample, batch excluded) and --dtype") from None
    return recorder.seen


class _Recorder(fx.Interpreter):
    """Runs the traced graph and keeps a summary of every node's value."""

    def __init__(self, gm: fx.GraphModule):
        super().__init__(gm)
        self.seen: dict[fx.Node, Any] = {}
        self.current: fx.Node | None = None

    def run_node(self, n: fx.Node) -> Any:
        self.current = n
        value = super().run_node(n)
        self.seen[n] = _summary(value)
        return value


@dataclass(frozen=True)
class TensorInfo:
    shape: tuple[int, ...]
    dtype: torch.dtype


def _summary(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return TensorInfo(tuple(value.shape), value.dtype)
    if isinstance(value, torch.Size):
        return tuple(int(d) for d in value)
    if isinstance(value, tuple | list):
        return type(value)(_summary(v) for v in value) if isinstance(value, list) else tuple(_summary(v) for v in value)
    return value


def has_tensor(summary: Any) -> bool:
    if isinstance(summary, TensorInfo):
        return True
    if isinstance(summary, tuple | list):
        return any(has_tensor(v) for v in summary)
    return False
