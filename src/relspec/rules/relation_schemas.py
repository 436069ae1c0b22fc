"""The Arrow schema of a relation, derived from its contract (the only place it is built)."""

from __future__ import annotations

import pyarrow as pa

from cpg.arrow_types import ARROW_TYPES
from relspec.rules.model import RelationContract


def relation_schema(contract: RelationContract) -> pa.Schema:
    """One field per declared column: its Arrow type and nullability, in declaration order."""
    return pa.schema(
        [pa.field(c.name, ARROW_TYPES[c.arrow_type], c.nullable) for c in contract.columns]
    )
