"""The run list: every run of this session with its settings and final metrics; tick runs to overlay their
curves on the dashboard, double-click one to show it there.

    RunsPanel(session, dashboard)     # dashboard: set_run(RunData), set_overlay_runs(list[RunData])

Columns: the run (with its overlay check box), the network, the dataset, optimiser and learning rate, epochs
done / planned, the final validation metric (accuracy for classification, R² otherwise; the loss when there is
no validation set) and the status. Rows follow `session.run_changed`, which fires per epoch and at the end,
never per step.

The list sits in a narrow pane beside the plots, so nothing in it needs the full width to be read: the
network and dataset columns are capped and elide their text, every row's tooltip holds all of its fields
whole (hover any cell), and the hint has a line of its own above the buttons.

Right-click a run for its actions, among them "Train from These Weights" (`weights_requested`: the main
window starts the open project's next runs from that run's weights).
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QMessageBox,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.training.run_status import run_status
from app.training.session import TrainingSession

COLUMNS = ("Run", "Network", "Dataset", "Optimizer", "Epochs", "Val metric", "Status")
NETWORK, DATASET = COLUMNS.index("Network"), COLUMNS.index("Dataset")
CAPPED_WIDTH = {NETWORK: 150, DATASET: 110}  # px: wider names elide, the tooltip has them whole
# Shown in this order (the logical columns stay COLUMNS): how a run ended first, where it came from after.
SHOWN_ORDER = ("Run", "Val metric", "Status", "Epochs", "Network", "Dataset", "Optimizer")


def final_metric(run: Any) -> str:
    """The run's last validation figure as shown in the list ("95.3% acc", "R² 0.41", "loss 0.213")."""
    record = run.records[-1] if run.records else {}
    if record.get("val_accuracy") is not None:
        return f"{record['val_accuracy']:.1%} acc"
    if record.get("val_r2") is not None:
        return f"R² {record['val_r2']:.3g}"
    for key in ("val_loss", "train_loss"):
        if record.get(key) is not None:
            return f"{'val ' if key == 'val_loss' else ''}loss {record[key]:.3g}"
    return "—"


def optimizer_text(config: dict[str, Any]) -> str:
    opt = config.get("optimizer")
    if isinstance(opt, dict):
        lr = opt.get("lr")
        return f"{opt.get('name', '?')} {lr:g}" if isinstance(lr, int | float) else str(opt.get("name", "?"))
    return str(opt or "Adam")


def dataset_text(config: dict[str, Any]) -> str:
    ds = config.get("dataset")
    return str(ds.get("name", "?")) if isinstance(ds, dict) else str(ds or "digits")


def row_tooltip(texts: tuple[str, ...], failure: str = "") -> str:
    """Every field of a row, whole, one per line (and why it failed)."""
    lines = [f"<b>{html.escape(texts[0])}</b>"]
    lines += [f"{html.escape(name)}: {html.escape(text)}" for name, text in zip(COLUMNS[1:], texts[1:], strict=True)
              if text]
    if failure:
        lines.append(f"<br>{html.escape(failure)}")
    return "<br>".join(lines)


class RunsPanel(QWidget):
    """See the module docstring. `run_activated(RunData)` after a double-click (the dashboard shows it)."""

    run_activated = Signal(object)
    project_requested = Signal(object)  # RunData: open the project it trained (its snapshot)
    weights_requested = Signal(object)  # RunData: train the document from its weights (transfer learning)
    sample_requested = Signal(object)  # RunData: a language model's Sample Text dialog

    def __init__(self, session: TrainingSession, dashboard: Any = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.dashboard = dashboard
        self._items: dict[int, QTreeWidgetItem] = {}
        self._runs: dict[int, Any] = {}
        self._filling = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.tree = QTreeWidget(self)
        self.tree.setObjectName("runsTree")
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setTextElideMode(Qt.TextElideMode.ElideRight)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        for column, width in CAPPED_WIDTH.items():
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
            header.resizeSection(column, width)
        for visual, name in enumerate(SHOWN_ORDER):
            header.moveSection(header.visualIndex(COLUMNS.index(name)), visual)
        self.tree.itemChanged.connect(self._item_changed)
        # F2 or a click on the selected row renames; a double-click shows the run.
        self.tree.setEditTriggers(QAbstractItemView.EditTrigger.EditKeyPressed
                                  | QAbstractItemView.EditTrigger.SelectedClicked)
        self.tree.itemDoubleClicked.connect(lambda item, _col: self._activate(item))
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._context_menu)
        layout.addWidget(self.tree, 1)
        self.hint = QLabel("Tick runs to overlay their curves; double-click one to show it.", self)
        self.hint.setWordWrap(True)
        self.hint.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        layout.addWidget(self.hint)
        row = QHBoxLayout()
        row.addStretch(1)
        self.remove_button = QPushButton("Delete", self)
        self.remove_button.setToolTip("Delete the selected run and its folder, after asking (it cannot be "
                                      "undone; a run that is going cannot be deleted)")
        self.remove_button.clicked.connect(self._remove_selected)
        row.addWidget(self.remove_button)
        self.compare_button = QPushButton("Compare", self)
        self.compare_button.setToolTip("Tick two runs: which layers and params of their networks differ")
        self.compare_button.clicked.connect(self.compare)
        self.compare_button.setEnabled(False)
        row.addWidget(self.compare_button)
        self.resume_button = QPushButton("Resume", self)
        self.resume_button.setToolTip("Continue the selected stopped run from its last checkpoint")
        self.resume_button.clicked.connect(self.resume_selected)
        row.addWidget(self.resume_button)
        self.open_button = QPushButton("Open Project", self)
        self.open_button.setToolTip("Open the network and settings the selected run trained, as a new project")
        self.open_button.clicked.connect(self.open_selected_project)
        row.addWidget(self.open_button)
        layout.addLayout(row)
        session.run_added.connect(self._add)
        session.run_changed.connect(self._update)
        for run in session.runs:
            self._add(run)

    # ---- rows ----------------------------------------------------------------------------------------

    def item_for(self, run: Any) -> QTreeWidgetItem | None:
        return self._items.get(id(run))

    def _add(self, run: Any) -> None:
        if id(run) in self._items:
            return
        item = QTreeWidgetItem(self.tree)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEditable)
        self._filling = True
        try:
            item.setCheckState(0, Qt.CheckState.Unchecked)
        finally:
            self._filling = False
        self._items[id(run)] = item
        self._runs[id(run)] = run
        self._update(run)
        self.tree.scrollToItem(item)

    def _update(self, run: Any) -> None:
        item = self._items.get(id(run))
        if item is None:
            return
        meta = self.session.meta(run)
        config = run.config
        state = run_status(run)  # the words the dashboard and the Training panel use (run_status.py)
        planned = run.epochs_planned or config.get("epochs") or "?"
        texts = (run.name, meta.project_name if meta else "", dataset_text(config), optimizer_text(config),
                 f"{state.epoch}/{planned}", final_metric(run), state.label)
        self._filling = True
        try:
            for col, text in enumerate(texts):
                if item.text(col) != text:
                    item.setText(col, text)
            tip = row_tooltip(texts, run.failure.message if run.status == "failed" and run.failure else "")
            if run.changes:  # edits made while it was paused (the loss plot marks each)
                from app.training.plots.loss_plot import change_text

                tip += "<br><br>Edited while paused:<br>" + "<br>".join(
                    f"step {c['step']:,}: {html.escape(change_text(c))}" for c in run.changes)
            for col in range(len(texts)):
                item.setToolTip(col, tip)
            self._fit_capped_columns()
        finally:
            self._filling = False

    def _fit_capped_columns(self) -> None:
        """The capped columns as wide as their widest text, up to their cap."""
        header = self.tree.header()
        for column, cap in CAPPED_WIDTH.items():
            wanted = max(self.tree.sizeHintForColumn(column), header.sectionSizeHint(column))
            header.resizeSection(column, min(cap, wanted))

    def confirm_delete(self, name: str) -> bool:
        """Ask before a run is deleted: its folder goes for good (no undo: the weights may be gigabytes)."""
        answer = QMessageBox.question(
            self, "Delete run?", f"Delete the run “{name}” and its folder (metrics, weights, checkpoints)?\n\n"
            "This cannot be undone.", QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel)
        return answer == QMessageBox.StandardButton.Yes

    def _remove_selected(self) -> None:
        for item in self.tree.selectedItems():
            key = next((k for k, v in self._items.items() if v is item), None)
            run = self._runs.get(key)
            if run is None or run is self.session.current or not self.confirm_delete(run.name):
                continue
            self.session.remove_run(run)
            del self._items[key], self._runs[key]
            self.tree.takeTopLevelItem(self.tree.indexOfTopLevelItem(item))
        self._sync_overlay()

    # ---- overlay -------------------------------------------------------------------------------------

    def checked_runs(self) -> list[Any]:
        return [self._runs[k] for k, item in self._items.items() if item.checkState(0) == Qt.CheckState.Checked]

    def set_checked(self, run: Any, checked: bool) -> None:
        item = self._items.get(id(run))
        if item is not None:
            item.setCheckState(0, Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)

    def _item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if self._filling:
            return
        key = next((k for k, v in self._items.items() if v is item), None)
        run = self._runs.get(key)
        if column != 0:  # only the name is editable: any other column shows its value again
            if run is not None:
                self._update(run)
            return
        if run is not None and item.text(0) != run.name:  # the name was edited (F2 / double-click)
            from graph_engine.training.runs import RunError

            try:
                self.session.rename_run(run, item.text(0))
            except RunError:
                pass
            self._update(run)  # an empty name is refused: the old one comes back
            return
        self._sync_overlay()

    def resume_selected(self) -> None:
        for item in self.tree.selectedItems()[:1]:
            key = next((k for k, v in self._items.items() if v is item), None)
            run = self._runs.get(key)
            if run is not None:
                self.session.resume_run(run)

    def open_selected_project(self) -> None:
        for item in self.tree.selectedItems()[:1]:
            key = next((k for k, v in self._items.items() if v is item), None)
            run = self._runs.get(key)
            if run is not None:
                self.project_requested.emit(run)

    def selected_run(self) -> Any:
        for item in self.tree.selectedItems()[:1]:
            return self._runs.get(next((k for k, v in self._items.items() if v is item), None))
        return None

    def context_menu(self, run: Any) -> QMenu:
        """The actions on one run (right-click): show, train from its weights, open its project, resume, delete."""
        menu = QMenu(self)
        menu.addAction("Show", lambda: self._activate(self.item_for(run)))
        weights = menu.addAction("Train from These Weights", lambda: self.weights_requested.emit(run))
        weights.setToolTip("Start the next runs of the open project from the weights this run trained")
        weights.setEnabled(run.status not in ("running", "paused"))
        menu.addAction("Open Project", lambda: self.project_requested.emit(run))
        if run.task == "language_model":
            sample = menu.addAction("Sample Text…", lambda: self.sample_requested.emit(run))
            sample.setEnabled(run.status not in ("running", "paused"))
        menu.addAction("Resume", self.resume_selected).setEnabled(self.resume_button.isEnabled())
        menu.addSeparator()
        menu.addAction("Delete", self._remove_selected).setEnabled(self.remove_button.isEnabled())
        return menu

    def _context_menu(self, pos) -> None:
        item = self.tree.itemAt(pos)
        if item is None:
            return
        self.tree.setCurrentItem(item)
        run = self.selected_run()
        if run is not None:
            self.context_menu(run).exec(self.tree.viewport().mapToGlobal(pos))

    def compare(self):
        """The architecture diff of the two ticked runs, in a dialog (returned; None unless two are ticked)."""
        from app.training.run_diff_dialog import RunDiffDialog
        from graph_engine.training.runs import architecture_diff

        runs = self.checked_runs()
        metas = [self.session.meta(r) for r in runs]
        if len(runs) != 2 or None in metas:
            return None
        dialog = RunDiffDialog(runs[0].name, runs[1].name, architecture_diff(metas[0].snapshot, metas[1].snapshot),
                               self)
        dialog.show()
        return dialog

    def _sync_overlay(self) -> None:
        runs = self.checked_runs()
        self.compare_button.setEnabled(len(runs) == 2)
        self.session.set_overlay(runs)
        if self.dashboard is not None:
            self.dashboard.set_overlay_runs(runs)

    def _activate(self, item: QTreeWidgetItem) -> None:
        key = next((k for k, v in self._items.items() if v is item), None)
        run = self._runs.get(key)
        if run is not None:
            if self.dashboard is not None:
                self.dashboard.set_run(run)
            self.run_activated.emit(run)


__all__ = ["COLUMNS", "RunsPanel", "dataset_text", "final_metric", "optimizer_text", "row_tooltip"]
