"""The start screen: a gallery of the built-in templates (each with a picture of its graph), "New empty
project", "Open project..." and the recent files. Also the "New from template" dialog, which reuses the gallery.

The page only emits intent (`template_chosen`, `new_empty_requested`, `open_requested`, `recent_chosen`); the
main window decides what that means (unsaved-changes prompt, loading, errors).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette, QPixmap, QTextLayout
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLayout,
    QLayoutItem,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.actions import app_icon, icon
from app.thumbnails import render_graph, template_thumbnail
from graph_engine.errors import ProjectError
from graph_engine.graph import Graph
from graph_engine.project_io import load_project
from graph_engine.templates import TemplateInfo, list_templates

EMPTY = ""  # the "Empty project" card's name
THUMB_SIZE = QSize(216, 112)
CARD_WIDTH = THUMB_SIZE.width() + 2
SIDE_WIDTH = 250  # the Start / Recent column
RECENT_TEXT_WIDTH = SIDE_WIDTH - 40  # its labels' text (margins and the layout's), elided to fit
SUMMARY_LINES = 3  # every built-in summary fits whole in three lines; a longer one is elided (the tooltip has it all)


def is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def muted_color(palette: QPalette) -> QColor:
    """Secondary text: the text colour blended toward the background (PlaceholderText is often the text
    colour with alpha, which rich text cannot use)."""
    text, base = palette.color(QPalette.ColorRole.Text), palette.color(QPalette.ColorRole.Base)
    mix = 0.45
    return QColor.fromRgbF(text.redF() * (1 - mix) + base.redF() * mix, text.greenF() * (1 - mix) + base.greenF() * mix,
                           text.blueF() * (1 - mix) + base.blueF() * mix)


def elide_lines(text: str, font: QFont, width: int, max_lines: int) -> str:
    """`text` wrapped to `width` pixels, cut to `max_lines` lines with an ellipsis on the last one."""
    layout = QTextLayout(text, font)
    layout.beginLayout()
    lines: list[str] = []
    metrics = QFontMetrics(font)
    while True:
        line = layout.createLine()
        if not line.isValid():
            break
        line.setLineWidth(width)
        start, length = line.textStart(), line.textLength()
        if len(lines) == max_lines - 1:
            rest = text[start:]
            lines.append(metrics.elidedText(rest, Qt.TextElideMode.ElideRight, width))
            break
        lines.append(text[start:start + length].rstrip())
    layout.endLayout()
    return "\n".join(lines)


class Thumbnail(QWidget):
    """The picture of a graph on a card, drawn on a soft backdrop."""

    def __init__(self, pixmap_source, parent: QWidget | None = None):
        super().__init__(parent)
        self._source = pixmap_source  # callable(size, dpr, dark) -> QPixmap
        self.setFixedSize(THUMB_SIZE)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        backdrop = palette.color(QPalette.ColorRole.AlternateBase)
        if backdrop == palette.color(QPalette.ColorRole.Base):
            backdrop = backdrop.darker(104) if not is_dark(palette) else backdrop.lighter(120)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(backdrop)
        painter.drawRoundedRect(QRectF(self.rect()), 6, 6)
        pixmap = self._source(THUMB_SIZE, self.devicePixelRatioF(), is_dark(palette))
        if pixmap is not None:
            painter.drawPixmap(0, 0, pixmap)
        painter.end()


class TemplateCard(QFrame):
    """One template: thumbnail, title and a three-line summary. Click, Enter or Space opens it."""

    activated = Signal(str)

    def __init__(self, name: str, title: str, description: str, pixmap_source, parent: QWidget | None = None,
                 summary_text: str = ""):
        super().__init__(parent)
        self.name = name
        self.title = title
        self.setObjectName("templateCard")
        self.setAttribute(Qt.WidgetAttribute.WA_Hover)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setFixedWidth(CARD_WIDTH + 20)
        self.setToolTip(f"<b>{_escape(title)}</b><br>{_escape(description)}" if description else title)
        self.setAccessibleName(f"Template {title}")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 10, 10, 12)
        layout.setSpacing(6)
        layout.addWidget(Thumbnail(pixmap_source, self))
        heading = QLabel(self)
        heading.setObjectName("cardTitle")
        font = heading.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.08)
        heading.setFont(font)
        # A title wider than the card is elided, never cut mid-letter; the card's tooltip has it whole.
        heading.setText(QFontMetrics(font).elidedText(title, Qt.TextElideMode.ElideRight, CARD_WIDTH))
        layout.addWidget(heading)
        summary = QLabel(self)
        summary.setObjectName("cardSummary")
        summary.setText(elide_lines(summary_text or _summary(description), summary.font(), CARD_WIDTH, SUMMARY_LINES))
        summary.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        summary.setFixedHeight(QFontMetrics(summary.font()).lineSpacing() * SUMMARY_LINES + 2)
        layout.addWidget(summary)

    def mouseReleaseEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.rect().contains(event.position().toPoint()):
            self.activated.emit(self.name)
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space):
            self.activated.emit(self.name)
            return
        super().keyPressEvent(event)


def _summary(description: str) -> str:
    return " ".join(description.split())


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _template_source(info: TemplateInfo):
    graph_cache: list[Graph] = []

    def load_graph() -> Graph:
        if not graph_cache:
            try:
                graph_cache.append(load_project(info.path).graph)
            except ProjectError:
                graph_cache.append(Graph())
        return graph_cache[0]

    def source(size: QSize, dpr: float, dark: bool) -> QPixmap:
        return template_thumbnail(info.path, load_graph, size, dpr, dark=dark)

    return source


def _empty_source(size: QSize, dpr: float, dark: bool) -> QPixmap:
    pixmap = render_graph(Graph(), size, dpr, dark=dark)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    color = QColor("#8d96a3")
    pen = painter.pen()
    pen.setColor(color)
    pen.setWidthF(2.0)
    pen.setStyle(Qt.PenStyle.DashLine)
    painter.setPen(pen)
    box = QRectF(size.width() / 2 - 34, size.height() / 2 - 24, 68, 48)
    painter.drawRoundedRect(box, 8, 8)
    pen.setStyle(Qt.PenStyle.SolidLine)
    painter.setPen(pen)
    c = box.center()
    painter.drawLine(c.x() - 9, c.y(), c.x() + 9, c.y())
    painter.drawLine(c.x(), c.y() - 9, c.x(), c.y() + 9)
    painter.end()
    return pixmap


class FlowLayout(QLayout):
    """Equal-sized items left to right, wrapping to the width (with height-for-width, so a scroll area
    knows how tall the gallery is at any width)."""

    def __init__(self, parent: QWidget | None = None, spacing: int = 14):
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._spacing = spacing
        self.setContentsMargins(0, 0, 0, 0)

    def addItem(self, item: QLayoutItem) -> None:
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._place(QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        self._place(rect, move=True)

    def sizeHint(self) -> QSize:
        return self.minimumSize()

    def minimumSize(self) -> QSize:
        size = QSize()
        for item in self._items:
            size = size.expandedTo(item.minimumSize())
        return size

    def _place(self, rect: QRect, move: bool) -> int:
        x, y, row_height = rect.x(), rect.y(), 0
        for item in self._items:
            hint = item.sizeHint()
            if x > rect.x() and x + hint.width() > rect.right() + 1:
                x, y = rect.x(), y + row_height + self._spacing
                row_height = 0
            if move:
                item.setGeometry(QRect(QPoint(x, y), hint))
            x += hint.width() + self._spacing
            row_height = max(row_height, hint.height())
        return y + row_height - rect.y()


class TemplateGallery(QWidget):
    """Template cards that wrap to the available width."""

    chosen = Signal(str)  # a template name, or EMPTY

    def __init__(self, templates: list[TemplateInfo] | None = None, *, with_empty: bool = False,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.cards: list[TemplateCard] = []
        if with_empty:
            self.cards.append(TemplateCard(EMPTY, "Empty project", "Start from a blank canvas: drag layers "
                                           "from the palette, or type on the canvas to add one.",
                                           _empty_source, self))
        for info in list_templates() if templates is None else templates:
            self.cards.append(TemplateCard(info.name, info.title, info.description, _template_source(info), self,
                                           summary_text=info.summary))
        layout = FlowLayout(self)
        for card in self.cards:
            card.activated.connect(self.chosen)
            layout.addWidget(card)
        policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)

    def card(self, name: str) -> TemplateCard:
        return next(c for c in self.cards if c.name == name)


class LinkButton(QPushButton):
    """A flat, left-aligned button with an icon: the welcome page's actions."""

    def __init__(self, text: str, icon_name: str | None = None, parent: QWidget | None = None):
        super().__init__(text, parent)
        self.setFlat(True)
        self.setObjectName("linkButton")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        if icon_name:
            self.setIcon(icon(icon_name))
            self.setIconSize(QSize(20, 20))


class WelcomePage(QScrollArea):
    """What the window shows when no project is open."""

    template_chosen = Signal(str)
    new_empty_requested = Signal()
    open_requested = Signal()
    recent_chosen = Signal(object)  # Path

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("welcomePage")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        content = QWidget(self)
        content.setObjectName("welcomeContent")
        self.setWidget(content)
        outer = QVBoxLayout(content)
        outer.setContentsMargins(40, 26, 40, 26)
        outer.setSpacing(20)

        header = QHBoxLayout()
        header.setSpacing(16)
        logo = QLabel(content)
        logo.setPixmap(app_icon().pixmap(QSize(56, 56)))
        header.addWidget(logo)
        titles = QVBoxLayout()
        titles.setSpacing(2)
        title = QLabel("LayerLoom", content)
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 2.1)
        font.setWeight(QFont.Weight.DemiBold)
        title.setFont(font)
        titles.addWidget(title)
        tagline = QLabel("Build neural networks visually, see every tensor shape as you go, "
                         "export clean PyTorch code.", content)
        tagline.setObjectName("muted")
        titles.addWidget(tagline)
        header.addLayout(titles)
        header.addStretch(1)
        outer.addLayout(header)

        body = QHBoxLayout()
        body.setSpacing(32)
        outer.addLayout(body, 1)

        side = QVBoxLayout()
        side.setSpacing(6)
        side.addWidget(_heading("Start", content))
        self.new_button = LinkButton("New empty project", "new", content)
        self.new_button.clicked.connect(self.new_empty_requested)
        side.addWidget(self.new_button)
        self.open_button = LinkButton("Open project…", "open", content)
        self.open_button.clicked.connect(self.open_requested)
        side.addWidget(self.open_button)
        side.addSpacing(22)
        side.addWidget(_heading("Recent", content))
        self._recent_box = QVBoxLayout()
        self._recent_box.setSpacing(8)
        side.addLayout(self._recent_box)
        side.addStretch(1)
        side_widget = QWidget(content)
        side_widget.setLayout(side)
        side_widget.setFixedWidth(SIDE_WIDTH)
        side_widget.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)
        body.addWidget(side_widget, 0)

        main = QVBoxLayout()
        main.setSpacing(6)
        main.addWidget(_heading("Templates", content))
        hint = QLabel("Start from a ready-made network; it opens as a new, untitled project.", content)
        hint.setObjectName("muted")
        main.addWidget(hint)
        main.addSpacing(8)
        self.gallery = TemplateGallery(parent=content)
        self.gallery.chosen.connect(self.template_chosen)
        main.addWidget(self.gallery, 1)
        body.addLayout(main, 1)
        self.recent_labels: list[QLabel] = []
        self.set_recent([])

    def set_recent(self, paths: list[Path]) -> None:
        while self._recent_box.count():
            item = self._recent_box.takeAt(0)
            if item.widget() is not None:
                item.widget().hide()
                item.widget().deleteLater()
        self.recent_labels = []
        if not paths:
            none = QLabel("Projects you open or save appear here.", self.widget())
            none.setObjectName("muted")
            none.setWordWrap(True)
            none.setContentsMargins(8, 0, 0, 0)
            self._recent_box.addWidget(none)
            return
        for path in paths:
            label = QLabel(self.widget())
            label.setTextFormat(Qt.TextFormat.RichText)
            # A long name or folder is elided (never clipped mid-letter); the tooltip has the whole path.
            bold = QFont(label.font())
            bold.setBold(True)
            name = QFontMetrics(bold).elidedText(path.name.removesuffix(".layerloom.json"),
                                                 Qt.TextElideMode.ElideRight, RECENT_TEXT_WIDTH)
            folder = QFontMetrics(label.font()).elidedText(_short_folder(path.parent), Qt.TextElideMode.ElideMiddle,
                                                           RECENT_TEXT_WIDTH)
            label.setText(f'<a href="{_escape(str(path))}" style="text-decoration:none">'
                          f'<b>{_escape(name)}</b></a><br>'
                          f'<span style="color:{self._muted_color()}">{_escape(folder)}</span>')
            label.setToolTip(str(path))
            label.setCursor(Qt.CursorShape.PointingHandCursor)
            label.linkActivated.connect(lambda _link, p=path: self.recent_chosen.emit(p))
            label.setProperty("path", str(path))
            label.setContentsMargins(8, 0, 0, 0)  # in line with the icons of the buttons above
            self._recent_box.addWidget(label)
            self.recent_labels.append(label)

    def _muted_color(self) -> str:
        return muted_color(self.palette()).name()


def _heading(text: str, parent: QWidget) -> QLabel:
    label = QLabel(text, parent)
    label.setObjectName("heading")
    font = label.font()
    font.setPointSizeF(font.pointSizeF() * 1.25)
    font.setWeight(QFont.Weight.DemiBold)
    label.setFont(font)
    return label


def _short_folder(folder: Path) -> str:
    home = Path.home()
    try:
        return "~/" + str(folder.relative_to(home)) if folder != home else "~"
    except ValueError:
        return str(folder)


WELCOME_STYLE = """
#welcomePage, #welcomeContent { background: palette(base); }
QLabel#muted, QLabel#cardSummary { color: palette(placeholder-text); }
QFrame#templateCard { background: palette(base); border: 1px solid palette(midlight); border-radius: 10px; }
QFrame#templateCard:hover { border: 1px solid palette(highlight); }
QFrame#templateCard:focus { border: 2px solid palette(highlight); }
QPushButton#linkButton { text-align: left; padding: 6px 8px; border: none; border-radius: 6px;
                         color: palette(link); font-weight: 600; }
QPushButton#linkButton:hover { background: palette(alternate-base); }
"""


class NewProjectDialog(QDialog):
    """File > New from Template: the gallery with an "Empty project" card first. `choice` is the name."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("New Project")
        self.choice: str | None = None
        self.setStyleSheet(WELCOME_STYLE)
        layout = QVBoxLayout(self)
        intro = QLabel("Choose a starting point. Templates open as new, untitled projects.", self)
        layout.addWidget(intro)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setObjectName("welcomePage")
        self.gallery = TemplateGallery(with_empty=True)
        self.gallery.setObjectName("welcomeContent")
        scroll.setWidget(self.gallery)
        layout.addWidget(scroll, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.gallery.chosen.connect(self._choose)
        self.resize(4 * (CARD_WIDTH + 34) + 60, 640)

    def _choose(self, name: str) -> None:
        self.choice = name
        self.accept()
