"""Spec dataclasses for property types, node kind contracts and edge kind contracts."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class PropType(StrEnum):
    """The value type of a property; it picks the ``value_*`` column of a props row."""

    STR = "str"
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    JSON = "json"


@dataclass(frozen=True)
class PropEnum:
    """A named closed set of string values a property may take."""

    name: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class PropDecl:
    """A property key of the catalog, its base value type and what it means."""

    name: str
    type: PropType
    description: str = ""


@dataclass(frozen=True)
class PropSpec:
    """A property as a contract requires or allows it: key, type and optional enum name."""

    name: str
    type: PropType
    enum: str | None = None


@dataclass(frozen=True)
class SourceKindSpec:
    """A source kind and what it stands for."""

    name: str
    description: str


@dataclass(frozen=True)
class NodeContract:
    """What every node of one kind must carry."""

    kind: str
    group: str
    description: str
    requires_anchor: bool
    allowed_sources: tuple[str, ...]
    required_props: tuple[PropSpec, ...] = ()
    optional_props: tuple[PropSpec, ...] = ()


@dataclass(frozen=True)
class EdgeContract:
    """What every edge of one kind must carry, and which node kinds it may connect."""

    kind: str
    group: str
    description: str
    src_kinds: tuple[str, ...]
    dst_kinds: tuple[str, ...]
    requires_evidence_anchor: bool
    allowed_sources: tuple[str, ...]
    required_props: tuple[PropSpec, ...] = ()
    optional_props: tuple[PropSpec, ...] = ()
