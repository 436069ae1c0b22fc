"""Spec dataclass for how one node or edge kind is derived from a source."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class DerivationStatus(StrEnum):
    """``implemented`` only when the extractor reference resolves to a callable of this project."""

    IMPLEMENTED = "implemented"
    PLANNED = "planned"


@dataclass(frozen=True)
class Derivation:
    """One way of deriving entities of a kind: the source, the extractor and the identity recipe."""

    kind: str
    entity: str
    source: str
    extractor: str
    provider_or_field: str
    join_keys: tuple[str, ...]
    id_column: str
    id_recipe: str
    confidence_policy: str
    ambiguity_policy: str
    status: DerivationStatus = DerivationStatus.PLANNED
