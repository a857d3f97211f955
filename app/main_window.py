"""The main window: the canvas in the middle, docks around it, menus, toolbar and status bar; the file
commands (new, open, save, recent, drop, unsaved-changes prompt), autosave and crash recovery.

One window shows one Document. Opening a project builds a new Document and *new views* for it (canvas,
palette, inspector, problems, code, status read-out) which replace the old ones inside the same docks; the
old document and its views are then deleted. Views therefore take their document in the constructor and
never have to support switching. What outlives a document: the docks themselves (so their places and
sizes stay), the actions, the QUndoGroup that the Undo/Redo actions and the History dock follow, the recent
files and the autosaver.

With no project open the window shows the welcome page instead of the canvas and hides the docks (they come
back as they were when a project opens). It still holds an empty untitled Document then, so `document` is
never None; adding a layer from anywhere leaves the welcome page.

Every question to the person goes through a small method (`ask_save_changes`, `ask_open_path`,
`ask_save_path`, `ask_template`, `ask_recovery`, `show_error`...) so tests can answer it without a modal
dialog.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QByteArray, QEvent, QObject, QSettings, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence, QUndoGroup
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QFileDialog,
    QFrame,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QStyle,
    QToolBar,
    QUndoView,
    QVBoxLayout,
    QWidget,
)

from app.about_dialog import show_about as show_about_dialog
from app.actions import app_icon, icon, make_action
from app.autosave import Autosaver, RecoverableSession, find_recoverable
from app.canvas import CanvasView
from app.canvas.appearance import HEADER_H, NODE_WIDTH
from app.canvas.clipboard import clipboard_has_nodes
from app.canvas.view import PLACE_GAP
from app.document import Document, EditRefused
from app.editor_area import EditorArea
from app.file_ops import (
    ALL_FILES_FILTER,
    PROJECT_FILTER,
    PYTHON_FILTER,
    name_from_file,
    new_from_template,
    read_project,
    suggested_file_name,
    with_project_suffix,
    write_project,
    write_text_atomic,
)
from app.help.windows import show_getting_started, show_read_more, show_shortcuts
from app.panels import CodeViewPanel, DiagnosticsPanel, InspectorPanel, PalettePanel, StatusInfo
from app.settings import RecentFiles, open_settings
from app.training.canvas_stats import CanvasStats
from app.training.session import TrainingSession, run_action_state, session_state_allows_edits
from app.welcome import EMPTY, WELCOME_STYLE, NewProjectDialog, WelcomePage
from graph_engine.blocks.resolve import spec_for
from graph_engine.errors import ProjectError
from graph_engine.project import DEFAULT_NAME, Project, class_name_for

APP_NAME = "LayerLoom"
# Bump when the docks change so an old saved layout is not restored onto new docks. 3: the dashboard left
# the bottom dock area (where it squeezed the canvas) for the Train perspective's own central area.
STATE_VERSION = 3
GEOMETRY_KEY = "window/geometry"
STATE_KEY = "window/state"
TRAIN_SPLIT_KEY = "window/trainSplit"  # the Train perspective's splitter fractions (app/editor_area.py)
TRAIN_DOCKS_KEY = "window/trainDocks"  # the docks shown in the Train perspective (none at first)
PERSPECTIVE_KEYS = {"perspective_design": ["Ctrl+1"], "perspective_train": ["Ctrl+2"]}
DEFAULT_SIZE = (1400, 900)
MESSAGE_MS = 6000
ZOOM_STEP = 1.25
CANVAS_KEYS = ("fit", "delete")  # actions whose shortcut is a plain key: active while the canvas has focus
TRAIN_KEYS = {"train_start": ["Ctrl+R", "F5"], "train_pause": ["F6"], "train_stop": ["Shift+F5", "Ctrl+."]}


class MainWindow(QMainWindow):
    """See the module docstring. `settings` defaults to the app's QSettings; `autosaver` None means no
    autosave (the screenshot command)."""

    document_changed = Signal(object)  # the new Document

    def __init__(self, settings: QSettings | None = None, autosaver: Autosaver | None = None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.settings = settings if settings is not None else open_settings()
        self.recent = RecentFiles(self.settings, self)
        self.autosaver = autosaver
        self.document: Document | None = None
        self.canvas: CanvasView | None = None
        self.palette_panel = self.inspector_panel = self.diagnostics_panel = self.code_panel = None
        self.status_info: StatusInfo | None = None
        self.training_panel = None  # TrainingPanel, built when the Training dock is first shown for a document
        self.canvas_stats: CanvasStats | None = None
        self.dashboard = None  # TrainingDashboard, made the first time it is shown (pyqtgraph is not imported before)
        self.runs_panel = None
        self.training_session = TrainingSession(parent=self)
        self.undo_group = QUndoGroup(self)
        self._welcome = False
        self._hidden_for_welcome: list[QDockWidget] = []
        self._docks_sized = False  # first-run dock sizes applied (or a saved layout restored)
        self._layout_ready = False  # docks tabified (or a saved layout restored)

        self.setObjectName("mainWindow")
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self.setDockNestingEnabled(True)
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)

        self._stack = QStackedWidget(self)
        self.welcome = WelcomePage(self._stack)
        self.welcome.setStyleSheet(WELCOME_STYLE)
        self._stack.addWidget(self.welcome)
        # The canvas (Design perspective), or the canvas, run list and dashboard (Train): app/editor_area.py
        self.editor_area = EditorArea(self._stack)
        self._stack.addWidget(self.editor_area)
        self.setCentralWidget(self._stack)
        self.perspective = "design"
        self._design_state: QByteArray | None = None  # the dock layout to go back to when leaving Train
        self._train_docks: list[str] = []  # object names of the docks shown in Train
        self.welcome.template_chosen.connect(self.new_from_template)
        self.welcome.new_empty_requested.connect(lambda: self.new_from_template(EMPTY))
        self.welcome.open_requested.connect(self.open_file)
        self.welcome.recent_chosen.connect(self.open_file)

        self._build_docks()
        self._build_actions()
        self._build_training_actions()
        self._build_menus()
        self._build_toolbar()
        self.statusBar().setSizeGripEnabled(True)
        self.statusBar().messageChanged.connect(self._status_message_changed)
        self.recent.changed.connect(self._recent_changed)
        QApplication.clipboard().dataChanged.connect(self._update_paste)
        session = self.training_session
        session.state_changed.connect(self._training_state_changed)
        session.run_added.connect(self._run_added)
        session.run_ended.connect(self._run_ended)
        session.edit_refused.connect(lambda text: self.show_error("Cannot resume", text,
                                                                  "Undo the change or fix it, then press Resume."))
        session.overlay_changed.connect(lambda runs: self.dashboard is not None and self.dashboard.set_overlay_runs(runs))
        if self.autosaver is not None:
            self.autosaver.saved.connect(
                lambda path: self.statusBar().showMessage(f"Autosaved at {datetime.now():%H:%M}", 4000))
            self.autosaver.failed.connect(
                lambda reason: self.statusBar().showMessage(f"Autosave failed: {reason}", 15000))

        self._restore_window()
        self.set_document(Document(), welcome=True)
        self._recent_changed()

    # ---- building ----------------------------------------------------------------------------------------

    def _dock(self, title: str, name: str, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.addDockWidget(area, dock)
        return dock

    def _build_docks(self) -> None:
        left, right = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
        bottom = Qt.DockWidgetArea.BottomDockWidgetArea
        self.palette_dock = self._dock("Layers", "layersDock", left)
        self.inspector_dock = self._dock("Inspector", "inspectorDock", right)
        self.code_dock = self._dock("Code", "codeDock", right)
        self.diagnostics_dock = self._dock("Problems", "problemsDock", bottom)
        self.history_dock = self._dock("History", "historyDock", bottom)
        self.history_view = QUndoView(self.undo_group, self.history_dock)
        self.history_view.setEmptyLabel("Opened")
        self.history_dock.setWidget(self.history_view)
        self.docks = [self.palette_dock, self.inspector_dock, self.code_dock, self.diagnostics_dock,
                      self.history_dock]
        # Training: the settings and run controls (a tab beside the inspector), hidden until asked for
        # (Train > Training Panel, or Start). The dashboard and the run list are no dock: they are the Train
        # perspective's central area (set_perspective).
        self.training_dock = self._dock("Training", "trainingDock", right)
        self.training_docks = [self.training_dock]
        for dock in self.training_docks:
            dock.hide()
        self.training_dock.visibilityChanged.connect(lambda visible: visible and self.ensure_training_panel())

    def _tabify_docks(self) -> None:
        # Done once the window is shown: tabifying a second group before the first layout leaves a stray
        # copy of the first group's tab bar on screen (Qt 6.11).
        self.tabifyDockWidget(self.inspector_dock, self.code_dock)
        self.tabifyDockWidget(self.code_dock, self.training_dock)
        self.tabifyDockWidget(self.diagnostics_dock, self.history_dock)
        self.inspector_dock.raise_()
        self.diagnostics_dock.raise_()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._layout_ready:
            self._layout_ready = True
            self._tabify_docks()
        QTimer.singleShot(0, self._size_docks_once)

    def _size_docks_once(self) -> None:
        # resizeDocks only takes once the window is shown and the docks are visible (not on the welcome page)
        if not self._docks_sized and self._layout_ready and not self._welcome and self.isVisible():
            self._docks_sized = True
            self._size_docks()

    def _size_docks(self) -> None:
        """First-run sizes: a narrow palette, a roomy inspector, a short problems strip."""
        self.resizeDocks([self.palette_dock], [230], Qt.Orientation.Horizontal)
        self.resizeDocks([self.inspector_dock], [360], Qt.Orientation.Horizontal)
        self.resizeDocks([self.diagnostics_dock], [140], Qt.Orientation.Vertical)

    def _build_actions(self) -> None:
        K = QKeySequence.StandardKey
        a = self.actions_by_name = {}

        def add(name: str, text: str, slot, **kwargs) -> QAction:
            action = make_action(self, text, slot, object_name=name, **kwargs)
            a[name] = action
            if name in CANVAS_KEYS:
                # Plain keys act only while the canvas has the focus (F or Delete typed in the palette's
                # tree or a combo box must not fit or delete); _build_views adds them to each canvas.
                action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            else:
                self.addAction(action)  # window-wide, even with the menu bar hidden
            return action

        add("new", "&New from Template…", self.new_from_template, shortcuts=[K.New], icon_name="new",
            tip="Start a new project from a template or an empty canvas")
        add("open", "&Open…", self.open_file, shortcuts=[K.Open], icon_name="open", tip="Open a project file")
        add("save", "&Save", self.save, shortcuts=[K.Save], icon_name="save", tip="Save the project")
        add("save_as", "Save &As…", self.save_as, shortcuts=[QKeySequence("Ctrl+Shift+S")],
            tip="Save the project under a new name")
        add("export_code", "&Export…", self.open_export_dialog, shortcuts=[QKeySequence("Ctrl+E")],
            icon_name="export", tip="Export the code, a run's trained weights, train.py, ONNX or a bundle, checked")
        add("close_project", "&Close Project", self.close_project, shortcuts=[K.Close],
            tip="Close the project and go back to the welcome page")
        add("quit", "&Quit", self.close, shortcuts=[QKeySequence("Ctrl+Q")], tip="Quit LayerLoom")
        a["quit"].setMenuRole(QAction.MenuRole.QuitRole)

        undo = self.undo_group.createUndoAction(self, "&Undo")
        undo.setShortcuts(QKeySequence.keyBindings(K.Undo))
        redo = self.undo_group.createRedoAction(self, "&Redo")
        redo_keys = [QKeySequence("Ctrl+Y"), QKeySequence("Ctrl+Shift+Z")]
        redo.setShortcuts(redo_keys)
        for name, action, tip in (("undo", undo, "Undo the last edit"), ("redo", redo, "Redo the edit undone")):
            action.setObjectName(name)
            action.setIcon(icon(name))
            action.setStatusTip(tip)
            a[name] = action
            self.addAction(action)

        add("cut", "Cu&t", lambda: self._canvas_do("cut"), shortcuts=[K.Cut], icon_name="cut")
        add("copy", "&Copy", lambda: self._canvas_do("copy"), shortcuts=[K.Copy], icon_name="copy")
        add("paste", "&Paste", lambda: self._canvas_do("paste"), shortcuts=[K.Paste], icon_name="paste")
        add("duplicate", "D&uplicate", lambda: self._canvas_do("duplicate"), shortcuts=[QKeySequence("Ctrl+D")])
        add("delete", "&Delete", lambda: self._canvas_do("delete"),
            shortcuts=[QKeySequence(Qt.Key.Key_Delete), QKeySequence(Qt.Key.Key_Backspace)], icon_name="delete")
        add("select_all", "Select &All", lambda: self._canvas_do("select_all"), shortcuts=[K.SelectAll])
        add("group", "&Group into Block", self.group_selection, shortcuts=[QKeySequence("Ctrl+G")],
            tip="Put the selected layers into a new block, with one instance in their place")
        add("ungroup", "U&ngroup Block", self.ungroup_selection, shortcuts=[QKeySequence("Ctrl+Shift+G")],
            tip="Replace the selected block instance by its layers")
        add("find_layer", "&Find Layer in Palette", self.find_layer, shortcuts=[K.Find], icon_name="find",
            tip="Search the layer palette")

        add("fit", "&Fit to View", lambda: self._canvas_do("fit"), shortcuts=[QKeySequence(Qt.Key.Key_Home)],
            icon_name="fit", tip="Show the whole network")
        add("zoom_in", "Zoom &In", lambda: self._canvas_do("zoom_in"),
            shortcuts=[K.ZoomIn, QKeySequence("Ctrl+=")], icon_name="zoom-in")
        add("zoom_out", "Zoom &Out", lambda: self._canvas_do("zoom_out"), shortcuts=[K.ZoomOut],
            icon_name="zoom-out")
        add("zoom_reset", "&Actual Size", lambda: self._canvas_do("zoom_reset"), shortcuts=[QKeySequence("Ctrl+0")],
            tip="Zoom to 100%")
        add("show_discriminator", "&Discriminator (GAN)", self.toggle_discriminator,
            tip="Show and edit a GAN's discriminator on the canvas (off: its generator)").setCheckable(True)
        add("tidy", "&Tidy Up Layout", self.tidy_up, shortcuts=[QKeySequence("Ctrl+L")], icon_name="tidy",
            tip="Lay the network out left to right")
        add("reset_layout", "&Reset Panel Layout", self.reset_layout,
            tip="Put the panels back where they were at first start")
        add("getting_started", "&Getting Started", lambda: show_getting_started(self), shortcuts=[K.HelpContents, "F1"],
            tip="A short guide: palette, canvas, connect, check, train, export")
        add("shortcuts", "&Keyboard Shortcuts", lambda: show_shortcuts(self), shortcuts=["Ctrl+/"],
            tip="Every shortcut, searchable")
        add("read_more", "&Read More", lambda: show_read_more(self), tip="The README and the documentation")
        add("about", "&About LayerLoom", self.show_about)
        a["about"].setMenuRole(QAction.MenuRole.AboutRole)
        add("about_qt", "About &Qt", QApplication.aboutQt)
        a["about_qt"].setMenuRole(QAction.MenuRole.AboutQtRole)
        self.project_actions = [a[n] for n in ("save", "save_as", "export_code", "close_project", "cut", "copy",
                                               "paste", "duplicate", "delete", "select_all", "group", "ungroup",
                                               "find_layer", "fit",
                                               "zoom_in", "zoom_out", "zoom_reset", "tidy", "reset_layout")]

    def _build_training_actions(self) -> None:
        a = self.actions_by_name
        style = self.style()

        def add(name: str, text: str, slot, tip: str, pixmap: QStyle.StandardPixmap | None = None) -> QAction:
            action = make_action(self, text, slot, object_name=name, shortcuts=TRAIN_KEYS.get(name, ()), tip=tip)
            if pixmap is not None:
                action.setIcon(style.standardIcon(pixmap))
            a[name] = action
            self.addAction(action)
            return action

        add("train_start", "&Start Training", self.start_training, "Train the network as it is now",
            QStyle.StandardPixmap.SP_MediaPlay)
        add("train_pause", "&Pause Training", self.toggle_pause, "Pause the run between two steps, or resume it",
            QStyle.StandardPixmap.SP_MediaPause)
        add("train_stop", "S&top Training", self.stop_training, "End the run before its next step",
            QStyle.StandardPixmap.SP_MediaStop)
        add("train_panel", "Training &Panel", self.show_training_panel,
            "Show the dataset, hyperparameters and run controls")
        add("train_dashboard", "Training &Dashboard", self.show_dashboard, "Show the live plots and the run list")
        add("train_from_weights", "Train from These &Weights...", self.train_from_weights,
            "Start the next runs from a weights file (an imported model's, a run's): transfer learning")
        add("train_find_batch", "Find &Batch Size", self.find_batch_size,
            "Set the largest batch size whose memory estimate fits the device's free memory")
        # The two perspectives (app/editor_area.py): exclusive, checkable, in the View menu and the toolbar.
        group = QActionGroup(self)
        group.setExclusive(True)
        for name, text, mode, tip in (
                ("perspective_design", "&Design", "design", "Build the network: the canvas with its panels"),
                ("perspective_train", "T&rain", "train", "Watch training: the canvas, the runs and the dashboard")):
            action = make_action(self, text, lambda m=mode: self.set_perspective(m), object_name=name,
                                 shortcuts=PERSPECTIVE_KEYS[name], tip=tip, checkable=True)
            action.setChecked(mode == self.perspective)
            group.addAction(action)
            a[name] = action
            self.addAction(action)

    def _build_menus(self) -> None:
        a = self.actions_by_name
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addActions([a["new"], a["open"]])
        self.recent_menu = file_menu.addMenu("Open &Recent")
        file_menu.addSeparator()
        file_menu.addActions([a["save"], a["save_as"]])
        file_menu.addSeparator()
        file_menu.addAction(a["export_code"])
        file_menu.addSeparator()
        file_menu.addActions([a["close_project"], a["quit"]])

        edit_menu = bar.addMenu("&Edit")
        edit_menu.addActions([a["undo"], a["redo"]])
        edit_menu.addSeparator()
        edit_menu.addActions([a["cut"], a["copy"], a["paste"], a["duplicate"], a["delete"]])
        edit_menu.addSeparator()
        edit_menu.addActions([a["select_all"], a["find_layer"]])
        edit_menu.addSeparator()
        edit_menu.addActions([a["group"], a["ungroup"]])

        view_menu = bar.addMenu("&View")
        view_menu.addActions([a["perspective_design"], a["perspective_train"]])
        view_menu.addSeparator()
        view_menu.addActions([a["fit"], a["zoom_in"], a["zoom_out"], a["zoom_reset"]])
        view_menu.addSeparator()
        view_menu.addAction(a["show_discriminator"])
        view_menu.addSeparator()
        view_menu.addAction(a["tidy"])
        view_menu.addSeparator()
        self.panels_menu = view_menu.addMenu("&Panels")
        self.dock_actions = {}
        for dock in self.docks + self.training_docks:
            toggle = dock.toggleViewAction()
            self.dock_actions[dock.objectName()] = toggle
            self.panels_menu.addAction(toggle)
        view_menu.addSeparator()
        view_menu.addAction(a["reset_layout"])

        train_menu = bar.addMenu("&Train")
        train_menu.addActions([a["train_start"], a["train_pause"], a["train_stop"]])
        train_menu.addSeparator()
        train_menu.addActions([a["train_panel"], a["train_dashboard"]])
        train_menu.addSeparator()
        train_menu.addAction(a["train_from_weights"])
        train_menu.addAction(a["train_find_batch"])
        self.train_menu = train_menu

        help_menu = bar.addMenu("&Help")
        help_menu.addActions([a["getting_started"], a["shortcuts"], a["read_more"]])
        help_menu.addSeparator()
        help_menu.addActions([a["about"], a["about_qt"]])

    def _build_toolbar(self) -> None:
        a = self.actions_by_name
        bar = QToolBar("Main Toolbar", self)
        bar.setObjectName("mainToolbar")
        bar.setMovable(False)
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        bar.setIconSize(bar.iconSize().expandedTo(bar.iconSize()))
        for name in ("new", "open", "save", None, "undo", "redo", None, "fit", "zoom_in", "zoom_out", "tidy", None,
                     "export_code", None, "train_start", "train_pause", "train_stop", None,
                     "perspective_design", "perspective_train"):
            if name is None:
                bar.addSeparator()
            else:
                bar.addAction(a[name])
        for name in ("perspective_design", "perspective_train"):  # text buttons: a visible Design | Train switch
            button = bar.widgetForAction(a[name])
            if button is not None:
                button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        self.toolbar = bar
        self.panels_menu.addSeparator()
        self.panels_menu.addAction(bar.toggleViewAction())

    # ---- window state ------------------------------------------------------------------------------------

    def _restore_window(self) -> None:
        geometry = self.settings.value(GEOMETRY_KEY)
        state = self.settings.value(STATE_KEY)
        if isinstance(geometry, QByteArray | bytes) and self.restoreGeometry(QByteArray(geometry)):
            pass
        else:
            self.resize(*DEFAULT_SIZE)
            screen = QApplication.primaryScreen()
            if screen is not None:
                available = screen.availableGeometry()
                self.resize(min(DEFAULT_SIZE[0], int(available.width() * 0.92)),
                            min(DEFAULT_SIZE[1], int(available.height() * 0.92)))
                frame = self.frameGeometry()
                frame.moveCenter(available.center())
                self.move(frame.topLeft())
        if isinstance(state, QByteArray | bytes) and self.restoreState(QByteArray(state), STATE_VERSION):
            self._docks_sized = self._layout_ready = True
            # Only with a layout of this version: an older one's split and docks do not apply.
            self.editor_area.restore_sizes(self.settings.value(TRAIN_SPLIT_KEY))
            docks = self.settings.value(TRAIN_DOCKS_KEY)
            if isinstance(docks, str):
                self._train_docks = [n for n in docks.split(",") if n]

    def save_window_state(self) -> None:
        """Remember the geometry and the dock layout (as it is when a project is open)."""
        shown_again = [d for d in self._hidden_for_welcome if d.isHidden()]
        for dock in shown_again:  # the welcome page hides the docks; remember them as the person left them
            dock.setVisible(True)
        self.settings.setValue(GEOMETRY_KEY, self.saveGeometry())
        if self._layout_ready:  # never shown: the docks were not arranged yet, keep the last good layout
            training = self.perspective == "train" and self._design_state is not None
            if training:
                self._train_docks = self._shown_docks()
            # In Train the docks are hidden: what is kept is the Design layout the window goes back to.
            self.settings.setValue(STATE_KEY, self._design_state if training else self.saveState(STATE_VERSION))
            self.settings.setValue(TRAIN_SPLIT_KEY, self.editor_area.saved_sizes())
            self.settings.setValue(TRAIN_DOCKS_KEY, ",".join(self._train_docks))
        for dock in shown_again:
            dock.setVisible(False)
        self.settings.sync()

    def reset_layout(self) -> None:
        """View > Reset Panel Layout: every panel back in its first-run place."""
        self.set_perspective("design")
        self.editor_area.restore_sizes(self.editor_area.default_sizes_text())
        self._train_docks = []
        areas = {self.palette_dock: Qt.DockWidgetArea.LeftDockWidgetArea,
                 self.inspector_dock: Qt.DockWidgetArea.RightDockWidgetArea,
                 self.code_dock: Qt.DockWidgetArea.RightDockWidgetArea,
                 self.diagnostics_dock: Qt.DockWidgetArea.BottomDockWidgetArea,
                 self.history_dock: Qt.DockWidgetArea.BottomDockWidgetArea}
        for dock, area in areas.items():
            dock.setFloating(False)
            self.addDockWidget(area, dock)
            dock.setVisible(True)
        for dock, area in ((self.training_dock, Qt.DockWidgetArea.RightDockWidgetArea),):
            dock.setFloating(False)
            self.addDockWidget(area, dock, Qt.Orientation.Vertical)
            dock.setVisible(False)
        self._tabify_docks()
        self.toolbar.setVisible(True)
        self._size_docks()

    # ---- documents and views -----------------------------------------------------------------------------

    def set_document(self, document: Document, *, welcome: bool = False) -> None:
        """Show `document`: build its views, put them in the docks, retire the previous document."""
        old = self.document
        old_views = [w for w in (self.canvas, self.palette_panel, self.inspector_panel, self.diagnostics_panel,
                                 self.code_panel, self.status_info, self.training_panel) if w is not None]
        if self.canvas_stats is not None:
            self.canvas_stats.detach()
            self.canvas_stats = None
        if old is not None:
            # The old views die with deleteLater; keep the old document from talking to them meanwhile.
            for obj in (old, old.bridge, old.undo_stack):
                obj.blockSignals(True)
            self.undo_group.removeStack(old.undo_stack)
        document.setParent(self)
        self.document = document
        self.training_session.set_document(document)  # a run still going on the old document stops
        self.undo_group.addStack(document.undo_stack)
        self.undo_group.setActiveStack(document.undo_stack)
        self._build_views(document)
        for widget in old_views:
            widget.hide()
            widget.deleteLater()
        if old is not None:
            old.close()
            old.deleteLater()
        document.dirty_changed.connect(self._update_title)
        document.path_changed.connect(self._update_title)
        document.selection_changed.connect(self._update_actions)
        document.bridge.changed.connect(self._graph_changed)
        document.read_only_changed.connect(self._read_only_changed)
        document.checked.connect(self._update_training_actions)
        document.bridge.training_changed.connect(self.status_info.refresh)
        if self.autosaver is not None:
            self.autosaver.set_document(document)
        self.show_welcome(welcome)
        self._update_title()
        self._update_actions()
        self.document_changed.emit(document)
        if not welcome:
            self.canvas.setFocus()
            QTimer.singleShot(0, self._fit_new_document)

    def _fit_new_document(self) -> None:
        if self.canvas is not None and not self._welcome:
            self.canvas.fit_all()

    def _build_views(self, document: Document) -> None:
        self.canvas = CanvasView(document)
        self.editor_area.set_canvas(self.canvas)
        self.canvas.message.connect(self.show_message)
        self.canvas.node_activated.connect(self._node_activated)
        self.canvas.viewport().installEventFilter(self)
        self.canvas.addActions([self.actions_by_name[name] for name in CANVAS_KEYS])

        self.palette_panel = PalettePanel(document)
        self.palette_panel.op_requested.connect(self.add_layer)
        self.palette_panel.block_requested.connect(self.add_block)
        self.palette_dock.setWidget(self.palette_panel)
        self.inspector_panel = InspectorPanel(document)
        self.inspector_dock.setWidget(self.inspector_panel)
        self.diagnostics_panel = DiagnosticsPanel(document)
        self.diagnostics_panel.node_activated.connect(self.reveal_node)
        self.diagnostics_dock.setWidget(self.diagnostics_panel)
        self.code_panel = CodeViewPanel(document)
        self.code_panel.export_requested.connect(self.export_code)
        self.code_dock.setWidget(self.code_panel)
        self.status_info = StatusInfo(document)
        self.statusBar().addPermanentWidget(self.status_info)
        old = self.training_dock.widget()
        self.training_dock.setWidget(QLabel("", self.training_dock))  # until the dock is shown
        if old is not None and old is not self.training_panel:
            old.deleteLater()  # a placeholder; the old panel goes with the other old views
        self.training_panel = None
        if self.training_dock.isVisible():
            self.ensure_training_panel()
        self.canvas_stats = CanvasStats(self.canvas.canvas, self.training_session, lambda: self.dashboard)

    @property
    def welcome_visible(self) -> bool:
        return self._welcome

    def show_welcome(self, welcome: bool) -> None:
        """Switch between the welcome page (docks hidden) and the editor (docks as they were)."""
        if welcome and not self._welcome:
            self.set_perspective("design")
            self._hidden_for_welcome = [d for d in self.docks + self.training_docks if not d.isHidden()]
            for dock in self._hidden_for_welcome:
                dock.hide()
        elif not welcome and self._welcome:
            for dock in self._hidden_for_welcome:
                dock.show()
            self._hidden_for_welcome = []
        self._welcome = welcome
        self._size_docks_once()
        self._stack.setCurrentWidget(self.welcome if welcome else self.editor_area)
        if self.status_info is not None:
            self.status_info.setVisible(not welcome)
        for toggle in self.dock_actions.values():
            toggle.setEnabled(not welcome)
        self._update_title()
        self._update_actions()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange and hasattr(self, "welcome"):
            # Light <-> dark: style sheets resolve palette() when set, and the recent list has inline colours.
            self.welcome.setStyleSheet(WELCOME_STYLE)
            self.welcome.set_recent(self.recent.paths())
        super().changeEvent(event)

    def _graph_changed(self) -> None:
        if self._welcome:  # a layer was added from somewhere: the empty project is being edited
            self.show_welcome(False)

    def _update_title(self, *_args) -> None:
        doc = self.document
        if doc is None or self._welcome:
            self.setWindowTitle(APP_NAME)
            return
        self.setWindowTitle(f"{doc.title}{'*' if doc.dirty else ''} — {APP_NAME}")

    def _update_actions(self, *_args) -> None:
        editing = not self._welcome
        for action in self.project_actions:
            action.setEnabled(editing)
        self._update_training_actions()
        has_selection = editing and bool(self.document and self.document.selection)
        for name in ("cut", "copy", "duplicate", "delete"):
            self.actions_by_name[name].setEnabled(has_selection)
        self._update_paste()
        gan = self.actions_by_name["show_discriminator"]  # a GAN project's second network (graph_engine/gan.py)
        gan.setEnabled(editing and self.document is not None and self.document.project.discriminator is not None)
        gan.setChecked(self.document is not None and self.document.network == "discriminator")

    def toggle_discriminator(self) -> None:
        """Switch the canvas between a GAN's generator and its discriminator."""
        if self.document is None:
            return
        wanted = "generator" if self.document.network == "discriminator" else "discriminator"
        try:
            self.document.show_network(wanted)
        except EditRefused as exc:
            self.show_message(str(exc))
        self._update_actions()
        self.show_message(f"showing the {self.document.network}")

    def _update_paste(self) -> None:
        """Paste is enabled only while the clipboard holds layers (followed through dataChanged)."""
        self.actions_by_name["paste"].setEnabled(not self._welcome and clipboard_has_nodes())

    def show_message(self, text: str, timeout_ms: int = MESSAGE_MS) -> None:
        self.statusBar().showMessage(text, timeout_ms)

    def _status_message_changed(self, text: str) -> None:
        """A message that would be cut by the Params/FLOPs/Memory fields hides them while it shows (they
        come back when it goes); the whole text is the status bar's tooltip as well."""
        bar = self.statusBar()
        bar.setToolTip(text)
        info = getattr(self, "status_info", None)
        if info is None:
            return
        needed = bar.fontMetrics().horizontalAdvance(text) + info.sizeHint().width() + 40
        info.setVisible(not text or needed <= bar.width())

    # ---- training ----------------------------------------------------------------------------------------

    def show_training_panel(self) -> None:
        """Train > Training Panel: the settings and run controls, raised in their tab."""
        if self._welcome:
            return
        self.ensure_training_panel()
        self.training_dock.show()
        self.training_dock.raise_()

    def ensure_training_panel(self):
        """The document's TrainingPanel, built the first time the Training dock shows it (building it imports
        the dataset registry and numpy, kept off the start-up path)."""
        if self.training_panel is None and self.document is not None and not self._welcome:
            from app.training.training_panel import TrainingPanel

            panel = TrainingPanel(self.document, self.training_session)
            panel.node_requested.connect(self.reveal_node)
            panel.find_batch_requested.connect(self.find_batch_size)
            old = self.training_dock.widget()
            self.training_dock.setWidget(panel)
            if old is not None:
                old.deleteLater()
            self.training_panel = panel
        return self.training_panel

    def ensure_dashboard(self):
        """The TrainingDashboard and the run list, made once, the first time they are needed (importing
        pyqtgraph is kept off the start-up path), in the Train perspective's area."""
        if self.dashboard is None:
            from app.training.plots import TrainingDashboard
            from app.training.runs_panel import RunsPanel

            self.dashboard = TrainingDashboard()
            self.runs_panel = RunsPanel(self.training_session, self.dashboard)
            self.runs_panel.project_requested.connect(self.open_run_project)
            self.runs_panel.weights_requested.connect(self.train_from_run)
            self.runs_panel.sample_requested.connect(self.sample_from_run)
            # In a scroll area only as a last resort: at 1400x900 the dashboard has its ~800 x 800 px and
            # every plot shows whole; a much smaller window scrolls instead of squeezing the plots unreadable.
            scroll = QScrollArea()
            scroll.setObjectName("dashboardScroll")
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QFrame.Shape.NoFrame)
            scroll.setWidget(self.dashboard)
            self.editor_area.set_training_views(self.runs_panel, scroll)
            self.dashboard.set_run(self.training_session.latest)
            self.dashboard.set_overlay_runs(self.training_session.overlay)
        return self.dashboard

    def show_dashboard(self) -> None:
        """Train > Training Dashboard: the Train perspective."""
        self.set_perspective("train")

    def _shown_docks(self) -> list[str]:
        return [d.objectName() for d in self.docks + self.training_docks if not d.isHidden() and not d.isFloating()]

    def set_perspective(self, mode: str) -> None:
        """"design": the canvas and the design docks. "train": the canvas, the run list and the dashboard in the
        central area; the docks shown in Design are hidden (their room is the dashboard's, never the
        canvas's) and come back as they were. A dock opened in Train stays open there the next time."""
        if mode not in ("design", "train"):
            raise ValueError(f"unknown perspective {mode!r}")
        if mode == "train" and self._welcome:
            mode = "design"
        if mode != self.perspective:
            if mode == "train":
                self.ensure_dashboard()
                self._design_state = self.saveState(STATE_VERSION) if self._layout_ready else None
                for dock in self.docks + self.training_docks:
                    if dock.objectName() not in self._train_docks and not dock.isFloating():
                        dock.hide()
                for dock in self.docks + self.training_docks:
                    if dock.objectName() in self._train_docks:
                        dock.show()
            else:
                self._train_docks = self._shown_docks()
                if self._design_state is not None:
                    self.restoreState(self._design_state, STATE_VERSION)
                self._design_state = None
            self.perspective = mode
            self.editor_area.set_training(mode == "train")
        action = self.actions_by_name.get(f"perspective_{mode}")
        if action is not None and not action.isChecked():
            action.setChecked(True)

    def start_training(self) -> None:
        """Train > Start Training: a run of the network as it is now (the panel commits a pending edit). The
        first time for a project whose settings were never on screen it shows them and the data instead,
        so nothing trains on settings nobody saw; the next Start runs."""
        from app.training.session import start_blocker

        if self._welcome or self.training_session.running:
            return
        blocker = start_blocker(self.document)
        if blocker:
            self.show_message(blocker, 10000)
            return
        panel = self.training_panel
        if panel is None or not panel.seen:
            self.show_training_panel()
            self.training_panel.show_first_look()
            self.show_message("Check the training settings and the data, then press Start (Ctrl+R)", 10000)
            return
        panel.start()

    def find_batch_size(self) -> int | None:
        """Train > Find Batch Size: the largest batch size that fits the device's free memory (by the memory
        estimate, graph_engine/training/fit.py), set as one undoable settings edit. None when it cannot."""
        from graph_engine.training.fit import device_label, largest_batch_size, memory_fit, resolved_device

        title = "Cannot find a batch size"
        result = self.document.recheck()
        if not result.ok or not result.live:
            self.show_error(title, "The network has errors.", "Fix the problems listed in the Problems panel first.")
            return None
        device = resolved_device((self.document.project.training or {}).get("device"))
        free = self.status_info.memory_source(device)
        if free is None:
            self.show_error(title, f"How much memory {device_label(device)} has free is not known.",
                            "Choose the batch size by hand.")
            return None
        size = largest_batch_size(result, free)
        if size == 0:
            self.show_error(title, f"The network does not fit {device_label(device)} even at batch size 1.",
                            memory_fit(result, 1, free, device).text())
            return None
        try:
            self.document.set_training_setting("batch_size", size, "Find batch size")
        except EditRefused as exc:
            self.show_error(title, str(exc))
            return None
        self.show_message(f"Batch size {size:,}: the largest whose estimate fits {device_label(device)} "
                          f"({memory_fit(result, size, free, device).text()})", 10000)
        return size

    def toggle_pause(self) -> None:
        if self.training_session.state == "paused":
            self.training_session.resume()
        else:
            self.training_session.pause()

    def stop_training(self) -> None:
        self.training_session.stop()

    def shutdown_training(self) -> None:
        """Stop a run and join every training and loading thread (the window is closing)."""
        from app.training.dataset_preview import wait_for_previews
        from app.training.device_info import DeviceCatalog

        self.training_session.shutdown()
        wait_for_previews()
        if DeviceCatalog._instance is not None:
            DeviceCatalog._instance.wait()

    def _run_added(self, run) -> None:
        if run is not self.training_session.current:
            return  # a kept run listed again from its folder: the run list shows it
        self.show_dashboard()
        self.dashboard.set_run(run)
        self.show_message(f"Training {run.name}…")

    def _run_ended(self, run, event) -> None:
        status = getattr(event, "status", "")
        if status == "failed":
            self.show_training_panel()
            self.show_message(f"{run.name} failed: {event.message}", 15000)
        else:
            self.show_message(f"{run.name} {status}")

    def _training_state_changed(self, state: str) -> None:
        self._update_training_actions()

    def _update_training_actions(self) -> None:
        a = self.actions_by_name
        if "train_start" not in a:
            return
        can = run_action_state(self.training_session)
        editing = not self._welcome
        a["train_start"].setEnabled(editing and can["start"])
        a["train_pause"].setEnabled(can["pause"] or can["resume"])
        a["train_pause"].setText("&Resume Training" if can["resume"] else "&Pause Training")
        a["train_pause"].setIcon(self.style().standardIcon(
            QStyle.StandardPixmap.SP_MediaPlay if can["resume"] else QStyle.StandardPixmap.SP_MediaPause))
        a["train_stop"].setEnabled(can["stop"])
        for name in ("train_panel", "train_dashboard", "perspective_design", "perspective_train"):
            a[name].setEnabled(editing)
        a["train_find_batch"].setEnabled(editing and session_state_allows_edits(self.training_session))

    def _read_only_changed(self, read_only: bool) -> None:
        # Undo/Redo would change the network under a run: the group follows no stack while it trains.
        self.undo_group.setActiveStack(None if read_only else self.document.undo_stack)

    # ---- editing -----------------------------------------------------------------------------------------

    def group_selection(self) -> None:
        """Edit > Group into Block (Ctrl+G): the selected layers become one block instance (one undo step)."""
        if self._welcome:
            return
        try:
            self.document.group(self.document.selection)
        except EditRefused as exc:
            self.show_message(f"Cannot group: {exc}")

    def ungroup_selection(self) -> None:
        """Edit > Ungroup Block (Ctrl+Shift+G): the one selected instance becomes its layers again."""
        if self._welcome:
            return
        selection = self.document.selection
        try:
            if len(selection) != 1:
                raise EditRefused("select one block instance to ungroup")
            self.document.ungroup(selection[0])
        except EditRefused as exc:
            self.show_message(f"Cannot ungroup: {exc}")

    def add_block(self, block: str) -> None:
        """Add an instance of a project block (palette double-click): in the middle of the view."""
        center = self.canvas.mapToScene(self.canvas.viewport().rect().center())
        pos = (float(round(center.x() - NODE_WIDTH / 2)), float(round(center.y() - HEADER_H)))
        try:
            self.document.add_block_instance(block, pos)
        except EditRefused as exc:
            self.show_message(f"Cannot add block {block}: {exc}")
            return
        self.show_welcome(False)

    def _canvas_do(self, what: str) -> None:
        canvas = self.canvas
        if canvas is None or self._welcome:
            return
        actions = {"fit": canvas.fit_all, "zoom_in": lambda: canvas.zoom_by(ZOOM_STEP),
                   "zoom_out": lambda: canvas.zoom_by(1 / ZOOM_STEP),
                   "zoom_reset": lambda: canvas.zoom_by(1 / canvas.zoom()), "cut": canvas.cut, "copy": canvas.copy,
                   "paste": canvas.paste, "duplicate": canvas.duplicate, "delete": canvas.delete_selection,
                   "select_all": canvas.select_all}
        actions[what]()

    def find_layer(self) -> None:
        self.show_welcome(False)
        self.palette_dock.show()
        self.palette_dock.raise_()
        self.palette_panel.focus_search()

    def tidy_up(self) -> None:
        try:
            self.document.tidy_up()
        except EditRefused as exc:
            self.show_message(str(exc))
            return
        if self.canvas is not None:
            self.canvas.fit_all()

    def add_layer(self, op: str) -> None:
        """Add `op` (palette double-click or Enter): right of the one selected layer and wired from it, else
        in the middle of the view. The new layer is selected, so repeating this builds a chain."""
        doc = self.document
        selection = doc.selection
        source = selection[0] if len(selection) == 1 else None
        spec = spec_for(doc.graph, doc.graph.node(source)) if source is not None else None
        connect_from = (source, 0) if spec is not None and spec.outputs else None
        if connect_from is not None and doc.graph.node(source).pos is not None:
            x, y = doc.graph.node(source).pos
            pos = (x + NODE_WIDTH + PLACE_GAP, y)
        else:
            center = self.canvas.mapToScene(self.canvas.viewport().rect().center())
            pos = (center.x() - NODE_WIDTH / 2, center.y() - HEADER_H)
        taken = [n.pos for n in doc.graph if n.pos is not None]
        for _ in range(50):  # step down past layers already there
            if not any(abs(pos[0] - p[0]) < NODE_WIDTH and abs(pos[1] - p[1]) < 90 for p in taken):
                break
            pos = (pos[0], pos[1] + 140.0)
        try:
            doc.add_node(op, (float(round(pos[0])), float(round(pos[1]))), connect_from=connect_from)
        except EditRefused as exc:
            self.show_message(f"Cannot add {op}: {exc}")
            return
        self.show_welcome(False)

    def reveal_node(self, node_id: str) -> None:
        """Select a layer and bring it into view (clicking a problem)."""
        if node_id in self.document.graph:
            self.document.set_selection([node_id])
            if self.canvas is not None:
                self.canvas.center_on(node_id)

    def _node_activated(self, node_id: str) -> None:
        self.inspector_dock.show()
        self.inspector_dock.raise_()

    # ---- files -------------------------------------------------------------------------------------------

    def maybe_save(self) -> bool:
        """Ask about unsaved changes; True when it is fine to drop the current document."""
        if self.document is None or not self.document.dirty:
            return True
        choice = self.ask_save_changes()
        if choice == "save":
            return self.save()
        return choice == "discard"

    def new_from_template(self, name: str | None = None) -> bool:
        """File > New: a project from the template `name` (EMPTY for a blank one), untitled."""
        if name is None:
            name = self.ask_template()
            if name is None:
                return False
        try:
            project = Project() if name == EMPTY else new_from_template(name)
        except ProjectError as exc:
            self.show_error("Cannot create the project", "The template could not be read.", str(exc))
            return False
        if not self.maybe_save():
            return False
        self.set_document(Document(project))
        if name != EMPTY:
            self.show_message(f"New project from the template {project.name}; save it to keep it")
        return True

    def train_from_weights(self, path: str | Path | None = None) -> bool:
        """Train > Train from These Weights...: the next runs start from a weights file (app/training/
        start_weights.py); asks for the file (the imported model's weights beside the project first)."""
        from app.training.start_weights import start_from_weights, weights_beside

        if self._welcome or self.document is None:
            return False
        if path is None:
            path = self.ask_weights_path(weights_beside(self.document))
            if path is None:
                return False
        try:
            message = start_from_weights(self.document, Path(path), self.ask_yes_no)
        except EditRefused as exc:
            self.show_message(str(exc))
            return False
        except ProjectError as exc:
            self.show_error("Cannot train from these weights", f"{Path(path).name} cannot be used.", str(exc))
            return False
        if message:
            self.show_message(message)
        return bool(message)

    def train_from_run(self, run) -> bool:
        """A kept run's "Train from these weights": its trained weights start the next runs."""
        from app.training.start_weights import run_weights

        meta = self.training_session.meta(run)
        path = run_weights(meta.folder if meta is not None else None)
        if path is None:
            self.show_message(f"{run.name} kept no weights to start from")
            return False
        return self.train_from_weights(path)

    def sample_from_run(self, run):
        """A kept language-model run's Sample Text dialog (returned; None when the run kept no weights)."""
        from app.training.sample_dialog import SampleTextDialog
        from app.training.start_weights import run_weights
        from graph_engine.project_io import load_project

        meta = self.training_session.meta(run)
        path = run_weights(meta.folder if meta is not None else None)
        if meta is None or path is None:
            self.show_message(f"{run.name} kept no weights to sample from")
            return None
        # The run folder's copy of the project has absolute dataset paths (graph_engine/training/loop.py).
        saved = meta.folder / "project.layerloom.json"
        project = load_project(saved) if saved.is_file() else meta.snapshot
        dialog = SampleTextDialog(project, path, title=run.name, parent=self)
        dialog.show()
        return dialog

    def open_run_project(self, run) -> bool:
        """The project a run trained (its snapshot), as a new untitled project."""
        meta = self.training_session.meta(run)
        if meta is None or self.training_session.running or not self.maybe_save():
            return False
        project = meta.snapshot.copy()
        self.set_document(Document(project))
        self.show_message(f"The project {run.name} trained; save it to keep it")
        return True

    def open_file(self, path: str | Path | None = None) -> bool:
        """Open a project (asking for the file when `path` is None). A file that cannot be used is reported
        and the current document stays as it is."""
        if not path:
            path = self.ask_open_path()
            if not path:
                return False
        path = Path(path)
        try:
            project = read_project(path)
        except ProjectError as exc:
            if not path.exists():
                self.recent.remove(path)
            self.show_error("Cannot open the project", f"{path.name} could not be opened.", str(exc))
            return False
        if not self.maybe_save():
            return False
        self.set_document(Document(project, path))
        self.recent.add(path)
        self.show_message(f"Opened {path}")
        return True

    def save(self) -> bool:
        if self.document.path is None:
            return self.save_as()
        return self._write(self.document.path)

    def save_as(self) -> bool:
        folder = self.document.path.parent if self.document.path else self.recent.last_dir()
        name = self.document.path.name if self.document.path else suggested_file_name(self.document.project.name)
        path = self.ask_save_path(folder / name)
        if not path:
            return False
        path = with_project_suffix(path)
        if self.document.project.name in (DEFAULT_NAME, ""):
            # An untitled project takes its name from the file it is first saved as (the class name of the
            # exported code follows it).
            self.document.project.name = name_from_file(path)
        return self._write(path)

    def _write(self, path: Path) -> bool:
        try:
            write_project(self.document.project, path)
        except ProjectError as exc:
            self.show_error("Cannot save the project", f"{path.name} was not saved.", str(exc))
            return False
        self.document.mark_saved(path)
        self.recent.add(path)
        self.show_message(f"Saved {path}")
        return True

    def export_code(self) -> bool:
        """Write the network as standalone PyTorch code (File > Export Code)."""
        from graph_engine.codegen import generate_code

        result = self.document.recheck()
        if not result.ok:
            count = len(result.errors)
            self.show_error("Cannot export code",
                            f"The network has {count} error{'s' if count != 1 else ''}.",
                            "Fix the problems listed in the Problems panel first; code is only written for a "
                            "network that checks clean.")
            self.diagnostics_dock.show()
            self.diagnostics_dock.raise_()
            return False
        folder = self.document.path.parent if self.document.path else self.recent.last_dir()
        stem = class_name_for(self.document.project.name).lower()
        path = self.ask_export_path(folder / f"{stem}.py")
        if not path:
            return False
        path = Path(path)
        if path.suffix != ".py":
            path = path.with_name(path.name + ".py")
        try:
            write_text_atomic(path, generate_code(self.document.project, result))
        except ProjectError as exc:
            self.show_error("Cannot export code", f"{path.name} was not written.", str(exc))
            return False
        self.show_message(f"Exported {path}; run `python {path.name}` to try it")
        return True

    def open_export_dialog(self):
        """File > Export… (app/export_dialog.py): the dialog, shown; returned for tests."""
        from app.export_dialog import ExportDialog

        dialog = ExportDialog(self.document, self.training_session, self)
        dialog.show()
        return dialog

    def close_project(self) -> bool:
        if not self.maybe_save():
            return False
        self.set_document(Document(), welcome=True)
        return True

    def _recent_changed(self) -> None:
        paths = self.recent.paths()
        self.welcome.set_recent(paths)
        menu = self.recent_menu
        menu.clear()
        for i, path in enumerate(paths, 1):
            label = f"&{i % 10} {path.name}" if i <= 10 else path.name
            action = menu.addAction(label)
            action.setToolTip(str(path))
            action.setStatusTip(str(path))
            action.triggered.connect(lambda _checked=False, p=path: self.open_file(p))
        if not paths:
            menu.addAction("No Recent Projects").setEnabled(False)
        menu.addSeparator()
        clear = menu.addAction("Clear Recent Projects")
        clear.setEnabled(bool(paths))
        clear.triggered.connect(self.recent.clear)

    # ---- drag and drop of project files ------------------------------------------------------------------

    @staticmethod
    def project_file_in(mime) -> Path | None:
        if not mime.hasUrls():
            return None
        for url in mime.urls():
            if isinstance(url, QUrl) and url.isLocalFile():
                path = Path(url.toLocalFile())
                if path.name.endswith(".json"):
                    return path
        return None

    def dragEnterEvent(self, event) -> None:
        if self.project_file_in(event.mimeData()) is not None:
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event) -> None:
        if self.project_file_in(event.mimeData()) is not None:
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    def dropEvent(self, event) -> None:
        path = self.project_file_in(event.mimeData())
        if path is None:
            super().dropEvent(event)
            return
        event.acceptProposedAction()
        # Not inside the drop handler: the source application waits until it returns, and opening may ask.
        QTimer.singleShot(0, lambda: self.open_file(path))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # A project file dropped on the canvas opens it too (the canvas itself only takes layers).
        kind = event.type()
        if kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove, QEvent.Type.Drop) \
                and self.project_file_in(event.mimeData()) is not None:
            if kind == QEvent.Type.Drop:
                self.dropEvent(event)
            else:
                event.acceptProposedAction()
            return True
        return super().eventFilter(watched, event)

    # ---- closing -----------------------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.maybe_save():
            event.ignore()
            return
        self.save_window_state()
        if self.autosaver is not None:
            self.autosaver.shutdown()
        self.shutdown_training()
        event.accept()

    # ---- crash recovery ----------------------------------------------------------------------------------

    def offer_recovery(self) -> bool:
        """Offer the autosaves that crashed sessions left; True when one was recovered."""
        if self.autosaver is None or not self.autosaver.enabled:
            return False
        sessions = find_recoverable(self.autosaver.session.folder, exclude={self.autosaver.session.session})
        recovered = False
        while sessions:
            choice, chosen = self.ask_recovery(sessions)
            if choice == "recover" and chosen is not None:
                recovered = self.recover(chosen)
                sessions.remove(chosen)
                break
            if choice == "discard" and chosen is not None:
                chosen.discard()
                sessions.remove(chosen)
                continue
            break
        for session in sessions:
            session.release()  # kept for the next start
        return recovered

    def recover(self, session: RecoverableSession) -> bool:
        try:
            project = session.load()
        except ProjectError as exc:
            self.show_error("Cannot recover", "The autosaved project could not be read.", str(exc))
            session.release()
            return False
        if not self.maybe_save():
            session.release()
            return False
        original = session.original_path if session.original_path and session.original_path.is_file() else None
        document = Document(project, original)
        document.undo_stack.resetClean()  # recovered work is not saved anywhere yet
        self.set_document(document)
        if self.autosaver is not None:
            self.autosaver.save_now(force=True)  # ours now; only then let the old copy go
        session.discard()
        self.show_message(f"Recovered {session.name} from the autosave of "
                          f"{session.saved_at:%Y-%m-%d %H:%M}; save it to keep it", 15000)
        return True

    # ---- questions (tests replace these) -----------------------------------------------------------------

    def ask_save_changes(self) -> str:
        """"save", "discard" or "cancel"."""
        box = QMessageBox(QMessageBox.Icon.Warning, APP_NAME,
                          f"Do you want to save the changes to {self.document.title}?",
                          QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                          | QMessageBox.StandardButton.Cancel, self)
        box.setInformativeText("Your changes will be lost if you don't save them.")
        box.setDefaultButton(QMessageBox.StandardButton.Save)
        answer = box.exec()
        return {QMessageBox.StandardButton.Save: "save",
                QMessageBox.StandardButton.Discard: "discard"}.get(QMessageBox.StandardButton(answer), "cancel")

    def ask_open_path(self) -> Path | None:
        folder = self.document.path.parent if self.document and self.document.path else self.recent.last_dir()
        path, _ = QFileDialog.getOpenFileName(self, "Open Project", str(folder),
                                              f"{PROJECT_FILTER};;{ALL_FILES_FILTER}")
        return Path(path) if path else None

    def ask_weights_path(self, suggested: Path | None) -> Path | None:
        from app.training.start_weights import WEIGHTS_FILTER

        folder = suggested or (self.document.path.parent if self.document and self.document.path
                               else self.recent.last_dir())
        path, _ = QFileDialog.getOpenFileName(self, "Train from These Weights", str(folder), WEIGHTS_FILTER)
        return Path(path) if path else None

    def ask_yes_no(self, title: str, text: str) -> bool:
        answer = QMessageBox.question(self, title, text)
        return QMessageBox.StandardButton(answer) == QMessageBox.StandardButton.Yes

    def ask_save_path(self, suggested: Path) -> Path | None:
        path, _ = QFileDialog.getSaveFileName(self, "Save Project As", str(suggested), PROJECT_FILTER)
        return Path(path) if path else None

    def ask_export_path(self, suggested: Path) -> Path | None:
        path, _ = QFileDialog.getSaveFileName(self, "Export Code", str(suggested), PYTHON_FILTER)
        return Path(path) if path else None

    def ask_template(self) -> str | None:
        """A template name, EMPTY for an empty project, or None when cancelled."""
        dialog = NewProjectDialog(self)
        try:
            return dialog.choice if dialog.exec() == QDialog.DialogCode.Accepted else None
        finally:
            dialog.deleteLater()

    def ask_recovery(self, sessions: list[RecoverableSession]) -> tuple[str, RecoverableSession | None]:
        """("recover" | "discard" | "later", the session chosen)."""
        dialog = RecoveryDialog(sessions, self)
        try:
            dialog.exec()
            return dialog.choice, dialog.chosen
        finally:
            dialog.deleteLater()

    def show_error(self, title: str, text: str, details: str = "") -> None:
        box = QMessageBox(QMessageBox.Icon.Critical, title, text, QMessageBox.StandardButton.Ok, self)
        if details:
            box.setInformativeText(details)
        box.exec()

    def show_about(self) -> None:
        show_about_dialog(self)


class RecoveryDialog(QDialog):
    """Lists the autosaves crashed sessions left: Recover the selected one, Discard it, or decide later."""

    def __init__(self, sessions: list[RecoverableSession], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Recover Unsaved Work")
        self.choice = "later"
        self.chosen: RecoverableSession | None = None
        self._sessions = sessions
        layout = QVBoxLayout(self)
        intro = QLabel("LayerLoom did not close properly last time. This unsaved work was autosaved:", self)
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.list = QListWidget(self)
        for session in sessions:
            item = QListWidgetItem(session.description, self.list)
            item.setToolTip(str(session.project_path))
        self.list.setCurrentRow(0)
        self.list.itemDoubleClicked.connect(lambda _item: self._decide("recover"))
        layout.addWidget(self.list)
        buttons = QDialogButtonBox(self)
        recover = QPushButton("Recover", self)
        recover.setDefault(True)
        recover.clicked.connect(lambda: self._decide("recover"))
        buttons.addButton(recover, QDialogButtonBox.ButtonRole.AcceptRole)
        discard = QPushButton("Discard", self)
        discard.clicked.connect(lambda: self._decide("discard"))
        buttons.addButton(discard, QDialogButtonBox.ButtonRole.DestructiveRole)
        later = QPushButton("Not Now", self)
        later.clicked.connect(self.reject)
        buttons.addButton(later, QDialogButtonBox.ButtonRole.RejectRole)
        layout.addWidget(buttons)
        self.resize(560, 260)

    def _decide(self, choice: str) -> None:
        row = self.list.currentRow()
        if 0 <= row < len(self._sessions):
            self.choice, self.chosen = choice, self._sessions[row]
            self.accept()
