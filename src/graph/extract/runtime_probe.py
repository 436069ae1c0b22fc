"""The child process of the runtime layer: imports a repository's modules and describes them.

Run as a script (``python -I runtime_probe.py CONFIG``), never imported by the build: importing
a module runs its code. It uses the standard library alone, so a repository with a top-level
``graph`` package cannot shadow it, and ``-I`` keeps the environment's ``PYTHONPATH`` and the
current directory out of ``sys.path``; the repository's import roots are put first instead.

``CONFIG`` (JSON): ``roots`` (absolute import roots), ``modules`` (dotted names), ``output`` (a
JSON-lines file), ``module_timeout`` (seconds per module). One line per event, flushed at once,
so the parent keeps everything written before a crash or a kill:

- ``{"start": module}`` before a module is imported;
- ``{"failed": module, "error": "...", "code": ...}`` when its import raises (no code) or passes
  ``module_timeout`` (``runtime-timeout``);
- ``{"object": {...}}`` per module, and per class, function or wrapper (a callable with
  ``__wrapped__``, as ``functools.cache`` makes) it defines (``__module__`` is the module), with
  its members, its signature and, for a wrapper, each object its ``__wrapped__`` chain leads to;
- ``{"done": module}`` when the module is described.

Members are listed with ``inspect.getmembers_static`` (no descriptor runs), a class's own members
only (``vars(cls)``); ``repr`` of a value runs code, so it is cut to 200 characters and its
failure is recorded, not raised.
"""

from __future__ import annotations

import inspect
import json
import signal
import sys
import types
from pathlib import Path
from typing import Any, TextIO

_REPR_LIMIT = 200
_MAX_UNWRAP = 32


class _ModuleTimeoutError(Exception):
    """A module took longer than its time to import or describe."""


def _alarm(signum: int, frame: object) -> None:
    raise _ModuleTimeoutError


def main(config_path: str) -> int:
    config = json.loads(Path(config_path).read_text(encoding="utf-8"))
    sys.path[:0] = config["roots"]
    signal.signal(signal.SIGALRM, _alarm)
    with Path(config["output"]).open("w", encoding="utf-8") as out:
        for module in config["modules"]:
            _probe(out, module, float(config["module_timeout"]))
    return 0


def _emit(out: TextIO, event: dict[str, Any]) -> None:
    out.write(json.dumps(event, ensure_ascii=False, default=str) + "\n")
    out.flush()


def _probe(out: TextIO, name: str, timeout: float) -> None:
    _emit(out, {"start": name})
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        module = __import__(name, fromlist=["_"])
        objects = list(_describe_module(module))
    except _ModuleTimeoutError:
        message = f"not imported and described within {timeout:g} s"
        _emit(out, {"failed": name, "error": message, "code": "runtime-timeout"})
        return
    except BaseException as exc:  # SystemExit and friends too: it is the module's code
        _emit(out, {"failed": name, "error": f"{type(exc).__name__}: {exc}"[:_REPR_LIMIT]})
        return
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    for obj in objects:
        _emit(out, {"object": obj})
    _emit(out, {"done": name})


def _describe_module(module: types.ModuleType) -> list[dict[str, Any]]:
    name = module.__name__
    described = [_object(module, name, name, "module", _members(module, None))]
    for _, value in inspect.getmembers_static(module):
        if getattr(value, "__module__", None) != name:
            continue
        if inspect.isclass(value):
            described.append(
                _object(value, name, value.__qualname__, "class", _members(value, value))
            )
            for member in vars(value).values():
                function = _function_of(member)
                if function is not None and function.__module__ == name:
                    described.extend(_callable(function, name))
        elif inspect.isfunction(value) or (callable(value) and hasattr(value, "__wrapped__")):
            described.extend(_callable(value, name))  # a function, or a wrapper object
    return described


def _function_of(member: object) -> Any:
    if isinstance(member, staticmethod | classmethod):
        member = member.__func__
    return member if inspect.isfunction(member) else None


def _callable(function: Any, module: str) -> list[dict[str, Any]]:
    """The function, and each object its ``__wrapped__`` chain leads to (depth 1, 2, ...)."""
    chain = [function]
    while hasattr(chain[-1], "__wrapped__") and len(chain) < _MAX_UNWRAP:
        chain.append(chain[-1].__wrapped__)
    described = []
    for depth, obj in enumerate(chain):
        qualname = getattr(function, "__qualname__", getattr(function, "__name__", "?"))
        entry = _object(obj, module, qualname, _kind(obj), [])
        entry["depth"] = depth
        entry["wraps"] = depth + 1 < len(chain)
        described.append(entry)
    return described


def _object(
    obj: Any, module: str, qualname: str, kind: str, members: list[dict[str, Any]]
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "module": module,
        "qualname": qualname,
        "object_type": kind,
        "name": getattr(obj, "__name__", None),
        "members": members,
        "depth": 0,
        "wraps": False,
    }
    try:
        entry["source_file"] = inspect.getsourcefile(obj)
        entry["source_line"] = inspect.getsourcelines(obj)[1] if kind != "module" else 1
    except (TypeError, OSError):
        pass
    if callable(obj) and kind != "module":
        entry["signature"] = _signature(obj)
    return entry


def _kind(obj: object) -> str:
    if inspect.isclass(obj):
        return "class"
    if inspect.isfunction(obj):
        return "function"
    if inspect.isbuiltin(obj):
        return "builtin"
    return type(obj).__name__


def _signature(obj: Any) -> dict[str, Any] | None:
    try:
        signature = inspect.signature(obj, follow_wrapped=False)
    except (TypeError, ValueError):
        return None
    empty = inspect.Parameter.empty
    return {
        "text": str(signature),
        "return": None
        if signature.return_annotation is empty
        else _text(signature.return_annotation),
        "params": [
            {
                "name": param.name,
                "kind": param.kind.name,
                "default": None if param.default is empty else _repr(param.default),
                "annotation": None if param.annotation is empty else _text(param.annotation),
            }
            for param in signature.parameters.values()
        ],
    }


def _members(owner: Any, cls: type | None) -> list[dict[str, Any]]:
    names = set(vars(cls)) if cls is not None else None
    members = []
    for name, value in inspect.getmembers_static(owner):
        if names is not None and name not in names:
            continue
        members.append(
            {
                "name": name,
                "kind": _member_kind(value),
                "repr": _repr(value),
                "module": getattr(value, "__module__", None)
                if not isinstance(value, str)
                else None,
                "qualname": getattr(value, "__qualname__", None),
                "declaring_type": None if cls is None else cls.__qualname__,
            }
        )
    return members


def _member_kind(value: object) -> str:
    if isinstance(value, staticmethod):
        return "staticmethod"
    if isinstance(value, classmethod):
        return "classmethod"
    if isinstance(value, property):
        return "property"
    if inspect.ismodule(value):
        return "module"
    if inspect.isclass(value):
        return "class"
    if inspect.isfunction(value) or inspect.isbuiltin(value):
        return "function"
    return "data"


def _text(annotation: object) -> str:
    if isinstance(annotation, str):
        return annotation
    if isinstance(annotation, type):
        return annotation.__qualname__
    return _repr(annotation) or "?"


def _repr(value: object) -> str | None:
    try:
        text = repr(value)
    except Exception as exc:  # a value's __repr__ is the module's code
        return f"<repr failed: {type(exc).__name__}>"
    return text if len(text) <= _REPR_LIMIT else text[: _REPR_LIMIT - 3] + "..."


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
