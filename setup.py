"""The packages of the wheel (everything else is in pyproject.toml).

The repository keeps its bundled files in the top-level resources/ folder. The wheel installs that folder as
package data of the engine, `graph_engine/_resources`, rather than as a top-level `resources` package (a
name other distributions use too); graph_engine/resource_files.py finds it there with importlib.resources.
pyproject.toml alone cannot map one subpackage onto another folder next to automatic package discovery.
"""

from setuptools import find_packages, setup

RESOURCES = "graph_engine._resources"

setup(
    packages=find_packages(include=["app", "app.*", "graph_engine", "graph_engine.*"]) + [RESOURCES],
    package_dir={RESOURCES: "resources"},
    # Every file under resources/ (templates, icons, help, and whatever folder is added there later).
    package_data={RESOURCES: ["**/*"]},
    include_package_data=False,
)
