"""The Arrow value types a catalog field may name, and the Arrow type of a field spec."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import pyarrow as pa

from cpg.datasets import FieldSpec

ARROW_TYPES: Mapping[str, pa.DataType] = MappingProxyType(
    {
        "string": pa.string(),
        "large_string": pa.large_string(),
        "bool": pa.bool_(),
        "int8": pa.int8(),
        "int16": pa.int16(),
        "int32": pa.int32(),
        "int64": pa.int64(),
        "float32": pa.float32(),
        "float64": pa.float64(),
        "binary": pa.binary(),
    }
)
DICTIONARY_INDEX_TYPE = pa.int32()


def field_arrow_type(field: FieldSpec) -> pa.DataType:
    """The Arrow type of a catalog field (KeyError for an unknown type name)."""
    value_type = ARROW_TYPES[field.arrow_type]
    if field.dictionary_encoded:
        return pa.dictionary(DICTIONARY_INDEX_TYPE, value_type)
    return value_type
