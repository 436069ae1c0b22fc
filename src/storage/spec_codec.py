"""One codec between frozen spec dataclasses and Arrow tables.

The Arrow schema of a registry table is derived from the type hints of its row dataclass, so it
is never declared twice: ``str``/``int``/``float``/``bool`` map to string/int64/float64/bool,
``StrEnum`` to string, ``tuple[X, ...]`` to ``list<X>``, a nested dataclass to a struct, and
``X | None`` to a nullable field. Decoding walks the same type hints back, and every coercion
failure names the table, the row index and the column (with the nested path).

The coercion helpers (``as_str``, ``as_int``, ``as_float``, ``as_bool``, ``as_optional``,
``as_list``, ``as_struct``) live here and nowhere else.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from enum import StrEnum
from functools import cache
from typing import Any, TypeVar

import pyarrow as pa

T = TypeVar("T")

SPEC_KIND_KEY = b"spec_kind"
_SCALARS: Mapping[type, pa.DataType] = {
    str: pa.string(),
    int: pa.int64(),
    float: pa.float64(),
    bool: pa.bool_(),
}


class RegistryDecodeError(ValueError):
    """A registry table cannot be decoded; names the table, row and column at fault."""

    def __init__(self, table: str, column: str, message: str, row: int | None = None) -> None:
        self.table = table
        self.column = column
        self.row = row
        where = f"table {table!r}" + (f", row {row}" if row is not None else "")
        super().__init__(f"{where}, column {column!r}: {message}")


def _unwrap_optional(hint: Any) -> tuple[Any, bool]:
    """``(X, True)`` for ``X | None``, else ``(hint, False)``."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        args = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if len(args) != 1:
            msg = f"unsupported union type {hint!r}"
            raise TypeError(msg)
        return args[0], True
    return hint, False


def _tuple_item(hint: Any) -> Any | None:
    """The item type of ``tuple[X, ...]``, or None when ``hint`` is not such a tuple."""
    if typing.get_origin(hint) is tuple:
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return args[0]
        msg = f"only homogeneous tuple[X, ...] is supported, got {hint!r}"
        raise TypeError(msg)
    return None


@cache
def _cached_hints(cls: type) -> Mapping[str, Any]:
    return typing.get_type_hints(cls)


def _hints(cls: type) -> Mapping[str, Any]:
    # A plain wrapper: mypy does not treat ``type[T]`` as hashable for ``@cache`` arguments.
    return _cached_hints(cls)


def _arrow_type(hint: Any) -> pa.DataType:
    item = _tuple_item(hint)
    if item is not None:
        inner, nullable = _unwrap_optional(item)
        return pa.list_(pa.field("item", _arrow_type(inner), nullable=nullable))
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return pa.struct(list(_fields_of(hint)))
    if isinstance(hint, type) and issubclass(hint, StrEnum):
        return pa.string()
    if hint in _SCALARS:
        return _SCALARS[hint]
    msg = f"no Arrow type for {hint!r}"
    raise TypeError(msg)


def _fields_of(cls: type) -> Iterable[pa.Field]:
    hints = _hints(cls)
    for field in dataclasses.fields(cls):
        inner, nullable = _unwrap_optional(hints[field.name])
        yield pa.field(field.name, _arrow_type(inner), nullable=nullable)


@cache
def _cached_schema(cls: type, spec_kind: str) -> pa.Schema:
    return pa.schema(list(_fields_of(cls)), metadata={SPEC_KIND_KEY: spec_kind.encode()})


def schema_for(cls: type, spec_kind: str) -> pa.Schema:
    """The Arrow schema of a table whose rows are ``cls`` instances, tagged with its spec kind."""
    return _cached_schema(cls, spec_kind)


def _plain(value: Any) -> Any:
    """A spec value as Arrow-ready data (enums to str, tuples to lists, dataclasses to dicts)."""
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


def encode_table(cls: type[T], rows: Iterable[T], spec_kind: str) -> pa.Table:
    """The table of ``rows`` (in the given order) with the schema derived from ``cls``."""
    schema = schema_for(cls, spec_kind)
    return pa.Table.from_pylist([_plain(row) for row in rows], schema=schema)


class _Cell:
    """Where a value being decoded sits, for error messages."""

    __slots__ = ("column", "row", "table")

    def __init__(self, table: str, row: int, column: str) -> None:
        self.table = table
        self.row = row
        self.column = column

    def child(self, name: str) -> _Cell:
        return _Cell(self.table, self.row, f"{self.column}.{name}")

    def fail(self, message: str) -> RegistryDecodeError:
        return RegistryDecodeError(self.table, self.column, message, row=self.row)


def as_str(value: object, cell: _Cell) -> str:
    """A non-null string."""
    if not isinstance(value, str):
        raise cell.fail(f"expected a string, got {_describe(value)}")
    return value


def as_int(value: object, cell: _Cell) -> int:
    """A non-null integer (bools are rejected)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise cell.fail(f"expected an integer, got {_describe(value)}")
    return value


def as_float(value: object, cell: _Cell) -> float:
    """A non-null float (integers are widened)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise cell.fail(f"expected a float, got {_describe(value)}")
    return float(value)


def as_bool(value: object, cell: _Cell) -> bool:
    """A non-null boolean."""
    if not isinstance(value, bool):
        raise cell.fail(f"expected a boolean, got {_describe(value)}")
    return value


def as_optional(value: object, cell: _Cell, inner: Callable[[object, _Cell], T]) -> T | None:
    """None, or the value coerced by ``inner``."""
    return None if value is None else inner(value, cell)


def as_list(value: object, cell: _Cell, item: Callable[[object, _Cell], T]) -> tuple[T, ...]:
    """A non-null list, each item coerced by ``item``."""
    if not isinstance(value, list):
        raise cell.fail(f"expected a list, got {_describe(value)}")
    return tuple(item(entry, cell.child(f"[{index}]")) for index, entry in enumerate(value))


def as_struct(value: object, cell: _Cell, cls: type[T]) -> T:
    """A non-null struct decoded into dataclass ``cls``."""
    if not isinstance(value, dict):
        raise cell.fail(f"expected a struct, got {_describe(value)}")
    hints = _hints(cls)
    kwargs = {
        field.name: _coerce(hints[field.name], value.get(field.name), cell.child(field.name))
        for field in dataclasses.fields(cls)  # type: ignore[arg-type]
    }
    return cls(**kwargs)


def _as_enum(enum_cls: type[StrEnum]) -> Callable[[object, _Cell], StrEnum]:
    def coerce(value: object, cell: _Cell) -> StrEnum:
        text = as_str(value, cell)
        try:
            return enum_cls(text)
        except ValueError:
            allowed = ", ".join(member.value for member in enum_cls)
            raise cell.fail(f"{text!r} is not one of {allowed}") from None

    return coerce


def _describe(value: object) -> str:
    return "null" if value is None else f"{type(value).__name__} {value!r:.60}"


@cache
def _coercer(hint: Any) -> Callable[[object, _Cell], Any]:
    inner, nullable = _unwrap_optional(hint)
    if nullable:
        base = _coercer(inner)
        return lambda value, cell: as_optional(value, cell, base)
    item = _tuple_item(inner)
    if item is not None:
        item_coercer = _coercer(item)
        return lambda value, cell: as_list(value, cell, item_coercer)
    if dataclasses.is_dataclass(inner) and isinstance(inner, type):
        cls = inner
        return lambda value, cell: as_struct(value, cell, cls)
    if isinstance(inner, type) and issubclass(inner, StrEnum):
        return _as_enum(inner)
    scalar: Mapping[type, Callable[[object, _Cell], Any]] = {
        str: as_str,
        int: as_int,
        float: as_float,
        bool: as_bool,
    }
    return scalar[inner]


def _coerce(hint: Any, value: object, cell: _Cell) -> Any:
    return _coercer(hint)(value, cell)


def check_schema(table: pa.Table, expected: pa.Schema, name: str) -> None:
    """Raise naming the first column that is missing or has another type than ``expected``."""
    for field in expected:
        index = table.schema.get_field_index(field.name)
        if index < 0:
            raise RegistryDecodeError(name, field.name, "column is missing")
        actual = table.schema.field(index).type
        if not actual.equals(field.type):
            raise RegistryDecodeError(name, field.name, f"has type {actual}, expected {field.type}")


def decode_table(cls: type[T], table: pa.Table, spec_kind: str) -> tuple[T, ...]:
    """The spec objects of a table; rows are decoded in table order."""
    expected = schema_for(cls, spec_kind)
    check_schema(table, expected, spec_kind)
    hints = _hints(cls)
    coercers: Sequence[tuple[str, Callable[[object, _Cell], Any]]] = [
        (field.name, _coercer(hints[field.name]))
        for field in dataclasses.fields(cls)  # type: ignore[arg-type]
    ]
    columns = {name: table.column(name).to_pylist() for name, _ in coercers}
    return tuple(
        cls(
            **{
                name: coerce(columns[name][row], _Cell(spec_kind, row, name))
                for name, coerce in coercers
            }
        )
        for row in range(table.num_rows)
    )
