"""What a language model writes: the sample text after each epoch and the validation bits per character.

The trainer draws the sample (graph_engine/training/loop.py, `EpochEvent.generated`: 240 characters after the
first validation window's first 16, temperature 0.8, the run's seed), so epochs are compared on the same prompt.
The newest sample is on top; the ones before it follow, each under its epoch and figure, so a person sees the
text turn from letter soup into words.
"""

from __future__ import annotations

import html

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QTextBrowser, QWidget

from app.training.plots.panel import LivePanel
from app.training.run_data import RunData

SHOWN_SAMPLES = 6  # the newest ones: a longer list would push the newest out of a small panel's view


def is_language_model(run: RunData | None) -> bool:
    return run is not None and run.task == "language_model"


def bits_of(run: RunData, epoch: int) -> float | None:
    for record in run.records:
        if record.get("epoch") == epoch:
            return record.get("val_bits_per_char")
    return None


class GeneratedText(LivePanel):
    """The language model's sample text per epoch, newest first, with the validation bits per character."""

    KINDS = frozenset({"generated", "epoch", "status"})

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Generated text", parent)
        self.view = QTextBrowser()
        self.view.setOpenLinks(False)
        self.view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.set_content(self.view)
        self.show_placeholder("A language model's text appears here after each epoch.")

    def refresh(self) -> None:
        run = self.run
        if run is None or not run.generated:
            self.show_placeholder("A language model's text appears here after each epoch."
                                  if run is None or run.failure is None else "The run failed before an epoch ended.")
            return
        self.show_content()
        muted = self.colors.muted.name()
        parts = []
        for epoch, text in reversed(run.generated[-SHOWN_SAMPLES:]):
            bits = bits_of(run, epoch)
            figure = f" · val {bits:.2f} bits/char" if bits is not None else ""
            body = html.escape(text).replace("\n", "<br>")
            parts.append(f'<p style="margin:0 0 2px 0; color:{muted}">epoch {epoch}{figure}</p>'
                         f'<p style="margin:0 0 10px 0; white-space:pre-wrap">{body}</p>')
        self.view.setHtml("".join(parts))
        epoch = run.generated[-1][0]
        bits = bits_of(run, epoch)
        self.set_subtitle(f"epoch {epoch}" + (f" · {bits:.2f} bits/char" if bits is not None else ""))


__all__ = ["GeneratedText", "is_language_model"]
