"""A LayerLoom project: a name, a graph, an optional training section, and keys we do not know yet.

A GAN project holds a second network, the discriminator (`discriminator`, a Graph; None for every other
project): `graph` is then the generator, the network the exported code's create_model() builds.

Reading and writing the file format lives in `project_io`; this module is the in-memory object.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

from graph_engine.blocks.model import BlockLibrary
from graph_engine.events import Event
from graph_engine.graph import Graph

DEFAULT_NAME = "Untitled"


@dataclass
class Project:
    name: str = DEFAULT_NAME
    graph: Graph = field(default_factory=Graph)
    training: dict[str, Any] | None = None  # None: the file had no training section (defaults apply)
    extra: dict[str, Any] = field(default_factory=dict)  # unknown top-level keys, written back on save
    # Emitted by set_training (no arguments); a copy has no listeners.
    training_changed: Event = field(default_factory=Event, compare=False, repr=False)
    blocks: BlockLibrary = field(default_factory=BlockLibrary)  # block definitions (format_version 2)
    discriminator: Graph | None = None  # a GAN's second network (graph_engine/gan.py)

    def __post_init__(self) -> None:
        self.blocks.attach(self.graph)
        if self.discriminator is not None:  # its Block nodes resolve through the same definitions
            self.discriminator.library = self.blocks

    def set_training(self, training: dict[str, Any] | None) -> None:
        """Replace the training section (a deep copy of `training`) and emit `training_changed`. Check a
        change first with graph_engine.training.settings.change_setting."""
        self.training = copy.deepcopy(training)
        self.training_changed.emit()

    def copy(self) -> Project:
        return Project(self.name, self.graph.copy(), copy.deepcopy(self.training), copy.deepcopy(self.extra),
                       blocks=self.blocks.copy(),
                       discriminator=None if self.discriminator is None else self.discriminator.copy())


def class_name_for(project_name: str) -> str:
    """The generated class's name: the project name in CamelCase, ASCII letters and digits only
    ("LeNet-5" -> "LeNet5", "my cool net" -> "MyCoolNet")."""
    words = re.findall(r"[A-Za-z0-9]+", project_name if isinstance(project_name, str) else "")
    name = "".join(w[:1].upper() + w[1:] for w in words)[:60]
    if not name or not name[0].isalpha():
        name = "Model" + name
    return name
