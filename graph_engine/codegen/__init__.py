"""Code generation: graph -> IR (lowering) -> Python source (printer) -> module (build)."""

from graph_engine.codegen.build import CompiledProject, build_model, compile_project, generate_code

__all__ = ["CompiledProject", "build_model", "compile_project", "generate_code"]
