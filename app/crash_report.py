"""What happens when something goes wrong that nobody caught.

`CrashReporter.install()` replaces `sys.excepthook` (PySide6 sends exceptions raised in slots and event
handlers there, then carries on) and `threading.excepthook` (worker threads; the report is handed to the GUI
thread through a queued signal). For an unexpected exception it first autosaves the open document, then shows a
report dialog: what happened in one sentence, where the autosave is, the traceback under "Show Details", and
"Copy Report" for a bug report. A user error (`graph_engine.errors.ProjectError`) that slipped through gets a
plain message box with its text and no traceback. A failure while reporting falls back to the default hook,
so a broken dialog never hides the original error.
"""

from __future__ import annotations

import platform
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import QObject, Qt, Signal, qVersion
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from graph_engine import __version__ as layerloom_version
from graph_engine.errors import ProjectError

ISSUES_HINT = "Please copy the report and include it with a description of what you were doing."


@dataclass
class CrashReport:
    summary: str  # "ValueError: ..." (one line)
    details: str  # the full report: versions, then the traceback
    autosave_path: Path | None = None

    @property
    def message(self) -> str:
        text = "LayerLoom ran into an unexpected problem and could not finish what it was doing."
        if self.autosave_path is not None:
            text += f"\n\nYour work was autosaved to:\n{self.autosave_path}"
        text += "\n\nYou can keep working, but saving your project under a new name is a good idea. " + ISSUES_HINT
        return text


def build_report(exc_type, exc, tb) -> CrashReport:
    lines = "".join(traceback.format_exception(exc_type, exc, tb))
    summary = traceback.format_exception_only(exc_type, exc)[-1].strip()
    header = (f"LayerLoom {layerloom_version}\nPython {sys.version.split()[0]} on {platform.platform()}\n"
              f"Qt {qVersion()}, PySide6 {pyside_version}\n\n")
    return CrashReport(summary, header + lines)


class CrashDialog(QDialog):
    """The report: message, "Show Details" (the traceback), "Copy Report", "Close"."""

    def __init__(self, report: CrashReport, parent: QWidget | None = None):
        super().__init__(parent)
        self.report = report
        self.setWindowTitle("LayerLoom: unexpected error")
        self.setMinimumWidth(560)
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        icon = QLabel(self)
        icon.setPixmap(self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxCritical).pixmap(48, 48))
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        top.addWidget(icon)
        text = QVBoxLayout()
        summary = QLabel(f"<b>{_escape(report.summary)}</b>", self)
        summary.setWordWrap(True)
        summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        text.addWidget(summary)
        message = QLabel(report.message, self)
        message.setWordWrap(True)
        message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        text.addWidget(message)
        top.addLayout(text, 1)
        layout.addLayout(top)
        self.details = QPlainTextEdit(report.details, self)
        self.details.setReadOnly(True)
        self.details.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.details.setMinimumHeight(220)
        self.details.setVisible(False)
        layout.addWidget(self.details, 1)
        buttons = QDialogButtonBox(self)
        self.details_button = QPushButton("Show Details", self)
        self.details_button.setCheckable(True)
        self.details_button.toggled.connect(self._toggle_details)
        buttons.addButton(self.details_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.copy_button = QPushButton("Copy Report", self)
        self.copy_button.clicked.connect(self.copy_report)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        close = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        close.setDefault(True)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _toggle_details(self, shown: bool) -> None:
        self.details.setVisible(shown)
        self.details_button.setText("Hide Details" if shown else "Show Details")
        self.adjustSize()

    def copy_report(self) -> None:
        QGuiApplication.clipboard().setText(f"{self.report.summary}\n\n{self.report.details}")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class CrashReporter(QObject):
    """Installs the hooks. `autosave` is called first and returns where the work went (or None).
    `show_report(report)` and `show_user_error(text)` present to the person; tests replace them."""

    _from_thread = Signal(object, object, object)

    def __init__(self, autosave: Callable[[], Path | None] | None = None, parent_widget: QWidget | None = None):
        super().__init__()
        self.autosave = autosave
        self.parent_widget = parent_widget
        self._previous_hook = None
        self._previous_thread_hook = None
        self._reporting = False
        self._from_thread.connect(self.handle, Qt.ConnectionType.QueuedConnection)

    def install(self) -> None:
        self._previous_hook = sys.excepthook
        self._previous_thread_hook = threading.excepthook
        sys.excepthook = self.excepthook
        threading.excepthook = self._thread_excepthook

    def uninstall(self) -> None:
        if self._previous_hook is not None and sys.excepthook == self.excepthook:
            sys.excepthook = self._previous_hook
        if self._previous_thread_hook is not None and threading.excepthook == self._thread_excepthook:
            threading.excepthook = self._previous_thread_hook
        self._previous_hook = self._previous_thread_hook = None

    def excepthook(self, exc_type, exc, tb) -> None:
        if issubclass(exc_type, KeyboardInterrupt | SystemExit) or QApplication.instance() is None:
            (self._previous_hook or sys.__excepthook__)(exc_type, exc, tb)
            return
        self.handle(exc_type, exc, tb)

    def _thread_excepthook(self, args) -> None:
        if args.exc_type is SystemExit:
            return
        self._from_thread.emit(args.exc_type, args.exc_value, args.exc_traceback)

    def handle(self, exc_type, exc, tb) -> None:
        if self._reporting:  # an error while reporting: do not loop, just print it
            sys.__excepthook__(exc_type, exc, tb)
            return
        self._reporting = True
        try:
            if isinstance(exc, ProjectError):
                self.show_user_error(str(exc))
                return
            traceback.print_exception(exc_type, exc, tb, file=sys.stderr)  # the terminal keeps a copy
            report = build_report(exc_type, exc, tb)
            if self.autosave is not None:
                try:
                    report.autosave_path = self.autosave()
                except Exception:  # noqa: BLE001 - the report matters more than the autosave's own error
                    traceback.print_exc()
            self.show_report(report)
        except Exception:  # noqa: BLE001
            sys.__excepthook__(exc_type, exc, tb)
        finally:
            self._reporting = False

    def show_report(self, report: CrashReport) -> None:
        CrashDialog(report, self.parent_widget).exec()

    def show_user_error(self, text: str) -> None:
        QMessageBox.warning(self.parent_widget, "LayerLoom", text)
