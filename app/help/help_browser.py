"""Help > Getting Started and Help > Read More: offline pages in a QTextBrowser.

Getting Started is resources/help/getting_started.html, with each `{{key:NAME}}` replaced by the shortcut
of the window's action NAME, so the guide names the keys that work. Read More is the README (a Markdown file
whose links to docs/*.md open in the same browser); where LayerLoom was installed from a wheel there is no
checkout, and the README is the package's own description (its metadata holds the README's text).
Links to other sites open in the person's web browser; nothing here needs the network.
"""

from __future__ import annotations

import html
import re
from importlib.metadata import PackageNotFoundError, metadata
from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QImage, QKeySequence, QTextDocument
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from graph_engine.resource_files import resource_path

GUIDE = ("help", "getting_started.html")
CHECKOUT = Path(__file__).resolve().parents[2]  # the repository root in a source checkout
README = CHECKOUT / "README.md"
DOCS = CHECKOUT / "docs"
DISTRIBUTION = "layerloom"
_KEY = re.compile(r"\{\{key:([a-z_]+)\}\}")
PAGE_SUFFIXES = {".md", ".html", ".htm", ".txt"}


def shortcut_text(action: QAction | None) -> str:
    if action is None or action.shortcut().isEmpty():
        return ""
    return action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)


def getting_started_html(actions: dict[str, QAction]) -> str:
    """The guide with the keys filled in. A NAME with no action or no shortcut becomes nothing (and its
    "(…)" around it too), so the guide never shows a placeholder."""
    text = re.sub(r"<!--.*?-->", "", resource_path(*GUIDE).read_text(encoding="utf-8"), flags=re.S)

    def key(match: re.Match) -> str:
        keys = shortcut_text(actions.get(match[1]))
        return f"<kbd><b>{html.escape(keys)}</b></kbd>" if keys else ""

    text = _KEY.sub(key, text)
    return re.sub(r"\s*\(\s*\)", "", text)


def read_more_source() -> Path | str:
    """The README: its path in a checkout, else its Markdown text from the installed package's metadata."""
    if README.is_file():
        return README
    try:
        description = metadata(DISTRIBUTION).get_payload()
    except PackageNotFoundError:
        description = None
    return description or ("# LayerLoom\n\nThe README and the docs are in LayerLoom's source repository.")


class PageView(QTextBrowser):
    """A QTextBrowser that shrinks a page's pictures to its width (the README's screenshots are 1400 px)."""

    def loadResource(self, kind: int, url: QUrl):
        resource = super().loadResource(kind, url)
        if kind == QTextDocument.ResourceType.ImageResource.value and resource is not None:
            image = resource if isinstance(resource, QImage) else QImage.fromData(resource)
            width = max(200, self.viewport().width() - 40)
            if not image.isNull() and image.width() > width:
                return image.scaledToWidth(width, Qt.TransformationMode.SmoothTransformation)
            return image
        return resource


class HelpBrowser(QDialog):
    """A non-modal window showing one help page, with Back/Forward through the pages its links open."""

    def __init__(self, title: str, parent: QWidget | None = None, docs_folder: Path | None = None):
        super().__init__(parent)
        self.setWindowTitle(title)
        layout = QVBoxLayout(self)
        self.browser = PageView(self)
        self.browser.setOpenLinks(False)
        self.browser.anchorClicked.connect(self.follow)
        layout.addWidget(self.browser)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.back = QPushButton("Back", self)
        self.back.clicked.connect(self.browser.backward)
        self.back.setEnabled(False)
        self.browser.backwardAvailable.connect(self.back.setEnabled)
        buttons.addButton(self.back, QDialogButtonBox.ButtonRole.ActionRole)
        self.docs_folder = docs_folder if docs_folder is not None and docs_folder.is_dir() else None
        if self.docs_folder is not None:
            folder = QPushButton("Open Docs Folder", self)
            folder.setToolTip(str(self.docs_folder))
            folder.clicked.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.docs_folder))))
            buttons.addButton(folder, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.close)
        layout.addWidget(buttons)
        self.opened_externally: list[QUrl] = []  # what `follow` handed to the desktop (tests read it)
        self.resize(760, 720)

    def show_html(self, text: str) -> None:
        self.browser.setHtml(text)

    def show_source(self, source: Path | str) -> None:
        """A file (Markdown or HTML, by its suffix) or Markdown text."""
        if isinstance(source, Path):
            self.browser.setSearchPaths([str(source.parent)])
            self.browser.setSource(QUrl.fromLocalFile(str(source)))
        else:
            self.browser.setMarkdown(source)

    def follow(self, url: QUrl) -> None:
        """A link: a local page opens here (an anchor scrolls), anything else goes to the desktop."""
        if url.scheme() in ("", "file"):
            target = self.browser.source().resolved(url) if url.isRelative() else url
            if not target.toLocalFile() or url.toString().startswith("#"):
                self.browser.scrollToAnchor(url.fragment())
                return
            if Path(target.toLocalFile()).suffix.lower() in PAGE_SUFFIXES and Path(target.toLocalFile()).is_file():
                self.browser.setSource(target)
                return
            url = target
        self.opened_externally.append(url)
        QDesktopServices.openUrl(url)
