"""`layerloom sample PROJECT --weights RUN_OR_FILE [--out grid.png] [--seed N] [--count N]`.

Samples a trained generative network: an image generator (a GAN's generator) writes a PNG grid of `--count`
images drawn from noise seeded with `--seed` (graph_engine/sampling/images.py). `--weights` is a run folder of
`layerloom train` (its model.safetensors) or a weights file. Wiring into the main parser is one line:
`add_sample_arguments(sub.add_parser("sample", ...))`; it sets func=run_sample. Importing this module does not
import torch.
"""

from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_OUT = "samples.png"


def add_sample_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("project", metavar="PROJECT", help="a .layerloom.json file")
    parser.add_argument("--weights", required=True, metavar="RUN_OR_FILE",
                        help="a run folder of `layerloom train` or a .safetensors file")
    parser.add_argument("--out", metavar="GRID.png", help=f"image generators: the PNG grid to write (default {DEFAULT_OUT})")
    parser.add_argument("--seed", type=int, default=0, metavar="N", help="the noise's seed (default 0)")
    parser.add_argument("--count", type=int, default=64, metavar="N", help="image generators: images (default 64)")
    parser.set_defaults(func=run_sample)
    return parser


def run_sample(args: argparse.Namespace) -> int:
    """Write the grid; ProjectError for user errors (the main CLI turns them into one `error:` line)."""
    from graph_engine.project_io import load_project
    from graph_engine.sampling.images import write_sample_grid

    project = load_project(Path(args.project))
    out = Path(args.out or DEFAULT_OUT)
    write_sample_grid(project, args.weights, out, count=args.count, seed=args.seed)
    print(f"wrote {out}: {args.count} samples of {project.name} (seed {args.seed})")
    return 0


__all__ = ["add_sample_arguments", "run_sample"]
