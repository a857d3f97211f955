"""Help > Keyboard Shortcuts: every shortcut of the window, read from its QActions when the dialog opens
(so the list is never out of date), plus the keys the canvas handles itself; a search box filters it.

    dialog = ShortcutsDialog(window)     # window: a QMainWindow with menus and actions
    dialog.search.setText("zoom")        # rows whose action, menu or keys contain "zoom"
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLineEdit,
    QMainWindow,
    QMenu,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

CANVAS = "Canvas"
# Keys and gestures the canvas handles in CanvasView._shortcut and its mouse events rather than through a
# QAction: no action carries them, so they are listed here (keep in step with app/canvas/view.py).
CANVAS_KEYS: tuple[tuple[str, str], ...] = (
    ("Type a layer's name to quick-add it", "A…Z"),
    ("Quick-add at the cursor", "Double-click empty canvas"),
    ("Nudge the selection", "Arrow keys (Shift: further)"),
    ("Pan", "Space+drag, middle button drag"),
    ("Zoom around the cursor", "Mouse wheel"),
    ("Cancel a connection or deselect", "Esc"),
    ("Add to the selection", "Ctrl+click, Shift+click"),
)


@dataclass(frozen=True)
class ShortcutRow:
    menu: str  # "File", "Edit"… or CANVAS; "Window" for an action in no menu
    action: str  # the action's text without the mnemonic "&"
    keys: str  # every shortcut, in the platform's notation, comma separated

    def matches(self, text: str) -> bool:
        text = text.strip().casefold()
        return not text or any(text in part.casefold() for part in (self.menu, self.action, self.keys))


def _label(text: str) -> str:
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip(".…")


def _typeable(key: QKeySequence) -> bool:
    """False for the dedicated keys some keyboards have (Copy, Open, Zoom In, Help…): Qt adds them to the
    standard bindings on X11, and "Copy" next to "Ctrl+C" reads as noise. Their codes come after F35."""
    return not key.isEmpty() and key[0].key().value <= Qt.Key.Key_F35.value


def _keys(action: QAction) -> str:
    return ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts() if _typeable(k))


def _menu_actions(menu: QMenu, path: str, seen: set[int]):
    for action in menu.actions():
        if action.isSeparator():
            continue
        sub = action.menu()
        if sub is not None:
            yield from _menu_actions(sub, f"{path} › {_label(sub.title())}", seen)
        elif id(action) not in seen:
            seen.add(id(action))
            yield path, action


def shortcut_rows(window: QMainWindow) -> list[ShortcutRow]:
    """One row per action of `window` that has a shortcut, in menu order, then the window's actions that are
    in no menu, then the canvas's own keys."""
    seen: set[int] = set()
    found: list[tuple[str, QAction]] = []
    for top in window.menuBar().actions():
        if top.menu() is not None:
            found.extend(_menu_actions(top.menu(), _label(top.menu().title()), seen))
    # Fit and Delete belong to each canvas rather than the window, but they are in the menus like the rest.
    found.extend(("Window", action) for action in window.actions() if id(action) not in seen)
    rows = [ShortcutRow(menu, _label(action.text()), _keys(action)) for menu, action in found if _keys(action)]
    unique: dict[tuple[str, str], ShortcutRow] = {}
    for row in rows:
        unique.setdefault((row.action, row.keys), row)
    return [*unique.values(), *(ShortcutRow(CANVAS, what, keys) for what, keys in CANVAS_KEYS)]


class ShortcutsDialog(QDialog):
    """A searchable two-level list: menu, then its actions with their keys."""

    def __init__(self, window: QMainWindow, parent: QWidget | None = None):
        super().__init__(parent if parent is not None else window)
        self.setWindowTitle("Keyboard Shortcuts")
        self.rows = shortcut_rows(window)
        layout = QVBoxLayout(self)
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search actions and keys")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._filter)
        layout.addWidget(self.search)
        self.tree = QTreeWidget(self)
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels(["Action", "Shortcut"])
        self.tree.setRootIsDecorated(False)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.tree.setWordWrap(True)
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)
        self._groups: dict[str, QTreeWidgetItem] = {}
        self._items: list[tuple[ShortcutRow, QTreeWidgetItem]] = []
        for row in self.rows:
            group = self._groups.get(row.menu)
            if group is None:
                group = self._groups[row.menu] = QTreeWidgetItem(self.tree, [row.menu])
                font = group.font(0)
                font.setBold(True)
                group.setFont(0, font)
                group.setFirstColumnSpanned(True)
                group.setFlags(Qt.ItemFlag.ItemIsEnabled)
            item = QTreeWidgetItem(group, [row.action, row.keys])
            item.setToolTip(0, row.action)
            item.setToolTip(1, row.keys)
            self._items.append((row, item))
        self.tree.expandAll()
        layout.addWidget(self.tree)
        self.empty = QTreeWidgetItem(self.tree, ["No shortcut matches"])
        self.empty.setFlags(Qt.ItemFlag.NoItemFlags)
        self.empty.setHidden(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(560, 680)
        self.search.setFocus()

    def visible_rows(self) -> list[ShortcutRow]:
        return [row for row, item in self._items if not item.isHidden()]

    def _filter(self, text: str) -> None:
        shown_in: dict[str, int] = {}
        for row, item in self._items:
            show = row.matches(text)
            item.setHidden(not show)
            shown_in[row.menu] = shown_in.get(row.menu, 0) + int(show)
        for menu, group in self._groups.items():
            group.setHidden(shown_in.get(menu, 0) == 0)
        self.empty.setHidden(any(shown_in.values()))
