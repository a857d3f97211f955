"""Exports that run anywhere, each checked against the in-app model (docs/DECISIONS.md, "Export and import").

    from graph_engine.export import export_onnx, write_train_script, export_bundle, verify_code, verify_onnx

- `export_onnx(project, "model.onnx", weights=None)`: ONNX with a dynamic batch dimension (onnx_export);
- `write_train_script(project, "train.py", code_path="model.py")`: a standalone training script that reproduces
  the project's training settings, single-process or under torchrun (train_script);
- `export_bundle(project, "folder", weights=None)`: model.py, train.py, model.safetensors, the project and a
  README with the exact command lines, then checked (bundle);
- `verify_code` / `verify_onnx`: the checked export (verify);
- `read_weights` / `load_strict`: weights from safetensors or `torch.load(weights_only=True)` only (weights).

Importing this package does not import torch; each function imports it when it runs.
"""

from graph_engine.export.bundle import BundleResult, export_bundle
from graph_engine.export.onnx_export import OnnxExport, OnnxExportError, export_onnx, unexportable_nodes
from graph_engine.export.train_script import generate_train_script, write_train_script
from graph_engine.export.verify import ExportCheck, load_module_from_file, verify_code, verify_onnx
from graph_engine.export.weights import WeightsError, load_strict, read_weights, save_weights

__all__ = [
    "BundleResult",
    "ExportCheck",
    "OnnxExport",
    "OnnxExportError",
    "WeightsError",
    "export_bundle",
    "export_onnx",
    "generate_train_script",
    "load_module_from_file",
    "load_strict",
    "read_weights",
    "save_weights",
    "unexportable_nodes",
    "verify_code",
    "verify_onnx",
    "write_train_script",
]
