"""The checks the launcher makes before Qt loads (app/system_check.py): which platform Qt would use, what
ldd says is missing, and the install commands named for it."""

from __future__ import annotations

import shutil

import pytest

from app.system_check import (
    PACKAGES,
    chosen_platform,
    display_problem,
    install_commands,
    missing_in_ldd_output,
    missing_libraries,
    missing_libraries_message,
    plugin_path,
)

LDD_OUTPUT = """\
\tlinux-vdso.so.1 (0x00007ffd3b5e4000)
\tlibQt6XcbQpa.so.6 => /venv/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f1c2e000000)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-keysyms.so.1 => not found
\tlibxcb.so.1 => /lib/x86_64-linux-gnu/libxcb.so.1 (0x00007f1c2dfd0000)
\tlibxcb-icccm.so.4 => not found
"""


def test_ldd_not_found_lines_are_read_once_each():
    assert missing_in_ldd_output(LDD_OUTPUT) == ["libxcb-icccm.so.4", "libxcb-keysyms.so.1"]
    assert missing_in_ldd_output("\tlibc.so.6 => /lib/libc.so.6 (0x1)\n") == []


def test_the_message_names_each_library_and_the_apt_and_dnf_commands():
    text = missing_libraries_message("xcb", ["libxcb-icccm.so.4", "libxcb-keysyms.so.1", "libxcb-cursor.so.0"])
    first, apt, dnf = text.splitlines()
    assert first.startswith("error: ") and "libxcb-icccm.so.4, libxcb-keysyms.so.1, libxcb-cursor.so.0" in first
    assert apt.strip() == "Debian/Ubuntu: sudo apt-get install libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0"
    assert dnf.strip() == "Fedora:        sudo dnf install xcb-util-wm xcb-util-keysyms xcb-util-cursor"


def test_an_unknown_library_is_named_for_a_search():
    apt, dnf = install_commands(["libxcb-shape.so.0", "libxcb-shape.so.0", "libweird.so.7"])
    assert apt == "sudo apt-get install libxcb-shape0; apt-file search libweird.so.7"
    assert dnf == "sudo dnf install libxcb; dnf provides '*/libweird.so.7'"


def test_the_platform_qt_would_choose():
    assert chosen_platform({}) is None
    assert chosen_platform({"DISPLAY": ":0"}) == "xcb"
    assert chosen_platform({"WAYLAND_DISPLAY": "wayland-0"}) == "wayland"
    assert chosen_platform({"WAYLAND_DISPLAY": "w", "DISPLAY": ":0"}) == "xcb"
    assert chosen_platform({"WAYLAND_DISPLAY": "w", "DISPLAY": ":0", "XDG_SESSION_TYPE": "wayland"}) == "wayland"
    assert chosen_platform({"QT_QPA_PLATFORM": "offscreen"}) == "offscreen"
    assert chosen_platform({"QT_QPA_PLATFORM": "xcb:nograb"}) == "xcb"


def test_no_display_and_an_override_platform():
    problem = display_problem({})
    assert problem is not None and len(problem.message.splitlines()) == 1
    assert display_problem({"QT_QPA_PLATFORM": "offscreen"}) is None  # the user's choice is not second-guessed


@pytest.mark.skipif(shutil.which("ldd") is None, reason="ldd is part of glibc; this system has none")
def test_the_installed_xcb_plugin_is_found_and_checked():
    plugin = plugin_path("xcb")
    assert plugin is not None and plugin.name == "libqxcb.so"
    missing = missing_libraries("xcb")
    assert all(name.startswith("lib") and ".so" in name for name in missing)
    assert all(name in PACKAGES for name in missing), missing  # every library this plugin lacks has its package
