"""Rules for node ids, which become attribute and variable names in generated code.

An id must be a plain ASCII Python identifier of at most 64 characters that starts with a letter and is not a
keyword, a soft keyword, a builtin, an nn.Module attribute, or a name the generated code itself uses. ASCII
only, because Python folds unicode identifiers with NFKC ("ﬁ" == "fi"), so look-alikes could collide or
mislead; a leading underscore is refused because nn.Module keeps its own state in `_name` attributes and
`__name` would be mangled inside the class body.
"""

from __future__ import annotations

import builtins
import keyword
import re
import unicodedata
from collections.abc import Container

MAX_ID_LENGTH = 64

_ID_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")

# Public attributes of torch.nn.Module (torch 2.13) plus `training`, which __init__ sets. A test checks that
# this list still covers dir(nn.Module) of the installed torch, so an upgrade cannot silently open a hole.
MODULE_ATTRIBUTES = frozenset({
    "T_destination", "add_module", "apply", "bfloat16", "buffers", "call_super_init", "children", "compile",
    "cpu", "cuda", "double", "dump_patches", "eval", "extra_repr", "float", "forward", "get_buffer",
    "get_extra_state", "get_parameter", "get_submodule", "half", "ipu", "load_state_dict", "modules", "mtia",
    "named_buffers", "named_children", "named_modules", "named_parameters", "parameters", "register_backward_hook",
    "register_buffer", "register_forward_hook", "register_forward_pre_hook", "register_full_backward_hook",
    "register_full_backward_pre_hook", "register_load_state_dict_post_hook", "register_load_state_dict_pre_hook",
    "register_module", "register_parameter", "register_state_dict_post_hook", "register_state_dict_pre_hook",
    "requires_grad_", "set_extra_state", "set_submodule", "share_memory", "state_dict", "to", "to_empty", "train",
    "type", "xpu", "zero_grad", "training",
})

# Names the generated module refers to itself (imports, the factory, the forward's receiver).
CODE_NAMES = frozenset({"torch", "nn", "F", "math", "self", "create_model", "model", "example", "output"})

RESERVED = (frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) | frozenset(dir(builtins))
            | MODULE_ATTRIBUTES | CODE_NAMES)


def id_problem(node_id: object) -> str | None:
    """Why `node_id` cannot be used, in words for the user; None when it is fine."""
    if not isinstance(node_id, str):
        return "an id must be text"
    if not node_id:
        return "an id cannot be empty"
    if len(node_id) > MAX_ID_LENGTH:
        return f"an id can be at most {MAX_ID_LENGTH} characters long (this one has {len(node_id)})"
    if not node_id.isascii():
        return "an id may use only the ASCII letters a-z, A-Z, digits and _ (no look-alike or invisible characters)"
    if not _ID_PATTERN.match(node_id):
        if node_id[0] == "_":
            return "an id must start with a letter, not _"
        if node_id[0].isdigit():
            return "an id must start with a letter, not a digit"
        return "an id may use only letters, digits and _"
    if node_id in RESERVED:
        if keyword.iskeyword(node_id) or keyword.issoftkeyword(node_id):
            return f"{node_id!r} is a Python keyword"
        if node_id in MODULE_ATTRIBUTES:
            return f"{node_id!r} is already a method or attribute of every PyTorch module"
        if node_id in CODE_NAMES:
            return f"{node_id!r} is a name the generated code uses itself"
        return f"{node_id!r} is a Python builtin"
    return None


def is_valid_id(node_id: object) -> bool:
    return id_problem(node_id) is None


def suggest_id(raw: object, taken: Container[str] = ()) -> str:
    """A valid id close to `raw` that is not in `taken`: what the GUI proposes when a name is refused."""
    text = raw if isinstance(raw, str) else str(raw)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^A-Za-z0-9_]+", "_", text)
    text = re.sub(r"_+", "_", text).strip("_")
    if not text:
        text = "layer"
    if not text[0].isalpha():
        text = "n_" + text
    text = text[:MAX_ID_LENGTH - 8]
    if text in RESERVED:
        text += "_layer"
    return unique_id(text, taken)


def unique_id(base: str, taken: Container[str]) -> str:
    """`base` if free, else base_2, base_3, ..."""
    if base not in taken:
        return base
    n = 2
    while f"{base}_{n}" in taken:
        n += 1
    return f"{base}_{n}"


# Mixed-case acronyms that are one word in snake case (ReLU -> relu, not re_lu).
ONE_WORD = {"PReLU": "Prelu", "ReLU": "Relu", "SiLU": "Silu", "CeLU": "Celu"}


def op_snake_case(op: str) -> str:
    """snake_case of a catalog op: ReLU -> relu, LeakyReLU -> leaky_relu, BatchNorm2d -> batch_norm2d,
    MultiheadAttention -> multihead_attention, LSTM -> lstm, GELU -> gelu."""
    for acronym, word in ONE_WORD.items():
        op = op.replace(acronym, word)
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", op).lower()
    return re.sub(r"[^a-z0-9_]", "_", snake)


def default_id(op: str, taken: Container[str]) -> str:
    """The id a new node of `op` gets: snake_case of the op and a counter (relu_1, input_1, conv2d_1,
    batch_norm2d_1). The numbered id is never a reserved name even when the bare word is (input)."""
    base = op_snake_case(op) or "layer"
    if not base[0].isalpha():
        base = "layer_" + base
    n = 1
    while f"{base}_{n}" in taken or f"{base}_{n}" in RESERVED:
        n += 1
    return f"{base}_{n}"
