"""Importing real architectures: subclasses of standard layers (timm's BatchNormAct2d style), x.shape, and
torchvision/timm models with random weights (nothing is downloaded). A model that imports must reproduce its
outputs, export code that runs with torch alone and ONNX that onnxruntime agrees with; a model that is refused
must list every blocker, and only blockers that are known missing pieces (docs/DECISIONS.md, "Importing real
models")."""

from __future__ import annotations

import collections
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from graph_engine.export import export_bundle, export_onnx, verify_onnx
from graph_engine.importer import ImportReport, import_module
from tests.engine.real_models import timm, torchvision_models

TOLERANCE = 1e-5


def imports_end_to_end(module: nn.Module, shapes, tmp_path, name: str = "Net", dtypes=None):
    """Import, then export code and ONNX and check both against the imported model."""
    module.eval()
    result = import_module(module, shapes, dtypes, name=name)
    assert result.max_abs_diff <= TOLERANCE
    assert set(result.state) == set(_built_keys(result.project))
    # the module's own keys, or a note at import saying which could not be kept
    assert set(result.state) == set(module.state_dict()) or result.notes
    bundle = export_bundle(result.project, tmp_path / "bundle", result.state)
    assert bundle.check.ok, bundle.check.line()
    code = (tmp_path / "bundle" / "model.py").read_text(encoding="utf-8")
    imported = re.findall(r"^\s*(?:import|from)\s+([A-Za-z_.]+)", code, re.MULTILINE)
    assert {name.split(".")[0] for name in imported} <= {"torch", "__future__", "math"}, imported
    proc = subprocess.run([sys.executable, "-I", "model.py"], cwd=tmp_path / "bundle", capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    onnx_path = tmp_path / "model.onnx"
    export_onnx(result.project, onnx_path, result.state)
    checked = verify_onnx(result.project, onnx_path, reference_state=result.state)
    assert checked.ok, checked.line()
    return result


def _graphs(project):
    """The project graph and every block definition's graph (an import keeps the module hierarchy)."""
    return [project.graph] + [d.graph for d in project.blocks]


def _leaf_nodes(project) -> list:
    """Every layer of the network, each copy inside its blocks too (the project with its blocks ungrouped)."""
    from graph_engine.blocks.edits import ungroup

    flat = project.copy()
    while instances := [n.id for n in flat.graph if n.op == "Block"]:
        ungroup(flat, instances[0])
    return list(flat.graph)


def _leaf_ops(project) -> collections.Counter:
    return collections.Counter(n.op for n in _leaf_nodes(project))


def _built_keys(project):
    from graph_engine import build_model

    return build_model(project).state_dict().keys()


# ---- layers subclassed the way timm and torchvision do it --------------------------------------------------


class PlainConv(nn.Conv2d):
    """A subclass that keeps nn.Conv2d's forward: it is a Conv2d."""


class BatchNormRelu(nn.BatchNorm2d):
    """timm's BatchNormAct2d in short: its own forward calls F.batch_norm on its own weights, then an act."""

    def __init__(self, channels):
        super().__init__(channels)
        self.act = nn.ReLU()

    def forward(self, x):
        x = F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps)
        return self.act(x)


class ChannelsLayerNorm(nn.LayerNorm):
    """torchvision's ConvNeXt LayerNorm2d: a LayerNorm over channels, computed channels-last."""

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class ScaledLinear(nn.Linear):
    def forward(self, x):
        return F.linear(x, self.weight, self.bias)


class Subclassed(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = PlainConv(3, 8, 3, padding=1)
        self.bn = BatchNormRelu(8)
        self.norm = ChannelsLayerNorm(8, eps=1e-6)
        self.head = ScaledLinear(8 * 6 * 6, 5)

    def forward(self, x):
        x = self.norm(self.bn(self.conv(x)))
        b, c, h, w = x.shape  # x.shape is the traced size, as x.size() is
        return self.head(x.reshape(b, c * h * w))


def _randomise_norms(module):
    torch.manual_seed(3)
    for sub in module.modules():
        if isinstance(sub, nn.BatchNorm2d):
            sub.running_mean.uniform_(-1, 1)
            sub.running_var.uniform_(0.5, 2)
        if isinstance(sub, nn.BatchNorm2d | nn.LayerNorm):
            nn.init.uniform_(sub.weight, 0.5, 1.5)
            nn.init.uniform_(sub.bias, -0.5, 0.5)


def test_subclasses_of_layers_become_those_layers_with_the_module_keys():
    module = Subclassed()
    _randomise_norms(module)
    result = import_module(module, [(3, 6, 6)])
    graph = result.project.graph
    ops = [n.op for n in graph]
    assert ops == ["Input", "Conv2d", "BatchNorm2d", "ReLU", "Permute", "LayerNorm", "Permute", "Reshape", "Linear",
                   "Output"]
    assert set(result.modules) == {"conv", "bn", "norm", "head"}  # the modules that hold weights
    norm_id = result.modules["norm"]
    assert graph.node(norm_id).params.get("eps") == 1e-6
    bn_id = result.modules["bn"]
    assert {k.split(".", 1)[1] for k in result.state if k.startswith(bn_id + ".")} == set(module.bn.state_dict())
    assert result.max_abs_diff <= TOLERANCE


def test_a_functional_layer_on_weights_it_does_not_own_is_refused():
    class Borrowing(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(4, 4)
            self.b = nn.Linear(4, 4)

        def forward(self, x):
            return F.linear(x, self.a.weight, self.b.bias)

    with pytest.raises(ImportReport, match=r"a bias that is not self\.a\.bias"):
        import_module(Borrowing(), [(4,)])


def test_refused_nodes_do_not_hide_the_nodes_they_feed():
    class TwoBlockers(nn.Module):
        def __init__(self):
            super().__init__()
            self.act = nn.Softsign()
            self.fc = nn.Linear(4, 4)

        def forward(self, x):
            return torch.cumsum(self.fc(self.act(x)), dim=1).cumprod(dim=1)

    with pytest.raises(ImportReport) as info:
        import_module(TwoBlockers(), [(4,)])
    assert [p.node for p in info.value.problems] == ["act", "cumsum", "cumprod"]


# ---- real models ---------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_timm_regnet_with_batchnorm_act_layers_imports_end_to_end(tmp_path):
    module = timm().create_model("regnetx_002", pretrained=False, num_classes=10)
    _randomise_norms(module)
    result = imports_end_to_end(module, [(3, 32, 32)], tmp_path, "RegNet")
    assert _leaf_ops(result.project)["BatchNorm2d"] >= 20


@pytest.mark.slow
def test_timm_mlp_mixer_imports_end_to_end(tmp_path):
    timm()
    from timm.models.mlp_mixer import MlpMixer

    torch.manual_seed(0)
    module = MlpMixer(num_classes=10, img_size=32, patch_size=8, num_blocks=2, embed_dim=32)
    result = imports_end_to_end(module, [(3, 32, 32)], tmp_path, "Mixer")
    ops = _leaf_ops(result.project)
    assert ops["Transpose"] >= 4 and ops["LayerNorm"] == 5  # token mixing runs across the patches


def _torchvision(name, **kwargs):
    return lambda: getattr(torchvision_models(), name)(num_classes=10, **kwargs)


def _timm(name, **kwargs):
    return lambda: timm().create_model(name, pretrained=False, num_classes=10, **kwargs)


def _text_classifier(name):
    def build():
        from graph_engine.importer.loading import forget_module, load_module_object

        module, module_name = load_module_object(FIXTURES / "text_transformer.py", name)
        forget_module(module_name)
        return module

    return build


def _small_convnext():
    """torchvision's ConvNeXt class (the code of convnext_tiny) with fewer, narrower stages, to keep the ONNX
    export small; convnext_tiny itself imports the same way (docs/DECISIONS.md)."""
    from torchvision.models.convnext import CNBlockConfig, ConvNeXt

    torchvision_models()
    stages = [CNBlockConfig(24, 48, 2), CNBlockConfig(48, 96, 2), CNBlockConfig(96, None, 2)]
    return ConvNeXt(stages, stochastic_depth_prob=0.1, num_classes=10)


FIXTURES = Path(__file__).parent / "fixtures_import"
REAL_MODELS = {
    "tv_mobilenet_v2": (_torchvision("mobilenet_v2"), {"ReLU6"}),
    "tv_mobilenet_v3_small": (_torchvision("mobilenet_v3_small"), {"Hardsigmoid", "Hardswish", "Multiply"}),
    "tv_shufflenet_v2": (_torchvision("shufflenet_v2_x0_5"), {"Chunk"}),
    "tv_efficientnet_b0": (_torchvision("efficientnet_b0"), {"StochasticDepth", "Multiply", "SiLU"}),
    "tv_convnext": (lambda: _small_convnext(), {"Parameter", "StochasticDepth", "LayerNorm"}),
    "tv_vit_small": (lambda: torchvision_models().VisionTransformer(
        image_size=32, patch_size=8, num_layers=2, num_heads=2, hidden_dim=32, mlp_dim=64, num_classes=10),
        {"Parameter", "Concat", "MultiheadAttention"}),
    "timm_mobilenetv3": (_timm("mobilenetv3_small_050"), {"Hardsigmoid", "Multiply", "BatchNorm2d"}),
    "timm_efficientnet": (_timm("efficientnet_b0"), {"Multiply", "BatchNorm2d"}),
    "timm_convnext": (_timm("convnext_atto"), {"Parameter", "Multiply", "LayerNorm"}),
    "timm_vit": (_timm("vit_tiny_patch16_224", img_size=32, patch_size=8, depth=2),
                 {"Parameter", "ScaledDotProductAttention", "Select"}),
    "tutorial_text_transformer": (_text_classifier("TextClassifier"),
                                  {"Scale", "PositionalEncoding", "TransformerEncoder"}),
}
INPUTS = {"tutorial_text_transformer": ([(12,)], ["int64"])}


@pytest.mark.slow
@pytest.mark.parametrize("key", list(REAL_MODELS))
def test_real_model_imports_end_to_end(key, tmp_path):
    factory, ops = REAL_MODELS[key]
    torch.manual_seed(0)
    module = factory()
    _randomise_norms(module)
    shapes, dtypes = INPUTS.get(key, ([(3, 32, 32)], None))
    result = imports_end_to_end(module, shapes, tmp_path, key, dtypes)
    found = collections.Counter(n.op for g in _graphs(result.project) for n in g)
    assert ops <= set(found), ops - set(found)  # the layers that made it importable are there
    if key == "tv_efficientnet_b0":  # 16 squeeze-excitation gates; at 32x32 the last 5 act on 1x1 images
        gates = [n for n in _leaf_nodes(result.project) if n.op == "Multiply"]
        assert len(gates) == 16 and sum(bool(n.params.get("broadcast")) for n in gates) == 11


def test_the_tutorial_text_classifiers_embedding_scale_is_a_scale_layer():
    result = import_module(_text_classifier("TextClassifier")(), [(12,)], ["int64"])
    graph = result.project.graph
    (scale,) = [n for n in graph if n.op == "Scale"]  # embedding(src) * math.sqrt(d_model)
    assert scale.params == {"factor": math.sqrt(32)}
    assert [graph.node(e.src).op for e in graph.in_edges(scale.id)] == ["Embedding"]
    assert result.max_abs_diff <= TOLERANCE


def test_arithmetic_with_numbers_becomes_scale_layers():
    class Arithmetic(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x):
            h = self.fc(x)
            folded = 2.0 * h / 4 + 1  # one chain of numbers: one Scale
            flipped = 3 - h
            by_size = h / x.size(1)  # a traced size is a number too
            return folded + flipped + by_size

    result = import_module(Arithmetic(), [(4,)])
    scales = sorted((n.params.get("factor", 1.0), n.params.get("offset", 0.0))
                    for n in result.project.graph if n.op == "Scale")
    assert scales == [(-1.0, 3.0), (0.25, 0.0), (0.5, 1.0)]
    assert result.max_abs_diff <= TOLERANCE

    class Divides(nn.Module):
        def forward(self, x):
            return x / x.relu()

    with pytest.raises(ImportReport, match="divides two tensors"):
        import_module(Divides(), [(4,)])


def test_a_transformer_encoder_stack_is_one_node_with_the_stack_keys():
    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            layer = nn.TransformerEncoderLayer(16, 2, 32, 0.1, batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, 3, norm=nn.LayerNorm(16), enable_nested_tensor=False)

        def forward(self, x):
            return self.encoder(x)

    module = Encoder()
    result = import_module(module, [(5, 16)])
    (stack,) = [n for n in result.project.graph if n.op == "TransformerEncoder"]
    assert stack.params["num_layers"] == 3 and stack.params["norm"] is True and stack.params["nhead"] == 2
    assert result.max_abs_diff <= TOLERANCE
    assert {key.removeprefix(stack.id + ".") for key in result.state} == {
        key.removeprefix("encoder.") for key in module.state_dict()}  # the source's keys under the node


def test_fused_qkv_permute_then_unbind_becomes_selects_that_keep_the_batch_first():
    class SplitHeads(nn.Module):
        """timm's Attention up to the attention call: one Linear for q, k and v, split into heads."""

        def __init__(self, dim=12, heads=3):
            super().__init__()
            self.heads = heads
            self.qkv = nn.Linear(dim, dim * 3)

        def forward(self, x):
            b, n, c = x.shape
            qkv = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
            q, k, v = qkv.unbind(0)
            return q * k + v  # [b, heads, n, head_dim]

    result = import_module(SplitHeads(), [(5, 12)])
    graph = result.project.graph
    selects = [n for n in graph if n.op == "Select"]
    assert [(n.params["dim"], n.params.get("index", 0)) for n in selects] == [(2, 0), (2, 1), (2, 2)]
    assert all(graph.node(e.dst).op == "Permute" for s in selects for e in graph.out_edges(s.id))
    assert result.max_abs_diff <= TOLERANCE

    class MovesTheBatch(nn.Module):
        def forward(self, x):
            return x.permute(1, 0, 2).relu()

    with pytest.raises(ImportReport, match="moves the batch dimension"):
        import_module(MovesTheBatch(), [(5, 12)])


# ---- parameters and buffers read in forward, broadcasting ------------------------------------------------------


class Tokens(nn.Module):
    """A ViT-style front: class token, learned position table sliced to the length, layer scale."""

    def __init__(self, table="learned"):
        super().__init__()
        self.proj = nn.Linear(6, 8)
        self.cls_token = nn.Parameter(torch.randn(1, 1, 8))
        self.scale = nn.Parameter(torch.rand(8) + 0.5)
        if table == "learned":
            self.pos = nn.Parameter(torch.randn(10, 8))
        else:
            from graph_engine.importer.tensors import sinusoidal_table

            values = sinusoidal_table(10, 8) if table == "sinusoidal" else torch.randn(10, 8)
            self.register_buffer("pos", values)

    def forward(self, x):
        x = self.proj(x)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)
        x = x + self.pos[:x.size(1)]
        return x * self.scale


def test_parameters_become_parameter_nodes_and_a_position_table_positional_encoding():
    module = Tokens()
    result = import_module(module, [(4, 6)])
    graph = result.project.graph
    assert [n.op for n in graph] == ["Input", "Linear", "Parameter", "Concat", "PositionalEncoding", "Parameter",
                                     "Multiply", "Output"]
    (pe,) = [n for n in graph if n.op == "PositionalEncoding"]
    assert pe.params["kind"] == "learned" and pe.params["max_len"] == 10
    scale = graph.node("scale")
    # [8] against [B, 5, 8] is [1, 8] per sample, as torch broadcasts it
    assert scale.params["shape"] == [1, 8] and torch.equal(result.state["scale"], module.scale.detach().reshape(1, 1, 8))
    assert torch.equal(result.state[pe.id], module.pos.detach())
    assert result.max_abs_diff <= TOLERANCE


def test_a_sinusoidal_buffer_is_that_encoding_and_any_other_buffer_is_refused():
    result = import_module(Tokens("sinusoidal"), [(4, 6)])
    (pe,) = [n for n in result.project.graph if n.op == "PositionalEncoding"]
    assert pe.params.get("kind", "sinusoidal") == "sinusoidal"  # the default, left out
    assert pe.id not in result.state  # rebuilt from its formula, not saved
    with pytest.raises(ImportReport, match=r"self\.pos is a buffer \(a constant\)"):
        import_module(Tokens("random buffer"), [(4, 6)])


def test_a_squeeze_excitation_gate_broadcasts_declared_on_the_multiply():
    class Gate(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, padding=1)
            self.squeeze = nn.Conv2d(8, 8, 1)

        def forward(self, x):
            x = self.conv(x)
            w = torch.sigmoid(self.squeeze(F.adaptive_avg_pool2d(x, 1)))
            return x * w

    result = import_module(Gate(), [(3, 6, 6)])
    (gate,) = [n for n in result.project.graph if n.op == "Multiply"]
    assert gate.params == {"broadcast": True}
    assert result.max_abs_diff <= TOLERANCE
