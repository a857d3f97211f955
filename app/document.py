"""The open project: its graph, undo stack, checker, selection, file path and dirty state.

The canvas shows one graph at a time, `graph`: the project's, or (after `enter_block`) the graph of a block
definition reached through a chain of instances (`level_path`, shown by the breadcrumb bar). Every edit method
acts on `graph`, so a definition is edited in place with the same tools; its instances everywhere follow, since
they all use that one definition. `result` is always the check of the whole project (what code, training and
the problems panel use); `view_result` describes `graph` (for a definition: the shapes and problems of the
instance it was entered through).

Every user edit goes through one public method here, which checks the edit with the engine first (so a
refused edit never reaches the undo stack and the user gets the reason) and then pushes one QUndoCommand (a
macro for multi-item edits). Checking runs after each change, coalesced with a zero-delay timer so a macro of
20 commands is checked once.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoStack

from app.block_commands import (
    AddBuiltinBlockCommand,
    GroupCommand,
    MakeUniqueCommand,
    RenameBlockCommand,
    SetBlockParamsCommand,
    UngroupCommand,
)
from app.bridge import GraphBridge
from app.commands import (
    AddEdgeCommand,
    AddNodeCommand,
    MoveNodesCommand,
    RemoveEdgeCommand,
    RemoveNodeCommand,
    RenameNodeCommand,
    SetParamsCommand,
    SetTrainableCommand,
    SetTrainingCommand,
)
from graph_engine.blocks import edits, refs
from graph_engine.blocks.builtin import BUILTIN_PREFIX, builtin_blocks
from graph_engine.blocks.levels import level_result
from graph_engine.blocks.names import block_name_problem, suggest_block_name
from graph_engine.blocks.resolve import spec_for
from graph_engine.catalog import get_spec
from graph_engine.catalog.spec import REQUIRED
from graph_engine.connect import connection_problem
from graph_engine.errors import GraphEditError, ProjectError
from graph_engine.graph import Edge, Node
from graph_engine.identifiers import default_id, id_problem, suggest_id
from graph_engine.layout import apply_missing_positions, layered_layout
from graph_engine.params import AUTO, validate_value
from graph_engine.project import Project
from graph_engine.validation import Checker, CheckResult


class EditRefused(Exception):
    """An edit the engine refuses; `str()` is the reason shown to the user."""


def delete_text(node_ids: list[str], edges: list[Edge]) -> str:
    """The History entry of a deletion: names the layer or edge when there is one, else counts them."""
    parts = []
    if len(node_ids) == 1:
        parts.append(node_ids[0])
    elif node_ids:
        parts.append(f"{len(node_ids)} layers")
    if len(edges) == 1 and not node_ids:
        parts.append(f"edge {edges[0].src} → {edges[0].dst}")
    elif edges:
        parts.append(f"{len(edges)} edge{'s' if len(edges) > 1 else ''}")
    return "Delete " + " and ".join(parts) if parts else "Delete"


class Document(QObject):
    checked = Signal(object)  # CheckResult, after every change
    selection_changed = Signal(list)  # selected node ids
    dirty_changed = Signal(bool)
    path_changed = Signal(object)  # Path | None
    read_only_changed = Signal(bool)
    level_changed = Signal()  # `graph` is now another level of the hierarchy (enter_block / leave_block)

    def __init__(self, project: Project | None = None, path: Path | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.project = project or Project()
        apply_missing_positions(self.project.graph)
        self.graph = self.project.graph  # the graph the canvas shows and edits (see level_path)
        self._levels: list[str] = []  # instance ids from the project graph down to the shown definition
        self._network = "generator"  # a GAN project's canvas shows its generator (the project graph) or discriminator
        self.path = path
        self.bridge = GraphBridge(self.graph, self, project=self.project)
        self.undo_stack = QUndoStack(self)
        self.undo_stack.cleanChanged.connect(self._clean_changed)
        self.checker = Checker(self.project.graph)
        self.result: CheckResult = self.checker.check()
        self.view_result: CheckResult = self.result
        self._selection: list[str] = []
        self._read_only = False
        self._check_timer = QTimer(self)
        self._check_timer.setSingleShot(True)
        self._check_timer.setInterval(0)
        self._check_timer.timeout.connect(self.recheck)
        self.bridge.changed.connect(self._check_timer.start)
        self.bridge.definitions_changed.connect(self._check_timer.start)
        self.bridge.project_changed.connect(self._check_timer.start)  # an undo at the top while inside a block
        self.bridge.node_removed.connect(self._node_removed)
        self.bridge.node_renamed.connect(self._renamed)

    def _clean_changed(self, clean: bool) -> None:
        self.dirty_changed.emit(not clean)

    def _node_removed(self, node: Node, index: int) -> None:
        self._forget([node.id])

    # ---- state -------------------------------------------------------------------------------------------

    @property
    def dirty(self) -> bool:
        return not self.undo_stack.isClean()

    def mark_saved(self, path: Path) -> None:
        self.path = Path(path)
        self.undo_stack.setClean()
        self.path_changed.emit(self.path)

    @property
    def title(self) -> str:
        return self.path.name if self.path else f"{self.project.name}"

    @property
    def read_only(self) -> bool:
        return self._read_only

    def set_read_only(self, value: bool) -> None:
        """While a training run uses the graph, edits are refused (the run is bound to the graph as it was)."""
        if value != self._read_only:
            self._read_only = value
            self.read_only_changed.emit(value)

    def recheck(self) -> CheckResult:
        self._check_timer.stop()
        self.result = self.checker.check()
        if self._levels and self._valid_depth() < len(self._levels):
            self._go_to_depth(self._valid_depth())  # an undo took away the block being shown
        self.view_result = self._view_result()
        self.checked.emit(self.result)
        return self.result

    # ---- a GAN's two networks ------------------------------------------------------------------------------

    @property
    def network(self) -> str:
        """"generator" (the project graph, every project's) or "discriminator" (a GAN's second network)."""
        return self._network

    def show_network(self, network: str) -> None:
        """Show (and edit) the generator or the discriminator of a GAN project (graph_engine/gan.py)."""
        if network not in ("generator", "discriminator"):
            raise ValueError(network)
        if network == "discriminator" and self.project.discriminator is None:
            raise EditRefused("this project has no discriminator (a GAN template such as gan_digits has one)")
        if network == self._network:
            return
        self._network = network
        self._levels = []
        self._show_level()

    def _root_graph(self):
        return self.project.discriminator if self._network == "discriminator" else self.project.graph

    def _view_result(self) -> CheckResult:
        """What the shown graph's cards and problems show: a definition's level, or the discriminator checked
        on its own with how it fits the generator (its input shape, its one score)."""
        if self._network == "discriminator":
            from graph_engine.gan import discriminator_project, gan_diagnostics
            from graph_engine.validation import check

            result = check(discriminator_project(self.project))
            result.diagnostics.extend(gan_diagnostics(self.project, self.result))
            return result
        return level_result(self.project, self._levels, self.result) if self._levels else self.result

    # ---- levels of the block hierarchy ----------------------------------------------------------------------

    @property
    def level_path(self) -> list[tuple[str, str]]:
        """(instance id, definition name) from the project graph down to the shown definition; [] at the top."""
        out, graph = [], self._root_graph()
        for instance_id in self._levels:
            node = graph.node(instance_id)
            out.append((instance_id, node.block))
            graph = self.project.blocks.definition(node.block).graph
        return out

    @property
    def current_block(self) -> str | None:
        """The definition shown, or None for the project graph."""
        return self.level_path[-1][1] if self._levels else None

    def enter_block(self, instance_id: str) -> None:
        """Show (and edit) the definition of the block instance `instance_id` of the shown graph."""
        node = self.graph.nodes.get(instance_id)
        if node is None or node.op != "Block":
            raise EditRefused("select one block instance to enter")
        if self._network == "discriminator":
            raise EditRefused("a block used by the discriminator is edited from the generator's graph")
        if node.block not in self.project.blocks:
            raise EditRefused(f"there is no block {node.block!r} in this project")
        self._levels.append(instance_id)
        self._show_level()

    def leave_block(self, levels: int = 1) -> bool:
        """Go `levels` up the hierarchy (towards the project graph); returns whether the level changed."""
        if not self._levels:
            return False
        self._go_to_depth(max(0, len(self._levels) - levels))
        return True

    def show_levels(self, instance_ids: list[str]) -> None:
        """Show the definition reached through `instance_ids` from the project graph ([] for the project)."""
        if list(instance_ids) == self._levels:
            return
        graph = self._root_graph()
        for instance_id in instance_ids:
            node = graph.nodes.get(instance_id)
            if node is None or node.op != "Block" or node.block not in self.project.blocks:
                raise EditRefused(f"there is no block instance {instance_id!r} to show")
            graph = self.project.blocks.definition(node.block).graph
        self._levels = list(instance_ids)
        self._show_level()

    @staticmethod
    def place_of(diagnostic) -> tuple[list[str], str | None]:
        """(instance ids down to the graph holding the node at fault, that node's id) for a problem of the
        project's check: `layer2.0.conv1` -> (["layer2"], "conv1") (digits are copy indexes of repeats)."""
        path = getattr(diagnostic, "path", "")
        if not path:
            return [], diagnostic.node_id
        parts = [p for p in path.split(".") if not p.isdigit()]
        return parts[:-1], parts[-1]

    def go_to_level(self, depth: int) -> None:
        """Show level `depth` of level_path (0: the project graph)."""
        if 0 <= depth < len(self._levels):
            self._go_to_depth(depth)

    def _go_to_depth(self, depth: int) -> None:
        left = self._levels[depth] if depth < len(self._levels) else None
        del self._levels[depth:]
        self._show_level(select=left)

    def _valid_depth(self) -> int:
        """How many levels of `_levels` still lead to a definition (undo can remove instances or blocks)."""
        graph = self._root_graph()
        for depth, instance_id in enumerate(self._levels):
            node = graph.nodes.get(instance_id)
            defn = self.project.blocks.get(node.block) if node is not None and node.op == "Block" else None
            if defn is None:
                return depth
            graph = defn.graph
        return len(self._levels)

    def _level_graph(self):
        graph = self._root_graph()
        for instance_id in self._levels:
            graph = self.project.blocks.definition(graph.node(instance_id).block).graph
        return graph

    def _show_level(self, select: str | None = None) -> None:
        self._check_timer.stop()
        if self._selection:
            self._selection = []
            self.selection_changed.emit([])
        graph = self._level_graph()
        apply_missing_positions(graph)  # a definition written by hand or by the importer may have no positions
        self.graph = graph
        self.bridge.retarget(graph)
        self.result = self.checker.check()
        self.view_result = self._view_result()
        self.level_changed.emit()
        self.checked.emit(self.result)
        if select is not None and select in graph:
            self.set_selection([select])

    # ---- selection ---------------------------------------------------------------------------------------

    @property
    def selection(self) -> list[str]:
        return list(self._selection)

    def set_selection(self, node_ids: Iterable[str]) -> None:
        ids = [i for i in dict.fromkeys(node_ids) if i in self.graph]
        if ids != self._selection:
            self._selection = ids
            self.selection_changed.emit(list(ids))

    def _forget(self, node_ids: list[str]) -> None:
        if any(i in self._selection for i in node_ids):
            self.set_selection([i for i in self._selection if i not in node_ids])

    def _renamed(self, old: str, new: str) -> None:
        if old in self._selection:
            self._selection = [new if i == old else i for i in self._selection]
            self.selection_changed.emit(list(self._selection))

    # ---- edits -------------------------------------------------------------------------------------------

    def _writable(self) -> None:
        if self._read_only:
            raise EditRefused("the network cannot be edited while it is training; stop the run first")

    def add_node(self, op: str, pos: tuple[float, float] | None = None, params: dict[str, Any] | None = None,
                 connect_from: tuple[str, int] | None = None) -> str:
        """Add a layer (and, when `connect_from` is given, an edge from that output into it)."""
        self._writable()
        if get_spec(op) is None:
            raise EditRefused(f"unknown layer {op!r}")
        node = Node(default_id(op, self.graph.nodes), op, dict(params or {}), pos)
        edge = Edge(connect_from[0], node.id, connect_from[1], 0) if connect_from else None
        self.undo_stack.beginMacro(f"Add {op} {node.id}")
        try:
            self.undo_stack.push(AddNodeCommand(self.graph, node))
            if edge is not None and get_spec(op).inputs and self.connection_problem(edge) is None:
                self.undo_stack.push(AddEdgeCommand(self.graph, edge))
        finally:
            self.undo_stack.endMacro()
        self.set_selection([node.id])
        return node.id

    def remove_nodes(self, node_ids: Iterable[str]) -> None:
        self._writable()
        ids = [i for i in node_ids if i in self.graph]
        if not ids:
            return
        self.undo_stack.beginMacro(f"Delete {ids[0]}" if len(ids) == 1 else f"Delete {len(ids)} layers")
        try:
            for node_id in ids:  # built one at a time: each sees the edges the previous ones left
                for edge in [e for e in self.graph.edges if node_id in (e.src, e.dst)]:
                    self.undo_stack.push(RemoveEdgeCommand(self.graph, edge))
                self.undo_stack.push(RemoveNodeCommand(self.graph, node_id))
        finally:
            self.undo_stack.endMacro()

    def connection_problem(self, edge: Edge) -> str | None:
        self.fresh_result()
        return connection_problem(self.graph, self.view_result, edge)

    def fresh_result(self) -> CheckResult:
        """The check result for the project as it is now (re-checks if a change is still pending)."""
        if self._check_timer.isActive():
            self.recheck()
        return self.result

    def connect(self, edge: Edge) -> None:
        """Connect two ports; an input port that is already fed gets the new edge instead (one undo step)."""
        self._writable()
        problem = self.connection_problem(edge)
        if problem:
            raise EditRefused(problem)
        if edge in self.graph.edges:
            return
        old = self.graph.edge_into(edge.dst, edge.dst_port)
        self.undo_stack.beginMacro(f"Connect {edge.src} to {edge.dst}")
        try:
            if old is not None:
                self.undo_stack.push(RemoveEdgeCommand(self.graph, old))
            self.undo_stack.push(AddEdgeCommand(self.graph, edge))
        finally:
            self.undo_stack.endMacro()

    def disconnect(self, edges: Iterable[Edge]) -> None:
        self._writable()
        edges = [e for e in edges if e in self.graph.edges]
        if not edges:
            return
        self.undo_stack.beginMacro(f"Disconnect {edges[0].src} → {edges[0].dst}" if len(edges) == 1
                                   else f"Disconnect {len(edges)} edges")
        try:
            for edge in edges:
                self.undo_stack.push(RemoveEdgeCommand(self.graph, edge))
        finally:
            self.undo_stack.endMacro()

    def delete(self, node_ids: Iterable[str], edges: Iterable[Edge] = ()) -> None:
        """Delete a selection of layers and edges as one undo step."""
        self._writable()
        node_ids, edges = list(node_ids), [e for e in edges if e in self.graph.edges]
        self.undo_stack.beginMacro(delete_text([i for i in node_ids if i in self.graph],
                                               [e for e in edges if e.src not in node_ids and e.dst not in node_ids]))
        try:
            self.disconnect(e for e in edges if e.src not in node_ids and e.dst not in node_ids)
            self.remove_nodes(node_ids)
        finally:
            self.undo_stack.endMacro()

    def set_param(self, node_id: str, name: str, value: Any) -> None:
        """Set one param; a bad value is refused with the reason and nothing changes. None or "auto" clears
        an inferred or optional param back to its default."""
        self._writable()
        spec = spec_for(self.graph, self.graph.node(node_id))
        if spec is None:
            raise EditRefused("fix the unknown layer type first")
        param = spec.param(name)
        params = dict(self.graph.node(node_id).params)
        if refs.is_ref(value):
            created = self._new_block_param(node_id, param, value)
            if created is not None:
                return self._bind_new_block_param(node_id, name, value, created)
            params[name] = self._checked_ref(name, value)
        elif value is None and not param.nullable or value == AUTO:
            if value == AUTO and not param.is_inferred:
                raise EditRefused(f"{name} cannot be auto")
            params.pop(name, None)
        else:
            problem = validate_value(param, value)
            if problem:
                raise EditRefused(problem)
            params[name] = list(value) if isinstance(value, tuple) else value
        if params == self.graph.node(node_id).params:
            return
        self.undo_stack.push(SetParamsCommand(self.graph, node_id, params, f"Set {node_id}.{name}"))

    def _new_block_param(self, node_id: str, param, value: Any):
        """A BlockParam to create when `$name` (a lone reference) names no param of the shown block yet: its
        kind is the layer param's, its default the value the layer has now (so every instance keeps its
        shapes). None when the reference needs no new param."""
        block = self.current_block
        if block is None or not isinstance(value, str) or not value.strip().startswith("$"):
            return None
        text = value.strip()
        try:
            used = refs.names(text)
        except refs.RefError:
            return None  # _checked_ref says why
        defn = self.project.blocks.definition(block)
        if len(used) != 1 or text != f"${used[0]}" or used[0] in defn.params:
            return None
        current = self.graph.node(node_id).params.get(param.name)
        if current is None or refs.is_ref(current):
            info = self.view_result.nodes.get(node_id)
            current = info.params.get(param.name) if info is not None else None
        if current is None and param.default is not REQUIRED:
            current = param.default
        if current is None or validate_value(param, current) is not None:
            raise EditRefused(f"give {param.name} a value first: it becomes the default of the new block param "
                              f"{used[0]}")
        from graph_engine.blocks.model import BlockParam, param_problem

        created = BlockParam(used[0], param.kind.value, current, f"{param.name} of {node_id}", param.min, param.max,
                             tuple(param.choices))
        problem = param_problem(created, self.project.blocks.names)
        if problem:
            raise EditRefused(f"${used[0]} cannot name a block param: {problem}")
        return created

    def _bind_new_block_param(self, node_id: str, name: str, value: str, created) -> None:
        """One undo step: add the block param `created` to the shown block, and point the layer param at it."""
        block = self.current_block
        params = dict(self.project.blocks.definition(block).params)
        params[created.name] = created
        node_params = {**self.graph.node(node_id).params, name: value.strip()}
        self.undo_stack.beginMacro(f"Set {node_id}.{name} to a new block param {created.name}")
        try:
            self.undo_stack.push(SetBlockParamsCommand(self.project, block, params))
            self.undo_stack.push(SetParamsCommand(self.graph, node_id, node_params, f"Set {node_id}.{name}"))
        finally:
            self.undo_stack.endMacro()

    def _checked_ref(self, name: str, value: Any) -> Any:
        """A `$` reference typed for a param inside a block: it must parse and name the block's params."""
        block = self.current_block
        if block is None:
            raise EditRefused(f"{name} can refer to block params ($name) only inside a block")
        known = list(self.project.blocks.definition(block).params)
        for text in value if isinstance(value, list | tuple) else [value]:
            if not refs.is_ref(text):
                continue
            try:
                used = refs.names(text)
            except refs.RefError as exc:
                raise EditRefused(str(exc)) from None
            unknown = [n for n in used if n not in known]
            if unknown:
                have = ", ".join(f"${k}" for k in known) or "none yet"
                raise EditRefused(f"{block} has no param {unknown[0]!r} (its params: {have})")
        return list(value) if isinstance(value, tuple) else value

    def set_trainable(self, node_ids: Iterable[str], trainable: bool) -> None:
        """Freeze (False) or unfreeze layers: one undo step. Their weights are not trained while frozen
        (graph_engine/training/freezing.py); a frozen block instance freezes everything inside it."""
        self._writable()
        ids = [n for n in node_ids if n in self.graph and self.graph.node(n).trainable != bool(trainable)]
        if ids:
            self.undo_stack.push(SetTrainableCommand(self.graph, ids, bool(trainable)))

    def start_from_weights(self, weights: str | None, fresh: Iterable[str] = ()) -> None:
        """Train from these weights (training.init; None: the network's own initialisation), one undo step;
        `fresh` are the layers that start from their own initialisation (a replaced head)."""
        value = None if weights is None else {"weights": str(weights), **({"fresh": list(fresh)} if fresh else {})}
        self.set_training_settings({"init": value}, "Train from these weights" if weights else "Clear starting weights")

    def set_training_setting(self, key: str, value: Any, text: str | None = None) -> None:
        """Set one training setting (a key of graph_engine.training.settings_spec, or "dataset.<param>" /
        "augment.<param>"); the engine checks it (EditRefused with its reason) and one undo step replaces the
        section. Several keys at once: `set_training_settings`."""
        self.set_training_settings({key: value}, text)

    def set_training_settings(self, changes: dict[str, Any], text: str | None = None) -> None:
        from graph_engine.training.settings import change_settings, error_text
        from graph_engine.training.settings_spec import BY_KEY

        if self._read_only:
            raise EditRefused("the training settings cannot change while a run is going; stop it first")
        try:
            new = change_settings(self.project.training, changes)
        except ProjectError as exc:
            raise EditRefused(error_text(exc)) from None
        if new == (self.project.training or {}):
            return
        if text is None:
            key = next(iter(changes))
            label = BY_KEY[key].label if key in BY_KEY else key.rpartition(".")[2].replace("_", " ")
            text = f"Set training {label}"
        self.undo_stack.push(SetTrainingCommand(self.project, new, text))

    def rename(self, node_id: str, new_id: str) -> None:
        self._writable()
        if new_id == node_id:
            return
        problem = id_problem(new_id)
        if problem:
            raise EditRefused(f"{problem}; try {suggest_id(new_id, self.graph.nodes)!r}")
        if new_id in self.graph:
            raise EditRefused(f"there is already a layer called {new_id!r}")
        self.undo_stack.push(RenameNodeCommand(self.graph, node_id, new_id))

    def move_nodes(self, moves: dict[str, tuple[Any, Any]]) -> None:
        """Record a finished drag: {id: (old pos, new pos)}. Moves are allowed while training."""
        moves = {k: v for k, v in moves.items() if k in self.graph and v[0] != v[1]}
        if moves:
            self.undo_stack.push(MoveNodesCommand(self.graph, moves))

    def tidy_up(self) -> None:
        """Lay the whole graph out left to right (one undo step)."""
        positions = layered_layout(self.graph)
        self.move_nodes({n.id: (n.pos, positions[n.id]) for n in self.graph})

    def paste(self, nodes: list[Node], edges: list[Edge], offset: tuple[float, float] = (40.0, 40.0)) -> list[str]:
        """Insert copies of `nodes` (ids made unique) and the edges among them; returns the new ids."""
        self._writable()
        taken = set(self.graph.nodes)
        rename: dict[str, str] = {}
        for node in nodes:
            new_id = node.id if node.id not in taken and id_problem(node.id) is None else suggest_id(node.id, taken)
            taken.add(new_id)
            rename[node.id] = new_id
        self.undo_stack.beginMacro(f"Paste {len(nodes)} layer{'s' if len(nodes) != 1 else ''}")
        try:
            for node in nodes:
                copy = node.copy()
                copy.id = rename[node.id]
                if copy.pos is not None:
                    copy.pos = (copy.pos[0] + offset[0], copy.pos[1] + offset[1])
                self.undo_stack.push(AddNodeCommand(self.graph, copy))
            for e in edges:
                if e.src in rename and e.dst in rename:
                    self.undo_stack.push(AddEdgeCommand(
                        self.graph, Edge(rename[e.src], rename[e.dst], e.src_port, e.dst_port)))
        except GraphEditError as exc:
            self.undo_stack.endMacro()
            self.undo_stack.undo()
            raise EditRefused(str(exc)) from None
        self.undo_stack.endMacro()
        self.set_selection(rename.values())
        return list(rename.values())

    # ---- blocks ------------------------------------------------------------------------------------------

    def add_block_instance(self, block: str, pos: tuple[float, float] | None = None) -> str:
        """Add an instance of the project's block definition `block` (palette drop or double-click); a
        BUILTIN_PREFIX name is a built-in block, copied into the project first when it is not there yet."""
        self._writable()
        if block.startswith(BUILTIN_PREFIX):
            return self._add_builtin_block(block[len(BUILTIN_PREFIX):], pos)
        if block not in self.project.blocks:
            raise EditRefused(f"there is no block {block!r} in this project")
        try:
            edits.require_usable(self.project, self.graph, block)  # inside a block: no recursion
        except GraphEditError as exc:
            raise EditRefused(str(exc)) from None
        node = Node(default_id(block, self.graph.nodes), "Block", {}, pos, {}, block, None)
        self.undo_stack.push(AddNodeCommand(self.graph, node))
        self.set_selection([node.id])
        return node.id

    def _add_builtin_block(self, name: str, pos) -> str:
        if builtin_blocks().get(name) is None:
            raise EditRefused(f"there is no built-in block {name!r}")
        command = AddBuiltinBlockCommand(self.project, self.graph, name, pos)
        self._first_redo(command)
        self.undo_stack.push(command)
        self.set_selection([command.instance_id])
        return command.instance_id

    def _first_redo(self, command) -> None:
        try:
            command.first_redo()  # here, not inside push: a refusal must raise to the caller, not into Qt
        except GraphEditError as exc:
            raise EditRefused(str(exc)) from None

    def make_unique(self, instance_id: str) -> str:
        """Give one block instance its own copy of its definition (one undo step); returns the copy's name."""
        self._writable()
        if instance_id not in self.graph or self.graph.node(instance_id).op != "Block":
            raise EditRefused("select one block instance to make unique")
        command = MakeUniqueCommand(self.project, self.graph, instance_id)
        self._first_redo(command)
        self.undo_stack.push(command)
        return command.new_name

    def group(self, node_ids: Iterable[str], name: str | None = None) -> str:
        """Group layers into a new block with one instance in their place (one undo step); returns its id."""
        self._writable()
        command = GroupCommand(self.project, self.graph, [i for i in node_ids if i in self.graph], name)
        try:
            command.first_redo()  # here, not inside push: a refusal must raise to the caller, not into Qt
        except GraphEditError as exc:
            raise EditRefused(str(exc)) from None
        self.undo_stack.push(command)
        self.set_selection([command.instance_id])
        return command.instance_id

    def ungroup(self, instance_id: str) -> list[str]:
        """Replace a block instance by its layers (one undo step); returns the inserted ids."""
        self._writable()
        if instance_id not in self.graph or self.graph.node(instance_id).op != "Block":
            raise EditRefused("select one block instance to ungroup")
        command = UngroupCommand(self.project, self.graph, instance_id)
        try:
            command.first_redo()
        except GraphEditError as exc:
            raise EditRefused(str(exc)) from None
        self.undo_stack.push(command)
        self.set_selection(command.inserted)
        return command.inserted

    def rename_block(self, old: str, new: str) -> None:
        """Rename a block definition; every instance follows (one undo step)."""
        self._writable()
        library = self.project.blocks
        new = new.strip()
        if new == old:
            return
        if old not in library:
            raise EditRefused(f"there is no block {old!r} in this project")
        problem = block_name_problem(new)
        if problem:
            raise EditRefused(f"{problem}; try {suggest_block_name(new, library.names)!r}")
        if new in library:
            raise EditRefused(f"there is already a block called {new!r}")
        self.undo_stack.push(RenameBlockCommand(self.project, old, new))

    def close(self) -> None:
        """Detach from the graph; call before dropping the document."""
        self._check_timer.stop()
        self.undo_stack.cleanChanged.disconnect(self._clean_changed)
        self.checker.close()
        self.bridge.detach()
