"""Where registry tables live: targets, their table specs, and the path of each table.

Layout: ``<root>/registry/<target>/<table>``, e.g. ``build/registry/cpg/cpg_node_contracts``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from storage.deltalake import cpg_registry, relspec_registry
from storage.deltalake.registry_models import REGISTRY_DIR, RegistryTableSpec

TARGETS: Mapping[str, tuple[RegistryTableSpec, ...]] = MappingProxyType(
    {
        "cpg": cpg_registry.REGISTRY_TABLE_SPECS,
        "relspec": relspec_registry.REGISTRY_TABLE_SPECS,
    }
)
DEFAULT_TARGETS: tuple[str, ...] = tuple(TARGETS)

_BY_NAME: Mapping[str, tuple[str, RegistryTableSpec]] = MappingProxyType(
    {spec.name: (target, spec) for target, specs in TARGETS.items() for spec in specs}
)


class UnknownTargetError(ValueError):
    """A registry target that does not exist."""


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


def registry_root(output_dir: str | Path) -> Path:
    """The folder holding ``cpg/`` and ``relspec/`` for an output dir."""
    return Path(output_dir) / REGISTRY_DIR


def table_path(root: str | Path, target: str, name: str) -> Path:
    """The Delta table path of ``name`` under a registry root (the folder with ``cpg/``)."""
    return Path(root) / target / name


def all_tables() -> tuple[tuple[str, RegistryTableSpec], ...]:
    """Every (target, table spec) in export order."""
    return tuple((target, spec) for target, specs in TARGETS.items() for spec in specs)
