"""Text from a trained character-level language model: the trainer's per-epoch sample, `layerloom sample` and
the exported train.py all call `sample_ids` (the exporter copies its source, so it imports torch only).

    ids = sample_ids(model, prompt_ids, length=300, context=64, temperature=0.8, seed=0, top_k=None)
    text = sample_text(model, vocabulary, prompt="Alice", length=300, context=64, temperature=0.8, seed=0)

The model maps int64 token ids [N, context] to scores [N, context, vocabulary]; each new token is drawn from the
softmax of the last position's scores divided by `temperature` (0: always the most likely token), among the
`top_k` most likely when top_k is set, with a torch.Generator seeded by `seed`, so the same seed and weights
give the same text and training's own random numbers are not touched. The model sees at most the last
`context` tokens (the window it was trained on); a prompt shorter than that is fed as it is (causal attention
and positional encodings are defined for every length up to the window) unless the model needs exactly
`context` tokens, when it is left-padded with its own first token.
"""

from __future__ import annotations

import torch

from graph_engine.data.text_chars import decode, encode
from graph_engine.errors import ProjectError


@torch.inference_mode()
def sample_ids(model, prompt_ids, length, context, temperature=1.0, seed=0, top_k=None, fixed_length=False):
    """`length` new token ids after `prompt_ids` (a non-empty list), drawn from `model` (put in eval mode by the
    caller) on the device of its parameters. fixed_length: always feed exactly `context` tokens (left-padded
    with the prompt's first token) for a network whose shapes are fixed to its window."""
    device = next(model.parameters()).device
    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    ids = [int(i) for i in prompt_ids]
    out = []
    for _ in range(int(length)):
        window = ids[-context:]
        if fixed_length and len(window) < context:
            window = [window[0]] * (context - len(window)) + window
        scores = model(torch.tensor([window], dtype=torch.int64, device=device))[0, -1].float().cpu()
        if temperature <= 0:
            nxt = int(scores.argmax())
        else:
            scores = scores / temperature
            if top_k:
                kth = torch.topk(scores, min(int(top_k), scores.numel())).values[-1]
                scores = scores.masked_fill(scores < kth, float("-inf"))
            nxt = int(torch.multinomial(torch.softmax(scores, -1), 1, generator=gen))
        ids.append(nxt)
        out.append(nxt)
    return out


class PromptError(ProjectError):
    """The prompt cannot be fed to the model (no character of it is in the vocabulary)."""


def sample_text(model, vocabulary, prompt: str = "", length: int = 300, context: int = 64, temperature: float = 0.8,
                seed: int = 0, top_k: int | None = None, fixed_length: bool = False) -> str:
    """The prompt followed by `length` generated characters. Characters of the prompt that the vocabulary
    lacks are left out; an empty prompt starts from a newline (or the vocabulary's first character)."""
    if not prompt:
        prompt = "\n" if "\n" in vocabulary else vocabulary[0]
    ids, missing = encode(prompt, vocabulary)
    if not ids:
        raise PromptError(f"no character of the prompt {prompt[:40]!r} is in the model's vocabulary",
                          field="prompt", hint="use letters of the text the model was trained on")
    was_training = model.training
    model.eval()
    try:
        new = sample_ids(model, ids, length, context, temperature, seed, top_k, fixed_length)
    finally:
        model.train(was_training)
    return decode(ids, vocabulary) + decode(new, vocabulary)




def language_model_vocabulary(project, base_dir=None) -> tuple[str, ...]:
    """The vocabulary (id -> character) of a language-model project's dataset: its text's sorted characters."""
    from graph_engine.data import load_dataset
    from graph_engine.training.config import TrainingConfig

    config = TrainingConfig.from_project(project)
    dataset = load_dataset(config.dataset, base_dir=base_dir)
    if dataset.task != "language_model":
        raise ProjectError(f"dataset {dataset.name!r} is not a language model's text", field="training.dataset",
                           hint="text sampling needs a char_text dataset")
    return tuple(dataset.class_names)


def text_from_weights(project, weights, *, prompt: str = "", length: int = 300, temperature: float = 0.8,
                      seed: int = 0, top_k: int | None = None, base_dir=None) -> str:
    """Text written by `project`'s network with the weights file `weights` (see sample_text): what `layerloom
    sample` prints and the app's Sample dialog shows. Raises ProjectError (WeightsError, PromptError...)."""
    from graph_engine.codegen import compile_project
    from graph_engine.export.weights import load_strict, read_weights
    from graph_engine.validation import check

    result = check(project)
    if not result.ok:
        raise ProjectError(f"the network has {len(result.errors)} error(s); first: {result.errors[0]}",
                           hint="fix the network before sampling from it")
    inputs = [n for n in result.order if n in result.live and project.graph.node(n).op == "Input"]
    if len(inputs) != 1 or result.nodes[inputs[0]].outputs[0].dtype != "int64":
        raise ProjectError("text sampling needs a network with one Input of token ids (int64)", field="graph",
                           hint="sample from a language model such as the char_transformer template")
    context = int(result.nodes[inputs[0]].outputs[0].shape[0])
    vocabulary = language_model_vocabulary(project, base_dir)
    model = compile_project(project, result).create_model()
    load_strict(model, read_weights(weights), str(weights), {n: project.graph.node(n).op for n in project.graph.nodes})
    return sample_text(model, vocabulary, prompt, length, context, temperature, seed, top_k)


__all__ = ["PromptError", "language_model_vocabulary", "sample_ids", "sample_text", "text_from_weights"]
