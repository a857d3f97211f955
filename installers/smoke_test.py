"""Smoke-test a built LayerLoom bundle: run the frozen program the way a person would, without a display.

    python3 installers/smoke_test.py [dist/LayerLoom/layerloom] [--keep DIR]

Needs only the Python standard library (any python3 runs it); the bundle brings everything else. Each step
runs the frozen executable in a fresh HOME (so no settings, autosaves or recent files of the person running
it are read or written), with QT_QPA_PLATFORM=offscreen, and checks its exit status and what it wrote:

    --version                            prints "layerloom <graph_engine.__version__>"
    templates                            lists the built-in templates (resources shipped in the bundle)
    new --template cnn_digits            writes a project
    check                                exit 0
    train --epochs 1                     trains on CPU (torch, the digits data set from scikit-learn)
    export --code --weights              writes model.py and checks it against the in-app model (torch runs it)
    gui --screenshot welcome.png         the window on the welcome page, rendered offscreen: a 1400x900 PNG
    gui PROJECT --screenshot canvas.png  the window with the project on the canvas

Exit status 0 when every step passed, 1 otherwise. --keep DIR keeps the PNGs and the project in DIR.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The console program: Linux `layerloom`, Windows `layerloom-cli.exe` (LayerLoom.exe is windowed), macOS `LayerLoom`.
DEFAULT_EXE = ROOT / "dist" / "LayerLoom" / {"nt": "layerloom-cli.exe"}.get(
    os.name, "LayerLoom" if sys.platform == "darwin" else "layerloom")
SCREENSHOT_SIZE = (1400, 900)
STEP_TIMEOUT_S = 300


def expected_version() -> str:
    text = (ROOT / "graph_engine" / "__init__.py").read_text(encoding="utf-8")
    return re.search(r'^__version__ = "([^"]+)"', text, re.M)[1]


def png_facts(path: Path) -> tuple[int, int, int]:
    """(width, height, distinct byte values in the decompressed image data) of a PNG; ValueError if it
    is not one."""
    data = path.read_bytes()
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        raise ValueError("not a PNG file")
    offset, idat, width, height = 8, b"", 0, 0
    while offset + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        body = data[offset + 8:offset + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
        offset += 12 + length
    pixels = zlib.decompress(idat)
    return width, height, len(set(pixels[: 1 << 20]))


class Smoke:
    def __init__(self, exe: Path, work: Path):
        self.exe = exe
        self.work = work
        self.failures: list[str] = []
        home = work / "home"
        home.mkdir()
        self.env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
        self.env.update({"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
                         "XDG_STATE_HOME": str(home / ".local/state"), "XDG_DATA_HOME": str(home / ".local/share"),
                         "XDG_CACHE_HOME": str(home / ".cache"), "QT_QPA_PLATFORM": "offscreen",
                         "LAYERLOOM_STATE_DIR": str(home / "state"), "PYTHONDONTWRITEBYTECODE": "1"})

    def run(self, title: str, *args: str, expect: str | None = None) -> subprocess.CompletedProcess | None:
        started = time.perf_counter()
        try:
            done = subprocess.run([str(self.exe), *args], cwd=self.work, env=self.env, capture_output=True,
                                  text=True, timeout=STEP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            return self.fail(title, f"no answer after {STEP_TIMEOUT_S} s")
        seconds = time.perf_counter() - started
        output = (done.stdout + done.stderr).strip()
        said = done.stdout.strip() or done.stderr.strip()  # stdout's last line: stderr has Qt's chatter
        if done.returncode != 0:
            return self.fail(title, f"exit {done.returncode}\n{output[-3000:]}")
        if expect is not None and not re.search(expect, output):
            return self.fail(title, f"output does not match {expect!r}:\n{output[-3000:]}")
        last = said.splitlines()[-1] if said else ""
        print(f"ok    {title}  ({seconds:.1f} s)  {last[:110]}")
        return done

    def fail(self, title: str, why: str) -> None:
        print(f"FAIL  {title}: {why}")
        self.failures.append(title)
        return None

    def screenshot(self, title: str, out: Path, *project: str) -> None:
        if self.run(title, "gui", *project, "--screenshot", str(out)) is None:
            return
        try:
            width, height, distinct = png_facts(out)
        except (OSError, ValueError, zlib.error) as exc:
            self.fail(title, f"{out.name} is not a readable PNG ({exc})")
            return
        size = out.stat().st_size
        if (width, height) != SCREENSHOT_SIZE or size == 0 or distinct < 8:
            self.fail(title, f"{out.name}: {width}x{height}, {size} bytes, {distinct} distinct byte values")
            return
        print(f"      {out.name}: {width}x{height} PNG, {size:,} bytes")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Smoke-test the frozen LayerLoom bundle (offscreen).")
    parser.add_argument("exe", nargs="?", type=Path, default=DEFAULT_EXE, help=f"default: {DEFAULT_EXE}")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="copy the screenshots and the project here")
    options = parser.parse_args(argv)
    exe = options.exe.resolve()
    if not exe.is_file():
        print(f"error: {exe} does not exist (build it with installers/build.sh)", file=sys.stderr)
        return 2
    version = expected_version()
    print(f"smoke test of {exe}")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="layerloom-smoke-") as tmp:
        work = Path(tmp)
        smoke = Smoke(exe, work)
        smoke.run("--version", "--version", expect=rf"^layerloom {re.escape(version)}$")
        smoke.run("templates", "templates", expect=r"cnn_digits")
        smoke.run("new --template cnn_digits", "new", "--template", "cnn_digits", "net.layerloom.json")
        smoke.run("check", "check", "net.layerloom.json")
        smoke.run("train --epochs 1 (CPU, digits)", "train", "net.layerloom.json", "--epochs", "1", "--out", "run",
                  expect=r"epoch 1/1")
        smoke.run("export --code --weights (checked)", "export", "net.layerloom.json", "--code", "model.py",
                  "--weights", "run/model.safetensors", expect=r"check: model\.py reproduces .*: ok")
        smoke.screenshot("gui --screenshot (welcome page, offscreen)", work / "welcome.png")
        smoke.screenshot("gui PROJECT --screenshot (canvas, offscreen)", work / "canvas.png", "net.layerloom.json")
        if options.keep is not None:
            options.keep.mkdir(parents=True, exist_ok=True)
            for name in ("welcome.png", "canvas.png", "net.layerloom.json"):
                if (work / name).is_file():
                    shutil.copy2(work / name, options.keep / name)
    seconds = time.perf_counter() - started
    if smoke.failures:
        print(f"smoke test FAILED ({len(smoke.failures)} of 8 steps: {', '.join(smoke.failures)}) in {seconds:.0f} s")
        return 1
    print(f"smoke test passed: 8 steps in {seconds:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
