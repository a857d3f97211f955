"""One output rule for the trainer and the exported train.py (issue 14, item 15): a 10-output network on a
4-class image folder is refused by both, with the same sentence."""

import json
import os
import subprocess
import sys
from inspect import getsource

import numpy as np
import pytest
from PIL import Image

from graph_engine import generate_code, parse_project
from graph_engine.data.output_fit import output_mismatch
from graph_engine.export import write_train_script
from graph_engine.training import FailedEvent, Trainer


def four_class_folder(root):
    for k in range(4):
        (root / f"class{k}").mkdir(parents=True)
        for i in range(3):
            Image.fromarray(np.full((8, 8), 40 * k + i, dtype=np.uint8)).save(root / f"class{k}" / f"{i}.png")
    return root


def ten_output_project(path):
    return parse_project({
        "format": "layerloom", "format_version": 1, "name": "Ten outputs",
        "graph": {"nodes": [{"id": "x", "op": "Input", "params": {"shape": [64]}},
                            {"id": "fc", "op": "Linear", "params": {"out_features": 10}},
                            {"id": "y", "op": "Output"}],
                  "edges": [{"src": "x", "dst": "fc"}, {"src": "fc", "dst": "y"}]},
        "training": {"dataset": {"name": "image_folder", "path": str(path), "size": 8}, "epochs": 1,
                     "batch_size": 4}})


@pytest.mark.slow  # a Trainer and a train.py subprocess: several seconds
def test_the_trainer_and_the_exported_script_refuse_a_10_output_network_on_4_classes(tmp_path):
    project = ten_output_project(four_class_folder(tmp_path / "imgs"))
    failed = Trainer(project, probes=False).run()
    assert isinstance(failed, FailedEvent) and "4 classes" in failed.message and "'fc'" in failed.hint
    (tmp_path / "model.py").write_text(generate_code(project), encoding="utf-8")
    script = write_train_script(project, tmp_path / "train.py", tmp_path / "model.py")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([sys.executable, str(script), "--out", str(tmp_path / "out")], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "the network outputs [10] per sample, but the data has 4 classes" in proc.stderr
    assert not (tmp_path / "out" / "metrics.json").exists()


def test_the_rule_runs_on_the_standard_library_alone_as_the_script_copies_it():
    namespace: dict = {}
    exec(compile(getsource(output_mismatch), "copied.py", "exec"), namespace)  # noqa: S102 - our own source
    copied = namespace["output_mismatch"]
    cases = [("classification", (4,), 4, ()), ("classification", (10,), 4, ()), ("regression", (2,), None, (2,)),
             ("regression", (3,), None, (1,)), ("autoencoder", (64,), None, (1, 8, 8))]
    for task, out, classes, target in cases:
        assert copied(task, out, classes, target) == output_mismatch(task, out, classes, target)
    assert [output_mismatch(*c) is None for c in cases] == [True, False, True, False, True]
    assert json.dumps(output_mismatch("classification", (10,), 4))  # plain text
