"""torchvision and timm for tests, with the CPU torch wheel.

torchvision 0.28 from PyPI is built against the CUDA torch; with the CPU wheel its C++ ops are missing, and
`import torchvision` fails in `torchvision/_meta_registrations.py` (`operator torchvision::nms does not
exist`) where it registers fake (meta) kernels for those ops. The model classes never call those ops, so the
registrations are skipped while torchvision imports: `torch.library.register_fake` is a no-op for
"torchvision::" names during the import and restored right after. Tests only: graph_engine never imports
torchvision.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

import pytest
import torch


def _import_torchvision() -> ModuleType:
    if "torchvision" in sys.modules:
        return sys.modules["torchvision"]
    original = torch.library.register_fake

    def register_fake(op, func=None, /, *args, **kwargs):
        if isinstance(op, str) and op.startswith("torchvision::"):
            return func if func is not None else (lambda fn: fn)
        return original(op, func, *args, **kwargs)

    torch.library.register_fake = register_fake
    try:
        return importlib.import_module("torchvision")
    finally:
        torch.library.register_fake = original


def torchvision_models() -> ModuleType:
    """torchvision.models, or the test is skipped when torchvision is not installed."""
    try:
        _import_torchvision()
    except ImportError:
        pytest.skip("torchvision is not installed (pip install -e '.[dev]')")
    return importlib.import_module("torchvision.models")


def timm() -> ModuleType:
    """timm (imported after torchvision, which it uses when present), or the test is skipped."""
    torchvision_models()
    return pytest.importorskip("timm")
