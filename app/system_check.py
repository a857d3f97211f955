"""Checks made before Qt loads, so that a missing display or system library is a one-line message with the
command that fixes it, not Qt's abort ("Reinstalling the application may fix this problem").

Qt's xcb platform plugin needs X11 libraries that PySide6's wheel does not ship (libxcb-icccm4,
libxcb-keysyms1, ...); `ldd` on the plugin lists those the dynamic linker cannot find. libxcb-cursor is
loaded by the plugin at run time (dlopen), so ldd does not show it: it is looked up by name. This module
imports no Qt: it finds PySide6's files through importlib without executing PySide6.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib.util
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# soname -> (Debian/Ubuntu package, Fedora package). The libraries Qt 6's xcb and wayland plugins and
# QtGui link against that a desktop may lack.
PACKAGES: dict[str, tuple[str, str]] = {
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb"),
    "libxcb-xinput.so.0": ("libxcb-xinput0", "libxcb"),
    "libxcb-glx.so.0": ("libxcb-glx0", "libxcb"),
    "libxcb.so.1": ("libxcb1", "libxcb"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libX11.so.6": ("libx11-6", "libX11"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libSM.so.6": ("libsm6", "libSM"),
    "libICE.so.6": ("libice6", "libICE"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl"),
    "libGL.so.1": ("libgl1", "libglvnd-glx"),
    "libOpenGL.so.0": ("libopengl0", "libglvnd-opengl"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libwayland-client.so.0": ("libwayland-client0", "libwayland-client"),
    "libwayland-cursor.so.0": ("libwayland-cursor0", "libwayland-cursor"),
    "libwayland-egl.so.1": ("libwayland-egl1", "libwayland-egl"),
}
RUNTIME_LOADED = {"xcb": ("libxcb-cursor.so.0",)}  # dlopen'ed by the plugin: invisible to ldd
EXIT_NO_DISPLAY = 1


@dataclass(frozen=True)
class Problem:
    """Why the window cannot open; `message` is what the user reads (first line is the summary)."""

    message: str


def chosen_platform(env: os._Environ | dict = os.environ) -> str | None:
    """The Qt platform plugin the window would use on Linux/BSD, or None when there is no display."""
    override = env.get("QT_QPA_PLATFORM")
    if override:
        return override.split(":", 1)[0].split(";", 1)[0]
    wayland, x11 = env.get("WAYLAND_DISPLAY"), env.get("DISPLAY")
    if wayland and (not x11 or env.get("XDG_SESSION_TYPE") == "wayland"):
        return "wayland"
    return "xcb" if x11 else None


def missing_in_ldd_output(text: str) -> list[str]:
    """The sonames `ldd` reports as "not found", in order, once each."""
    missing: list[str] = []
    for line in text.splitlines():
        name, sep, where = line.strip().partition("=>")
        if sep and where.strip() == "not found" and name.strip() not in missing:
            missing.append(name.strip())
    return missing


def plugin_path(platform: str) -> Path | None:
    """PySide6's platform plugin file for `platform` (e.g. plugins/platforms/libqxcb.so), found without
    importing PySide6."""
    spec = importlib.util.find_spec("PySide6")
    for root in (spec.submodule_search_locations or []) if spec else []:
        for candidate in (Path(root) / "Qt" / "plugins" / "platforms" / f"libq{platform}.so",
                          Path(root) / "plugins" / "platforms" / f"libq{platform}.so"):
            if candidate.is_file():
                return candidate
    return None


def missing_libraries(platform: str) -> list[str]:
    """System libraries the platform plugin needs and the dynamic linker cannot find."""
    plugin = plugin_path(platform)
    missing: list[str] = []
    ldd = shutil.which("ldd")
    if plugin is not None and ldd is not None:
        try:
            done = subprocess.run([ldd, str(plugin)], capture_output=True, text=True, timeout=20)
            missing = missing_in_ldd_output(done.stdout)
        except (OSError, subprocess.SubprocessError):
            missing = []  # no verdict from ldd: Qt reports what it cannot load
    for soname in RUNTIME_LOADED.get(platform, ()):
        if soname not in missing and not _loadable(soname):
            missing.append(soname)
    return missing


def _loadable(soname: str) -> bool:
    try:
        ctypes.CDLL(soname)
        return True
    except OSError:
        return False


def install_commands(missing: list[str]) -> tuple[str, str]:
    """The apt and dnf lines that install `missing` (a soname we do not know is named for a search)."""
    apt: list[str] = []
    dnf: list[str] = []
    for soname in missing:
        deb, rpm = PACKAGES.get(soname, (None, None))
        if deb is None:
            continue
        apt += [deb] if deb not in apt else []
        dnf += [rpm] if rpm not in dnf else []
    unknown = [s for s in missing if s not in PACKAGES]
    apt_line = f"sudo apt-get install {' '.join(apt)}" if apt else ""
    dnf_line = f"sudo dnf install {' '.join(dnf)}" if dnf else ""
    if unknown:
        apt_line += ("; " if apt_line else "") + " ".join(f"apt-file search {s}" for s in unknown)
        dnf_line += ("; " if dnf_line else "") + " ".join(f"dnf provides '*/{s}'" for s in unknown)
    return apt_line, dnf_line


def missing_libraries_message(platform: str, missing: list[str]) -> str:
    apt, dnf = install_commands(missing)
    return (f"error: the window cannot open: Qt's {platform} platform plugin needs system libraries that are "
            f"not installed: {', '.join(missing)}\n"
            f"  Debian/Ubuntu: {apt}\n"
            f"  Fedora:        {dnf}")


def x_display_reachable(display: str) -> bool | None:
    """Whether an X server answers at `display` (libxcb's own connect); None when libxcb is not there."""
    name = ctypes.util.find_library("xcb")
    if name is None:
        return None
    try:
        xcb = ctypes.CDLL(name)
    except OSError:
        return None
    xcb.xcb_connect.restype = ctypes.c_void_p
    xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
    xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
    connection = xcb.xcb_connect(display.encode(), None)
    try:
        return xcb.xcb_connection_has_error(connection) == 0
    finally:
        xcb.xcb_disconnect(connection)  # also frees the error object of a failed connection


def display_problem(env: os._Environ | dict = os.environ) -> Problem | None:
    """What stops the window from opening on this machine, checked before Qt loads; None when nothing
    does (or on a system whose platform plugin we do not check: Windows, macOS)."""
    if not sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return None
    platform = chosen_platform(env)
    if platform is None:
        return Problem("error: no display to open the window on (neither DISPLAY nor WAYLAND_DISPLAY is set); "
                       "`layerloom gui --screenshot OUT.png` renders it offscreen")
    if platform not in ("xcb", "wayland"):
        return None  # offscreen, minimal, vnc, eglfs...: the user chose it and knows it
    missing = missing_libraries(platform)
    if missing:
        return Problem(missing_libraries_message(platform, missing))
    if platform == "xcb" and x_display_reachable(env.get("DISPLAY", "")) is False:
        return Problem(f"error: no X server answers on DISPLAY={env.get('DISPLAY', '')}; start LayerLoom "
                       f"from a desktop session, or `layerloom gui --screenshot OUT.png` renders it offscreen")
    return None
