"""ONNX export: templates compared with onnxruntime at batch 1 and 5, a dynamic batch dimension, exporter quirks
worked around, unexportable nodes named, weights loaded strictly."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from graph_engine import build_model, check, parse_project
from graph_engine.codegen import compile_project
from graph_engine.errors import ProjectError
from graph_engine.export import OnnxExportError, WeightsError, export_onnx, verify_onnx
from graph_engine.export import onnx_export as onnx_module
from graph_engine.export.weights import save_weights
from graph_engine.templates import load_template

TEMPLATES = ["lenet5", "resnet_digits", "unet_small", "dcgan_generator", "lstm_sine", "gru_tokens",
             "transformer_tokens"]


def sequential(shape, layers, dtype="float32", name="T"):
    nodes = [{"id": "x", "op": "Input", "params": {"shape": shape, "dtype": dtype}}]
    nodes += [{"id": f"n{i}", "op": op, "params": params} for i, (op, params) in enumerate(layers)]
    nodes.append({"id": "y", "op": "Output"})
    edges = [{"src": a["id"], "dst": b["id"]} for a, b in zip(nodes, nodes[1:], strict=False)]
    return parse_project({"format": "layerloom", "format_version": 1, "name": name,
                          "graph": {"nodes": nodes, "edges": edges}})


def run_onnx(path, inputs):
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    return session.run(None, {n: x.numpy() for n, x in zip(names, inputs, strict=True)})


@pytest.mark.parametrize("name", TEMPLATES)
def test_template_matches_onnxruntime_at_batch_1_and_5(name, tmp_path):
    project = load_template(name)
    exported = export_onnx(project, tmp_path / f"{name}.onnx")
    onnx.checker.check_model(onnx.load(str(exported.path)), full_check=True)
    compiled = compile_project(project)
    model = compiled.create_model().eval()
    model.load_state_dict(exported.state, strict=True)
    for batch in (1, 5):
        torch.manual_seed(batch)
        inputs = compiled.example_inputs(batch)
        with torch.no_grad():
            want = model(*inputs)
        want = want if isinstance(want, tuple) else (want,)
        got = run_onnx(exported.path, inputs)
        assert len(got) == len(want)
        for w, g in zip(want, got, strict=True):
            assert g.shape == tuple(w.shape)
            np.testing.assert_allclose(g, w.numpy(), rtol=0, atol=1e-4)
    report = verify_onnx(project, exported.path, reference_state=exported.state)
    assert report.ok and report.batch_sizes == (1, 5) and report.max_abs_diff <= 1e-4, report.line()


def test_inputs_and_outputs_are_named_after_nodes_with_a_dynamic_batch(tmp_path):
    project = load_template("lenet5")
    exported = export_onnx(project, tmp_path / "lenet.onnx")
    graph = onnx.load(str(exported.path)).graph
    assert [i.name for i in graph.input] == list(exported.input_names) == ["image"]
    assert [o.name for o in graph.output] == list(exported.output_names) == ["logits"]
    for value in (*graph.input, *graph.output):
        assert value.type.tensor_type.shape.dim[0].dim_param == "batch"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_exporter_quirks_unflatten_then_reshape_and_negative_permute(tmp_path):
    # The TorchScript exporter bakes the example batch into an Unflatten's shape (a following Reshape then breaks
    # at another batch size) and copies negative Permute dims into ONNX, which forbids them.
    project = sequential([3, 4, 5], [("Flatten", {}), ("Unflatten", {"dim": 1, "unflattened_size": [12, 5]}),
                                     ("Reshape", {"shape": [5, -1]}), ("Permute", {"dims": [0, -1, 1]}),
                                     ("Transpose", {"dim0": 1, "dim1": 2}), ("Select", {"dim": 1, "index": -1}),
                                     ("Mean", {"dim": 1, "keepdim": True})])
    exported = export_onnx(project, tmp_path / "quirks.onnx")
    report = verify_onnx(project, exported.path, reference_state=exported.state)
    assert report.ok, report.line()


def test_weights_are_taken_from_a_safetensors_file(tmp_path):
    project = load_template("mlp_digits")
    trained = build_model(project)
    with torch.no_grad():
        for p in trained.parameters():
            p.add_(0.05 * torch.randn_like(p))
    save_weights(trained.state_dict(), tmp_path / "w.safetensors")
    exported = export_onnx(project, tmp_path / "m.onnx", tmp_path / "w.safetensors")
    for key, value in trained.state_dict().items():
        assert torch.equal(exported.state[key], value)
    trained.eval()
    torch.manual_seed(0)
    x = compile_project(project).example_inputs(5)
    with torch.no_grad():
        want = trained(*x).numpy()
    np.testing.assert_allclose(run_onnx(exported.path, x)[0], want, atol=1e-4)


def test_weights_that_do_not_fit_name_the_layer(tmp_path):
    project = load_template("mlp_digits")
    state = build_model(project).state_dict()
    first = next(iter(state))
    layer = first.split(".")[0]
    state[first] = torch.zeros(3, 3)
    save_weights(state, tmp_path / "bad.safetensors")
    with pytest.raises(WeightsError) as info:
        export_onnx(project, tmp_path / "m.onnx", tmp_path / "bad.safetensors")
    assert f"layer {layer!r}" in str(info.value) and "[3, 3] in the file" in str(info.value)
    assert info.value.node_id == layer
    assert not (tmp_path / "m.onnx").exists()


def test_unexportable_nodes_are_refused_by_name_before_torch_runs(tmp_path):
    project = sequential([3, 9, 9], [("Conv2d", {}), ("AdaptiveAvgPool2d", {"output_size": 4}),
                                     ("InstanceNorm2d", {"track_running_stats": True})])
    with pytest.raises(OnnxExportError) as info:
        export_onnx(project, tmp_path / "x.onnx")
    assert info.value.nodes == ("n1", "n2") and info.value.node_id == "n1"
    assert "node 'n1'" in str(info.value) and "node 'n2'" in str(info.value)
    assert "output_size" in info.value.hint
    assert isinstance(info.value, ProjectError)
    assert not (tmp_path / "x.onnx").exists()


def test_an_unexpected_exporter_failure_names_the_node(tmp_path, monkeypatch, capfd):
    # Without the up-front refusal, the exporter itself fails; the nodes are found by exporting one at a time,
    # and torch's own dump of the graph does not reach the terminal.
    monkeypatch.setattr(onnx_module, "unexportable_nodes", lambda project, result: [])
    project = sequential([3, 9, 9], [("Conv2d", {}), ("AdaptiveAvgPool2d", {"output_size": 4}), ("ReLU", {})])
    with pytest.raises(OnnxExportError) as info:
        export_onnx(project, tmp_path / "x.onnx")
    assert info.value.nodes == ("n1",)
    assert "node 'n1' (AdaptiveAvgPool2d)" in str(info.value)
    out, err = capfd.readouterr()
    assert "Torch IR graph" not in out + err


def test_an_invalid_project_is_refused(tmp_path):
    project = sequential([8], [("Linear", {"out_features": 0})])
    assert not check(project).ok
    with pytest.raises(ProjectError):
        export_onnx(project, tmp_path / "x.onnx")


def test_multi_input_multi_output_graph(tmp_path):
    data = {"format": "layerloom", "format_version": 1, "name": "Two",
            "graph": {"nodes": [{"id": "a", "op": "Input", "params": {"shape": [6, 8]}},
                                {"id": "b", "op": "Input", "params": {"shape": [4, 8]}},
                                {"id": "attn", "op": "MultiheadAttention", "params": {"num_heads": 2}},
                                {"id": "out", "op": "Output"}, {"id": "weights", "op": "Output"}],
                      "edges": [{"src": "a", "dst": "attn"}, {"src": "b", "dst": "attn", "dst_port": 1},
                                {"src": "b", "dst": "attn", "dst_port": 2},
                                {"src": "attn", "dst": "out"},
                                {"src": "attn", "dst": "weights", "src_port": 1, "dst_port": 0}]}}
    project = parse_project(data)
    exported = export_onnx(project, tmp_path / "two.onnx")
    assert exported.input_names == ("a", "b") and exported.output_names == ("out", "weights")
    assert verify_onnx(project, exported.path, reference_state=exported.state).ok
