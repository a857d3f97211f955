"""The training panel: the run controls (Start / Pause / Resume / Stop, progress with ETA, failures, the
overfitting warning) over the project's training settings (dataset with preview, task and loss, optimiser,
schedule, epochs, batch size, validation split, seed, augmentation, device).

Settings are data: every control is a `Param` (graph_engine.catalog.spec) shown by the inspector's own
editors (`param_editors.editor_for`, STYLE.md item 6): the dataset's params come from the dataset registry,
the augmentation's from `graph_engine.data.AUGMENT_PARAMS`, the rest are declared below. Dataset params of
kind "path" get a line edit with a browse button, "text" a line edit.

Every finished edit replaces `project.training` through one `SetTrainingCommand` on the document's undo
stack (so it is undoable and marks the document unsaved). The new section is checked with
`TrainingConfig.parse` first; a value it refuses is not applied and the reason shows under the editor,
as in the inspector. While a run is going the settings are read-only, like the network.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QMouseEvent, QPalette, QUndoCommand
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

from app.document import Document
from app.panels.inspector import section_header
from app.panels.param_editors import ParamEditor, editor_for, param_tooltip
from app.theme import ERROR_COLOR, WARNING_COLOR
from app.training.dataset_preview import DatasetPreview
from app.training.device_info import DeviceCatalog, DeviceChoice, fallback_choices
from app.training.session import Progress, TrainingSession, format_duration
from graph_engine.catalog.spec import REQUIRED, Param, ParamKind
from graph_engine.data import AUGMENT_PARAMS, DATASETS, DataParamKind, DatasetInfo
from graph_engine.errors import ProjectError
from graph_engine.params import validate_value
from graph_engine.training.config import (
    LOSSES,
    OPTIMIZERS,
    SCHEDULES,
    TrainingConfig,
)

# ---- the settings as data ----------------------------------------------------------------------------------

P = ParamKind
TASK = Param("task", P.CHOICE, "auto", "what the network learns; auto: what the dataset serves",
             choices=("auto", "classification", "regression", "autoencoder"))
LOSS = Param("loss", P.CHOICE, "auto", "auto: CrossEntropyLoss for classification, MSELoss otherwise",
             choices=("auto", *LOSSES))
OPTIMIZER = Param("optimizer", P.CHOICE, "Adam", "the update rule", choices=OPTIMIZERS)
LR = Param("lr", P.FLOAT, 0.001, "learning rate: the step size of each update (Adam 0.001, SGD 0.01)")
WEIGHT_DECAY = Param("weight_decay", P.FLOAT, 0.0, "L2 penalty on the weights (AdamW: decoupled)", min=0.0)
MOMENTUM = Param("momentum", P.FLOAT, 0.0, "SGD and RMSprop: how much of the last update carries over",
                 min=0.0, max=0.999)
NESTEROV = Param("nesterov", P.BOOL, False, "SGD: Nesterov momentum (needs momentum above 0)")
SCHEDULE = Param("schedule", P.CHOICE, "none", "how the learning rate changes during the run",
                 choices=SCHEDULES)
EPOCHS = Param("epochs", P.INT, 20, "passes over the training set", min=1, max=100_000)
BATCH_SIZE = Param("batch_size", P.INT, 64, "samples per step", min=1, max=1 << 20)
VAL_FRACTION = Param("val_fraction", P.FLOAT, 0.2, "the part of the data kept for validation (0: none)",
                     min=0.0, max=0.95)
SEED = Param("seed", P.INT, 0, "the same seed gives the same split, initial weights and run (on CPU)",
             min=0, max=2**31 - 1)
PATIENCE = Param("early_stopping", P.INT, None, "stop after this many epochs without improvement (none: off)",
                 min=1, max=100_000, nullable=True)
GRAD_CLIP = Param("grad_clip", P.FLOAT, None, "largest gradient norm (none: no clipping), e.g. 1.0", min=0.0,
                  nullable=True)
PROBE_EVERY = Param("probe_every", P.INT, 50, "steps between layer statistics for the live plots (0: never)",
                    min=0, max=1_000_000)
MIXED_PRECISION = Param("mixed_precision", P.BOOL, True, "float16 autocast on CUDA GPUs (ignored elsewhere)")
SCHEDULE_PARAMS: dict[str, tuple[Param, ...]] = {
    "none": (),
    "step": (Param("step_size", P.INT, None, "epochs between decays (none: a third of the epochs)", min=1,
                   max=100_000, nullable=True),
             Param("gamma", P.FLOAT, 0.1, "factor applied at each decay", min=0.0, max=1.0)),
    "cosine": (Param("min_lr", P.FLOAT, 0.0, "the learning rate at the end", min=0.0),),
    "onecycle": (Param("max_lr", P.FLOAT, None, "peak learning rate (none: the optimizer's lr)", min=0.0,
                       nullable=True),
                 Param("pct_start", P.FLOAT, 0.3, "part of the run spent warming up", min=0.0, max=1.0)),
    "plateau": (Param("factor", P.FLOAT, 0.1, "factor applied on a plateau", min=0.0, max=1.0),
                Param("patience", P.INT, 5, "epochs without improvement before decaying", min=0, max=100_000),
                Param("min_lr", P.FLOAT, 0.0, "the lowest learning rate", min=0.0)),
}
PROGRESS_MS = 200
TOP_DEFAULTS = {"epochs": 20, "batch_size": 64, "val_fraction": 0.2, "seed": 0, "device": "auto",
                "probe_every": 50, "mixed_precision": True}
LABELS = {"lr": "learning rate", "weight_decay": "weight decay", "batch_size": "batch size",
          "val_fraction": "validation", "early_stopping": "early stop", "grad_clip": "gradient clip",
          "probe_every": "probe every", "mixed_precision": "mixed precision", "step_size": "step size",
          "pct_start": "warm-up", "max_lr": "max lr", "min_lr": "min lr"}


# ---- the undoable edit ---------------------------------------------------------------------------------------


class TrainingSettings(QObject):
    """Announces changes of one document's `project.training` (a child of the document; `for_document`)."""

    changed = Signal()

    @classmethod
    def for_document(cls, document: Document) -> TrainingSettings:
        found = document.findChild(TrainingSettings, "trainingSettings")
        if found is None:
            found = cls(document)
            found.setObjectName("trainingSettings")
        return found


class SetTrainingCommand(QUndoCommand):
    """Replace `project.training` (one undo step); the panel and the status bar follow `settings.changed`."""

    def __init__(self, document: Document, new: dict[str, Any] | None, text: str,
                 parent: QUndoCommand | None = None):
        super().__init__(text, parent)
        self.project = document.project
        self.settings = TrainingSettings.for_document(document)
        self.old = copy.deepcopy(self.project.training)
        self.new = copy.deepcopy(new)

    def redo(self) -> None:
        self.project.training = copy.deepcopy(self.new)
        self.settings.changed.emit()

    def undo(self) -> None:
        self.project.training = copy.deepcopy(self.old)
        self.settings.changed.emit()


# ---- reading and writing the training section ------------------------------------------------------------------


def _dict(value: Any, key: str = "name") -> dict[str, Any]:
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, str):
        return {key: value}
    return {}


def effective_training(training: dict[str, Any] | None) -> tuple[dict[str, Any], str]:
    """Every setting with its default filled in (TrainingConfig.to_dict) and "" - or the raw section and
    the reason it does not parse."""
    try:
        return TrainingConfig.parse(training).to_dict(), ""
    except ProjectError as exc:
        hint = f" ({exc.hint})" if getattr(exc, "hint", "") else ""
        return copy.deepcopy(training or {}), f"{exc}{hint}"


def read_setting(training: dict[str, Any] | None, key: str) -> Any:
    """The value a settings key shows ("optimizer.lr", "dataset.noise", "augment.flip", "task"...)."""
    eff, _ = effective_training(training)
    raw = training or {}
    head, _, tail = key.partition(".")
    if key in ("task", "loss"):
        return raw.get(key) or "auto"
    if head == "optimizer":
        opt = _dict(eff.get("optimizer"))
        name = opt.get("name", "Adam")
        if tail == "name":
            return name
        if tail == "lr":
            return opt.get("lr", 0.01 if name == "SGD" else 0.001)
        return opt.get(tail, {"weight_decay": 0.0, "momentum": 0.0, "nesterov": False}.get(tail))
    if head == "schedule":
        sched = _dict(eff.get("schedule"))
        rsched = _dict(raw.get("schedule"))
        if tail == "name":
            return sched.get("name", "none")
        if tail == "step_size" and "step_size" not in rsched:
            return None  # derived from the epochs
        if tail in rsched:
            return rsched[tail]
        return next((p.default for ps in SCHEDULE_PARAMS.values() for p in ps if p.name == tail), None)
    if head == "early_stopping":
        es = eff.get("early_stopping")
        return es.get("patience") if isinstance(es, dict) else (5 if es is True else None)
    if head == "augment":
        aug = eff.get("augment") or {}
        return aug.get(tail, next(p.default for p in AUGMENT_PARAMS if p.name == tail))
    if head == "dataset":
        ds = _dict(raw.get("dataset")) or {"name": "digits"}
        if tail == "name":
            return ds.get("name", "digits")
        info = DATASETS.get(ds.get("name", ""))
        default = info.param(tail).default if info is not None and tail in info.param_names else None
        return ds.get(tail, None if default is REQUIRED else default)
    value = eff.get(key, raw.get(key))
    if value is None and key != "grad_clip":
        value = TOP_DEFAULTS.get(key)
    return value


def with_setting(training: dict[str, Any] | None, key: str, value: Any) -> dict[str, Any]:
    """A copy of the training section with one key set; keeps the section as small as the person wrote it
    ("auto" and defaults remove keys where the file can say nothing)."""
    out = copy.deepcopy(training or {})
    head, _, tail = key.partition(".")
    if key in ("task", "loss"):
        if value in (None, "auto"):
            out.pop(key, None)
        else:
            out[key] = value
        if key == "task" and value not in (None, "auto"):
            loss = out.get("loss")
            if loss and ((value == "classification") != (loss == "CrossEntropyLoss")):
                out.pop("loss")  # the old loss does not fit the new task: back to its default
        return out
    if head == "optimizer":
        opt = _dict(out.get("optimizer")) or {"name": "Adam"}
        if tail == "name":
            opt["name"] = value
            if value not in ("SGD", "RMSprop"):
                opt.pop("momentum", None)
            if value != "SGD":
                opt.pop("nesterov", None)
            if value not in ("Adam", "AdamW"):
                opt.pop("betas", None)
        else:
            opt[tail] = value
        out["optimizer"] = opt
        return out
    if head == "schedule":
        sched = _dict(out.get("schedule")) or {"name": "none"}
        if value is None:
            sched.pop(tail, None)
        else:
            sched[tail] = value
        out["schedule"] = sched
        return out
    if head == "early_stopping":
        if value is None:
            out.pop("early_stopping", None)
        else:
            es = out.get("early_stopping")
            es = dict(es) if isinstance(es, dict) else {}
            es["patience"] = value
            es.pop("enabled", None)
            out["early_stopping"] = es
        return out
    if head == "augment":
        aug = dict(out.get("augment") or {})
        aug[tail] = value
        defaults = {p.name: p.default for p in AUGMENT_PARAMS}
        aug = {k: v for k, v in aug.items() if v != defaults.get(k)}
        if aug:
            out["augment"] = aug
        else:
            out.pop("augment", None)
        return out
    if head == "dataset":
        ds = _dict(out.get("dataset")) or {"name": "digits"}
        if tail == "name":
            ds = {"name": value}
            task = out.get("task")
            dataset_task = DATASETS[value].task if value in DATASETS else "auto"
            if task in ("classification", "regression") and dataset_task not in ("auto", task):
                out.pop("task", None)
                out.pop("loss", None)
        elif value is None:
            ds.pop(tail, None)
        else:
            ds[tail] = value
        out["dataset"] = ds
        return out
    if value is None:
        out.pop(key, None)
    else:
        out[key] = value
    return out


def check_training(training: dict[str, Any]) -> str:
    """Why TrainingConfig refuses the section ("" when it is fine)."""
    try:
        TrainingConfig.parse(training)
    except ProjectError as exc:
        hint = getattr(exc, "hint", "")
        return f"{exc}" + (f"; {hint}" if hint else "")
    return ""


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

    def __init__(self, document: Document, session: TrainingSession, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = document
        self.session = session
        self.settings = TrainingSettings.for_document(document)
        self.editors: dict[str, ParamEditor] = {}
        self._params: dict[str, Param] = {}
        self._rows: dict[str, tuple[QLabel, QWidget]] = {}
        self._failure_node: str | None = None
        self._refreshing = False
        self._dataset_name = ""

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

        self.settings.changed.connect(self.refresh)
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

    def showEvent(self, event) -> None:
        super().showEvent(event)
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

    def _add_editor(self, form: QFormLayout, key: str, param: Param) -> ParamEditor:
        editor = editor_for_setting(param, self.form_host)
        editor.setObjectName(f"setting:{key}")
        self._params[key] = param
        editor.committed.connect(lambda value, k=key: self._commit(k, value))
        if isinstance(editor, TextEditor) and editor.browse is not None:
            editor.browse_requested.connect(lambda k=key: self._browse(k))
        label = QLabel(LABELS.get(param.name, param.name.replace("_", " ")), self.form_host)
        label.setToolTip(param_tooltip(param))
        label.setBuddy(editor.primary_input)
        form.addRow(label, editor)
        self.editors[key] = editor
        self._rows[key] = (label, editor)
        return editor

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

        add(section_header("Task", self.form_host))
        form = self._form()
        self._add_editor(form, "task", TASK)
        self._add_editor(form, "loss", LOSS)

        add(section_header("Optimizer", self.form_host))
        form = self._form()
        self._add_editor(form, "optimizer.name", OPTIMIZER)
        self._add_editor(form, "optimizer.lr", LR)
        self._add_editor(form, "optimizer.weight_decay", WEIGHT_DECAY)
        self._add_editor(form, "optimizer.momentum", MOMENTUM)
        self._add_editor(form, "optimizer.nesterov", NESTEROV)
        self._add_editor(form, "schedule.name", SCHEDULE)
        self.schedule_form = form
        for params in SCHEDULE_PARAMS.values():
            for param in params:
                key = f"schedule.{param.name}"
                if key not in self.editors:
                    self._add_editor(form, key, param)

        add(section_header("Run", self.form_host))
        form = self._form()
        for key, param in (("epochs", EPOCHS), ("batch_size", BATCH_SIZE), ("val_fraction", VAL_FRACTION),
                           ("seed", SEED), ("early_stopping.patience", PATIENCE), ("grad_clip", GRAD_CLIP)):
            self._add_editor(form, key, param)

        add(section_header("Augmentation", self.form_host))
        form = self._form()
        for param in AUGMENT_PARAMS:
            self._add_editor(form, f"augment.{param.name}", param)

        add(section_header("Device", self.form_host))
        form = self._form()
        self.device_combo = QComboBox(self.form_host)
        self.device_combo.setObjectName("deviceCombo")
        self.device_combo.activated.connect(self._device_chosen)
        device_label = QLabel("device", self.form_host)
        device_label.setBuddy(self.device_combo)
        form.addRow(device_label, self.device_combo)
        self._add_editor(form, "mixed_precision", MIXED_PRECISION)
        self._add_editor(form, "probe_every", PROBE_EVERY)
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
            optimizer = read_setting(training, "optimizer.name")
            self._set_row_visible("optimizer.momentum", optimizer in ("SGD", "RMSprop"))
            self._set_row_visible("optimizer.nesterov", optimizer == "SGD")
            schedule = read_setting(training, "schedule.name")
            mine = {p.name for p in SCHEDULE_PARAMS.get(schedule, ())}
            for params in SCHEDULE_PARAMS.values():
                for p in params:
                    self._set_row_visible(f"schedule.{p.name}", p.name in mine)
            self._select_device(read_setting(training, "device"))
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
        param = self._params.get(key)
        problem = validate_value(param, value) if param is not None and isinstance(param.kind, ParamKind) else None
        if problem:
            self._refuse(editor, problem)
            return
        if self._apply(key, value, editor):
            if editor is not None:
                editor.clear_error()

    def _apply(self, key: str, value: Any, editor: ParamEditor | None = None) -> bool:
        """Set one setting through the undo stack; False (and the reason shown) when it is refused."""
        if self.document.read_only or self.session.running:
            self._refuse(editor, "the settings cannot change while a run is going; stop it first")
            return False
        training = self.training
        new = with_setting(training, key, value)
        if new == (training or {}):
            self.refresh()
            return True
        problem = check_training(new)
        if problem and not check_training(training or {}):  # never make a good section bad
            self._refuse(editor, problem)
            return False
        label = LABELS.get(key.rpartition(".")[2], key.rpartition(".")[2].replace("_", " "))
        self.document.undo_stack.push(SetTrainingCommand(self.document, new, f"Set training {label}"))
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
            new = with_setting(with_setting(self.training, "dataset.name", name), "dataset.path", path)
            if self.document.read_only or self.session.running:
                self.refresh()
                return
            self.document.undo_stack.push(SetTrainingCommand(self.document, new, "Set training dataset"))
            return
        self._apply("dataset.name", name)

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
        self.device_combo.blockSignals(True)
        self.device_combo.clear()
        for choice in choices:
            self.device_combo.addItem(choice.label, choice.value)
            self.device_combo.setItemData(self.device_combo.count() - 1, choice.detail, Qt.ItemDataRole.ToolTipRole)
        self.device_combo.blockSignals(False)
        self._select_device(read_setting(self.training, "device"))

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

    def _device_chosen(self, index: int) -> None:
        value = self.device_combo.itemData(index)
        if value is not None and value != read_setting(self.training, "device"):
            self._apply("device", value)

    # ---- preview -------------------------------------------------------------------------------------

    def _toggle_preview(self, on: bool) -> None:
        self.preview_toggle.setArrowType(Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow)
        self.preview.setVisible(on)
        if on:
            self._update_preview()

    def _update_preview(self) -> None:
        dataset = _dict((self.training or {}).get("dataset")) or {"name": "digits"}
        base = self.document.path.parent if self.document.path else None
        self.preview.set_config(dataset, base)

    # ---- running -------------------------------------------------------------------------------------

    def commit_pending(self) -> None:
        """Commit what a focused text field holds (before Start)."""
        for editor in self.editors.values():
            if editor.isVisible() and editor.focusWidget() is not None and editor.isAncestorOf(
                    editor.focusWidget()):
                editor.commit_pending()

    def start(self) -> None:
        """Start button / Train > Start."""
        if self.session.running:
            return
        self.commit_pending()
        self.session.start()

    def _state_changed(self, state: str) -> None:
        running = state != "idle"
        self.start_button.setEnabled(not running and self.session.document is self.document)
        self.pause_button.setEnabled(state in ("starting", "running"))
        self.resume_button.setEnabled(state == "paused")
        self.stop_button.setEnabled(state in ("starting", "running", "paused"))
        self.pause_button.setVisible(state != "paused")
        self.resume_button.setVisible(state == "paused")
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
        editable = not self.document.read_only and not self.session.running
        self.form_host.setEnabled(editable)

    def _run_started(self, run: Any, event: Any) -> None:
        amp = ", mixed precision" if event.mixed_precision else ""
        text = (f"{run.name}: {event.dataset}, {event.n_train:,} training / {event.n_val:,} validation samples, "
                f"{event.param_count:,} parameters on {event.device_name}{amp}")
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
        text = f"Epoch {max(1, p.epoch)}/{p.epochs} · step {p.step:,}"
        if p.total_steps:
            text += f"/{p.total_steps:,}"
        if p.eta_s is not None and p.fraction < 1.0:
            text += f" · {format_duration(p.eta_s)} left"
        if self.session.state == "paused":
            text += " · paused"
        self.progress.setFormat(text)

    def _run_ended(self, run: Any, event: Any) -> None:
        self._progress_timer.stop()
        status = getattr(event, "status", "")
        record = run.records[-1] if run.records else {}
        metric = _final_metric(record)
        if status == "finished":
            reason = f" ({event.reason})" if getattr(event, "stopped_early", False) and event.reason else ""
            self.progress.setFormat(f"Finished {len(run.records)} epochs{reason}" + (f" · {metric}" if metric else ""))
        elif status == "stopped":
            self.progress.setFormat(f"Stopped at epoch {event.epoch}, step {event.step:,}"
                                    + (f" · {metric}" if metric else ""))
        else:
            self.progress.setFormat("Failed")
            self._show_failure(event)

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


__all__ = ["SetTrainingCommand", "TextEditor", "TrainingPanel", "TrainingSettings",
           "check_training", "effective_training", "read_setting", "with_setting"]
