"""Syntax highlighting for the generated Python in the code view.

One master regular expression scans each line left to right, so a `#` inside a string or a quote inside a
comment is never mistaken for the other. Triple-quoted strings (docstrings) may span lines: the block state
remembers which quote is open (1 for ''', 2 for \"\"\"). Colours follow the palette: a light and a dark set.
"""

from __future__ import annotations

import builtins
import keyword
import re

from PySide6.QtGui import QColor, QFont, QPalette, QSyntaxHighlighter, QTextCharFormat, QTextDocument
from PySide6.QtWidgets import QApplication

_KEYWORDS = frozenset(keyword.kwlist)
_BUILTINS = frozenset(name for name in dir(builtins) if not name.startswith("_")) - _KEYWORDS
_SELF = frozenset({"self", "cls"})

_TOKEN = re.compile(
    r"""
    (?P<comment>\#.*)
  | (?P<triple>(?:[rRbBuUfF]{0,2})(?:'''|\"\"\"))
  | (?P<string>(?:[rRbBuUfF]{0,2})(?:'(?:[^'\\\n]|\\.)*'?|"(?:[^"\\\n]|\\.)*"?))
  | (?P<decorator>(?<![\w.)\]])@[A-Za-z_][\w.]*)
  | (?P<number>\b(?:0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+
        |(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d+)?[jJ]?)\b)
  | (?P<name>[A-Za-z_]\w*)
    """,
    re.VERBOSE,
)

# (light, dark) colours per role.
_COLOURS = {
    "keyword": ("#7a3e9d", "#c792ea"),
    "builtin": ("#0b6fa4", "#82aaff"),
    "string": ("#2f7d32", "#c3e88d"),
    "docstring": ("#6a8a5a", "#8fae7f"),
    "number": ("#b5520b", "#f78c6c"),
    "comment": ("#8a8f98", "#7f8794"),
    "self": ("#a8325e", "#f07178"),
    "decorator": ("#9a7400", "#ffcb6b"),
    "definition": ("#1b5fb8", "#82aaff"),
}

NO_STATE, IN_SINGLE_TRIPLE, IN_DOUBLE_TRIPLE = -1, 1, 2


def _is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Base).lightness() < 128


class PythonHighlighter(QSyntaxHighlighter):
    """Keywords, builtins, strings, numbers, comments, docstrings, `self`, decorators and defined names.

    `set_muted(True)` draws everything in one grey (the code view shows stale code that way).
    """

    def __init__(self, document: QTextDocument, dark: bool | None = None):
        super().__init__(document)
        self._muted = False
        if dark is None:
            app = QApplication.instance()
            dark = _is_dark(app.palette()) if app is not None else False
        self.formats: dict[str, QTextCharFormat] = {}
        self.set_dark(dark)

    def set_dark(self, dark: bool) -> None:
        """Switch between the light and the dark colour set (call it when the palette changes)."""
        self.dark = dark
        self.formats = {}
        for role, pair in _COLOURS.items():
            fmt = QTextCharFormat()
            fmt.setForeground(QColor(pair[1] if dark else pair[0]))
            if role in ("keyword", "definition"):
                fmt.setFontWeight(QFont.Weight.Bold)
            if role in ("comment", "docstring"):
                fmt.setFontItalic(True)
            self.formats[role] = fmt
        self._muted_format = QTextCharFormat()
        self._muted_format.setForeground(QColor("#8a8f98" if not dark else "#6b7280"))
        self.rehighlight()

    @property
    def muted(self) -> bool:
        return self._muted

    def set_muted(self, muted: bool) -> None:
        if muted != self._muted:
            self._muted = muted
            self.rehighlight()

    def highlightBlock(self, text: str) -> None:
        if self._muted:
            self.setFormat(0, len(text), self._muted_format)
            self.setCurrentBlockState(self.previousBlockState())
            return
        self.setCurrentBlockState(NO_STATE)
        pos = 0
        previous = self.previousBlockState()
        if previous in (IN_SINGLE_TRIPLE, IN_DOUBLE_TRIPLE):
            pos = self._triple_from(text, 0, "'''" if previous == IN_SINGLE_TRIPLE else '"""', 0)
        expect_definition = False
        while pos < len(text):
            match = _TOKEN.search(text, pos)
            if match is None:
                break
            kind = match.lastgroup
            start, end = match.span()
            if kind == "triple":
                quote = match.group()[-3:]
                end = self._triple_from(text, end, quote, start)
                expect_definition = False
                pos = end
                continue
            if kind == "name":
                word = match.group()
                if expect_definition:
                    self.setFormat(start, end - start, self.formats["definition"])
                    expect_definition = False
                elif word in _KEYWORDS:
                    self.setFormat(start, end - start, self.formats["keyword"])
                    expect_definition = word in ("def", "class")
                elif word in _SELF:
                    self.setFormat(start, end - start, self.formats["self"])
                elif word in _BUILTINS and not _is_attribute(text, start):
                    self.setFormat(start, end - start, self.formats["builtin"])
            else:
                self.setFormat(start, end - start, self.formats[kind])
                expect_definition = False
            pos = max(end, pos + 1)

    def _triple_from(self, text: str, pos: int, quote: str, start: int) -> int:
        """Format a triple-quoted string from `start`, its body searched from `pos`; returns where it ends
        (the line's end when it stays open, which the block state records)."""
        close = text.find(quote, pos)
        if close < 0:
            self.setFormat(start, len(text) - start, self.formats["docstring"])
            self.setCurrentBlockState(IN_SINGLE_TRIPLE if quote == "'''" else IN_DOUBLE_TRIPLE)
            return len(text)
        end = close + 3
        self.setFormat(start, end - start, self.formats["docstring"])
        return end


def _is_attribute(text: str, start: int) -> bool:
    """`x.sum` or `nn.Module.float`: a name after a dot is an attribute, not the builtin."""
    i = start - 1
    while i >= 0 and text[i] == " ":
        i -= 1
    return i >= 0 and text[i] == "."
