"""Built-in (scikit-learn) datasets, the registry, load_dataset's config handling and the reshape rule."""

import numpy as np
import pytest

from graph_engine.catalog.spec import REQUIRED, Param, ParamKind
from graph_engine.data import (
    DATASETS,
    DataParamKind,
    DatasetError,
    autoencoder_targets,
    dataset_names,
    load_dataset,
)
from graph_engine.errors import ProjectError

TABLES = {"iris": (150, 4, 3), "wine": (178, 13, 3), "breast_cancer": (569, 30, 2)}


def test_digits_is_images_scaled_to_unit_range():
    ds = load_dataset({"name": "digits"})
    assert ds.X.shape == (1797, 1, 8, 8) and ds.X.dtype == np.float32
    assert ds.y.shape == (1797,) and ds.y.dtype == np.int64
    assert ds.kind == "image" and ds.task == "classification" and ds.num_classes == 10
    assert ds.class_names == tuple("0123456789")
    assert ds.X.min() == 0.0 and ds.X.max() == 1.0
    assert set(np.unique(ds.y)) == set(range(10))
    preview = ds.preview()
    assert preview["kind"] == "image" and len(preview["images"]) == 16
    assert all(img.shape == (8, 8) for img in preview["images"])
    assert set(preview["labels"][:10]) == set(range(10))  # the preview shows every class first
    assert preview["label_names"][0] == "0"


@pytest.mark.parametrize("name", list(TABLES))
def test_classification_tables_are_standardised(name):
    n, d, k = TABLES[name]
    ds = load_dataset({"name": name})
    assert ds.X.shape == (n, d) and ds.X.dtype == np.float32
    assert ds.y.shape == (n,) and ds.y.dtype == np.int64
    assert ds.kind == "table" and ds.task == "classification" and ds.num_classes == k
    assert len(ds.class_names) == k and len(ds.feature_names) == d
    np.testing.assert_allclose(ds.X.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(ds.X.std(axis=0), 1, atol=1e-4)
    preview = ds.preview()
    assert preview["columns"] == [*ds.feature_names, "target"]
    assert len(preview["rows"]) == 8 and all(len(r) == d + 1 for r in preview["rows"])
    assert preview["rows"][0][-1] in ds.class_names


def test_preview_shows_unstandardised_values():
    iris = load_dataset({"name": "iris"})
    raw = load_dataset({"name": "iris", "standardize": False})
    assert raw.feature_mean is None
    np.testing.assert_allclose(iris.preview()["rows"][0][:4], raw.X[0], rtol=1e-5)
    assert raw.preview()["rows"][0][:4] == pytest.approx([5.1, 3.5, 1.4, 0.2])


def test_diabetes_is_standardised_regression():
    ds = load_dataset({"name": "diabetes"})
    assert ds.X.shape == (442, 10) and ds.y.shape == (442, 1)
    assert ds.X.dtype == np.float32 and ds.y.dtype == np.float32
    assert ds.task == "regression" and ds.num_classes is None and ds.kind == "table"
    np.testing.assert_allclose(ds.y.mean(), 0, atol=1e-5)
    np.testing.assert_allclose(ds.y.std(), 1, atol=1e-4)
    assert ds.target_std is not None and float(ds.target_std[0]) > 10  # remembered for de-standardising
    first = ds.preview()["rows"][0]
    assert first[-1] == pytest.approx(151.0)  # the real target, not the standardised one


def test_reshape_to_the_input_shape():
    mlp = load_dataset({"name": "digits"}, input_shape=(64,))
    cnn = load_dataset({"name": "digits"}, input_shape=[1, 8, 8])
    assert mlp.X.shape == (1797, 64) and cnn.X.shape == (1797, 1, 8, 8)
    np.testing.assert_array_equal(mlp.X, cnn.X.reshape(1797, 64))
    assert mlp.preview()["images"][0].shape == (8, 8)  # still drawn as images
    assert load_dataset({"name": "iris"}, input_shape=(4,)).X.shape == (150, 4)
    assert load_dataset({"name": "sine"}, input_shape=(20,)).X.shape == (1000, 20)
    assert load_dataset({"name": "tokens"}, input_shape=(16,), input_dtype="int64").X.dtype == np.int64


def test_shape_mismatch_names_both_sizes_and_the_fix():
    with pytest.raises(DatasetError) as info:
        load_dataset({"name": "digits"}, input_shape=(1, 28, 28))
    err = info.value
    assert isinstance(err, ProjectError) and err.field == "training.dataset"
    assert "64" in err.message and "784" in err.message
    assert "[1, 8, 8]" in err.hint
    with pytest.raises(DatasetError, match="window to 30"):
        load_dataset({"name": "sine", "window": 20}, input_shape=(30, 1))
    with pytest.raises(DatasetError, match="seq_len to 8"):
        load_dataset({"name": "tokens"}, input_shape=(8,))


def test_dtype_mismatch_is_explained():
    with pytest.raises(DatasetError, match="int64"):
        load_dataset({"name": "tokens"}, input_shape=(16,), input_dtype="float32")
    with pytest.raises(DatasetError, match="float32"):
        load_dataset({"name": "iris"}, input_shape=(4,), input_dtype="int64")


def test_registry_params_are_typed():
    assert dataset_names() == tuple(DATASETS)
    expected = {"digits", "iris", "wine", "breast_cancer", "diabetes", "moons", "circles", "spirals", "xor",
                "sine", "sawtooth", "noisy", "tokens", "csv", "npz", "image_folder"}
    assert expected <= set(dataset_names())
    allowed = {ParamKind.INT, ParamKind.FLOAT, ParamKind.BOOL, ParamKind.CHOICE, DataParamKind.PATH,
               DataParamKind.TEXT}
    for info in DATASETS.values():
        assert info.name and info.title and info.description and callable(info.loader)
        for p in info.params:
            assert isinstance(p, Param) and p.kind in allowed and p.doc
            if p.kind in (ParamKind.INT, ParamKind.FLOAT):
                assert p.min is not None and p.max is not None and p.min <= p.default <= p.max
            if p.kind is ParamKind.CHOICE:
                assert p.default in p.choices
        if info.category != "user file":
            assert all(p.default is not REQUIRED for p in info.params)
            config = info.default_config()
            assert load_dataset(config).task == info.task


def test_unknown_names_and_params():
    with pytest.raises(DatasetError, match="unknown dataset 'digit'") as info:
        load_dataset({"name": "digit"})
    assert "'digits'" in info.value.hint
    with pytest.raises(DatasetError, match="no param 'nsamples'") as info:
        load_dataset({"name": "moons", "nsamples": 10})
    assert "'n_samples'" in info.value.hint
    with pytest.raises(DatasetError, match="takes no params"):
        load_dataset({"name": "digits", "noise": 0.1})
    with pytest.raises(DatasetError, match="noise must be between 0 and 2"):
        load_dataset({"name": "moons", "noise": 5})
    with pytest.raises(DatasetError, match="whole number"):
        load_dataset({"name": "moons", "n_samples": 10.5})
    with pytest.raises(DatasetError, match="rule must be one of"):
        load_dataset({"name": "tokens", "rule": "sum"})
    with pytest.raises(DatasetError, match="no name"):
        load_dataset({"n_samples": 3})
    with pytest.raises(DatasetError, match="must be an object"):
        load_dataset(["digits"])
    assert load_dataset(None).name == "digits"


def test_autoencoder_targets_are_the_inputs():
    ds = autoencoder_targets(load_dataset({"name": "digits"}, input_shape=(64,)))
    assert ds.task == "regression" and ds.y.shape == ds.X.shape and ds.y.dtype == np.float32
    np.testing.assert_array_equal(ds.y, ds.X)
    assert ds.y is not ds.X and ds.labels is not None and ds.labels.shape == (1797,)
    preview = ds.preview()
    assert len(preview["images"]) == 16 and preview["label_names"][0] == "0"
    with pytest.raises(DatasetError, match="token ids"):
        autoencoder_targets(load_dataset({"name": "tokens"}))
