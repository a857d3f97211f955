"""The small IR between a checked graph and Python source (after torch.fx's Graph, much reduced).

A program is a list of instructions in execution order:
- Placeholder: a forward() argument (one per Input node);
- CallModule: a submodule built in __init__ and called in forward();
- CallFunction: a structural op written as an expression over its inputs (Add, Concat, Reshape...); one that
  owns a tensor (Parameter, PositionalEncoding) names it in `attribute`, built in __init__ as self.<attribute>;
- Return: the values forward() returns, one per Output node.
Block definitions become `BlockClass`es printed before the model class; an instance is a CallModule whose
`constructor` (`BasicBlock(channels=32)`, an `nn.Sequential` of copies) graph_engine/blocks/codegen.py makes.
Every value is a plain local variable name chosen by the Namespace, so the printer only pastes names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graph_engine.catalog.spec import LayerSpec, TensorType


@dataclass
class Placeholder:
    name: str
    type: TensorType
    int_high: int = 2  # token ids for int64 inputs in the example batch are drawn from [0, int_high)


@dataclass
class CallModule:
    name: str  # attribute name (self.<name>) == node id
    spec: LayerSpec
    params: dict[str, Any]
    args: list[str]
    result: str  # variable holding the call's result
    port_vars: dict[int, str] = field(default_factory=dict)  # multi-output ops: output port -> variable
    constructor: str | None = None  # the constructor expression when made elsewhere (block instances)


@dataclass
class CallFunction:
    spec: LayerSpec
    params: dict[str, Any]
    args: list[str]
    result: str
    port_vars: dict[int, str] = field(default_factory=dict)  # multi-output ops: output port -> variable
    attribute: str = ""  # the self.<attribute> tensor the op owns (spec.attribute), or ""

    def emit_args(self) -> list[str]:
        """The expressions `spec.emit` receives: the owned tensor first, then the inputs."""
        return ([f"self.{self.attribute}"] if self.attribute else []) + list(self.args)


@dataclass
class Return:
    names: list[str]  # one per Output node, in graph order
    labels: list[str]  # the Output nodes' ids
    types: list[TensorType]


@dataclass
class BlockClass:
    """One block definition as an nn.Module class: constructor arguments, then a forward() like Program's."""

    class_name: str
    doc: str
    signature: list[tuple[str, str | None]]  # (argument, default value as code, or None: required)
    placeholders: list[Placeholder]
    body: list[CallModule | CallFunction]
    ret: Return
    # A numbered sequential block (an nn.Sequential subclass): the constructor of each item, in order; a
    # repeated item is one `*[...]` entry. None for other block classes.
    items: list[str] | None = None
    named_sequential: bool = False  # an nn.Sequential subclass whose items are attributes: no forward

    @property
    def modules(self) -> list[CallModule]:
        return [i for i in self.body if isinstance(i, CallModule)]


@dataclass
class Program:
    class_name: str
    project_name: str
    placeholders: list[Placeholder]
    body: list[CallModule | CallFunction]
    ret: Return
    blocks: list[BlockClass] = field(default_factory=list)  # block classes, each after the ones it uses

    @property
    def modules(self) -> list[CallModule]:
        return [i for i in self.body if isinstance(i, CallModule)]
