"""The view model of CPG_SCHEMA.md: kinds, props, edges and datasets as escaped Markdown cells."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cpg.contracts import PropSpec
from cpg.dataset_schemas import dataset_schema
from cpg.spec_set import SpecSet
from generator.view_models import Names

_ESCAPES = str.maketrans(
    {"\\": "\\\\", "|": "\\|", "`": "\\`", "<": "&lt;", ">": "&gt;", "\n": " ", "\r": " "}
)


def md(text: str) -> str:
    """Registry text made inert inside a Markdown table cell (no HTML, no cell breaks)."""
    return text.translate(_ESCAPES)


def code(text: str) -> str:
    """Registry text as a code span in a table cell (plain escaped text if it has backticks)."""
    if "`" in text:
        return md(text)
    return "`" + text.replace("|", "\\|").replace("\n", " ").replace("\r", " ") + "`"


def _code_list(names: Sequence[str]) -> str:
    return ", ".join(code(name) for name in names) or "-"


def _props(props: Sequence[PropSpec]) -> str:
    return (
        ", ".join(
            f"{code(p.name)}: {md(str(p.type))}" + (f" ({md(p.enum)})" if p.enum else "")
            for p in props
        )
        or "-"
    )


@dataclass(frozen=True)
class DatasetSection:
    """One dataset's section of the catalog."""

    name: str
    summary: str
    columns: tuple[tuple[str, str, str], ...]


def catalog_context(specs: SpecSet, names: Names) -> dict[str, Any]:
    """The template context of CPG_SCHEMA.md."""
    node = names.node_kinds
    mermaid = [
        f"{node[src]} -->|{names.edge_kinds[edge.kind]}| {node[dst]}"
        for edge in specs.edge_contracts
        for src in edge.src_kinds
        for dst in edge.dst_kinds
    ]
    datasets = []
    for row in specs.dataset_rows:
        schema = dataset_schema(row, specs.fields, specs.bundles, specs.templates)
        summary = (
            f"{md(row.description)} Version {row.version}; keys: {_code_list(row.key_fields)}; "
            f"canonical sort: {_code_list([k.column for k in row.canonical_sort])}."
        )
        columns = tuple(
            (code(f.name), md(str(f.type)), "yes" if f.nullable else "no") for f in schema
        )
        datasets.append(DatasetSection(code(row.name), summary, columns))
    counts = (
        f"{len(specs.node_contracts)} node kinds, {len(specs.edge_contracts)} edge kinds, "
        f"{len(specs.derivations)} derivations, {len(specs.dataset_rows)} datasets, "
        f"{len(specs.rules)} relationship rules."
    )
    return {
        "counts": counts,
        "source_kinds": [(code(s.name), md(s.description)) for s in specs.source_kinds],
        "node_kinds": [
            (
                code(c.kind),
                md(c.group),
                "yes" if c.requires_anchor else "no",
                _code_list(c.allowed_sources),
                _props(c.required_props),
                _props(c.optional_props),
                md(c.description),
            )
            for c in specs.node_contracts
        ],
        "edge_kinds": [
            (
                code(e.kind),
                _code_list(e.src_kinds),
                _code_list(e.dst_kinds),
                _code_list(e.allowed_sources),
                _props(e.required_props),
                _props(e.optional_props),
                md(e.description),
            )
            for e in specs.edge_contracts
        ],
        "mermaid": mermaid,
        "datasets": datasets,
    }
