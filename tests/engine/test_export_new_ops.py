"""The layers added for modern architectures, end to end: each project below checks clean, its generated code
runs in train and eval mode with torch alone (verify_code), and its ONNX export matches the in-app model in
onnxruntime at batch sizes 1 and 5 (verify_onnx). Together they use every op of graph_engine/catalog's
padding, rearrange and tensor modules and the new activation, dropout, normalization, attention and merge
ops."""

from __future__ import annotations

from pathlib import Path

import pytest

from graph_engine import check, parse_project
from graph_engine.codegen import compile_project, generate_code
from graph_engine.export import export_onnx, verify_onnx
from graph_engine.export.verify import verify_code
from graph_engine.project_io import load_project
from graph_engine.templates import load_template
from graph_engine.training import FinishedEvent, Trainer, TrainingConfig
from graph_engine.validation import Checker
from tests.engine.project_factory import chain, edge, node, project, sequential

FIXTURES = Path(__file__).parent / "fixtures_projects"


def image_ops():
    return parse_project(sequential(
        node("relu6", "ReLU6"), node("hsig", "Hardsigmoid"), node("htanh", "Hardtanh", min_val=-0.5, max_val=0.8),
        node("softplus", "Softplus", beta=2.0), node("zero", "ZeroPad2d", padding=1),
        node("const", "ConstantPad2d", padding=[1, 1, 0, 0], value=0.5), node("reflect", "ReflectionPad2d", padding=1),
        node("replicate", "ReplicationPad2d", padding=[0, 0, 1, 1]), node("unshuffle", "PixelUnshuffle"),
        node("shuffle", "ChannelShuffle", groups=3), node("up", "PixelShuffle"), node("ln2d", "LayerNorm2d"),
        node("drop", "StochasticDepth", p=0.5), input_shape=[3, 6, 6], name="Image ops"))


def sequence_ops():
    return parse_project(sequential(
        node("zero", "ZeroPad1d", padding=[1, 2]), node("const", "ConstantPad1d", padding=1, value=-1.0),
        node("reflect", "ReflectionPad1d", padding=2), node("replicate", "ReplicationPad1d", padding=[0, 3]),
        node("scaled", "Scale", factor=0.5, offset=-1.0), input_shape=[4, 5], name="Sequence ops"))


def split_ops():
    """Chunk and Split with every output port used, Expand and declared broadcasting."""
    nodes = [node("x", "Input", shape=[8, 4]), node("halves", "Chunk", chunks=2, dim=1),
             node("parts", "Split", split_sizes=[1, 3], dim=2), node("wide", "Expand", size=[-1, 3]),
             node("gate", "Multiply", broadcast=True), node("total", "Add"),
             node("bias", "Parameter", shape=[1, 3], init="normal", std=0.5),
             node("biased", "Add", broadcast=True), node("joined", "Concat", dim=2),
             node("out", "Output"), node("first", "Output")]
    edges = [edge("x", "halves"), edge("halves", "parts", 1, 0), edge("parts", "wide", 0, 0),
             edge("wide", "gate", 0, 0), edge("parts", "gate", 1, 1), edge("gate", "total", 0, 0),
             edge("parts", "total", 1, 1), edge("x", "bias"), edge("total", "biased", 0, 0), edge("bias", "biased", 0, 1),
             edge("biased", "joined", 0, 0), edge("halves", "joined", 0, 1), edge("joined", "out"),
             edge("halves", "first", 0, 0)]
    return parse_project(project(nodes, edges, name="Split ops"))


def causal_transformer():
    """Token ids, sinusoidal positions, causal encoder and decoder stacks and layers, causal attention by hand."""
    nodes = [node("tokens", "Input", shape=[6], dtype="int64"), node("embed", "Embedding", num_embeddings=11,
                                                                        embedding_dim=8),
             node("pos", "PositionalEncoding", max_len=10), node("enc", "TransformerEncoder", num_layers=2, nhead=2,
                                                                  dim_feedforward=16, dropout=0.0, causal=True,
                                                                  norm=True, norm_first=True),
             node("enc1", "TransformerEncoderLayer", nhead=2, dim_feedforward=16, dropout=0.0, causal=True),
             node("dec", "TransformerDecoder", num_layers=1, nhead=2, dim_feedforward=16, dropout=0.0, causal=True),
             node("dec1", "TransformerDecoderLayer", nhead=2, dim_feedforward=16, dropout=0.0, causal=True),
             node("mha", "MultiheadAttention", num_heads=2, causal=True),
             node("heads", "Unflatten", dim=2, unflattened_size=[2, 4]), node("by_head", "Transpose", dim0=1, dim1=2),
             node("sdpa", "ScaledDotProductAttention", is_causal=True, dropout_p=0.1),
             node("merged", "Transpose", dim0=1, dim1=2), node("flat", "Flatten", start_dim=2),
             node("logits", "Linear", out_features=11), node("out", "Output")]
    edges = [*chain("tokens", "embed", "pos", "enc", "enc1"), edge("enc1", "dec", 0, 0), edge("pos", "dec", 0, 1),
             edge("dec", "dec1", 0, 0), edge("enc1", "dec1", 0, 1), edge("dec1", "mha"),
             *chain("mha", "heads", "by_head", "sdpa", "merged", "flat", "logits", "out")]
    return parse_project(project(nodes, edges, name="Causal transformer"))


PROJECTS = {
    "image_ops": image_ops,
    "sequence_ops": sequence_ops,
    "split_ops": split_ops,
    "causal_transformer": causal_transformer,
    "vit_tiny": lambda: load_template("vit_tiny"),
    "efficientnet_block": lambda: load_project(FIXTURES / "efficientnet_block.layerloom.json"),
}


@pytest.mark.parametrize("name", sorted(PROJECTS))
def test_code_and_onnx_reproduce_the_in_app_model(name, tmp_path):
    proj = PROJECTS[name]()
    result = check(proj)
    assert result.ok, result.errors
    compiled = compile_project(proj, result)
    model = compiled.create_model()
    model.train()
    outputs = model(*compiled.example_inputs(3))  # training mode runs too (dropout, drop path)
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    loss = sum(o.float().sum() for o in outputs)
    if loss.requires_grad:
        loss.backward()
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    code = tmp_path / "model.py"
    code.write_text(generate_code(proj, result))
    report = verify_code(proj, code, reference_state=state)
    assert report.ok, report.line()
    exported = export_onnx(proj, tmp_path / f"{name}.onnx", state, result=result)
    report = verify_onnx(proj, exported.path, reference_state=exported.state)
    assert report.ok, report.line()


def test_generated_code_reads_like_hand_written_torch():
    source = generate_code(causal_transformer())
    assert "self.register_buffer('pos', torch.stack([torch.sin(" in source and "persistent=False" in source
    assert "nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, " in source
    assert "mask=nn.Transformer.generate_square_subsequent_mask(pos.shape[1], device=pos.device), is_causal=True" \
        in source.replace("enc(pos, ", "")
    assert "nn.functional.scaled_dot_product_attention(by_head, by_head, by_head, dropout_p=0.1 if self.training " \
           "else 0.0, is_causal=True)" in source
    source = generate_code(split_ops())
    assert "halves_out = x.chunk(2, dim=1)" in source and "halves_output1 = halves_out[1]" in source
    assert "self.bias = nn.Parameter(nn.init.normal_(torch.empty(1, 1, 3), std=0.5))" in source
    assert "bias = self.bias.expand(x.shape[0], -1, -1)" in source


def test_parameter_and_learned_positions_are_saved_with_the_weights_but_sinusoids_are_not():
    vit = compile_project(load_template("vit_tiny")).create_model().state_dict()
    assert tuple(vit["cls_token"].shape) == (1, 1, 32) and tuple(vit["pos_embed"].shape) == (17, 32)
    gpt = compile_project(causal_transformer()).create_model()
    assert "pos" not in gpt.state_dict() and "pos" in dict(gpt.named_buffers())


def test_chunk_ports_follow_the_param_and_a_missing_port_is_reported():
    def chunked(chunks, port):
        return parse_project(project([node("x", "Input", shape=[8, 4]), node("halves", "Chunk", chunks=chunks),
                                      node("o", "Output")], [edge("x", "halves"), edge("halves", "o", port, 0)]))

    assert check(chunked(4, 3)).ok
    errors = check(chunked(2, 3)).errors
    assert [e.node_id for e in errors] == ["o"]
    assert "output port 3" in errors[0].message and "0..1" in errors[0].message
    # The incremental checker (the app's) sees a param change move the ports too.
    proj = chunked(4, 3)
    checker = Checker(proj.graph)
    assert checker.check().ok
    proj.graph.set_param("halves", "chunks", 2)
    assert [e.node_id for e in checker.check().errors] == ["o"]
    proj.graph.set_param("halves", "chunks", 4)
    assert checker.check().ok


@pytest.mark.slow
def test_vit_template_learns_digits():
    proj = load_template("vit_tiny")
    config = TrainingConfig.from_project(proj).with_overrides(epochs=6)
    event = Trainer(proj, config, num_threads=1).run()
    assert isinstance(event, FinishedEvent), getattr(event, "message", event)
    assert event.history[-1]["val_accuracy"] > 0.6  # chance is 0.1
