"""The training panel: the run controls (Start / Pause / Resume / Stop, progress with ETA, failures, the
overfitting warning) over the project's training settings (dataset with preview, task and loss, optimiser,
schedule, epochs, batch size, validation split, seed, augmentation, device).

Settings are data: the form is built from `graph_engine.training.settings_spec.SETTINGS` (sections, labels,
one catalog `Param` each) shown by the inspector's own editors (`param_editors.editor_for`; the spec holds
no widget); the dataset's params come from the dataset registry, the augmentation's from
`graph_engine.data.AUGMENT_PARAMS`. Dataset params of kind "path" get a line edit with a browse button, "text"
a line edit. Nothing here declares a setting, a default or a range.

Every finished edit goes through `Document.set_training_setting` (the engine checks it; one undo step calls
`Project.set_training`, whose `training_changed` event reaches the panel as `bridge.training_changed`). A
value the engine refuses is not applied and the reason shows under the editor, as in the inspector. While a
run is going the settings are read-only, like the network. Start is disabled, with the reason beside it,
while the network has errors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QMouseEvent, QPalette
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.document import Document, EditRefused
from app.panels.inspector import section_header
from app.panels.param_editors import ParamEditor, editor_for, param_tooltip
from app.theme import ERROR_COLOR, WARNING_COLOR
from app.training.dataset_preview import DatasetPreview
from app.training.device_info import DeviceCatalog, DeviceChoice, fallback_choices
from app.training.run_status import run_status
from app.training.session import (
    Progress,
    TrainingSession,
    format_duration,
    run_action_state,
    session_state_allows_edits,
    start_blocker,
)
from graph_engine.catalog.spec import REQUIRED, Param
from graph_engine.data import AUGMENT_PARAMS, DATASETS, DataParamKind, DatasetInfo
from graph_engine.training.settings import as_dict, effective_training, read_setting
from graph_engine.training.settings_spec import SECTIONS, SETTINGS, in_section

PROGRESS_MS = 200


# ---- small widgets ------------------------------------------------------------------------------------------


class TextEditor(ParamEditor):
    """A dataset param of kind "text" (a CSV column name) or "path" (with a browse button)."""

    browse_requested = Signal()

    def __init__(self, param: Param, parent: QWidget | None = None):
        super().__init__(param, parent)
        self.line = QLineEdit(self)
        self.line.setToolTip(param_tooltip(param))
        self.line.setPlaceholderText("empty: the last column" if param.nullable else "")
        self.line.editingFinished.connect(self.commit_pending)
        self._add_input(self.line)
        self.browse: QToolButton | None = None
        if param.kind == DataParamKind.PATH:
            self.browse = QToolButton(self)
            self.browse.setText("…")
            self.browse.setToolTip("Choose…")
            self.browse.clicked.connect(self.browse_requested)
            self.field_row.addWidget(self.browse)
        self._finish_row()

    def _display(self) -> None:
        self.line.setText("" if self._value is None else str(self._value))

    def value(self) -> Any:
        text = self.line.text().strip()
        return None if not text and self.param.nullable else text

    def commit_pending(self) -> None:
        value = self.value()
        if value == "":
            self._refuse(f"{self.param.name} cannot be empty")
            return
        self._offer(value)

    def _update_reset(self) -> None:
        self.reset_button.setVisible(False)


def editor_for_setting(param: Param, parent: QWidget | None = None) -> ParamEditor:
    if param.kind in (DataParamKind.PATH, DataParamKind.TEXT):
        return TextEditor(param, parent)
    return editor_for(param, parent)


class _ClickableLabel(QLabel):
    clicked = Signal()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit()
        super().mouseReleaseEvent(event)


def _colored(label: QLabel, color) -> None:
    palette = label.palette()
    palette.setColor(QPalette.ColorRole.WindowText, color)
    label.setPalette(palette)


# ---- the panel --------------------------------------------------------------------------------------------------


class TrainingPanel(QWidget):
    """See the module docstring. `node_requested(id)`: the person clicked a failure that names a layer."""

    node_requested = Signal(str)
    find_batch_requested = Signal()  # "Find batch size" (the window sets the largest that fits)

    def __init__(self, document: Document, session: TrainingSession, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = document
        self.session = session
        self.editors: dict[str, ParamEditor] = {}
        self._params: dict[str, Param] = {}
        self._rows: dict[str, tuple[QLabel, QWidget]] = {}
        self._failure_node: str | None = None
        self._refreshing = False
        self._dataset_name = ""
        self._device_values: list[str] = []  # training.device values of the devices found on this machine
        self.seen = False  # shown on screen at least once (Train > Start shows it first: main_window)

        outer = QVBoxLayout(self)
        outer.setContentsMargins(8, 8, 8, 4)
        outer.setSpacing(6)
        outer.addWidget(self._build_controls())
        self.scroll = QScrollArea(self)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.form_host = QWidget(self.scroll)
        self.form_layout = QVBoxLayout(self.form_host)
        self.form_layout.setContentsMargins(0, 0, 4, 8)
        self.form_layout.setSpacing(2)
        self.scroll.setWidget(self.form_host)
        outer.addWidget(self.scroll, 1)
        self._build_settings()

        document.bridge.training_changed.connect(self.refresh)
        document.checked.connect(self._update_start)
        document.read_only_changed.connect(self._update_enabled)
        session.state_changed.connect(self._state_changed)
        self._progress_timer = QTimer(self)  # the bar and its text follow at most 5 times a second
        self._progress_timer.setSingleShot(True)
        self._progress_timer.setInterval(PROGRESS_MS)
        self._progress_timer.timeout.connect(lambda: self._show_progress(self.session.progress))
        session.progress_changed.connect(self._progress_changed)
        session.run_started.connect(self._run_started)
        session.run_ended.connect(self._run_ended)
        session.warning_changed.connect(self._show_warning)
        self._catalog: DeviceCatalog | None = None  # asked for when the panel is first shown (imports torch)
        self._fill_devices(DeviceCatalog._instance.choices if DeviceCatalog._instance else fallback_choices())
        self.refresh()
        self._state_changed(session.state)
        self._show_warning(session.warning)
        latest = session.latest
        if session.state == "idle" and latest is not None and latest.ended:
            self.progress.setValue(1000 if latest.status == "finished" else 0)
            self.progress.setFormat(self._ended_text(latest))  # a panel built later says what the run did

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.seen = True
        if self._catalog is None:
            self._catalog = DeviceCatalog.instance()
            self._catalog.ready.connect(self._fill_devices)
            if self._catalog.loaded:
                self._fill_devices(self._catalog.choices)

    # ---- building ------------------------------------------------------------------------------------

    def _build_controls(self) -> QWidget:
        box = QWidget(self)
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        row = QHBoxLayout()
        row.setSpacing(4)
        style = self.style()
        self.start_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay), "Start", box)
        self.start_button.setObjectName("trainStart")
        self.start_button.setToolTip("Train the network as it is now (Ctrl+R)")
        self.pause_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_MediaPause), "Pause", box)
        self.pause_button.setObjectName("trainPause")
        self.resume_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay), "Resume", box)
        self.resume_button.setObjectName("trainResume")
        self.stop_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_MediaStop), "Stop", box)
        self.stop_button.setObjectName("trainStop")
        self.start_button.clicked.connect(self.start)
        self.pause_button.clicked.connect(self.session.pause)
        self.resume_button.clicked.connect(self.session.resume)
        self.stop_button.clicked.connect(self.session.stop)
        for button in (self.start_button, self.pause_button, self.resume_button, self.stop_button):
            row.addWidget(button)
        row.addStretch(1)
        self.find_batch_button = QPushButton("Find batch size", box)
        self.find_batch_button.setObjectName("trainFindBatch")
        self.find_batch_button.setToolTip("Set the largest batch size whose memory estimate fits the device's free "
                                          "memory (also Train > Find Batch Size)")
        self.find_batch_button.clicked.connect(self.find_batch_requested)
        row.addWidget(self.find_batch_button)
        layout.addLayout(row)
        self.progress = QProgressBar(box)
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.progress.setFormat("Not started")
        # Its width comes from the dock, never from its text: a text that changes 5 times a second must not
        # re-lay out (and repaint) the whole panel.
        self.progress.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        layout.addWidget(self.progress)
        self.status_label = QLabel(box)
        self.status_label.setWordWrap(True)
        self.status_label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        layout.addWidget(self.status_label)
        self.failure_label = _ClickableLabel(box)
        self.failure_label.setObjectName("trainFailure")
        self.failure_label.setWordWrap(True)
        self.failure_label.setTextFormat(Qt.TextFormat.PlainText)
        _colored(self.failure_label, ERROR_COLOR)
        self.failure_label.clicked.connect(self._failure_clicked)
        self.failure_label.hide()
        layout.addWidget(self.failure_label)
        self.warning_label = QLabel(box)
        self.warning_label.setObjectName("trainWarning")
        self.warning_label.setWordWrap(True)
        _colored(self.warning_label, WARNING_COLOR.darker(115))
        self.warning_label.hide()
        layout.addWidget(self.warning_label)
        self.start_blocked = QLabel(box)
        self.start_blocked.setObjectName("trainStartBlocked")
        self.start_blocked.setWordWrap(True)
        self.start_blocked.setTextFormat(Qt.TextFormat.PlainText)
        _colored(self.start_blocked, ERROR_COLOR)
        self.start_blocked.hide()
        layout.addWidget(self.start_blocked)
        self.settings_error = QLabel(box)
        self.settings_error.setWordWrap(True)
        _colored(self.settings_error, ERROR_COLOR)
        self.settings_error.hide()
        layout.addWidget(self.settings_error)
        return box

    def _form(self) -> QFormLayout:
        form = QFormLayout()
        form.setHorizontalSpacing(10)
        form.setVerticalSpacing(5)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.form_layout.addLayout(form)
        return form

    def _add_editor(self, form: QFormLayout, key: str, param: Param, label_text: str | None = None) -> ParamEditor:
        editor = editor_for_setting(param, self.form_host)
        editor.setObjectName(f"setting:{key}")
        self._params[key] = param
        editor.committed.connect(lambda value, k=key: self._commit(k, value))
        if isinstance(editor, TextEditor) and editor.browse is not None:
            editor.browse_requested.connect(lambda k=key: self._browse(k))
        label = QLabel(label_text or param.name.replace("_", " "), self.form_host)
        label.setToolTip(param_tooltip(param))
        label.setBuddy(editor.primary_input)
        form.addRow(label, editor)
        self.editors[key] = editor
        self._rows[key] = (label, editor)
        return editor

    def _add_device_row(self, form: QFormLayout, label_text: str) -> None:
        """The device is a combo of the devices found on this machine (device_info), not of the spec's names."""
        self.device_combo = QComboBox(self.form_host)
        self.device_combo.setObjectName("deviceCombo")
        self.device_combo.activated.connect(self._device_chosen)
        device_label = QLabel(label_text, self.form_host)
        device_label.setBuddy(self.device_combo)
        form.addRow(device_label, self.device_combo)

    def _build_settings(self) -> None:
        add = self.form_layout.addWidget
        add(section_header("Dataset", self.form_host))
        self.dataset_combo = QComboBox(self.form_host)
        self.dataset_combo.setObjectName("datasetCombo")
        category = None
        for info in DATASETS.values():
            if info.category != category:
                if category is not None:
                    self.dataset_combo.insertSeparator(self.dataset_combo.count())
                category = info.category
            self.dataset_combo.addItem(info.title + ("…" if _needs_path(info) else ""), info.name)
            self.dataset_combo.setItemData(self.dataset_combo.count() - 1, info.description,
                                           Qt.ItemDataRole.ToolTipRole)
        self.dataset_combo.activated.connect(self._dataset_chosen)
        add(self.dataset_combo)
        self.dataset_about = QLabel(self.form_host)
        self.dataset_about.setWordWrap(True)
        self.dataset_about.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        add(self.dataset_about)
        self.dataset_form_host = QWidget(self.form_host)
        self.dataset_form_box = QVBoxLayout(self.dataset_form_host)
        self.dataset_form_box.setContentsMargins(0, 0, 0, 0)
        add(self.dataset_form_host)
        self.preview_toggle = QToolButton(self.form_host)
        self.preview_toggle.setObjectName("previewToggle")
        self.preview_toggle.setText("Preview")
        self.preview_toggle.setCheckable(True)
        self.preview_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.preview_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.preview_toggle.setAutoRaise(True)
        self.preview_toggle.toggled.connect(self._toggle_preview)
        add(self.preview_toggle)
        self.preview = DatasetPreview(self.form_host)
        self.preview.hide()
        add(self.preview)

        for section in SECTIONS:  # the engine's description, in its order
            add(section_header(section, self.form_host))
            form = self._form()
            for described in in_section(section):
                if described.key == "device":
                    self._add_device_row(form, described.label)
                else:
                    self._add_editor(form, described.key, described.param, described.label)
            if section == "Run":  # augmentation: the data module's own params
                add(section_header("Augmentation", self.form_host))
                form = self._form()
                for param in AUGMENT_PARAMS:
                    self._add_editor(form, f"augment.{param.name}", param)
        self._add_init_row(add)
        self.form_layout.addStretch(1)

    # ---- settings <-> editors ------------------------------------------------------------------------

    @property
    def training(self) -> dict[str, Any] | None:
        return self.document.project.training

    def refresh(self) -> None:
        """Show the project's training section (after any change, an undo included)."""
        self._refreshing = True
        try:
            training = self.training
            _, problem = effective_training(training)
            self.settings_error.setText(f"The training settings have a problem: {problem}" if problem else "")
            self.settings_error.setVisible(bool(problem))
            name = read_setting(training, "dataset.name")
            index = self.dataset_combo.findData(name)
            self.dataset_combo.setCurrentIndex(index)
            info = DATASETS.get(name)
            self.dataset_about.setText(info.description if info else f"Unknown dataset {name!r}")
            if name != self._dataset_name:
                self._build_dataset_editors(info)
            for key, editor in self.editors.items():
                editor.show_value(read_setting(training, key))
            for described in SETTINGS:
                if described.shown_when is not None and described.key in self._rows:
                    other, values = described.shown_when
                    self._set_row_visible(described.key, read_setting(training, other) in values)
            self._select_device(read_setting(training, "device"))
            self._show_mixed_precision()
            self._show_init()
            if self.preview.isVisible():
                self._update_preview()
        finally:
            self._refreshing = False
        self._update_enabled()

    def _build_dataset_editors(self, info: DatasetInfo | None) -> None:
        for key in [k for k in self.editors if k.startswith("dataset.")]:
            label, editor = self._rows.pop(key)
            self.editors.pop(key)
            self._params.pop(key, None)
            label.deleteLater()
            editor.deleteLater()
        while self.dataset_form_box.count():
            item = self.dataset_form_box.takeAt(0)
            if item.layout() is not None:
                item.layout().deleteLater()
        self._dataset_name = info.name if info else ""
        if info is None or not info.params:
            return
        form = QFormLayout()
        form.setHorizontalSpacing(10)
        form.setVerticalSpacing(5)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.dataset_form_box.addLayout(form)
        for param in info.params:
            self._add_editor(form, f"dataset.{param.name}", param)

    def _set_row_visible(self, key: str, visible: bool) -> None:
        label, editor = self._rows[key]
        label.setVisible(visible)
        editor.setVisible(visible)

    def _commit(self, key: str, value: Any) -> None:
        if self._refreshing:
            return
        editor = self.editors.get(key)
        if self._apply({key: value}, editor) and editor is not None:
            editor.clear_error()

    def _apply(self, changes: dict[str, Any], editor: ParamEditor | None = None) -> bool:
        """Set settings through the document (one undo step); False (and the reason shown) when refused."""
        try:
            self.document.set_training_settings(changes)
        except EditRefused as exc:
            self._refuse(editor, str(exc))
            return False
        self.refresh()  # an unchanged value (no undo step) still shows what the section holds
        return True

    def _refuse(self, editor: ParamEditor | None, reason: str) -> None:
        if editor is not None:
            editor.show_error(reason)
            editor.revert()
        else:
            self.settings_error.setText(reason)
            self.settings_error.show()
            self.refresh()
            self.settings_error.setText(reason)
            self.settings_error.show()

    def _dataset_chosen(self, index: int) -> None:
        name = self.dataset_combo.itemData(index)
        if name is None or name == read_setting(self.training, "dataset.name"):
            return
        info = DATASETS[name]
        if _needs_path(info):
            path = self.ask_dataset_path(info)
            if not path:
                self.refresh()
                return
            self._apply({"dataset.name": name, "dataset.path": path})
            return
        self._apply({"dataset.name": name})

    def _browse(self, key: str) -> None:
        info = DATASETS.get(read_setting(self.training, "dataset.name"))
        if info is None:
            return
        path = self.ask_dataset_path(info)
        if path:
            self._commit(key, path)

    def ask_dataset_path(self, info: DatasetInfo) -> str | None:
        """A file or folder for a user dataset (tests replace this). Relative to the project's folder when
        the file is inside it."""
        folder = str(self.document.path.parent) if self.document.path else ""
        if info.name == "image_folder":
            path = QFileDialog.getExistingDirectory(self, "Choose the Image Folder", folder)
        else:
            pattern = {"csv": "CSV files (*.csv)", "npz": "NumPy archives (*.npz)"}.get(info.name, "All files (*)")
            path, _ = QFileDialog.getOpenFileName(self, f"Choose the {info.title}", folder,
                                                  f"{pattern};;All files (*)")
        if not path:
            return None
        if self.document.path is not None:
            try:
                return str(Path(path).relative_to(self.document.path.parent))
            except ValueError:
                pass
        return path

    def _fill_devices(self, choices: list[DeviceChoice]) -> None:
        self._device_values = [choice.value for choice in choices]
        self.device_combo.blockSignals(True)
        self.device_combo.clear()
        for choice in choices:
            self.device_combo.addItem(choice.label, choice.value)
            self.device_combo.setItemData(self.device_combo.count() - 1, choice.detail, Qt.ItemDataRole.ToolTipRole)
        self.device_combo.blockSignals(False)
        self._select_device(read_setting(self.training, "device"))
        self._show_mixed_precision()

    def _select_device(self, value: str) -> None:
        index = self.device_combo.findData(value)
        if index < 0 and value == "cuda":
            index = self.device_combo.findData("cuda:0")
        if index < 0:  # asked for in the file but not here: show it, the run will say which exist
            self.device_combo.addItem(f"{value} (not on this machine)", value)
            index = self.device_combo.count() - 1
        self.device_combo.blockSignals(True)
        self.device_combo.setCurrentIndex(index)
        self.device_combo.blockSignals(False)

    def trains_on_cuda(self) -> bool:
        """Whether a run with the chosen device would train on a CUDA GPU of this machine."""
        device = str(read_setting(self.training, "device"))
        gpus = [v for v in self._device_values if v.startswith("cuda")]
        return bool(gpus) and (device == "auto" or device == "cuda" or device in gpus)

    def _add_init_row(self, add) -> None:
        """Starting weights (training.init): what the next run starts from, and a button to go back to the
        network's own initialisation. Train > Train from These Weights... sets them (app/training/start_weights.py)."""
        add(section_header("Starting weights", self.form_host))
        row = QHBoxLayout()
        self.init_label = QLabel(self.form_host)
        self.init_label.setWordWrap(True)
        row.addWidget(self.init_label, 1)
        self.init_clear = QPushButton("Clear", self.form_host)
        self.init_clear.setToolTip("Start from the network's own initialisation again")
        self.init_clear.clicked.connect(self._clear_init)
        row.addWidget(self.init_clear)
        host = QWidget(self.form_host)
        host.setLayout(row)
        row.setContentsMargins(0, 0, 0, 0)
        add(host)

    def _show_init(self) -> None:
        init = (self.training or {}).get("init")
        weights = init.get("weights") if isinstance(init, dict) else init
        if not isinstance(weights, str):
            self.init_label.setText("The network's own initialisation (Train > Train from These Weights... "
                                    "starts from a file: transfer learning)")
            self.init_label.setToolTip("")
        else:
            fresh = init.get("fresh") if isinstance(init, dict) else None
            self.init_label.setText(Path(weights).name + (f"; newly initialised: {', '.join(map(str, fresh))}"
                                                          if fresh else ""))
            self.init_label.setToolTip(weights)
        self.init_clear.setEnabled(isinstance(weights, str))

    def _clear_init(self) -> None:
        try:
            self.document.start_from_weights(None)
        except EditRefused:
            pass

    def _show_mixed_precision(self) -> None:
        """Mixed precision applies on a CUDA GPU only: elsewhere its box is unticked and disabled (whatever
        the file says, which the tooltip tells), so a CPU-only machine never shows it on."""
        editor = self.editors.get("mixed_precision")
        if editor is None:
            return
        applies = self.trains_on_cuda()
        editor.revert()  # the project's value
        check = editor.primary_input
        tip = param_tooltip(self._params["mixed_precision"])
        if not applies:
            saved = bool(read_setting(self.training, "mixed_precision"))
            check.blockSignals(True)
            check.setChecked(False)
            check.blockSignals(False)
            where = "no CUDA GPU was found on this machine" if not any(
                v.startswith("cuda") for v in self._device_values) else "the chosen device is not a CUDA GPU"
            tip = f"Off: {where}." + (" The project asks for it on a CUDA GPU." if saved else "")
        check.setEnabled(applies)
        check.setToolTip(tip)

    def _device_chosen(self, index: int) -> None:
        value = self.device_combo.itemData(index)
        if value is not None and value != read_setting(self.training, "device"):
            self._apply({"device": value})

    # ---- preview -------------------------------------------------------------------------------------

    def _toggle_preview(self, on: bool) -> None:
        self.preview_toggle.setArrowType(Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow)
        self.preview.setVisible(on)
        if on:
            self._update_preview()

    def _update_preview(self) -> None:
        dataset = {"name": read_setting(self.training, "dataset.name"), **as_dict((self.training or {}).get("dataset"))}
        base = self.document.path.parent if self.document.path else None
        self.preview.set_config(dataset, base)

    # ---- running -------------------------------------------------------------------------------------

    def commit_pending(self) -> None:
        """Commit what a focused text field holds (before Start)."""
        for editor in self.editors.values():
            if editor.isVisible() and editor.focusWidget() is not None and editor.isAncestorOf(
                    editor.focusWidget()):
                editor.commit_pending()

    def show_first_look(self) -> None:
        """What the first Train > Start shows: the settings from the top, with the dataset preview open."""
        self.scroll.verticalScrollBar().setValue(0)
        self.preview_toggle.setChecked(True)

    def _update_start(self, *_args) -> None:
        can = run_action_state(self.session)
        blocker = start_blocker(self.document) if self.session.state == "idle" else ""
        self.start_button.setEnabled(can["start"] and self.session.document is self.document)
        self.start_button.setToolTip(blocker or "Train the network as it is now (Ctrl+R)")
        self.start_blocked.setText(blocker)
        self.start_blocked.setVisible(bool(blocker))

    def start(self) -> None:
        """Start button / Train > Start."""
        if self.session.running or start_blocker(self.document):
            return
        self.commit_pending()
        self.session.start()

    def _state_changed(self, state: str) -> None:
        self._update_start()
        self.pause_button.setEnabled(state in ("starting", "running"))
        self.resume_button.setEnabled(state == "paused")
        self.stop_button.setEnabled(state in ("starting", "running", "paused"))
        self.pause_button.setVisible(state != "paused")
        self.resume_button.setVisible(state == "paused")
        self.resume_button.setToolTip("Continue the run, with any change made to the settings or the network "
                                      "while it was paused (kept: the optimiser's state and every unchanged "
                                      "layer's weights)" if state == "paused" else "")
        if state == "starting":
            self._show_failure(None)
            self.progress.setValue(0)
            self.progress.setFormat("Starting…")
            self.status_label.setText("Loading the data and building the model…")
        elif state in ("paused", "running"):
            self._progress_timer.stop()
            self._show_progress(self.session.progress)
        elif state == "stopping":
            self.progress.setFormat("Stopping…")
        self._update_enabled()

    def _update_enabled(self, *_args) -> None:
        # While paused the settings may change: they go to the run when it resumes (session.resume).
        editable = not self.document.read_only and session_state_allows_edits(self.session)
        self.form_host.setEnabled(editable)
        self.find_batch_button.setEnabled(editable)

    def _run_started(self, run: Any, event: Any) -> None:
        amp = ", mixed precision" if event.mixed_precision else ""
        text = (f"{run.name}: {event.dataset}, {event.n_train:,} training / {event.n_val:,} validation samples, "
                f"{event.param_count:,} parameters on {event.device_name}{amp}")
        frozen = getattr(event, "frozen_count", 0)
        if frozen:
            text += f" ({frozen:,} more frozen)"
        if event.warnings:
            text += "\n" + "\n".join(f"Note: {w}" for w in event.warnings)
        self.status_label.setText(text)

    def _progress_changed(self, p: Progress) -> None:
        if p.fraction >= 1.0 or self.session.state in ("starting", "paused", "idle"):
            self._progress_timer.stop()
            self._show_progress(p)
        elif not self._progress_timer.isActive():
            self._progress_timer.start()

    def _show_progress(self, p: Progress) -> None:
        self.progress.setValue(int(round(p.fraction * 1000)))
        run = self.session.current
        state = run_status(run) if run is not None else None
        if state is not None and state.status in ("running", "paused"):  # the dashboard's words (run_status.py)
            text = f"{state.label} · {state.epoch_text} · step {state.step:,}"
        else:
            text = f"Epoch {max(1, p.epoch)}/{p.epochs} · step {p.step:,}"
        if p.total_steps:
            text += f"/{p.total_steps:,}"
        if p.eta_s is not None and p.fraction < 1.0 and self.session.state != "paused":
            text += f" · {format_duration(p.eta_s)} left"
        if self.session.state == "paused" and self.session.current_editable():
            text += " · edit, then Resume"
        self.progress.setFormat(text)

    def _run_ended(self, run: Any, event: Any) -> None:
        self._progress_timer.stop()
        self.progress.setFormat(self._ended_text(run))
        if getattr(event, "status", "") not in ("finished", "stopped"):
            self._show_failure(event)

    @staticmethod
    def _ended_text(run: Any) -> str:
        """"Finished · epoch 20 / 20 · step 460 · val accuracy 97.8%": the dashboard's words (run_status.py)."""
        text = run_status(run).text
        end = run.finished
        if end is not None and end.stopped_early and end.reason:
            text += f" ({end.reason})"
        metric = _final_metric(run.records[-1] if run.records else {})
        return text + (f" · {metric}" if metric and run.status != "failed" else "")

    def _show_failure(self, event: Any) -> None:
        if event is None:
            self._failure_node = None
            self.failure_label.hide()
            return
        message = event.message.strip()
        if event.hint and event.hint not in message:
            message += f" — {event.hint}"
        node = event.node_id if event.node_id and event.node_id in self.document.graph else None
        self._failure_node = node
        self.failure_label.setText("⚠ " + message[:1].upper() + message[1:]
                                   + (f"  (click to show {node})" if node else ""))
        self.failure_label.setCursor(Qt.CursorShape.PointingHandCursor if node else Qt.CursorShape.ArrowCursor)
        self.failure_label.setToolTip(f"Show layer {node} on the canvas" if node else "")
        self.failure_label.show()

    @property
    def failure_text(self) -> str:
        return self.failure_label.text() if not self.failure_label.isHidden() else ""

    def _failure_clicked(self) -> None:
        if self._failure_node is not None:
            self.node_requested.emit(self._failure_node)

    def _show_warning(self, text: str) -> None:
        self.warning_label.setText(f"⚠ {text}" if text else "")
        self.warning_label.setVisible(bool(text))


def _needs_path(info: DatasetInfo) -> bool:
    return any(p.kind == DataParamKind.PATH and p.default is REQUIRED for p in info.params)


def _final_metric(record: dict[str, Any]) -> str:
    for key, label, pct in (("val_accuracy", "val accuracy", True), ("val_r2", "val R²", False),
                            ("val_loss", "val loss", False), ("train_loss", "train loss", False)):
        value = record.get(key)
        if value is not None:
            return f"{label} {value:.1%}" if pct else f"{label} {value:.4g}"
    return ""


__all__ = ["TextEditor", "TrainingPanel"]
