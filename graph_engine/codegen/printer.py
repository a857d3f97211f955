"""Printing the IR as readable, standalone PyTorch (one emit branch per instruction kind, as torch.fx's
CodeGen does). Values reach the source only as validated numbers, booleans, choices and ids, always through
`repr()`; the project name appears only inside a repr'd string literal."""

from __future__ import annotations

import re
from typing import Any

from graph_engine.catalog.spec import ModuleCall
from graph_engine.codegen.ir import BlockClass, CallFunction, CallModule, Placeholder, Program

INDENT = "    "
MAX_LINE = 110  # generated lines are wrapped to stay readable


def format_value(value: Any) -> str:
    """A Python literal for a validated param value."""
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int):
        return repr(int(value))
    if isinstance(value, float):
        return repr(float(value))
    if isinstance(value, str):
        return repr(str(value))
    if isinstance(value, ModuleCall):
        parts = [format_value(a) for a in value.args] + [f"{k}={format_value(v)}" for k, v in value.kwargs]
        return f"{value.module}({', '.join(parts)})"
    if isinstance(value, tuple | list):
        items = [format_value(v) for v in value]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    raise TypeError(f"cannot emit a value of type {type(value).__name__}")


def print_program(program: Program) -> str:
    lines: list[str] = []
    lines += _header(program)
    for block in program.blocks:
        lines += _block_class(block)
    lines += _class(program)
    lines += _factory(program)
    lines += _main(program)
    return "\n".join(lines) + "\n"


def _header(program: Program) -> list[str]:
    return [
        f'"""{program.class_name}: a network designed in LayerLoom.',
        "",
        "Standalone PyTorch: this file needs torch and nothing else. Run it to check the model builds:",
        "    python this_file.py",
        '"""',
        "",
        "import torch",
        "from torch import nn",
        "",
        f"PROJECT_NAME = {program.project_name[:200]!r}",
        "",
        "",
    ]


def _class(program: Program) -> list[str]:
    lines = [f"class {program.class_name}(nn.Module):", f"{INDENT}def __init__(self):", f"{INDENT * 2}super().__init__()"]
    lines += _init_lines(program.body)
    args = ", ".join(["self"] + [p.name for p in program.placeholders])
    lines += ["", f"{INDENT}def forward({args}):"]
    shapes = ", ".join(f"{p.name}: [batch, {_dims(p.type)}]{_dtype_note(p)}" for p in program.placeholders)
    lines.append(f'{INDENT * 2}"""{shapes}."""')
    for instr in program.body:
        lines += [INDENT * 2 + line for line in _forward_lines(instr)]
    lines.append(f"{INDENT * 2}return {', '.join(program.ret.names)}")
    return lines + ["", ""]


def _init_lines(body) -> list[str]:
    """__init__'s body after super().__init__(): submodules, and attributes that functional ops keep."""
    lines = []
    for instr in body:
        if isinstance(instr, CallModule):
            lines.append(f"{INDENT * 2}self.{instr.name} = {instr.constructor or _constructor(instr)}")
        elif instr.attribute:
            lines.append(f"{INDENT * 2}{_attribute(instr)}")
    return lines


_PLAIN_DOC = re.compile(r"[A-Za-z0-9 ,.;:()\-+*/=<>%&!?']{1,200}\Z")


def _block_class(block: BlockClass) -> list[str]:
    # A doc line from the file becomes a docstring only when it holds nothing that could end or escape the
    # literal; anything else is written through repr().
    doc = f'"""{block.doc}"""' if _PLAIN_DOC.match(block.doc) and not block.doc.endswith("'") else repr(block.doc)
    base = "nn.Sequential" if block.items is not None or block.named_sequential else "nn.Module"
    lines = [f"class {block.class_name}({base}):"]
    if block.doc:
        lines += [f"{INDENT}{doc}", ""]
    signature = ", ".join(["self"] + [name if default is None else f"{name}={default}"
                                      for name, default in block.signature])
    lines.append(f"{INDENT}def __init__({signature}):")
    if block.items is not None:  # nn.Sequential numbers its items and chains them: no forward to write
        one_line = f"{INDENT * 2}super().__init__({', '.join(block.items)})"
        if len(one_line) <= MAX_LINE:
            return lines + [one_line, "", ""]
        return lines + [f"{INDENT * 2}super().__init__(", *(f"{INDENT * 3}{item}," for item in block.items),
                        f"{INDENT * 2})", "", ""]
    lines.append(f"{INDENT * 2}super().__init__()")
    lines += _init_lines(block.body)
    if block.named_sequential:  # nn.Sequential calls its items in the order they were set
        return lines + ["", ""]
    args = ", ".join(["self"] + [p.name for p in block.placeholders])
    lines += ["", f"{INDENT}def forward({args}):"]
    for instr in block.body:
        lines += [INDENT * 2 + line for line in _forward_lines(instr)]
    lines.append(f"{INDENT * 2}return {', '.join(block.ret.names)}")
    return lines + ["", ""]


def _constructor(call: CallModule) -> str:
    args, kwargs = call.spec.module_args(call.params)
    parts = [format_value(a) for a in args] + [f"{k}={format_value(v)}" for k, v in kwargs.items()]
    return f"{call.spec.module}({', '.join(parts)})"


def _attribute(instr: CallFunction) -> str:
    """The __init__ line of a tensor an op owns: a learned nn.Parameter or a fixed, non-persistent buffer."""
    value = instr.spec.attribute(instr.params)
    if instr.spec.owned_kind(instr.params) == "buffer":
        return f"self.register_buffer({instr.attribute!r}, {value}, persistent=False)"
    return f"self.{instr.attribute} = nn.Parameter({value})"


def _forward_lines(instr: CallModule | CallFunction) -> list[str]:
    if isinstance(instr, CallFunction):
        call = instr.spec.emit(instr.emit_args(), instr.params)
    else:
        call = instr.spec.call_text(f"self.{instr.name}", instr.args, instr.params)
    lines = [f"{instr.result} = {call}"]
    for port, var in instr.port_vars.items():
        lines.append(f"{var} = {instr.spec.output_expr(port).format(r=instr.result)}")
    return lines


def _factory(program: Program) -> list[str]:
    lines = ["def create_model():", f'{INDENT}"""A fresh {program.class_name} with newly initialised weights."""',
             f"{INDENT}return {program.class_name}()", "", ""]
    lines += ["def example_inputs(batch_size=2):",
              f'{INDENT}"""A random batch of model inputs, as a tuple in forward()\'s argument order."""']
    items = [_example(p) for p in program.placeholders]
    lines.append(f"{INDENT}return ({', '.join(items)}{',' if len(items) == 1 else ''})")
    return lines + ["", ""]


def _example(p: Placeholder) -> str:
    dims = ", ".join(str(d) for d in p.type.shape)
    if p.type.dtype == "int64":
        return f"torch.randint(0, {int(p.int_high)}, (batch_size, {dims}))"
    return f"torch.randn(batch_size, {dims})"


def _main(program: Program) -> list[str]:
    lines = ['if __name__ == "__main__":', f"{INDENT}model = create_model().eval()",
             f"{INDENT}with torch.no_grad():", f"{INDENT * 2}output = model(*example_inputs())"]
    if len(program.ret.names) == 1:
        lines.append(f"{INDENT}print({program.ret.labels[0]!r}, tuple(output.shape))")
    else:
        for i, label in enumerate(program.ret.labels):
            lines.append(f"{INDENT}print({label!r}, tuple(output[{i}].shape))")
    params = "sum(p.numel() for p in model.parameters())"
    lines.append(f'{INDENT}print("parameters:", {params})')
    return lines


def _dims(t) -> str:
    return ", ".join(str(d) for d in t.shape)


def _dtype_note(p: Placeholder) -> str:
    return " int64 token ids" if p.type.dtype == "int64" else ""
