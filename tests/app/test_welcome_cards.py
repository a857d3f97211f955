"""The welcome page's template cards: each built-in summary is shown whole; a longer one is elided, and the
card's tooltip always holds the whole description."""

from __future__ import annotations

from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QLabel

from app.welcome import CARD_WIDTH, TemplateCard, TemplateGallery
from graph_engine.templates import list_templates


def summary_of(card: TemplateCard) -> QLabel:
    return card.findChild(QLabel, "cardSummary")


def test_every_built_in_summary_is_shown_whole(qtbot):
    templates = list_templates()
    gallery = TemplateGallery(templates)
    qtbot.addWidget(gallery)
    for info in templates:
        card = gallery.card(info.name)
        shown = summary_of(card).text()
        assert "…" not in shown, info.name
        assert "".join(shown.split()) == "".join(info.summary.split())  # wrapped at a line end, nothing lost
        assert info.description.split()[0] in card.toolTip()


def test_a_longer_description_is_elided_and_whole_in_the_tooltip(qtbot):
    long = ("A network with a description far longer than a card can hold, which goes on to explain its layers, "
            "its dataset, its training settings and what to try next, in several sentences. Really.")
    card = TemplateCard("long", "Long one", long, lambda *_: None)
    qtbot.addWidget(card)
    shown = summary_of(card).text()
    assert shown.endswith("…") and len(shown.splitlines()) == 3
    assert long in card.toolTip()


def test_every_card_title_fits_the_card_or_is_elided_with_the_whole_title_in_the_tooltip(qtbot):
    templates = list_templates()
    gallery = TemplateGallery(templates)
    qtbot.addWidget(gallery)
    for info in templates:
        card = gallery.card(info.name)
        heading = card.findChild(QLabel, "cardTitle")
        shown = heading.text()
        assert QFontMetrics(heading.font()).horizontalAdvance(shown) <= CARD_WIDTH, info.name
        assert shown == info.title or (shown.endswith("…") and info.title.startswith(shown[:-1].rstrip())), shown
        assert info.title in card.toolTip()


def test_a_title_too_wide_for_the_card_is_elided(qtbot):
    title = "Character transformer (GPT-style) with a much longer name than any card has room for"
    card = TemplateCard("long", title, "A description.", lambda *_: None)
    qtbot.addWidget(card)
    shown = card.findChild(QLabel, "cardTitle").text()
    assert shown.endswith("…") and len(shown) < len(title)
    assert title in card.toolTip()


def test_a_long_recent_project_name_is_elided_with_the_whole_path_as_tooltip(qtbot, tmp_path):
    from app.welcome import WelcomePage

    page = WelcomePage()
    qtbot.addWidget(page)
    path = tmp_path / ("a_rather_long_project_name_for_the_recent_list_" * 2 + ".layerloom.json")
    page.set_recent([path])
    [label] = page.recent_labels
    assert "…" in label.text() and label.toolTip() == str(path)
    assert label.sizeHint().width() <= 250
