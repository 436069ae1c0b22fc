"""Where registry tables live: targets, their table specs, and the path of each table.

Layout: ``<root>/registry/<target>/<table>``, e.g. ``build/registry/cpg/cpg_node_contracts``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from storage.deltalake import cpg_registry, relspec_registry
from storage.deltalake.locations import Location, is_uri, join
from storage.deltalake.registry_models import REGISTRY_DIR, RegistryTableSpec

TARGETS: Mapping[str, tuple[RegistryTableSpec, ...]] = MappingProxyType(
    {
        "cpg": cpg_registry.REGISTRY_TABLE_SPECS,
        "relspec": relspec_registry.REGISTRY_TABLE_SPECS,
    }
)
DEFAULT_TARGETS: tuple[str, ...] = tuple(TARGETS)

TABLE_NAMES: tuple[str, ...] = tuple(spec.name for specs in TARGETS.values() for spec in specs)
"""Every registry table, in export order."""

_BY_NAME: Mapping[str, tuple[str, RegistryTableSpec]] = MappingProxyType(
    {spec.name: (target, spec) for target, specs in TARGETS.items() for spec in specs}
)


class UnknownTargetError(ValueError):
    """A registry target that does not exist."""


class UnknownRegistryTableError(ValueError):
    """A table name that is not a registry table."""


class RegistryNotFoundError(FileNotFoundError):
    """A path that is neither a registry root nor an output dir holding ``registry/``."""


def check_targets(targets: tuple[str, ...]) -> None:
    """Raise naming the unknown targets and listing the valid ones."""
    unknown = [target for target in targets if target not in TARGETS]
    if unknown:
        valid = ", ".join(TARGETS)
        msg = f"unknown registry target(s) {', '.join(map(repr, unknown))}; valid: {valid}"
        raise UnknownTargetError(msg)


def table_spec(name: str) -> RegistryTableSpec | None:
    """The spec of registry table ``name``, or None for a table that is not a registry table."""
    entry = _BY_NAME.get(name)
    return None if entry is None else entry[1]


def registry_root(output_dir: Location) -> Location:
    """The folder holding ``cpg/`` and ``relspec/`` for an output dir."""
    return join(output_dir, REGISTRY_DIR)


def resolve_registry_root(location: Location) -> Location:
    """The registry root for ``location``: an output dir holding ``registry/`` or the root itself.

    Consumers accept either, so a CPG output dir can be handed over as it is. The root is the
    folder holding ``cpg/`` and ``relspec/``; ``registry/`` wins when both could apply. An
    object-store URI is taken as the registry root itself.
    """
    if is_uri(location):
        return location
    path = Path(location)
    nested = path / REGISTRY_DIR
    if nested.is_dir():
        return nested
    if any((path / target).is_dir() for target in TARGETS):
        return path
    targets = "/, ".join(TARGETS)
    msg = f"no registry at {path}: expected {nested}/ or a folder holding {targets}/"
    raise RegistryNotFoundError(msg)


def registry_table_path(root: Location, name: str) -> Location:
    """The Delta table path of registry table ``name`` under a registry root."""
    entry = _BY_NAME.get(name)
    if entry is None:
        known = ", ".join(sorted(_BY_NAME))
        msg = f"{name!r} is not a registry table; known: {known}"
        raise UnknownRegistryTableError(msg)
    return table_path(root, entry[0], name)


def table_path(root: Location, target: str, name: str) -> Location:
    """The Delta table location of ``name`` under a registry root (the folder with ``cpg/``)."""
    return join(root, target, name)


def all_tables() -> tuple[tuple[str, RegistryTableSpec], ...]:
    """Every (target, table spec) in export order."""
    return tuple((target, spec) for target, specs in TARGETS.items() for spec in specs)
