"""The status bar's summary of the network: parameters, FLOPs per sample and estimated training memory.

The numbers come from the document's last CheckResult (nothing is recomputed here); the memory estimate uses
`estimated_memory_bytes` at the project's batch size, and says whether that fits the memory free on the
project's device (graph_engine/training/fit.py: "fits CPU" / "too big for cuda:0", the largest batch size that
fits in the tooltip). `memory_source(device) -> bytes | None` gives the free memory; tests pass a figure. `format_count` and `format_bytes` are the human units
every panel uses (12.3k, 4.5M; KiB/MiB/GiB).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QWidget

from app.panels.param_editors import muted_color
from graph_engine.training.fit import memory_fit, resolved_device
from graph_engine.training.freezing import parameter_split
from graph_engine.training.settings import batch_size_of
from graph_engine.validation import CheckResult, estimated_memory_bytes

_COUNT_UNITS = ("", "k", "M", "G", "T", "P")
_BYTE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def format_count(n: int | float) -> str:
    """A count in short human units: 950 -> "950", 12_345 -> "12.3k", 4_500_000 -> "4.5M"."""
    n = float(n)
    sign = "-" if n < 0 else ""
    n = abs(n)
    if n < 1000:
        return f"{sign}{int(round(n))}"
    for i, unit in enumerate(_COUNT_UNITS):
        scaled = n / 1000 ** i
        # Pick the unit after rounding, so 999_960 reads "1.0M" and not "1000.0k".
        if round(scaled, 1) < 1000 or unit == _COUNT_UNITS[-1]:
            return f"{sign}{scaled:.1f}{unit}"
    raise AssertionError("unreachable")


def format_bytes(n: int | float) -> str:
    """A size in binary units: 512 -> "512 B", 1536 -> "1.5 KiB", 3 * 2**30 -> "3.0 GiB"."""
    n = float(n)
    if n < 1024:
        return f"{int(n)} B"
    for i, unit in enumerate(_BYTE_UNITS):
        scaled = n / 1024 ** i
        if round(scaled, 1) < 1024 or unit == _BYTE_UNITS[-1]:
            return f"{scaled:.1f} {unit}"
    raise AssertionError("unreachable")


class StatusInfo(QWidget):
    """Three compact read-outs for the main window's status bar; updates itself on `document.checked`.

    Call `refresh()` after changing something the check result does not cover (the training batch size).
    """

    FITS_COLOR, TOO_BIG_COLOR = "#2e8b57", "#c0392b"

    def __init__(self, document, parent: QWidget | None = None, *,
                 memory_source: Callable[[str], int | None] | None = None):
        super().__init__(parent)
        from graph_engine.training.fit import free_memory

        self.document = document
        self.memory_source = memory_source or free_memory
        self.fit = None  # the last MemoryFit (None while the network is empty)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 0, 6, 0)
        layout.setSpacing(10)
        self.params_label = QLabel()
        self.flops_label = QLabel()
        self.memory_label = QLabel()
        for i, label in enumerate((self.params_label, self.flops_label, self.memory_label)):
            if i:
                layout.addWidget(_separator())
            label.setTextFormat(Qt.TextFormat.RichText)
            layout.addWidget(label)
        document.checked.connect(self._on_checked)
        self.refresh()

    def _on_checked(self, result: CheckResult) -> None:
        self.refresh()

    def refresh(self) -> None:
        result = self.document.result
        batch = batch_size_of(self.document.project.training)
        params, flops = result.total_params, result.total_flops
        memory = estimated_memory_bytes(result, batch)
        muted = muted_color(self.palette()).name()
        # Nothing reaches an Output yet: zeros would read as a real (empty) network.
        empty = not result.live
        params_text = "—" if empty else format_count(params)
        flops_text = "—" if empty else format_count(flops)
        memory_text = "—" if empty else format_bytes(memory)
        trainable, frozen = parameter_split(self.document.project, result) if not empty else (params, 0)
        frozen_text = f" <span style='color:{muted}'>({format_count(frozen)} frozen)</span>" if frozen else ""
        self.params_label.setText(f"<span style='color:{muted}'>Params</span> {params_text}{frozen_text}")
        device = resolved_device((self.document.project.training or {}).get("device"))
        self.fit = None if empty else memory_fit(result, batch, self.memory_source(device), device)
        verdict = ""
        if self.fit is not None and self.fit.known:
            where = "CPU" if device == "cpu" else device
            color = self.FITS_COLOR if self.fit.fits else self.TOO_BIG_COLOR
            verdict = (f" <span style='color:{color}'>{'fits' if self.fit.fits else 'too big for'} {where}</span>")
        self.flops_label.setText(f"<span style='color:{muted}'>FLOPs</span> {flops_text}")
        self.memory_label.setText(f"<span style='color:{muted}'>Memory</span> {memory_text} "
                                  f"<span style='color:{muted}'>@ batch {batch}</span>{verdict}")
        partial = ("\nLayers with errors are not counted until they are fixed." if not result.ok else "")
        split = f"{trainable:,} trainable and {frozen:,} frozen" if frozen else f"{params:,} trainable"
        self.params_label.setToolTip(f"{split} parameters in the layers that reach an Output{partial}")
        self.flops_label.setToolTip(f"{flops:,} floating-point operations for one sample's forward pass{partial}")
        self.memory_label.setToolTip(
            f"About {memory:,} bytes to train at batch size {batch}: weights, gradients and Adam's two moments, "
            f"plus the activations kept for the backward pass{partial}"
            + (f"\nAt batch size {batch} it {self.fit.text()}. Train > Find Batch Size picks the largest that fits."
               if self.fit is not None else ""))


def _separator() -> QFrame:
    line = QFrame()
    line.setFrameShape(QFrame.Shape.VLine)
    line.setFrameShadow(QFrame.Shadow.Plain)
    line.setEnabled(False)
    line.setFixedHeight(14)
    return line
