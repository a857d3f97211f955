"""`layerloom sample PROJECT --weights RUN_OR_FILE`: what a trained generative model makes.

    layerloom sample char.layerloom.json --weights runs/char --prompt "Alice was" --length 400 --temperature 0.8
    layerloom sample gan.layerloom.json --weights runs/gan/model.safetensors --out grid.png

A language model (task language_model) prints text: the prompt, then `--length` characters drawn with
`--temperature` (0: always the likeliest) and `--seed` (graph_engine/sampling/text.py). Image generators write
a PNG grid of `--count` images drawn from noise seeded with `--seed` (`--out`, graph_engine/sampling/images.py).
RUN_OR_FILE is a weights file, or a run folder of `layerloom train` / the app, whose
final weights (model.safetensors) are used, or its best or last ones when the run has no final weights yet.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from graph_engine.errors import ProjectError
from graph_engine.project_io import load_project

RUN_WEIGHTS = ("model.safetensors", "best.safetensors", "last.safetensors")  # a run folder's, in preference order
DEFAULT_OUT = "samples.png"


def add_sample_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("project", metavar="PROJECT", help="the .layerloom.json file of the trained network")
    parser.add_argument("--weights", required=True, metavar="RUN_OR_FILE",
                        help="a run folder (its model.safetensors) or a weights file (.safetensors, .pt)")
    text = parser.add_argument_group("language models (text)")
    text.add_argument("--prompt", default="", help="text the model continues (default: a new line)")
    text.add_argument("--length", type=_count, default=300, help="characters to generate (default 300)")
    text.add_argument("--temperature", type=_temperature, default=0.8,
                      help="randomness: 0 always picks the likeliest character, 1 samples as trained (default 0.8)")
    text.add_argument("--top-k", type=_count, default=None, metavar="K",
                      help="draw only among the K likeliest characters (default: all)")
    images = parser.add_argument_group("image generators")
    images.add_argument("--out", metavar="GRID.png", help=f"the PNG grid to write (default {DEFAULT_OUT})")
    images.add_argument("--count", type=int, default=64, metavar="N", help="images (default 64)")
    parser.add_argument("--seed", type=int, default=0, help="random seed: the same seed gives the same sample")
    parser.set_defaults(func=cmd_sample)
    return parser


def run_weights(path: str | Path) -> Path:
    """The weights file that RUN_OR_FILE names (see the module docstring). ProjectError when there is none."""
    path = Path(path)
    if path.is_dir():
        for name in RUN_WEIGHTS:
            if (path / name).is_file():
                return path / name
        raise ProjectError(f"the run folder {path} holds no weights ({', '.join(RUN_WEIGHTS)})", field="weights",
                           hint="train it first (`layerloom train`), or give a weights file")
    if not path.exists():
        raise ProjectError(f"{path} does not exist", field="weights", hint="give a run folder or a .safetensors file")
    return path


def cmd_sample(args: argparse.Namespace) -> int:
    from graph_engine.training.config import TrainingConfig

    project_path = Path(args.project)
    project = load_project(project_path)
    task = TrainingConfig.from_project(project).task
    if task == "language_model":
        return _print_text(args, project, run_weights(args.weights), project_path.resolve().parent)
    return run_sample(args)


def run_sample(args: argparse.Namespace) -> int:
    """An image generator's grid; ProjectError for user errors (the main CLI turns them into one `error:` line)."""
    from graph_engine.sampling.images import write_sample_grid

    project = load_project(Path(args.project))
    out = Path(args.out or DEFAULT_OUT)
    write_sample_grid(project, args.weights, out, count=args.count, seed=args.seed)
    print(f"wrote {out}: {args.count} samples of {project.name} (seed {args.seed})")
    return 0


def _print_text(args: argparse.Namespace, project, weights: Path, base_dir: Path) -> int:
    from graph_engine.sampling.text import text_from_weights

    text = text_from_weights(project, weights, prompt=args.prompt, length=args.length,
                             temperature=args.temperature, seed=args.seed, top_k=args.top_k, base_dir=base_dir)
    sys.stdout.write(text + ("" if text.endswith("\n") else "\n"))
    return 0


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
    if not 1 <= value <= 100_000:
        raise argparse.ArgumentTypeError(f"must be from 1 to 100000, not {value}")
    return value


def _temperature(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, not {text!r}") from None
    if not 0.0 <= value <= 10.0:
        raise argparse.ArgumentTypeError(f"must be from 0 to 10, not {value:g}")
    return value


__all__ = ["RUN_WEIGHTS", "add_sample_arguments", "cmd_sample", "run_sample", "run_weights"]
