"""Safe, black-stable Python source for values taken from the registry.

Registry strings reach generated code only as literals (``literal``) or as identifiers that
passed ``identifier`` (names of the table, row and column at fault otherwise). Expressions are
laid out the way black lays them out: inline when the line fits, else one element per line
with a trailing comma (which black keeps), so ``--check`` rarely needs to run black at all.
"""

from __future__ import annotations

import keyword
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache

from storage.spec_codec import RegistryDecodeError

LINE_LENGTH = 100
INDENT = "    "
_STR_ATTRIBUTES = frozenset(dir(str))


@dataclass(frozen=True)
class Ref:
    """Code built by the generator itself from validated identifiers (``NodeKind.PY_FILE``)."""

    code: str


@dataclass(frozen=True)
class Call:
    """A call expression: ``func(*args, **kwargs)``; ``func`` is generator-made code."""

    func: str
    args: tuple[Expr, ...] = ()
    kwargs: tuple[tuple[str, Expr], ...] = ()


@dataclass(frozen=True)
class Dict:
    """A dict display with keys and values in the given order."""

    items: tuple[tuple[Expr, Expr], ...]


Expr = str | int | float | bool | None | Ref | Call | Dict | tuple["Expr", ...]


_COLLECTED: ContextVar[list[RegistryDecodeError] | None] = ContextVar("name_errors", default=None)


class UnusableNamesError(ValueError):
    """Registry values that cannot become Python names, every one of them (table, row, column)."""

    def __init__(self, errors: Sequence[RegistryDecodeError]) -> None:
        self.errors = tuple(errors)
        lines = "\n".join(f"  - {error}" for error in errors)
        super().__init__(f"{len(errors)} registry value(s) cannot be Python names:\n{lines}")


@contextmanager
def collected_name_errors() -> Iterator[list[RegistryDecodeError]]:
    """Within the block, unusable names are collected (and replaced by placeholders) instead of
    raised, so one render finds all of them; the caller raises ``UnusableNamesError``."""
    errors: list[RegistryDecodeError] = []
    token = _COLLECTED.set(errors)
    try:
        yield errors
    finally:
        _COLLECTED.reset(token)


def name_error(error: RegistryDecodeError) -> str:
    """Raise ``error``, or, inside ``collected_name_errors``, record it and return a unique
    placeholder name so rendering can go on."""
    sink = _COLLECTED.get()
    if sink is None:
        raise error
    sink.append(error)
    return f"UNUSABLE_NAME_{len(sink)}"


def identifier(value: str, *, table: str, row: int, column: str, enum_member: bool = False) -> str:
    """``value`` if it can name a Python constant, field or (``enum_member``) StrEnum member
    safely; else an error naming the table, row and column."""
    problem = None
    if not value.isidentifier() or not value.isascii():
        problem = "is not an ASCII Python identifier"
    elif keyword.iskeyword(value) or keyword.issoftkeyword(value):
        problem = "is a Python keyword"
    elif value.startswith("_"):
        problem = "starts with an underscore (private, dunder or enum-reserved)"
    elif enum_member and (value in _STR_ATTRIBUTES or value in {"name", "value"}):
        problem = "shadows an attribute of str/StrEnum"
    if problem is not None:
        return name_error(RegistryDecodeError(table, column, f"{value[:80]!r} {problem}", row=row))
    return value


def literal(value: str | bytes | int | float | bool | None) -> str:
    """A Python literal for a scalar, quoted the way black normalises it.

    ``ast.literal_eval(literal(v)) == v`` for every value (a property test holds it to that).
    """
    if isinstance(value, str):
        return _black_quoted(str.__str__(value))
    return repr(value)


@cache
def _black_quoted(value: str) -> str:
    """``repr(value)`` with black's preference for double quotes (unless it adds escapes)."""
    text = repr(value)
    if text.startswith('"'):
        return text
    body = text[1:-1]
    swapped = body.replace("\\'", "'").replace('"', '\\"')
    if swapped.count("\\") > body.count("\\"):
        return text
    return f'"{swapped}"'


@cache
def inline(expr: Expr) -> str:
    """The one-line form of ``expr``."""
    if isinstance(expr, Ref):
        return expr.code
    if isinstance(expr, Call):
        parts = [inline(arg) for arg in expr.args]
        parts += [f"{key}={inline(value)}" for key, value in expr.kwargs]
        return f"{expr.func}({', '.join(parts)})"
    if isinstance(expr, Dict):
        return "{" + ", ".join(f"{inline(k)}: {inline(v)}" for k, v in expr.items) + "}"
    if isinstance(expr, tuple):
        if len(expr) == 1:
            return f"({inline(expr[0])},)"
        return "(" + ", ".join(inline(item) for item in expr) + ")"
    return literal(expr)


def _parts(expr: Expr) -> tuple[str, str, Sequence[tuple[str, Expr]]] | None:
    """Opening, closing and (prefix, element) pairs of a splittable expression."""
    if isinstance(expr, Call) and (expr.args or expr.kwargs):
        items = [("", arg) for arg in expr.args] + [(f"{k}=", v) for k, v in expr.kwargs]
        return f"{expr.func}(", ")", items
    if isinstance(expr, tuple) and expr:
        return "(", ")", [("", item) for item in expr]
    if isinstance(expr, Dict) and expr.items:
        return "{", "}", [(f"{inline(k)}: ", v) for k, v in expr.items]
    return None


def _width(text: str) -> int:
    """Display width as black counts it: wide East Asian characters take two columns,
    combining marks none (an approximation of black's table: a mismatch only costs a black run)."""
    if text.isascii():
        return len(text)
    return sum(
        0 if unicodedata.combining(char) else 2 if unicodedata.east_asian_width(char) in "WF" else 1
        for char in text
    )


def render(expr: Expr, *, level: int = 0, head: str = "", tail: str = "") -> str:
    """``head + expr + tail`` at indentation ``level``, split like black when it does not fit."""
    indent = INDENT * level
    flat = f"{indent}{head}{inline(expr)}{tail}"
    parts = _parts(expr)
    if _width(flat) <= LINE_LENGTH or parts is None:
        return flat
    opening, closing, items = parts
    lines = [f"{indent}{head}{opening}"]
    lines += [render(item, level=level + 1, head=prefix, tail=",") for prefix, item in items]
    lines.append(f"{indent}{closing}{tail}")
    return "\n".join(lines)


def call_lines(level: int, head: str, args: Sequence[str], tail: str = "") -> str:
    """``head(args)tail`` at indentation ``level`` laid out as black lays out a call of atoms:
    one line when it fits, else the arguments on one line of their own, else one per line with
    a trailing comma. For template code whose length depends on registry names."""
    indent = INDENT * level
    joined = ", ".join(args)
    flat = f"{indent}{head}({joined}){tail}"
    if _width(flat) <= LINE_LENGTH:
        return flat
    inner = INDENT * (level + 1)
    if len(args) == 1 or _width(f"{inner}{joined}") <= LINE_LENGTH:
        return f"{indent}{head}(\n{inner}{joined}\n{indent}){tail}"
    lines = "".join(f"{inner}{arg},\n" for arg in args)
    return f"{indent}{head}(\n{lines}{indent}){tail}"
