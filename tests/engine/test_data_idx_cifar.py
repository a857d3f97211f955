"""MNIST IDX files (plain and .gz) and CIFAR-10 binary batches, on small files written here in those formats."""

import gzip
import struct

import numpy as np
import pytest

from graph_engine.data import DatasetError, load_dataset
from graph_engine.data.limits import ENV_VAR


def write_idx(path, array, opener=open):
    with opener(path, "wb") as fh:
        fh.write(bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape))
        fh.write(array.astype(np.uint8).tobytes())


@pytest.fixture
def mnist(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (12, 28, 28))
    labels = np.arange(12) % 10
    write_idx(tmp_path / "train-images-idx3-ubyte", images)
    write_idx(tmp_path / "train-labels-idx1-ubyte", labels)
    write_idx(tmp_path / "t-images.gz", images, gzip.open)
    write_idx(tmp_path / "t-labels.gz", labels, gzip.open)
    return tmp_path, images, labels


@pytest.mark.parametrize(("images", "labels"), [("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
                                                 ("t-images.gz", "t-labels.gz")])
def test_idx_plain_and_gz(mnist, images, labels):
    folder, pixels, classes = mnist
    ds = load_dataset({"name": "idx", "path": images, "labels": labels, "classes": "fashion"}, (1, 28, 28),
                      base_dir=folder)
    assert ds.X.shape == (12, 1, 28, 28) and ds.X.dtype == np.float32
    assert np.array_equal(ds.X[:, 0], pixels.astype(np.float32) / np.float32(255.0)) and np.array_equal(ds.y, classes)
    assert ds.class_names[9] == "Ankle boot" and ds.kind == "image"


def test_idx_errors_name_the_file(mnist, tmp_path):
    folder, pixels, _ = mnist
    base = {"name": "idx", "path": "train-images-idx3-ubyte", "labels": "train-labels-idx1-ubyte"}
    with pytest.raises(DatasetError, match="3 dimensions, not 1"):
        load_dataset({**base, "labels": "train-images-idx3-ubyte"}, base_dir=folder)
    with pytest.raises(DatasetError, match="not found"):
        load_dataset({**base, "labels": "missing"}, base_dir=folder)
    (folder / "junk").write_bytes(b"PK\x03\x04 not idx")
    with pytest.raises(DatasetError, match="not an IDX file") as info:
        load_dataset({**base, "path": "junk"}, base_dir=folder)
    assert info.value.path == str(folder / "junk")
    short = (folder / "train-images-idx3-ubyte").read_bytes()[:500]
    (folder / "short").write_bytes(short)
    with pytest.raises(DatasetError, match="cut short"):
        load_dataset({**base, "path": "short"}, base_dir=folder)
    write_idx(folder / "few-labels", np.zeros(5))
    with pytest.raises(DatasetError, match="5 labels but the images file 12"):
        load_dataset({**base, "labels": "few-labels"}, base_dir=folder)


def test_idx_gzip_bomb_is_refused_by_its_header(tmp_path, monkeypatch):
    # The header announces 60000 images; the budget refuses before any of them is inflated.
    with gzip.open(tmp_path / "big.gz", "wb") as fh:
        fh.write(bytes([0, 0, 0x08, 3]) + struct.pack(">3I", 60000, 28, 28) + bytes(1000))
    write_idx(tmp_path / "labels", np.zeros(60000))
    monkeypatch.setenv(ENV_VAR, "10M")
    with pytest.raises(DatasetError, match="use a smaller file"):
        load_dataset({"name": "idx", "path": "big.gz", "labels": "labels"}, base_dir=tmp_path)


def write_cifar(path, labels, rng):
    records = np.concatenate([np.asarray(labels, dtype=np.uint8)[:, None],
                              rng.integers(0, 256, (len(labels), 3072)).astype(np.uint8)], axis=1)
    path.write_bytes(records.tobytes())
    return records


def test_cifar_file_and_folder(tmp_path):
    rng = np.random.default_rng(1)
    (tmp_path / "batches").mkdir()
    a = write_cifar(tmp_path / "batches" / "data_batch_1.bin", [3, 1, 4], rng)
    b = write_cifar(tmp_path / "batches" / "data_batch_2.bin", [1, 5], rng)
    (tmp_path / "batches" / "batches.meta.txt").write_text("airplane\n")
    one = load_dataset({"name": "cifar10", "path": "batches/data_batch_1.bin"}, (3, 32, 32), base_dir=tmp_path)
    assert one.X.shape == (3, 3, 32, 32) and one.y.tolist() == [3, 1, 4] and one.class_names[3] == "cat"
    red = a[0, 1:1025].reshape(32, 32) / np.float32(255.0)
    assert np.array_equal(one.X[0, 0], red)  # channel-first: the first 1024 bytes are the red plane
    both = load_dataset({"name": "cifar10", "path": "batches"}, base_dir=tmp_path)
    assert both.y.tolist() == [3, 1, 4, 1, 5] and np.array_equal(both.X[4, 2].ravel(), b[1, 2049:] / np.float32(255))


def test_cifar_errors(tmp_path):
    import pickle

    (tmp_path / "data_batch_1").write_bytes(pickle.dumps({"data": [1, 2, 3]}))  # the python version
    with pytest.raises(DatasetError, match="not a CIFAR-10 binary batch") as info:
        load_dataset({"name": "cifar10", "path": "data_batch_1"}, base_dir=tmp_path)
    assert "pickle" in info.value.hint
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no CIFAR-10 .bin batch"):
        load_dataset({"name": "cifar10", "path": "empty"}, base_dir=tmp_path)
    write_cifar(tmp_path / "c100.bin", [42], np.random.default_rng(0))
    with pytest.raises(DatasetError, match="CIFAR-100"):
        load_dataset({"name": "cifar10", "path": "c100.bin"}, base_dir=tmp_path)
