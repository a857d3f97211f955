"""Importing a PyTorch module as a LayerLoom project, with torch.fx.

    result = import_file("net.py", "Net", input_shapes=[(1, 28, 28)])
    project_path, weights_path = save_import(result, "net.layerloom.json")

How it works (one module per step):
1. (tracing) the module is traced with `torch.fx.symbolic_trace` (torch.nn layers are leaves; the user's own modules,
   Sequential, ModuleList loops are traced through), then dead code is removed;
2. (recording) the traced graph is run twice, at batch sizes 2 and 3, recording every value: tensor shapes tell a
   reshape's target shape and prove the batch stays first; plain values (sizes) must not depend on the batch
   where they become parameters;
3. (mapper, call_handlers) every node is mapped: leaf modules to their catalog op with params read back from the module
   (`op_mapping.read_module`), calls and tensor methods to catalog ops (`op_mapping.FUNCTIONS`/`METHODS`),
   tuple outputs of RNN/LSTM/GRU/MultiheadAttention to the layer's ports (PyTorch's `h_n[-1]` becomes a
   Select on LayerLoom's batch-first h_n port; `h_n.transpose(0, 1)` the port itself). Chained `a + b + c`
   becomes one Add with three inputs, as LayerLoom writes it;
4. (report) every problem is collected (with the fx node's name and target) and raised together as an `ImportReport`:
   never a silent partial import;
5. (mapper, checking) the graph gets ids from the module names (`features.0` -> `features_0`, via `suggest_id`), is laid out and
   checked; the module's weights are renamed to the graph's state_dict keys, loaded strictly into
   `build_model(project)`, and both models are run on the same batch: the import is accepted only when the
   outputs agree (rtol 1e-4, atol 1e-5), so a mapping mistake can never pass silently.

Importing a file runs its code (`import_file` executes it like `python FILE.py` would import it); the CLI asks
before doing so.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from torch import nn

from graph_engine.errors import GraphEditError, ProjectError
from graph_engine.importer.checking import compare_outputs
from graph_engine.importer.hierarchy import owners_from, rebuild
from graph_engine.importer.loading import forget_module, load_module_object
from graph_engine.importer.mapper import Mapper
from graph_engine.importer.recording import BATCHES, record_runs
from graph_engine.importer.report import ImportProblem, ImportReport, ImportResult
from graph_engine.importer.saving import save_import, weights_path_for
from graph_engine.importer.tracing import ROOT, defaulted_arguments, trace_module, trace_problem, user_path
from graph_engine.layout import apply_missing_positions
from graph_engine.validation import check


def import_file(path: str | Path, name: str, input_shapes: Sequence[Sequence[int]],
                input_dtypes: Sequence[str] | None = None) -> ImportResult:
    """Load FILE.py, instantiate `name`, and import it (see `import_module`). Runs the file's code."""
    module, module_name = load_module_object(path, name)
    try:
        return import_module(module, input_shapes, input_dtypes, name=name, source=f"{Path(path).name}:{name}",
                             source_file=Path(path))
    finally:
        forget_module(module_name)


# ---- the import ------------------------------------------------------------------------------------------------


def import_module(module: nn.Module, input_shapes: Sequence[Sequence[int]],
                  input_dtypes: Sequence[str] | None = None, *, name: str | None = None, source: str | None = None,
                  source_file: Path | None = None) -> ImportResult:
    """Turn `module` into a project and its weights. `input_shapes`: one shape per forward() argument, batch
    excluded; `input_dtypes`: "float32" (default) or "int64" (token ids) per argument."""
    name = name or type(module).__name__
    source = source or name
    shapes = [tuple(int(d) for d in s) for s in input_shapes]
    if any(not s or any(d < 1 for d in s) for s in shapes):
        raise ProjectError(f"input shapes must be lists of positive sizes, not {[list(s) for s in shapes]}",
                           hint="e.g. --input-shape 1,28,28 for one 28x28 grey image")
    dtypes = list(input_dtypes) if input_dtypes else ["float32"] * len(shapes)
    if len(dtypes) == 1 and len(shapes) > 1:
        dtypes = dtypes * len(shapes)
    if len(dtypes) != len(shapes) or any(d not in ("float32", "int64") for d in dtypes):
        raise ProjectError(f"give one dtype (float32 or int64) per input, not {dtypes}")
    module.eval()
    concrete = defaulted_arguments(module, len(shapes))
    try:
        traced = trace_module(module, concrete)
    except Exception as exc:
        raise ImportReport(source, [trace_problem(exc, module, source_file)],
                           hint="LayerLoom imports a fixed graph: replace Python control flow that depends on "
                                "tensor values with tensor operations, or import the parts that trace") from None
    traced.graph.eliminate_dead_code()
    placeholders = [n for n in traced.graph.nodes if n.op == "placeholder"]
    if len(placeholders) != len(shapes):
        args = ", ".join(n.target for n in placeholders)
        raise ProjectError(f"{name}.forward takes {len(placeholders)} input(s) ({args}) but "
                           f"{len(shapes)} input shape(s) were given",
                           hint="give one --input-shape per forward() argument, in order")
    runs = [record_runs(traced, shapes, dtypes, batch, source) for batch in BATCHES]
    mapper = Mapper(traced, runs, shapes, dtypes, module)
    mapper.map_all()
    if mapper.problems:
        raise ImportReport(source, mapper.problems)
    project = mapper.project(name)
    result = check(project)
    if not result.ok:
        problems = [ImportProblem(mapper.fx_name.get(d.node_id, d.node_id), mapper.target_of.get(d.node_id, "graph"),
                                  f"{d.message}" + (f" ({d.hint})" if d.hint else "")) for d in result.errors]
        raise ImportReport(source, problems)
    state = mapper.state(module)
    try:
        return _hierarchical(module, mapper, project, source)
    except (ImportReport, ProjectError, GraphEditError) as exc:
        note = f"the import keeps the graph flat (its keys are node ids such as conv1_0.weight): {exc}"
    apply_missing_positions(project.graph)
    diff = compare_outputs(module, project, result, state, source)
    return ImportResult(project, state, diff, {user_path(k): v for k, v in mapper.module_nodes.items()}, [note])


def _hierarchical(module: nn.Module, mapper: Mapper, flat, source: str) -> ImportResult:
    """The project with the module's hierarchy as blocks (hierarchy.py), checked and compared like the flat one;
    it keeps the module's state_dict keys wherever the hierarchy allows, and says which ones it cannot."""
    from graph_engine.project import class_name_for

    owners = owners_from(flat.graph, mapper.module_of, mapper.fx_of)
    weighted = set(mapper.module_nodes.values()) | set(mapper.tensor_state)
    built = rebuild(flat, owners, module, class_name_for(flat.name), weighted)
    project, prefixes = built.project, built.prefixes
    result = check(project)
    if not result.ok:
        raise ProjectError("the hierarchy does not check: " + "; ".join(str(d) for d in result.errors[:3]))
    apply_missing_positions(project.graph)
    for defn in project.blocks:
        apply_missing_positions(defn.graph)
    state = {prefixes[node_id]: tensor.clone() for node_id, tensor in mapper.tensor_state.items()}
    renamed: dict[str, str] = {}
    for target, node_id in mapper.module_nodes.items():
        path = user_path(target) if target != ROOT else ""
        for key, value in mapper._module(target).state_dict().items():
            state[f"{prefixes[node_id]}.{key}"] = value.detach().clone()
        if path != prefixes[node_id]:
            renamed[path or "(the module itself)"] = prefixes[node_id]
    for node_id, attribute in mapper.tensor_source.items():
        if attribute != prefixes[node_id]:
            renamed[attribute] = prefixes[node_id]
    diff = compare_outputs(module, project, result, state, source)
    notes = list(built.notes)
    if renamed:
        shown = ", ".join(f"{a} -> {b}" for a, b in list(renamed.items())[:6])
        more = f" and {len(renamed) - 6} more" if len(renamed) > 6 else ""
        notes.append(f"{len(renamed)} of the module's layers or parameters are stored under other names "
                     f"(a checkpoint of the module needs them renamed): {shown}{more}")
    dropped = _keys_not_kept(module, state, renamed)
    if dropped:
        shown = ", ".join(dropped[:6]) + (f" and {len(dropped) - 6} more" if len(dropped) > 6 else "")
        notes.append(f"{len(dropped)} of the module's state_dict entries have no place in the project (a layer "
                     f"makes them from its params, e.g. a sinusoidal position table): {shown}; load a checkpoint "
                     "of the module with strict=False, or drop these keys first")
    modules = {user_path(k): prefixes[v] for k, v in mapper.module_nodes.items()}
    return ImportResult(project, state, diff, modules, notes)


def _keys_not_kept(module: nn.Module, state: dict, renamed: dict[str, str]) -> list[str]:
    """The module's state_dict keys that are neither in the imported state nor under a renamed path."""
    under = tuple(path + "." for path in renamed)
    return [key for key in module.state_dict() if key not in state and key not in renamed and not key.startswith(under)]


__all__ = ["ImportProblem", "ImportReport", "ImportResult", "forget_module", "import_file", "import_module",
           "load_module_object", "save_import", "weights_path_for"]
