"""Render resources/icons/layerloom.svg to every icon file LayerLoom ships.

    .venv/bin/python installers/make_icons.py [--check]

Writes, next to the SVG:
    layerloom-16.png ... layerloom-512.png   (16, 24, 32, 48, 64, 128, 256, 512: the window icon, the
                                              freedesktop hicolor sizes, the About dialog)
    layerloom.ico                            (Windows: 16 ... 256, for the .exe and the installer)
    layerloom.icns                           (macOS: 32 to 1024 pixels, for LayerLoom.app)

The PNGs are rendered by Qt's SVG renderer (PySide6.QtSvg) at each size, not scaled down from one big
picture, so the small sizes stay sharp; Pillow packs them into the .ico and .icns. `--check` writes nothing
and exits 1 when one of the files is missing (build.sh runs it; a test compares the PNGs with the SVG).
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PIL import Image  # noqa: E402
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, Qt  # noqa: E402
from PySide6.QtGui import QGuiApplication, QImage, QPainter  # noqa: E402
from PySide6.QtSvg import QSvgRenderer  # noqa: E402

ICONS = Path(__file__).resolve().parent.parent / "resources" / "icons"
SVG = ICONS / "layerloom.svg"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
ICNS_SIZES = (16, 32, 64, 128, 256, 512, 1024)


def png_path(size: int) -> Path:
    return ICONS / f"layerloom-{size}.png"


def render(renderer: QSvgRenderer, size: int) -> Image.Image:
    """The SVG drawn at size x size pixels, as an RGBA Pillow image."""
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter, QRectF(0, 0, size, size))
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    buffer.close()
    return Image.open(io.BytesIO(bytes(data))).convert("RGBA")


def build(renderer: QSvgRenderer) -> dict[Path, bytes]:
    """Every icon file's bytes, by path."""
    sizes = sorted(set(PNG_SIZES) | set(ICO_SIZES) | set(ICNS_SIZES))
    images = {size: render(renderer, size) for size in sizes}
    files: dict[Path, bytes] = {}
    for size in PNG_SIZES:
        out = io.BytesIO()
        images[size].save(out, "PNG", optimize=True)
        files[png_path(size)] = out.getvalue()
    out = io.BytesIO()
    largest = images[max(ICO_SIZES)]
    largest.save(out, "ICO", sizes=[(s, s) for s in ICO_SIZES],
                 append_images=[images[s] for s in ICO_SIZES if s != max(ICO_SIZES)])
    files[ICONS / "layerloom.ico"] = out.getvalue()
    out = io.BytesIO()
    images[max(ICNS_SIZES)].save(out, "ICNS",
                                 append_images=[images[s] for s in ICNS_SIZES if s != max(ICNS_SIZES)])
    files[ICONS / "layerloom.icns"] = out.getvalue()
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 when a file is missing")
    options = parser.parse_args(argv)
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 - QPainter needs one
    renderer = QSvgRenderer(str(SVG))
    if not renderer.isValid():
        print(f"error: {SVG} is not a valid SVG", file=sys.stderr)
        return 1
    files = build(renderer)
    if options.check:
        missing = [path.name for path in files if not path.is_file()]
        if missing:
            print(f"missing: {', '.join(missing)} (run installers/make_icons.py)", file=sys.stderr)
            return 1
        print(f"{len(files)} icon files present")
        return 0
    for path, data in files.items():
        path.write_bytes(data)
        print(f"wrote {path.relative_to(ICONS.parent.parent)} ({len(data):,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
