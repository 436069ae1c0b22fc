"""Where registry consumers get their tables: the in-memory builders or a Delta registry.

Consumers always *decode* tables, whichever the source, so the in-memory fallback (used by unit
tests and by code that runs before any export) exercises the same decoders as a real registry.

A registry is named by a path: a registry root (the folder holding ``cpg/`` and ``relspec/``) or
an output dir holding ``registry/``. ``None`` means the module default, which is the in-memory
tables until ``set_default_registry(path)`` or ``with use_registry(path):`` points it at a path.

Decoded results are cached. For a Delta registry the cache key holds the id and version of every
table read, which costs a log read per table (about a millisecond) instead of a data read: a
re-exported registry (new versions) or a re-created one (new ids) is decoded again, an unchanged
one is served from the cache. Tables are read at exactly the versions in the key.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache, lru_cache
from pathlib import Path
from typing import TypeVar, cast

import pyarrow as pa

from cpg.spec_set import canonical_spec_set
from storage.deltalake.registry_io import read_registry_tables, registry_table_identities
from storage.deltalake.registry_layout import (
    UnknownRegistryTableError,
    resolve_registry_root,
    table_spec,
)

T = TypeVar("T")
RegistryPath = str | Path
"""A registry root, or an output dir holding ``registry/``."""
Decoder = Callable[[Mapping[str, pa.Table]], T]
"""Turns the named tables (by name) into a consumer's value."""

_DEFAULT: ContextVar[RegistryPath | None] = ContextVar("cpg_default_registry", default=None)


def default_registry() -> RegistryPath | None:
    """The registry ``registry=None`` stands for; None means the in-memory tables."""
    return _DEFAULT.get()


def set_default_registry(path: RegistryPath | None) -> None:
    """Point ``registry=None`` at a registry path (or back at the in-memory tables with None)."""
    _DEFAULT.set(path)


@contextmanager
def use_registry(path: RegistryPath | None) -> Iterator[None]:
    """Within the block, ``registry=None`` means ``path``; the previous default comes back after."""
    token = _DEFAULT.set(path)
    try:
        yield
    finally:
        _DEFAULT.reset(token)


@cache
def local_table(name: str) -> pa.Table:
    """Registry table ``name`` built in memory from the canonical specs (no Delta involved)."""
    spec = table_spec(name)
    if spec is None:
        msg = f"{name!r} is not a registry table"
        raise UnknownRegistryTableError(msg)
    return spec.builder(canonical_spec_set())


def local_tables(names: tuple[str, ...]) -> dict[str, pa.Table]:
    """The named registry tables built in memory, by name."""
    return {name: local_table(name) for name in names}


def load(registry: RegistryPath | None, names: tuple[str, ...], decode: Decoder[T]) -> T:
    """``decode`` applied to the named tables of ``registry`` (None: the default), cached."""
    location = default_registry() if registry is None else registry
    if location is None:
        return cast(T, _decode_local(decode, names))
    root = resolve_registry_root(location)
    identities = registry_table_identities(root, names)
    key = str(root) if isinstance(root, str) else str(root.resolve())
    return cast(T, _decode_delta(decode, key, identities))


@cache
def _decode_local(decode: Decoder[object], names: tuple[str, ...]) -> object:
    return decode(local_tables(names))


@lru_cache(maxsize=32)
def _decode_delta(
    decode: Decoder[object], root: str, identities: tuple[tuple[str, str, int], ...]
) -> object:
    versions = {name: version for name, _, version in identities}
    return decode(read_registry_tables(root, versions, versions=versions))


def clear_cache() -> None:
    """Forget every decoded registry (the next load reads and decodes again)."""
    _decode_local.cache_clear()
    _decode_delta.cache_clear()
