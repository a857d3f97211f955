"""Procedural image datasets (graph_engine/data/procedural_images.py): real sizes, balanced classes, the same
images for the same seed, every glyph drawn, and the usual registry errors."""

import numpy as np
import pytest

from graph_engine.data import DatasetError, load_dataset
from graph_engine.data.limits import ENV_VAR
from graph_engine.data.procedural_images import DIGIT_NAMES, SHAPE_NAMES


@pytest.mark.parametrize(("name", "classes"), [("stroke_digits", DIGIT_NAMES), ("shapes", SHAPE_NAMES)])
@pytest.mark.parametrize(("color", "shape"), [("grayscale", (1, 28, 28)), ("rgb", (3, 32, 32))])
def test_images_have_real_sizes_and_balanced_classes(name, classes, color, shape):
    ds = load_dataset({"name": name, "n_samples": 120, "color": color})
    assert ds.X.shape == (120, *shape) and ds.X.dtype == np.float32
    assert ds.kind == "image" and ds.image_shape == shape and ds.task == "classification"
    assert ds.class_names == classes and ds.num_classes == len(classes)
    assert ds.X.min() >= 0.0 and ds.X.max() <= 1.0
    assert set(np.bincount(ds.y, minlength=len(classes)).tolist()) <= {120 // len(classes), 120 // len(classes) + 1}


def test_same_seed_same_images_other_seed_other_images():
    a = load_dataset({"name": "stroke_digits", "n_samples": 50, "seed": 3})
    b = load_dataset({"name": "stroke_digits", "n_samples": 50, "seed": 3})
    c = load_dataset({"name": "stroke_digits", "n_samples": 50, "seed": 4})
    assert np.array_equal(a.X, b.X) and np.array_equal(a.y, b.y)
    assert not np.array_equal(a.X, c.X)


def test_every_class_draws_a_stroke_and_classes_differ():
    ds = load_dataset({"name": "stroke_digits", "n_samples": 200, "noise": 0.0, "seed": 1})
    means = []
    for k in range(10):
        images = ds.X[ds.y == k, 0]
        ink = (images > 0.5).mean(axis=(1, 2))
        assert (ink > 0.02).all() and (ink < 0.5).all(), k  # a stroke, not an empty or a filled square
        means.append(images.mean(axis=0))
    # The average images of two classes are far apart: the glyphs are not the same drawing.
    gaps = [np.abs(means[i] - means[j]).mean() for i in range(10) for j in range(i + 1, 10)]
    assert min(gaps) > 0.02


def test_noise_varies_the_background():
    clean = load_dataset({"name": "shapes", "n_samples": 30, "noise": 0.0})
    noisy = load_dataset({"name": "shapes", "n_samples": 30, "noise": 0.3})
    assert (clean.X[:, :, :2, :2] == 0).mean() > 0.9  # corners are background: black without noise
    assert noisy.X[:, :, :2, :2].std() > 0.1


def test_reshapes_to_a_flat_input_and_refuses_wrong_sizes():
    assert load_dataset({"name": "stroke_digits", "n_samples": 20}, input_shape=(784,)).X.shape == (20, 784)
    with pytest.raises(DatasetError, match="784"):
        load_dataset({"name": "stroke_digits", "n_samples": 20}, input_shape=(1, 8, 8))
    with pytest.raises(DatasetError, match="color"):
        load_dataset({"name": "shapes", "color": "cmyk"})


def test_too_many_images_for_memory_is_refused_before_drawing(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "1M")
    with pytest.raises(DatasetError, match="lower n_samples"):
        load_dataset({"name": "stroke_digits", "n_samples": 100_000})
