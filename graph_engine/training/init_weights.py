"""Starting a run from given weights (transfer learning): `training.init` (graph_engine/training/config.py).

    report = apply_init(model, config.init, base_dir, node_ops)   # before the optimiser is built

The file is read safely (graph_engine/export/weights.py: safetensors, or a .pt state_dict through
torch.load(weights_only=True)); its tensors are matched to the model by name (recipe.matching_weights, the
code the exported train.py runs too). Every key must fit: one missing from the file, one the network does not
have, or one of another shape is an error naming its layer, unless the person asked for that layer to start
fresh (`init.fresh`, e.g. a replaced head), which is then reported as newly initialised. Nothing is loaded
partially by accident.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graph_engine.export.weights import MAX_LISTED, WeightsError, read_weights
from graph_engine.training import recipe


@dataclass
class InitReport:
    source: str  # the weights file, as given
    loaded: int  # tensors copied from the file
    fresh_layers: list[str] = field(default_factory=list)  # layers (top-level ids) left to their own init
    unused_layers: list[str] = field(default_factory=list)  # layers of the file the network no longer has

    def sentence(self) -> str:
        text = f"started from the weights in {self.source} ({self.loaded} tensors)"
        if self.fresh_layers:
            text += "; newly initialised: " + ", ".join(self.fresh_layers)
        if self.unused_layers:
            text += "; not used from the file: " + ", ".join(self.unused_layers)
        return text


def resolve_path(weights: str, base_dir: Path | None) -> Path:
    """The weights file: a relative path starts at the project file's folder."""
    path = Path(weights).expanduser()
    return path if path.is_absolute() or base_dir is None else Path(base_dir) / path


def read_init_weights(init: Any, base_dir: Path | None) -> dict[str, Any]:
    """The tensors of `init.weights`; a WeightsError (field training.init.weights) when it cannot be read."""
    path = resolve_path(init.weights, base_dir)
    try:
        return read_weights(path)
    except WeightsError as exc:
        raise WeightsError(exc.message, field="training.init.weights",
                           hint=exc.hint or "choose the weights file again (Train from these weights...)") from None


def fit_problems(model: Any, weights: dict[str, Any], fresh: tuple[str, ...],
                 node_ops: dict[str, str]) -> tuple[dict[str, Any], list[tuple[str, str]], list[str]]:
    """(tensors to load, (layer, sentence) per layer that does not fit, layers left fresh)."""
    load, problems, new = recipe.matching_weights(model, weights, fresh)
    by_layer: dict[str, list[str]] = {}
    for key, text in problems:
        by_layer.setdefault(key.split(".", 1)[0], []).append(f"{key} {text}")
    sentences = []
    for layer, texts in by_layer.items():
        name = f"layer {layer!r} ({node_ops[layer]})" if layer in node_ops else f"{layer!r} (not a layer of this network)"
        sentences.append((layer, f"{name}: {', '.join(texts)}"))
    fresh_layers = list(dict.fromkeys(key.split(".", 1)[0] for key in new))
    return load, sentences, fresh_layers


def apply_init(model: Any, init: Any, base_dir: Path | None, node_ops: dict[str, str]) -> InitReport:
    """Load `init`'s weights into `model`. Raises WeightsError naming every layer that does not fit and what
    to do (mark a replaced layer fresh, or use weights of this network)."""
    weights = read_init_weights(init, base_dir)
    load, problems, fresh_layers = fit_problems(model, weights, init.fresh, node_ops)
    in_file = {key.split(".", 1)[0] for key in weights}
    unknown = [f for f in init.fresh if f.split(".", 1)[0] not in node_ops and f.split(".", 1)[0] not in in_file]
    if unknown:
        raise WeightsError(f"init.fresh names {', '.join(repr(u) for u in unknown)}, which neither this network nor "
                           f"{init.weights} has", field="training.init.fresh",
                           hint="list the layers you replaced: the new ones (they start fresh) and old ones of the file")
    if problems:
        shown = [text for _, text in problems[:MAX_LISTED]]
        more = len(problems) - len(shown)
        layers = [layer for layer, _ in problems]
        hint = ("if you replaced these layers on purpose, start them fresh: add "
                + ", ".join(repr(layer) for layer in layers) + " to training.init.fresh (layerloom train --fresh "
                + " --fresh ".join(layers) + "); otherwise use weights saved from this network (same layer ids)")
        raise WeightsError(f"the weights in {init.weights} do not fit this network: " + "; ".join(shown)
                           + (f"; and {more} more" if more else ""), node_id=problems[0][0],
                           field="training.init.weights", hint=hint)
    recipe.load_weights_into(model, load)
    unused = [f for f in init.fresh if f not in node_ops and f in in_file]
    return InitReport(init.weights, len(load), fresh_layers, unused)



@dataclass
class WeightsFit:
    """How a weights file fits a project's network, before training (the app's "Train from these weights")."""

    loaded: int  # tensors that would be copied
    total: int  # tensors of the network
    mismatched: list[str] = field(default_factory=list)  # layers to start fresh for the file to fit
    problems: list[str] = field(default_factory=list)  # one sentence per such layer

    @property
    def fits(self) -> bool:
        return not self.mismatched


def weights_fit(project: Any, path: str | Path) -> WeightsFit:
    """Build the project's network and match the file to it. Raises WeightsError (unreadable file) and
    InvalidGraphError (a network that cannot be built)."""
    from graph_engine.codegen import compile_project
    from graph_engine.errors import InvalidGraphError
    from graph_engine.validation import check

    result = check(project)
    if not result.ok:
        raise InvalidGraphError(f"the network has {len(result.errors)} error(s); fix them first", result.errors)
    weights = read_weights(path)
    model = compile_project(project, result).create_model()
    node_ops = {n.id: n.op for n in project.graph}
    load, problems, _ = fit_problems(model, weights, (), node_ops)
    return WeightsFit(len(load), len(model.state_dict()), [layer for layer, _ in problems],
                      [text for _, text in problems])


__all__ = ["InitReport", "WeightsFit", "apply_init", "fit_problems", "read_init_weights", "resolve_path", "weights_fit"]
