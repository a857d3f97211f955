"""The breadcrumb bar over the canvas while it shows a block definition: Project › layer2 (BasicBlock) › ...

Each crumb but the last is a button that goes up to that level (Document.go_to_level); the last names the
definition being edited and how many instances share it, so the user knows an edit here changes them all.
Esc or Backspace on an empty selection (app/canvas/view.py) goes up one level. Hidden at the project level.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

SEPARATOR = "›"


class BreadcrumbBar(QFrame):
    level_requested = Signal(int)  # depth: 0 is the project graph

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("breadcrumbBar")
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(8, 3, 10, 3)
        self._layout.setSpacing(2)
        self.crumbs: list[QWidget] = []  # buttons for the levels above, then the current level's label
        self.hint = QLabel(self)
        self.hint.setObjectName("breadcrumbHint")
        self.hide()

    def set_path(self, project_name: str, path: list[tuple[str, str]], instances: int = 1) -> None:
        """Show `path` ((instance id, definition name) from the top); hidden when empty."""
        for widget in self.crumbs:
            self._layout.removeWidget(widget)
            widget.deleteLater()
        self._layout.removeWidget(self.hint)
        self.crumbs = []
        if not path:
            self.hide()
            return
        names = [project_name or "Project"] + [f"{instance} ({block})" for instance, block in path]
        for depth, name in enumerate(names):
            if depth:
                sep = QLabel(SEPARATOR, self)
                sep.setObjectName("breadcrumbSeparator")
                self._layout.addWidget(sep)
                self.crumbs.append(sep)
            if depth < len(names) - 1:
                button = QToolButton(self)
                button.setText(name)
                button.setAutoRaise(True)
                button.setCursor(Qt.CursorShape.PointingHandCursor)
                button.setToolTip("Go up to this level (Esc)" if depth == len(names) - 2 else "Go up to this level")
                button.clicked.connect(lambda _=False, d=depth: self.level_requested.emit(d))
                self._layout.addWidget(button)
                self.crumbs.append(button)
            else:
                label = QLabel(f"<b>{html.escape(name)}</b>", self)
                label.setTextFormat(Qt.TextFormat.RichText)
                self._layout.addWidget(label)
                self.crumbs.append(label)
        shared = (f"editing block {path[-1][1]}: all {instances} instances change"
                  if instances > 1 else f"editing block {path[-1][1]}")
        self.hint.setText(f"  {shared} · Esc goes up")
        self._layout.addWidget(self.hint)
        self.show()
        self.adjustSize()

    def show_network(self, project_name: str, network: str) -> None:
        """A GAN's second network on the canvas: say which one, and how to go back."""
        self.set_path(project_name, [])
        label = QLabel(f"<b>{html.escape(project_name or 'Project')} {SEPARATOR} {html.escape(network)}</b>", self)
        label.setTextFormat(Qt.TextFormat.RichText)
        self._layout.addWidget(label)
        self.crumbs.append(label)
        self.hint.setText("  the GAN's discriminator · View > Discriminator shows the generator again")
        self._layout.addWidget(self.hint)
        self.show()
        self.adjustSize()

    def fit_width(self, width: int) -> None:
        """Size to the crumbs; the hint goes when the bar would not fit in `width` (a narrow canvas)."""
        self.hint.setVisible(True)
        self.adjustSize()
        if self.width() > width:
            self.hint.setVisible(False)
            self.adjustSize()

    def texts(self) -> list[str]:
        """The crumbs as shown (for tests and accessibility): level names without separators."""
        out = []
        for widget in self.crumbs:
            if isinstance(widget, QToolButton):
                out.append(widget.text())
            elif widget.objectName() != "breadcrumbSeparator":
                out.append(html.unescape(widget.text().replace("<b>", "").replace("</b>", "")))
        return out
