"""The importer keeps the module hierarchy as blocks (graph_engine/importer/hierarchy.py): shared definitions,
sequential blocks for containers, and the source's state_dict keys, so its checkpoints load with strict=True."""

from __future__ import annotations

import importlib.util
import sys

import pytest
import torch
from torch import nn

from graph_engine import build_model, generate_code
from graph_engine.importer import import_module
from tests.engine.real_models import torchvision_models

TOLERANCE = 1e-5


class Basic(nn.Module):
    def __init__(self, cin, c, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, c, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(c, c, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)
        self.downsample = None
        if stride != 1 or cin != c:
            self.downsample = nn.Sequential(nn.Conv2d(cin, c, 1, stride, bias=False), nn.BatchNorm2d(c))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class TinyResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.layer1 = nn.Sequential(Basic(8, 8), Basic(8, 8), Basic(8, 8))
        self.layer2 = nn.Sequential(Basic(8, 16, 2), Basic(16, 16), Basic(16, 16))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 3)

    def forward(self, x):
        x = self.layer2(self.layer1(self.stem(x)))
        return self.fc(torch.flatten(self.pool(x), 1))


class ParallelHeads(nn.Module):
    """A ModuleList whose items are not a chain: its keys cannot stay `heads.0.weight`."""

    def __init__(self):
        super().__init__()
        self.body = nn.Linear(6, 6)
        self.heads = nn.ModuleList([nn.Linear(6, 2), nn.Linear(6, 2)])

    def forward(self, x):
        x = self.body(x)
        return self.heads[0](x) + self.heads[1](x)


def _exported(project, tmp_path, name="exported_import_model"):
    path = tmp_path / f"{name}.py"
    path.write_text(generate_code(project), encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules.pop(name, None)
    return module, path.read_text(encoding="utf-8")


def _same_outputs(source: nn.Module, model: nn.Module, shape) -> float:
    torch.manual_seed(0)
    x = torch.randn(2, *shape)
    with torch.no_grad():
        return float((source.eval()(x) - model.eval()(x)).abs().max())


def test_items_of_different_structure_become_a_sequential_block_with_the_source_keys(tmp_path):
    torch.manual_seed(0)
    source = TinyResNet().eval()
    result = import_module(source, [(3, 12, 12)], name="TinyResNet")
    project = result.project
    assert [n.id for n in project.graph] == ["x", "stem", "layer1", "layer2", "pool", "flatten", "fc", "out"]
    blocks = project.blocks
    layer2 = blocks.definition(project.graph.node("layer2").block)
    assert layer2.sequential is True
    items = [layer2.graph.node(i) for i in layer2.chain()]
    assert [(n.block, n.repeat) for n in items] == [("BasicDownsample", None), ("Basic", 2)]
    assert blocks.definition("Downsample").sequential is True
    # one definition per structure; what differs between uses is a block param
    assert set(blocks.names) == {"Basic", "BasicDownsample", "Downsample", "Layer1", "Layer2"}
    assert list(blocks.definition("Basic").params) == ["out_channels"]
    assert set(result.state) == set(source.state_dict()) and not result.notes
    exported, code = _exported(project, tmp_path)
    model = exported.create_model()
    model.load_state_dict(source.state_dict(), strict=True)  # the module's own checkpoint, as it is
    assert _same_outputs(source, model, (3, 12, 12)) <= TOLERANCE
    assert "class Layer2(nn.Sequential):" in code and "*[Basic(out_channels=16) for _ in range(2)]" in code
    assert list(build_model(project).state_dict()) == list(model.state_dict())


def test_a_container_that_is_not_a_chain_is_dissolved_and_the_renamed_keys_are_reported():
    torch.manual_seed(0)
    source = ParallelHeads().eval()
    result = import_module(source, [(6,)])
    assert set(result.state) == {f"{m}.{k}" for m in ("body", "heads_0", "heads_1") for k in ("weight", "bias")}
    assert any("heads is not a block" in note for note in result.notes)
    assert any("heads.0 -> heads_0" in note for note in result.notes)
    assert result.max_abs_diff <= TOLERANCE


# ---- the must-show torchvision models ------------------------------------------------------------------------


def _torchvision(name):
    torch.manual_seed(0)
    return getattr(torchvision_models(), name)(num_classes=10).eval()


@pytest.mark.slow
@pytest.mark.parametrize("name, block_class", [("resnet50", "class Bottleneck(nn.Module):"),
                                               ("resnet18", "class BasicBlock(nn.Module):"),
                                               ("densenet121", "class DenseLayer(nn.Module):")])
def test_torchvision_models_import_as_blocks_with_torchvisions_keys(name, block_class, tmp_path):
    source = _torchvision(name)
    shape = (3, 64, 64)
    result = import_module(source, [shape], name=name)
    project = result.project
    assert len(project.graph) <= 20  # cards at the top level
    assert result.max_abs_diff <= TOLERANCE
    assert set(result.state) == set(source.state_dict()) and not result.notes
    exported, code = _exported(project, tmp_path)
    lines = code.splitlines()
    assert len(lines) <= 250 and max(len(line) for line in lines) <= 120  # no 1,137-character cat line
    assert block_class in code
    model = exported.create_model()
    model.load_state_dict(source.state_dict(), strict=True)
    assert _same_outputs(source, model, shape) <= TOLERANCE
    if name == "densenet121":  # the growing concatenation reads as a person writes it
        assert "torch.cat([x, conv2], dim=1)" in code and "class DenseBlock6(nn.Sequential):" in code


class SharedStages(nn.Module):
    """layer1 and layer3 have one structure, layer2 another: the shared definition is not named after layer1."""

    def __init__(self):
        super().__init__()
        self.layer1 = nn.Sequential(nn.Linear(8, 8), nn.ReLU())
        self.layer2 = nn.Sequential(nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 8))
        self.layer3 = nn.Sequential(nn.Linear(8, 8), nn.ReLU())

    def forward(self, x):
        return self.layer3(self.layer2(self.layer1(x)))


def test_a_definition_shared_by_several_containers_takes_their_common_stem_not_the_first_ones_name():
    source = SharedStages().eval()
    project = import_module(source, [(8,)], name="SharedStages").project
    blocks = {n.id: n.block for n in project.graph if n.block}
    assert blocks == {"layer1": "Layer", "layer2": "Layer2", "layer3": "Layer"}
    assert set(project.blocks.names) == {"Layer", "Layer2"}
