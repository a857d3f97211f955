"""Loading a module from a user's .py file (this runs the file's code)."""

from __future__ import annotations

import importlib.util
import itertools
import linecache
import sys
import traceback
from pathlib import Path

from torch import nn

from graph_engine.errors import ProjectError
from graph_engine.importer.report import exc_text

_counter = itertools.count(1)


def load_module_object(path: str | Path, name: str) -> tuple[nn.Module, str]:
    """Execute FILE.py and call `name()` (a module class or a factory function) with no arguments.

    Returns (module, the module name it was loaded under). The caller removes it from sys.modules when done
    (`forget_module`)."""
    path = Path(path)
    if not path.is_file():
        raise ProjectError(f"{path} does not exist" if not path.exists() else f"{path} is not a file",
                           hint="give FILE.py:ClassName")
    if not name.isidentifier():
        raise ProjectError(f"{name!r} is not a Python name", hint="give FILE.py:ClassName, e.g. net.py:Net")
    module_name = f"layerloom_import_{next(_counter)}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ProjectError(f"{path} cannot be loaded as Python code", hint="give a .py file")
    py_module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = py_module
    folder = str(path.resolve().parent)
    sys.path.insert(0, folder)
    previous = sys.dont_write_bytecode
    sys.dont_write_bytecode = True
    try:
        spec.loader.exec_module(py_module)
    except BaseException as exc:
        forget_module(module_name)
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise ProjectError(f"running {path.name} failed: {exc_text(exc)}{_user_line(exc, path)}",
                           hint="fix the file so that `python FILE.py` imports cleanly") from None
    finally:
        sys.dont_write_bytecode = previous
        try:
            sys.path.remove(folder)
        except ValueError:
            pass
    obj = getattr(py_module, name, None)
    if obj is None:
        forget_module(module_name)
        found = sorted(k for k, v in vars(py_module).items()
                       if isinstance(v, type) and issubclass(v, nn.Module) and v.__module__ == module_name)
        raise ProjectError(f"{path.name} has no {name!r}",
                           hint=f"modules it defines: {', '.join(found)}" if found else "it defines no nn.Module class")
    try:
        instance = obj()
    except TypeError as exc:
        forget_module(module_name)
        raise ProjectError(f"{name}() cannot be built without arguments ({exc})",
                           hint="import a class (or a function) that needs no arguments, e.g. a small factory "
                                "function that returns the configured module") from None
    except Exception as exc:
        forget_module(module_name)
        raise ProjectError(f"{name}() failed: {exc_text(exc)}{_user_line(exc, path)}") from None
    if not isinstance(instance, nn.Module):
        forget_module(module_name)
        raise ProjectError(f"{name}() returned a {type(instance).__name__}, not a torch.nn.Module",
                           hint="give a class derived from nn.Module, or a function that returns one")
    return instance, module_name


def forget_module(module_name: str) -> None:
    sys.modules.pop(module_name, None)



def _user_line(exc: BaseException, path: Path) -> str:
    """' (net.py, line 12: `if x.sum() > 0:`)' for the innermost frame in the user's file, if any."""
    try:
        target = path.resolve()
    except OSError:
        return ""
    found = None
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        try:
            if Path(frame.f_code.co_filename).resolve() == target:
                found = (frame.f_code.co_filename, lineno)
        except OSError:
            continue
    if found is None:
        return ""
    line = linecache.getline(found[0], found[1]).strip()
    return f" ({path.name}, line {found[1]}" + (f": `{line[:80]}`)" if line else ")")
