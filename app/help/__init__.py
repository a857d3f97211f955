"""The Help menu's windows: Keyboard Shortcuts (made from the window's own actions), Getting Started (a
bundled offline guide) and Read More (the README and the docs folder, offline)."""

from app.help.help_browser import HelpBrowser, getting_started_html, read_more_source
from app.help.shortcuts_dialog import ShortcutsDialog, shortcut_rows

__all__ = ["HelpBrowser", "ShortcutsDialog", "getting_started_html", "read_more_source", "shortcut_rows"]
