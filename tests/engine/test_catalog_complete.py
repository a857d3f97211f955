"""The catalog covers the layers README.md lists, every spec is well-formed data, and every op is property-tested."""

import re
from pathlib import Path

import pytest

from graph_engine.catalog import CATALOG, CATEGORIES, closest_op
from graph_engine.catalog.spec import REQUIRED, ParamKind
from graph_engine.params import validate_value

DESIGN_OPS = """Input Output Linear Bilinear Identity Conv1d Conv2d Conv3d ConvTranspose1d ConvTranspose2d MaxPool1d
MaxPool2d AvgPool1d AvgPool2d AdaptiveAvgPool1d AdaptiveAvgPool2d AdaptiveMaxPool1d AdaptiveMaxPool2d BatchNorm1d
BatchNorm2d LayerNorm GroupNorm InstanceNorm2d ReLU LeakyReLU ELU GELU SiLU Tanh Sigmoid Softmax LogSoftmax PReLU
Mish Hardswish Dropout Dropout2d Embedding RNN LSTM GRU MultiheadAttention TransformerEncoderLayer
TransformerDecoderLayer Flatten Unflatten Upsample Add Multiply Concat Reshape Permute Transpose Select Mean""".split()

TESTS = Path(__file__).parent


def test_every_design_op_is_in_the_catalog():
    assert sorted(set(DESIGN_OPS) - set(CATALOG)) == []


@pytest.mark.parametrize("op", sorted(CATALOG))
def test_spec_is_well_formed(op):
    spec = CATALOG[op]
    assert spec.category in CATEGORIES and spec.doc.endswith(".") and len(spec.doc) < 200
    assert (spec.module is None) != (spec.emit is None) or op in ("Input", "Output", "Block", "BlockInput", "BlockOutput")
    if spec.module:
        assert re.fullmatch(r"nn\.[A-Z][A-Za-z0-9]+", spec.module)
    for param in spec.params:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", param.name)
        if param.default is not REQUIRED and not param.is_inferred:
            assert validate_value(param, param.default) is None, (op, param.name)
        if param.kind is ParamKind.CHOICE:
            assert param.choices
    assert set(spec.positional) <= set(spec.param_names)


@pytest.mark.parametrize("op", sorted(set(CATALOG) - {"Input", "Output"}))
def test_every_op_has_a_property_test_against_torch(op):
    texts = "\n".join(p.read_text() for p in TESTS.glob("test_catalog_*.py") if p.name != Path(__file__).name)
    assert re.search(rf"[\"']{op}[\"']", texts), f"no test_catalog_*.py mentions {op}"


def test_closest_op_suggestions():
    assert closest_op("conv2d") == "Conv2d"
    assert closest_op("Lienar") == "Linear"
    assert closest_op("zzzzzz") is None
