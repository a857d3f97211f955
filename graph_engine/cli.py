"""The `layerloom` command (`layerloom --help` lists the commands; README.md shows them in use).

    layerloom check PROJECT                  validate; exit 0 valid, 1 invalid, 2 unreadable / not ours / newer
    layerloom summary PROJECT                per-layer table: output shape, params, FLOPs, totals, memory
    layerloom export PROJECT --code model.py [--train-script train.py] [--onnx model.onnx]
                     [--weights W.safetensors] [--bundle DIR] [--no-check]
                                             standalone code, training script, ONNX, or all of it in a folder;
                                             every export is checked against the in-app model
    layerloom train PROJECT [--epochs N] [--device D] [--out RUN_DIR] [--resume RUN_DIR]
                                             headless training (graph_engine.training.cli_train)
    layerloom sample PROJECT --weights RUN_OR_FILE [--out grid.png --seed N --count N]
                                             samples of a trained generator (graph_engine.cli_sample)
    layerloom import FILE.py:ClassName --input-shape 1,28,28 [--dtype int64] -o PROJECT [--yes]
                                             a PyTorch module as a project, its weights beside it (torch.fx)
    layerloom templates                      built-in templates, one a line
    layerloom new --template NAME OUT        a new project from a template

Exit codes: 0 success; 1 the project (or the request) is not acceptable as it stands (errors in the network,
an existing file, a file that cannot be written); 2 the input cannot be used at all (not readable, not a
LayerLoom project, a newer format_version, an unknown template, a command-line mistake, a feature this
version does not have yet). A user error never prints a traceback: `ProjectError` and `OSError` become one
`error: ...` line on stderr. Anything else is a bug and keeps its traceback.

`check`, `summary`, `templates` and `new` never import torch (they answer in a fraction of a second), and
neither does `export --code FILE --no-check`, which only writes source code. Every other export loads torch to
check what it wrote: the exported code is loaded from its file with the weights and compared with the in-app
model on a probe batch; an ONNX file is run in onnxruntime at batch sizes 1 and 5. Each check prints one
`check: ...` line; a failed check exits 1.

`import` runs the Python file it imports, so it says so and asks first (`--yes` answers for scripts; without a
terminal to ask on, it refuses).
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from graph_engine import __version__
from graph_engine.blocks.inner import diagnostic_path
from graph_engine.codegen import generate_code
from graph_engine.errors import NewerFormatError, NotAProjectError, ProjectError
from graph_engine.project import Project
from graph_engine.project_io import load_project, save_project
from graph_engine.templates import (
    SUFFIX,
    UnknownTemplateError,
    get_template,
    list_templates,
    load_template,
    templates_dir,
)
from graph_engine.training.cli_train import add_train_arguments
from graph_engine.training.settings import batch_size_of
from graph_engine.training.settings_spec import default_of
from graph_engine.validation import CheckResult, Diagnostic, check, estimated_memory_bytes

PROG = "layerloom"

EXIT_OK = 0
EXIT_INVALID = 1  # the project has errors, or the request cannot be carried out (file exists, not writable)
EXIT_UNUSABLE = 2  # unreadable, not a LayerLoom project, newer format, unknown template, usage error

# The engine knows no Qt: the window is opened by the `layerloom` console command (app/launcher.py), which
# handles `gui` and `layerloom PROJECT` itself and hands every other command to this module.
GUI_ELSEWHERE = "opens the desktop app only through the `layerloom` command (app.launcher), not graph_engine.cli"


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
                        f"{default_of('batch_size')})")
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser("export", help="export a project: PyTorch code, a training script, ONNX, a bundle",
                       description="Export a valid project. The code and the training script need torch (and the "
                                   "dataset's package), not LayerLoom. Every export is checked against the in-app "
                                   "model and the result printed (exit 1 when a check fails).")
    p.add_argument("project", metavar="PROJECT", help="a .layerloom.json file")
    p.add_argument("--code", metavar="FILE.py", help="write the model as a Python module ('-' for stdout)")
    p.add_argument("--train-script", metavar="FILE.py",
                   help="write a training script that reproduces the project's training settings; it imports "
                        "the model from the --code file and runs alone or under torchrun")
    p.add_argument("--onnx", metavar="FILE.onnx", help="write an ONNX file with a dynamic batch dimension")
    p.add_argument("--weights", metavar="FILE.safetensors",
                   help="weights to export with (a .safetensors file, e.g. from `layerloom train`, or a "
                        "state_dict .pt read with weights_only=True); loaded strictly")
    p.add_argument("--bundle", metavar="DIR",
                   help="write model.py, train.py, model.safetensors, the project and a README into DIR")
    p.add_argument("--force", action="store_true",
                   help="let --bundle replace files in DIR that an earlier bundle did not write")
    p.add_argument("--no-check", action="store_true",
                   help="skip checking the exported code against the in-app model (ONNX and bundles are always "
                        "checked)")
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

    p = sub.add_parser("gui", help="open the desktop application (also: `layerloom PROJECT`, or no command)",
                       description="Open the LayerLoom window, optionally on a project.")
    p.add_argument("project", metavar="PROJECT", nargs="?", help="a .layerloom.json file to open")
    p.add_argument("--screenshot", metavar="OUT.png", help="render the main window offscreen to a PNG and exit")
    p.set_defaults(func=_gui_elsewhere)

    add_train_arguments(sub.add_parser(
        "train", help="train a project headless, with a progress bar",
        description="Train a project without the GUI. RUN_DIR gets metrics.json (per-epoch history), "
                    "model.safetensors, best.safetensors, checkpoints to resume from, and a copy of the project."))

    from graph_engine.cli_sample import add_sample_arguments  # its own module (text and image generators)

    add_sample_arguments(sub.add_parser(
        "sample", help="what a trained generative model makes: text (language models) or an image grid",
        description="Generate from a trained project: a language model prints text, an image generator writes "
                    "a grid of samples."))

    p = sub.add_parser("import", help="import a PyTorch module (FILE.py:ClassName) as a project, with its weights",
                       description="Run FILE.py, build ClassName() (no arguments), trace it with torch.fx and save "
                                   "it as a project; its weights go beside it (PROJECT's name, .safetensors). What "
                                   "cannot be traced or mapped is listed and nothing is written.")
    p.add_argument("source", metavar="FILE.py:ClassName", help="the module class (or a function returning one)")
    p.add_argument("--input-shape", required=True, action="append", metavar="SHAPE",
                   help="one sample's shape, batch excluded, e.g. 1,28,28; repeat it for each forward() argument")
    p.add_argument("--dtype", action="append", choices=("float32", "int64"),
                   help="float32 (default) or int64 for token ids; once for all inputs, or once per input")
    p.add_argument("-o", "--output", required=True, metavar="PROJECT", help="the .layerloom.json to write")
    p.add_argument("-y", "--yes", action="store_true", help="run FILE.py's code without asking")
    p.add_argument("--force", action="store_true", help="overwrite PROJECT and its weights file if they exist")
    p.set_defaults(func=cmd_import)
    return parser


COMMANDS = ("check", "summary", "export", "templates", "new", "gui", "train", "import", "sample")


# ---- commands -------------------------------------------------------------------------------------------


def cmd_check(args: argparse.Namespace) -> int:
    from graph_engine.gan import gan_diagnostics

    project = load_project(Path(args.project))
    result = check(project)
    result.diagnostics.extend(gan_diagnostics(project, result))  # a GAN's discriminator and how the pair fits
    if args.json:
        print(json.dumps(_result_json(project, result), indent=2, ensure_ascii=False))
        return EXIT_OK if result.ok else EXIT_INVALID
    for diag in errors_first(result):
        print(format_diagnostic(diag))
    print(_verdict(project, result))
    return EXIT_OK if result.ok else EXIT_INVALID


def cmd_summary(args: argparse.Namespace) -> int:
    project = load_project(Path(args.project))
    result = check(project)
    batch_size = args.batch_size or batch_size_of(project.training)
    print(f"{_clean(project.name)} ({_clean(Path(args.project).name)})")
    print(summary_table(project, result))
    print()
    if result.ok:
        memory = estimated_memory_bytes(result, batch_size)
        print(f"parameters:      {result.total_params:,} ({format_bytes(4 * result.total_params)} as float32)")
        from graph_engine.training.freezing import parameter_split

        trainable, frozen = parameter_split(project, result)
        if frozen:
            print(f"                 {trainable:,} trainable, {frozen:,} frozen (trainable: false)")
        print(f"FLOPs/sample:    {result.total_flops:,} ({format_count(result.total_flops)})")
        print(f"training memory: ~{format_bytes(memory)} at batch size {batch_size} "
              "(weights, gradients, Adam state, activations)")
        for diag in result.warnings:
            print(format_diagnostic(diag))
        return EXIT_OK
    for diag in errors_first(result):
        print(format_diagnostic(diag))
    print(_verdict(project, result))
    return EXIT_INVALID


def cmd_export(args: argparse.Namespace) -> int:
    wanted = [o for o, v in (("--code", args.code), ("--train-script", args.train_script), ("--onnx", args.onnx),
                             ("--bundle", args.bundle)) if v]
    if not wanted:
        raise CliError("nothing to export: give --code FILE.py, --train-script FILE.py, --onnx FILE.onnx or "
                       "--bundle DIR", EXIT_UNUSABLE)
    if args.train_script and not args.code:
        raise CliError("--train-script needs --code FILE.py: the training script imports the model from that file "
                       "(or use --bundle DIR for both); nothing was written", EXIT_UNUSABLE)
    if args.code == "-" and len(wanted) > 1:
        raise CliError("--code - (stdout) cannot be combined with other exports; nothing was written", EXIT_UNUSABLE)
    project_path = Path(args.project)
    project = load_project(project_path)
    result = check(project)
    if not result.ok:
        for diag in errors_first(result):
            print(format_diagnostic(diag), file=sys.stderr)
        count = len(result.errors)
        raise CliError(f"cannot export {_clean(project_path.name)}: the network has {count} "
                       f"error{'s' if count != 1 else ''} (listed above); nothing was written")
    for diag in result.warnings:
        print(format_diagnostic(diag), file=sys.stderr)
    if args.code == "-":
        sys.stdout.write(generate_code(project, result))
        return EXIT_OK
    for option, target in (("--code", args.code), ("--train-script", args.train_script), ("--onnx", args.onnx)):
        if target and _same_file(Path(target), project_path):
            raise CliError(f"{_clean(str(target))} is the project file itself; choose another name for {option}")
    _refuse_colliding_outputs(args, project_path)
    if args.weights and any(_same_file(Path(t), Path(args.weights)) for t in (args.code, args.train_script, args.onnx)
                            if t):
        raise CliError(f"{_clean(args.weights)} is the weights file being exported; choose another output name")
    from graph_engine.export.export_files import ExportTargets, export_files

    def show(line) -> None:
        print(_clean(line.text), file=sys.stderr if line.kind == "warning" else sys.stdout)

    targets = ExportTargets(code=_path_or_none(args.code), train_script=_path_or_none(args.train_script),
                            onnx=_path_or_none(args.onnx), bundle=_path_or_none(args.bundle))
    lines = export_files(project, targets, weights=args.weights, weights_label=_clean(args.weights or ""),
                         project_path=project_path, result=result, force=args.force, check_code=not args.no_check,
                         report=show)
    failed = [Path(line.target).name for line in lines if line.kind == "check" and not line.ok]
    if failed:
        raise CliError(f"the checked export failed for {', '.join(_clean(f) for f in failed)} (see the check "
                       "lines above)")
    return EXIT_OK


def _path_or_none(text: str | None) -> Path | None:
    return Path(text) if text else None


def _refuse_colliding_outputs(args: argparse.Namespace, project_path: Path) -> None:
    """Two exports into one file would leave only the last, with exit 0: refuse before writing anything."""
    from graph_engine.export.bundle import bundle_files

    outputs = [(o, Path(t)) for o, t in (("--code", args.code), ("--train-script", args.train_script),
                                         ("--onnx", args.onnx)) if t]
    if args.bundle:
        outputs += [(f"--bundle ({path.name})", path) for path in bundle_files(args.bundle, project_path).values()]
    for i, (option, target) in enumerate(outputs):
        for other, other_target in outputs[:i]:
            if _same_file(target, other_target):
                raise CliError(f"{other} and {option} would both write {_clean(str(target))}; give each export "
                               "its own file; nothing was written")


def cmd_import(args: argparse.Namespace) -> int:
    file_text, sep, name = args.source.rpartition(":")
    if not sep or not file_text or not name:
        raise CliError(f"give the module as FILE.py:ClassName, not {_short_repr(args.source)}", EXIT_UNUSABLE)
    source = Path(file_text)
    shapes = [_shape_arg(text) for text in args.input_shape]
    dtypes = args.dtype or ["float32"]
    if len(dtypes) not in (1, len(shapes)):
        raise CliError(f"give --dtype once, or once per --input-shape ({len(shapes)})", EXIT_UNUSABLE)
    if not source.is_file():
        raise CliError(f"{_clean(str(source))} does not exist" if not source.exists()
                       else f"{_clean(str(source))} is not a file", EXIT_UNUSABLE)
    from graph_engine.importer.fx_import import weights_path_for

    output = Path(args.output)
    weights = weights_path_for(output)
    for path in (output, weights):
        if (path.exists() or path.is_symlink()) and not args.force:
            raise CliError(f"{_clean(str(path))} already exists; use --force to overwrite it")
        if path.is_dir():
            raise CliError(f"{_clean(str(path))} is a folder")
    if _same_file(output, source) or _same_file(weights, source):
        raise CliError(f"{_clean(str(output))} would overwrite the file being imported")
    if not _confirm_running(source, name, args.yes):
        return EXIT_INVALID
    from graph_engine.importer import ImportReport, import_file, save_import

    try:
        imported = import_file(source, name, shapes, dtypes)
    except ImportReport as report:
        lines = report.lines()
        print(f"error: {_clean(lines[0])}", file=sys.stderr)
        for line in lines[1:]:
            print(_clean(line), file=sys.stderr)
        if report.hint:
            print(f"hint: {_clean(report.hint)}", file=sys.stderr)
        return EXIT_INVALID
    project_file, weights_file = save_import(imported, output)
    layers = sum(1 for node in imported.project.graph if node.op not in ("Input", "Output"))
    params = check(imported.project).total_params
    blocks = len(imported.project.blocks)
    kept = f" at the top level, {blocks} block definition{'s' if blocks != 1 else ''} (the module's hierarchy)" \
        if blocks else ""
    print(f"imported {_clean(name)} from {_clean(source.name)}: {layers} layers{kept}, {params:,} parameters; wrote "
          f"{_clean(str(project_file))} and {_clean(str(weights_file))} (outputs match the module: max abs diff "
          f"{imported.max_abs_diff:.2g}); next: {PROG} check {_shell(str(project_file))} (to fine-tune: "
          f"{PROG} train {_shell(str(project_file))} --init {_shell(str(weights_file))})")
    for note in imported.notes:  # keys of the module the hierarchy could not keep (graph_engine/importer/hierarchy.py)
        print(f"note: {_clean(note)}")
    return EXIT_OK


def _shape_arg(text: str) -> tuple[int, ...]:
    cleaned = text.strip().strip("[]()")
    parts = [p for p in cleaned.replace("x", ",").replace(" ", ",").split(",") if p]
    try:
        shape = tuple(int(p) for p in parts)
    except ValueError:
        shape = ()
    if not shape or any(d < 1 for d in shape) or len(shape) > 8:
        raise CliError(f"--input-shape {_short_repr(text)} is not a shape; give one sample's sizes, batch excluded, "
                       "e.g. 1,28,28", EXIT_UNUSABLE)
    return shape


def _confirm_running(source: Path, name: str, yes: bool) -> bool:
    """Say that the file's code will run; go on with --yes or an interactive y, refuse otherwise."""
    notice = (f"note: importing runs the Python code in {_clean(str(source))} (to build {_clean(name)}() and trace "
              "it); only import files you trust")
    print(notice, file=sys.stderr)
    if yes:
        return True
    stdin = sys.stdin
    if stdin is None or not stdin.isatty():
        raise CliError("add --yes to confirm running the file's code (there is no terminal to ask on)", EXIT_UNUSABLE)
    try:
        answer = input("run it? [y/N] ")
    except EOFError:
        answer = ""
    if answer.strip().lower() in ("y", "yes"):
        return True
    print("import cancelled; nothing was run or written", file=sys.stderr)
    return False


def cmd_templates(args: argparse.Namespace) -> int:
    templates = list_templates()
    if not templates:
        raise CliError(f"no built-in templates were found (the folder {templates_dir()} is missing or empty)")
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
          f"next: {PROG} check {_shell(str(out))}")
    return EXIT_OK


def _gui_elsewhere(args: argparse.Namespace) -> int:
    raise CliError(f"`{PROG} gui` {GUI_ELSEWHERE}", EXIT_UNUSABLE)


# ---- formatting -----------------------------------------------------------------------------------------


def format_diagnostic(diag: Diagnostic) -> str:
    """`error: conv1 [out_channels]: out_channels must be at least 1, not 0 (use a value between ...)`"""
    where = ""
    if diag.node_id is not None:
        # inside a block: the path down to the layer (stage1.0.conv1), each part a checked id
        path = diagnostic_path(diag)
        where = ".".join(p if p.isdigit() else _show_id(p) for p in path.split(".")) if path != diag.node_id \
            else _show_id(diag.node_id)
        if diag.field:
            where += f" [{_clean(diag.field)}]"
        where += ": "
    hint = f" ({_clean(diag.hint)})" if diag.hint else ""
    return f"{diag.severity}: {where}{_clean(diag.message)}{hint}"


def summary_table(project: Project, result: CheckResult) -> str:
    graph = project.graph
    order = [n for n in result.order if n in graph] + [n for n in graph.nodes if n not in set(result.order)]
    header = ("id", "op", "output shape", "params", "FLOPs", "status")
    rows: list[tuple[str, ...]] = []
    for node_id in order:
        node = graph.node(node_id)
        info = result.nodes.get(node_id)
        notes = []
        if any(d.is_error for d in result.for_node(node_id)):
            notes.append("error")
        if node_id not in result.live:
            notes.append("unused")
        if not node.trainable:
            notes.append("frozen")
        shape = _shape_text(node.op, info)
        known = info is not None and info.outputs is not None
        op = node.op if node.op != "Block" else f"{node.block}" + (f" x{node.repeat}" if node.repeat else "")
        rows.append((_show_id(node_id), _clean(op)[:40], shape,
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


def errors_first(result: CheckResult) -> list[Diagnostic]:
    """The diagnostics to print: every error, then every warning (each group in the checker's order)."""
    return [*result.errors, *result.warnings]


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
        "diagnostics": [{"severity": d.severity, "node_id": d.node_id, "path": diagnostic_path(d), "field": d.field,
                         "message": d.message, "hint": d.hint} for d in result.diagnostics],
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


def _shell(text: str) -> str:
    """A file name inside a command line we print: quoted for the shell (people copy these lines)."""
    return _clean(shlex.quote(str(text)))


# ---- helpers --------------------------------------------------------------------------------------------


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
    """`layerloom PROJECT` means `layerloom gui PROJECT`."""
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
