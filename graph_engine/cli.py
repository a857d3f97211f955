"""The `layerloom` command (DESIGN.md section 7).

    layerloom check PROJECT                  validate; exit 0 valid, 1 invalid, 2 unreadable / not ours / newer
    layerloom summary PROJECT                per-layer table: output shape, params, FLOPs, totals, memory
    layerloom export PROJECT --code model.py standalone PyTorch code (written atomically)
    layerloom templates                      built-in templates, one a line
    layerloom new --template NAME OUT        a new project from a template

Exit codes: 0 success; 1 the project (or the request) is not acceptable as it stands (errors in the network,
an existing file, a file that cannot be written); 2 the input cannot be used at all (not readable, not a
LayerLoom project, a newer format_version, an unknown template, a command-line mistake, a feature this
version does not have yet). A user error never prints a traceback: `ProjectError` and `OSError` become one
`error: ...` line on stderr. Anything else is a bug and keeps its traceback.

`check`, `summary`, `templates` and `new` never import torch (they answer in a fraction of a second);
`export --code` only prints source code, so it does not need torch either.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from graph_engine import __version__
from graph_engine.codegen import generate_code
from graph_engine.errors import NewerFormatError, NotAProjectError, ProjectError
from graph_engine.project import Project
from graph_engine.project_io import atomic_write_text, load_project, save_project
from graph_engine.templates import SUFFIX, UnknownTemplateError, get_template, list_templates, load_template
from graph_engine.validation import CheckResult, Diagnostic, check, estimated_memory_bytes

PROG = "layerloom"
DEFAULT_BATCH_SIZE = 64

EXIT_OK = 0
EXIT_INVALID = 1  # the project has errors, or the request cannot be carried out (file exists, not writable)
EXIT_UNUSABLE = 2  # unreadable, not a LayerLoom project, newer format, unknown template, usage error

NOT_YET = "is not available yet in this version of LayerLoom"


class CliError(Exception):
    """A user error found by the CLI itself (not by the engine): printed as `error: ...`, no traceback."""

    def __init__(self, message: str, code: int = EXIT_INVALID):
        super().__init__(message)
        self.code = code


# ---- entry point ----------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (the console script passes it to SystemExit)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    _tolerate_unencodable_output()
    parser = build_parser()
    if not argv:
        parser.print_help()  # the GUI issue turns this into "open the welcome screen"
        return EXIT_OK
    argv = _route_bare_project(argv)
    unknown = _unknown_command(argv)
    if unknown is not None:
        return _fail(unknown, EXIT_UNUSABLE)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error argparse already printed
        return exc.code if isinstance(exc.code, int) else (EXIT_OK if exc.code is None else EXIT_UNUSABLE)
    try:
        return args.func(args)
    except CliError as exc:
        return _fail(str(exc), exc.code)
    except ProjectError as exc:
        return _fail(str(exc), exit_code_for(exc))
    except OSError as exc:
        if isinstance(exc, BrokenPipeError):  # `layerloom templates | head -1`
            _silence_stdout()
            return EXIT_INVALID
        return _fail(_os_error_text(exc), EXIT_INVALID)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def exit_code_for(exc: ProjectError) -> int:
    """2 when the input cannot be used at all, 1 when it is ours but not acceptable as it stands."""
    if isinstance(exc, NotAProjectError | NewerFormatError | UnknownTemplateError):
        return EXIT_UNUSABLE
    return EXIT_INVALID


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="LayerLoom: build neural networks visually, check them, export standalone PyTorch code.",
        epilog="Exit codes: 0 ok, 1 the project has errors or the command could not be carried out, "
               "2 unreadable or not a LayerLoom project (or a newer format), or a usage error. "
               f"Run `{PROG} COMMAND --help` for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")

    p = sub.add_parser("check", help="validate a project; print every problem with its node id",
                       description="Validate a project. Exit 0 when it is valid (warnings are printed but do not "
                                   "fail), 1 when it has errors, 2 when the file cannot be used.")
    p.add_argument("project", metavar="PROJECT", help="a .layerloom.json file")
    p.add_argument("--json", action="store_true", help="print the result as JSON (for scripts and CI)")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("summary", help="per-layer table: output shape, parameters, FLOPs, memory",
                       description="Print one row per layer (id, op, output shape, parameters, FLOPs per sample), "
                                   "then the totals and the estimated training memory.")
    p.add_argument("project", metavar="PROJECT", help="a .layerloom.json file")
    p.add_argument("--batch-size", type=_positive_int, metavar="N",
                   help="batch size for the memory estimate (default: the project's, else "
                        f"{DEFAULT_BATCH_SIZE})")
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser("export", help="write standalone PyTorch code for a project",
                       description="Export a valid project. The code file needs torch alone (not LayerLoom).")
    p.add_argument("project", metavar="PROJECT", help="a .layerloom.json file")
    p.add_argument("--code", metavar="FILE.py", help="write the model as a Python module ('-' for stdout)")
    p.add_argument("--train-script", metavar="FILE.py", help="a training script (not available yet)")
    p.add_argument("--onnx", metavar="FILE.onnx", help="an ONNX file (not available yet)")
    p.add_argument("--weights", metavar="FILE.safetensors", help="trained weights (not available yet)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("templates", help="list the built-in templates",
                       description="List the built-in templates, one a line: NAME, then a short description.")
    p.set_defaults(func=cmd_templates)

    p = sub.add_parser("new", help="create a project from a template",
                       description="Create a project from a built-in template (see `layerloom templates`).")
    p.add_argument("--template", required=True, metavar="NAME", help="template name, e.g. lenet5")
    p.add_argument("out", metavar="OUT", help="the new .layerloom.json file (or an existing folder to put it in)")
    p.add_argument("--force", action="store_true", help="overwrite OUT if it exists")
    p.set_defaults(func=cmd_new)

    # Wired now so later issues only replace the handler.
    p = sub.add_parser("gui", help="open the desktop application (not available yet)",
                       description="Open the LayerLoom window, optionally on a project.")
    p.add_argument("project", metavar="PROJECT", nargs="?", help="a .layerloom.json file to open")
    p.add_argument("--screenshot", metavar="OUT.png", help="render the main window offscreen to a PNG and exit")
    p.set_defaults(func=_not_yet("gui"))

    p = sub.add_parser("train", help="train a project headless (not available yet)",
                       description="Train a project without the GUI, with a progress bar.")
    p.add_argument("project", metavar="PROJECT", help="a .layerloom.json file")
    p.add_argument("--epochs", type=_positive_int, metavar="N", help="override the project's epochs")
    p.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), help="override the project's device")
    p.add_argument("--out", metavar="RUN_DIR", help="folder for metrics.json, weights and a project copy")
    p.set_defaults(func=_not_yet("train"))

    p = sub.add_parser("import", help="import a PyTorch module as a project (not available yet)",
                       description="Trace FILE.py:ClassName with torch.fx and save it as a project.")
    p.add_argument("source", metavar="FILE.py:ClassName", help="the module to import")
    p.add_argument("--input-shape", required=True, metavar="SHAPE", help="one sample's shape, e.g. 1,28,28")
    p.add_argument("-o", "--output", required=True, metavar="PROJECT", help="the .layerloom.json to write")
    p.set_defaults(func=_not_yet("import"))
    return parser


COMMANDS = ("check", "summary", "export", "templates", "new", "gui", "train", "import")


# ---- commands -------------------------------------------------------------------------------------------


def cmd_check(args: argparse.Namespace) -> int:
    project = load_project(Path(args.project))
    result = check(project)
    if args.json:
        print(json.dumps(_result_json(project, result), indent=2, ensure_ascii=False))
        return EXIT_OK if result.ok else EXIT_INVALID
    for diag in result.diagnostics:
        print(format_diagnostic(diag))
    print(_verdict(project, result))
    return EXIT_OK if result.ok else EXIT_INVALID


def cmd_summary(args: argparse.Namespace) -> int:
    project = load_project(Path(args.project))
    result = check(project)
    batch_size = args.batch_size or _project_batch_size(project)
    print(f"{_clean(project.name)} ({_clean(Path(args.project).name)})")
    print(summary_table(project, result))
    print()
    if result.ok:
        memory = estimated_memory_bytes(result, batch_size)
        print(f"parameters:      {result.total_params:,} ({format_bytes(4 * result.total_params)} as float32)")
        print(f"FLOPs/sample:    {result.total_flops:,} ({format_count(result.total_flops)})")
        print(f"training memory: ~{format_bytes(memory)} at batch size {batch_size} "
              "(weights, gradients, Adam state, activations)")
        for diag in result.warnings:
            print(format_diagnostic(diag))
        return EXIT_OK
    for diag in result.diagnostics:
        print(format_diagnostic(diag))
    print(_verdict(project, result))
    return EXIT_INVALID


def cmd_export(args: argparse.Namespace) -> int:
    for option, value in (("--train-script", args.train_script), ("--onnx", args.onnx),
                          ("--weights", args.weights)):
        if value is not None:
            raise CliError(f"export {option} {NOT_YET} (only --code is); nothing was written", EXIT_UNUSABLE)
    if not args.code:
        raise CliError("nothing to export: give --code FILE.py", EXIT_UNUSABLE)
    project_path = Path(args.project)
    project = load_project(project_path)
    result = check(project)
    if not result.ok:
        for diag in result.diagnostics:
            print(format_diagnostic(diag), file=sys.stderr)
        count = len(result.errors)
        raise CliError(f"cannot export {_clean(project_path.name)}: the network has {count} "
                       f"error{'s' if count != 1 else ''} (listed above); nothing was written")
    for diag in result.warnings:
        print(format_diagnostic(diag), file=sys.stderr)
    source = generate_code(project, result)
    if args.code == "-":
        sys.stdout.write(source)
        return EXIT_OK
    target = Path(args.code)
    if _same_file(target, project_path):
        raise CliError(f"{_clean(str(target))} is the project file itself; choose another name for the code")
    atomic_write_text(target, source)
    print(f"wrote {_clean(str(target))}: standalone PyTorch code for {_clean(project.name)} "
          f"({result.total_params:,} parameters); run `python {_clean(target.name)}` to try it")
    return EXIT_OK


def cmd_templates(args: argparse.Namespace) -> int:
    templates = list_templates()
    if not templates:
        raise CliError("no built-in templates were found (the resources/templates folder is missing)")
    width = max(len(t.name) for t in templates)
    for t in templates:
        print(f"{t.name:<{width}}  {_clean(t.summary or t.title)}")
    return EXIT_OK


def cmd_new(args: argparse.Namespace) -> int:
    info = get_template(args.template)  # UnknownTemplateError: exit 2 with the closest name
    out = Path(args.out)
    if out.is_dir():
        out = out / f"{info.name}{SUFFIX}"
    if (out.exists() or out.is_symlink()) and not args.force:
        raise CliError(f"{_clean(str(out))} already exists; use --force to overwrite it")
    if out.is_dir():
        raise CliError(f"{_clean(str(out))} is a folder")
    project = load_template(info.name)
    save_project(project, out)
    print(f"created {_clean(str(out))} from template {info.name} ({_clean(info.title)}); "
          f"next: {PROG} check {_clean(str(out))}")
    return EXIT_OK


def _not_yet(command: str) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        raise CliError(f"`{PROG} {command}` {NOT_YET}", EXIT_UNUSABLE)

    return handler


# ---- formatting -----------------------------------------------------------------------------------------


def format_diagnostic(diag: Diagnostic) -> str:
    """`error: conv1 [out_channels]: out_channels must be at least 1, not 0 (use a value between ...)`"""
    where = ""
    if diag.node_id is not None:
        where = _show_id(diag.node_id)
        if diag.field:
            where += f" [{_clean(diag.field)}]"
        where += ": "
    hint = f" ({_clean(diag.hint)})" if diag.hint else ""
    return f"{diag.severity}: {where}{_clean(diag.message)}{hint}"


def summary_table(project: Project, result: CheckResult) -> str:
    graph = project.graph
    order = [n for n in result.order if n in graph] + [n for n in graph.nodes if n not in set(result.order)]
    header = ("id", "op", "output shape", "params", "FLOPs", "")
    rows: list[tuple[str, ...]] = []
    for node_id in order:
        node = graph.node(node_id)
        info = result.nodes.get(node_id)
        notes = []
        if any(d.is_error for d in result.for_node(node_id)):
            notes.append("error")
        if node_id not in result.live:
            notes.append("unused")
        shape = _shape_text(node.op, info)
        known = info is not None and info.outputs is not None
        rows.append((_show_id(node_id), _clean(node.op)[:40], shape,
                     f"{info.param_count:,}" if known else "?", f"{info.flops:,}" if known else "?",
                     ", ".join(notes)))
    total = ("total", "", "", f"{result.total_params:,}", f"{result.total_flops:,}", "") if result.ok else None
    widths = [max(len(r[i]) for r in (header, *rows, *([total] if total else []))) for i in range(len(header))]

    def line(cells: tuple[str, ...]) -> str:
        parts = [c.rjust(w) if i in (3, 4) else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths if w)
    lines = [line(header), rule, *(line(r) for r in rows)]
    if total:
        lines += [rule, line(total)]
    return "\n".join(lines)


def _shape_text(op: str, info) -> str:
    if info is None:
        return "?"
    if op == "Output":  # what the network returns
        return str(info.inputs[0]) if info.inputs and info.inputs[0] is not None else "?"
    if info.outputs is None:
        return "?"
    return ", ".join(str(t) for t in info.outputs)


def format_count(n: int) -> str:
    for unit, size in (("G", 10**9), ("M", 10**6), ("K", 10**3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return str(n)


def format_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{int(size)} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"


def _verdict(project: Project, result: CheckResult) -> str:
    n_err, n_warn = len(result.errors), len(result.warnings)
    warn = f"{n_warn} warning{'s' if n_warn != 1 else ''}"
    name = _clean(project.name)
    if result.ok:
        layers = len(project.graph.nodes)
        extra = f", {warn}" if n_warn else ""
        return f"ok: {name} is valid ({layers} layers, {result.total_params:,} parameters{extra})"
    return f"invalid: {name} has {n_err} error{'s' if n_err != 1 else ''} and {warn}"


def _result_json(project: Project, result: CheckResult) -> dict[str, Any]:
    return {
        "name": project.name,
        "ok": result.ok,
        "errors": len(result.errors),
        "warnings": len(result.warnings),
        "total_params": result.total_params if result.ok else None,
        "diagnostics": [{"severity": d.severity, "node_id": d.node_id, "field": d.field, "message": d.message,
                         "hint": d.hint} for d in result.diagnostics],
    }


def _show_id(node_id: str) -> str:
    return node_id if node_id.isidentifier() and node_id.isascii() and len(node_id) <= 64 else _short_repr(node_id)


def _short_repr(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 42 else text[:39] + "..."


def _clean(text: str) -> str:
    """Text from a file, safe to print: control characters (escape sequences, newlines) are escaped."""
    if not isinstance(text, str):
        text = str(text)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


# ---- helpers --------------------------------------------------------------------------------------------


def _project_batch_size(project: Project) -> int:
    training = project.training or {}
    value = training.get("batch_size") if isinstance(training, dict) else None
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= 1 << 20:
        return value
    return DEFAULT_BATCH_SIZE


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def _route_bare_project(argv: list[str]) -> list[str]:
    """`layerloom PROJECT` means `layerloom gui PROJECT` (DESIGN section 7)."""
    first = argv[0]
    if first in COMMANDS or first.startswith("-"):
        return argv
    if first.endswith(".json") or Path(first).is_file():
        return ["gui", *argv]
    return argv


def _unknown_command(argv: list[str]) -> str | None:
    first = argv[0]
    if first in COMMANDS or first.startswith("-"):
        return None
    guess = difflib.get_close_matches(first, COMMANDS, n=1, cutoff=0.6)
    if guess:
        return f"unknown command {_short_repr(first)}; did you mean {guess[0]!r}? (`{PROG} --help` lists them)"
    return f"unknown command {_short_repr(first)}; the commands are {', '.join(COMMANDS)}"


def _fail(message: str, code: int) -> int:
    print(f"error: {_clean(message)}", file=sys.stderr)
    return code


def _os_error_text(exc: OSError) -> str:
    if exc.filename is not None and exc.strerror:
        return f"{exc.filename}: {exc.strerror}"
    return exc.strerror or str(exc)


def _tolerate_unencodable_output() -> None:
    """A project name in Chinese on a Latin-1 console must not crash the command."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="backslashreplace")
            except (ValueError, OSError, TypeError):
                pass


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


if __name__ == "__main__":
    raise SystemExit(main())
