"""The application icon (every size, rendered from its SVG), the About dialog, `layerloom --version`, and the
installers' files that can be checked without building anything (the bundle itself is built and smoke-tested
by the opt-in installers/build.sh, never here)."""

from __future__ import annotations

import configparser
import html
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QSize
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QLabel

from app.about_dialog import AboutDialog, component_versions, show_about, torch_version, versions_text
from app.actions import APP_ICON_SIZES, ICONS_DIR, app_icon, app_icon_file
from graph_engine import __version__

REPO = Path(__file__).resolve().parents[2]
INSTALLERS = REPO / "installers"


# ---- the icon -------------------------------------------------------------------------------------------


def test_the_svg_is_valid_and_square():
    renderer = QSvgRenderer(str(ICONS_DIR / "layerloom.svg"))
    assert renderer.isValid()
    assert renderer.defaultSize() == QSize(256, 256)


@pytest.mark.parametrize("size", APP_ICON_SIZES)
def test_every_png_size_exists_and_is_a_drawn_square(size):
    image = QImage(str(app_icon_file(size)))
    assert not image.isNull()
    assert (image.width(), image.height()) == (size, size)
    assert image.hasAlphaChannel()
    centre = image.pixelColor(size // 2, size // 2)
    corner = image.pixelColor(0, 0)
    assert corner.alpha() == 0  # rounded tile: the corners are transparent
    assert centre.alpha() == 255
    colours = {image.pixelColor(x, y).name() for x in range(0, size, max(1, size // 16))
               for y in range(0, size, max(1, size // 16))}
    assert len(colours) > 4  # a picture, not a blank square


def test_16_to_512_all_present():
    assert APP_ICON_SIZES[0] == 16 and APP_ICON_SIZES[-1] == 512
    assert {16, 32, 48, 128, 256, 512} <= set(APP_ICON_SIZES)


def test_the_pngs_are_renderings_of_the_svg(qapp):
    """The committed PNGs come from the committed SVG (installers/make_icons.py was run after editing it)."""
    sys.path.insert(0, str(INSTALLERS))
    try:
        import make_icons
    finally:
        sys.path.remove(str(INSTALLERS))
    renderer = QSvgRenderer(str(ICONS_DIR / "layerloom.svg"))
    for size in (16, 64, 256):
        fresh = make_icons.render(renderer, size)
        with Image.open(app_icon_file(size)) as png:
            committed = png.convert("RGBA")
        worst = max(abs(a - b) for a, b in zip(fresh.tobytes(), committed.tobytes(), strict=True))
        assert worst <= 8, f"layerloom-{size}.png differs from the SVG: run installers/make_icons.py"


def test_ico_and_icns_hold_the_platform_sizes():
    with Image.open(ICONS_DIR / "layerloom.ico") as ico:
        assert {(16, 16), (32, 32), (48, 48), (256, 256)} <= set(ico.info["sizes"])
    with Image.open(ICONS_DIR / "layerloom.icns") as icns:
        icns_sizes = set(icns.info["sizes"])
    # Pillow writes the ARGB types: 16 and 32 points at 2x, 128 to 512 points at 1x and 2x (1024 pixels)
    assert {(16, 16, 2), (32, 32, 2), (128, 128, 1), (256, 256, 1), (512, 512, 1), (512, 512, 2)} <= icns_sizes


def test_app_icon_offers_every_size(qapp):
    icon = app_icon()
    assert not icon.isNull()
    assert {s.width() for s in icon.availableSizes()} == set(APP_ICON_SIZES)
    assert icon.pixmap(QSize(48, 48)).width() == 48


def test_the_application_uses_it():
    """create_application() sets it as the application's icon (in a child process: it restyles the app)."""
    code = ("from app.main import create_application; app = create_application(); "
            "print(sorted(s.width() for s in app.windowIcon().availableSizes()))")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60,
                            env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(sorted(APP_ICON_SIZES))


# ---- About ----------------------------------------------------------------------------------------------


def test_about_shows_the_version_and_what_it_runs_on(qtbot):
    dialog = AboutDialog()
    qtbot.addWidget(dialog)
    assert __version__ in dialog.version_label.text()
    texts = " ".join(label.text() for label in dialog.findChildren(QLabel))
    for name, value in component_versions():
        assert name in texts and html.escape(value) in texts
    assert torch_version() in texts
    import PySide6

    assert PySide6.__version__ in texts
    assert f"{sys.version_info.major}.{sys.version_info.minor}" in texts
    assert not dialog.icon_label.pixmap().isNull()
    assert dialog.links_label.openExternalLinks()
    assert "https://" in dialog.links_label.text()


def test_about_copies_its_versions(qtbot):
    dialog = AboutDialog()
    qtbot.addWidget(dialog)
    dialog.copy_button.click()
    copied = QGuiApplication.clipboard().text()
    assert copied == versions_text()
    assert f"LayerLoom: {__version__}" in copied
    assert "PyTorch: " in copied


def test_show_about_is_modal_and_returns_when_closed(qtbot, monkeypatch):
    seen = []
    monkeypatch.setattr(AboutDialog, "exec", lambda self: seen.append(self.windowTitle()) or 0)
    show_about(None)
    assert seen == ["About LayerLoom"]


# ---- layerloom --version --------------------------------------------------------------------------------


def test_layerloom_version_prints_it():
    from app.launcher import main

    result = subprocess.run([sys.executable, "-c", "import sys; from app.launcher import main; "
                             "sys.exit(main(sys.argv[1:]))", "--version"],
                            cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"layerloom {__version__}"
    assert callable(main)


def test_layerloom_version_does_not_import_qt_or_torch():
    code = ("import sys; from app.launcher import main; code = main(['--version']); "
            "assert 'torch' not in sys.modules and 'PySide6' not in sys.modules, sorted(sys.modules); "
            "sys.exit(code)")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


# ---- installer files (checked as text; nothing is built) -------------------------------------------------


def test_desktop_entry():
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(INSTALLERS / "layerloom.desktop", encoding="utf-8")
    desktop = entry["Desktop Entry"]
    assert desktop["Type"] == "Application"
    assert desktop["Name"] == "LayerLoom"
    assert desktop["Exec"].startswith("layerloom")
    assert desktop["Icon"] == "layerloom"
    assert "application/x-layerloom-project" in desktop["MimeType"]


def test_appstream_metainfo_names_the_desktop_entry_and_the_version():
    root = ET.parse(INSTALLERS / "io.github.layerloom.LayerLoom.metainfo.xml").getroot()
    assert root.findtext("id") == "io.github.layerloom.LayerLoom"
    assert root.find("launchable").text == "layerloom.desktop"
    assert __version__ in [release.get("version") for release in root.iter("release")]


def test_installer_scripts_carry_the_version_and_icons():
    spec = (INSTALLERS / "layerloom.spec").read_text(encoding="utf-8")
    assert "layerloom.icns" in spec and "layerloom.ico" in spec and "BUNDLE(" in spec
    iss = (INSTALLERS / "windows" / "layerloom.iss").read_text(encoding="utf-8")
    assert "layerloom.ico" in iss and f'"{__version__}"' in iss
    assert (INSTALLERS / "build.sh").stat().st_mode & 0o111  # executable
    assert (INSTALLERS / "linux" / "install.sh").stat().st_mode & 0o111


def test_bundle_filter_drops_tests_and_headers_but_keeps_what_runs():
    sys.path.insert(0, str(INSTALLERS))
    try:
        import bundle_filter
    finally:
        sys.path.remove(str(INSTALLERS))
    dropped = ["torch/bin/protoc", "torch/test/test_api", "torch/include/ATen/ATen.h", "torch/lib/libtorchbind_test.so",
               "PySide6/Qt/translations/qt_de.qm", "PySide6/Qt/plugins/platforms/libqeglfs.so",
               "sklearn/datasets/tests/data/openml/x.json.gz"]
    kept = ["torch/lib/libtorch_cpu.so", "torch/bin/torch_shm_manager", "torch/_dynamo/eval_frame.py", "PySide6/Qt/plugins/platforms/libqxcb.so",
            "PySide6/Qt/plugins/platforms/libqwayland.so", "PySide6/Qt/plugins/platforms/libqoffscreen.so",
            "resources/templates/lenet5.layerloom.json", "resources/icons/layerloom-256.png",
            "sklearn/datasets/data/digits.csv.gz", "PySide6/Qt/lib/libQt6Core.so.6"]
    assert all(bundle_filter.category(path) for path in dropped)
    assert not [path for path in kept if bundle_filter.category(path)]
