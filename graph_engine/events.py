"""A tiny observer: the engine announces its changes, the app (through one bridge) listens.

Modelled on ryvencore's Event: `sub`, `unsub`, `emit`. Listeners are called in subscription order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Event:
    __slots__ = ("_listeners",)

    def __init__(self) -> None:
        self._listeners: list[Callable[..., Any]] = []

    def sub(self, listener: Callable[..., Any]) -> None:
        if listener not in self._listeners:
            self._listeners.append(listener)

    def unsub(self, listener: Callable[..., Any]) -> None:
        self._listeners.remove(listener)

    def emit(self, *args: Any) -> None:
        for listener in tuple(self._listeners):
            listener(*args)

    def __len__(self) -> int:
        return len(self._listeners)
