"""Code generation: the exported file and the in-app model are the same code, and it reads like PyTorch."""

import importlib.util
import traceback

import pytest
import torch

from graph_engine import InvalidGraphError, build_model, compile_project, generate_code
from tests.engine.test_validation import mlp, project


def import_file(path):
    spec = importlib.util.spec_from_file_location("exported_model", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def residual_lstm():
    return project(
        [("seq", "Input", {"shape": [12, 6]}), ("lstm", "LSTM", {"hidden_size": 8}),
         ("last", "Select", {"dim": 1, "index": -1}), ("h", "Select", {"dim": 1, "index": 0}),
         ("both", "Multiply", {}), ("attn", "MultiheadAttention", {"num_heads": 2}),
         ("pooled", "Mean", {"dim": 1}), ("merged", "Add", {}), ("head", "Linear", {"out_features": 2}),
         ("y", "Output", {}), ("weights", "Output", {})],
        [("seq", "lstm"), ("lstm", "last"), ("lstm", "h", 1, 0), ("last", "both", 0, 0), ("h", "both", 0, 1),
         ("lstm", "attn"), ("attn", "pooled"), ("pooled", "merged", 0, 0), ("both", "merged", 0, 1),
         ("merged", "head"), ("head", "y"), ("attn", "weights", 1, 0)],
        name="LSTM with attention")


@pytest.mark.parametrize("make", [mlp, residual_lstm])
def test_exported_file_equals_built_model(tmp_path, make):
    p = make()
    path = tmp_path / "model.py"
    path.write_text(generate_code(p))
    exported = import_file(path)
    built = build_model(p).eval()
    fresh = exported.create_model().eval()
    assert list(built.state_dict()) == list(fresh.state_dict())
    fresh.load_state_dict(built.state_dict(), strict=True)
    inputs = exported.example_inputs(5)
    with torch.no_grad():
        a, b = built(*inputs), fresh(*inputs)
    for x, y in zip(a if isinstance(a, tuple) else (a,), b if isinstance(b, tuple) else (b,), strict=True):
        assert torch.equal(x, y)


def test_multi_output_ports_and_self_attention_read_naturally():
    source = generate_code(residual_lstm())
    assert "class LSTMWithAttention(nn.Module):" in source
    assert "lstm_out = self.lstm(seq)" in source
    assert "lstm_h_n = lstm_out[1][0].transpose(0, 1)" in source
    assert "self.attn(lstm, lstm, lstm)" in source  # unconnected key/value receive the query
    assert "return head, attn_weights" in source
    assert "import layerloom" not in source and "graph_engine" not in source
    compiled = compile_project(residual_lstm())
    out, weights = compiled.create_model()(*compiled.example_inputs(3))
    assert out.shape == (3, 2) and weights.shape == (3, 12, 12)


def test_dead_branches_are_left_out():
    p = mlp()
    from graph_engine import Edge, Node
    p.graph.add_node(Node("unused", "Linear", {"out_features": 7}))
    p.graph.add_edge(Edge("act", "unused"))
    assert "unused" not in generate_code(p)


def test_invalid_graph_is_refused_with_its_diagnostics():
    p = mlp()
    p.graph.set_param("fc1", "out_features", -1)
    with pytest.raises(InvalidGraphError) as err:
        generate_code(p)
    assert err.value.diagnostics[0].node_id == "fc1"


def test_tracebacks_point_at_generated_lines():
    p = project([("x", "Input", {"shape": [4]}), ("fc", "Linear", {"out_features": 2}), ("y", "Output", {})],
                [("x", "fc"), ("fc", "y")])
    model = build_model(p)
    with pytest.raises(RuntimeError) as err:
        model(torch.randn(2, 5))  # wrong feature count at run time
    text = "".join(traceback.format_exception(err.value))
    assert "fc = self.fc(x)" in text and "<layerloom:T:" in text


def test_project_name_cannot_inject_code(tmp_path):
    name = 'x"""\nimport os; os.system("touch PWNED")\n"""'
    p = mlp()
    p.name = name
    source = generate_code(p)
    compile(source, "m.py", "exec")
    assert "\nimport os" not in source
    assert build_model(p) is not None and not (tmp_path / "PWNED").exists()
