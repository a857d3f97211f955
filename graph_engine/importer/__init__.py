"""Importing existing PyTorch models as LayerLoom projects (torch.fx); see docs/DECISIONS.md,
"Importing real models".

    from graph_engine.importer import import_file, save_import, ImportReport
    result = import_file("net.py", "Net", input_shapes=[(1, 28, 28)])
    save_import(result, "net.layerloom.json")          # also writes net.safetensors beside it

See fx_import for the steps (each in its own module: tracing, recording, mapper + call_handlers, checking),
op_mapping for the tables. Importing this package imports torch (the importer needs it to trace).
"""

from graph_engine.importer.fx_import import (
    ImportProblem,
    ImportReport,
    ImportResult,
    import_file,
    import_module,
    load_module_object,
    save_import,
    weights_path_for,
)
from graph_engine.importer.op_mapping import Unsupported

__all__ = ["ImportProblem", "ImportReport", "ImportResult", "Unsupported", "import_file", "import_module",
           "load_module_object", "save_import", "weights_path_for"]
