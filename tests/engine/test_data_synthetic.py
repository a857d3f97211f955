"""Synthetic datasets: 2-D point clouds, windowed series and token sequences."""

import numpy as np
import pytest

from graph_engine.data import load_dataset, split
from graph_engine.data.synthetic import TOKEN_A, TOKEN_B

POINTS = ["moons", "circles", "spirals", "xor"]


@pytest.mark.parametrize("name", POINTS)
def test_points_shapes_balance_and_determinism(name):
    ds = load_dataset({"name": name, "n_samples": 300, "noise": 0.1, "seed": 3})
    k = 3 if name == "spirals" else 2
    assert ds.X.shape == (300, 2) and ds.X.dtype == np.float32
    assert ds.y.shape == (300,) and ds.y.dtype == np.int64
    assert ds.kind == "points2d" and ds.task == "classification" and ds.num_classes == k
    assert len(ds.class_names) == k and ds.feature_names == ("x", "y")
    counts = np.bincount(ds.y, minlength=k)
    if name != "xor":
        assert counts.max() - counts.min() <= 1
    else:
        assert counts.min() > 100
    again = load_dataset({"name": name, "n_samples": 300, "noise": 0.1, "seed": 3})
    np.testing.assert_array_equal(ds.X, again.X)
    np.testing.assert_array_equal(ds.y, again.y)
    other = load_dataset({"name": name, "n_samples": 300, "noise": 0.1, "seed": 4})
    assert not np.array_equal(ds.X, other.X)
    preview = ds.preview()
    assert preview["points"].shape == (300, 2) and preview["labels"].shape == (300,)
    assert np.abs(ds.X).max() < 3


def test_spirals_classes_and_noise_free_geometry():
    ds = load_dataset({"name": "spirals", "classes": 5, "n_samples": 500, "noise": 0})
    assert ds.num_classes == 5 and np.bincount(ds.y).tolist() == [100] * 5
    assert np.linalg.norm(ds.X, axis=1).max() <= 1.0 + 1e-6
    circles = load_dataset({"name": "circles", "noise": 0, "factor": 0.3})
    radius = np.linalg.norm(circles.X, axis=1)
    np.testing.assert_allclose(radius[circles.y == 0], 1.0, atol=1e-5)
    np.testing.assert_allclose(radius[circles.y == 1], 0.3, atol=1e-5)
    xor = load_dataset({"name": "xor", "noise": 0})
    np.testing.assert_array_equal(xor.y, (np.sign(xor.X[:, 0]) != np.sign(xor.X[:, 1])).astype(np.int64))


@pytest.mark.parametrize("name", ["sine", "sawtooth", "noisy"])
def test_series_windows_predict_the_next_value(name):
    ds = load_dataset({"name": name, "n_samples": 200, "window": 12})
    assert ds.X.shape == (200, 12, 1) and ds.X.dtype == np.float32
    assert ds.y.shape == (200, 1) and ds.y.dtype == np.float32
    assert ds.kind == "series" and ds.task == "regression" and ds.num_classes is None
    # window i+1 is window i shifted by one step, and its last value is window i's target
    np.testing.assert_array_equal(ds.X[1:, :-1, 0], ds.X[:-1, 1:, 0])
    np.testing.assert_array_equal(ds.X[1:, -1, 0], ds.y[:-1, 0])
    preview = ds.preview()
    assert len(preview["windows"]) == 6 and len(preview["windows"][0]) == 12
    assert len(preview["targets"]) == 6 and isinstance(preview["targets"][0], float)
    np.testing.assert_array_equal(preview["series"][:12], ds.X[0, :, 0])


def test_sine_values_and_noise():
    sine = load_dataset({"name": "sine", "n_samples": 100, "window": 5, "period": 20.0})
    assert sine.y[0, 0] == pytest.approx(np.sin(2 * np.pi * 5 / 20), abs=1e-6)
    noisy = load_dataset({"name": "noisy", "n_samples": 100, "window": 5, "period": 20.0, "noise": 0.3})
    assert 0.15 < float(np.std(noisy.y - sine.y)) < 0.45


def test_token_order_rule():
    ds = load_dataset({"name": "tokens", "n_samples": 500, "seq_len": 10, "vocab_size": 12, "seed": 1})
    assert ds.X.shape == (500, 10) and ds.X.dtype == np.int64 and ds.y.dtype == np.int64
    assert ds.kind == "tokens" and ds.num_classes == 2 and ds.vocab_size == 12
    assert ds.X.min() >= 1 and ds.X.max() < 12  # 0 is padding
    assert np.all((ds.X == TOKEN_A).sum(axis=1) == 1) and np.all((ds.X == TOKEN_B).sum(axis=1) == 1)
    a_first = np.argmax(ds.X == TOKEN_A, axis=1) < np.argmax(ds.X == TOKEN_B, axis=1)
    np.testing.assert_array_equal(ds.y, a_first.astype(np.int64))
    assert 200 < ds.y.sum() < 300
    preview = ds.preview()
    assert len(preview["sequences"]) == 8 and all(len(s) == 10 for s in preview["sequences"])
    assert all(isinstance(t, int) for t in preview["sequences"][0]) and preview["vocab_size"] == 12
    assert set(preview["label_names"]) == set(ds.class_names)


def test_token_majority_rule():
    ds = load_dataset({"name": "tokens", "rule": "majority", "n_samples": 400, "seq_len": 9, "vocab_size": 11})
    high = (ds.X > 5).sum(axis=1)  # low tokens 1..5, high 6..10
    np.testing.assert_array_equal(ds.y, (high > 9 - high).astype(np.int64))
    assert ds.X.min() >= 1 and 150 < ds.y.sum() < 250


def test_tokens_are_learnable_by_a_small_gru():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    train, val = split(load_dataset({"name": "tokens", "n_samples": 1200}), 0.25, seed=0)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = torch.nn.Embedding(16, 16)
            self.gru = torch.nn.GRU(16, 32, batch_first=True)
            self.head = torch.nn.Linear(32, 2)

        def forward(self, x):
            return self.head(self.gru(self.embed(x))[1][-1])

    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    X, y = torch.from_numpy(train.X), torch.from_numpy(train.y)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny ops: extra threads only add contention on a busy machine
    try:
        for _ in range(3):
            for i in range(0, len(X), 50):
                loss = torch.nn.functional.cross_entropy(net(X[i:i + 50]), y[i:i + 50])
                opt.zero_grad()
                loss.backward()
                opt.step()
        with torch.no_grad():
            acc = (net(torch.from_numpy(val.X)).argmax(1).numpy() == val.y).mean()
    finally:
        torch.set_num_threads(threads)
    assert acc > 0.9
