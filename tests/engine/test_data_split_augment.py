"""split (seeded, stratified) and augment (seeded image augmentation in torch)."""

import numpy as np
import pytest

from graph_engine.data import (
    AUGMENT_PARAMS,
    Dataset,
    DatasetError,
    augment,
    autoencoder_targets,
    check_augment_config,
    load_dataset,
    split,
)


def test_split_is_deterministic_and_stratified():
    ds = load_dataset({"name": "digits"})
    train, val = split(ds, 0.2, seed=7)
    train2, val2 = split(ds, 0.2, seed=7)
    np.testing.assert_array_equal(val.X, val2.X)
    np.testing.assert_array_equal(train.y, train2.y)
    assert len(train) + len(val) == len(ds) and len(val) == round(0.2 * len(ds))
    both = np.concatenate([train.X.reshape(len(train), -1), val.X.reshape(len(val), -1)])
    assert len(np.unique(both, axis=0)) == len(np.unique(ds.X.reshape(len(ds), -1), axis=0))
    share = np.bincount(val.y, minlength=10) / np.bincount(ds.y, minlength=10)
    assert np.all(np.abs(share - 0.2) < 0.02)
    assert train.class_names == ds.class_names and train.image_shape == ds.image_shape
    _, other = split(ds, 0.2, seed=8)
    assert not np.array_equal(val.y, other.y) or not np.array_equal(val.X, other.X)


def test_split_known_indices_do_not_change_across_runs():
    ds = Dataset("t", X=np.arange(20, dtype=np.float32)[:, None], y=np.array([0] * 10 + [1] * 10),
                 task="classification", kind="table", num_classes=2)
    _, val = split(ds, 0.3, seed=0)
    assert np.bincount(val.y).tolist() == [3, 3]
    # numpy's PCG64 stream is stable across runs and machines, so these exact indices are a contract
    assert val.X[:, 0].astype(int).tolist() == [2, 4, 6, 12, 13, 19]
    reg = Dataset("r", X=ds.X, y=ds.X.copy(), task="regression", kind="table")
    assert split(reg, 0.25, seed=0)[1].X[:, 0].astype(int).tolist() == [2, 4, 6, 13, 19]


def test_split_edge_cases():
    reg = load_dataset({"name": "diabetes"})
    train, val = split(reg, 0.25, seed=0)
    assert len(val) == 110 and val.y.shape == (110, 1) and train.target_std is reg.target_std
    train, val = split(reg, 0.0, seed=0)
    assert len(train) == 442 and len(val) == 0 and val.X.shape == (0, 10)
    lonely = Dataset("t", X=np.zeros((5, 1), np.float32), y=np.array([0, 0, 0, 0, 1]), task="classification",
                     kind="table", num_classes=2)
    train, val = split(lonely, 0.4, seed=0)  # class 1 has one sample: plain random split
    assert len(train) == 3 and len(val) == 2
    ae_train, ae_val = split(autoencoder_targets(load_dataset({"name": "digits"})), 0.2, seed=0)
    assert np.all(np.abs(np.bincount(ae_val.labels) / np.bincount(ae_train.labels) - 0.25) < 0.03)
    for bad in (1.0, -0.1, "0.2", True):
        with pytest.raises(DatasetError) as info:
            split(reg, bad, seed=0)
        assert info.value.field == "training.val_fraction"
    with pytest.raises(DatasetError):
        split(reg, 0.2, seed=-1)


def _images(n=8, c=1, h=6, w=6):
    return np.random.default_rng(0).random((n, c, h, w), dtype=np.float32)


def test_augment_is_deterministic_and_changes_data():
    torch = pytest.importorskip("torch")
    batch = torch.from_numpy(_images())
    config = {"shift": 1, "flip": True, "noise": 0.05}
    a = augment(batch, config, torch.Generator().manual_seed(3))
    b = augment(batch, config, torch.Generator().manual_seed(3))
    c = augment(batch, config, torch.Generator().manual_seed(4))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.shape == batch.shape and a.dtype == batch.dtype and not torch.equal(a, batch)
    assert torch.equal(augment(batch, config, 5), augment(batch, config, 5))  # int seed
    x = augment(_images(), config, np.random.default_rng(1))
    y = augment(_images(), config, np.random.default_rng(1))
    assert isinstance(x, np.ndarray) and x.dtype == np.float32 and np.array_equal(x, y)
    assert torch.equal(augment(batch, {}, 0), batch)


def test_augment_shift_and_flip_move_pixels():
    torch = pytest.importorskip("torch")
    img = torch.zeros(64, 1, 5, 5)
    img[:, 0, 2, 2] = 1.0  # one bright pixel in the centre
    shifted = augment(img, {"shift": 2}, torch.Generator().manual_seed(0))
    positions = {tuple(torch.nonzero(s[0]).tolist()[0]) for s in shifted}
    assert all(torch.count_nonzero(s) == 1 for s in shifted)  # moved, not lost (the pixel stays in frame)
    assert len(positions) > 10 and all(0 <= r <= 4 and 0 <= c <= 4 for r, c in positions)
    edge = torch.zeros(64, 1, 3, 4)
    edge[:, 0, :, 0] = 1.0  # left column lit
    flipped = augment(edge, {"flip": True}, torch.Generator().manual_seed(0))
    right = flipped[:, 0, :, 3].sum(dim=1) == 3
    left = flipped[:, 0, :, 0].sum(dim=1) == 3
    assert torch.all(right ^ left) and 10 < int(right.sum()) < 54
    noisy = augment(torch.zeros(100, 1, 8, 8), {"noise": 0.5}, torch.Generator().manual_seed(0))
    assert 0.45 < float(noisy.std()) < 0.55


def test_augment_flat_batches_and_config_errors():
    torch = pytest.importorskip("torch")
    flat = torch.from_numpy(_images(4, 1, 8, 8).reshape(4, 64))
    out = augment(flat, {"shift": 1}, torch.Generator().manual_seed(0), image_shape=(1, 8, 8))
    assert out.shape == (4, 64)
    with pytest.raises(DatasetError, match="need image batches"):
        augment(flat, {"flip": True}, 0)
    assert augment(flat, {"noise": 0.1}, 0).shape == (4, 64)  # noise works on any data
    with pytest.raises(DatasetError, match="no setting 'shfit'") as info:
        check_augment_config({"shfit": 1})
    assert "'shift'" in info.value.hint and info.value.field == "training.augment"
    with pytest.raises(DatasetError, match="shift must be"):
        check_augment_config({"shift": -1})
    assert check_augment_config(None) == {p.name: p.default for p in AUGMENT_PARAMS}
    with pytest.raises(DatasetError, match="integer data"):
        augment(torch.zeros(2, 4, dtype=torch.int64), {"noise": 0.1}, 0)
