"""The exported train.py: standalone (no LayerLoom import), the same data and numbers as the app's trainer, one
epoch alone and under torchrun with two processes (DistributedDataParallel on CPU, gloo)."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from graph_engine import check, generate_code, parse_project
from graph_engine.data import augment, autoencoder_targets, load_dataset, split
from graph_engine.errors import ProjectError
from graph_engine.export import generate_train_script, load_module_from_file, write_train_script
from graph_engine.templates import list_templates, load_template
from graph_engine.training import Trainer

ALLOWED_IMPORTS = {"argparse", "contextlib", "gc", "importlib", "json", "math", "os", "random", "sys", "time", "pathlib",
                   "numpy", "torch", "sklearn", "safetensors", "csv", "io", "PIL", "struct", "zlib"}
NO_SCRIPT_YET = {"dcgan_digits"}  # stroke_digits has no loader in train_script_data.py yet (tests/engine/test_gan.py)
TORCHRUN = Path(sys.executable).parent / "torchrun"
SUBPROCESS_TIMEOUT = 240


def project_with(input_shape, training, dtype="float32", name="Data probe"):
    nodes = [{"id": "x", "op": "Input", "params": {"shape": list(input_shape), "dtype": dtype}},
             {"id": "same", "op": "Identity"}, {"id": "y", "op": "Output"}]
    edges = [{"src": "x", "dst": "same"}, {"src": "same", "dst": "y"}]
    return parse_project({"format": "layerloom", "format_version": 1, "name": name,
                          "graph": {"nodes": nodes, "edges": edges}, "training": training})


def script_namespace(project, base_dir=None) -> dict:
    """The generated script executed as a module (not as __main__): its functions, without training."""
    source = generate_train_script(project, base_dir=base_dir)
    namespace = {"__name__": "exported_train", "__file__": "/nonexistent/train.py"}
    exec(compile(source, "train.py", "exec"), namespace)  # noqa: S102 - our own generated script
    return namespace


def run_script(args, cwd, env_extra=None):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONWARNINGS="error")
    env.pop("PYTHONPATH", None)
    env.update(env_extra or {})
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT)


def export_pair(project, folder: Path, base_dir=None) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    code = folder / "model.py"
    code.write_text(generate_code(project), encoding="utf-8")
    script = write_train_script(project, folder / "train.py", code, base_dir=base_dir)
    return code, script


def one_epoch(name: str):
    project = load_template(name)
    project.training = dict(project.training or {}, epochs=1)
    return project


# ---- standalone --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("info", [t for t in list_templates() if t.name not in NO_SCRIPT_YET], ids=lambda t: t.name)
def test_every_template_gives_a_script_that_imports_nothing_of_layerloom(info):
    project = load_template(info.name)
    source = generate_train_script(project)
    tree = ast.parse(source)
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module.split(".")[0])
    assert imported <= ALLOWED_IMPORTS, imported - ALLOWED_IMPORTS
    assert "graph_engine" not in source and "import layerloom" not in source
    assert 'MODEL_FILE = "model.py"' in source or "MODEL_FILE = 'model.py'" in source


@pytest.mark.parametrize("dataset", ["digits", "iris", "wine", "breast_cancer", "diabetes", "moons", "circles",
                                     "spirals", "xor", "sine", "sawtooth", "noisy", "tokens", "csv", "npz",
                                     "image_folder"])
def test_every_dataset_gives_a_script_without_undefined_names(dataset, tmp_path):
    config = {"name": dataset, **({"path": "data"} if dataset in ("csv", "npz", "image_folder") else {})}
    training = {"dataset": config, "augment": {"noise": 0.1}} if dataset != "tokens" else {"dataset": config}
    source = generate_train_script(project_with([4], training))
    path = tmp_path / "train.py"
    path.write_text(source, encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--isolated", "--select", "F,E9,B",
                           str(path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout


def test_the_settings_come_from_the_training_config():
    project = load_template("mlp_digits")
    project.training = dict(project.training, optimizer={"name": "SGD", "lr": 0.05, "momentum": 0.9,
                                                         "weight_decay": 1e-4},
                            schedule={"name": "step", "step_size": 3, "gamma": 0.5}, epochs=7, batch_size=16,
                            val_fraction=0.25, seed=11, grad_clip=1.0, early_stopping={"patience": 2})
    ns = script_namespace(project)
    assert ns["OPTIMIZER"] == {"lr": 0.05, "weight_decay": 0.0001, "momentum": 0.9, "nesterov": False}
    assert ns["SCHEDULE"] == {"step_size": 3, "gamma": 0.5}
    assert (ns["EPOCHS"], ns["BATCH_SIZE"], ns["VAL_FRACTION"], ns["SEED"]) == (7, 16, 0.25, 11)
    assert ns["GRAD_CLIP"] == 1.0 and ns["EARLY_STOPPING"] == {"patience": 2, "min_delta": 0.0}
    assert "TASK" not in ns and ns["LOSS"] == "cross_entropy"  # the task is the dataset's: no setting needed
    assert ns["INPUT_SHAPE"] == (64,) and ns["DATASET"] == {"name": "digits"}


def test_a_project_that_cannot_train_is_refused():
    data = {"format": "layerloom", "format_version": 1, "name": "Two inputs",
            "graph": {"nodes": [{"id": "a", "op": "Input", "params": {"shape": [4]}},
                                {"id": "b", "op": "Input", "params": {"shape": [4]}},
                                {"id": "add", "op": "Add"}, {"id": "y", "op": "Output"}],
                      "edges": [{"src": "a", "dst": "add"}, {"src": "b", "dst": "add", "dst_port": 1},
                                {"src": "add", "dst": "y"}]}}
    with pytest.raises(ProjectError, match="exactly one Input"):
        generate_train_script(parse_project(data))
    with pytest.raises(ProjectError, match="learning rate|lr"):
        generate_train_script(project_with([2], {"dataset": {"name": "moons"}, "optimizer": {"lr": -1}}))


# ---- the same data as graph_engine.data ---------------------------------------------------------------------

DATASETS = [
    ({"name": "digits"}, [1, 8, 8], "float32", None),
    ({"name": "digits"}, [64], "float32", "autoencoder"),
    ({"name": "iris"}, [4], "float32", None),
    ({"name": "wine", "standardize": False}, [13], "float32", None),
    ({"name": "breast_cancer"}, [30], "float32", None),
    ({"name": "diabetes"}, [10], "float32", None),
    ({"name": "moons", "n_samples": 120, "noise": 0.2, "seed": 3}, [2], "float32", None),
    ({"name": "circles", "n_samples": 90, "factor": 0.3}, [2], "float32", None),
    ({"name": "spirals", "n_samples": 99, "classes": 4, "turns": 1.5}, [2], "float32", None),
    ({"name": "xor", "n_samples": 77}, [2], "float32", None),
    ({"name": "sine", "n_samples": 50, "window": 7}, [7, 1], "float32", None),
    ({"name": "sawtooth", "n_samples": 50, "window": 5, "period": 9.0}, [5], "float32", None),
    ({"name": "noisy", "n_samples": 40, "window": 6, "noise": 0.3, "seed": 2}, [6, 1], "float32", None),
    ({"name": "tokens", "n_samples": 64, "seq_len": 9, "vocab_size": 12}, [9], "int64", None),
    ({"name": "tokens", "n_samples": 64, "seq_len": 8, "rule": "majority", "seed": 5}, [8], "int64", None),
]


@pytest.mark.parametrize(("dataset", "shape", "dtype", "task"), DATASETS,
                         ids=[f"{d['name']}-{i}" for i, (d, *_) in enumerate(DATASETS)])
def test_the_script_loads_and_splits_exactly_the_apps_data(dataset, shape, dtype, task):
    training = {"dataset": dataset, "val_fraction": 0.25, "seed": 4}
    if task:
        training["task"] = task
    ns = script_namespace(project_with(shape, training, dtype))
    X, Y, got_task, labels = ns["prepare_data"](None)
    ds = load_dataset(dataset, shape, input_dtype=dtype)
    if task == "autoencoder":
        ds = autoencoder_targets(ds)
    assert got_task == (task or ds.task)
    assert X.dtype == ds.X.dtype and np.array_equal(X, ds.X)
    assert Y.dtype == ds.y.dtype and np.array_equal(Y, ds.y)
    train_idx, val_idx = ns["split_indices"](len(X), labels, 0.25, 4)
    train, val = split(ds, 0.25, 4)
    assert np.array_equal(X[train_idx], train.X) and np.array_equal(X[val_idx], val.X)
    assert np.array_equal(Y[val_idx], val.y)


def test_the_script_augments_like_the_app():
    training = {"dataset": {"name": "digits"}, "augment": {"shift": 2, "flip": True, "noise": 0.1}}
    ns = script_namespace(project_with([64], training))
    x = torch.from_numpy(load_dataset({"name": "digits"}, [64]).X[:32])
    gen_a, gen_b = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    ours = ns["augment"](x, gen_a, image_shape=ns["IMAGE_SHAPE"], **ns["AUGMENT"])
    app = augment(x, training["augment"], gen_b, (1, 8, 8))
    assert ours.shape == x.shape and torch.equal(ours, app)


# ---- running it --------------------------------------------------------------------------------------------


def test_one_epoch_alone_reports_the_apps_numbers(tmp_path):
    project = one_epoch("moons_mlp")
    code, script = export_pair(project, tmp_path / "export")
    proc = run_script([sys.executable, str(script), "--out", "out", "--device", "cpu"], cwd=tmp_path / "export")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("training on cpu: moons, 400 train / 100 validation samples, 1 epochs")
    assert lines[1].startswith("epoch 1/1  train_loss ")
    ours = json.loads((tmp_path / "export" / "out" / "metrics.json").read_text())
    app = Trainer(project, probes=False).run().history
    assert len(ours) == len(app) == 1
    for key in ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr"):
        assert ours[0][key] == pytest.approx(app[0][key], rel=1e-6, abs=1e-9), key
    model = load_module_from_file(code).create_model()
    model.load_state_dict(load_file(tmp_path / "export" / "out" / "model.safetensors"), strict=True)


def test_one_epoch_under_torchrun_with_two_processes(tmp_path):
    assert TORCHRUN.is_file(), "torchrun is installed next to the interpreter"
    project = one_epoch("cnn_digits")
    code, script = export_pair(project, tmp_path / "export")
    proc = run_script([str(TORCHRUN), "--standalone", "--nproc_per_node", "2", str(script), "--epochs", "1",
                       "--batch-size", "64", "--out", "ddp", "--device", "cpu"], cwd=tmp_path / "export",
                      env_extra={"PYTHONWARNINGS": ""})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout.splitlines()
    assert out[0].startswith("training on cpu x 2 processes: digits")
    assert sum(line.startswith("epoch 1/1") for line in out) == 1  # rank 0 prints, rank 1 does not
    metrics = json.loads((tmp_path / "export" / "ddp" / "metrics.json").read_text())
    assert len(metrics) == 1 and 0.0 <= metrics[0]["val_accuracy"] <= 1.0
    assert metrics[0]["train_loss"] > 0
    model = load_module_from_file(code).create_model()
    model.load_state_dict(load_file(tmp_path / "export" / "ddp" / "model.safetensors"), strict=True)


def test_a_csv_dataset_gets_a_loader_for_the_same_file(tmp_path):
    rng = np.random.default_rng(0)
    features = rng.normal(size=(80, 3))
    labels = np.where(features[:, 0] + features[:, 1] > 0, "yes", "no")
    rows = ["a,b,c,label"] + [f"{x:.5f},{y:.5f},{z:.5f},{t}" for (x, y, z), t in zip(features, labels, strict=True)]
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "table.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    data = {"format": "layerloom", "format_version": 1, "name": "CSV net",
            "graph": {"nodes": [{"id": "x", "op": "Input", "params": {"shape": [3]}},
                                {"id": "fc", "op": "Linear", "params": {"out_features": 2}},
                                {"id": "y", "op": "Output"}],
                      "edges": [{"src": "x", "dst": "fc"}, {"src": "fc", "dst": "y"}]},
            "training": {"dataset": {"name": "csv", "path": "data/table.csv", "target": "label"}, "epochs": 1,
                         "batch_size": 16}}
    project = parse_project(data)
    assert check(project).ok
    code, script = export_pair(project, tmp_path / "elsewhere", base_dir=tmp_path)
    source = script.read_text(encoding="utf-8")
    assert repr(str(tmp_path / "data" / "table.csv")) in source and "--data" in source
    proc = run_script([sys.executable, str(script), "--out", "out"], cwd=tmp_path / "elsewhere")
    assert proc.returncode == 0, proc.stderr
    ours = json.loads((tmp_path / "elsewhere" / "out" / "metrics.json").read_text())
    app = Trainer(project, base_dir=tmp_path, probes=False).run().history
    for key in ("train_loss", "val_loss", "val_accuracy"):
        assert ours[0][key] == pytest.approx(app[0][key], rel=1e-6), key
