"""The `layerloom` console command.

    layerloom                                   the GUI, on the welcome page
    layerloom PROJECT                           the GUI on a project
    layerloom gui [PROJECT] [--screenshot OUT.png]
                                                the GUI, or render its window (1400x900) to a PNG and exit
    layerloom anything else                     graph_engine.cli (check, summary, export, templates, new...)

Qt is imported only on the GUI paths, so `layerloom check` stays as fast as the engine's own CLI. Before
Qt loads, app/system_check.py checks the display and the system libraries of Qt's platform plugin: a missing
one is named with the apt and dnf commands that install it (exit 1) instead of Qt aborting the process.
"""

from __future__ import annotations

import time

_LAUNCHED_AT = time.perf_counter()

import argparse  # noqa: E402 - the launch time is taken first on purpose
import sys  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from pathlib import Path  # noqa: E402

PROG = "layerloom"
GUI = "gui"
EXIT_UNUSABLE = 2
ENGINE_COMMANDS = ("check", "summary", "export", "templates", "new", "train", "import")


def main(argv: Sequence[str] | None = None) -> int:
    """Run `layerloom`; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        return _open_gui(None)
    if argv[0] == GUI:
        return _gui_command(argv[1:])
    if len(argv) == 1 and _is_project_argument(argv[0]):
        return _open_gui(argv[0])
    from graph_engine.cli import main as cli_main

    return cli_main(argv)


def _is_project_argument(arg: str) -> bool:
    if arg.startswith("-") or arg in ENGINE_COMMANDS:
        return False
    return arg.endswith(".json") or Path(arg).is_file()


def _gui_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"{PROG} {GUI}", description="Open the LayerLoom window, optionally "
                                     "on a project, or render it to a PNG.")
    parser.add_argument("project", metavar="PROJECT", nargs="?", help="a .layerloom.json file to open")
    parser.add_argument("--screenshot", metavar="OUT.png",
                        help="render the main window (1400x900) offscreen with the project laid out, write the "
                             "PNG and exit")
    return parser


def _gui_command(args: list[str]) -> int:
    try:
        options = _gui_parser().parse_args(args)
    except SystemExit as exc:  # --help, or a usage error argparse has printed
        return exc.code if isinstance(exc.code, int) else EXIT_UNUSABLE
    if options.screenshot:
        from app.main import render_screenshot

        return render_screenshot(options.project, options.screenshot)
    return _open_gui(options.project)


def _open_gui(project: str | None) -> int:
    if project is not None and not Path(project).exists():
        print(f"error: {project} does not exist", file=sys.stderr)
        return EXIT_UNUSABLE
    # Before Qt loads: Qt aborts the process on a missing display or platform-plugin library.
    from app.system_check import EXIT_NO_DISPLAY, display_problem

    problem = display_problem()
    if problem is not None:
        print(problem.message, file=sys.stderr)
        return EXIT_NO_DISPLAY
    from app.main import run_gui

    return run_gui(project, launched_at=_LAUNCHED_AT, exit_process=True)


if __name__ == "__main__":
    raise SystemExit(main())
