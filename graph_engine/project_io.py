"""Reading and writing project files (format_version 2; the format is written down in docs/FILE_FORMAT.md).

Loading is strict about the file's structure (it must be our JSON, with nodes and edges of the right types)
and lenient about meaning: unknown ops, bad params, bad ids and dangling edges load, so the app can show them
and `check` reports each on its node. A file written by a newer LayerLoom is refused without being touched.
Older versions pass through `MIGRATIONS`, pure functions from one version's dict to the next.

Saving is atomic: the JSON goes to a temporary file in the same folder, is flushed to disk, and replaces the
old file in one rename, so a full disk or a crash never leaves a half-written project.
"""

from __future__ import annotations

import json
import os
import stat
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from graph_engine.errors import GraphEditError, NewerFormatError, NotAProjectError, ProjectError
from graph_engine.graph import Edge, Graph, Node
from graph_engine.project import DEFAULT_NAME, Project

FORMAT = "layerloom"
FORMAT_VERSION = 2
MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_NODES = 20_000
MAX_EDGES = 100_000
MAX_DEPTH = 64  # nesting of JSON objects/lists; real projects use under 10
NODE_KEYS = ("id", "op", "block", "params", "repeat", "pos", "trainable")
EDGE_KEYS = ("src", "dst", "src_port", "dst_port")

# MIGRATIONS[n] turns a version-n dict into a version-(n+1) dict. Each is a pure function named
# migrate_vN_to_vN1; add one (and bump FORMAT_VERSION) whenever the format changes.
def migrate_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    """Version 2 adds block definitions (`blocks`) and Block instances; a version 1 file is a version 2 file
    without blocks, so only the version number changes. Pure: `data` is not modified."""
    return {**data, "format_version": 2}


MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: migrate_v1_to_v2}


# ---- reading --------------------------------------------------------------------------------------------


def load_project(source: str | os.PathLike | dict) -> Project:
    """Load a project from a path or from an already-parsed dict. Raises ProjectError subclasses only."""
    if not isinstance(source, str | os.PathLike):
        return parse_project(source)  # an already-parsed document (anything but a dict is refused there)
    return parse_project(read_json(Path(source)))


def read_json(path: Path) -> Any:
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError
        if not stat.S_ISREG(info.st_mode):  # a device or a pipe could never end, or hold anything
            raise NotAProjectError(f"{path} is not a regular file")
        if info.st_size > MAX_FILE_BYTES:
            raise NotAProjectError(f"{path.name} is {info.st_size // 2**20} MiB, too large to be a LayerLoom project")
        with path.open("rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)  # bounded even if the file grows while we read
        if len(raw) > MAX_FILE_BYTES:
            raise NotAProjectError(f"{path.name} is too large to be a LayerLoom project")
        text = raw.decode("utf-8-sig")
    except FileNotFoundError:
        raise NotAProjectError(f"{path} does not exist") from None
    except IsADirectoryError:
        raise NotAProjectError(f"{path} is a folder, not a project file") from None
    except UnicodeDecodeError:
        raise NotAProjectError(f"{path.name} is not a text file", hint="a project is a UTF-8 JSON file") from None
    except OSError as exc:
        raise NotAProjectError(f"cannot read {path}: {exc.strerror or exc}") from None
    except ValueError:  # a path with a NUL byte
        raise NotAProjectError(f"{str(path)[:80]!r} is not a valid file path") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotAProjectError(f"{path.name} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})",
                               hint="a LayerLoom project is a .layerloom.json file") from None
    except ValueError as exc:  # e.g. an integer literal beyond Python's 4300-digit conversion limit
        raise NotAProjectError(f"{path.name} cannot be read: {str(exc)[:120]}") from None
    except RecursionError:
        raise NotAProjectError(f"{path.name} is nested too deeply to be a LayerLoom project") from None


def parse_project(data: Any) -> Project:
    """Turn a parsed JSON document into a Project (see the module docstring for what is checked)."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise NotAProjectError("this is not a LayerLoom project", field="format",
                               hint='a project file starts with "format": "layerloom"')
    if _too_deep(data, MAX_DEPTH):
        raise NotAProjectError(f"the file is nested more than {MAX_DEPTH} levels deep; it is not a LayerLoom project")
    data = migrate(data)
    name = data.get("name", DEFAULT_NAME)
    if not isinstance(name, str):
        raise ProjectError("the project name must be text", field="name")
    graph_data = data.get("graph", {})
    if not isinstance(graph_data, dict):
        raise ProjectError("graph must be an object with nodes and edges", field="graph")
    training = data.get("training")
    if training is not None and not isinstance(training, dict):
        raise ProjectError("training must be an object", field="training")
    from graph_engine.blocks.io import parse_blocks

    blocks = parse_blocks(data.get("blocks"))
    discriminator = data.get("discriminator")
    if discriminator is not None:
        if not isinstance(discriminator, dict):
            raise ProjectError("discriminator must be an object with nodes and edges (a GAN's second network)",
                               field="discriminator")
        discriminator = parse_graph(discriminator, "discriminator")
    extra = {k: v for k, v in data.items()
             if k not in ("format", "format_version", "name", "blocks", "graph", "training", "discriminator")}
    return Project(name=name, graph=parse_graph(graph_data), training=training, extra=extra, blocks=blocks,
                   discriminator=discriminator)


def _too_deep(value: Any, limit: int) -> bool:
    """Whether `value` nests lists/dicts more than `limit` levels (checked without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def migrate(data: dict[str, Any]) -> dict[str, Any]:
    version = data.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise NotAProjectError("format_version must be a whole number", field="format_version")
    if version > FORMAT_VERSION:
        raise NewerFormatError(
            f"this project was saved by a newer LayerLoom (format_version {version}; this one reads up to "
            f"{FORMAT_VERSION})", field="format_version", hint="update LayerLoom to open it; the file was not changed")
    if version < 1:
        raise NotAProjectError(f"unknown format_version {version}", field="format_version")
    while version < FORMAT_VERSION:
        data = MIGRATIONS[version](dict(data))
        version += 1
        data["format_version"] = version
    return data


def parse_graph(data: dict[str, Any], where: str = "graph") -> Graph:
    """A graph object ({"nodes": [...], "edges": [...]}); `where` is its key in the file (graph, discriminator)."""
    nodes = data.get("nodes", [])
    edges = data.get("edges", [])
    if not isinstance(nodes, list):
        raise ProjectError(f"{where}.nodes must be a list", field=f"{where}.nodes")
    if not isinstance(edges, list):
        raise ProjectError(f"{where}.edges must be a list", field=f"{where}.edges")
    if len(nodes) > MAX_NODES or len(edges) > MAX_EDGES:
        raise ProjectError(f"the {where} is too large ({len(nodes)} nodes, {len(edges)} edges; at most "
                           f"{MAX_NODES} and {MAX_EDGES})", field=where)
    graph = Graph()
    for i, item in enumerate(nodes):
        node = _parse_node(item, i)
        try:
            graph.add_node(node, check_id=False)
        except GraphEditError as exc:
            raise ProjectError(exc.message, node_id=node.id, field="id", hint="every node needs its own id") from None
    for i, item in enumerate(edges):
        graph.add_edge_unchecked(_parse_edge(item, i))
    return graph


def _parse_node(item: Any, index: int) -> Node:
    where = f"graph.nodes[{index}]"
    if not isinstance(item, dict):
        raise ProjectError(f"{where} must be an object", field=where)
    node_id = item.get("id")
    if not isinstance(node_id, str):
        raise ProjectError(f"{where} needs an id that is text", field=f"{where}.id")
    op = item.get("op")
    if not isinstance(op, str):
        raise ProjectError("the node needs an op that is text (a layer name such as \"Linear\")",
                           node_id=node_id, field="op")
    params = item.get("params", {})
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise ProjectError("params must be an object of name: value pairs", node_id=node_id, field="params")
    pos = item.get("pos")
    if pos is not None:
        if (not isinstance(pos, list) or len(pos) != 2
                or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in pos)
                or not all(abs(v) < 1e9 for v in pos)):
            raise ProjectError("pos must be a list of two numbers", node_id=node_id, field="pos")
        pos = (float(pos[0]), float(pos[1]))
    block = item.get("block")
    if block is not None and not isinstance(block, str):
        raise ProjectError("block must be the name of a block definition (text)", node_id=node_id, field="block")
    trainable = item.get("trainable", True)
    if not isinstance(trainable, bool):
        raise ProjectError("trainable must be true or false (false: the layer is frozen)", node_id=node_id,
                           field="trainable")
    extra = {k: v for k, v in item.items() if k not in NODE_KEYS}
    return Node(node_id, op, params, pos, extra, block, item.get("repeat"), trainable)


def _parse_edge(item: Any, index: int) -> Edge:
    where = f"graph.edges[{index}]"
    if not isinstance(item, dict):
        raise ProjectError(f"{where} must be an object with src and dst", field=where)
    src, dst = item.get("src"), item.get("dst")
    if not isinstance(src, str) or not isinstance(dst, str):
        raise ProjectError(f"{where} needs src and dst node ids (text)", field=where)
    ports = []
    for key in ("src_port", "dst_port"):
        port = item.get(key, 0)
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port < 1024:
            raise ProjectError(f"{key} must be a whole number from 0 to 1023, not {port!r:.40}", node_id=dst,
                               field=f"{where}.{key}")
        ports.append(port)
    return Edge(src, dst, ports[0], ports[1])


# ---- writing --------------------------------------------------------------------------------------------


def project_to_dict(project: Project) -> dict[str, Any]:
    # A project without blocks is written as version 1, which it is: older LayerLoom versions keep opening it
    # and a version 1 file round-trips unchanged.
    graphs = [project.graph] + ([project.discriminator] if project.discriminator is not None else [])
    uses_blocks = len(project.blocks) > 0 or any(node.op == "Block" for graph in graphs for node in graph)
    data: dict[str, Any] = {"format": FORMAT, "format_version": FORMAT_VERSION if uses_blocks else 1,
                            "name": project.name}
    if uses_blocks:
        from graph_engine.blocks.io import blocks_to_dict

        data["blocks"] = blocks_to_dict(project.blocks)
    data["graph"] = graph_to_dict(project.graph)
    if project.discriminator is not None:
        data["discriminator"] = graph_to_dict(project.discriminator)
    if project.training is not None:
        data["training"] = project.training
    for key, value in project.extra.items():
        data.setdefault(key, value)
    return data


def graph_to_dict(graph: Graph) -> dict[str, Any]:
    return {"nodes": [node_to_dict(n) for n in graph], "edges": [edge_to_dict(e) for e in graph.edges]}


def node_to_dict(node: Node) -> dict[str, Any]:
    item: dict[str, Any] = {"id": node.id, "op": node.op}
    if node.block is not None:
        item["block"] = node.block
    if node.params:
        item["params"] = node.params
    if node.repeat is not None:
        item["repeat"] = node.repeat
    if not node.trainable:  # written only when frozen, so other files round-trip unchanged
        item["trainable"] = False
    if node.pos is not None:
        item["pos"] = [round(node.pos[0], 2), round(node.pos[1], 2)]
    for key, value in node.extra.items():
        item.setdefault(key, value)
    return item


def edge_to_dict(edge: Edge) -> dict[str, Any]:
    item: dict[str, Any] = {"src": edge.src, "dst": edge.dst}
    if edge.src_port or edge.dst_port:
        item["src_port"] = edge.src_port
        item["dst_port"] = edge.dst_port
    return item


def project_to_json(project: Project) -> str:
    data = project_to_dict(project)
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates (from "\ud800" escapes in a file) only survive as escapes
        text = json.dumps(data, indent=2, ensure_ascii=True) + "\n"
    return text


def save_project(project: Project, path: str | os.PathLike) -> None:
    """Write the project atomically; on any failure the previous file is left as it was."""
    atomic_write_text(Path(path), project_to_json(project))


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write `data` to `path` atomically (temp file in the same folder, fsync, rename); on any failure the
    previous file is left as it was and the temp file is removed."""

    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            fh.write(data)

    atomic_write_with(path, write)


def plain_file_mode(path: Path) -> int:
    """The permissions a plain save gives `path`: the existing file's, else what the umask allows."""
    return path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_current_umask()


def atomic_write_with(path: str | os.PathLike, write: Callable[[str], None]) -> None:
    """Atomically replace `path` by what `write(temp_path)` puts in a temp file beside it (for writers that
    want a file name, such as torch.save or safetensors): the temp file gets the permissions a plain save
    would give (not mkstemp's owner-only 0600), is flushed to disk and renamed over `path`; a symlinked `path`
    is written through. OSError becomes ProjectError; the temp file never outlives a failure."""
    path = _real_target(Path(path))
    folder = path.parent if str(path.parent) else Path(".")
    remove_stale_temp_files(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(path), suffix=TEMP_SUFFIX, dir=folder)
        os.close(fd)
    except OSError as exc:
        raise ProjectError(f"cannot save {path}: {exc.strerror or exc}", hint="choose a folder you can write to") from None
    try:
        write(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, plain_file_mode(path))  # last: a read-only mode must not stop the writes above
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise ProjectError(f"cannot save {path}: {exc.strerror or exc}",
                               hint="the previous version of the file was left unchanged") from None
        raise


# A save writes `.NAME.layerloom-PID-RANDOM.tmp` beside NAME and renames it over NAME. A save killed before
# the rename leaves that file behind; the next save of NAME removes such files when the process that made
# them is gone (or, where that cannot be asked, when they are over a day old), so they never pile up.
TEMP_SUFFIX = ".tmp"
STALE_TEMP_AGE_S = 24 * 3600


def _temp_prefix(path: Path) -> str:
    return f".{path.name}.layerloom-{os.getpid()}-"


def remove_stale_temp_files(path: Path) -> list[Path]:
    """Delete temp files that earlier, interrupted saves of `path` left beside it; returns what was removed.
    Never raises: a file that cannot be removed is left for the next save."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    prefix = f".{path.name}.layerloom-"
    removed: list[Path] = []
    try:
        candidates = [folder / name for name in os.listdir(folder)
                      if name.startswith(prefix) and name.endswith(TEMP_SUFFIX)]
    except OSError:
        return removed
    for candidate in candidates:
        pid_text = candidate.name[len(prefix):].split("-", 1)[0]
        try:
            info = candidate.lstat()
            if not stat.S_ISREG(info.st_mode):
                continue
            if not (pid_text.isdigit() and int(pid_text) != os.getpid() and _process_gone(int(pid_text))) \
                    and time.time() - info.st_mtime < STALE_TEMP_AGE_S:
                continue
            candidate.unlink()
            removed.append(candidate)
        except OSError:
            continue
    return removed


def _process_gone(pid: int) -> bool:
    if sys.platform == "win32":  # os.kill(pid, 0) would terminate it there; only the age counts
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError, OSError):
        return False
    return False


def _real_target(path: Path) -> Path:
    """Where a save must go: a symlinked project is saved into the file the link points to (the link stays),
    as the app's own save does; replacing the link by a regular file would leave the real file stale."""
    if not path.is_symlink():
        return path
    return Path(os.path.realpath(path))


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
