"""A GAN project: a generator (the project's graph) and a discriminator (`project.discriminator`), both
ordinary graphs of the same catalog, checked, compiled and exported the same way (docs/FILE_FORMAT.md).

    if is_gan(project):
        nets = check_gan(project)           # GanNetworks, or GanError naming the network and the node
        disc = discriminator_project(project)   # a Project whose graph is the discriminator (for codegen)

What a GAN needs, checked here: each network has exactly one Input and one Output and no errors; the
generator's Input is the noise (float, any shape); the discriminator's Input has the generator's output shape;
the discriminator's output is one logit per sample ([1] or []). The training recipe is
graph_engine/training/gan_loop.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from graph_engine.errors import ProjectError
from graph_engine.graph import Graph
from graph_engine.project import Project
from graph_engine.validation import ERROR, CheckResult, Diagnostic, check

GENERATOR = "generator"
DISCRIMINATOR = "discriminator"
GAN_RECIPE = "gan"


class GanError(ProjectError):
    """A GAN project cannot be trained as it stands; `network` is "generator" or "discriminator"."""

    def __init__(self, message: str, network: str, node_id: str | None = None, hint: str = ""):
        super().__init__(f"{network}: {message}", node_id=node_id, field=network, hint=hint)
        self.network = network
        self.detail = message  # without the network's name (a diagnostic shows it as its field)


@dataclass
class GanNetworks:
    generator: CheckResult
    discriminator: CheckResult
    noise_shape: tuple[int, ...]  # the generator Input's shape (one sample)
    sample_shape: tuple[int, ...]  # the generator's output shape = the discriminator's input shape
    generator_input: str
    discriminator_input: str


def is_gan(project: Project) -> bool:
    """Whether the project is a GAN: it holds a discriminator, or its training recipe says gan."""
    training = project.training if isinstance(project.training, dict) else {}
    return project.discriminator is not None or training.get("recipe") == GAN_RECIPE


def discriminator_project(project: Project) -> Project:
    """The discriminator as a project of its own (same block definitions), for the checker and codegen."""
    if project.discriminator is None:
        raise GanError("this project has no discriminator", DISCRIMINATOR,
                       hint="add one (View > Discriminator in the app, or the \"discriminator\" key of the file)")
    return Project(name=f"{project.name} discriminator", graph=project.discriminator.copy(),
                   training=project.training, blocks=project.blocks.copy())


def gan_diagnostics(project: Project, generator: CheckResult | None = None) -> list[Diagnostic]:
    """The first problem of the discriminator or of how the two networks fit together, as a diagnostic on
    its node (message "discriminator: ..." or "generator: ..."); the generator's own graph errors are
    `check(project)`'s, so they are not repeated. Empty when the pair fits or the project is not a GAN."""
    if not is_gan(project):
        return []
    generator = generator or check(project)
    try:
        check_gan(project, generator)
    except GanError as exc:
        if exc.network == GENERATOR and not generator.ok:
            return []
        return [Diagnostic(ERROR, exc.node_id, exc.detail, exc.hint, exc.network)]
    return []


def check_gan(project: Project, generator: CheckResult | None = None) -> GanNetworks:
    """Check both networks and how they fit; GanError (naming the network and the node) at the first problem."""
    generator = generator or check(project)
    g_in, g_out = _ends(project.graph, generator, GENERATOR)
    g_in_type = generator.nodes[g_in].outputs[0]
    if g_in_type.dtype != "float32":
        raise GanError(f"the Input {g_in!r} must take float noise, not {g_in_type.dtype}", GENERATOR, g_in,
                       "set the Input's dtype to float32")
    sample = generator.nodes[g_out].inputs[0]
    disc = discriminator_project(project)
    d_result = check(disc)
    d_in, d_out = _ends(disc.graph, d_result, DISCRIMINATOR)
    d_in_type = d_result.nodes[d_in].outputs[0]
    if tuple(d_in_type.shape) != tuple(sample.shape):
        raise GanError(f"the Input {d_in!r} takes {_fmt(d_in_type.shape)}, but the generator makes "
                       f"{_fmt(sample.shape)}", DISCRIMINATOR, d_in,
                       f"set the Input's shape to {_fmt(sample.shape)} (the generator's output)")
    logit = d_result.nodes[d_out].inputs[0]
    if int(_numel(logit.shape)) != 1:
        raise GanError(f"the Output {d_out!r} gets {_fmt(logit.shape)} per sample; a discriminator gives one "
                       "score (a logit)", DISCRIMINATOR, d_out, "end it with Linear(out_features=1) and no Sigmoid")
    return GanNetworks(generator, d_result, tuple(int(d) for d in g_in_type.shape),
                       tuple(int(d) for d in sample.shape), g_in, d_in)


def _ends(graph: Graph, result: CheckResult, network: str) -> tuple[str, str]:
    if not result.ok:
        first = result.errors[0]
        raise GanError(f"{len(result.errors)} error(s); first: {first.message}", network, first.node_id,
                       first.hint)
    live = [n for n in result.order if n in result.live]
    inputs = [n for n in live if graph.node(n).op == "Input"]
    outputs = [n for n in live if graph.node(n).op == "Output"]
    if len(inputs) != 1 or len(outputs) != 1:
        what, found = ("Input", inputs) if len(inputs) != 1 else ("Output", outputs)
        raise GanError(f"needs exactly one {what} node; it has {len(found)}", network,
                       found[1] if len(found) > 1 else None,
                       "the generator maps noise to a sample, the discriminator a sample to a score")
    return inputs[0], outputs[0]


def _numel(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= int(d)
    return n


def _fmt(shape: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


__all__ = ["DISCRIMINATOR", "GENERATOR", "GanError", "GanNetworks", "check_gan", "discriminator_project",
           "gan_diagnostics", "is_gan"]
