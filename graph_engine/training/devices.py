"""Which device trains, and what exists on this machine.

    resolve_device("auto")   # cuda, then mps, then cpu
    describe_devices()       # [DeviceInfo(kind="cpu", name=..., threads=2), DeviceInfo(kind="cuda", ...)]

A device that was asked for by name but does not exist is a TrainingConfigError (field training.device)
that says which ones do.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass

import torch

from graph_engine.training.config import TrainingConfigError
from graph_engine.training.recipe import auto_device


@dataclass(frozen=True)
class DeviceInfo:
    kind: str  # "cpu" | "cuda" | "mps"
    device: str  # what `device` accepts: "cpu", "cuda:0", "mps"
    name: str  # "NVIDIA H100 80GB HBM3", "AMD EPYC 7B13", "Apple MPS"
    memory_bytes: int | None = None  # GPU memory (None for the CPU and MPS)
    threads: int | None = None  # CPU: the threads a run uses by default (sensible_threads())

    def describe(self) -> str:
        if self.kind == "cpu":
            return f"CPU: {self.name} ({self.threads} thread{'s' if self.threads != 1 else ''})"
        if self.memory_bytes:
            return f"{self.device}: {self.name} ({self.memory_bytes / 2**30:.1f} GiB)"
        return f"{self.device}: {self.name}"


def available_cpus() -> int:
    """CPUs this process may run on (the affinity mask, which containers and taskset narrow)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


_TORCH_DEFAULT_THREADS = torch.get_num_threads()  # torch's own choice (the physical cores), before anyone sets it


def sensible_threads(reserve: int = 1) -> int:
    """Intra-op threads for training: torch's default (the physical cores), capped to the CPUs this process may
    use, minus `reserve` cores left for the GUI thread, the OS and whatever else runs (at least 1).

    Why leave one: OpenMP threads that must share a core with another busy thread wait on each other. Measured on
    a 2-core machine with one other busy process, an epoch with 2 threads took 4-18x as long as with 1 (MLP
    16 -> 93..244 ms, CNN 54 -> 371..972 ms); the one quiet measurement saw 2 threads gain 1.3x (ResNet).
    """
    return max(1, min(_TORCH_DEFAULT_THREADS, available_cpus()) - max(0, reserve))


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "CPU"


def mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def describe_devices() -> list[DeviceInfo]:
    """Every device that can train here, the CPU first."""
    out = [DeviceInfo("cpu", "cpu", cpu_name(), None, sensible_threads())]
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            out.append(DeviceInfo("cuda", f"cuda:{i}", props.name, int(props.total_memory)))
    if mps_available():
        out.append(DeviceInfo("mps", "mps", "Apple MPS"))
    return out


def resolve_device(name: str) -> torch.device:
    """`auto` -> cuda, then mps, then cpu; a named device that does not exist is a TrainingConfigError."""
    if name == "auto":
        return auto_device()
    if name == "cpu":
        return torch.device("cpu")
    exists = ", ".join(d.device for d in describe_devices())
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise TrainingConfigError("CUDA is not available on this machine", "training.device",
                                      f"use auto or cpu (devices here: {exists})")
        index = int(name.partition(":")[2] or torch.cuda.current_device())
        if index >= torch.cuda.device_count():
            raise TrainingConfigError(f"there is no GPU {name}", "training.device", f"devices here: {exists}")
        return torch.device("cuda", index)
    if name == "mps":
        if not mps_available():
            raise TrainingConfigError("Apple MPS is not available on this machine", "training.device",
                                      f"use auto or cpu (devices here: {exists})")
        return torch.device("mps")
    raise TrainingConfigError(f"unknown device {name!r}", "training.device", "use auto, cpu, cuda or mps")


def device_name(device: torch.device, threads: int) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return "Apple MPS"
    return f"{cpu_name()} ({threads} thread{'s' if threads != 1 else ''})"


__all__ = ["DeviceInfo", "available_cpus", "describe_devices", "device_name", "resolve_device",
           "sensible_threads"]
