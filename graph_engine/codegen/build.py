"""Building the in-app model: the generated source itself, executed (as torch.fx's recompile() does).

The source is registered in linecache under a stable pseudo-filename, so tracebacks from inside the model
show the generated lines. Because the app runs exactly the code it exports, weights trained in the app load
into the exported class with strict=True and give the same outputs.
"""

from __future__ import annotations

import linecache
from dataclasses import dataclass
from typing import Any

from graph_engine.codegen.lowering import lower
from graph_engine.codegen.printer import print_program
from graph_engine.project import Project
from graph_engine.validation import CheckResult


@dataclass
class CompiledProject:
    source: str
    filename: str
    namespace: dict[str, Any]
    class_name: str

    def create_model(self):
        return self.namespace["create_model"]()

    def example_inputs(self, batch_size: int = 2):
        return self.namespace["example_inputs"](batch_size)


_counter = 0


def generate_code(project: Project, result: CheckResult | None = None) -> str:
    """The project as a standalone Python module: a class named after the project, create_model(),
    example_inputs() and a runnable __main__; it imports torch alone."""
    return print_program(lower(project, result))


def compile_project(project: Project, result: CheckResult | None = None) -> CompiledProject:
    global _counter
    program = lower(project, result)
    source = print_program(program)
    _counter += 1
    filename = f"<layerloom:{program.class_name}:{_counter}>"
    code = compile(source, filename, "exec")
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    namespace: dict[str, Any] = {"__name__": f"layerloom_generated_{_counter}", "__file__": filename}
    exec(code, namespace)  # noqa: S102 - our own generated source, built only from validated values
    return CompiledProject(source, filename, namespace, program.class_name)


def build_model(project: Project, result: CheckResult | None = None):
    """A fresh torch module for the project: the generated code, executed."""
    return compile_project(project, result).create_model()
