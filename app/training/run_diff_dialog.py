"""The architecture diff between two runs' project snapshots (graph_engine.training.runs.architecture_diff),
one line per layer or param that differs."""

from __future__ import annotations

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from graph_engine.training.runs import ArchitectureDiff


class RunDiffDialog(QDialog):
    def __init__(self, name_a: str, name_b: str, diff: ArchitectureDiff, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("runDiffDialog")
        self.setWindowTitle(f"Architecture: {name_a} vs {name_b}")
        self.diff = diff
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"What {name_b} trained that differs from {name_a} "
                                "(+ only in the second, - only in the first, ~ changed):", self))
        self.text = QPlainTextEdit(self)
        self.text.setReadOnly(True)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setPlainText("\n".join(diff.lines()))
        layout.addWidget(self.text, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(560, 360)


__all__ = ["RunDiffDialog"]
