"""File > Export… (Ctrl+E): the network's code, trained weights of a kept run, train.py, ONNX or a bundle, into
one folder, checked exactly as `layerloom export` checks them.

    dialog = ExportDialog(document, session, parent=window)
    dialog.set_folder(path); dialog.set_choices(code=True, onnx=True); dialog.set_weights_source(run, "best")
    dialog.export()          # starts; `done(ok: bool)` follows, the result lines are in `dialog.lines`

The work is `graph_engine.export.export_files` (the function the CLI's `export` command calls), run in a
QThread so the window stays responsive while torch exports and onnxruntime checks; each ExportLine it reports
appears in the list as it happens and advances the progress bar. It runs staged: the single files are moved
into the folder only when all of them were written, so an error leaves none of them (the message says which
file and why). The weights come from a run's folder (graph_engine/training/checkpoints.py names the files):
"best" is best.safetensors, "last" the weights the run ended with (model.safetensors, else the last
checkpoint's); without a run, the initial weights a training run with the project's seed starts from.
With a run's weights the network exported is, by default, the one that run trained (its snapshot, which its
weights always fit), not the open project, which may have been edited since; unticking "the network this run
trained" exports the open project with the run's weights (refused, naming the layers, when they do not fit).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from graph_engine.errors import ProjectError
from graph_engine.validation import check

CHOICES = (  # key, label, the file it writes in the folder ("" for the bundle: several)
    ("code", "Code (model.py)", "model.py"),
    ("weights", "Weights (model.safetensors)", "model.safetensors"),
    ("train_script", "Training script (train.py)", "train.py"),
    ("onnx", "ONNX (model.onnx)", "model.onnx"),
    ("bundle", "Bundle: model.py, weights, train.py, the project and a README", ""),
)
IN_BUNDLE = ("code", "weights", "train_script")  # what a bundle already holds
PROBLEM_COLOR, WARNING_COLOR = "#c0392b", "#b9770e"
LINES_PER_TARGET = {"code": 2, "weights": 2, "train_script": 1, "onnx": 2, "bundle": 2}


def run_weights_file(folder: Path | None, which: str) -> Path | None:
    """A run folder's weights file: "best" or "last" (the final weights, else the last checkpoint's)."""
    from graph_engine.training import checkpoints as ck

    if folder is None:
        return None
    names = (ck.BEST_WEIGHTS,) if which == "best" else (ck.FINAL_WEIGHTS, ck.LAST_WEIGHTS)
    return next((folder / n for n in names if (folder / n).is_file()), None)


class _ExportJob(QObject):
    """export_files in a worker thread; never touches a widget."""

    line = Signal(object)  # ExportLine
    done = Signal(bool, str)  # every check passed; the error message ("" when none)

    def __init__(self, project: Any, targets: Any, weights: Path | None, label: str | None,
                 project_path: Path | None):
        super().__init__()
        self.args = (project, targets, weights, label, project_path)

    @Slot()
    def run(self) -> None:
        from graph_engine.export.export_files import export_files

        project, targets, weights, label, project_path = self.args
        try:
            lines = export_files(project, targets, weights=weights, weights_label=label, project_path=project_path,
                                 staged=True, report=self.line.emit)
            self.done.emit(all(line.ok for line in lines if line.kind == "check"), "")
        except ProjectError as exc:
            hint = getattr(exc, "hint", "") or ""
            self.done.emit(False, f"{exc}" + (f" ({hint})" if hint else ""))
        except Exception as exc:  # noqa: BLE001 - a bug must reach the person as a message, not kill the thread
            self.done.emit(False, f"the export failed: {type(exc).__name__}: {exc}")
        finally:
            app = QCoreApplication.instance()  # back to the GUI thread, to be freed there (as TrainingWorker)
            if app is not None and QThread.currentThread() is not app.thread():
                self.moveToThread(app.thread())
                QThread.currentThread().quit()


class ExportDialog(QDialog):
    """See the module docstring."""

    done = Signal(bool)

    def __init__(self, document: Any, session: Any = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("exportDialog")
        self.setWindowTitle("Export")
        self.document, self.session = document, session
        self.lines: list[Any] = []
        self.error = ""
        self._ok = False
        self._thread: QThread | None = None
        self._job: _ExportJob | None = None
        self.confirm_replace = self._ask_replace  # tests replace it; it returns True to go on

        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.boxes: dict[str, QCheckBox] = {}
        what = QVBoxLayout()
        for key, label, _file in CHOICES:
            box = QCheckBox(label, self)
            box.setObjectName(f"export_{key}")
            self.boxes[key] = box
            what.addWidget(box)
        self.boxes["code"].setChecked(True)
        form.addRow("Export", what)
        self.weights = QComboBox(self)
        self.weights.setObjectName("exportWeights")
        self.weights.currentIndexChanged.connect(lambda _i: self._sync())
        self.weights.setToolTip("The weights the exported files carry (and that the checks compare against)")
        form.addRow("Weights", self.weights)
        self.run_network = QCheckBox("Export the network this run trained (not the open project)", self)
        self.run_network.setObjectName("exportRunNetwork")
        self.run_network.setToolTip("The run's own network always fits its weights; the open project may have "
                                    "been edited since the run")
        self.run_network.setChecked(True)
        form.addRow("", self.run_network)
        row = QHBoxLayout()
        self.folder = QLineEdit(self)
        self.folder.setObjectName("exportFolder")
        browse = QPushButton("Browse…", self)
        browse.clicked.connect(self._browse)
        row.addWidget(self.folder, 1)
        row.addWidget(browse)
        form.addRow("Folder", row)
        layout.addLayout(form)
        self.progress = QProgressBar(self)
        self.progress.setTextVisible(False)
        layout.addWidget(self.progress)
        self.results = QListWidget(self)
        self.results.setObjectName("exportResults")
        self.results.setWordWrap(True)
        self.results.setMinimumHeight(140)
        layout.addWidget(self.results, 1)
        self.status = QLabel("", self)
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.ActionRole)
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(self.export)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self._fill_weights()
        for box in self.boxes.values():
            box.toggled.connect(self._sync)
        self.folder.textChanged.connect(self._sync)
        if document is not None and document.path is not None:
            self.folder.setText(str(document.path.parent / "export"))
        self.resize(620, 520)
        self._sync()

    # ---- choices -------------------------------------------------------------------------------------

    def set_folder(self, folder: str | Path) -> None:
        self.folder.setText(str(folder))

    def set_choices(self, **chosen: bool) -> None:
        for key, box in self.boxes.items():
            box.setChecked(bool(chosen.get(key, False)))

    def set_weights_source(self, run: Any = None, which: str = "best") -> None:
        """A kept run's best or last weights (None: the initial weights)."""
        for i in range(self.weights.count()):
            data = self.weights.itemData(i)
            if (run is None and data is None) or (data is not None and data[0] is run and data[1] == which):
                self.weights.setCurrentIndex(i)
                return
        raise ValueError(f"no {which} weights for that run")

    def targets(self):
        from graph_engine.export.export_files import ExportTargets

        folder = Path(self.folder.text().strip()).expanduser()
        chosen = {k for k, b in self.boxes.items() if b.isChecked() and b.isEnabled()}
        files = {key: folder / name for key, _label, name in CHOICES if key in chosen and name}
        return ExportTargets(**files, bundle=folder if "bundle" in chosen else None)

    def _fill_weights(self) -> None:
        from graph_engine.training.config import TrainingConfig

        try:
            seed = TrainingConfig.from_project(self.document.project).seed
            self.weights.addItem(f"Initial weights (seed {seed}, untrained)", None)
        except (ProjectError, AttributeError):
            self.weights.addItem("Initial weights (untrained)", None)
        if self.session is None:
            return
        for run in reversed(self.session.runs):  # newest first
            meta = self.session.meta(run)
            if meta is None or run is self.session.current:
                continue
            for which in ("best", "last"):
                path = run_weights_file(meta.folder, which)
                if path is not None:
                    self.weights.addItem(f"{run.name}: {which} weights ({run.status}, {path.name})", (run, which))

    def _weights(self) -> tuple[Path | None, str | None]:
        data = self.weights.currentData()
        if data is None:
            return None, None
        run, which = data
        meta = self.session.meta(run) if self.session is not None else None
        path = run_weights_file(meta.folder if meta else None, which)
        return path, f"{which} weights of {run.name}"

    def _project(self) -> Any:
        """The network to export: the chosen run's snapshot (see the module docstring), else the open one."""
        data = self.weights.currentData()
        if data is not None and self.run_network.isChecked() and self.session is not None:
            meta = self.session.meta(data[0])
            if meta is not None and meta.snapshot is not None:
                return meta.snapshot
        return self.document.project

    def _sync(self) -> None:
        bundle = self.boxes["bundle"].isChecked()
        for key in IN_BUNDLE:
            self.boxes[key].setEnabled(not bundle)
        if self.boxes["train_script"].isChecked() and not bundle:
            self.boxes["code"].setChecked(True)  # train.py imports model.py
        self.run_network.setEnabled(self.weights.currentData() is not None)
        busy = self._thread is not None
        chosen = any(b.isChecked() and b.isEnabled() for b in self.boxes.values())
        self.export_button.setEnabled(not busy and chosen and bool(self.folder.text().strip()))

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export into", self.folder.text())
        if folder:
            self.folder.setText(folder)

    def _ask_replace(self, names: list[str]) -> bool:
        answer = QMessageBox.question(self, "Replace files?",
                                      f"{', '.join(names)} already exist in the folder. Replace them?")
        return answer == QMessageBox.StandardButton.Yes

    # ---- the export ----------------------------------------------------------------------------------

    def export(self) -> bool:
        """Start the export (False when it cannot start; the reason is shown)."""
        if self._thread is not None or self.document is None:
            return False
        project = self._project()
        result = self.document.recheck() if project is self.document.project else check(project)
        if not result.ok:
            return self._refuse(f"The network has {len(result.errors)} error(s); fix the problems listed in the "
                                f"Problems panel first (first: {result.errors[0].message}).")
        targets = self.targets()
        chosen = targets.chosen()
        if not chosen or not self.folder.text().strip():
            return self._refuse("Choose what to export and a folder.")
        existing = [p.name for k, p in chosen.items() if k != "bundle" and p.exists()]
        if existing and not self.confirm_replace(existing):
            return False
        weights, label = self._weights()
        if self.weights.currentData() is not None and weights is None:
            return self._refuse("That run's weights file is gone; choose other weights.")
        self.lines, self.error, self._ok = [], "", False
        self.results.clear()
        self.progress.setRange(0, sum(LINES_PER_TARGET[k] for k in chosen))
        self.progress.setValue(0)
        self.status.setText("Exporting…")
        project_path = self.document.path
        job = _ExportJob(project.copy(), targets, weights, label, project_path)
        thread = QThread(self)
        thread.setObjectName("layerloom-export")
        job.moveToThread(thread)
        job.line.connect(self._on_line)
        job.done.connect(self._on_done)
        thread.started.connect(job.run)
        thread.finished.connect(self._thread_finished)
        self._job, self._thread = job, thread
        self._sync()
        thread.start()
        return True

    def _refuse(self, text: str) -> bool:
        self.error = text
        self.status.setText(text)
        self.done.emit(False)
        return False

    @Slot(object)
    def _on_line(self, line: Any) -> None:
        self.lines.append(line)
        item = QListWidgetItem(("✓ " if line.ok else "✗ ") + line.text if line.kind == "check" else line.text)
        if not line.ok or line.kind == "warning":
            item.setForeground(QBrush(QColor(PROBLEM_COLOR if not line.ok else WARNING_COLOR)))
        self.results.addItem(item)
        self.results.scrollToBottom()
        self.progress.setValue(min(self.progress.maximum(), self.progress.value() + 1))

    @Slot(bool, str)
    def _on_done(self, ok: bool, error: str) -> None:
        self.error = error
        self.progress.setValue(self.progress.maximum())
        if error:
            self.status.setText(f"Nothing was exported: {error}")
        elif ok:
            self.status.setText(f"Exported into {self.folder.text().strip()}; every check passed.")
        else:
            failed = [Path(x.target).name for x in self.lines if x.kind == "check" and not x.ok]
            self.status.setText(f"Exported, but the check failed for {', '.join(failed)} (see above).")
        self._ok = ok and not error

    @Slot()
    def _thread_finished(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.wait()
            thread.deleteLater()
        self._job = None
        self._sync()
        self.done.emit(self._ok)

    def wait(self, timeout_ms: int = 120_000) -> bool:
        """Block until a running export's thread has ended (closing the window, tests)."""
        return self._thread.wait(timeout_ms) if self._thread is not None else True

    def reject(self) -> None:
        if self._thread is not None:
            return  # an export going on is not interrupted half-way; Close works once it is done
        super().reject()

    def closeEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        if self._thread is not None:
            event.ignore()
            return
        super().closeEvent(event)


__all__ = ["CHOICES", "ExportDialog", "run_weights_file"]
