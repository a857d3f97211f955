"""The wheel: resources/ goes in as package data of the engine (graph_engine/_resources), never as a top-level
`resources` package, and an installed wheel finds its templates, icons and help outside the repository.

The wheel is built from a copy of the sources (the build leaves build/ and *.egg-info behind) without build
isolation: the build uses the setuptools of the running environment and needs no network."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from graph_engine.resource_files import CHECKOUT_DIR, resource_path, resources_root

REPO = Path(__file__).resolve().parents[2]
SOURCES = ["app", "graph_engine", "resources", "setup.py", "pyproject.toml", "README.md", "MANIFEST.in"]


def test_a_checkout_finds_the_top_level_folder():
    assert resources_root() == CHECKOUT_DIR == REPO / "resources"
    assert resource_path("templates", "lenet5.layerloom.json").is_file()
    assert resource_path("icons", "layerloom-64.png").is_file()
    assert resource_path("help", "getting_started.html").is_file()


def test_no_code_builds_a_path_to_the_resources_folder_itself():
    """Every use goes through graph_engine/resource_files.py (what a wheel needs)."""
    offenders = []
    for folder in ("app", "graph_engine"):
        for path in (REPO / folder).rglob("*.py"):
            if path.name == "resource_files.py":
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                code = line.split("#", 1)[0]
                if '"resources"' in code or "'resources'" in code:
                    offenders.append(f"{path.relative_to(REPO)}:{number}")
    assert offenders == []


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    source = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(REPO / name, source / name)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(out), str(source)], check=True, capture_output=True, timeout=300)
    return next(out.glob("layerloom-*.whl"))


@pytest.mark.slow
def test_the_wheel_installs_only_our_own_top_level_names(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/", 1)[0] for name in names}
    assert top == {"app", "graph_engine", next(t for t in top if t.endswith(".dist-info"))}
    shipped = {name for name in names if name.startswith("graph_engine/_resources/")}
    for path in (REPO / "resources").rglob("*"):
        if path.is_file():
            assert f"graph_engine/_resources/{path.relative_to(REPO / 'resources').as_posix()}" in shipped


@pytest.mark.slow
def test_an_installed_wheel_loads_a_template_an_icon_and_the_guide_outside_the_repository(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", str(wheel)], check=True,
                   capture_output=True, timeout=300)
    # The dependencies (torch, PySide6…) come from this environment, after the wheel's own packages; a .pth
    # line adds the folder without running the editable install's finder that lives there.
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    (site / "zz_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    script = (
        "import importlib.util, graph_engine\n"
        "from graph_engine.templates import load_template\n"
        "from graph_engine.resource_files import resources_root\n"
        "from PySide6.QtGui import QGuiApplication, QImage\n"
        "from app.actions import app_icon_file\n"
        "from app.help.help_browser import getting_started_html\n"
        "app = QGuiApplication([])\n"
        "print(graph_engine.__file__)\n"
        "print(resources_root())\n"
        "print(load_template('lenet5').name)\n"
        "print(QImage(str(app_icon_file(64))).width())\n"
        "print('Getting Started' in getting_started_html({}))\n"
        "print(importlib.util.find_spec('resources'))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path)}
    result = subprocess.run([str(python), "-I", "-c", script], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    engine_file, root, title, icon_width, guide, top_level_resources = result.stdout.split("\n")[:6]
    assert engine_file.startswith(str(site)) and root == str(site / "graph_engine" / "_resources")
    assert (title, icon_width, guide, top_level_resources) == ("LeNet-5", "64", "True", "None")
