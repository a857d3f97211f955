"""A folder of images with one sub-folder per class, as a Dataset.

Layout: `path/<class name>/<image files>`; class names are the sorted sub-folder names. Images are converted
to grayscale (1 channel) or RGB (3 channels), resized to `size` x `size` (aspect ratio not kept) and scaled to
0..1: X [N, C, size, size] float32. 16-bit images (PNG/TIFF modes I;16 and I) are scaled by 1/65535, not
clipped to white as a plain `convert("L")` would.

Two passes. `scan_folder` lists the files and opens each one's header only (format and size, no pixels):
files that are not images, that are not regular files (a named pipe would block the reader forever, a device
never end) or whose header claims more pixels than Pillow's decompression-bomb limit are skipped and listed
in `Dataset.warnings` with the reason. Then the pixels are decoded into one preallocated array when it fits
the memory budget (`limits.memory_budget()`); a folder that does not fit gets a `LazyImages` X instead,
decoded batch by batch as the training loop asks for it, so a folder of any size trains with memory bounded
by a batch. Pillow's DecompressionBombWarning is turned into that skip message instead of being printed raw.
"""

from __future__ import annotations

import os
import warnings as py_warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from graph_engine.data.base import Dataset, DatasetError
from graph_engine.data.files import file_error
from graph_engine.data.limits import format_bytes, memory_budget

IMAGE_SUFFIX_HINT = "PNG, JPEG, BMP, GIF, TIFF or WebP"
LAYOUT_HINT = "put the images in one sub-folder per class: FOLDER/cat/1.png, FOLDER/dog/2.png, ..."


@dataclass
class FolderScan:
    """What `scan_folder` found: one (file, label) per image, the class names, and what was skipped."""

    files: list[Path] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _bomb_message(rel: str) -> str:
    from PIL import Image

    limit = Image.MAX_IMAGE_PIXELS
    return (f"skipped {rel}: its header claims more than {limit} pixels, a possible decompression bomb "
            "(LayerLoom does not decode it)")


def _check_header(file: Path, rel: str) -> str | None:
    """None when `file` is an image Pillow can decode safely; else the warning that says why it is skipped."""
    from PIL import Image, UnidentifiedImageError

    if not file.is_file():
        return f"skipped {rel}: not a regular file (a named pipe or device?)"
    try:
        with py_warnings.catch_warnings():
            py_warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(file):
                pass
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return _bomb_message(rel)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return f"skipped {rel}: not an image ({IMAGE_SUFFIX_HINT} expected)"
    return None


def scan_folder(path: Path) -> FolderScan:
    """The images of an image folder, checked by their headers (see the module docstring)."""
    path = Path(path)
    if not path.exists():
        raise file_error("image folder not found", path,
                         "check the path (relative paths start at the project file's folder)")
    if not path.is_dir():
        raise file_error("not a folder", path, LAYOUT_HINT)
    scan = FolderScan()
    try:
        entries = sorted(path.iterdir())
    except OSError as exc:
        raise file_error(f"cannot list the folder ({exc.strerror or exc})", path, "check its permissions") from None
    class_dirs = []
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            class_dirs.append(entry)
        else:
            scan.warnings.append(f"skipped {entry.name}: files must be inside a class sub-folder")
    for class_dir in class_dirs:
        found = 0
        try:
            files = sorted(class_dir.iterdir())
        except OSError:
            scan.warnings.append(f"skipped folder {class_dir.name}: it cannot be read")
            continue
        for file in files:
            if file.name.startswith("."):
                continue
            rel = f"{class_dir.name}/{file.name}"
            if file.is_dir():
                scan.warnings.append(f"skipped {rel}/: nested folders are not read")
                continue
            problem = _check_header(file, rel)
            if problem is not None:
                scan.warnings.append(problem)
                continue
            scan.files.append(file)
            scan.labels.append(len(scan.names))
            found += 1
        if found:
            scan.names.append(class_dir.name)
        else:
            scan.warnings.append(f"skipped class {class_dir.name!r}: its folder holds no images")
    if not scan.files:
        raise file_error("no images found in the folder", path, LAYOUT_HINT)
    if len(scan.names) < 2:
        raise file_error(f"only one class ({scan.names[0]!r}) has images; a classifier needs at least 2", path,
                         LAYOUT_HINT)
    return scan


def decode_image(file, channels, size):
    """One image as float32 [channels, size, size] in 0..1. Raises OSError/ValueError (or Pillow's errors).

    Self-contained (its imports inside, no module-level names): the exported train.py copies its source, so
    the script decodes exactly as the app does.
    """
    import warnings

    import numpy as np
    from PIL import Image, ImageOps

    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(file) as img:
            img = ImageOps.exif_transpose(img)
            if img.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):  # 16-bit: convert("L") would clip to white
                raw = np.asarray(img, dtype=np.float32)
                scale = 65535.0 if img.mode != "I" or raw.max(initial=0) <= 65535 else float(2**32 - 1)
                gray = Image.fromarray(np.clip(raw / scale, 0.0, 1.0).astype(np.float32))
                arr = np.asarray(gray.resize((size, size), Image.Resampling.BILINEAR), dtype=np.float32)
                arr = np.clip(arr, 0.0, 1.0)[None]
                return np.repeat(arr, 3, axis=0) if channels == 3 else arr
            if img.mode == "P":
                img = img.convert("RGBA")
            img = img.convert("L" if channels == 1 else "RGB").resize((size, size), Image.Resampling.BILINEAR)
            arr = np.asarray(img, dtype=np.float32) / 255.0
    return arr[None] if channels == 1 else np.moveaxis(arr, -1, 0)


class LazyImages:
    """The images of a folder, decoded when a batch is asked for: a stand-in for X [N, C, H, W] when the
    decoded folder would not fit in memory (see `load_image_folder`).

    What the training engine does with X works on it: `len`, `shape`, `dtype`, `reshape` (one sample's shape,
    same element count), `take_lazy(indices)` (a subset, still lazy), `to(device)`, and indexing with an int, a
    slice or an index array/tensor, which decodes those images (in a thread pool: Pillow releases the GIL while
    it decodes) and returns a float32 torch tensor on the device. The values are exactly the eager loader's
    (the same `decode_image`), so a lazy run trains like an in-memory one, batch for batch.
    """

    dtype = np.dtype(np.float32)

    def __init__(self, files: list[Path], channels: int, size: int, sample_shape: tuple[int, ...] | None = None,
                 device: object = None):
        self.files = list(files)
        self.channels = channels
        self.size = size
        self.sample_shape = tuple(sample_shape or (channels, size, size))
        self._device = device

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.files), *self.sample_shape)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def nbytes(self) -> int:
        return len(self.files) * self.channels * self.size * self.size * 4

    @property
    def device(self):
        import torch

        return torch.device("cpu") if self._device is None else torch.device(self._device)

    def __len__(self) -> int:
        return len(self.files)

    def _like(self, files: list[Path], sample_shape: tuple[int, ...] | None = None, device: object = None):
        return LazyImages(files, self.channels, self.size, sample_shape or self.sample_shape,
                          self._device if device is None else device)

    def take_lazy(self, indices) -> LazyImages:
        return self._like([self.files[int(i)] for i in np.asarray(indices, dtype=np.int64).reshape(-1)])

    def reshape(self, shape) -> LazyImages:
        shape = tuple(int(d) for d in shape)
        if shape[0] != len(self) or int(np.prod(shape[1:])) != int(np.prod(self.sample_shape)):
            raise ValueError(f"cannot view {list(self.shape)} as {list(shape)}")
        return self._like(self.files, shape[1:])

    def to(self, device) -> LazyImages:
        return self._like(self.files, device=device)

    def astype(self, *args, **kwargs):
        raise DatasetError("this image folder is decoded batch by batch (it does not fit in memory), so it "
                           "cannot also be held as reconstruction targets", "use a smaller size or fewer images")

    def __array__(self, dtype=None, copy=None):
        raise DatasetError("this image folder is decoded batch by batch (it does not fit in memory)",
                           "use a smaller size or fewer images")

    def __getitem__(self, index):
        import torch

        if isinstance(index, int | np.integer):
            return torch.from_numpy(self._decode([self.files[int(index)]])[0]).to(self.device)
        if isinstance(index, slice):
            files = self.files[index]
        else:
            if isinstance(index, torch.Tensor):
                index = index.cpu().numpy()
            files = [self.files[int(i)] for i in np.asarray(index, dtype=np.int64).reshape(-1)]
        return torch.from_numpy(self._decode(files)).to(self.device)

    def _decode(self, files: list[Path]) -> np.ndarray:
        out = np.empty((len(files), self.channels, self.size, self.size), dtype=np.float32)
        if files:
            def one(i: int) -> None:
                try:
                    out[i] = decode_image(files[i], self.channels, self.size)
                except Exception:  # noqa: BLE001 - a file changed or broke after the scan: a black image
                    out[i] = 0.0

            list(_pool().map(one, range(len(files))))
        return out.reshape((len(files), *self.sample_shape))


_POOL = None


def _pool():
    global _POOL
    if _POOL is None:
        from concurrent.futures import ThreadPoolExecutor

        _POOL = ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1)), thread_name_prefix="decode")
    return _POOL


def is_lazy(X: object) -> bool:
    return isinstance(X, LazyImages)


def load_image_folder(path: Path, color: str = "grayscale", size: int = 28) -> Dataset:
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    scan = scan_folder(path)
    channels = 1 if color == "grayscale" else 3
    labels = np.array(scan.labels, dtype=np.int64)
    common = dict(name="image_folder", y=labels, task="classification", kind="image", num_classes=len(scan.names),
                  class_names=tuple(scan.names), image_shape=(channels, size, size), source=str(path))
    if len(scan.files) * channels * size * size * 4 > memory_budget():
        X = LazyImages(scan.files, channels, size)
        return Dataset(X=X, warnings=(*scan.warnings, f"the {len(X)} images do not fit in memory "
                                      f"({format_bytes(X.nbytes)}): they are decoded batch by batch"),
                       description=f"{path.name}: {len(X)} images in {len(scan.names)} classes, {color} "
                                   f"{size}x{size}, decoded batch by batch", **common)
    X = np.empty((len(scan.files), channels, size, size), dtype=np.float32)
    keep = np.ones(len(scan.files), dtype=bool)
    warnings = list(scan.warnings)
    for i, file in enumerate(scan.files):
        rel = f"{file.parent.name}/{file.name}"
        try:
            X[i] = decode_image(file, channels, size)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            warnings.append(_bomb_message(rel))
            keep[i] = False
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
            warnings.append(f"skipped {rel}: the image cannot be decoded (damaged or truncated?)")
            keep[i] = False
    if not keep.all():
        X, labels = X[keep], labels[keep]
        if len(np.unique(labels)) < 2:
            raise file_error("fewer than 2 classes have images that decode; a classifier needs at least 2", path,
                             LAYOUT_HINT)
    common["y"] = labels
    return Dataset(X=X, warnings=tuple(warnings),
                   description=f"{path.name}: {len(X)} images in {len(scan.names)} classes, {color} {size}x{size}",
                   **common)


__all__ = ["IMAGE_SUFFIX_HINT", "FolderScan", "LazyImages", "decode_image", "is_lazy", "load_image_folder",
           "scan_folder"]
