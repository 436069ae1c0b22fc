"""The expression language of rule predicates and computed columns, parsed without trusting it.

Rules come from the registry, which may come from a shared store, so their text is data, never
code. An expression is Arrow-compute-style call text such as
``fill_null(not_equal(bit_wise_and(symbol_roles, 1), 0), False)``; it is parsed with Python's own
parser in ``eval`` mode and then accepted only if every node is one of

- a call of a function of ``FUNCTIONS`` by its bare name, positional arguments only;
- a bare name, which must be a column of the rule's input;
- a constant: a string, an integer, a float, ``True``, ``False`` or ``None`` (a leading ``-`` on
  a number is allowed).

Anything else (attributes, subscripts, operators, lambdas, comprehensions, keyword arguments,
unknown functions or columns) is an ``ExpressionError``; nothing is ever evaluated by Python.
The accepted tree (``Column``/``Literal``/``Call``) is what engines translate, so a hostile text
cannot reach any engine as text. Types are checked too: each function says which value types
it takes and returns, so ``bit_wise_and(severity, 1)`` on a string column is refused.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import TypeGuard

MAX_EXPRESSION_CHARS = 2000
MAX_DEPTH = 24


class ValueType(StrEnum):
    """The value types expressions reason about (Arrow types map onto them)."""

    BOOL = "bool"
    INT = "int"
    FLOAT = "float"
    STR = "str"
    NULL = "null"
    OTHER = "other"


ARROW_VALUE_TYPES: Mapping[str, ValueType] = MappingProxyType(
    {
        "string": ValueType.STR,
        "large_string": ValueType.STR,
        "bool": ValueType.BOOL,
        "int8": ValueType.INT,
        "int16": ValueType.INT,
        "int32": ValueType.INT,
        "int64": ValueType.INT,
        "float32": ValueType.FLOAT,
        "float64": ValueType.FLOAT,
        "binary": ValueType.OTHER,
    }
)
"""The value type of each Arrow type name a relation column may have (``cpg.arrow_types``)."""


class ExpressionError(ValueError):
    """An expression that is not in the language, or does not type-check."""


@dataclass(frozen=True)
class Column:
    """A column of the rule's input."""

    name: str


@dataclass(frozen=True)
class Literal:
    """A constant."""

    value: str | int | float | bool | None


@dataclass(frozen=True)
class Call:
    """A call of one of ``FUNCTIONS``."""

    function: str
    args: tuple[Expr, ...]


Expr = Column | Literal | Call

_NUMERIC = frozenset({ValueType.INT, ValueType.FLOAT})


def _unify(types: Sequence[ValueType]) -> ValueType | None:
    """The common type of ``types`` (null fits anything, int widens to float), or None."""
    known = {t for t in types if t is not ValueType.NULL}
    if not known:
        return ValueType.NULL
    if len(known) == 1:
        return known.pop()
    if known <= _NUMERIC:
        return ValueType.FLOAT
    return None


def _comparison(args: Sequence[ValueType]) -> ValueType | None:
    common = _unify(args)
    return None if common in (None, ValueType.OTHER) else ValueType.BOOL


def _logical(args: Sequence[ValueType]) -> ValueType | None:
    return ValueType.BOOL if _unify(args) in (ValueType.BOOL, ValueType.NULL) else None


def _always_bool(args: Sequence[ValueType]) -> ValueType | None:
    return ValueType.BOOL


def _same(args: Sequence[ValueType]) -> ValueType | None:
    return _unify(args)


def _integer(args: Sequence[ValueType]) -> ValueType | None:
    return ValueType.INT if all(t in (ValueType.INT, ValueType.NULL) for t in args) else None


def _arithmetic(args: Sequence[ValueType]) -> ValueType | None:
    common = _unify(args)
    return common if common in _NUMERIC else None


def _if_else(args: Sequence[ValueType]) -> ValueType | None:
    if args[0] not in (ValueType.BOOL, ValueType.NULL):
        return None
    return _unify(args[1:])


@dataclass(frozen=True)
class Function:
    """One allowed function: its arity (``max_args`` None: variadic) and result type rule."""

    min_args: int
    max_args: int | None
    result: Callable[[Sequence[ValueType]], ValueType | None]
    description: str


FUNCTIONS: Mapping[str, Function] = MappingProxyType(
    {
        "equal": Function(2, 2, _comparison, "a == b (null if either is null)"),
        "not_equal": Function(2, 2, _comparison, "a != b"),
        "less": Function(2, 2, _comparison, "a < b"),
        "less_equal": Function(2, 2, _comparison, "a <= b"),
        "greater": Function(2, 2, _comparison, "a > b"),
        "greater_equal": Function(2, 2, _comparison, "a >= b"),
        "and_kleene": Function(2, 2, _logical, "a and b, Kleene logic"),
        "or_kleene": Function(2, 2, _logical, "a or b, Kleene logic"),
        "invert": Function(1, 1, _logical, "not a"),
        "is_null": Function(1, 1, _always_bool, "a is null"),
        "is_valid": Function(1, 1, _always_bool, "a is not null"),
        "fill_null": Function(2, 2, _same, "a, or b where a is null"),
        "coalesce": Function(1, None, _same, "the first non-null argument"),
        "if_else": Function(3, 3, _if_else, "b where a is true, else c"),
        "bit_wise_and": Function(2, 2, _integer, "a & b on integers"),
        "add": Function(2, 2, _arithmetic, "a + b"),
        "subtract": Function(2, 2, _arithmetic, "a - b"),
    }
)
"""The fixed set of functions an expression may call, named as in Arrow compute."""


def parse_expression(text: str, columns: Mapping[str, ValueType] | set[str]) -> Expr:
    """The tree of ``text``, whose names must all be ``columns``; ``ExpressionError`` otherwise.

    With a mapping of column types the expression is also type-checked.
    """
    if len(text) > MAX_EXPRESSION_CHARS:
        msg = f"expression is longer than {MAX_EXPRESSION_CHARS} characters"
        raise ExpressionError(msg)
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        detail = exc.msg if isinstance(exc, SyntaxError) else type(exc).__name__
        msg = f"not an expression: {detail}"
        raise ExpressionError(msg) from None
    expr = _convert(tree.body, set(columns), 0)
    if isinstance(columns, Mapping):
        expression_type(expr, columns)
    return expr


def _convert(node: ast.expr, columns: set[str], depth: int) -> Expr:
    if depth > MAX_DEPTH:
        msg = f"expression is nested deeper than {MAX_DEPTH} calls"
        raise ExpressionError(msg)
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            msg = f"only calls of a function by name are allowed, not {_shown(node.func)}"
            raise ExpressionError(msg)
        name = node.func.id
        function = FUNCTIONS.get(name)
        if function is None:
            msg = f"unknown function {name!r} (allowed: {', '.join(sorted(FUNCTIONS))})"
            raise ExpressionError(msg)
        if node.keywords or any(isinstance(arg, ast.Starred) for arg in node.args):
            msg = f"{name}() takes positional arguments only"
            raise ExpressionError(msg)
        count = len(node.args)
        if count < function.min_args or (
            function.max_args is not None and count > function.max_args
        ):
            msg = f"{name}() takes {_arity(function)} arguments, got {count}"
            raise ExpressionError(msg)
        return Call(name, tuple(_convert(arg, columns, depth + 1) for arg in node.args))
    if isinstance(node, ast.Name):
        if node.id not in columns:
            msg = f"unknown column {node.id!r} (columns of the input: {', '.join(sorted(columns))})"
            raise ExpressionError(msg)
        return Column(node.id)
    if isinstance(node, ast.Constant) and _is_literal(node.value):
        return Literal(node.value)
    if (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, ast.USub)
        and isinstance(node.operand, ast.Constant)
    ):
        value = node.operand.value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return Literal(-value)
    msg = f"{_shown(node)} is not allowed (only calls, column names and constants)"
    raise ExpressionError(msg)


def _is_literal(value: object) -> TypeGuard[str | int | float | bool | None]:
    return value is None or type(value) in (str, int, float, bool)


def _arity(function: Function) -> str:
    if function.max_args is None:
        return f"at least {function.min_args}"
    if function.min_args == function.max_args:
        return str(function.min_args)
    return f"{function.min_args} to {function.max_args}"


def _shown(node: ast.AST) -> str:
    return f"{type(node).__name__} {ast.unparse(node)[:40]!r}"


def literal_type(value: object) -> ValueType:
    """The value type of a constant."""
    if value is None:
        return ValueType.NULL
    if isinstance(value, bool):
        return ValueType.BOOL
    if isinstance(value, int):
        return ValueType.INT
    if isinstance(value, float):
        return ValueType.FLOAT
    if isinstance(value, str):
        return ValueType.STR
    return ValueType.OTHER


def expression_type(expr: Expr, columns: Mapping[str, ValueType]) -> ValueType:
    """The value type ``expr`` yields over columns of these types (``ExpressionError`` if none)."""
    if isinstance(expr, Column):
        return columns[expr.name]
    if isinstance(expr, Literal):
        return literal_type(expr.value)
    args = [expression_type(arg, columns) for arg in expr.args]
    result = FUNCTIONS[expr.function].result(args)
    if result is None:
        shown = ", ".join(str(t) for t in args)
        msg = f"{expr.function}() does not take ({shown})"
        raise ExpressionError(msg)
    return result


def expression_columns(expr: Expr) -> frozenset[str]:
    """Every column ``expr`` reads."""
    if isinstance(expr, Column):
        return frozenset({expr.name})
    if isinstance(expr, Literal):
        return frozenset()
    return frozenset().union(*(expression_columns(arg) for arg in expr.args))
