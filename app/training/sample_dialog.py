"""Sample Text: what a trained language model writes, from a kept run's weights (the runs list's right-click).

The text comes from graph_engine.sampling.text.text_from_weights, exactly what `layerloom sample` prints for the
same prompt, length, temperature and seed. A few hundred characters of a small model take about a second, so
it runs on the GUI thread under a wait cursor. A prompt the vocabulary cannot spell, or weights that do not fit,
become a message in the text area, never a traceback.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from graph_engine.errors import ProjectError
from graph_engine.project import Project


class SampleTextDialog(QDialog):
    """Prompt, length, temperature and seed; Generate writes the model's text below."""

    def __init__(self, project: Project, weights: Path, base_dir: Path | None = None, title: str = "",
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"Sample Text — {title}" if title else "Sample Text")
        self.project, self.weights, self.base_dir = project, Path(weights), base_dir
        self.prompt = QLineEdit("Alice ")
        self.prompt.setPlaceholderText("text the model continues (empty: a new line)")
        self.length = QSpinBox()
        self.length.setRange(1, 5000)
        self.length.setValue(400)
        self.length.setSuffix(" characters")
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(0.0, 3.0)
        self.temperature.setSingleStep(0.1)
        self.temperature.setValue(0.8)
        self.temperature.setToolTip("0 always picks the likeliest character; 1 samples as the model learned")
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        form = QFormLayout()
        form.addRow("Prompt", self.prompt)
        form.addRow("Length", self.length)
        form.addRow("Temperature", self.temperature)
        form.addRow("Seed", self.seed)
        self.output = QPlainTextEdit()
        self.output.setReadOnly(True)
        self.output.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.output.setMinimumSize(560, 260)
        self.generate_button = QPushButton("Generate")
        self.generate_button.setDefault(True)
        self.generate_button.clicked.connect(self.generate)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.generate_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.output, 1)
        layout.addWidget(buttons)

    def generate(self) -> str:
        """Write the model's text into the output (and return it); a user error becomes its message there."""
        from graph_engine.sampling.text import text_from_weights

        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            text = text_from_weights(self.project, self.weights, prompt=self.prompt.text(),
                                     length=self.length.value(), temperature=self.temperature.value(),
                                     seed=self.seed.value(), base_dir=self.base_dir)
        except ProjectError as exc:
            text = f"Cannot sample: {exc}" + (f"\n{exc.hint}" if exc.hint else "")
        finally:
            QGuiApplication.restoreOverrideCursor()
        self.output.setPlainText(text)
        return text


__all__ = ["SampleTextDialog"]
