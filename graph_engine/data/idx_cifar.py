"""The image files people already have: MNIST / Fashion-MNIST IDX files and CIFAR-10 binary batches.

IDX (http://yann.lecun.com/exdb/mnist/): two zero bytes, a type code (0x08: unsigned bytes, the only one these
files use), the number of dimensions, then each dimension as a big-endian uint32, then the values. An images
file is [N, rows, cols], a labels file [N]. Either may be gzip-compressed (`.gz`, as they are distributed).

CIFAR-10 binary version (data_batch_1.bin ... test_batch.bin): records of 1 label byte and 3072 pixel bytes
(1024 red, 1024 green, 1024 blue, row-major 32x32). Only this version is read: the "python version" is a
pickle, and nothing from a file is ever executed or unpickled.

Sizes are known from a header (IDX) or the file size (CIFAR) before anything is decoded, so the memory
budget (limits.py) is checked first; a gzip file is read for exactly the bytes its header announces, so a
compressed bomb never inflates past them.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from graph_engine.data.base import Dataset
from graph_engine.data.files import file_error, need_file
from graph_engine.data.limits import check_fits

IDX_UBYTE = 0x08
DIGIT_NAMES = tuple(str(i) for i in range(10))
FASHION_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                 "Ankle boot")
CIFAR10_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
CIFAR_RECORD = 1 + 3 * 32 * 32
MAX_IDX_SIDE = 4096


def _open(path: Path):
    with open(path, "rb") as fh:
        gz = fh.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gz else open(path, "rb")


def _read_idx(path: Path, ndim: int, what: str, hint: str) -> np.ndarray:
    need_file(path, what, hint)
    try:
        with _open(path) as fh:
            head = fh.read(4)
            if len(head) < 4 or head[:2] != b"\0\0":
                raise file_error(f"{what} is not an IDX file (it does not start with an IDX header)", path, hint)
            if head[2] != IDX_UBYTE:
                raise file_error(f"{what} holds IDX type 0x{head[2]:02x}; only unsigned bytes (0x08, as in MNIST) "
                                 "are read", path, hint)
            if head[3] != ndim:
                raise file_error(f"{what} has {head[3]} dimensions, not {ndim}", path, hint)
            raw = fh.read(4 * ndim)
            if len(raw) < 4 * ndim:
                raise file_error(f"{what} ends inside its header", path, hint)
            dims = struct.unpack(f">{ndim}I", raw)
            if any(d > MAX_IDX_SIDE for d in dims[1:]) or dims[0] == 0:
                raise file_error(f"{what} declares an unusable shape {list(dims)}", path, hint)
            count = int(np.prod(dims, dtype=np.int64))
            check_fits(count * 5, f"{what} ({list(dims)})", "use a smaller file", path=str(path))
            data = fh.read(count)
            if len(data) < count:
                raise file_error(f"{what} is cut short: its header announces {count} values but it holds "
                                 f"{len(data)}", path, "download the file again")
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise file_error(f"cannot read {what} ({exc.__class__.__name__})", path, hint) from None
    return np.frombuffer(data, dtype=np.uint8).reshape(dims)


def load_idx(path: Path, labels: Path, classes: str = "digits") -> Dataset:
    """MNIST-style images and labels: [N, 1, rows, cols] float32 0..1 and int64 classes."""
    hint = "point path at the images file (…-images-idx3-ubyte[.gz]) and labels at the labels file"
    images = _read_idx(Path(path), 3, "the IDX images file", hint)
    y = _read_idx(Path(labels), 1, "the IDX labels file", hint).astype(np.int64)
    if len(y) != len(images):
        raise file_error(f"the labels file has {len(y)} labels but the images file {len(images)} images", labels,
                         "use the labels file that belongs to the images (train with train, t10k with t10k)")
    if y.max() > 9:
        raise file_error(f"the labels file holds label {int(y.max())}; MNIST labels are 0-9", labels, hint)
    X = (images.astype(np.float32) / 255.0)[:, None]
    names = FASHION_NAMES if classes == "fashion" else DIGIT_NAMES
    return Dataset(name="idx", X=X, y=y, task="classification", kind="image", num_classes=10, class_names=names,
                   image_shape=tuple(X.shape[1:]), source=str(path), description=f"IDX images from {Path(path).name}")


def _cifar_files(path: Path, hint: str) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix == ".bin" and p.is_file())
        if not files:
            raise file_error("the folder holds no CIFAR-10 .bin batch", path, hint)
        return files
    need_file(path, "the CIFAR-10 batch", hint)
    return [path]


def load_cifar10(path: Path) -> Dataset:
    """CIFAR-10 binary batches (one file, or every .bin in a folder): [N, 3, 32, 32] float32 0..1."""
    hint = "point path at a CIFAR-10 *binary* batch (data_batch_1.bin) or its folder; the python (pickle) " \
           "version is not read"
    files = _cifar_files(Path(path), hint)
    sizes = [f.stat().st_size for f in files]
    for f, size in zip(files, sizes, strict=True):
        if size == 0 or size % CIFAR_RECORD:
            raise file_error(f"not a CIFAR-10 binary batch: its size is not a whole number of {CIFAR_RECORD}-byte "
                             "records", f, hint)
    n = sum(sizes) // CIFAR_RECORD
    check_fits(n * CIFAR_RECORD * 5, f"the CIFAR-10 batches ({n} images)", "use fewer batches", path=str(path))
    try:
        records = np.concatenate([np.fromfile(f, dtype=np.uint8) for f in files]).reshape(n, CIFAR_RECORD)
    except OSError as exc:
        raise file_error(f"cannot read the CIFAR-10 batch ({exc.__class__.__name__})", path, hint) from None
    y = records[:, 0].astype(np.int64)
    if y.max() > 9:
        raise file_error(f"a record has label {int(y.max())}; CIFAR-10 labels are 0-9 (a CIFAR-100 file?)", path,
                         hint)
    X = records[:, 1:].reshape(n, 3, 32, 32).astype(np.float32) / 255.0
    return Dataset(name="cifar10", X=X, y=y, task="classification", kind="image", num_classes=10,
                   class_names=CIFAR10_NAMES, image_shape=(3, 32, 32), source=str(path),
                   description=f"CIFAR-10 binary batches: {', '.join(f.name for f in files)}")


__all__ = ["CIFAR10_NAMES", "FASHION_NAMES", "load_cifar10", "load_idx"]
