"""Procedural image datasets drawn in code: stroke digits and outline shapes at real image sizes.

They let LeNet-5 and other CNNs train on 28x28 (or 32x32 colour) images with no download. Every glyph is a
list of line segments in a unit square; each sample is one glyph moved, scaled, rotated and drawn with a random
stroke width, then gaussian noise is added. Drawing is numpy only: the distance from every pixel centre to
every segment, turned into an anti-aliased stroke (intensity = half-width + 0.5 - distance, clipped to 0..1).
The same seed gives the same images. The glyph tables are functions' return values and the drawing functions
take everything as arguments, so the exported train.py copies them (graph_engine/export/train_script_data.py).

color "grayscale": [1, 28, 28], a light stroke on black, like MNIST. color "rgb": [3, 32, 32], a coloured stroke
on a different coloured background, like CIFAR's size.
"""

from __future__ import annotations

import numpy as np

from graph_engine.data.base import Dataset, DatasetError
from graph_engine.data.limits import check_fits

SIZES = {"grayscale": (1, 28), "rgb": (3, 32)}  # color -> (channels, side)
# draw_glyphs draws 64 samples at once: that bounds its [chunk, segments, pixels] distance arrays (~5 MB each).
PEAK_FACTOR = 3  # the images, their noise and the clipped copy exist at once


def arc(cx, cy, rx, ry, start, stop, steps=10):
    """Points on an ellipse arc; angles in degrees, y grows downwards (so 90 is the bottom)."""
    angles = np.radians(np.linspace(start, stop, steps + 1))
    return [(cx + rx * np.cos(a), cy + ry * np.sin(a)) for a in angles]


def segments(*polylines):
    """[S, 2, 2] segments (start, end) joining consecutive points of each polyline."""
    out = [(a, b) for line in polylines for a, b in zip(line[:-1], line[1:], strict=True)]
    return np.asarray(out, dtype=np.float32)


def digit_glyphs():
    """Digits 0-9 as a person writes them with a pen, in a unit square (x right, y down). A function rather
    than a table so that an exported training script can copy it (only functions are copied)."""
    return (
        segments(arc(0.5, 0.5, 0.28, 0.4, 0, 360, 12)),
        segments([(0.33, 0.28), (0.55, 0.1), (0.55, 0.9)]),
        segments(arc(0.5, 0.32, 0.25, 0.22, 190, 360, 6) + [(0.72, 0.45), (0.25, 0.9), (0.78, 0.9)]),
        segments(arc(0.48, 0.3, 0.22, 0.2, 200, 450, 7), arc(0.48, 0.7, 0.25, 0.2, 270, 520, 7)),
        segments([(0.65, 0.9), (0.65, 0.1), (0.2, 0.65), (0.82, 0.65)]),
        segments([(0.75, 0.1), (0.32, 0.1), (0.28, 0.45)] + arc(0.48, 0.66, 0.26, 0.24, 235, 505, 8)),
        segments([(0.68, 0.1), (0.4, 0.35), (0.28, 0.65)], arc(0.5, 0.68, 0.22, 0.22, 0, 360, 10)),
        segments([(0.2, 0.1), (0.8, 0.1), (0.42, 0.9)]),
        segments(arc(0.5, 0.29, 0.19, 0.19, 0, 360, 8), arc(0.5, 0.69, 0.24, 0.21, 0, 360, 9)),
        segments(arc(0.5, 0.32, 0.22, 0.22, 0, 360, 10), [(0.72, 0.32), (0.62, 0.9)]),
    )


def star(points=5):
    angles = np.radians(np.arange(2 * points + 1) * 180.0 / points - 90.0)
    radii = np.where(np.arange(2 * points + 1) % 2 == 0, 0.45, 0.19)
    return [(0.5 + r * np.cos(a), 0.5 + r * np.sin(a)) for r, a in zip(radii, angles, strict=True)]


def shape_glyphs():
    """Outline shapes in a unit square. No plus-and-cross pair: shapes turn freely, and a plus turned 45
    degrees is a cross."""
    return (
        segments(arc(0.5, 0.5, 0.4, 0.4, 0, 360, 12)),
        segments([(0.15, 0.15), (0.85, 0.15), (0.85, 0.85), (0.15, 0.85), (0.15, 0.15)]),
        segments([(0.5, 0.1), (0.9, 0.85), (0.1, 0.85), (0.5, 0.1)]),
        segments([(0.5, 0.1), (0.5, 0.9)], [(0.1, 0.5), (0.9, 0.5)]),
        segments([(0.1, 0.5), (0.9, 0.5)]),
        segments(star()),
    )


DIGITS = digit_glyphs()
DIGIT_NAMES = tuple(str(i) for i in range(10))
SHAPES = shape_glyphs()
SHAPE_NAMES = ("circle", "square", "triangle", "plus", "line", "star")


def padded_glyphs(glyphs):
    """[classes, S_max, 2, 2]: shorter glyphs repeat their last segment (drawing it twice changes nothing)."""
    most = max(len(g) for g in glyphs)
    return np.stack([np.concatenate([g, np.repeat(g[-1:], most - len(g), axis=0)]) for g in glyphs])


def draw_glyphs(glyphs, labels, side, rng, max_rotation, scale, chunk=64):
    """[N, side, side] stroke intensities 0..1 of glyphs[labels] ([classes, S, 2, 2]), each randomly placed;
    `chunk` samples at a time bound the [chunk, S, pixels] distance arrays."""
    n = len(labels)
    angle = np.radians(rng.uniform(-max_rotation, max_rotation, n))
    size = rng.uniform(*scale, n) * side
    shift = rng.uniform(-0.12, 0.12, (n, 2)) * side
    half_width = rng.uniform(0.035, 0.06, n) * side
    cos, sin = np.cos(angle) * size, np.sin(angle) * size
    rotation = np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], -2)  # [N, 2, 2]
    centre = side / 2 + shift  # [N, 2]
    # float32 and x/y kept apart (no trailing axis of 2): the distance arrays are [chunk, S, pixels].
    gy, gx = (g.reshape(-1).astype(np.float32) + np.float32(0.5) for g in np.indices((side, side)))
    out = np.empty((n, side * side), dtype=np.float32)
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        seg = glyphs[labels[lo:hi]] - 0.5  # [n, S, 2, 2]
        seg = (np.einsum("nij,nspj->nspi", rotation[lo:hi], seg) + centre[lo:hi, None, None, :]).astype(np.float32)
        ax, ay = seg[:, :, 0, 0, None], seg[:, :, 0, 1, None]  # [n, S, 1]
        dx, dy = seg[:, :, 1, 0, None] - ax, seg[:, :, 1, 1, None] - ay
        rx, ry = gx - ax, gy - ay  # [n, S, P]
        t = np.clip((rx * dx + ry * dy) / np.maximum(dx * dx + dy * dy, np.float32(1e-9)), 0.0, 1.0)
        rx -= t * dx
        ry -= t * dy
        dist = np.sqrt((rx * rx + ry * ry).min(axis=1))  # [n, P]
        out[lo:hi] = np.clip(half_width[lo:hi, None] + 0.5 - dist, 0.0, 1.0)
    return out.reshape(n, side, side)


def glyph_images(glyphs, n_samples, channels, side, noise, seed, max_rotation, scale):
    """(X float32 [N, channels, side, side] in 0..1, y int64 [N]): balanced classes of randomly placed glyphs,
    grey strokes (channels 1) or a coloured stroke on another colour (channels 3), plus gaussian noise."""
    rng = np.random.default_rng(seed)
    y = np.arange(n_samples, dtype=np.int64) % len(glyphs)  # balanced classes, then shuffled
    rng.shuffle(y)
    stroke = draw_glyphs(padded_glyphs(glyphs), y, side, rng, max_rotation, scale)[:, None]  # [N, 1, side, side]
    if channels == 1:
        X = stroke * rng.uniform(0.7, 1.0, (n_samples, 1, 1, 1)).astype(np.float32)
    else:
        ink = rng.uniform(0.0, 1.0, (n_samples, 3, 1, 1)).astype(np.float32)
        paper = rng.uniform(0.0, 1.0, (n_samples, 3, 1, 1)).astype(np.float32)
        # Keep the stroke visible: push the background away from the ink where they are alike.
        paper = np.where(np.abs(paper - ink).sum(1, keepdims=True) < 0.6, 1.0 - ink, paper)
        X = paper + (ink - paper) * stroke
    if noise > 0:
        X = X + rng.normal(0.0, noise, X.shape).astype(np.float32)
    return np.clip(X, 0.0, 1.0).astype(np.float32), y


def _make(name: str, glyphs: tuple[np.ndarray, ...], names: tuple[str, ...], n_samples: int, color: str,
          noise: float, seed: int, max_rotation: float, scale: tuple[float, float], description: str) -> Dataset:
    if color not in SIZES:
        raise DatasetError(f"unknown color {color!r} for dataset {name!r}", "choose 'grayscale' or 'rgb'")
    channels, side = SIZES[color]
    check_fits(n_samples * channels * side * side * 4 * PEAK_FACTOR, f"the {name} dataset ({n_samples} images)",
               "lower n_samples")
    X, y = glyph_images(glyphs, n_samples, channels, side, noise, seed, max_rotation, scale)
    return Dataset(name=name, X=X, y=y, task="classification", kind="image", num_classes=len(glyphs),
                   class_names=names, image_shape=tuple(X.shape[1:]), description=description)


def make_stroke_digits(n_samples: int = 6000, color: str = "grayscale", noise: float = 0.1,
                       seed: int = 0) -> Dataset:
    """Pen-stroke digits 0-9, rotated up to 15 degrees (more would turn a 6 into a 9)."""
    return _make("stroke_digits", DIGITS, DIGIT_NAMES, n_samples, color, noise, seed, 15.0, (0.55, 0.85),
                 "digits 0-9 drawn as pen strokes, varied in position, size, rotation, stroke width and noise")


def make_shapes(n_samples: int = 6000, color: str = "grayscale", noise: float = 0.1, seed: int = 0) -> Dataset:
    """Outline shapes in any rotation (a rotated square is still a square)."""
    return _make("shapes", SHAPES, SHAPE_NAMES, n_samples, color, noise, seed, 180.0, (0.45, 0.8),
                 "outline shapes (circle, square, triangle, plus, line, star), varied in position, size, "
                 "rotation, stroke width and noise")


__all__ = ["DIGIT_NAMES", "SHAPE_NAMES", "SIZES", "digit_glyphs", "glyph_images", "make_shapes", "make_stroke_digits",
           "shape_glyphs"]
