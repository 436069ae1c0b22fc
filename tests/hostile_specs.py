"""Spec sets carrying hostile strings, for the generator's injection-safety tests."""

from __future__ import annotations

import dataclasses

from cpg.spec_set import SpecSet
from tests.golden.small_specs import SMALL_SPECS

HOSTILE_TEXTS: tuple[str, ...] = (
    '"',
    "'",
    '"""',
    "'''",
    "\\",
    "\\n",
    "line\nbreak",
    "carriage\r\nreturn",
    "# not a comment",
    "x'); import os; os.system('echo pwned'); ('",
    '""" + __import__("os").system("echo pwned") + """',
    "{{ 7 * 7 }} {% if true %}jinja{% endif %}",
    "</code>|table|`tick`<script>",
    "nul\x00byte",
    "ünïcödé 🐍 ​ zero-width",
    "A" * 5000,
)
HOSTILE = "".join(HOSTILE_TEXTS)


def with_hostile_text(specs: SpecSet = SMALL_SPECS) -> SpecSet:
    """``specs`` with hostile strings in descriptions, enum values and free-text fields."""
    node = specs.node_contracts[0]
    edge = specs.edge_contracts[0]
    derivation = specs.derivations[0]
    rule = specs.rules[0]
    emit = rule.payload.edge_emit
    assert emit is not None
    enum = specs.prop_enums[0]
    return dataclasses.replace(
        specs,
        source_kinds=tuple(
            dataclasses.replace(kind, description=HOSTILE) for kind in specs.source_kinds
        ),
        prop_enums=(dataclasses.replace(enum, values=(*enum.values, *HOSTILE_TEXTS)),),
        node_contracts=(
            dataclasses.replace(node, description=HOSTILE, group=HOSTILE_TEXTS[9]),
            *specs.node_contracts[1:],
        ),
        edge_contracts=(dataclasses.replace(edge, description=HOSTILE),),
        derivations=(
            dataclasses.replace(
                derivation, provider_or_field=HOSTILE, id_recipe=HOSTILE_TEXTS[10]
            ),
            *specs.derivations[1:],
        ),
        dataset_rows=tuple(
            dataclasses.replace(row, description=HOSTILE) for row in specs.dataset_rows
        ),
        rules=(
            dataclasses.replace(
                rule,
                payload=dataclasses.replace(
                    rule.payload,
                    edge_emit=dataclasses.replace(
                        emit, resolution_method=HOSTILE, option_flag=HOSTILE_TEXTS[11]
                    ),
                ),
            ),
        ),
    )


def rename_kind(specs: SpecSet, old: str, new: str) -> SpecSet:
    """``specs`` with node or edge kind ``old`` renamed to ``new`` everywhere it is referenced."""

    def swap(value: str) -> str:
        return new if value == old else value

    def swap_all(values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(swap(v) for v in values)

    rules = []
    for rule in specs.rules:
        emit = rule.payload.edge_emit
        if emit is not None and emit.edge_kind == old:
            emit = dataclasses.replace(emit, edge_kind=new)
            rule = dataclasses.replace(rule, payload=dataclasses.replace(rule.payload, edge_emit=emit))
        rules.append(rule)
    return dataclasses.replace(
        specs,
        node_kinds=swap_all(specs.node_kinds),
        edge_kinds=swap_all(specs.edge_kinds),
        node_contracts=tuple(
            dataclasses.replace(c, kind=swap(c.kind)) for c in specs.node_contracts
        ),
        edge_contracts=tuple(
            dataclasses.replace(
                c, kind=swap(c.kind), src_kinds=swap_all(c.src_kinds), dst_kinds=swap_all(c.dst_kinds)
            )
            for c in specs.edge_contracts
        ),
        derivations=tuple(dataclasses.replace(d, kind=swap(d.kind)) for d in specs.derivations),
        rules=tuple(rules),
    )
