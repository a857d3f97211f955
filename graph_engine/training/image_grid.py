"""Samples as one picture: a grid of images (`image_grid`) and a PNG file's bytes (`png_bytes`), numpy and the
standard library only (no torch, no Qt), so the app's dashboard draws the grid the trainer writes, and the
exported train.py of a GAN copies these functions as they are (graph_engine/export/train_script.py).
"""

from __future__ import annotations

import math
import struct
import zlib

import numpy as np


def image_grid(samples, columns=None, scale=4, pad=1):
    """Images [N, C, H, W] (or [N, H, W]) with values in 0..1 tiled into one uint8 [rows, cols, 1 or 3] image
    (`columns` per row, default a square), `pad` dark pixels between tiles, every pixel repeated `scale` times
    each way."""
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim == 3:
        x = x[:, None]
    n, c, h, w = x.shape
    if c not in (1, 3):
        raise ValueError(f"samples with {c} channels are not images (1 or 3 channels)")
    columns = max(1, min(columns or math.ceil(math.sqrt(n)), n))
    rows = max(1, -(-n // columns))
    grid = np.zeros((rows * (h + pad) + pad, columns * (w + pad) + pad, c), dtype=np.float32)
    for i in range(n):
        top, left = pad + (i // columns) * (h + pad), pad + (i % columns) * (w + pad)
        grid[top:top + h, left:left + w] = np.nan_to_num(x[i]).transpose(1, 2, 0)
    grid = np.repeat(np.repeat(grid, scale, axis=0), scale, axis=1)
    return (np.clip(grid, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def png_bytes(image):
    """A uint8 [H, W, 1 or 3] image as a PNG file's bytes (greyscale or RGB, 8 bits; zlib only)."""
    image = np.ascontiguousarray(image, dtype=np.uint8)
    h, w, c = image.shape
    raw = b"".join(b"\x00" + image[row].tobytes() for row in range(h))  # filter type 0 on every row

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", w, h, 8, 0 if c == 1 else 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9))
            + chunk(b"IEND", b""))


def is_image_shape(shape):
    """Whether samples of this shape (one sample) can be drawn as images: [C, H, W] with 1 or 3 channels,
    or [H, W]."""
    return (len(shape) == 3 and shape[0] in (1, 3)) or len(shape) == 2
