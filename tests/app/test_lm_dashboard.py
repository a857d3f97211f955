"""The language model in the app: the dashboard's Generated text panel and the runs list's Sample Text dialog,
with real events from a real (tiny) training run."""

from __future__ import annotations

import pytest

from app.training.plots.dashboard import TrainingDashboard
from app.training.run_data import RunData
from app.training.sample_dialog import SampleTextDialog
from graph_engine.training import Trainer
from tests.engine.test_language_model import TEXT, tiny_lm


@pytest.mark.slow
def test_the_dashboard_shows_the_generated_text_and_bits_per_character(qtbot, tmp_path):
    path = tmp_path / "story.txt"
    path.write_text(TEXT, encoding="utf-8")
    project = tiny_lm(path)
    run = RunData("tiny", project.training, task="language_model")
    result = Trainer(project, listener=run.add_event, run_dir=tmp_path / "run", probes=False).run()
    assert result.ok
    dashboard = TrainingDashboard()
    qtbot.addWidget(dashboard)
    dashboard.resize(1200, 800)
    dashboard.set_run(run)
    dashboard.show()
    dashboard.flush()
    panel = dashboard.panels["generated_text"]
    assert panel.isVisible() and not dashboard.panels["confusion_matrix"].isVisible()
    shown = panel.view.toPlainText()
    last_epoch, last_text = run.generated[-1]
    assert last_epoch == 2 and last_text.splitlines()[0] in shown
    bits = run.records[-1]["val_bits_per_char"]
    assert f"epoch 2 · val {bits:.2f} bits/char" in shown and shown.index("epoch 2") < shown.index("epoch 1")

    dialog = SampleTextDialog(project, tmp_path / "run" / "model.safetensors")
    qtbot.addWidget(dialog)
    dialog.prompt.setText("the ")
    dialog.length.setValue(30)
    dialog.temperature.setValue(0.0)
    text = dialog.generate()
    assert text.startswith("the ") and len(text) == 34 and dialog.output.toPlainText() == text
    dialog.prompt.setText("ZZZ")
    assert dialog.generate().startswith("Cannot sample: ")
