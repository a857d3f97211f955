"""Will it fit (graph_engine/training/fit.py): the memory estimate against an injected free-memory figure, the
largest batch size that fits (solved from the linear estimate), and the machine's own free memory."""

from __future__ import annotations

import torch

from graph_engine.templates import load_template
from graph_engine.training.fit import (
    MAX_BATCH_SIZE,
    USABLE_FRACTION,
    free_memory,
    largest_batch_size,
    memory_fit,
    resolved_device,
)
from graph_engine.validation import check, estimated_memory_bytes


def test_the_largest_batch_size_is_the_last_whose_estimate_fits():
    result = check(load_template("lenet5"))
    fixed = estimated_memory_bytes(result, 0)
    per_sample = estimated_memory_bytes(result, 1) - fixed
    free = int((fixed + 300 * per_sample) / USABLE_FRACTION) + 1  # room for exactly 300 samples
    assert largest_batch_size(result, free) == 300
    assert memory_fit(result, 300, free).fits and not memory_fit(result, 301, free).fits
    verdict = memory_fit(result, 512, free, "cuda:0")
    assert verdict.largest_batch == 300
    assert verdict.text().startswith("does not fit cuda:0 (") and verdict.text().endswith("batch size 300 would")
    assert memory_fit(result, 64, free).text().startswith("fits the CPU (")
    assert largest_batch_size(result, 10 ** 15) == MAX_BATCH_SIZE  # the settings allow no larger
    tiny = memory_fit(result, 1, fixed // 2)
    assert tiny.largest_batch == 0 and "even at batch size 1" in tiny.text()
    unknown = memory_fit(result, 64, None)
    assert unknown.fits is None and unknown.largest_batch is None and "unknown" in unknown.text()


def test_free_memory_of_this_machine():
    free = free_memory("cpu")
    assert free is not None and free > 2 ** 20
    assert (free_memory("cuda:0") is None) == (not torch.cuda.is_available())
    assert resolved_device("cpu") == "cpu"
    assert resolved_device("auto") == ("cuda:0" if torch.cuda.is_available() else "cpu")
