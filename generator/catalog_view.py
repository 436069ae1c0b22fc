"""The view model of CPG_SCHEMA.md: the kinds layer by layer, each with a small diagram.

**Layers come from the registry**: a node kind's layer is its contract's ``group``; an edge
kind belongs to the layer all its endpoint kinds share, and an edge that crosses layers to its
own ``group`` (``PY_CALLS_QNAME``, CST -> qualified names: ``calls``). A layer none of whose kinds
has an implemented derivation is planned. Diagrams stay small: an edge kind with more than
``MAX_PAIRS`` endpoint pairs is drawn once between "any kind of the layer" nodes (so
``CST_PARENT_OF`` is one loop, not 324 arrows), and kinds of other layers are drawn as their
layer. Registry text reaches the Markdown only escaped (``md``/``code``, ``label`` inside
diagrams); diagram node ids are validated kind names or numbered layers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from cpg.contracts import EdgeContract, NodeContract, PropSpec
from cpg.dataset_schemas import dataset_schema
from cpg.derivation import DerivationStatus
from cpg.spec_set import SpecSet
from generator.view_models import Names
from storage.spec_codec import schema_for

MAX_PAIRS = 4
"""Endpoint pairs an edge kind may draw in a layer diagram before it is drawn as one arrow."""

_ESCAPES = str.maketrans(
    {
        "\\": "\\\\",
        "|": "\\|",
        "`": "\\`",
        "[": "\\[",
        "]": "\\]",
        "<": "&lt;",
        ">": "&gt;",
        "\n": " ",
        "\r": " ",
    }
)


def md(text: str) -> str:
    """Registry text made inert inside a Markdown table cell (no HTML, no cell breaks)."""
    return text.translate(_ESCAPES)


def code(text: str) -> str:
    """Registry text as a code span in a table cell (plain escaped text if it has backticks)."""
    if "`" in text:
        return md(text)
    return "`" + text.replace("|", "\\|").replace("\n", " ").replace("\r", " ") + "`"


_LABEL_ESCAPES = str.maketrans({"#": "#35;", '"': "#quot;", "<": "#lt;", ">": "#gt;"})


def label(text: str) -> str:
    """Registry text made inert inside a quoted Mermaid label (entity codes, one line)."""
    printable = "".join(c if c.isprintable() else " " for c in text)
    return printable.translate(_LABEL_ESCAPES)


def _code_list(names: Iterable[str]) -> str:
    return ", ".join(code(name) for name in names) or "-"


@dataclass(frozen=True)
class KindEntry:
    """One kind's entry: heading, summary lines and its props table."""

    name: str
    summary: tuple[str, ...]
    props: tuple[tuple[str, str, str, str, str], ...]


@dataclass(frozen=True)
class LayerSection:
    """One layer: its kinds, its diagram and whether anything in it is built yet."""

    name: str
    anchor: str
    planned: bool
    diagram: tuple[str, ...]
    nodes: tuple[KindEntry, ...]
    edges: tuple[KindEntry, ...]


@dataclass(frozen=True)
class TableSection:
    """A table the build writes (a dataset or one of its own), with every column."""

    name: str
    summary: str
    columns: tuple[tuple[str, str, str], ...]


@dataclass
class _Layers:
    """Kinds by layer and the layer of every node kind."""

    of_node: dict[str, str]
    nodes: dict[str, list[NodeContract]]
    edges: dict[str, list[EdgeContract]]

    def names(self) -> list[str]:
        return sorted({*self.nodes, *self.edges})

    def node_id(self, layer: str) -> str:
        """The layer's id in diagrams (layers are registry text: numbered, never pasted)."""
        return f"layer_{self.names().index(layer)}"


def _layers(specs: SpecSet) -> _Layers:
    of_node: dict[str, str] = {}
    nodes: dict[str, list[NodeContract]] = defaultdict(list)
    for contract in specs.node_contracts:
        of_node[contract.kind] = contract.group
        nodes[contract.group].append(contract)
    edges: dict[str, list[EdgeContract]] = defaultdict(list)
    for edge in specs.edge_contracts:
        ends = {of_node[kind] for kind in (*edge.src_kinds, *edge.dst_kinds) if kind in of_node}
        edges[ends.pop() if len(ends) == 1 else edge.group].append(edge)
    return _Layers(of_node, nodes, edges)


def _anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    kept = "".join(c for c in heading.lower() if c.isalnum() or c in " -_")
    return kept.replace(" ", "-")


def _rows(names: Sequence[str], per_row: int = 3) -> str:
    """Names in rows of ``per_row`` for a node label."""
    rows = [", ".join(names[i : i + per_row]) for i in range(0, len(names), per_row)]
    return "<br/>".join(rows)


class _Diagram:
    """One layer's Mermaid flowchart: its kinds and the edge kinds of the layer."""

    def __init__(self, layer: str, layers: _Layers, names: Names) -> None:
        self.layer = layer
        self.layers = layers
        self.names = names
        self.mine = {c.kind for c in layers.nodes.get(layer, ())}
        self.nodes: dict[str, str] = {}
        self.edges: list[str] = []
        self.explicit: set[str] = set()
        self.any_used = False
        self.layer_id = layers.node_id(layer)

    def _external(self, kind: str) -> str:
        other = self.layers.of_node[kind]
        node = self.layers.node_id(other)
        self.nodes[node] = f'{node}[["layer {label(other)}"]]'
        return node

    def _end(self, kind: str) -> str:
        if kind in self.mine:
            self.explicit.add(kind)
            return self.names.node_kinds[kind]
        return self._external(kind)

    def _key(self, kind: str) -> str:
        return kind if kind in self.mine else self.layers.of_node[kind]

    def _collapsed(self, kinds: Sequence[str], edge: str, side: str) -> set[str]:
        """The nodes standing for ``kinds``: this layer's kinds as one node (the kind itself
        when it is one, "any of" the layer when they are all), other layers as themselves, or
        as one node listing them when there are more than two."""
        inside = sorted(k for k in kinds if k in self.mine)
        outside = [k for k in kinds if k not in self.mine]
        others = sorted({self.layers.of_node[k] for k in outside})
        if len(others) > 2:
            node = f"{edge}_{side}_layers"
            self.nodes[node] = f'{node}[["layers<br/>{_rows([label(o) for o in others])}"]]'
            ends = {node}
        else:
            ends = {self._external(k) for k in outside}
        if len(inside) == 1:
            ends.add(self._end(inside[0]))
        elif inside and set(inside) == self.mine:
            self.any_used = True
            ends.add(f"any_{self.layer_id}")
        elif inside:
            node = f"{edge}_{side}"
            kinds = _rows([self.names.node_kinds[k] for k in inside])
            self.nodes[node] = f'{node}(["{kinds}"])'
            ends.add(node)
        return ends

    def edge(self, contract: EdgeContract) -> None:
        edge = self.names.edge_kinds[contract.kind]
        src, dst = contract.src_kinds, contract.dst_kinds
        if len({(self._key(s), self._key(d)) for s in src for d in dst}) <= MAX_PAIRS:
            pairs = {(self._end(s), self._end(d)) for s in src for d in dst}
        else:
            sources = self._collapsed(src, edge, "src")
            targets = self._collapsed(dst, edge, "dst")
            pairs = {(s, d) for s in sources for d in targets}
        self.edges += [f"    {s} -->|{edge}| {d}" for s, d in sorted(pairs)]

    def lines(self) -> tuple[str, ...]:
        """The flowchart: kinds drawn alone when an edge names them, the others in one box
        (the "any of" box when an edge kind connects all of them)."""
        kinds = sorted(self.names.node_kinds[k] for k in self.mine)
        explicit = sorted(self.names.node_kinds[k] for k in self.explicit)
        declared = [f'    {kind}["{kind}"]' for kind in explicit]
        if self.any_used:
            text = f"any {label(self.layer)} kind:<br/>{_rows(kinds)}"
            declared.append(f'    any_{self.layer_id}(["{text}"])')
        else:
            loose = [kind for kind in kinds if kind not in explicit]
            if len(loose) == 1:
                declared.append(f'    {loose[0]}["{loose[0]}"]')
            elif loose:
                declared.append(f'    other_{self.layer_id}["{_rows(loose)}"]')
        external = [f"    {line}" for _, line in sorted(self.nodes.items())]
        return ("flowchart LR", *declared, *external, *self.edges)


class _Catalog:
    """Shapes the kind entries; knows the prop catalog, enums, derivations and rules."""

    def __init__(self, specs: SpecSet) -> None:
        self.specs = specs
        self.descriptions = {p.name: p.description for p in specs.prop_catalog}
        self.enums = {e.name: e.values for e in specs.prop_enums}
        self.derivations: dict[str, list[Any]] = defaultdict(list)
        for derivation in specs.derivations:
            self.derivations[derivation.kind].append(derivation)
        self.rules: dict[str, list[str]] = defaultdict(list)
        for rule in specs.rules:
            if rule.payload.edge_emit is not None:
                self.rules[rule.payload.edge_emit.edge_kind].append(rule.name)

    def implemented(self, kind: str) -> bool:
        return any(d.status == DerivationStatus.IMPLEMENTED for d in self.derivations[kind])

    def _props(self, required: Sequence[PropSpec], optional: Sequence[PropSpec]) -> tuple[Any, ...]:
        rows = []
        for props, needed in ((required, "yes"), (optional, "no")):
            for prop in props:
                values = self.enums.get(prop.enum, ()) if prop.enum else ()
                enum = f"{code(prop.enum)}: {_code_list(values)}" if prop.enum else "-"
                description = md(self.descriptions.get(prop.name, "")) or "-"
                rows.append((code(prop.name), md(str(prop.type)), needed, enum, description))
        return tuple(rows)

    def _derived(self, kind: str) -> list[str]:
        lines = []
        for d in self.derivations[kind]:
            status = "**implemented**" if d.status == DerivationStatus.IMPLEMENTED else "planned"
            lines.append(
                f"- Derivation ({status}): from {code(d.source)} by {code(d.extractor)} "
                f"({md(d.provider_or_field)})."
            )
        rules = self.rules.get(kind)
        if rules:
            lines.append(f"- Emitted by the rules {_code_list(rules)}.")
        return lines

    def node(self, c: NodeContract) -> KindEntry:
        summary = [
            md(c.description),
            "",
            f"- Sources: {_code_list(c.allowed_sources)}; "
            f"anchored to a span: {'yes' if c.requires_anchor else 'no'}.",
            *self._derived(c.kind),
        ]
        props = self._props(c.required_props, c.optional_props)
        return KindEntry(code(c.kind), tuple(summary), props)

    def edge(self, e: EdgeContract) -> KindEntry:
        summary = [
            md(e.description),
            "",
            f"- From {_code_list(e.src_kinds)} to {_code_list(e.dst_kinds)}.",
            f"- Sources: {_code_list(e.allowed_sources)}; "
            f"evidence span required: {'yes' if e.requires_evidence_anchor else 'no'}.",
            *self._derived(e.kind),
        ]
        props = self._props(e.required_props, e.optional_props)
        return KindEntry(code(e.kind), tuple(summary), props)


def _overview(
    layers: _Layers, catalog: _Catalog, planned: set[str], names: Names
) -> tuple[str, ...]:
    lines = ["flowchart LR"]
    for layer in layers.names():
        if layer in layers.nodes:
            count = len(layers.nodes[layer])
            noun = "node kind" if count == 1 else "node kinds"
            node = layers.node_id(layer)
            lines.append(f'    {node}["{label(layer)}<br/>{count} {noun}"]')
    crossing: dict[tuple[str, str, bool], list[str]] = defaultdict(list)
    fans = []
    for edge in (e for edges in layers.edges.values() for e in edges):
        built = catalog.implemented(edge.kind)
        name = names.edge_kinds[edge.kind]
        pairs = {
            (layers.node_id(src), layers.node_id(dst))
            for src in {layers.of_node[k] for k in edge.src_kinds}
            for dst in {layers.of_node[k] for k in edge.dst_kinds}
            if src != dst
        }
        if len(pairs) > MAX_PAIRS:
            ends = {layers.of_node[k] for k in edge.dst_kinds} - {
                layers.of_node[k] for k in edge.src_kinds
            }
            targets = _rows([label(layer) for layer in sorted(ends)])
            lines.append(f'    fan_{name}(["{name} to<br/>{targets}"])')
            fans += [(src, f"fan_{name}", built, name) for src in sorted({s for s, _ in pairs})]
            continue
        for src, dst in pairs:
            crossing[src, dst, built].append(name)
    arrows = [
        (src, dst, built, ", ".join(k) if len(k) <= 2 else f"{k[0]} +{len(k) - 1}")
        for (src, dst, built), k in crossing.items()
    ]
    for src, dst, built, kinds in sorted([*arrows, *fans]):
        arrow = "-->" if built else "-.->"
        lines.append(f"    {src} {arrow}|{kinds}| {dst}")
    shown = [layers.node_id(layer) for layer in sorted(planned & set(layers.nodes))]
    if shown:
        lines.append("    classDef planned stroke-dasharray: 5 5")
        lines.append(f"    class {','.join(shown)} planned")
    return tuple(lines)


def _table_section(name: str, summary: str, schema: pa.Schema) -> TableSection:
    columns = tuple((code(f.name), md(str(f.type)), "yes" if f.nullable else "no") for f in schema)
    return TableSection(code(name), summary, columns)


def _build_tables() -> list[TableSection]:
    """The build's own tables; their schemas come from the row classes the build encodes."""
    from graph.row_validation import VIOLATIONS_TABLE, ContractViolation
    from graph.rules.emission import LOSERS_SCHEMA, LOSERS_TABLE

    return [
        _table_section(
            VIOLATIONS_TABLE,
            "Every row the build wrote that breaks its contract (the row is written anyway): the "
            "rule broken (unknown kind, missing or mistyped prop, enum value, endpoint kind, "
            "origin), the entity, its kind and path, and what is wrong.",
            schema_for(ContractViolation, VIOLATIONS_TABLE),
        ),
        _table_section(
            LOSERS_TABLE,
            "Every edge a rule produced that lost to another: to the rule's ambiguity policy "
            "(`AMBIGUITY_POLICY`) or to the same edge from a better rule (`DUPLICATE_EDGE`), "
            "with the winner's edge id and rule.",
            LOSERS_SCHEMA,
        ),
    ]


def catalog_context(specs: SpecSet, names: Names) -> dict[str, Any]:
    """The template context of CPG_SCHEMA.md."""
    layers = _layers(specs)
    catalog = _Catalog(specs)
    planned = {
        layer
        for layer in layers.names()
        if not any(
            catalog.implemented(c.kind)
            for c in (*layers.nodes.get(layer, ()), *layers.edges.get(layer, ()))
        )
    }
    sections = []
    for layer in sorted(layers.names(), key=lambda name: (name in planned, name)):
        diagram = _Diagram(layer, layers, names)
        for edge in layers.edges.get(layer, ()):
            diagram.edge(edge)
        sections.append(
            LayerSection(
                name=code(layer),
                anchor=_anchor(f"Layer {layer}"),
                planned=layer in planned,
                diagram=diagram.lines(),
                nodes=tuple(catalog.node(c) for c in layers.nodes.get(layer, ())),
                edges=tuple(catalog.edge(e) for e in layers.edges.get(layer, ())),
            )
        )
    datasets = []
    for row in specs.dataset_rows:
        schema = dataset_schema(row, specs.fields, specs.bundles, specs.templates)
        role = f"role {code(str(row.role))}; " if row.role is not None else ""
        summary = (
            f"{md(row.description)} Version {row.version}; {role}keys: "
            f"{_code_list(row.key_fields)}; canonical sort: "
            f"{_code_list([k.column for k in row.canonical_sort])}."
        )
        datasets.append(_table_section(row.name, summary, schema))
    implemented = [k for k in (*specs.node_kinds, *specs.edge_kinds) if catalog.implemented(k)]
    counts = (
        f"{len(specs.node_contracts)} node kinds and {len(specs.edge_contracts)} edge kinds in "
        f"{len(sections)} layers ({len(implemented)} kinds implemented: a build emits them), "
        f"{len(specs.derivations)} derivations, {len(specs.dataset_rows)} datasets, "
        f"{len(specs.rules)} relationship rules."
    )
    rules = [
        (
            code(rule.name),
            md(str(rule.kind)),
            _code_list(rule.inputs),
            code(rule.payload.edge_emit.edge_kind) if rule.payload.edge_emit else "-",
            str(rule.priority),
        )
        for rule in specs.rules
    ]
    return {
        "counts": counts,
        "overview": _overview(layers, catalog, planned, names),
        "layers": sections,
        "layer_rows": [
            (
                s.name,
                s.anchor,
                len(s.nodes),
                len(s.edges),
                "planned" if s.planned else "built",
            )
            for s in sections
        ],
        "source_kinds": [(code(s.name), md(s.description)) for s in specs.source_kinds],
        "rules": rules,
        "datasets": datasets,
        "build_tables": _build_tables(),
    }
