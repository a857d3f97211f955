"""Image folders that do not fit in memory are decoded batch by batch (issue 14, "data at scale").

The memory limit is LAYERLOOM_MAX_DATA_BYTES (the documented setting): below the folder's decoded size the
loader returns a LazyImages X, which gives exactly the eager loader's values, so a run trains batch for batch
as an in-memory one; and the process's memory grows by less than the limit while it trains on a folder
bigger than the limit.
"""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

from graph_engine import parse_project
from graph_engine.data import load_dataset, split
from graph_engine.data.image_folder import LazyImages
from graph_engine.training import FinishedEvent, Trainer


def make_folder(root, per_class=20, size=12, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    for k in range(classes):
        (root / f"c{k}").mkdir(parents=True)
        for i in range(per_class):
            pixels = np.clip(60 * k + rng.integers(0, 80, size=(size, size)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(root / f"c{k}" / f"{i:05d}.png")
    return root


def spec_for(root, size, classes, epochs=1):
    return {
        "format": "layerloom", "format_version": 1, "name": "Lazy",
        "graph": {"nodes": [{"id": "x", "op": "Input", "params": {"shape": [size * size]}},
                            {"id": "fc", "op": "Linear", "params": {"out_features": 16}},
                            {"id": "act", "op": "ReLU"},
                            {"id": "out", "op": "Linear", "params": {"out_features": classes}},
                            {"id": "y", "op": "Output"}],
                  "edges": [{"src": "x", "dst": "fc"}, {"src": "fc", "dst": "act"}, {"src": "act", "dst": "out"},
                            {"src": "out", "dst": "y"}]},
        "training": {"dataset": {"name": "image_folder", "path": str(root), "size": size}, "epochs": epochs,
                     "batch_size": 8, "val_fraction": 0.25, "augment": {"noise": 0.05}}}


def project_for(root, size, classes, epochs=2):
    return parse_project(spec_for(root, size, classes, epochs))


def test_a_folder_over_the_limit_is_lazy_and_gives_the_eager_values(tmp_path, monkeypatch):
    root = make_folder(tmp_path / "imgs")
    config = {"name": "image_folder", "path": str(root), "size": 8}
    eager = load_dataset(config)
    assert isinstance(eager.X, np.ndarray)
    monkeypatch.setenv("LAYERLOOM_MAX_DATA_BYTES", "1K")
    lazy = load_dataset(config)
    assert isinstance(lazy.X, LazyImages) and lazy.X.shape == eager.X.shape
    assert any("batch by batch" in w for w in lazy.warnings)
    assert np.array_equal(lazy.X[np.arange(len(lazy))].numpy(), eager.X)
    train, val = split(lazy, 0.25, 3)
    e_train, e_val = split(eager, 0.25, 3)
    assert isinstance(train.X, LazyImages) and np.array_equal(train.X[0:len(train)].numpy(), e_train.X)
    assert np.array_equal(val.y, e_val.y)
    flat = load_dataset(config, input_shape=(64,))
    assert flat.X.shape == (60, 64) and np.array_equal(flat.X[5].numpy(), eager.X[5].reshape(64))
    assert len(lazy.preview()["images"]) == 16


@pytest.mark.slow  # four short training runs
def test_a_lazy_run_trains_batch_for_batch_like_an_in_memory_one(tmp_path, monkeypatch):
    root = make_folder(tmp_path / "imgs")
    eager = Trainer(project_for(root, 12, 3, epochs=2), probes=False).run()
    monkeypatch.setenv("LAYERLOOM_MAX_DATA_BYTES", "1K")
    trainer = Trainer(project_for(root, 12, 3, epochs=2), probes=False)
    lazy = trainer.run()
    assert isinstance(trainer.X_train, LazyImages)
    assert isinstance(eager, FinishedEvent) and isinstance(lazy, FinishedEvent), lazy
    strip = [{k: v for k, v in r.items() if k not in ("time_s", "samples_per_s")} for r in eager.history]
    assert [{k: v for k, v in r.items() if k not in ("time_s", "samples_per_s")} for r in lazy.history] == strip


MEMORY_SCRIPT = textwrap.dedent("""
    import json, resource, sys
    from graph_engine import parse_project
    from graph_engine.training import Trainer
    small, big, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
    spec = json.loads(sys.argv[4])
    def run(root):
        spec["training"]["dataset"]["path"] = root
        return Trainer(parse_project(spec), probes=False, num_threads=1).run()
    run(small)  # torch, its allocator and the decoder threads warmed on a small lazy folder
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    result = run(big)
    grew = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before
    print(json.dumps({"kind": type(result).__name__, "grew": grew, "epochs": len(result.history)}))
""")


@pytest.mark.slow
def test_a_folder_bigger_than_the_memory_limit_trains_an_epoch_within_it(tmp_path):
    size, classes, per_class = 32, 4, 3000  # 12000 images: 48 MiB decoded, the limit 16 MiB
    big = make_folder(tmp_path / "big", per_class=per_class, size=size, classes=classes)
    small = make_folder(tmp_path / "small", per_class=200, size=size, classes=classes, seed=1)
    limit = 16 << 20
    decoded = classes * per_class * size * size * 4
    assert decoded > 2.5 * limit
    spec = spec_for(big, size, classes, epochs=1)
    spec["training"].update(batch_size=64, val_fraction=0.2)
    env = {**os.environ, "PYTHONPATH": os.getcwd(), "LAYERLOOM_MAX_DATA_BYTES": str(limit)}
    done = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT, str(small), str(big), str(limit), json.dumps(spec)],
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["kind"] == "FinishedEvent" and report["epochs"] == 1, report
    assert report["grew"] < limit, f"grew {report['grew'] / 2**20:.1f} MiB with a {limit >> 20} MiB limit"
