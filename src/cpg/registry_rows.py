"""The CPG datasets: which columns each holds, its keys, dedupe contract and canonical sort."""

from __future__ import annotations

from cpg.datasets import DatasetRole, DatasetRow, DedupeStrategy, SortKey, SortOrder

_ASC = SortOrder.ASCENDING
_DESC = SortOrder.DESCENDING

_PROP_VALUES = ("value_str", "value_int", "value_float", "value_bool", "value_json")
_PROP_FIELDS = ("entity_kind", "entity_id", "prop_key", *_PROP_VALUES)
_PROP_DEDUPE = ("entity_kind", "entity_id", "prop_key", *_PROP_VALUES)
_PROP_SORT = (SortKey("entity_kind"), SortKey("entity_id"), SortKey("prop_key"))


def _props_row(
    name: str, role: DatasetRole, description: str, *, by_file: bool = False
) -> DatasetRow:
    """A props-lane dataset; the variants differ only in name and an optional leading file_id."""
    leading = ("file_id",) if by_file else ()
    return DatasetRow(
        name=name,
        version=1,
        bundles=(),
        fields=(*leading, *_PROP_FIELDS),
        required_non_null=(*leading, "entity_kind", "entity_id", "prop_key"),
        key_fields=(),
        dedupe_keys=_PROP_DEDUPE,
        tie_breakers=(SortKey("prop_key"),),
        dedupe_strategy=DedupeStrategy.KEEP_FIRST_AFTER_SORT,
        canonical_sort=_PROP_SORT,
        template="cpg",
        contract_name=name,
        description=description,
        role=role,
    )


DATASET_ROWS: tuple[DatasetRow, ...] = (
    DatasetRow(
        name="cpg_nodes_v1",
        version=1,
        bundles=("file_identity", "span"),
        fields=("node_id", "node_kind"),
        required_non_null=("node_id", "node_kind"),
        key_fields=("node_id", "node_kind"),
        dedupe_keys=("node_kind", "node_id"),
        tie_breakers=(SortKey("path"), SortKey("bstart"), SortKey("bend")),
        dedupe_strategy=DedupeStrategy.KEEP_FIRST_AFTER_SORT,
        canonical_sort=(
            SortKey("node_kind"),
            SortKey("path"),
            SortKey("bstart"),
            SortKey("bend"),
            SortKey("node_id"),
        ),
        template="cpg",
        contract_name="cpg_nodes_v1",
        description="One row per CPG node, anchored to a file span where it has one.",
        role=DatasetRole.NODES,
    ),
    DatasetRow(
        name="cpg_edges_v1",
        version=1,
        bundles=("span",),
        fields=(
            "edge_id",
            "edge_kind",
            "src_node_id",
            "dst_node_id",
            "path",
            "edge_owner_file_id",
            "origin",
            "resolution_method",
            "confidence",
            "score",
            "symbol_roles",
            "qname_source",
            "ambiguity_group_id",
            "rule_name",
            "rule_priority",
        ),
        required_non_null=("edge_id", "edge_kind", "src_node_id", "dst_node_id"),
        key_fields=(
            "edge_kind",
            "src_node_id",
            "dst_node_id",
            "path",
            "bstart",
            "bend",
        ),
        dedupe_keys=(
            "edge_kind",
            "src_node_id",
            "dst_node_id",
            "path",
            "bstart",
            "bend",
        ),
        tie_breakers=(
            SortKey("score", _DESC),
            SortKey("confidence", _DESC),
            SortKey("rule_priority", _ASC),
            SortKey("edge_id", _ASC),
        ),
        dedupe_strategy=DedupeStrategy.KEEP_FIRST_AFTER_SORT,
        canonical_sort=(
            SortKey("path"),
            SortKey("bstart"),
            SortKey("bend"),
            SortKey("edge_kind"),
            SortKey("src_node_id"),
            SortKey("dst_node_id"),
            SortKey("edge_id"),
        ),
        template="cpg",
        contract_name="cpg_edges_v1",
        description="One row per CPG edge with its provenance, confidence and evidence span.",
        role=DatasetRole.EDGES,
    ),
    _props_row(
        "cpg_props_v1",
        DatasetRole.PROPS,
        "Scalar properties: one row per (entity, key), typed value lanes.",
    ),
    _props_row(
        "cpg_props_json_v1",
        DatasetRole.PROPS_JSON,
        "The JSON lane: properties whose type is json.",
    ),
    _props_row(
        "cpg_props_by_file_id_v1",
        DatasetRole.PROPS_BY_FILE_ID,
        "Properties partitioned by the file that owns the entity.",
        by_file=True,
    ),
    _props_row(
        "cpg_props_global_v1",
        DatasetRole.PROPS_GLOBAL,
        "Properties of entities that belong to no file (repo, symbols).",
    ),
)
