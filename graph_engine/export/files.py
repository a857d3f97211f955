"""Atomic file writes for exports: the same function as project saves (temp file, fsync, rename)."""

from graph_engine.project_io import atomic_write_bytes

__all__ = ["atomic_write_bytes"]
