"""The Help menu: Keyboard Shortcuts (read from the window's actions), Getting Started (the bundled guide,
with the window's real keys, F1), Read More (the README, offline), About."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QKeySequence

from app.actions import make_action
from app.help.help_browser import README, getting_started_html
from app.help.shortcuts_dialog import CANVAS, ShortcutsDialog, shortcut_rows
from app.help.windows import show_read_more
from app.main_window import MainWindow
from app.settings import open_settings

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERLOOM_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("LAYERLOOM_STATE_DIR", str(tmp_path / "state"))
    w = MainWindow(settings=open_settings(), autosaver=None)
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    qtbot.waitExposed(w)
    return w


def help_menu(window: MainWindow):
    return next(a.menu() for a in window.menuBar().actions() if a.menu() and a.menu().title() == "&Help")


def test_the_help_menu_offers_the_guide_the_shortcuts_more_and_about(window):
    texts = [a.text() for a in help_menu(window).actions() if not a.isSeparator()]
    assert texts == ["&Getting Started", "&Keyboard Shortcuts", "&Read More", "&About LayerLoom", "About &Qt"]


def test_f1_opens_getting_started(window, qtbot):
    assert QKeySequence("F1") in window.actions_by_name["getting_started"].shortcuts()
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_F1)
    guide = window._help_windows["getting_started"]
    assert guide.isVisible() and guide.windowTitle() == "Getting Started"
    window.actions_by_name["getting_started"].trigger()  # a second time raises the same window
    assert window._help_windows["getting_started"] is guide


def test_every_shortcut_of_every_action_is_listed(window):
    rows = shortcut_rows(window)
    listed = {(r.action, r.keys) for r in rows}
    for name, action in window.actions_by_name.items():
        keys = [k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts()]
        if not keys:
            continue
        row = next((r for r in rows if r.action == action.text().replace("&", "").rstrip(".…")), None)
        assert row is not None, name
        assert keys[0] in row.keys.split(", "), (name, keys, row)
    assert ("Save", "Ctrl+S") in listed and ("Start Training", "Ctrl+R, F5") in listed
    assert next(r for r in rows if r.action == "Save").menu == "File"
    assert any(r.menu == CANVAS and "Space" in r.keys for r in rows)
    # The dedicated "Copy"/"Open" keys of some keyboards are left out of the list (not out of the action).
    assert next(r for r in rows if r.action == "Copy").keys == "Ctrl+C, Ctrl+Ins"


def test_the_list_follows_the_actions_as_they_are(window, qtbot):
    window.actions_by_name["tidy"].setShortcut(QKeySequence("Ctrl+Shift+T"))
    window.addAction(make_action(window, "Frobnicate", shortcuts=["Ctrl+Alt+F"]))
    dialog = ShortcutsDialog(window)
    qtbot.addWidget(dialog)
    actions = {r.action: r for r in dialog.rows}
    assert actions["Tidy Up Layout"].keys == "Ctrl+Shift+T"
    assert actions["Frobnicate"].keys == "Ctrl+Alt+F" and actions["Frobnicate"].menu == "Window"


def test_searching_filters_by_action_menu_or_key(window, qtbot):
    dialog = ShortcutsDialog(window)
    qtbot.addWidget(dialog)
    everything = dialog.visible_rows()
    dialog.search.setText("zoom")
    assert {r.action for r in dialog.visible_rows()} == {"Zoom In", "Zoom Out", "Zoom around the cursor"}
    dialog.search.setText("ctrl+s")
    assert {r.action for r in dialog.visible_rows()} >= {"Save", "Save As"}
    dialog.search.setText("train")
    assert {r.action for r in dialog.visible_rows()} >= {"Start Training", "Pause Training", "Stop Training"}
    assert dialog.empty.isHidden()
    dialog.search.setText("no such thing")
    assert dialog.visible_rows() == [] and not dialog.empty.isHidden()
    dialog.search.clear()
    assert dialog.visible_rows() == everything


def test_getting_started_names_the_real_keys_and_covers_the_whole_path(window):
    text = getting_started_html(window.actions_by_name)
    assert "{{" not in text and "()" not in text
    for name in ("new", "find_layer", "tidy", "fit", "undo", "train_start", "export_code", "save", "shortcuts"):
        key = window.actions_by_name[name].shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        assert f"<b>{key}</b>" in text, name
    steps = ["Start a project", "palette", "Connect", "Check", "Train", "Export"]
    positions = [text.index(step) for step in steps]
    assert positions == sorted(positions)
    assert "http" not in text and "<img" not in text and "<script" not in text  # offline, nothing to load


def test_a_changed_key_is_what_the_guide_says(window):
    window.actions_by_name["train_start"].setShortcut(QKeySequence("Ctrl+Shift+R"))
    assert "<b>Ctrl+Shift+R</b>" in getting_started_html(window.actions_by_name)
    window.actions_by_name["export_code"].setShortcuts([])
    text = getting_started_html(window.actions_by_name)
    assert "Export</b>)" not in text and "Export</b> writes" in text  # no empty "()"


def test_read_more_shows_the_readme_and_opens_the_docs_in_place(window, qtbot):
    browser = show_read_more(window)
    assert README == REPO / "README.md"
    assert browser.browser.source().toLocalFile() == str(README)
    assert "LayerLoom" in browser.browser.toPlainText()
    assert browser.docs_folder == REPO / "docs"
    browser.follow(QUrl("docs/DECISIONS.md"))
    assert browser.browser.source().toLocalFile() == str(REPO / "docs" / "DECISIONS.md")
    assert browser.back.isEnabled() and browser.opened_externally == []
    browser.back.click()
    assert browser.browser.source().toLocalFile() == str(README)
    picture = browser.browser.loadResource(2, QUrl("docs/screenshots/welcome.png"))  # 1400 px wide
    assert 0 < picture.width() <= max(200, browser.browser.viewport().width() - 40)
