"""The node card: a rounded card coloured by category with the layer's id and op, its key params, its output
shape and parameter count, and its ports.

Painting is cheap by construction: every text is laid out when the data it shows changes (`QStaticText`,
elided once), the card and header paths are shared between cards of the same height, and below a zoom
threshold only coloured blocks are drawn. A node item never changes the model; it only shows it.
"""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen, QStaticText
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from app.canvas.appearance import (
    BODY_TOP,
    BOTTOM_PAD,
    CORNER,
    HEADER_H,
    LINE_H,
    LOD_DETAIL,
    LOD_TEXT,
    NODE_WIDTH,
    PAD_X,
    PORT_Y0,
    ROW_H,
    fonts,
)
from app.canvas.port_item import PortItem
from app.theme import FALLBACK_COLOR, category_color
from graph_engine.catalog import get_spec
from graph_engine.catalog.spec import REQUIRED, LayerSpec, Param, ParamKind
from graph_engine.graph import Node

if TYPE_CHECKING:
    from app.canvas.edge_item import EdgeItem
    from graph_engine.validation import Diagnostic, NodeInfo

MAX_KEY_CHUNKS = 3
BIG_TITLE_MAX = 28
BIG_TITLE_MIN = 14
_CHUNK_SEP = " · "
# Numeric fine-tuning that says little about what a layer does: shown only when set away from its default.
TUNING = frozenset({"eps", "momentum", "layer_norm_eps", "dropout", "init", "num_parameters", "start_dim",
                    "end_dim", "output_padding", "dilation", "groups"})
VARIADIC_PORT_GAP = 14.0
STACK_OFFSET = 4.0  # how far each card of a block's stack peeks out


# ---- what a card says ------------------------------------------------------------------------------------


def format_count(n: int) -> str:
    """156 -> "156", 12345 -> "12.3k", 1234567 -> "1.23M"."""
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if n >= limit:
            value = n / limit
            text = f"{value:.3g}" if value < 100 else f"{value:.0f}"
            return text + suffix
    return str(n)


def format_params(n: int) -> str:
    """12345 -> "12.3k params"."""
    return f"{format_count(n)} param" + ("" if n == 1 else "s")


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value_text(v) for v in value) + "]"
    return str(value)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return list(a) == list(b)
    return type(a) is type(b) and a == b


def _tuple_text(value: Any, length: int | None, sep: str = "x") -> str:
    """kernel_size=3 on a 2-d layer -> "3x3"; [3, 5] -> "3x5"."""
    if isinstance(value, list | tuple):
        return sep.join(str(v) for v in value)
    if length and length > 1 and isinstance(value, int):
        return sep.join([str(value)] * length)
    return _value_text(value)


_WORDS = {
    "out_features": "{} out", "out_channels": "{} out", "hidden_size": "{} hidden", "num_layers": "{} layers",
    "num_heads": "{} heads", "nhead": "{} heads", "dim_feedforward": "ff {}", "num_embeddings": "{} tokens",
    "embedding_dim": "{} dim", "p": "p={}", "dropout": "drop {}", "negative_slope": "slope {}",
    "padding": "pad {}", "dilation": "dil {}", "groups": "{} groups", "num_groups": "{} groups",
    "output_size": "→ {}", "scale_factor": "×{}", "shape": "→ {}", "unflattened_size": "→ {}",
    "dims": "dims {}", "output_padding": "out pad {}", "padding_idx": "pad idx {}",
}


def _chunk(param: Param, value: Any, params: dict[str, Any], spec: LayerSpec) -> str:
    if value is REQUIRED:
        return f"{param.name} ?"
    if param.kind is ParamKind.BOOL:
        if param.name == "bidirectional":
            return "bidirectional" if value else "one-way"
        return param.name.replace("_", " ") if value else f"no {param.name.replace('_', ' ')}"
    if param.name == "kernel_size":
        text = _tuple_text(value, param.length)
        if len(text) == len(_value_text(value)) and param.length == 1:
            text = f"k{text}"
        stride = params.get("stride")
        if "stride" in spec.param_names and stride is not None and not _same(stride, spec.param("stride").default) \
                and _tuple_text(stride, 1) not in ("1", "1x1"):
            text += f" /{_tuple_text(stride, None)}"
        return text
    if param.name == "stride":
        return f"/{_tuple_text(value, None)}"
    if param.kind is ParamKind.INT_TUPLE:
        value_text = _tuple_text(value, None)
    else:
        value_text = _value_text(value)
    if param.name in _WORDS:
        return _WORDS[param.name].format(value_text)
    if param.kind is ParamKind.CHOICE:
        return value_text
    return f"{param.name} {value_text}"


def key_param_chunks(spec: LayerSpec | None, params: dict[str, Any]) -> list[str]:
    """The params worth showing on the card, most telling first: the spec's first plain param (what the
    layer is about: out_features, p, hidden_size), the kernel, then params the user set away from their
    default and required ones still missing. Inferred and fixed params are never shown (the shape says them).
    """
    if spec is None:
        return []
    chosen: list[Param] = []
    candidates = [p for p in spec.params if not p.is_inferred and not p.fixed
                  and not (spec.op == "Input" and p.name == "shape")]  # the shape line says it
    primary = next((p for p in candidates if p.kind not in (ParamKind.BOOL, ParamKind.CHOICE)
                    and p.name not in TUNING and params.get(p.name, p.default) is not None), None)
    for p in candidates:
        explicit = p.name in params and not _same(params[p.name], p.default)
        if p is primary or p.name == "kernel_size" or explicit or (p.required and p.name not in params):
            if p.name == "stride" and "kernel_size" in spec.param_names:
                continue  # shown with the kernel: "3x3 /2"
            chosen.append(p)
    chunks = []
    for p in chosen:
        value = params.get(p.name, p.default)
        if value is None and p.nullable and p.name not in params:
            continue  # None means "same as another param" (MaxPool stride): nothing to say
        chunks.append(_chunk(p, value, params, spec))
    return chunks[:MAX_KEY_CHUNKS]


def fit_chunks(chunks: list[str], metrics: QFontMetricsF, width: float) -> str:
    """As many whole chunks as fit in `width` (at least the first, elided)."""
    text = ""
    for chunk in chunks:
        candidate = chunk if not text else text + _CHUNK_SEP + chunk
        if metrics.horizontalAdvance(candidate) > width:
            break
        text = candidate
    if not text and chunks:
        text = metrics.elidedText(chunks[0], Qt.TextElideMode.ElideRight, width)
    return text


# ---- shared geometry ---------------------------------------------------------------------------------------

_card_paths: dict[float, QPainterPath] = {}
_header_path: QPainterPath | None = None


def _card_path(height: float) -> QPainterPath:
    path = _card_paths.get(height)
    if path is None:
        path = QPainterPath()
        path.addRoundedRect(QRectF(0, 0, NODE_WIDTH, height), CORNER, CORNER)
        _card_paths[height] = path
    return path


def _header() -> QPainterPath:
    global _header_path
    if _header_path is None:
        rounded = QPainterPath()
        rounded.addRoundedRect(QRectF(0, 0, NODE_WIDTH, HEADER_H + 2 * CORNER), CORNER, CORNER)
        band = QPainterPath()
        band.addRect(QRectF(0, 0, NODE_WIDTH, HEADER_H))
        _header_path = rounded.intersected(band)
    return _header_path


_BADGE_PEN = QPen(QColor("white"), 2.0, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap)
_big_fonts: dict[int, tuple[QFont, QFontMetricsF]] = {}


def _big_font(px: int) -> tuple[QFont, QFontMetricsF]:
    """The bold font of the zoomed-out title, by pixel size (a handful of sizes, made once each)."""
    entry = _big_fonts.get(px)
    if entry is None:
        font = QFont(fonts().title)
        font.setPixelSize(px)
        entry = _big_fonts[px] = (font, QFontMetricsF(font))
    return entry


def _static(text: str, font: QFont) -> QStaticText:
    static = QStaticText(text)
    static.setTextFormat(Qt.TextFormat.PlainText)
    static.prepare(font=font)
    return static


class _Text:
    """One precomputed line: static text, font, where, and which colour role draws it."""

    __slots__ = ("font", "pos", "role", "static")

    def __init__(self, text: str, font: QFont, pos: QPointF, role: str):
        self.static = _static(text, font)
        self.font = font
        self.pos = pos
        self.role = role  # "text", "dim", "error", "warning"


# ---- the item ----------------------------------------------------------------------------------------------


class NodeItem(QGraphicsItem):
    """The card of one node. The scene keeps it in sync with the model through `set_params`,
    `set_check_info`, `rename` and the edges attached to it."""

    def __init__(self, node: Node, info: NodeInfo | None = None, diagnostics: list[Diagnostic] | None = None,
                 spec: LayerSpec | None = None):
        super().__init__()
        self.node_id = node.id
        self.op = node.block if node.op == "Block" and isinstance(node.block, str) else node.op
        self.repeat = node.repeat if node.op == "Block" else None
        self.is_block = node.op == "Block"
        # A block instance's spec comes from its definition (graph_engine.blocks); the scene passes it.
        self.spec: LayerSpec | None = spec if spec is not None else get_spec(node.op)
        self.accent = category_color(self.spec.category) if self.spec else QColor(FALLBACK_COLOR)
        self.edges: list[EdgeItem] = []
        self.inputs: list[PortItem] = []
        self.outputs: list[PortItem] = []
        self.severity: str | None = None  # "error", "warning" or None
        self.shape_error = False  # the incoming tensors do not suit the layer: its input edges are drawn red
        self.height = HEADER_H + LINE_H + BOTTOM_PAD
        self._params: dict[str, Any] = dict(node.params)
        self.frozen = not node.trainable  # trainable: false, shown by a snowflake badge and "frozen"
        self._info: NodeInfo | None = None
        self._diagnostics: list[Diagnostic] = []
        self._check_key: Any = None
        self._texts: list[_Text] = []
        self._big_title: list[_Text] = []
        self._ports_visible = True
        self._hovered = False
        self._header_color: QColor | None = None
        self._header_colors_of: object = None
        self._live: _Text | None = None  # training statistics under the card (set_live_stats)
        self._live_w = 0.0
        self._live_flagged = False  # where a run's loss first went NaN/Inf
        self._live_tip = ""
        self.setFlags(QGraphicsItem.GraphicsItemFlag.ItemIsMovable
                      | QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
                      | QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges)
        self.setAcceptHoverEvents(True)
        # The card is drawn once into a pixmap at the current zoom and blitted on later repaints (a fit-all of
        # a 17-card ResNet-152 repaints in about half the time; benchmarks/README.md); every change of what
        # the card shows goes through update(), which redraws the pixmap.
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        if node.pos is not None:
            self.setPos(QPointF(*node.pos))
        self._sync_ports()
        if not self.set_check_info(info, diagnostics or []):
            self._relayout()

    # ---- model -> item -----------------------------------------------------------------------------------

    def set_params(self, params: dict[str, Any]) -> None:
        """The node's params changed: re-lay out the key-param line."""
        self._params = dict(params)
        if self._sync_ports():
            for e in self.edges:
                e.adjust()
        self._relayout()

    def set_spec(self, spec: LayerSpec | None, node: Node) -> None:
        """A block instance's definition changed (other ports, params or name; make unique): show it."""
        op = node.block if node.op == "Block" and isinstance(node.block, str) else node.op
        if spec is self.spec and op == self.op and node.repeat == self.repeat:
            return
        self.spec, self.op, self.repeat = spec, op, node.repeat
        self._check_key = None
        if self._sync_ports():
            for e in self.edges:
                e.adjust()
        self._update_port_states()
        self._relayout()

    def set_frozen(self, frozen: bool) -> None:
        """The node was frozen or unfrozen (Node.trainable)."""
        if frozen != self.frozen:
            self.frozen = frozen
            self._relayout()
            self._update_tooltips()

    def rename(self, new_id: str) -> None:
        """The node was renamed: show the new id."""
        self.node_id = new_id
        self._check_key = None
        self._relayout()

    def set_check_info(self, info: NodeInfo | None, diagnostics: list[Diagnostic]) -> bool:
        """Show what checking found; returns whether anything visible changed (cheap when nothing did)."""
        key = (None if info is None else (info.inputs, info.outputs, info.param_count),
               tuple((d.severity, d.message, d.hint) for d in diagnostics))
        if key == self._check_key:
            return False
        self._check_key = key
        self._info = info
        self._diagnostics = list(diagnostics)
        errors = [d for d in diagnostics if d.is_error]
        self.severity = "error" if errors else ("warning" if diagnostics else None)
        self.shape_error = bool(info is not None and info.inputs and any(
            d.edge is None and (d.field is None or info.outputs is None or self._is_inferred(d.field))
            for d in errors))
        self._relayout()
        self._update_tooltips()
        return True

    def _is_inferred(self, name: str) -> bool:
        return self.spec is not None and name in self.spec.param_names and self.spec.param(name).is_inferred

    def output_shape_text(self, port: int = 0) -> str:
        """The inferred shape of output `port` as shown ("[6, 28, 28]"), "" when unknown."""
        if self._info is None:
            return ""
        t = self._info.output(port)
        return "" if t is None else str(t)

    # ---- live training statistics -----------------------------------------------------------------------

    def set_live_stats(self, text: str | None, tooltip: str = "", flagged: bool = False) -> None:
        """Show a line of training statistics in a pill under the card ("dead 12% · ∇ 0.031"), and mark the
        card when `flagged` (the layer where the loss went non-finite). None and False clear both."""
        if text == (self._live.static.text() if self._live else None) and flagged == self._live_flagged \
                and tooltip == self._live_tip:
            return
        if bool(text) != (self._live is not None):
            self.prepareGeometryChange()  # the pill extends the bounding rectangle
        if text:
            f = fonts()
            shown = f.small_metrics.elidedText(text, Qt.TextElideMode.ElideRight, NODE_WIDTH - 2 * PAD_X)
            self._live = _Text(shown, f.small, QPointF(0, 0), "dim")
            self._live_w = f.small_metrics.horizontalAdvance(shown) + 12
        else:
            self._live, self._live_w = None, 0.0
        self._live_flagged = flagged
        if tooltip != self._live_tip:
            self._live_tip = tooltip
            self._update_tooltips()
        self.update()

    @property
    def live_stats_text(self) -> str:
        return self._live.static.text() if self._live is not None else ""

    @property
    def live_flagged(self) -> bool:
        return self._live_flagged

    def _paint_live(self, painter: QPainter, colors, detailed: bool) -> None:
        if self._live_flagged:
            painter.setPen(QPen(colors.error, 3.0 if detailed else 6.0, Qt.PenStyle.DashLine))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(QRectF(-4, -4, NODE_WIDTH + 8, self.height + 8), CORNER + 3, CORNER + 3)
        if self._live is None or not detailed:
            return
        f = fonts()
        h = f.small_metrics.height() + 4
        pill = QRectF(0, self.height + 4, self._live_w, h)
        painter.setPen(QPen(colors.error if self._live_flagged else colors.card_border, 1.0))
        painter.setBrush(colors.card)
        painter.drawRoundedRect(pill, h / 2, h / 2)
        painter.setPen(colors.error if self._live_flagged else colors.text_dim)
        painter.setFont(self._live.font)
        painter.drawStaticText(QPointF(6, self.height + 6), self._live.static)

    # ---- edges and ports ---------------------------------------------------------------------------------

    def attach_edge(self, edge_item: EdgeItem) -> None:
        """An edge now starts or ends here: it follows this card, and ports update (a merge grows one)."""
        self.edges.append(edge_item)
        self._edges_changed()

    def detach_edge(self, edge_item: EdgeItem) -> None:
        """The edge is gone: stop moving it, update the ports."""
        if edge_item in self.edges:
            self.edges.remove(edge_item)
            self._edges_changed()

    def _edges_changed(self) -> None:
        if self.spec is None or self.spec.variadic:  # ports that depend on the edges
            if self._sync_ports():
                self._relayout()
                for e in self.edges:
                    e.adjust()
        self._update_port_states()

    def input_port_count(self) -> int:
        """Ports shown on the left. A variadic op (Add, Concat) shows one free port past the connected ones,
        so a new input can always be dropped on it."""
        spec = self.spec
        if spec is None:
            used = {e.edge.dst_port for e in self.edges if e.dst is self}
            return max(used, default=-1) + 1
        if not spec.variadic:
            return len(spec.inputs)
        used = {e.edge.dst_port for e in self.edges if e.dst is self}
        return max(spec.min_inputs, len(used) + 1, max(used, default=-1) + 1)

    def _sync_ports(self) -> bool:
        """Create or drop port items to match the spec; returns whether the count changed."""
        n_in = self.input_port_count()
        used_out = max((e.edge.src_port + 1 for e in self.edges if e.src is self), default=0)
        # Ops whose output count follows a param (Chunk) keep a port while an edge still uses it; validation
        # reports that edge until it is removed.
        n_out = max(self.spec.output_port_count(self._params), used_out if self.spec.output_count else 0) \
            if self.spec else used_out
        changed = n_in != len(self.inputs) or n_out != len(self.outputs)
        while len(self.inputs) < n_in:
            i = len(self.inputs)
            self.inputs.append(PortItem(self, False, i, self._input_name(i)))
            self.inputs[-1].setVisible(self._ports_visible)
        while len(self.outputs) < n_out:
            i = len(self.outputs)
            name = self.spec.output_port_name(i) if self.spec else f"output{i}"
            self.outputs.append(PortItem(self, True, i, name))
            self.outputs[-1].setVisible(self._ports_visible)
        for ports, n in ((self.inputs, n_in), (self.outputs, n_out)):
            while len(ports) > n:
                port = ports.pop()
                if port.scene() is not None:
                    port.scene().removeItem(port)
                port.setParentItem(None)
        return changed

    def set_ports_visible(self, visible: bool) -> None:
        """Ports are hidden when zoomed far out: 2 px dots, yet each would cost a paint call."""
        if visible != self._ports_visible:
            self._ports_visible = visible
            for port in self.inputs + self.outputs:
                port.setVisible(visible)

    def _input_name(self, index: int) -> str:
        if self.spec is None:
            return f"input{index}"
        return self.spec.input_port_name(index)

    def _update_port_states(self) -> None:
        fed = {e.edge.dst_port for e in self.edges if e.dst is self}
        used = {e.edge.src_port for e in self.edges if e.src is self}
        for port in self.inputs:
            port.set_connected(port.index in fed)
        for port in self.outputs:
            port.set_connected(port.index in used)

    def input_anchor(self, index: int) -> QPointF:
        """Where an edge into input `index` ends, in item coordinates (extrapolated past the last port, so a
        broken file's edge into a missing port still draws)."""
        return self._anchor(self.inputs, index, 0.0)

    def output_anchor(self, index: int) -> QPointF:
        """Where an edge out of output `index` starts, in item coordinates."""
        return self._anchor(self.outputs, index, NODE_WIDTH)

    def _anchor(self, ports: list[PortItem], index: int, x: float) -> QPointF:
        if 0 <= index < len(ports):
            return ports[index].pos()
        if len(ports) <= 1:
            return QPointF(x, PORT_Y0 + max(0, index - len(ports) + 1) * ROW_H)
        return QPointF(x, ports[-1].pos().y() + (index - len(ports) + 1) * ROW_H)

    def port(self, is_output: bool, index: int) -> PortItem | None:
        """The port item, or None when the card shows no such port."""
        ports = self.outputs if is_output else self.inputs
        return ports[index] if 0 <= index < len(ports) else None

    # ---- layout ------------------------------------------------------------------------------------------

    def _relayout(self) -> None:
        """Lay out every text and port for the current data (called on data changes only, never in paint)."""
        f = fonts()
        inner = NODE_WIDTH - 2 * PAD_X
        texts: list[_Text] = []

        # Header: id (bold, left) and op (dim, right); the id keeps priority when both do not fit.
        op_text = self.op if self.spec else f"{self.op}?"
        if self.is_block:
            # A block card: the header is all the instance's id (and the repeat count); its definition's name
            # gets the first body line, where a long CamelCase name still reads whole.
            op_text = f"×{self.repeat}" if self.repeat is not None else ""
        title_w = f.title_metrics.horizontalAdvance(self.node_id)
        op_w = f.op_metrics.horizontalAdvance(op_text)
        gap = 8.0
        if title_w + gap + op_w > inner:
            op_w = min(op_w, max(inner - gap - title_w, 46.0))
            title_w = inner - gap - op_w
        title = f.title_metrics.elidedText(self.node_id, Qt.TextElideMode.ElideRight, title_w + 0.5)
        op_shown = f.op_metrics.elidedText(op_text, Qt.TextElideMode.ElideRight, op_w + 0.5)
        texts.append(_Text(title, f.title, QPointF(PAD_X, (HEADER_H - f.title_metrics.height()) / 2), "text"))
        op_x = NODE_WIDTH - PAD_X - f.op_metrics.horizontalAdvance(op_shown)
        texts.append(_Text(op_shown, f.op, QPointF(op_x, (HEADER_H - f.op_metrics.height()) / 2 + 0.5), "dim"))

        # Body lines: key params, output shape (or the first error), parameter count.
        lines: list[tuple[str, str]] = []
        if self.is_block:
            lines.append((("▣ " + self.op) if self.spec else f"▣ {self.op}?", "text"))
        key = fit_chunks(key_param_chunks(self.spec, self._params), f.body_metrics, inner)
        if key:
            lines.append((key, "text"))
        multi_out = len(self.outputs) > 1
        errors = [d for d in self._diagnostics if d.is_error]
        if errors and (self._info is None or self._info.outputs is None):
            lines.append(("⚠ " + errors[0].message, "error"))
        elif not multi_out:
            shape = self._shape_line()
            if shape:
                lines.append((shape, "dim" if shape.startswith("returns") else "text"))
        if self._info is not None and self._info.param_count:
            lines.append((format_params(self._info.param_count) + (" · frozen" if self.frozen else ""),
                          "frozen" if self.frozen else "dim"))
        elif self.frozen:
            lines.append(("frozen", "frozen"))
        if not lines:
            lines.append(("", "dim"))
        y = BODY_TOP
        for text, role in lines:
            shown = f.body_metrics.elidedText(text, Qt.TextElideMode.ElideRight, inner)
            texts.append(_Text(shown, f.body, QPointF(PAD_X, y + (LINE_H - f.body_metrics.height()) / 2), role))
            y += LINE_H
        body_bottom = y

        # Port rows for a side with several ports; a lone port stays level with the first body line.
        rows = max(len(self.inputs) if len(self.inputs) > 1 else 0, len(self.outputs) if len(self.outputs) > 1 else 0)
        rows_top = body_bottom + 3
        label_inputs = len(self.inputs) > 1 and self.spec is not None and not self.spec.variadic
        variadic = self.spec is not None and self.spec.variadic
        if variadic and len(self.outputs) <= 1:
            rows = 0  # unlabelled merge inputs stack from the first line down, tight (Add, Concat)
        for ports, is_output in ((self.inputs, False), (self.outputs, True)):
            x = NODE_WIDTH if is_output else 0.0
            for port in ports:
                if len(ports) == 1:
                    port.setPos(x, PORT_Y0)
                elif variadic and not is_output:
                    port.setPos(x, PORT_Y0 + VARIADIC_PORT_GAP * port.index)
                else:
                    port.setPos(x, rows_top + ROW_H * (port.index + 0.5))
        if rows:
            half = inner / 2 - 2
            for port in self.inputs if label_inputs else ():
                name = f.small_metrics.elidedText(port.name, Qt.TextElideMode.ElideRight, half)
                y = port.pos().y() - f.small_metrics.height() / 2
                texts.append(_Text(name, f.small, QPointF(PAD_X, y), "dim"))
            if multi_out:
                for port in self.outputs:
                    # Shapes beside the output names when there is room (LSTM); names only when the inputs
                    # are labelled too (MultiheadAttention): the port tooltips carry the shapes then.
                    shape = "" if label_inputs else self.output_shape_text(port.index)
                    label = f"{shape}  {port.name}" if shape else port.name
                    width = inner if not label_inputs else half
                    label = f.small_metrics.elidedText(label, Qt.TextElideMode.ElideLeft, width)
                    x = NODE_WIDTH - PAD_X - f.small_metrics.horizontalAdvance(label)
                    y = port.pos().y() - f.small_metrics.height() / 2
                    texts.append(_Text(label, f.small, QPointF(x, y), "dim"))
        height = max(body_bottom, rows_top + rows * ROW_H if rows else 0.0) + BOTTOM_PAD
        if variadic:
            height = max(height, PORT_Y0 + VARIADIC_PORT_GAP * (len(self.inputs) - 1) + 12.0)
        if height != self.height:
            self.prepareGeometryChange()
            self.height = height
        self._texts = texts
        self._big_title = self._layout_big_title(height)
        self.update()

    def _layout_big_title(self, height: float) -> list[_Text]:
        """The id drawn large across the card when zoomed out, where the normal text would be unreadable; a
        long snake_case id is split onto two lines at the underscore nearest its middle to stay large."""
        width = NODE_WIDTH - 16

        def size_for(lines: list[str]) -> int:
            _, metrics = _big_font(BIG_TITLE_MAX)
            widest = max(metrics.horizontalAdvance(line) for line in lines)
            size = BIG_TITLE_MAX if widest <= width else int(BIG_TITLE_MAX * width / widest)
            while size > BIG_TITLE_MIN and _big_font(size)[1].height() * len(lines) > height - 6:
                size -= 1
            return max(size, BIG_TITLE_MIN)

        lines = [self.node_id]
        size = size_for(lines)
        cuts = [i for i, ch in enumerate(self.node_id) if ch == "_" and 0 < i < len(self.node_id) - 1]
        if size < BIG_TITLE_MAX and cuts:
            cut = min(cuts, key=lambda i: abs(i - len(self.node_id) / 2))
            split = [self.node_id[:cut + 1], self.node_id[cut + 1:]]
            if size_for(split) > size:
                lines, size = split, size_for(split)
        font, metrics = _big_font(size)
        top = (height - metrics.height() * len(lines)) / 2
        texts = []
        for i, line in enumerate(lines):
            text = metrics.elidedText(line, Qt.TextElideMode.ElideRight, width)
            x = (NODE_WIDTH - metrics.horizontalAdvance(text)) / 2
            texts.append(_Text(text, font, QPointF(x, top + i * metrics.height()), "text"))
        return texts

    def _shape_line(self) -> str:
        info = self._info
        if info is None:
            return ""
        if self.spec is not None and not self.spec.outputs:
            return f"returns {info.inputs[0]}" if info.inputs and info.inputs[0] is not None else ""
        return self.output_shape_text(0)

    def _update_tooltips(self) -> None:
        lines = [f"<b>{html.escape(self.node_id)}</b> &middot; {html.escape(self.op)}"]
        if self._diagnostics:
            for d in self._diagnostics:
                colour = "#e5484d" if d.is_error else "#d08a00"
                hint = f"<br><i>{html.escape(d.hint)}</i>" if d.hint else ""
                path = getattr(d, "path", "")  # a problem inside a block: where it is in the hierarchy
                where = f"<b>{html.escape(path)}</b>: " if path else ""
                lines.append(f"{where}<span style='color:{colour}'>{html.escape(d.message)}</span>{hint}")
        else:
            info = self._info
            if info is not None and info.inputs and info.outputs is not None:
                ins = ", ".join(str(t) for t in info.inputs if t is not None)
                outs = ", ".join(str(t) for t in info.outputs)
                lines.append(html.escape(f"{ins} → {outs}" if outs else f"takes {ins}"))
            elif info is not None and info.outputs:
                lines.append(html.escape(", ".join(str(t) for t in info.outputs)))
            if info is not None and info.param_count:
                lines.append(f"{info.param_count:,} parameters" + (" (frozen: not trained)" if self.frozen else ""))
            elif self.frozen:
                lines.append("frozen: not trained")
            if self.spec is not None and self.spec.doc:
                lines.append(f"<span style='color:gray'>{html.escape(self.spec.doc)}</span>")
        if self._live_tip:
            lines.append(self._live_tip)
        self.setToolTip("<br>".join(lines))
        info = self._info
        for port in self.inputs:
            t = info.inputs[port.index] if info is not None and port.index < len(info.inputs) else None
            port.setToolTip(f"{port.name}" + (f" · gets {t}" if t is not None else ""))
        for port in self.outputs:
            t = info.output(port.index) if info is not None else None
            port.setToolTip(f"{port.name}" + (f" · {t}" if t is not None else ""))

    @property
    def diagnostics(self) -> list[Diagnostic]:
        """The problems checking found on this node (what the tooltip lists)."""
        return list(self._diagnostics)

    # ---- QGraphicsItem -----------------------------------------------------------------------------------

    def boundingRect(self) -> QRectF:
        # Room for the selection outline and the error badge on the top-right corner (and the training pill).
        extra = 22.0 if self._live is not None else 0.0
        return QRectF(-6, -14, NODE_WIDTH + 20, self.height + 20 + extra)

    def shape(self) -> QPainterPath:
        return _card_path(self.height)

    def itemChange(self, change: QGraphicsItem.GraphicsItemChange, value: Any) -> Any:
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionChange:
            return QPointF(round(value.x()), round(value.y()))  # whole pixels: crisp lines, tidy files
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionHasChanged:
            for e in self.edges:
                e.adjust()
        elif change == QGraphicsItem.GraphicsItemChange.ItemSelectedHasChanged:
            self.setZValue(1.0 if value else 0.0)
        return super().itemChange(change, value)

    def hoverEnterEvent(self, event) -> None:
        self._hovered = True
        self.update()
        super().hoverEnterEvent(event)

    def hoverLeaveEvent(self, event) -> None:
        self._hovered = False
        self.update()
        super().hoverLeaveEvent(event)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        colors = self.scene().colors
        if self._header_colors_of is not colors:
            self._header_color = colors.header(self.accent)
            self._header_colors_of = colors
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        selected = self.isSelected()
        if self.severity == "error":
            border, width = colors.error, 2.0
        elif self.severity == "warning":
            border, width = colors.warning, 1.6
        else:
            border, width = (colors.edge_hover if self._hovered else colors.card_border), 1.0
        if lod < LOD_DETAIL:
            # A coloured block: what a fitted 1000-node graph is made of.
            painter.fillRect(QRectF(0, 0, NODE_WIDTH, self.height),
                             colors.selection if selected else (colors.error if self.severity == "error"
                                                                else self._header_color))
            return
        card = _card_path(self.height)
        detailed = lod >= LOD_TEXT
        if selected:
            painter.setPen(QPen(colors.selection, 5.0 if detailed else 10.0))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawPath(card)
        if not detailed:
            # Zoomed out: one filled card and the id written large.
            painter.setPen(QPen(border, width * 2))
            painter.setBrush(self._header_color)
            painter.drawPath(card)
            painter.setPen(colors.error if self.severity == "error" else colors.text)
            for t in self._big_title:
                painter.setFont(t.font)
                painter.drawStaticText(t.pos, t.static)
            self._paint_badge(painter, colors, 12.0, False)
            if self.frozen:
                self._paint_frozen(painter, colors, 13.0)
            if self._live_flagged:
                self._paint_live(painter, colors, False)
            return
        if self.is_block:
            self._paint_stack(painter, colors, card)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colors.card)
        painter.drawPath(card)
        painter.setBrush(self._header_color)
        painter.drawPath(_header())
        painter.setPen(QPen(border, width))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(card)
        roles = {"text": colors.text, "dim": colors.text_dim, "error": colors.error, "warning": colors.warning,
                 "frozen": colors.frozen}
        current = None
        for t in self._texts:
            if t.role != current:
                painter.setPen(roles[t.role])
                current = t.role
            painter.setFont(t.font)
            painter.drawStaticText(t.pos, t.static)
        self._paint_badge(painter, colors, 7.0, True)
        if self.frozen:
            self._paint_frozen(painter, colors, 8.0)
        if self._live is not None or self._live_flagged:
            self._paint_live(painter, colors, True)

    def _paint_stack(self, painter: QPainter, colors, card: QPainterPath) -> None:
        """Cards peeking out below a block's card: it holds layers (two for a repeated block: several copies)."""
        painter.setPen(QPen(colors.card_border, 1.0))
        painter.setBrush(colors.card)
        for step in ((2, 1) if self.repeat is not None and self.repeat > 1 else (1,)):
            painter.drawPath(card.translated(STACK_OFFSET * step, STACK_OFFSET * step))

    def _paint_frozen(self, painter: QPainter, colors, radius: float) -> None:
        """A snowflake on the top-left corner of a frozen card (drawn, so no font needs the glyph)."""
        center = QPointF(2, -1)
        painter.setPen(QPen(colors.card, 1.5))
        painter.setBrush(colors.frozen)
        painter.drawEllipse(center, radius, radius)
        painter.setPen(QPen(colors.card, max(1.2, radius / 6), Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
        arm = radius * 0.68
        for k in range(3):
            angle = math.pi / 2 + k * math.pi / 3
            dx, dy = arm * math.cos(angle), arm * math.sin(angle)
            painter.drawLine(QPointF(center.x() - dx, center.y() - dy), QPointF(center.x() + dx, center.y() + dy))

    def _paint_badge(self, painter: QPainter, colors, radius: float, mark: bool) -> None:
        """The round "!" on the top-right corner of a card with an error (red) or only warnings (orange)."""
        if self.severity is None:
            return
        center = QPointF(NODE_WIDTH - 2, -1)
        painter.setPen(QPen(colors.card, 1.5))
        painter.setBrush(colors.error if self.severity == "error" else colors.warning)
        painter.drawEllipse(center, radius, radius)
        if mark:
            painter.setPen(_BADGE_PEN)
            painter.drawLine(QPointF(center.x(), center.y() - 3.2), QPointF(center.x(), center.y() + 0.6))
            painter.drawPoint(QPointF(center.x(), center.y() + 3.3))
