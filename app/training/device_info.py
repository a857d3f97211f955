"""What can train on this machine, for the device selector: GPU names and memory, Apple MPS, CPU threads.

Finding out needs torch, and importing torch takes a second or two, so it never happens on the GUI thread:
`DeviceCatalog.instance()` starts one daemon thread that imports torch (warming it for the first run too)
and asks `graph_engine.training.devices.describe_devices()`; `ready(list[DeviceChoice])` arrives in the GUI
thread. Until then (or if torch cannot be imported) the list is "auto" and the CPU with the threads a run
would use, which needs no torch.

    catalog = DeviceCatalog.instance()
    catalog.ready.connect(combo_filler)       # once; catalog.choices is the list so far
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

from PySide6.QtCore import QCoreApplication, QObject, Signal


@dataclass(frozen=True)
class DeviceChoice:
    """One entry of the device selector: `value` is what training.device takes."""

    value: str  # "auto", "cpu", "cuda:0", "mps"
    label: str  # "CPU: AMD EPYC 7B13 (1 thread)", "cuda:0: NVIDIA H100 (79.1 GiB)"
    detail: str = ""  # tooltip


def _cpu_threads() -> int:
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, cpus - 1)  # what sensible_threads() gives on most machines: one core left for the GUI


def fallback_choices() -> list[DeviceChoice]:
    """What is known without torch: auto and the CPU."""
    threads = _cpu_threads()
    return [DeviceChoice("auto", "auto (best available)", "CUDA GPU, then Apple MPS, then the CPU"),
            DeviceChoice("cpu", f"CPU ({threads} thread{'s' if threads != 1 else ''})", "train on the processor")]


def describe_choices() -> list[DeviceChoice]:
    """Every device that exists here, with "auto" first (imports torch: call off the GUI thread)."""
    from graph_engine.training.devices import describe_devices

    devices = describe_devices()
    best = next((d for d in devices if d.kind == "cuda"), None) or next(
        (d for d in devices if d.kind == "mps"), None) or devices[0]
    out = [DeviceChoice("auto", f"auto ({best.device}: {best.name})" if best.kind != "cpu" else "auto (CPU)",
                        "CUDA GPU, then Apple MPS, then the CPU")]
    for d in devices:
        if d.kind == "cpu":
            threads = d.threads or 1
            out.append(DeviceChoice("cpu", f"CPU ({threads} thread{'s' if threads != 1 else ''})",
                                    f"{d.name}; {threads} training thread{'s' if threads != 1 else ''} "
                                    "(one core is left for the window)"))
        elif d.kind == "cuda":
            memory = f" ({d.memory_bytes / 2**30:.1f} GiB)" if d.memory_bytes else ""
            out.append(DeviceChoice(d.device, f"{d.device}: {d.name}{memory}", "NVIDIA GPU; mixed precision "
                                    "(float16) when the project allows it"))
        else:
            out.append(DeviceChoice(d.device, d.describe(), "Apple GPU (Metal)"))
    return out


def warm_optimizer() -> None:
    """Build and step a tiny Adam: the first optimizer construction imports torch._dynamo (~1.3 s), which
    must not happen in the first run's thread while the GUI waits for the GIL."""
    import torch

    weight = torch.nn.Parameter(torch.zeros(4))
    optimizer = torch.optim.Adam([weight], lr=1e-3)
    weight.sum().backward()
    optimizer.step()


class DeviceCatalog(QObject):
    """The devices of this machine, found once in the background (see the module docstring)."""

    ready = Signal(list)  # list[DeviceChoice], in the GUI thread

    _instance: DeviceCatalog | None = None

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.choices: list[DeviceChoice] = fallback_choices()
        self.loaded = False
        self._thread: threading.Thread | None = None

    @classmethod
    def instance(cls) -> DeviceCatalog:
        """The application's catalog; the first call starts the look-up."""
        if cls._instance is None:
            cls._instance = cls(QCoreApplication.instance())
            cls._instance._start()
        return cls._instance

    def _start(self) -> None:
        self.ready.connect(self._store)

        def work() -> None:
            try:
                choices = describe_choices()
                warm_optimizer()
            except Exception:  # noqa: BLE001 - no torch, a broken driver: the CPU still trains
                choices = fallback_choices()
            try:
                self.ready.emit(choices)  # queued to the GUI thread
            except RuntimeError:  # the application (and this object) is already gone
                pass

        self._thread = threading.Thread(target=work, name="layerloom-devices", daemon=True)
        self._thread.start()

    def _store(self, choices: list[DeviceChoice]) -> None:
        self.choices = list(choices)
        self.loaded = True

    def wait(self, timeout: float = 60.0) -> None:
        """Block until the look-up thread has finished (tests; application exit)."""
        if self._thread is not None:
            self._thread.join(timeout)


__all__ = ["DeviceCatalog", "DeviceChoice", "describe_choices", "fallback_choices"]
