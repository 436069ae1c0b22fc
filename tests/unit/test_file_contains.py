"""FILE_CONTAINS against its contract: one edge per node of a contained kind, none to others."""

from __future__ import annotations

from collections import Counter

from cpg.edge_contracts import EDGE_CONTRACTS
from cpg.props import PROP_ENUMS
from graph.extract.file_contains import ROLE_OF_KIND
from graph.extract.file_facts import extract_file
from graph.extract.filesystem import file_node_id
from tests.unit.test_extractors import check_contracts, props_of

(CONTRACT,) = [c for c in EDGE_CONTRACTS if c.kind == "FILE_CONTAINS"]


def test_every_kind_the_contract_allows_has_a_role_of_the_role_enum() -> None:
    assert set(ROLE_OF_KIND) == set(CONTRACT.dst_kinds)
    (roles,) = [e.values for e in PROP_ENUMS if e.name == "role"]
    assert set(ROLE_OF_KIND.values()) <= set(roles)


def test_each_contained_node_of_a_file_has_one_edge_with_its_role() -> None:
    data = b"def f(:\n    pass\nx = 'ok'  # tree-sitter keeps going\n"
    facts = extract_file("repo", "pkg/m.py", data)
    check_contracts(facts)
    file_id = file_node_id("repo", "pkg/m.py")
    edges = [e for e in facts.edges if e.edge_kind == "FILE_CONTAINS"]
    targets = Counter(e.dst_node_id for e in edges)
    kinds = {n.node_id: n.node_kind for n in facts.nodes}
    contained = {i for i, kind in kinds.items() if kind in ROLE_OF_KIND}
    assert set(targets) == contained and set(targets.values()) == {1}
    assert {kinds[i] for i in contained} == {"TS_NODE", "TS_MISSING", "DIAG"}
    assert all(e.src_node_id == file_id and e.edge_owner_file_id == file_id for e in edges)
    props = props_of(facts)
    roles = Counter((kinds[e.dst_node_id], props[e.edge_id]["role"].value) for e in edges)
    assert set(roles) == {("TS_NODE", "syntax"), ("TS_MISSING", "syntax"), ("DIAG", "diag")}


def test_ast_symtable_and_bytecode_nodes_are_not_contained() -> None:
    facts = extract_file("repo", "m.py", b"def f(x):\n    return x + 1\n")
    kinds = {n.node_id: n.node_kind for n in facts.nodes}
    targets = {kinds[e.dst_node_id] for e in facts.edges if e.edge_kind == "FILE_CONTAINS"}
    assert {"TS_NODE", "CST_DEF", "PY_DEF_SITE"} <= targets
    assert not any(kind.startswith(("AST_", "SYM_", "BC_", "CFG_")) for kind in targets)
    assert {"AST_DEF", "SYM_SCOPE", "BC_INSTR"} <= set(kinds.values())
