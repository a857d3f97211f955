"""Looking inside: saliency, Grad-CAM and attention maps against hand computations on tiny real networks."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from graph_engine import parse_project
from graph_engine.codegen import compile_project
from graph_engine.training.inspect_saliency import InspectError, attention_map, grad_cam, saliency


class LinearImage(nn.Module):
    """score_k = sum(W_k * x): the gradient of score_k with respect to x is W_k."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(12, 3, bias=False)

    def forward(self, x):
        return self.fc(x.flatten(1))


def test_saliency_is_the_absolute_input_gradient_by_hand():
    torch.manual_seed(0)
    model = LinearImage()
    x = torch.rand(1, 3, 4)
    result = saliency(model, x, target=2)
    w = model.fc.weight.detach()[2].reshape(1, 3, 4).abs()
    by_hand = (w.amax(0) / w.max()).numpy()
    assert result.target == 2 and np.allclose(result.heat, by_hand, atol=1e-6)
    scores = model(x[None])[0]
    assert result.predicted == int(scores.argmax()) and result.probabilities.sum() == pytest.approx(1.0)
    assert saliency(model, x).target == result.predicted  # the prediction unless a class is given
    assert model.training  # the model's mode is given back


class ConvPoolLinear(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2, 2)

    def forward(self, x):
        return self.fc(self.pool(torch.relu(self.conv(x))).flatten(1))


def test_grad_cam_weights_each_map_by_its_mean_gradient_by_hand():
    torch.manual_seed(1)
    model = ConvPoolLinear()
    with torch.no_grad():
        model.fc.weight.copy_(torch.tensor([[-1.0, 0.5], [2.0, 1.0]]))  # class 1 likes both maps
    x = torch.rand(1, 6, 6)
    result = grad_cam(model, x, "conv", target=1)
    maps = model.conv(x[None])[0].detach()  # [2, 6, 6]
    relu_mask = (maps > 0).float()
    # d score_1 / d A_k = w_1k / 36 where the ReLU passes, else 0; alpha_k is its mean over the map.
    alpha = model.fc.weight.detach()[1] / 36 * relu_mask.mean(dim=(1, 2))
    cam = torch.relu((alpha[:, None, None] * maps).sum(0))
    assert float(cam.max()) > 0 and np.allclose(result.heat, (cam / cam.max()).numpy(), atol=1e-5)
    with pytest.raises(InspectError, match="feature maps"):
        grad_cam(model, x, "fc")
    with pytest.raises(InspectError, match="no module"):
        grad_cam(model, x, "nothing")


def _attention_project(op: str, causal: bool):
    params = {"num_heads": 2, "causal": causal} if op == "MultiheadAttention" else {
        "nhead": 2, "dim_feedforward": 8, "dropout": 0.0, "causal": causal, "norm_first": True}
    nodes = [{"id": "x", "op": "Input", "params": {"shape": [5, 4]}},
             {"id": "att", "op": op, "params": params}, {"id": "y", "op": "Output"}]
    edges = [{"src": "x", "dst": "att"}, {"src": "att", "dst": "y"}]
    if op == "MultiheadAttention":
        edges = [{"src": "x", "dst": "att", "dst_port": 0}, {"src": "x", "dst": "att", "dst_port": 1},
                 {"src": "x", "dst": "att", "dst_port": 2}, {"src": "att", "dst": "y"}]
    return parse_project({"format": "layerloom", "format_version": 1, "name": "Attention",
                          "graph": {"nodes": nodes, "edges": edges}})


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("op", ["MultiheadAttention", "TransformerEncoderLayer"])
def test_attention_weights_are_softmax_of_scaled_query_key_products_by_hand(op, causal):
    torch.manual_seed(2)
    model = compile_project(_attention_project(op, causal)).create_model()
    x = torch.randn(5, 4)
    result = attention_map(model, x, "att")
    mha = model.att if op == "MultiheadAttention" else model.att.self_attn
    inputs = x if op == "MultiheadAttention" else model.att.norm1(x)  # norm_first: attention sees norm1(x)
    w, b = mha.in_proj_weight.detach(), mha.in_proj_bias.detach()
    q, k = (inputs @ w[:4].T + b[:4]).detach(), (inputs @ w[4:8].T + b[4:8]).detach()
    heads = []
    for h in range(2):
        s = q[:, 2 * h:2 * h + 2] @ k[:, 2 * h:2 * h + 2].T / math.sqrt(2)
        if causal:
            s = s.masked_fill(torch.triu(torch.ones(5, 5, dtype=torch.bool), 1), float("-inf"))
        heads.append(torch.softmax(s, -1))
    assert result.weights.shape == (2, 5, 5)
    assert np.allclose(result.weights, torch.stack(heads).numpy(), atol=1e-5)
    if causal:
        assert np.all(np.triu(result.weights, 1) == 0)
