"""User data on real files the tests write: CSV, .npz and a folder of images."""

import numpy as np
import pytest
from PIL import Image

from graph_engine.data import DatasetError, load_dataset

IRIS_LIKE = """sepal_len,sepal_wid,species
5.1,3.5,setosa
4.9,3.0,setosa
7.0,3.2,versicolor
6.4,3.2,versicolor
6.3,3.3,virginica
5.8,2.7,virginica
"""


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_numeric_features_and_string_labels(tmp_path):
    path = _write(tmp_path / "flowers.csv", IRIS_LIKE)
    ds = load_dataset({"name": "csv", "path": str(path), "target": "species"})
    assert ds.X.shape == (6, 2) and ds.X.dtype == np.float32
    assert ds.y.tolist() == [0, 0, 1, 1, 2, 2] and ds.y.dtype == np.int64
    assert ds.task == "classification" and ds.num_classes == 3 and ds.kind == "table"
    assert ds.class_names == ("setosa", "versicolor", "virginica")
    assert ds.feature_names == ("sepal_len", "sepal_wid")
    np.testing.assert_allclose(ds.X.mean(axis=0), 0, atol=1e-6)
    np.testing.assert_allclose(ds.feature_mean, [5.9166667, 3.15], rtol=1e-5)
    assert ds.source == str(path)
    preview = ds.preview()
    assert preview["columns"] == ["sepal_len", "sepal_wid", "target"]
    assert preview["rows"][0] == [5.1, 3.5, "setosa"]


def test_csv_relative_path_default_target_and_semicolons(tmp_path):
    _write(tmp_path / "data.csv", "a;b;label\n1;2;0\n3;4;1\n5;6;1\n7;8;0\n")
    ds = load_dataset({"name": "csv", "path": "data.csv", "standardize": False}, base_dir=tmp_path)
    assert ds.X.tolist() == [[1, 2], [3, 4], [5, 6], [7, 8]]
    assert ds.task == "classification" and ds.class_names == ("0", "1")  # small whole numbers
    assert load_dataset({"name": "csv", "path": "data.csv", "task": "regression"}, base_dir=tmp_path).task == \
        "regression"


def test_csv_float_target_is_regression(tmp_path):
    rows = "\n".join(f"{i},{i * 0.5 + 0.25}" for i in range(10))
    path = _write(tmp_path / "reg.csv", "x,price\n" + rows + "\n")
    ds = load_dataset({"name": "csv", "path": str(path), "target": "price"})
    assert ds.task == "regression" and ds.y.shape == (10, 1) and ds.y.dtype == np.float32
    assert ds.num_classes is None and ds.target_std is not None
    np.testing.assert_allclose(ds.y.mean(), 0, atol=1e-6)
    assert ds.preview()["rows"][1][-1] == pytest.approx(0.75)  # the real value, not the standardised one
    forced = load_dataset({"name": "csv", "path": str(path), "target": "price", "task": "classification"})
    assert forced.num_classes == 10


def test_csv_non_numeric_feature_column_is_refused(tmp_path):
    path = _write(tmp_path / "bad.csv", "colour,size,label\nred,1,a\nblue,2,b\n")
    with pytest.raises(DatasetError) as info:
        load_dataset({"name": "csv", "path": str(path), "target": "label"})
    err = info.value
    assert "'colour'" in err.message and "not numeric" in err.message and "'red'" in err.message
    assert str(path) in err.message and err.path == str(path) and err.field == "training.dataset"
    assert "colour" in err.hint


def test_csv_missing_target_and_file_errors(tmp_path):
    path = _write(tmp_path / "flowers.csv", IRIS_LIKE)
    with pytest.raises(DatasetError, match="no column 'specie'") as info:
        load_dataset({"name": "csv", "path": str(path), "target": "specie"})
    assert "'species'" in info.value.hint
    with pytest.raises(DatasetError, match="CSV file not found"):
        load_dataset({"name": "csv", "path": str(tmp_path / "nope.csv")})
    with pytest.raises(DatasetError, match="CSV file is empty"):
        load_dataset({"name": "csv", "path": str(_write(tmp_path / "empty.csv", "\n\n"))})
    with pytest.raises(DatasetError, match="no data rows"):
        load_dataset({"name": "csv", "path": str(_write(tmp_path / "head.csv", "a,b\n"))})
    with pytest.raises(DatasetError, match="row 3 has 2 values"):
        load_dataset({"name": "csv", "path": str(_write(tmp_path / "ragged.csv", "a,b,c\n1,2,3\n4,5\n"))})
    with pytest.raises(DatasetError, match="'b' is empty in row 2"):
        load_dataset({"name": "csv", "path": str(_write(tmp_path / "hole.csv", "a,b,c\n1,,x\n2,3,y\n"))})
    with pytest.raises(DatasetError, match="needs 'path'"):
        load_dataset({"name": "csv"})
    (tmp_path / "latin.csv").write_bytes("a,b\n1,caf\xe9\n".encode("latin-1"))
    with pytest.raises(DatasetError, match="not UTF-8"):
        load_dataset({"name": "csv", "path": str(tmp_path / "latin.csv")})


def test_npz_good_and_errors(tmp_path):
    rng = np.random.default_rng(0)
    good = tmp_path / "data.npz"
    np.savez(good, X=rng.normal(size=(20, 3)), y=np.arange(20) % 4)
    ds = load_dataset({"name": "npz", "path": str(good)})
    assert ds.X.shape == (20, 3) and ds.X.dtype == np.float32 and ds.kind == "table"
    assert ds.task == "classification" and ds.num_classes == 4 and ds.y.dtype == np.int64
    np.savez(tmp_path / "reg.npz", X=rng.normal(size=(20, 5, 1)), y=rng.normal(size=20))
    reg = load_dataset({"name": "npz", "path": "reg.npz"}, base_dir=tmp_path)
    assert reg.task == "regression" and reg.kind == "series" and reg.y.shape == (20, 1)
    np.savez(tmp_path / "img.npz", X=rng.random((6, 8, 8)), y=np.array(["a", "b"] * 3))
    img = load_dataset({"name": "npz", "path": "img.npz", "kind": "image"}, base_dir=tmp_path)
    assert img.X.shape == (6, 1, 8, 8) and img.class_names == ("a", "b") and len(img.preview()["images"]) == 6

    np.savez(tmp_path / "nox.npz", features=np.zeros((3, 2)), y=np.zeros(3))
    with pytest.raises(DatasetError, match="no array 'X'") as info:
        load_dataset({"name": "npz", "path": str(tmp_path / "nox.npz")})
    assert "features" in info.value.message and "savez" in info.value.hint
    _write(tmp_path / "fake.npz", "not a zip")
    with pytest.raises(DatasetError, match="not a readable NumPy"):
        load_dataset({"name": "npz", "path": str(tmp_path / "fake.npz")})
    np.savez(tmp_path / "short.npz", X=np.zeros((3, 2)), y=np.zeros(4))
    with pytest.raises(DatasetError, match="X has 3 samples but y has 4"):
        load_dataset({"name": "npz", "path": str(tmp_path / "short.npz")})
    with pytest.raises(DatasetError, match="NumPy file not found"):
        load_dataset({"name": "npz", "path": str(tmp_path / "missing.npz")})


def _image_folder(root, size=(10, 12), mode="RGB"):
    rng = np.random.default_rng(0)
    for cls, base in (("cat", 40), ("dog", 200)):
        (root / cls).mkdir(parents=True)
        for i in range(3):
            shape = (size[1], size[0], 3) if mode == "RGB" else (size[1], size[0])
            pixels = np.clip(base + rng.integers(-20, 20, size=shape), 0, 255).astype(np.uint8)
            Image.fromarray(pixels, mode=mode).save(root / cls / f"{i}.png")
    _write(root / "dog" / "notes.txt", "not an image")
    _write(root / "README.txt", "stray file at the top")
    return root


def test_image_folder_grayscale(tmp_path):
    root = _image_folder(tmp_path / "pets")
    ds = load_dataset({"name": "image_folder", "path": str(root), "size": 16})
    assert ds.X.shape == (6, 1, 16, 16) and ds.X.dtype == np.float32
    assert ds.y.tolist() == [0, 0, 0, 1, 1, 1] and ds.class_names == ("cat", "dog")
    assert ds.kind == "image" and ds.image_shape == (1, 16, 16)
    assert 0.0 <= ds.X.min() and ds.X.max() <= 1.0
    assert ds.X[ds.y == 0].mean() < 0.3 < 0.6 < ds.X[ds.y == 1].mean()
    assert len(ds.warnings) == 2
    assert any("notes.txt" in w for w in ds.warnings) and any("README.txt" in w for w in ds.warnings)
    preview = ds.preview()
    assert len(preview["images"]) == 6 and preview["images"][0].shape == (16, 16)
    assert preview["label_names"][:2] == ["cat", "dog"] and preview["warnings"] == list(ds.warnings)
    flat = load_dataset({"name": "image_folder", "path": str(root), "size": 16}, input_shape=(256,))
    assert flat.X.shape == (6, 256)
    with pytest.raises(DatasetError, match="size to 28"):
        load_dataset({"name": "image_folder", "path": str(root), "size": 16}, input_shape=(1, 28, 28))


def test_image_folder_rgb(tmp_path):
    root = _image_folder(tmp_path / "pets", mode="L")
    ds = load_dataset({"name": "image_folder", "path": "pets", "color": "rgb", "size": 8}, base_dir=tmp_path)
    assert ds.X.shape == (6, 3, 8, 8) and ds.image_shape == (3, 8, 8)
    assert ds.preview()["images"][0].shape == (8, 8, 3)
    assert root.exists()


def test_image_folder_errors(tmp_path):
    with pytest.raises(DatasetError, match="image folder not found"):
        load_dataset({"name": "image_folder", "path": str(tmp_path / "nowhere")})
    empty = tmp_path / "empty"
    (empty / "a").mkdir(parents=True)
    _write(empty / "a" / "x.txt", "text")
    with pytest.raises(DatasetError, match="no images found") as info:
        load_dataset({"name": "image_folder", "path": str(empty)})
    assert str(empty) in info.value.message and "sub-folder" in info.value.hint
    Image.new("L", (4, 4)).save(empty / "a" / "one.png")
    with pytest.raises(DatasetError, match="only one class"):
        load_dataset({"name": "image_folder", "path": str(empty)})
    with pytest.raises(DatasetError, match="not a folder"):
        load_dataset({"name": "image_folder", "path": str(empty / "a" / "x.txt")})
