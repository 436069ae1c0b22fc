"""Qualified names of the LibCST layer: call targets against hand-checked calls of a fixture
package, and ``QualifiedNames.of`` against LibCST's own ``FullyQualifiedNameProvider``."""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

import libcst as cst
import pytest
from libcst.helpers.module import ModuleNameAndPackage
from libcst.metadata import FullyQualifiedNameProvider, MetadataWrapper, ScopeProvider

from graph.extract.cst_qnames import QualifiedNames
from graph.extract.file_facts import extract_file
from graph.extract.filesystem import package_dirs
from graph.extract.module_names import ModuleNames
from graph.extract.rows import FileFacts

FIXTURE = Path(__file__).parent.parent / "fixtures" / "qname_pkg"
STDLIB = Path(os.__file__).parent

Call = tuple[str, int, str]
"""``(path, line, callee text)`` of a call."""

# Every call of the fixture, written down by hand: the function or class it names, as
# (qualified name, file that defines it). Empty where a rule joining qualified names cannot know:
# builtins and other libraries (no definition in the repository), methods of a local variable,
# a call through a parameter (``cls(name)``), a method reached through a re-export.
EXPECTED: dict[Call, set[tuple[str, str]]] = {
    # shop/util.py
    ("shop/util.py", 6, "text.lower"): set(),
    ("shop/util.py", 6, "text.lower().replace"): set(),
    ("shop/util.py", 10, "json.dumps"): set(),  # the stdlib's
    ("shop/util.py", 14, "osp.join"): set(),  # os.path.join through an alias
    ("shop/util.py", 14, "slug"): {("shop.util.slug", "shop/util.py")},
    # shop/orders.py
    ("shop/orders.py", 7, "make_slug"): {("shop.util.slug", "shop/util.py")},  # aliased import
    ("shop/orders.py", 12, "self.check"): {("shop.orders.Order.check", "shop/orders.py")},
    ("shop/orders.py", 15, "util.dump"): {("shop.util.dump", "shop/util.py")},  # relative
    ("shop/orders.py", 19, "cls.build"): {("shop.orders.Order.build", "shop/orders.py")},
    ("shop/orders.py", 23, "cls"): set(),  # Order itself, through the parameter
    ("shop/orders.py", 27, "Order"): {("shop.orders.Order", "shop/orders.py")},
    ("shop/orders.py", 28, "order.add"): set(),  # Order.add, through a local variable
    # shop/sub/report.py
    ("shop/sub/report.py", 8, "make_order"): {("shop.make_order", "shop/__init__.py")},
    ("shop/sub/report.py", 9, "Order.empty"): {("shop.orders.Order.empty", "shop/orders.py")},
    ("shop/sub/report.py", 10, "print"): set(),
    ("shop/sub/report.py", 10, "path_of"): {("shop.util.path_of", "shop/util.py")},
    ("shop/sub/report.py", 10, "shop.util.slug"): {("shop.util.slug", "shop/util.py")},
    ("shop/sub/report.py", 10, "len"): set(),
    # app.py
    ("app.py", 7, "shop.make_order"): {("shop.make_order", "shop/__init__.py")},  # re-export
    ("app.py", 8, 'O("b").add'): set(),  # shop.orders.Order.add, through the re-export
    ("app.py", 8, "O"): {("shop.Order", "shop/__init__.py")},  # aliased re-export
    ("app.py", 9, "report"): {("shop.sub.report.report", "shop/sub/report.py")},
    ("app.py", 10, "shop.util.dump"): {("shop.util.dump", "shop/util.py")},
}


def _extract_fixture() -> dict[str, FileFacts]:
    relpaths = sorted(p.relative_to(FIXTURE).as_posix() for p in FIXTURE.rglob("*.py"))
    packages = package_dirs(relpaths)
    return {
        relpath: extract_file(
            "fixture", relpath, (FIXTURE / relpath).read_bytes(), modules=ModuleNames((), packages)
        )
        for relpath in relpaths
    }


def _line(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def test_call_targets_match_the_hand_checked_calls() -> None:
    facts = _extract_fixture()
    definitions: dict[str, set[tuple[str, str]]] = defaultdict(set)
    qname_nodes = {
        node.node_id: node.path
        for part in facts.values()
        for node in part.nodes
        if node.node_kind == "PY_QUALIFIED_NAME"
    }
    for part in facts.values():
        for row in part.relations.get("dim_qualified_names", []):
            assert qname_nodes[str(row["qname_id"])] == row["path"]  # the defining file's node
            definitions[str(row["qname"])].add((str(row["qname"]), str(row["path"])))
    found: dict[Call, set[tuple[str, str]]] = {}
    for path, part in facts.items():
        data = (FIXTURE / path).read_bytes()
        candidates: dict[str, set[str]] = defaultdict(set)
        for row in part.relations.get("callsite_qname_candidates", []):
            candidates[str(row["call_id"])].add(str(row["qname"]))
        for row in part.relations.get("cst_callsites", []):
            bstart = row["call_bstart"]
            assert isinstance(bstart, int)
            key = (path, _line(data, bstart), str(row["callee_text"]))
            assert key not in found, key
            targets = candidates[str(row["call_id"])]
            found[key] = {hit for qname in targets for hit in definitions.get(qname, ())}
    assert found == EXPECTED


def test_candidates_name_the_node_of_their_own_file() -> None:
    """``file_qname_id`` is the node the call's CALLSITE_CANDIDATE_QNAME edge reaches (the rules
    fall back to it where no file defines the name)."""
    for path, part in _extract_fixture().items():
        nodes = {node.node_id for node in part.nodes if node.node_kind == "PY_QUALIFIED_NAME"}
        edges = {
            (edge.src_node_id, edge.dst_node_id)
            for edge in part.edges
            if edge.edge_kind == "CALLSITE_CANDIDATE_QNAME"
        }
        rows = part.relations.get("callsite_qname_candidates", [])
        pairs = {(row["call_id"], row["file_qname_id"]) for row in rows}
        assert pairs == edges, path
        assert {node for _, node in pairs} <= nodes


def test_a_name_bound_at_several_sites_is_defined_once_at_the_first() -> None:
    """One ``dim_qualified_names`` row per name a file defines: a second row would join every
    call of the name twice, a rival of itself."""
    source = b"import sys\n\nif sys.platform == 'win32':\n    def nl(): ...\n"
    source += b"else:\n    def nl(): ...\nX = 1\nX = 2\n"
    part = extract_file("fixture", "m.py", source, modules=ModuleNames((), frozenset()))
    rows = part.relations["dim_qualified_names"]
    assert sorted((row["qname"], row["bstart"]) for row in rows) == [
        ("m.X", source.index(b"X = 1")),
        ("m.nl", source.index(b"nl")),
        ("m.sys", source.index(b"sys")),
    ]


def test_fixture_definitions_and_module_names() -> None:
    facts = _extract_fixture()
    defined = {
        (str(row["path"]), str(row["qname"]))
        for part in facts.values()
        for row in part.relations.get("dim_qualified_names", [])
    }
    assert {
        ("shop/__init__.py", "shop.make_order"),
        ("shop/__init__.py", "shop.Order"),
        ("shop/__init__.py", "shop.util"),
        ("shop/orders.py", "shop.orders.Order.__init__"),
        ("shop/orders.py", "shop.orders.make_slug"),
        ("shop/util.py", "shop.util.osp"),
        ("app.py", "app.main"),
        ("app.py", "app.O"),
    } <= defined
    modules = {
        node.path: part.columns[("node", "module_fqn", False)].values[0]
        for part in facts.values()
        for node in part.nodes
        if node.node_kind == "PY_MODULE_FQN"
    }
    assert modules["shop/sub/report.py"] == "shop.sub.report"
    assert modules["shop/__init__.py"] == "shop"


@pytest.mark.parametrize(
    ("relpath", "module", "package"),
    [
        ("email/_header_value_parser.py", "email._header_value_parser", "email"),
        ("importlib/__init__.py", "importlib", "importlib"),
        ("asyncio/base_events.py", "asyncio.base_events", "asyncio"),
    ],
)
def test_qualified_names_equal_libcsts_provider(relpath: str, module: str, package: str) -> None:
    wrapper = MetadataWrapper(
        cst.parse_module((STDLIB / relpath).read_text(encoding="utf-8")),
        cache={FullyQualifiedNameProvider: ModuleNameAndPackage(module, package)},
    )
    provider = wrapper.resolve(FullyQualifiedNameProvider)
    scopes = wrapper.resolve(ScopeProvider)
    names = QualifiedNames(module, file_id="F", path=relpath)
    names.set_package(relpath.endswith("__init__.py"))
    checked = 0
    for node, scope in scopes.items():
        if scope is None or not isinstance(node, (cst.Name, cst.Attribute, cst.Call)):
            continue
        assert names.of(scope, node) == sorted(q.name for q in provider[node]), node
        checked += 1
    assert checked > 200
