"""generated/CPG_SCHEMA.md: every kind under its layer with every prop, small diagrams in the
Mermaid flowchart syntax the catalog uses, and prop descriptions that name real props.

The diagrams are checked against the flowchart grammar subset the catalog writes (no browser:
``bench/render_diagrams.py`` renders them with mermaid-cli as a manual check).
"""

from __future__ import annotations

import re
from collections import defaultdict

from hypothesis import given
from hypothesis import strategies as st

from cpg.contract_registry import contracts_from_tables
from cpg.prop_descriptions import PROP_DESCRIPTIONS
from cpg.spec_set import canonical_spec_set
from generator.catalog_view import label, md
from tests.generator_support import PROJECT_ROOT

CATALOG = (PROJECT_ROOT / "generated" / "CPG_SCHEMA.md").read_text(encoding="utf-8")
MAX_ARROWS = 25
"""Arrows one diagram may draw: the old single diagram drew 462."""

_ID = r"[A-Za-z_][A-Za-z0-9_]*"
_LABEL = r'"[^"\n]*"'
_NODE = re.compile(rf"^    ({_ID})(\[{_LABEL}\]|\(\[{_LABEL}\]\)|\[\[{_LABEL}\]\])$")
_ARROW = re.compile(rf"^    ({_ID}) (-->|-\.->)\|([A-Z0-9_, +]+)\| ({_ID})$")
_CLASS = re.compile(rf"^    (classDef planned stroke-dasharray: 5 5|class {_ID}(,{_ID})* planned)$")
_RESERVED = {"end", "graph", "flowchart", "subgraph", "class", "classDef", "click", "style"}


def _diagrams() -> list[str]:
    return re.findall(r"```mermaid\n(.*?)```", CATALOG, re.DOTALL)


def test_every_diagram_parses_as_the_flowchart_subset_and_stays_small() -> None:
    diagrams = _diagrams()
    layers = re.findall(r"^## Layer `(.+)`$", CATALOG, re.MULTILINE)
    assert len(diagrams) == len(layers) + 1  # the overview, then one per layer
    for diagram in diagrams:
        lines = diagram.splitlines()
        assert lines[0] == "flowchart LR"
        declared, used, arrows = set(), set(), 0
        for line in lines[1:]:
            if node := _NODE.match(line):
                assert node.group(1) not in declared, line
                declared.add(node.group(1))
            elif arrow := _ARROW.match(line):
                used |= {arrow.group(1), arrow.group(4)}
                arrows += 1
            else:
                assert _CLASS.match(line), line
        assert used <= declared, used - declared
        assert not declared & _RESERVED
        assert arrows <= MAX_ARROWS


def _kinds_by_layer() -> dict[str, set[str]]:
    """Layer heading -> the kind headings under it."""
    found: dict[str, set[str]] = defaultdict(set)
    layer = None
    for line in CATALOG.splitlines():
        if heading := re.match(r"^## Layer `(.+)`$", line):
            layer = heading.group(1)
        elif line.startswith("## "):
            layer = None
        elif (kind := re.match(r"^#### `(\w+)`$", line)) and layer is not None:
            found[layer].add(kind.group(1))
    return found


def test_every_kind_sits_once_under_the_layer_its_contracts_give_it() -> None:
    registry = contracts_from_tables()
    group = {c.kind: c.group for c in registry.node_contracts}
    expected: dict[str, set[str]] = defaultdict(set)
    for kind, layer in group.items():
        expected[layer].add(kind)
    for edge in registry.edge_contracts:
        ends = {group[kind] for kind in (*edge.src_kinds, *edge.dst_kinds)}
        expected[ends.pop() if len(ends) == 1 else edge.group].add(edge.kind)
    found = _kinds_by_layer()
    assert found == expected
    assert sum(map(len, found.values())) == len(group) + len(registry.edge_contracts)
    assert found["ast"] == {
        "AST_NODE",
        "AST_DEF",
        "AST_CALL",
        "AST_NAME",
        "AST_ATTRIBUTE",
        "AST_PARENT_OF",
    }
    assert "PY_CALLS_QNAME" in found["calls"]


def test_every_prop_is_listed_with_type_requiredness_enum_values_and_description() -> None:
    specs = canonical_spec_set()
    enums = {e.name: e.values for e in specs.prop_enums}
    sections = re.split(r"^#### ", CATALOG, flags=re.MULTILINE)
    by_kind = {
        section.split("\n", 1)[0].strip("`"): section.split("\n#", 1)[0] for section in sections[1:]
    }
    for contract in (*specs.node_contracts, *specs.edge_contracts):
        section = by_kind[contract.kind]
        for props, required in ((contract.required_props, "yes"), (contract.optional_props, "no")):
            for prop in props:
                (row,) = [r for r in section.splitlines() if r.startswith(f"| `{prop.name}` |")]
                cells = [c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]]
                assert cells[1:3] == [prop.type.value, required], (contract.kind, row)
                if prop.enum:
                    assert all(f"`{value}`" in cells[3] for value in enums[prop.enum]), row
                description = PROP_DESCRIPTIONS.get(prop.name)
                assert cells[4] == (md(description) if description else "-"), row


def test_prop_descriptions_describe_catalog_props() -> None:
    names = {p.name for p in canonical_spec_set().prop_catalog}
    assert set(PROP_DESCRIPTIONS) <= names
    described = {p.name for p in canonical_spec_set().prop_catalog if p.description}
    assert described == set(PROP_DESCRIPTIONS)


_ENTITIES = {"quot": '"', "lt": "<", "gt": ">", "35": "#"}


@given(st.text())
def test_labels_keep_registry_text_inert_in_diagrams(text: str) -> None:
    escaped = label(text)
    assert not set(escaped) & set('"<>\n\r') and escaped.isprintable()
    decoded = re.sub(r"#(quot|lt|gt|35);", lambda m: _ENTITIES[m.group(1)], escaped)
    assert decoded == "".join(c if c.isprintable() else " " for c in text)
