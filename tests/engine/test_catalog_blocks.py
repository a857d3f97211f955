"""Property test: a "Block" instance's inferred shapes and parameter count agree with a real torch forward,
and "BlockInput" / "BlockOutput" ports pass tensors through unchanged, for random widths and repeat counts."""

import random

import pytest
import torch

from graph_engine import build_model, check
from graph_engine.project_io import load_project
from tests.engine.blocks_factory import basic_block, e, n, stage_block


@pytest.mark.parametrize("seed", range(6))
def test_block_instance_shape_and_params_match_torch(seed):
    rng = random.Random(seed)
    width, channels, size = rng.randint(1, 6), rng.randint(1, 6), rng.randint(3, 9)
    repeat = rng.choice([None, 1, 2, 3])
    instance = n("stage", "Block", {"width": width}, block="Stage")
    if repeat is not None:
        instance["repeat"] = repeat
    data = {"format": "layerloom", "format_version": 2, "name": "prop",
            "blocks": {"BasicBlock": basic_block(), "Stage": stage_block()},
            "graph": {"nodes": [n("x", "Input", {"shape": [channels, size, size]}), instance, n("y", "Output")],
                      "edges": [e("x", "stage"), e("stage", "y")]}}
    project = load_project(data)
    result = check(project)
    assert result.ok, result.diagnostics
    model = build_model(project).eval()
    with torch.no_grad():
        out = model(torch.randn(2, channels, size, size))
    assert tuple(out.shape[1:]) == result.shape("stage").shape == (2 * width, size, size)
    assert result.nodes["stage"].param_count == sum(p.numel() for p in model.parameters())
