"""Looking inside a trained network (no Qt): why an image classifier decided, and where attention looks.

    s = saliency(model, x)                  # x: one sample [C, H, W]; s.heat [H, W] in 0..1, s.predicted ...
    g = grad_cam(model, x, "conv2")         # the class evidence in that layer's feature maps, at the image's size
    a = attention_map(model, x, "block1")   # [heads, query, key] attention weights of an attention node

- saliency: the absolute gradient of the chosen class's score with respect to the input pixels (Simonyan et al.
  2014), the largest over channels, scaled to 0..1: which pixels would change the score most.
- Grad-CAM (Selvaraju et al. 2017): the feature maps A_k of a convolutional layer weighted by the mean
  gradient of the class score over each map, alpha_k = mean(d score / d A_k), then relu(sum_k alpha_k A_k),
  upsampled bilinearly to the input's size and scaled to 0..1.
- attention: the softmax(Q K^T / sqrt(d)) weights of a MultiheadAttention node, or of the self-attention inside a
  TransformerEncoderLayer / TransformerDecoderLayer node, per head, with the node's own causal mask. They are
  computed by calling the node's attention module again on the inputs it received, with need_weights=True (the
  generated forward() asks for no weights). The forward pass runs with gradients on, which keeps torch's fused
  inference path (that skips the attention module) out of the way.

The class is the model's prediction unless `target` is given. The model is put in eval mode for the call and
returned to its mode afterwards; its weights are not changed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from graph_engine.errors import ProjectError

ATTENTION_OPS = ("MultiheadAttention", "TransformerEncoderLayer", "TransformerDecoderLayer")


class InspectError(ProjectError):
    """The view asked for does not apply to this network or node (the message says why)."""


@dataclass
class Explanation:
    heat: np.ndarray  # float32 [H, W] in 0..1
    target: int  # the class explained
    predicted: int
    probabilities: np.ndarray  # float32 [classes]


@dataclass
class AttentionMap:
    weights: np.ndarray  # float32 [heads, query positions, key positions]; each row sums to 1
    node_id: str


class _EvalMode:
    def __init__(self, model: torch.nn.Module):
        self.model = model

    def __enter__(self):
        self.was_training = self.model.training
        self.model.eval()

    def __exit__(self, *exc):
        self.model.train(self.was_training)


def _scaled(heat: torch.Tensor) -> np.ndarray:
    heat = heat.detach().float()
    top = float(heat.max()) if heat.numel() else 0.0
    return (heat / top if top > 0 else torch.zeros_like(heat)).cpu().numpy().astype(np.float32)


def _scores(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    out = model(x)
    if out.dim() != 2:
        raise InspectError(f"the network outputs {list(out.shape[1:])} per sample, not one score per class",
                           hint="saliency and Grad-CAM explain image classifiers")
    return out


def _target(scores: torch.Tensor, target: int | None) -> int:
    if target is None:
        return int(scores[0].argmax())
    if not 0 <= target < scores.shape[1]:
        raise InspectError(f"class {target} does not exist; the network has {scores.shape[1]} classes")
    return int(target)


def _image(x: torch.Tensor | np.ndarray) -> torch.Tensor:
    x = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
    if x.dim() < 2:
        raise InspectError(f"a sample of shape {list(x.shape)} is not an image", hint="use an image dataset")
    return x.float().unsqueeze(0)


def _device(model: torch.nn.Module) -> torch.device:
    first = next(model.parameters(), None)
    return first.device if first is not None else torch.device("cpu")


def saliency(model: torch.nn.Module, x, target: int | None = None) -> Explanation:
    """The input-gradient saliency of one image sample x ([C, H, W] or [H, W]); see the module docstring."""
    with _EvalMode(model), torch.enable_grad():
        xb = _image(x).to(_device(model)).requires_grad_(True)
        scores = _scores(model, xb)
        cls = _target(scores, target)
        (grad,) = torch.autograd.grad(scores[0, cls], xb)
    g = grad[0].abs()
    heat = g.amax(0) if g.dim() == 3 else g
    probs = torch.softmax(scores[0].detach().float(), 0)
    return Explanation(_scaled(heat), cls, int(probs.argmax()), probs.cpu().numpy())


def grad_cam(model: torch.nn.Module, x, node_id: str, target: int | None = None) -> Explanation:
    """Grad-CAM of one image sample x at the output of node `node_id` (a layer giving [C, h, w] maps)."""
    module = getattr(model, node_id, None)
    if not isinstance(module, torch.nn.Module):
        raise InspectError(f"layer {node_id!r} has no module in the network", node_id=node_id,
                           hint="choose a convolutional layer")
    captured: dict[str, torch.Tensor] = {}

    def keep(_module, _inputs, output):
        if isinstance(output, torch.Tensor):
            output.retain_grad()
            captured["maps"] = output

    handle = module.register_forward_hook(keep)
    try:
        with _EvalMode(model), torch.enable_grad():
            xb = _image(x).to(_device(model))
            scores = _scores(model, xb)
            cls = _target(scores, target)
            maps = captured.get("maps")
            if maps is None or maps.dim() != 4:
                shape = "nothing" if maps is None else list(maps.shape[1:])
                raise InspectError(f"layer {node_id!r} outputs {shape}, not [channels, height, width] feature maps",
                                   node_id=node_id, hint="choose a Conv2d (or its activation or pooling) layer")
            (grad,) = torch.autograd.grad(scores[0, cls], maps)
    finally:
        handle.remove()
    alpha = grad[0].mean(dim=(1, 2))  # [C]
    cam = torch.relu((alpha[:, None, None] * maps[0].detach()).sum(0))
    size = xb.shape[-2:]
    cam = F.interpolate(cam[None, None], size=size, mode="bilinear", align_corners=False)[0, 0]
    probs = torch.softmax(scores[0].detach().float(), 0)
    return Explanation(_scaled(cam), cls, int(probs.argmax()), probs.cpu().numpy())


def conv_layers(model: torch.nn.Module, node_ops: dict[str, str]) -> list[str]:
    """The node ids of Conv2d layers, in the model's order (the last one is Grad-CAM's usual choice)."""
    return [name for name, _ in model.named_children() if node_ops.get(name) == "Conv2d"]


def attention_nodes(node_ops: dict[str, str]) -> list[str]:
    return [n for n, op in node_ops.items() if op in ATTENTION_OPS]


def attention_map(model: torch.nn.Module, x, node_id: str) -> AttentionMap:
    """The attention weights of node `node_id` for one sample x (token ids [T] or features [T, E])."""
    module = getattr(model, node_id, None)
    attention = module if isinstance(module, torch.nn.MultiheadAttention) else getattr(module, "self_attn", None)
    if not isinstance(attention, torch.nn.MultiheadAttention):
        raise InspectError(f"layer {node_id!r} is not an attention layer", node_id=node_id,
                           hint="choose a MultiheadAttention or Transformer layer")
    captured: list[torch.Tensor] = []

    def recompute(_module, args, kwargs):
        if captured:
            return
        query, key, value = (list(args) + [kwargs.get(k) for k in ("query", "key", "value")][len(args):])[:3]
        extra = {k: kwargs[k] for k in ("key_padding_mask", "attn_mask", "is_causal") if k in kwargs}
        with torch.no_grad():
            _, weights = attention.forward(query, key, value, need_weights=True, average_attn_weights=False,
                                           **extra)  # forward(): not through this hook again
        captured.append(weights)

    handle = attention.register_forward_pre_hook(recompute, with_kwargs=True)
    try:
        with _EvalMode(model), torch.enable_grad():
            sample = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
            model(sample.unsqueeze(0).to(_device(model)))
    finally:
        handle.remove()
    if not captured:
        raise InspectError(f"layer {node_id!r} did not run for this sample", node_id=node_id)
    return AttentionMap(captured[0][0].float().cpu().numpy(), node_id)


__all__ = ["ATTENTION_OPS", "AttentionMap", "Explanation", "InspectError", "attention_map", "attention_nodes",
           "conv_layers", "grad_cam", "saliency"]
