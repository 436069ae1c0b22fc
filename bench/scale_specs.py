"""Synthetic spec sets: the canonical specs multiplied ``factor`` times, still valid.

Copy ``i`` (1..factor-1) renames every node kind, edge kind, field, bundle, dataset, relation
and rule with a ``_S{i}`` suffix and rewires all references to the copy's own names, so kinds,
fields, datasets, relations, rules and derivations all grow linearly with ``factor``.
"""

from __future__ import annotations

import dataclasses

from cpg.datasets import SortKey
from cpg.spec_set import SpecSet, canonical_spec_set
from relspec.rules.model import RelationContract, RuleDefinition


def _suffixed(specs: SpecSet, suffix: str) -> SpecSet:
    def name(value: str) -> str:
        return f"{value}{suffix}"

    def names(values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(name(v) for v in values)

    def keys(values: tuple[SortKey, ...]) -> tuple[SortKey, ...]:
        return tuple(dataclasses.replace(k, column=name(k.column)) for k in values)

    def rule(r: RuleDefinition) -> RuleDefinition:
        emit = r.payload.edge_emit
        payload = r.payload
        if emit is not None:
            payload = dataclasses.replace(
                payload, edge_emit=dataclasses.replace(emit, edge_kind=name(emit.edge_kind))
            )
        contract_name = r.contract_name
        if emit is None and contract_name is not None:
            base, _, version = contract_name.rpartition("_v")
            contract_name = f"{name(base)}_v{version}"
        return dataclasses.replace(
            r,
            name=name(r.name),
            inputs=names(r.inputs),
            output=name(r.output),
            contract_name=contract_name,
            payload=payload,
            template=None,
        )

    def relation(r: RelationContract) -> RelationContract:
        columns = tuple(
            c if c.node_kind is None else dataclasses.replace(c, node_kind=name(c.node_kind))
            for c in r.columns
        )
        return dataclasses.replace(r, name=name(r.name), columns=columns)

    return dataclasses.replace(
        specs,
        node_kinds=names(specs.node_kinds),
        edge_kinds=names(specs.edge_kinds),
        node_contracts=tuple(
            dataclasses.replace(c, kind=name(c.kind)) for c in specs.node_contracts
        ),
        edge_contracts=tuple(
            dataclasses.replace(
                c, kind=name(c.kind), src_kinds=names(c.src_kinds), dst_kinds=names(c.dst_kinds)
            )
            for c in specs.edge_contracts
        ),
        derivations=tuple(dataclasses.replace(d, kind=name(d.kind)) for d in specs.derivations),
        fields=tuple(dataclasses.replace(f, name=name(f.name)) for f in specs.fields),
        bundles=tuple(
            dataclasses.replace(b, name=name(b.name), fields=names(b.fields)) for b in specs.bundles
        ),
        dataset_rows=tuple(
            dataclasses.replace(
                row,
                name=name(row.name),
                bundles=names(row.bundles),
                fields=names(row.fields),
                required_non_null=names(row.required_non_null),
                key_fields=names(row.key_fields),
                dedupe_keys=names(row.dedupe_keys),
                tie_breakers=keys(row.tie_breakers),
                canonical_sort=keys(row.canonical_sort),
                contract_name=None if row.contract_name is None else name(row.contract_name),
                role=None,  # one dataset per role: the copies play none
            )
            for row in specs.dataset_rows
        ),
        rules=tuple(rule(r) for r in specs.rules),
        relation_contracts=tuple(relation(r) for r in specs.relation_contracts),
    )


def scale_spec_set(factor: int, base: SpecSet | None = None) -> SpecSet:
    """``base`` (the canonical specs) plus ``factor - 1`` renamed copies of its scalable parts."""
    base = canonical_spec_set() if base is None else base
    copies = [_suffixed(base, f"_S{i}") for i in range(1, factor)]

    def joined(attr: str) -> tuple[object, ...]:
        return tuple(item for specs in (base, *copies) for item in getattr(specs, attr))

    scalable = (
        "node_kinds",
        "edge_kinds",
        "node_contracts",
        "edge_contracts",
        "derivations",
        "fields",
        "bundles",
        "dataset_rows",
        "rules",
        "relation_contracts",
    )
    return dataclasses.replace(base, **{attr: joined(attr) for attr in scalable})
