"""The exported train.py is made of copied real functions, specialised for the project (source_copy.fold):
only the branches and functions its project uses, and the same primitives the engine's Trainer runs."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from graph_engine.export import generate_train_script
from graph_engine.export.source_copy import collect, fold
from graph_engine.templates import load_template
from graph_engine.training import recipe

SOURCE = '''def f(x):
    if CLIPPED:  # why we clip
        x = clip(x)
    else:
        x = x + 1
    if MIXED and not CLIPPED:
        x = amp(x)
    elif SCHEDULED:
        x = sched(x)
    else:
        x = plain(x)
    if CLASSIFICATION:
        x = x.argmax(1)
    return x
'''


def test_fold_keeps_the_taken_branch_dedented_with_its_comment():
    out = fold(SOURCE, {"CLIPPED": True, "MIXED": True, "SCHEDULED": False, "CLASSIFICATION": True})
    assert out == ('def f(x):\n    # why we clip\n    x = clip(x)\n    x = plain(x)\n    x = x.argmax(1)\n'
                   '    return x\n')


def test_fold_takes_an_elif_and_leaves_a_run_time_test_as_an_expression():
    out = fold(SOURCE, {"CLIPPED": False, "MIXED": False, "SCHEDULED": True,
                        "CLASSIFICATION": 'task == "classification"'})
    assert "x = x + 1\n    x = sched(x)\n" in out
    assert 'if task == "classification":\n        x = x.argmax(1)' in out
    assert "CLIPPED" not in out and "plain" not in out
    ast.parse(out)


def test_collect_follows_calls_in_the_pools_order():
    pool = {"a": "def a():\n    return 1\n", "b": "def b():\n    return a()\n", "c": "def c():\n    return 2\n",
            "main": "def main():\n    b()\n"}
    assert collect(["main"], pool) == ["a", "b", "main"]


def defined(source: str) -> set[str]:
    return {n.name for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)}


def test_an_adam_classifier_script_holds_only_what_it_uses():
    source = generate_train_script(load_template("mlp_digits"))
    names = defined(source)
    assert "make_optimizer" in names and "torch.optim.Adam(" in source
    for unused in ("SGD", "RMSprop", "lr_scheduler", "augment", "shift_images", "regressor_sums",
                   "clipped_optimizer_step", "standardise", "EARLY_STOPPING", "if CLASSIFICATION", "--data",
                   "FROZEN", "def freeze(", "def train_mode("):
        assert unused not in source, unused
    # 329: the weight loader (--init, ~75 lines) is copied only into projects that start from weights or freeze
    # layers (407 with it and output_mismatch's long docstring); the string version had 436 lines.
    assert len(source.splitlines()) <= 340
    assert "def matching_weights(" not in source and "def start_from(" not in source


@pytest.mark.parametrize(("training", "present", "absent"), [
    ({"optimizer": {"name": "SGD", "momentum": 0.9}, "schedule": {"name": "cosine"}, "grad_clip": 1.0,
      "mixed_precision": False, "augment": {"shift": 1}, "early_stopping": {"patience": 2}},
     ["torch.optim.SGD(", "CosineAnnealingLR", "clipped_optimizer_step(loss", "augment(xb", "bad_epochs"],
     ["torch.optim.Adam(", "GradScaler", "torch.autocast", "scheduler.step(monitor)"]),
    ({"schedule": {"name": "plateau"}, "mixed_precision": False},
     ["ReduceLROnPlateau", "scheduler.step(monitor)", "optimizer_step(loss, optimizer)"],
     ["GradScaler", "bad_epochs", "clip_grad_norm_"]),
])
def test_each_setting_brings_its_own_code(training, present, absent):
    project = load_template("cnn_digits")
    project.training = dict(project.training, **training)
    source = generate_train_script(project)
    for text in present:
        assert text in source, text
    for text in absent:
        assert text not in source, text


def test_the_script_copies_the_trainers_primitives_verbatim():
    import inspect

    source = generate_train_script(load_template("mlp_digits"))
    for fn in (recipe.split_indices, recipe.stratified_pick, recipe.classifier_sums, recipe.batch_end):
        assert inspect.getsource(fn) in source, fn.__name__


def test_a_script_without_weight_loading_says_what_to_do_with_init(tmp_path):
    """An ordinary project's script has no loader; `--init W` stops at once with what to do (no traceback)."""
    script = tmp_path / "train.py"
    script.write_text(generate_train_script(load_template("mlp_digits")), encoding="utf-8")
    proc = subprocess.run([sys.executable, str(script), "--init", "w.safetensors"], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "exported without weight loading" in proc.stderr and "training.init" in proc.stderr
