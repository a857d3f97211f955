"""Rules for block definition names, which become class names in generated code.

A block name is a CamelCase ASCII identifier (`BasicBlock`, `ConvBnAct`, `Stage2`) of at most 64 characters:
it starts with an upper-case letter and uses only letters and digits. It must not be a Python keyword or
builtin (`Exception`), nor a name the generated module defines or imports (`torch`, `nn`, `F`, `math`,
`PROJECT_NAME`, `create_model`...), so a block class can never shadow what the code relies on.

A new definition made by grouping gets its name from what it holds (`default_block_name`): the first three
kinds of layer in graph order, shortened (Conv2d -> Conv, BatchNorm2d -> Bn, MaxPool2d -> Pool), each kind once,
so conv2 + act2 + pool2 becomes `ConvReluPool`; a lone kind gets "Block" after it (`ConvBlock`); a name that is
taken gets a number (`ConvReluPool2`).
"""

from __future__ import annotations

import re
from collections.abc import Container

from graph_engine.identifiers import RESERVED

MAX_NAME_LENGTH = 64
_NAME = re.compile(r"[A-Z][A-Za-z0-9]*\Z")
# Module-level names of the generated file besides the imports (graph_engine/codegen/printer.py writes them).
GENERATED_NAMES = frozenset({"PROJECT_NAME", "example_inputs", "Module", "Sequential", "Tensor"})


def block_name_problem(name: object) -> str | None:
    """Why `name` cannot name a block, in words for the user; None when it is fine."""
    if not isinstance(name, str):
        return "a block name must be text"
    if not name:
        return "a block name cannot be empty"
    if len(name) > MAX_NAME_LENGTH:
        return f"a block name can be at most {MAX_NAME_LENGTH} characters long"
    if not name.isascii() or not _NAME.match(name):
        return ("a block name is written in CamelCase: an upper-case letter first, then only ASCII letters and "
                "digits (BasicBlock, ConvBnAct)")
    if name in RESERVED or name in GENERATED_NAMES:
        return f"{name!r} is a name Python or the generated code already uses"
    return None


def suggest_block_name(raw: object, taken: Container[str] = ()) -> str:
    """A valid, free block name close to `raw` ("basic block" -> "BasicBlock")."""
    words = re.findall(r"[A-Za-z0-9]+", raw if isinstance(raw, str) else "")
    name = "".join(w[:1].upper() + w[1:] for w in words)[: MAX_NAME_LENGTH - 8] or "Block"
    if not name[0].isalpha():
        name = "Block" + name
    if block_name_problem(name):
        name = "Block" + name
    if name not in taken:
        return name
    n = 2
    while f"{name}{n}" in taken:
        n += 1
    return f"{name}{n}"


_SHORT = {"BatchNorm": "Bn", "InstanceNorm": "Norm", "GroupNorm": "Norm", "LayerNorm": "Norm", "MaxPool": "Pool",
          "AvgPool": "Pool", "AdaptiveAvgPool": "Pool", "AdaptiveMaxPool": "Pool", "ConvTranspose": "UpConv",
          "Upsample": "Up", "MultiheadAttention": "Attention", "Dropout": "Drop", "LeakyReLU": "LeakyRelu",
          "TransformerEncoderLayer": "Encoder", "TransformerDecoderLayer": "Decoder"}
MAX_NAME_WORDS = 3


def default_block_name(ops: list[str], taken: Container[str] = ()) -> str:
    """A free, meaningful name for a block holding layers of `ops` (graph order; a nested block's name counts
    as its op)."""
    words: list[str] = []
    for op in ops:
        base = re.sub(r"[123]d\Z", "", op or "")
        word = _SHORT.get(base) or (base.capitalize() if base.isupper() or re.search(r"[a-z][A-Z]{2}", base)
                                    else base)
        word = re.sub(r"[^A-Za-z0-9]", "", word)
        if word and word not in words and word not in ("Input", "Output"):
            words.append(word)
    name = "".join(words[:MAX_NAME_WORDS]) or "Block"
    if len(words) == 1 and not name.endswith("Block"):
        name += "Block"
    return suggest_block_name(name, taken)
