"""Help > About LayerLoom: the icon, the version, what it is built on (PyTorch, Qt, Python), links, and a
button that copies those versions for a bug report.

    from app.about_dialog import show_about
    show_about(parent)          # modal; returns when closed

Opening the dialog does not import torch when the app has not imported it yet: its version is then read from
the installed package's metadata (the PyInstaller bundle carries no metadata, and there torch is imported).
"""

from __future__ import annotations

import html
import platform
import sys

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import QSize, Qt, qVersion
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.actions import app_icon
from graph_engine import __version__ as layerloom_version

APP_NAME = "LayerLoom"
HOMEPAGE = "https://github.com/layerloom/layerloom"
ISSUES = f"{HOMEPAGE}/issues"
PYTORCH_DOCS = "https://pytorch.org/docs/stable/"
LICENSE = "MIT License"
TAGLINE = ("Build neural networks visually, see every tensor shape and every mistake as you go, watch them "
           "train, and export clean, standalone PyTorch code.")
ICON_SIZE = 96


def torch_version() -> str:
    """torch's version, without importing torch when it is not imported yet ("not installed" without it)."""
    module = sys.modules.get("torch")
    if module is not None and hasattr(module, "__version__"):
        return str(module.__version__)
    try:
        from importlib.metadata import PackageNotFoundError, version

        return version("torch")
    except PackageNotFoundError:
        pass
    try:
        import torch
    except ImportError:
        return "not installed"
    return str(torch.__version__)


def component_versions() -> list[tuple[str, str]]:
    """(name, version) of LayerLoom and what it runs on, in the order the dialog shows them."""
    frozen = " (desktop bundle)" if getattr(sys, "frozen", False) else ""
    return [
        (APP_NAME, layerloom_version + frozen),
        ("PyTorch", torch_version()),
        ("Qt", f"{qVersion()} (PySide6 {pyside_version})"),
        ("Python", f"{platform.python_version()} ({platform.python_implementation()})"),
        ("System", f"{platform.system()} {platform.release()} {platform.machine()}".strip()),
    ]


def versions_text() -> str:
    """The versions as plain text lines (what Copy puts on the clipboard)."""
    return "\n".join(f"{name}: {value}" for name, value in component_versions())


class AboutDialog(QDialog):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("aboutDialog")
        self.setWindowTitle(f"About {APP_NAME}")
        layout = QVBoxLayout(self)

        header = QHBoxLayout()
        self.icon_label = QLabel(self)
        self.icon_label.setPixmap(app_icon().pixmap(QSize(ICON_SIZE, ICON_SIZE)))
        self.icon_label.setFixedSize(ICON_SIZE, ICON_SIZE)
        header.addWidget(self.icon_label, 0, Qt.AlignmentFlag.AlignTop)
        title = QVBoxLayout()
        self.title_label = QLabel(f"<h2 style='margin:0'>{APP_NAME}</h2>", self)
        self.version_label = QLabel(f"Version {html.escape(layerloom_version)}", self)
        self.version_label.setObjectName("aboutVersion")
        self.version_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        tagline = QLabel(TAGLINE, self)
        tagline.setWordWrap(True)
        title.addWidget(self.title_label)
        title.addWidget(self.version_label)
        title.addWidget(tagline)
        title.addStretch(1)
        header.addLayout(title, 1)
        layout.addLayout(header)

        grid = QGridLayout()
        grid.setHorizontalSpacing(12)
        for row, (name, value) in enumerate(component_versions()):
            key = QLabel(f"{name}:", self)
            key.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            shown = QLabel(html.escape(value), self)
            shown.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            grid.addWidget(key, row, 0)
            grid.addWidget(shown, row, 1)
        grid.setColumnStretch(1, 1)
        layout.addLayout(grid)

        self.links_label = QLabel(
            f'<a href="{HOMEPAGE}">Website</a> &nbsp;·&nbsp; <a href="{ISSUES}">Report a problem</a>'
            f' &nbsp;·&nbsp; <a href="{PYTORCH_DOCS}">PyTorch documentation</a>', self)
        self.links_label.setOpenExternalLinks(True)
        self.links_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        layout.addWidget(self.links_label)
        notice = QLabel(f"{LICENSE}. Built on PyTorch (BSD), Qt for Python (LGPLv3) and their dependencies, "
                        "each under its own license.", self)
        notice.setWordWrap(True)
        notice.setEnabled(False)  # the palette's muted text colour
        layout.addWidget(notice)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.copy_button = QPushButton("Copy Versions", self)
        self.copy_button.setToolTip("Copy these versions to the clipboard, for a bug report")
        self.copy_button.clicked.connect(self.copy_versions)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.setMinimumWidth(460)

    def copy_versions(self) -> None:
        QGuiApplication.clipboard().setText(versions_text())


def show_about(parent: QWidget | None = None) -> None:
    """Show the About dialog (modal) and return when it is closed."""
    dialog = AboutDialog(parent)
    try:
        dialog.exec()
    finally:
        dialog.deleteLater()
