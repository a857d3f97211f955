"""How much memory a dataset may take, checked before the memory is spent.

A dataset is held in memory as numpy arrays, so a file (or a generator's params) that would need more memory
than the machine has must be refused with a clear message *before* it is allocated: a MemoryError, or the
kernel killing the process, is never a good answer. Every loader estimates what it is about to allocate and
calls `check_fits(bytes, what, hint)`.

The budget is half of the memory available when the check runs (MemAvailable on Linux, else the physical
memory), so loading leaves room for the model, its gradients and the copies the training loop makes. The
environment variable LAYERLOOM_MAX_DATA_BYTES sets it instead (a number of bytes, optionally with a K, M or G
suffix): for shared machines, containers whose memory limit the kernel's figures do not show, and tests.
"""

from __future__ import annotations

import os
import re

from graph_engine.data.base import DatasetError

ENV_VAR = "LAYERLOOM_MAX_DATA_BYTES"
FRACTION_OF_AVAILABLE = 0.5
_SUFFIX = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def system_available_memory() -> int | None:
    """The kernel's MemAvailable (/proc/meminfo), else the physical memory; None when neither can be asked."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, OSError, ValueError):
        return None


def _available_memory() -> int:
    available = system_available_memory()
    return available if available is not None else 8 << 30  # no way to ask (Windows): assume a small desktop


def memory_budget() -> int:
    """The most bytes a dataset's arrays (and the temporaries that make them) may take."""
    text = os.environ.get(ENV_VAR, "").strip().upper().removesuffix("B").removesuffix("I")
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([KMGT]?)", text)
    if m:
        return max(1, int(float(m.group(1)) * _SUFFIX[m.group(2)]))
    return int(_available_memory() * FRACTION_OF_AVAILABLE)


def format_bytes(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover - the loop always returns


def check_fits(nbytes: float, what: str, hint: str, *, path: str | None = None) -> None:
    """A DatasetError when `nbytes` (what `what` needs) exceeds the memory budget."""
    budget = memory_budget()
    if nbytes > budget:
        where = f": {path}" if path else ""
        raise DatasetError(
            f"{what} needs about {format_bytes(nbytes)} of memory, more than the {format_bytes(budget)} "
            f"LayerLoom allows for a dataset on this machine{where}",
            f"{hint} (the limit is half the free memory; set {ENV_VAR} to change it)", path=path)


__all__ = ["ENV_VAR", "check_fits", "format_bytes", "memory_budget"]
