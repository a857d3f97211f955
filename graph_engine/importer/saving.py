"""Writing an imported project and its weights (safetensors) beside it."""

from __future__ import annotations

from pathlib import Path

from graph_engine.importer.report import ImportResult

PROJECT_SUFFIXES = (".layerloom.json", ".json")


def weights_path_for(project_path: str | Path) -> Path:
    """Where an imported project's weights go: beside it, named after it (net.layerloom.json -> net.safetensors)."""
    path = Path(project_path)
    stem = path.name
    for suffix in PROJECT_SUFFIXES:
        if stem.endswith(suffix) and len(stem) > len(suffix):
            stem = stem[: -len(suffix)]
            break
    else:
        stem = path.stem
    return path.with_name(stem + ".safetensors")


def save_import(result: ImportResult, project_path: str | Path) -> tuple[Path, Path]:
    """Write the project and, beside it, its weights (safetensors). Returns both paths."""
    from graph_engine.export.weights import save_weights
    from graph_engine.project_io import save_project

    project_path = Path(project_path)
    weights = weights_path_for(project_path)
    save_weights(result.state, weights, {"format": "pt", "layerloom": f"imported {result.project.name}"})
    save_project(result.project, project_path)
    return project_path, weights
