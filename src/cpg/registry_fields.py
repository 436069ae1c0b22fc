"""The field catalog: every column a CPG dataset may have, with its Arrow type."""

from __future__ import annotations

from cpg.datasets import FieldSpec

FIELD_CATALOG: tuple[FieldSpec, ...] = (
    FieldSpec("node_id", "string", nullable=False),
    FieldSpec("node_kind", "string", nullable=False, dictionary_encoded=True),
    FieldSpec("file_id", "string", nullable=True),
    FieldSpec("edge_id", "string", nullable=False),
    FieldSpec("edge_kind", "string", nullable=False, dictionary_encoded=True),
    FieldSpec("src_node_id", "string", nullable=False),
    FieldSpec("dst_node_id", "string", nullable=False),
    FieldSpec("path", "string", nullable=True),
    FieldSpec("edge_owner_file_id", "string", nullable=True),
    FieldSpec("origin", "string", nullable=True, dictionary_encoded=True),
    FieldSpec("resolution_method", "string", nullable=True, dictionary_encoded=True),
    FieldSpec("confidence", "float32", nullable=True),
    FieldSpec("score", "float32", nullable=True),
    FieldSpec("bstart", "int64", nullable=True),
    FieldSpec("bend", "int64", nullable=True),
    FieldSpec("symbol_roles", "int32", nullable=True),
    FieldSpec("qname_source", "string", nullable=True, dictionary_encoded=True),
    FieldSpec("ambiguity_group_id", "string", nullable=True),
    FieldSpec("rule_name", "string", nullable=True, dictionary_encoded=True),
    FieldSpec("rule_priority", "int32", nullable=True),
    FieldSpec("entity_kind", "string", nullable=False),
    FieldSpec("entity_id", "string", nullable=False),
    FieldSpec("prop_key", "string", nullable=False),
    FieldSpec("value_str", "string", nullable=True),
    FieldSpec("value_int", "int64", nullable=True),
    FieldSpec("value_float", "float64", nullable=True),
    FieldSpec("value_bool", "bool", nullable=True),
    FieldSpec("value_json", "string", nullable=True),
)
