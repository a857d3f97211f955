"""What the LayerLoom bundle leaves out, in one place: the spec drops it from PyInstaller's lists before
anything is copied (every platform), and build.sh runs this file on the finished Linux folder as a second
pass, which also removes __pycache__ folders and strips the symbol tables of torch's own libraries.

    python installers/bundle_filter.py dist/LayerLoom [--no-strip]

Each rule is a category and shell-style patterns matched against a file's path inside the bundle
(`_internal/` left out, `/` as the separator). Nothing here is something LayerLoom runs: C/C++ headers and
static libraries (for compiling against torch), torch's own C++ test programs and test libraries, Python test
suites, Qt's translations of its own dialogs (LayerLoom's interface is English and loads no translator), Qt
plugins for embedded or network use (eglfs, linuxfb, VNC, evdev input, TLS, network information), and
type stubs.
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

_QT_ROOTS = ("PySide6/Qt", "PySide6")  # Linux and macOS wheels; Windows wheels have no Qt/ level
_UNUSED_QT = ("translations/*", "qml/*", "plugins/egldeviceintegrations/*", "plugins/generic/*", "plugins/tls/*",
              "plugins/networkinformation/*", "plugins/sqldrivers/*", "plugins/qmltooling/*", "plugins/qmllint/*",
              "plugins/designer/*", "plugins/platforms/libqeglfs.so", "plugins/platforms/libqlinuxfb.so",
              "plugins/platforms/libqvnc.so", "plugins/platforms/libqvkkhrdisplay.so",
              "plugins/platforms/libqminimalegl.so", "lib/libQt6EglFSDeviceIntegration.so*",
              "lib/libQt6EglFsKmsSupport.so*", "lib/libQt6EglFsKmsGbmSupport.so*")
RULES: dict[str, tuple[str, ...]] = {
    "C/C++ headers (torch and numpy), CMake files, static libraries": (
        "torch/include/*", "torch/share/*", "*.a", "*.lib", "*.h", "*.hpp", "*.cuh", "*.cmake",
    ),
    "torch's C++ test programs, test libraries and protoc": (
        "torch/bin/*", "torch/test/*", "torch/lib/*test*.so*", "torch/lib/libbackend_with_compiler.so*",
        "torch/lib/libaoti_custom_ops.so*", "torch/lib/*test*.dll", "torch/lib/backend_with_compiler.dll",
        "torch/lib/aoti_custom_ops.dll",
    ),
    "Python test suites": ("*/tests/*",),
    "Qt translations": tuple(f"{root}/translations/*" for root in _QT_ROOTS),
    "unused Qt plugins and QML (embedded, VNC, evdev, TLS, network information, SQL)": tuple(
        f"{root}/{pattern}" for root in _QT_ROOTS for pattern in _UNUSED_QT if pattern != "translations/*")
    # PyInstaller also links some Qt libraries into _internal/ itself
    + ("libQt6EglFSDeviceIntegration.so*", "libQt6EglFsKmsSupport.so*", "libQt6EglFsKmsGbmSupport.so*"),
    "type stubs and Cython sources": ("*.pyi", "*.pxd", "*.pyx"),
}
# Never dropped, whatever a rule says: torch refuses to import without its shared-memory manager (torch/bin).
KEEP = ("torch/bin/torch_shm_manager", "torch/bin/torch_shm_manager.exe")
# Libraries whose symbol tables (.symtab, not the dynamic symbols a loader needs) are stripped on Linux:
# torch's own, built without auditwheel's patchelf rewriting (stripping a patchelf'd library can break it).
STRIP_ELF = ("torch/lib/libtorch_cpu.so", "torch/lib/libtorch_python.so", "torch/lib/libc10.so",
             "torch/lib/libtorch.so", "torch/lib/libshm.so")


def category(path: str) -> str | None:
    """The rule that drops `path` (relative to the bundle's _internal folder), or None when it is kept."""
    path = path.replace(os.sep, "/")
    if path in KEEP:
        return None
    for name, patterns in RULES.items():
        if any(fnmatch.fnmatchcase(path, pattern) for pattern in patterns):
            return name
    return None


def _size(path: str | os.PathLike) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def filter_toc(toc: Iterable[tuple], totals: dict[str, list[int]]) -> list[tuple]:
    """PyInstaller's (dest, source, kind) entries without the dropped ones; counts go into `totals`
    (category -> [files, bytes])."""
    kept = []
    for entry in toc:
        name = category(entry[0])
        if name is None:
            kept.append(entry)
            continue
        count = totals.setdefault(name, [0, 0])
        count[0] += 1
        count[1] += _size(entry[1])
    return kept


def report(totals: dict[str, list[int]], write: Callable[[str], object] = print) -> int:
    total = 0
    for name, (files, size) in sorted(totals.items(), key=lambda item: -item[1][1]):
        write(f"  stripped {size / 2**20:8.1f} MiB  {files:5d} files  {name}")
        total += size
    write(f"  stripped {total / 2**20:8.1f} MiB in all")
    return total


def prune_tree(internal: Path, totals: dict[str, list[int]]) -> None:
    """Delete what the rules drop from a built bundle's _internal folder, and every __pycache__."""
    for folder, dirs, files in os.walk(internal, topdown=True):
        here = Path(folder)
        if "__pycache__" in dirs:
            cache = here / "__pycache__"
            size = sum(_size(p) for p in cache.rglob("*") if p.is_file())
            count = totals.setdefault("__pycache__ folders", [0, 0])
            count[0] += sum(1 for p in cache.rglob("*") if p.is_file())
            count[1] += size
            shutil.rmtree(cache)
            dirs.remove("__pycache__")
        for file in files:
            path = here / file
            if path.is_symlink() and not path.exists():  # a link to something a rule dropped
                totals.setdefault("links left dangling", [0, 0])[0] += 1
                path.unlink()
                continue
            name = category(path.relative_to(internal).as_posix())
            if name is not None:
                count = totals.setdefault(name, [0, 0])
                count[0] += 1
                count[1] += _size(path)
                path.unlink()
    for folder, dirs, files in os.walk(internal, topdown=False):  # folders the pruning emptied
        if not dirs and not files and Path(folder) != internal:
            Path(folder).rmdir()


def strip_symbols(internal: Path, totals: dict[str, list[int]]) -> None:
    """strip --strip-unneeded torch's libraries (Linux only; needs binutils' strip)."""
    strip = shutil.which("strip")
    if not sys.platform.startswith("linux") or strip is None:
        return
    for relative in STRIP_ELF:
        path = internal / relative
        if not path.is_file():
            continue
        before = _size(path)
        subprocess.run([strip, "--strip-unneeded", str(path)], check=True)
        count = totals.setdefault("symbol tables of torch's libraries (strip --strip-unneeded)", [0, 0])
        count[0] += 1
        count[1] += before - _size(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Prune a built LayerLoom bundle folder in place.")
    parser.add_argument("bundle", type=Path, help="dist/LayerLoom (the folder holding _internal/)")
    parser.add_argument("--no-strip", action="store_true", help="keep the symbol tables of torch's libraries")
    options = parser.parse_args(argv)
    internal = options.bundle / "_internal"
    if not internal.is_dir():
        print(f"error: {internal} is not a folder", file=sys.stderr)
        return 2
    totals: dict[str, list[int]] = {}
    prune_tree(internal, totals)
    if not options.no_strip:
        strip_symbols(internal, totals)
    print(f"second pass over {options.bundle}:")
    report(totals)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
