"""Step 5: the import is accepted only when build_model(project), loaded with the module's weights, gives
the module's outputs on the same batch."""

from __future__ import annotations

import torch
from torch import nn

from graph_engine.importer.report import ImportProblem, ImportReport, exc_text
from graph_engine.project import Project

CHECK_BATCH = 3
RTOL, ATOL = 1e-4, 1e-5


def compare_outputs(module: nn.Module, project: Project, result, state, source: str) -> float:
    from graph_engine.codegen import compile_project
    from graph_engine.export.weights import WeightsError, load_strict

    compiled = compile_project(project, result)
    built = compiled.create_model()
    try:
        load_strict(built, state, "the module's weights", {n.id: n.op for n in project.graph})
    except WeightsError as exc:
        raise ImportReport(source, [ImportProblem(None, "weights", str(exc))]) from None
    built.eval()
    module.eval()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        inputs = tuple(compiled.example_inputs(CHECK_BATCH))
    try:
        with torch.no_grad():
            want = module(*inputs)
            got = built(*inputs)
    except Exception as exc:
        raise ImportReport(source, [ImportProblem(None, "forward", f"running the imported graph failed: "
                                                                  f"{exc_text(exc)}")]) from None
    want = list(want) if isinstance(want, tuple | list) else [want]
    got = list(got) if isinstance(got, tuple | list) else [got]
    worst = 0.0
    for a, c in zip(want, got, strict=True):
        if not isinstance(a, torch.Tensor) or a.shape != c.shape:
            raise ImportReport(source, [ImportProblem(None, "outputs", "the imported graph's outputs have other "
                                                                      "shapes than the module's")])
        if a.numel():
            worst = max(worst, float((a.double() - c.double()).abs().max()))
        if not torch.allclose(a.double(), c.double(), rtol=RTOL, atol=ATOL):
            raise ImportReport(source, [ImportProblem(None, "outputs", f"the imported graph does not reproduce the "
                                                                      f"module's outputs (max abs diff {worst:.3g})")],
                               hint="this is a LayerLoom bug; please report it with the module") from None
    return worst
