"""LayerLoom's engine: everything that is not a screen.

    from graph_engine import load_project, save_project, check, build_model, generate_code

Importing the engine does not import torch (the app starts faster; torch is imported when a model is built)
and never imports Qt or pyqtgraph.
"""

from graph_engine.codegen import build_model, compile_project, generate_code
from graph_engine.errors import (
    GraphEditError,
    InvalidGraphError,
    InvalidIdError,
    LayerLoomError,
    NewerFormatError,
    NotAProjectError,
    ProjectError,
)
from graph_engine.graph import Edge, Graph, Node
from graph_engine.project import Project
from graph_engine.project_io import (
    load_project,
    parse_project,
    project_to_dict,
    project_to_json,
    save_project,
)
from graph_engine.validation import Checker, CheckResult, Diagnostic, check

__version__ = "0.1.0"

__all__ = [
    "CheckResult",
    "Checker",
    "Diagnostic",
    "Edge",
    "Graph",
    "GraphEditError",
    "InvalidGraphError",
    "InvalidIdError",
    "LayerLoomError",
    "NewerFormatError",
    "Node",
    "NotAProjectError",
    "Project",
    "ProjectError",
    "build_model",
    "check",
    "compile_project",
    "generate_code",
    "load_project",
    "parse_project",
    "project_to_dict",
    "project_to_json",
    "save_project",
]
