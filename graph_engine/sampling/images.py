"""Image grids from a trained image generator: `write_sample_grid(project, "runs/a", "grid.png", count=64)`.

An image generator is a network whose Input takes float noise and whose output is one image per sample
([C, H, W] with 1 or 3 channels, or [H, W]) with values in 0..1: a GAN's generator above all. The network is
the generated code (exactly the exported create_model()) with the trained weights loaded strictly; the noise
is gan_recipe.fixed_noise with the given seed, so the same seed draws the same images. The PNG is written
without Qt (gan_recipe.png_bytes), atomically.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from graph_engine.errors import ProjectError
from graph_engine.project import Project
from graph_engine.validation import check

MAX_COUNT = 1024
WEIGHTS_IN_RUN = "model.safetensors"  # a run folder's final weights (the generator in a GAN run)


def weights_file(weights: str | os.PathLike) -> Path:
    """A weights file, or the final weights of a run folder."""
    path = Path(weights)
    if path.is_dir():
        inner = path / WEIGHTS_IN_RUN
        if not inner.exists():
            raise ProjectError(f"{path} holds no {WEIGHTS_IN_RUN}", field="--weights",
                               hint="give a run folder of `layerloom train` or a .safetensors file")
        return inner
    return path


def image_generator_shapes(project: Project) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(noise shape, image shape) of a project whose network is an image generator; ProjectError otherwise."""
    from graph_engine.training.image_grid import is_image_shape

    result = check(project)
    if not result.ok:
        raise ProjectError(f"the network has {len(result.errors)} error(s); first: {result.errors[0]}",
                           hint="run `layerloom check` for every problem")
    live = [n for n in result.order if n in result.live]
    graph = project.graph
    inputs = [n for n in live if graph.node(n).op == "Input"]
    outputs = [n for n in live if graph.node(n).op == "Output"]
    if len(inputs) != 1 or len(outputs) != 1:
        raise ProjectError("an image generator has one Input (the noise) and one Output (the image)")
    noise = result.nodes[inputs[0]].outputs[0]
    image = result.nodes[outputs[0]].inputs[0]
    if noise.dtype != "float32" or not is_image_shape(tuple(image.shape)):
        raise ProjectError(f"this network maps {noise.dtype} {list(noise.shape)} to {list(image.shape)}: it does "
                           "not generate images from noise", node_id=outputs[0],
                           hint="sample image grids from a GAN's generator (e.g. the gan_digits template)")
    return tuple(int(d) for d in noise.shape), tuple(int(d) for d in image.shape)


def sample_images(project: Project, weights: str | os.PathLike, count: int = 64, seed: int = 0) -> np.ndarray:
    """`count` images (float32 [count, *image shape]) of the generator with the trained `weights`."""
    from graph_engine.codegen import compile_project
    from graph_engine.export.weights import load_strict, read_weights
    from graph_engine.training.gan_recipe import fixed_noise, generate

    if not 1 <= int(count) <= MAX_COUNT:
        raise ProjectError(f"count must be from 1 to {MAX_COUNT}, not {count}", field="--count")
    noise_shape, _ = image_generator_shapes(project)
    path = weights_file(weights)
    model = compile_project(project).create_model()
    load_strict(model, read_weights(path), str(path), {n.id: n.op for n in project.graph})
    return generate(model, fixed_noise(int(count), noise_shape, int(seed)))


def write_sample_grid(project: Project, weights: str | os.PathLike, out: str | os.PathLike, count: int = 64,
                      seed: int = 0, columns: int | None = None) -> Path:
    """Draw `count` images and write them as one PNG grid to `out`; returns the path."""
    from graph_engine.project_io import atomic_write_bytes
    from graph_engine.training.image_grid import image_grid, png_bytes

    images = sample_images(project, weights, count, seed)
    atomic_write_bytes(Path(out), png_bytes(image_grid(images, columns=columns)))
    return Path(out)


__all__ = ["image_generator_shapes", "sample_images", "weights_file", "write_sample_grid"]
