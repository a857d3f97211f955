"""Importing PyTorch modules with torch.fx: tutorial-style models reproduce their outputs with build_model and
the saved weights, what cannot be traced or mapped is reported in full, generated code imports back to the
same graph (round trip)."""

from __future__ import annotations

import collections
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch import nn

from graph_engine import build_model, check, generate_code, load_project
from graph_engine.blocks.edits import ungroup
from graph_engine.codegen import compile_project
from graph_engine.errors import ProjectError
from graph_engine.importer import ImportReport, import_file, import_module, save_import, weights_path_for
from graph_engine.importer.fx_import import load_module_object
from graph_engine.project import class_name_for
from graph_engine.templates import list_templates, load_template

FIXTURES = Path(__file__).parent / "fixtures_import"


def reproduces(module: nn.Module, project_path: Path, weights_path: Path, inputs: tuple) -> None:
    """build_model(project) + the saved weights gives the module's outputs."""
    project = load_project(project_path)
    model = build_model(project)
    model.load_state_dict(load_file(weights_path), strict=True)
    model.eval()
    module.eval()
    with torch.no_grad():
        want, got = module(*inputs), model(*inputs)
    want = want if isinstance(want, tuple) else (want,)
    got = got if isinstance(got, tuple) else (got,)
    for w, g in zip(want, got, strict=True):
        assert w.shape == g.shape
        assert torch.allclose(w, g, rtol=1e-5, atol=1e-6), float((w - g).abs().max())


def import_and_save(tmp_path, file, name, shapes, dtypes=None):
    result = import_file(FIXTURES / file, name, shapes, dtypes)
    project_path, weights_path = save_import(result, tmp_path / f"{name.lower()}.layerloom.json")
    assert weights_path == tmp_path / f"{name.lower()}.safetensors"
    return result, project_path, weights_path


def fixture_module(file, name):
    module, module_name = load_module_object(FIXTURES / file, name)
    return module


# ---- models written the usual ways -------------------------------------------------------------------------


def test_tutorial_cnn_with_functional_calls(tmp_path):
    result, project_path, weights_path = import_and_save(tmp_path, "tutorial_cnn.py", "Net", [(3, 32, 32)])
    ops = [n.op for n in result.project.graph]
    assert ops == ["Input", "Conv2d", "ReLU", "MaxPool2d", "Conv2d", "ReLU", "MaxPool2d", "Flatten", "Linear",
                   "ReLU", "Linear", "ReLU", "Linear", "Output"]
    graph = result.project.graph
    assert graph.node("conv1").params == {"out_channels": 6, "kernel_size": 5}
    assert graph.node("fc1").params == {"out_features": 120}
    assert all(node.pos is not None for node in graph)  # laid out
    assert check(result.project).total_params == 62006
    # A fresh instance of the class, holding the imported module's weights (read back from the saved file).
    module = fixture_module("tutorial_cnn.py", "Net")
    module.load_state_dict(_by_module(result, weights_path), strict=True)
    torch.manual_seed(0)
    reproduces(module, project_path, weights_path, (torch.randn(4, 3, 32, 32),))


def _by_module(result, weights_path) -> dict:
    """The saved weights renamed back to the module's own state_dict keys."""
    saved = load_file(weights_path)
    back = {}
    for path, node_id in result.modules.items():
        for key, value in saved.items():
            if key.startswith(node_id + "."):
                back[f"{path}.{key[len(node_id) + 1:]}"] = value
    return back


def test_mnist_example_with_view_dropout_and_log_softmax(tmp_path):
    module = fixture_module("tutorial_cnn.py", "MnistNet")
    result = import_module(module, [(1, 28, 28)], name="MnistNet")
    graph = result.project.graph
    assert graph.node("view").op == "Reshape" and graph.node("view").params == {"shape": [9216]}
    assert graph.node("max_pool2d").op == "MaxPool2d" and graph.node("max_pool2d").params == {}
    assert graph.node("dropout").params == {"p": 0.1}  # F.dropout(x, 0.1, training=...) became a Dropout layer
    assert graph.node("log_softmax").params == {"dim": 1}
    project_path, weights_path = save_import(result, tmp_path / "mnist.layerloom.json")
    torch.manual_seed(1)
    reproduces(module, project_path, weights_path, (torch.randn(3, 1, 28, 28),))


def test_residual_mlp_built_with_a_module_list_loop(tmp_path):
    module = fixture_module("residual_mlp.py", "ResidualMLP")
    result = import_module(module, [(20,)])
    graph = result.project.graph
    # The hierarchy is kept: the ModuleList is a sequential block of three copies of one Block definition.
    assert [n.id for n in graph] == ["x", "stem", "blocks", "head", "out"]
    blocks = result.project.blocks
    assert blocks.definition(graph.node("blocks").block).sequential is True
    inner = blocks.definition("Block").graph
    adds = [n for n in inner if n.op == "Add"]
    assert len(adds) == 1  # the skip connection: the block input and the block output
    assert sorted(e.src for e in inner.in_edges(adds[0].id)) == ["fc2", "x"]
    assert set(result.state) == set(module.state_dict())  # so the module's own checkpoint loads as it is
    assert result.modules["blocks.1.fc2"] == "blocks.1.fc2" and not result.notes
    project_path, weights_path = save_import(result, tmp_path / "res.layerloom.json")
    torch.manual_seed(2)
    reproduces(module, project_path, weights_path, (torch.randn(5, 20),))


@pytest.mark.parametrize(("name", "shape", "dtype", "ops"), [
    ("GRUClassifier", (7,), "int64", ["Input", "Embedding", "GRU", "Select", "Linear", "Output"]),
    ("LSTMRegressor", (5, 3), "float32", ["Input", "LSTM", "Select", "Tanh", "Linear", "Output"]),
    ("TinyAttention", (5, 6), "float32", ["Input", "Linear", "MultiheadAttention", "Add", "LayerNorm", "Mean",
                                          "Linear", "Output"]),
])
def test_sequence_models_with_tuple_outputs(tmp_path, name, shape, dtype, ops):
    module = fixture_module("sequence_models.py", name)
    result = import_module(module, [shape], [dtype])
    assert [n.op for n in result.project.graph] == ops
    project_path, weights_path = save_import(result, tmp_path / "seq.layerloom.json")
    compiled = compile_project(load_project(project_path))
    torch.manual_seed(3)
    reproduces(module, project_path, weights_path, tuple(compiled.example_inputs(4)))


def test_gru_last_hidden_state_is_a_select_on_the_batch_first_port():
    result = import_module(fixture_module("sequence_models.py", "GRUClassifier"), [(7,)], ["int64"])
    graph = result.project.graph
    select = graph.node("gru_h_n_last")
    assert select.params == {"index": -1}  # dim 1 (the default) of LayerLoom's batch-first h_n
    (edge,) = graph.in_edges("gru_h_n_last")
    assert edge.src == "gru" and edge.src_port == 1


def test_chained_adds_become_one_add_with_three_inputs():
    class ThreeWay(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b, self.c = nn.Linear(4, 4), nn.Linear(4, 4), nn.Linear(4, 4)

        def forward(self, x):
            return self.a(x) + self.b(x) + self.c(x)

    result = import_module(ThreeWay(), [(4,)])
    (add,) = [n for n in result.project.graph if n.op == "Add"]
    assert sorted(e.dst_port for e in result.project.graph.in_edges(add.id)) == [0, 1, 2]


def test_a_layer_called_code_or_graph_is_fine():
    class Named(nn.Module):
        def __init__(self):
            super().__init__()
            self.code = nn.Linear(4, 3)
            self.graph = nn.ReLU()

        def forward(self, x):
            return self.graph(self.code(x))

    result = import_module(Named(), [(4,)])
    assert {"code", "graph"} <= set(result.project.graph.nodes)


# ---- what cannot be imported is reported in full -------------------------------------------------------------


def test_data_dependent_control_flow_gives_a_clear_report():
    with pytest.raises(ImportReport) as info:
        import_file(FIXTURES / "untraceable.py", "Gated", [(8,)])
    report = info.value
    (problem,) = report.problems
    assert problem.node is None
    assert problem.target.startswith("untraceable.py, line ") and "if h.sum() > 0:" in problem.target
    assert "cannot be traced" in problem.reason and "control flow" in problem.reason
    assert isinstance(report, ProjectError)
    assert report.lines()[0] == "cannot import untraceable.py:Gated: 1 problem"


def test_every_unmappable_module_and_call_is_listed():
    with pytest.raises(ImportReport) as info:
        import_file(FIXTURES / "untraceable.py", "Unmappable", [(1, 8, 8)])
    problems = {p.node: p for p in info.value.problems}
    # a refused node does not hide the nodes it feeds: everything after torch.erf is still checked
    assert set(problems) == {"erf", "act", "add", "cumsum"}
    assert problems["erf"].target == "torch.erf" and "no layer for torch.erf" in problems["erf"].reason
    assert problems["act"].target == "self.act: nn.Softsign" and "nn.Softsign" in problems["act"].reason
    assert "self.offset is a buffer (a constant)" in problems["add"].reason
    assert problems["cumsum"].target == "torch.cumsum"
    text = str(info.value)
    assert "4 problems" in text and "fx node 'erf' (torch.erf)" in text


def test_shared_weights_and_other_refusals():
    with pytest.raises(ImportReport, match="called 2 times: LayerLoom layers cannot share weights"):
        import_file(FIXTURES / "untraceable.py", "Shared", [(8,)])

    class Bad(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(4, 4)  # batch_first=False
            self.fc = nn.Linear(4, 4)

        def forward(self, x):
            y = self.fc(x)
            z = y - y.relu()  # a number would be a Scale; between two tensors there is no layer
            w = x[:, 1:3]
            out, _ = self.lstm(z)
            return out, torch.cat([y, y], dim=0), w

    with pytest.raises(ImportReport) as info:
        import_module(Bad(), [(3, 4)])
    reasons = {p.node: p.reason for p in info.value.problems}
    assert "subtracts two tensors" in reasons["sub"]
    assert "no slicing layer" in reasons["getitem"]
    assert "batch_first=False" in reasons["lstm"]
    assert "batch dimension" in reasons["cat"]


def test_files_and_names_that_cannot_be_loaded():
    with pytest.raises(ProjectError, match="cannot be built without arguments"):
        import_file(FIXTURES / "untraceable.py", "NeedsArgs", [(8,)])
    with pytest.raises(ProjectError, match="has no 'Nope'") as info:
        import_file(FIXTURES / "untraceable.py", "Nope", [(8,)])
    assert "Gated" in info.value.hint
    with pytest.raises(ProjectError, match="does not exist"):
        import_file(FIXTURES / "missing.py", "Net", [(8,)])
    with pytest.raises(ProjectError, match="2 input"):
        import_module(nn.Bilinear(3, 3, 2), [(3,)])
    with pytest.raises(ImportReport, match="running the module on inputs of shape"):
        import_file(FIXTURES / "tutorial_cnn.py", "Net", [(1, 28, 28)])


def test_a_file_that_fails_to_run_is_reported_with_its_line(tmp_path):
    bad = tmp_path / "broken.py"
    bad.write_text("import torch\n\nraise RuntimeError('no GPU here')\n", encoding="utf-8")
    with pytest.raises(ProjectError) as info:
        import_file(bad, "Net", [(8,)])
    assert "RuntimeError: no GPU here" in str(info.value) and "line 3" in str(info.value)
    assert not (tmp_path / "__pycache__").exists()


# ---- round trip: generated code imports back to the same graph ------------------------------------------------


@pytest.mark.parametrize("info", list_templates(), ids=lambda t: t.name)
def test_template_round_trip_keeps_ops_and_parameter_counts(info, tmp_path):
    project = load_template(info.name)
    result = check(project)
    code = tmp_path / "model.py"
    code.write_text(generate_code(project, result), encoding="utf-8")
    inputs = [n for n in result.order if n in result.live and project.graph.node(n).op == "Input"]
    shapes = [result.nodes[n].outputs[0].shape for n in inputs]
    dtypes = [result.nodes[n].outputs[0].dtype for n in inputs]
    imported = import_file(code, class_name_for(project.name), shapes, dtypes)
    again = check(imported.project)
    assert again.ok
    flat = _ungrouped(load_template(info.name))  # the importer flattens blocks (docs/DECISIONS.md); compare leaf layers
    before = collections.Counter(node.op for node in flat.graph if node.id in check(flat).live)
    after = collections.Counter(node.op for node in _ungrouped(imported.project.copy()).graph)
    assert after == before
    assert again.total_params == result.total_params
    assert imported.max_abs_diff == 0.0
    if len(project.blocks):
        return  # ungrouped ids are not the generated module paths (layer1_0_conv1) the importer names nodes by
    # Same layers under the same ids, with the same resolved settings.
    for node_id in result.live:
        op = project.graph.node(node_id).op
        if op in ("Input", "Output"):
            continue
        assert node_id in imported.project.graph.nodes, node_id
        assert again.nodes[node_id].params == result.nodes[node_id].params, node_id


def _ungrouped(flat):
    """`flat` with every block instance replaced by its layers (nested ones too)."""
    while instances := [n.id for n in flat.graph if n.op == "Block"]:
        ungroup(flat, instances[0])
    return flat


def test_saved_weights_sit_beside_the_project(tmp_path):
    assert weights_path_for(tmp_path / "net.layerloom.json") == tmp_path / "net.safetensors"
    assert weights_path_for(tmp_path / "net.json") == tmp_path / "net.safetensors"
    assert weights_path_for(tmp_path / "net") == tmp_path / "net.safetensors"


def test_functional_calls_map_to_their_layers():
    class Functional(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(2, 4, 3, padding="same")
            self.gru = nn.GRU(4, 5, batch_first=True)

        def forward(self, x):
            h = torch.sigmoid(self.conv(x))
            h = F.avg_pool2d(h, 2, ceil_mode=True)
            h = F.adaptive_max_pool2d(h, 2)
            h = F.interpolate(h, scale_factor=2.0, mode="nearest")
            h = F.gelu(h, approximate="tanh")
            h = F.leaky_relu(h, 0.2)
            h = h.flatten(2).transpose(1, 2).contiguous()  # [batch, 16 positions, 4 channels]
            out, last = self.gru(h)
            pooled = out.mean(dim=1, keepdim=False)
            return F.softmax(torch.cat([pooled, last.transpose(0, 1).flatten(1)], dim=1), dim=-1)

    result = import_module(Functional(), [(2, 6, 6)])
    ops = collections.Counter(n.op for n in result.project.graph)
    assert ops == collections.Counter({"Input": 1, "Conv2d": 1, "Sigmoid": 1, "AvgPool2d": 1,
                                       "AdaptiveMaxPool2d": 1, "Upsample": 1, "GELU": 1, "LeakyReLU": 1,
                                       "Flatten": 2, "Transpose": 1, "GRU": 1, "Mean": 1, "Concat": 1,
                                       "Softmax": 1, "Output": 1})
    assert result.project.graph.node("conv").params["padding"] == 1


def test_forward_arguments_with_defaults_are_traced_with_their_defaults():
    class Masked(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 3)

        def forward(self, x, mask=None, temperature: float = 1.0):
            y = self.fc(x)
            if mask is not None:
                y = y * mask
            return torch.softmax(y / temperature, dim=-1) if temperature != 1.0 else torch.relu(y)

    result = import_module(Masked(), [(3,)])
    assert [n.op for n in result.project.graph] == ["Input", "Linear", "ReLU", "Output"]
