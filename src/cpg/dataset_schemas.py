"""Derive a dataset's Arrow schema from its row, the field catalog, bundles and templates.

This is the only place dataset schemas come from: nothing declares them by hand.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pyarrow as pa

from cpg.arrow_types import field_arrow_type
from cpg.datasets import BundleSpec, DatasetRow, FieldSpec, RegistryTemplate

DICTIONARY_ENCODED_KEY = b"dictionary_encoded"


class DatasetSchemaError(ValueError):
    """A dataset row that references something the catalogs do not declare."""


def resolved_columns(
    row: DatasetRow, bundles: Mapping[str, BundleSpec], *, strict: bool = True
) -> tuple[str, ...]:
    """The dataset's columns: each bundle's fields in order, then the row's own fields.

    An unknown bundle is an error, or skipped when not ``strict`` (validation reports it).
    """
    columns: list[str] = []
    for name in row.bundles:
        bundle = bundles.get(name)
        if bundle is None:
            if not strict:
                continue
            msg = f"dataset {row.name!r}: unknown bundle {name!r}"
            raise DatasetSchemaError(msg)
        columns.extend(bundle.fields)
    columns.extend(row.fields)
    return tuple(columns)


def dataset_schema(
    row: DatasetRow,
    fields: Iterable[FieldSpec],
    bundles: Iterable[BundleSpec],
    templates: Iterable[RegistryTemplate],
) -> pa.Schema:
    """The Arrow schema of one dataset, with dataset and template facts as schema metadata.

    A column is non-null when the catalog says so or the row lists it in ``required_non_null``;
    dictionary-encoded columns also carry ``dictionary_encoded=true`` field metadata.
    """
    catalog = {field.name: field for field in fields}
    template_by_name = {template.name: template for template in templates}
    arrow_fields = []
    for column in resolved_columns(row, {bundle.name: bundle for bundle in bundles}):
        spec = catalog.get(column)
        if spec is None:
            msg = f"dataset {row.name!r}: column {column!r} is not in the field catalog"
            raise DatasetSchemaError(msg)
        nullable = spec.nullable and column not in row.required_non_null
        field_metadata = {DICTIONARY_ENCODED_KEY: b"true"} if spec.dictionary_encoded else None
        arrow_fields.append(
            pa.field(column, field_arrow_type(spec), nullable=nullable, metadata=field_metadata)
        )
    metadata: dict[str, str] = {
        "spec_kind": row.name,
        "dataset_name": row.name,
        "dataset_version": str(row.version),
        "contract_name": row.contract_name or "",
    }
    if row.template is not None:
        template = template_by_name.get(row.template)
        if template is None:
            msg = f"dataset {row.name!r}: unknown template {row.template!r}"
            raise DatasetSchemaError(msg)
        metadata |= {
            "template": template.name,
            "template_stage": template.stage,
            "determinism_tier": template.determinism_tier.value,
        }
    return pa.schema(arrow_fields, metadata=metadata)
