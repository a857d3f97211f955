"""Where LayerLoom's bundled files are: the templates, the icons and the offline help.

The folder is the repository's top-level `resources/`. A wheel installs it as package data of the engine,
`graph_engine/_resources` (setup.py maps that package onto the folder), so that no generic top-level name
such as `resources` lands in site-packages. It is found with importlib.resources under that name; where no
such package exists (a source checkout, the editable install, the PyInstaller bundle, which copies the folder
to `resources/` next to `graph_engine/`) it is the folder next to this package.

    from graph_engine.resource_files import resource_path
    resource_path("templates")                  # a Path to the folder
    resource_path("icons", "layerloom-64.png")  # a Path to one file (it may not exist)

Everything here is a real folder on disk in every case LayerLoom ships (never inside a zip), so a plain
Path is returned: Qt's file APIs and `Path.iterdir` take it as it is.
"""

from __future__ import annotations

import importlib.resources
from functools import cache
from pathlib import Path

PACKAGE = "graph_engine._resources"
CHECKOUT_DIR = Path(__file__).resolve().parent.parent / "resources"


@cache
def resources_root() -> Path:
    """The folder holding templates/, icons/ and help/."""
    try:
        root = importlib.resources.files(PACKAGE)
    except ModuleNotFoundError:
        return CHECKOUT_DIR
    # The installed folder has no __init__.py: a namespace package, which importlib.resources gives as a
    # MultiplexedPath over its one folder. Joining a child to it gives a plain Path, whose parent is the folder.
    folder = Path(root.joinpath("templates")).parent
    return folder if folder.is_dir() else CHECKOUT_DIR


def resource_path(*parts: str) -> Path:
    return resources_root().joinpath(*parts)
