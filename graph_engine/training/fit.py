"""Will it fit? The training-memory estimate against the memory the chosen device has free, and the largest
batch size that fits.

    free = free_memory("cpu")                    # bytes: MemAvailable on Linux; None when unknown
    verdict = memory_fit(result, 64, free, "cpu")
    verdict.fits, verdict.text()                 # True, "fits the CPU (9.8 GiB free)"
    largest_batch_size(result, free)             # 65536, or 0 when even one sample does not fit

The estimate is `validation.estimated_memory_bytes`: weights, gradients and Adam's two moments, plus every live
node's output and its gradient per sample. It is linear in the batch size, so the largest batch that fits is
solved for, not searched. Only USABLE_FRACTION of the free memory is counted as usable: the estimate leaves
out the allocator's slack, the framework's own workspace and, on a GPU, the dataset (the trainer moves it to
the device once), so a network estimated at exactly the free memory would not train.

Free memory: the CPU's is the kernel's MemAvailable (/proc/meminfo), else total physical memory from sysconf;
a CUDA device's is `torch.cuda.mem_get_info`, asked only when torch is already imported (importing it takes
seconds, too long for a status bar) and CUDA is there; MPS shares the system's memory. Callers that know better
(a test, a device list with the figures) pass the number in; nothing here mocks or imports torch otherwise.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from graph_engine.training.settings_spec import MAX_BATCH_SIZE
from graph_engine.validation import (
    BYTES_PER_ELEMENT,
    CheckResult,
    activations_per_sample,
    estimated_memory_bytes,
)

USABLE_FRACTION = 0.8  # of the free memory, see the module docstring


def _gib(n: float) -> str:
    if n >= 2 ** 30:
        return f"{n / 2 ** 30:.1f} GiB"
    return f"{n / 2 ** 20:.0f} MiB"


def device_label(device: str) -> str:
    return "the CPU" if device in ("cpu", "") else device


@dataclass(frozen=True)
class MemoryFit:
    """The estimate at a batch size against a device's free memory (`free_bytes` None: unknown)."""

    device: str
    batch_size: int
    needed_bytes: int
    free_bytes: int | None
    largest_batch: int | None  # None when the free memory is unknown; 0 when not even batch 1 fits

    @property
    def known(self) -> bool:
        return self.free_bytes is not None

    @property
    def fits(self) -> bool | None:
        if self.free_bytes is None:
            return None
        return self.needed_bytes <= self.free_bytes * USABLE_FRACTION

    def text(self) -> str:
        """One line for the status bar's tooltip and messages."""
        where = device_label(self.device)
        if self.free_bytes is None:
            return f"free memory of {where} unknown"
        free = f"{_gib(self.free_bytes)} free"
        if self.fits:
            return f"fits {where} ({free}; up to batch {self.largest_batch:,})"
        if not self.largest_batch:
            return f"does not fit {where} ({free}) even at batch size 1; use a smaller network"
        return f"does not fit {where} ({free}); batch size {self.largest_batch:,} would"


def largest_batch_size(result: CheckResult, free_bytes: int, *, limit: int = MAX_BATCH_SIZE) -> int:
    """The largest batch size whose estimate fits USABLE_FRACTION of `free_bytes` (at most `limit`; 0 when not
    even one sample fits)."""
    usable = int(free_bytes * USABLE_FRACTION)
    fixed = estimated_memory_bytes(result, 0)
    per_sample = 2 * BYTES_PER_ELEMENT * activations_per_sample(result)
    if usable < fixed + per_sample:
        return 0
    if per_sample <= 0:
        return limit
    return int(min(limit, (usable - fixed) // per_sample))


def memory_fit(result: CheckResult, batch_size: int, free_bytes: int | None, device: str = "cpu") -> MemoryFit:
    needed = estimated_memory_bytes(result, batch_size)
    largest = None if free_bytes is None else largest_batch_size(result, free_bytes)
    return MemoryFit(device, batch_size, needed, free_bytes, largest)


def resolved_device(device: str | None) -> str:
    """"auto" as a run would resolve it, without importing torch: CUDA when torch is already loaded and has
    it, else the CPU (MPS shares the system's memory, so the CPU's figure is the one that counts there)."""
    device = device or "auto"
    if device != "auto":
        return device
    torch = sys.modules.get("torch")
    try:
        if torch is not None and torch.cuda.is_available():
            return "cuda:0"
    except Exception:  # noqa: BLE001 - a broken CUDA install: the CPU then
        pass
    return "cpu"


def free_memory(device: str) -> int | None:
    """Bytes free on `device` ("cpu", "mps", "cuda", "cuda:1"); None when it cannot be known cheaply."""
    if device.startswith("cuda"):
        torch = sys.modules.get("torch")
        if torch is None:
            return None
        try:
            if not torch.cuda.is_available():
                return None
            index = int(device.partition(":")[2] or 0)
            return int(torch.cuda.mem_get_info(index)[0])
        except Exception:  # noqa: BLE001 - no such device, a driver error: unknown
            return None
    from graph_engine.data.limits import system_available_memory

    return system_available_memory()


__all__ = ["MAX_BATCH_SIZE", "USABLE_FRACTION", "MemoryFit", "device_label", "free_memory", "largest_batch_size",
           "memory_fit", "resolved_device"]
