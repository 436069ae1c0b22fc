"""graph.extract against the CPG contracts, on real source snippets and real stdlib files."""

from __future__ import annotations

import ast
import codecs
import hashlib
import json
import os
import subprocess
import sys
import textwrap
from collections import Counter, defaultdict
from collections.abc import Iterable
from itertools import pairwise
from pathlib import Path
from types import SimpleNamespace

import pytest

from cpg.contracts import PropSpec, PropType
from cpg.edge_contracts import EDGE_CONTRACTS
from cpg.node_contracts import NODE_CONTRACTS
from cpg.props import PROP_ENUMS
from cpg.registry_specs import dataset_for_role
from cpg.validation import extractor_problem
from graph.extract.file_facts import extract_file
from graph.extract.filesystem import extract_repo, file_node_id, normalize_relpath
from graph.extract.module_names import ImportRoot, ModuleNames, package_dirs
from graph.extract.ids import edge_id, stable_id
from graph.extract.provenance import EDGE_ORIGIN, NODE_SOURCE
from graph.extract.rows import EdgeRow, FileFacts, NodeRow, PropRow
from graph.extract.source import LineIndex
from graph.facts_tables import DATASETS, plain_tables

REPO = "test-repo"
NODES = {c.kind: c for c in NODE_CONTRACTS}
EDGES = {c.kind: c for c in EDGE_CONTRACTS}
ENUMS = {e.name: frozenset(e.values) for e in PROP_ENUMS}
PY_TYPES: dict[PropType, type] = {
    PropType.STR: str,
    PropType.INT: int,
    PropType.FLOAT: float,
    PropType.BOOL: bool,
    PropType.JSON: str,
}

RICH = '''\
"""Module docstring."""
from __future__ import annotations

import os
from typing import Any

counter = 0


def deco(fn):
    return fn


@deco
class Box:
    size: int = 1

    def grow(self, by: int = 1) -> int:
        global counter
        counter += 1
        self.size += by
        return self.size


async def fetch(items):
    async with items as it:
        async for x in it:
            await x
    return [y * 2 for y in items if y] + list(z for z in items)


def outer():
    n = 0

    def inner():
        nonlocal n
        n += 1
        return lambda k=n: k + n

    try:
        inner()
    except (ValueError, KeyError) as exc:
        raise RuntimeError("bad") from exc
    finally:
        n = -1
    with open(os.devnull) as fh:
        fh.read()
    match n:
        case 0 | 1:
            pass
        case [a, *rest]:
            del a, rest
        case {"k": v}:
            print(v)
        case _:
            pass
    if n in {"a", "b", "c", "d"} or (1, 2.5, "x") == n:
        pass
    if (m := n) is None or m > 2 and not m:
        return f"{m!r:>10} and {n}"
    return {k: v for k, v in os.environ.items()}
'''


def write(tmp_path: Path, relpath: str, data: str | bytes) -> bytes:
    """Write a snippet into a tmp repo and read back the bytes the pipeline would see."""
    target = tmp_path / relpath
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data.encode() if isinstance(data, str) else data)
    return target.read_bytes()


def extract(tmp_path: Path, relpath: str, data: str | bytes) -> FileFacts:
    return extract_file(REPO, relpath, write(tmp_path, relpath, data))


def props_of(facts: FileFacts) -> dict[str, dict[str, PropRow]]:
    table: dict[str, dict[str, PropRow]] = defaultdict(dict)
    for prop in facts.props:
        assert prop.prop_key not in table[prop.entity_id], prop
        table[prop.entity_id][prop.prop_key] = prop
    return table


def check_prop(where: str, spec: PropSpec, prop: PropRow) -> None:
    value = prop.value
    assert prop.is_json == (spec.type == PropType.JSON), (where, prop)
    if spec.type == PropType.JSON:
        assert isinstance(value, str), (where, prop)
        json.loads(value)
        return
    expected = PY_TYPES[spec.type]
    assert isinstance(value, expected), (where, prop, expected)
    if expected is int:
        assert not isinstance(value, bool), (where, prop)
    if spec.enum is not None:
        assert value in ENUMS[spec.enum], (where, prop, spec.enum)


def check_props(
    where: str, required: Iterable[PropSpec], optional: Iterable[PropSpec], have: dict[str, PropRow]
) -> None:
    required = tuple(required)
    specs = {spec.name: spec for spec in (*required, *optional)}
    for spec in required:
        assert spec.name in have, f"{where}: missing required prop {spec.name}"
    for key, prop in have.items():
        assert key in specs, f"{where}: prop {key} is not declared by the contract"
        check_prop(where, specs[key], prop)


def check_contracts(facts: FileFacts) -> None:
    """Every row against NODE_CONTRACTS / EDGE_CONTRACTS, plus id and span invariants."""
    props = props_of(facts)
    kinds = {node.node_id: node.node_kind for node in facts.nodes}
    assert len({n.node_id for n in facts.nodes}) == len(facts.nodes), "duplicate node ids"
    assert len({e.edge_id for e in facts.edges}) == len(facts.edges), "duplicate edge ids"
    for node in facts.nodes:
        node_contract = NODES[node.node_kind]
        assert NODE_SOURCE[node.node_kind] in node_contract.allowed_sources, node.node_kind
        assert isinstance(node.node_kind, str) and type(node.node_kind) is str
        check_props(
            f"{node.node_kind} {node.node_id}",
            node_contract.required_props,
            node_contract.optional_props,
            props.get(node.node_id, {}),
        )
        if node_contract.requires_anchor:
            assert node.bstart is not None and node.bend is not None, node
        assert (node.bstart is None) == (node.bend is None), node
        if node.bstart is not None:
            assert node.bend is not None and 0 <= node.bstart <= node.bend, node
        if node.node_kind != "PY_REPO":
            assert node.file_id and node.path, node
    for edge in facts.edges:
        contract = EDGES[edge.edge_kind]
        where = f"{edge.edge_kind} {edge.edge_id}"
        assert type(edge.edge_kind) is str and type(edge.origin) is str, where
        assert edge.origin in contract.allowed_sources, where
        assert edge.origin == EDGE_ORIGIN[edge.edge_kind], where
        assert kinds[edge.src_node_id] in contract.src_kinds, (where, kinds[edge.src_node_id])
        assert kinds[edge.dst_node_id] in contract.dst_kinds, (where, kinds[edge.dst_node_id])
        assert edge.edge_id == edge_id(
            edge.edge_kind, edge.src_node_id, edge.dst_node_id, edge.path, edge.bstart, edge.bend
        ), where
        check_props(
            where, contract.required_props, contract.optional_props, props.get(edge.edge_id, {})
        )
    entity_ids = {n.node_id for n in facts.nodes} | {e.edge_id for e in facts.edges}
    for prop in facts.props:
        assert prop.entity_id in entity_ids, prop
        assert prop.entity_kind == ("node" if prop.entity_id in kinds else "edge"), prop


def _int(prop: PropRow) -> int:
    assert isinstance(prop.value, int)
    return prop.value


def by_kind(facts: FileFacts) -> Counter[str]:
    return Counter([n.node_kind for n in facts.nodes] + [e.edge_kind for e in facts.edges])


# --- ids and rows -----------------------------------------------------------------------------


def test_stable_id_follows_the_documented_recipe() -> None:
    payload = "\x1f".join(["AST_NODE", "f1", "None", "3"]).encode()
    digest = hashlib.blake2b(payload, digest_size=8).digest()
    expected = f"AST_NODE:{int.from_bytes(digest, 'big') & (2**63 - 1)}"
    assert stable_id("AST_NODE", "f1", None, 3) == expected
    assert stable_id("edge", "K", "a", "b") == edge_id("K", "a", "b")
    assert edge_id("K", "a", "b", "p.py", 1, 2) == stable_id("edge", "K", "a", "b", "p.py", 1, 2)
    assert edge_id("K", "a", "b", "p.py", None, 2) == edge_id("K", "a", "b")
    assert 0 <= int(stable_id("x", "y").split(":")[1]) < 2**63


def test_prop_lanes_pick_one_value_column() -> None:
    lanes = ("value_str", "value_int", "value_float", "value_bool", "value_json")
    contracts = {role: dataset_for_role(role) for role in DATASETS}

    def lanes_of(value: object, is_json: bool = False) -> tuple[object, ...]:
        facts = FileFacts()
        facts.add_prop(PropRow("node", "n", "k", value, is_json))  # type: ignore[arg-type]
        plain = plain_tables(facts, contracts)
        (row,) = (plain.props_json if is_json else plain.props).to_pylist()
        return tuple(row[lane] for lane in lanes)

    assert lanes_of(True) == (None, None, None, True, None)
    assert lanes_of(3) == (None, 3, None, None, None)
    assert lanes_of(0.5) == (None, None, 0.5, None, None)
    assert lanes_of("s") == ("s", None, None, None, None)
    assert lanes_of("[1]", True) == (None, None, None, None, "[1]")


def test_file_facts_merge_and_skip_none_props() -> None:
    one, two = FileFacts(), FileFacts()
    one.add_node(NodeRow("a", "AST_NODE", "p", "f"), {"ast_type": "Pass", "lineno": None})
    two.add_node(NodeRow("b", "AST_NODE", "p", "f"), json_props={"details": {"b": 1, "a": 2}})
    merged = FileFacts.merge([one, two])
    assert [n.node_id for n in merged.nodes] == ["a", "b"]
    assert [(p.prop_key, p.value, p.is_json) for p in merged.props] == [
        ("ast_type", "Pass", False),
        ("details", '{"a":2,"b":1}', True),
    ]
    edge = EdgeRow("e", "K", "a", "b", "p", None, None, "py_ast")
    assert edge.edge_owner_file_id is None and edge.confidence is None


def test_implemented_extractors_resolve_for_the_derivations() -> None:
    for ref in (
        "graph.extract.ast_extract:extract_ast_tables",
        "graph.extract.symtable_extract:extract_symtables_table",
        "graph.extract.bytecode_extract:extract_bytecode_table",
        "graph.extract.tree_sitter_extract:extract_ts_tables",
        "graph.extract.file_contains:extract_file_contains",
        "graph.extract.dataflow_extract:extract_dataflow",
        "graph.extract.bytecode_anchor:extract_bytecode_anchors",
    ):
        assert extractor_problem(ref) is None, ref


# --- one rich file against the contracts ------------------------------------------------------


def test_rich_file_rows_satisfy_the_contracts(tmp_path: Path) -> None:
    facts = extract(tmp_path, "pkg/rich.py", RICH)
    check_contracts(facts)
    counts = by_kind(facts)
    for kind in (
        "PY_FILE",
        "PY_MODULE",
        "AST_NODE",
        "AST_DEF",
        "AST_CALL",
        "AST_NAME",
        "AST_ATTRIBUTE",
        "SYM_SCOPE",
        "SYM_SYMBOL",
        "BC_CODE_UNIT",
        "BC_INSTR",
        "CFG_BLOCK",
        "CFG_EXIT",
        "AST_PARENT_OF",
        "SCOPE_PARENT",
        "FILE_DECLARES_MODULE",
        "CFG_NEXT",
        "CFG_JUMP",
        "CFG_BRANCH_TRUE",
        "CFG_BRANCH_FALSE",
        "CFG_BRANCH",
        "CFG_EXC",
        "TS_NODE",
        "TS_PARENT_OF",
        "FILE_CONTAINS",
        "DF_DEF",
        "DF_USE",
        "STEP_DEF",
        "STEP_USE",
        "REACHES",
        "BYTECODE_ANCHOR",
    ):
        assert counts[kind] > 0, kind
    assert counts["DIAG"] == counts["TS_ERROR"] == counts["TS_MISSING"] == 0
    assert counts["PY_FILE"] == 1
    # one row per ast node except the shared Load/Store/Del singletons
    tree = ast.parse(RICH)
    expected = sum(1 for n in ast.walk(tree) if not isinstance(n, ast.expr_context))
    ast_kinds = ("AST_NODE", "AST_DEF", "AST_CALL", "AST_NAME", "AST_ATTRIBUTE")
    assert sum(counts[k] for k in ast_kinds) == expected
    assert counts["AST_PARENT_OF"] == expected - 1
    defs = {p["name"].value for p in _props_by_kind(facts, "AST_DEF") if "name" in p}
    assert {"deco", "Box", "grow", "fetch", "outer", "inner"} <= defs
    lambdas = [p for p in _props_by_kind(facts, "AST_DEF") if p["ast_type"].value == "Lambda"]
    assert len(lambdas) == 1 and "name" not in lambdas[0]


def _props_by_kind(facts: FileFacts, kind: str) -> list[dict[str, PropRow]]:
    props = props_of(facts)
    return [props[n.node_id] for n in facts.nodes if n.node_kind == kind]


def test_file_and_module_props(tmp_path: Path) -> None:
    data = write(tmp_path, "pkg/sub/mod.py", "x = 1\n")
    modules = ModuleNames((ImportRoot(),), frozenset({"pkg", "pkg/sub"}))
    facts = extract_file(REPO, "pkg/sub/mod.py", data, modules=modules)
    check_contracts(facts)
    (file_props,) = _props_by_kind(facts, "PY_FILE")
    assert file_props["file_sha256"].value == hashlib.sha256(data).hexdigest()
    assert file_props["size_bytes"].value == len(data)
    assert file_props["encoding"].value == "utf-8"
    (module_props,) = _props_by_kind(facts, "PY_MODULE")
    assert module_props["module_fqn"].value == "pkg.sub.mod"
    assert module_props["package_root"].value == ""
    file_id = file_node_id(REPO, "pkg/sub/mod.py")
    assert all(n.file_id == file_id and n.path == "pkg/sub/mod.py" for n in facts.nodes)
    assert all(e.edge_owner_file_id == file_id for e in facts.edges)


def test_symtable_rows(tmp_path: Path) -> None:
    facts = extract(tmp_path, "m.py", RICH)
    props = props_of(facts)
    scopes = {n.node_id: props[n.node_id] for n in facts.nodes if n.node_kind == "SYM_SCOPE"}
    names = Counter(p["scope_name"].value for p in scopes.values())
    assert names["top"] == 1 and names["inner"] == 1 and names["lambda"] == 1
    for scope_id, p in scopes.items():
        assert p["scope_id"].value == scope_id and p["is_meta_scope"].value is False
    parents = {e.src_node_id: e.dst_node_id for e in facts.edges if e.edge_kind == "SCOPE_PARENT"}
    assert len(parents) == len(scopes) - 1
    symbols = _props_by_kind(facts, "SYM_SYMBOL")
    assert all(p["scope_id"].value in scopes for p in symbols)
    inner_n = [
        p
        for p in symbols
        if p["name"].value == "n"
        and scopes[str(p["scope_id"].value)]["scope_name"].value == "inner"
    ]
    assert len(inner_n) == 1 and inner_n[0]["is_nonlocal"].value is True
    counter = [p for p in symbols if p["name"].value == "counter"]
    assert any(p["is_global"].value for p in counter)


# --- byte spans -------------------------------------------------------------------------------


def _ast_spans(facts: FileFacts, data: bytes, encoding: str, text: str) -> None:
    """Every positioned AST_NODE's bytes decode to ast.get_source_segment of its positions."""
    props = props_of(facts)
    checked = 0
    for node in facts.nodes:
        p = props[node.node_id]
        if node.node_kind == "AST_NAME" and node.bstart is not None:
            assert data[node.bstart : node.bend].decode(encoding) == p["id"].value
        if node.node_kind != "AST_NODE" or "lineno" not in p:
            continue
        pos = SimpleNamespace(
            lineno=p["lineno"].value,
            col_offset=p["col_offset"].value,
            end_lineno=p["end_lineno"].value,
            end_col_offset=p["end_col_offset"].value,
        )
        assert node.bstart is not None and node.bend is not None
        assert data[node.bstart : node.bend].decode(encoding) == ast.get_source_segment(text, pos)  # type: ignore[arg-type]
        checked += 1
    assert checked > 0


def _call_slices(facts: FileFacts, data: bytes) -> list[bytes]:
    return [
        data[n.bstart : n.bend]
        for n in facts.nodes
        if n.node_kind == "AST_CALL" and n.bstart is not None
    ]


def test_byte_spans_slice_the_source_after_non_ascii_text(tmp_path: Path) -> None:
    source = 'label = "héllo wörld ✓ 😀"; foo(1)\nclass Ç:\n    ß = bar.baz(2)\n'
    facts = extract(tmp_path, "u.py", source)
    data = source.encode()
    assert b"foo(1)" in _call_slices(facts, data)
    assert b"bar.baz(2)" in _call_slices(facts, data)
    _ast_spans(facts, data, "utf-8", source)
    instrs = [n for n in facts.nodes if n.node_kind == "BC_INSTR" and n.bstart is not None]
    assert b"foo(1)" in {data[n.bstart : n.bend] for n in instrs}


def test_byte_spans_with_bom_and_crlf(tmp_path: Path) -> None:
    source = 'x = "é"\r\ny = foo(x)\rz = x\n'
    data = codecs.BOM_UTF8 + source.encode()
    facts = extract(tmp_path, "bom.py", data)
    check_contracts(facts)
    assert _call_slices(facts, data) == [b"foo(x)"]
    _ast_spans(facts, data, "utf-8", source)
    (file_props,) = _props_by_kind(facts, "PY_FILE")
    assert file_props["encoding"].value == "utf-8-sig"


def test_byte_spans_honour_a_pep263_cookie(tmp_path: Path) -> None:
    source = '# -*- coding: latin-1 -*-\ns = "àéîõü"; foo(1)\n'
    data = source.encode("latin-1")
    facts = extract(tmp_path, "latin.py", data)
    check_contracts(facts)
    assert _call_slices(facts, data) == [b"foo(1)"]
    _ast_spans(facts, data, "latin-1", source)


def test_line_index_maps_character_columns() -> None:
    text = "é = (\nab\n"
    lines = LineIndex(text.encode(), text, "utf-8")
    assert lines.char_offset(1, 1) == 2  # after "é" (2 bytes)
    assert lines.char_offset(2, 1) == 8  # line 2 starts at byte 7
    assert lines.char_offset(9, 0) == len(text.encode())
    assert lines.line_span(2) == (7, 9)
    assert lines.offset(1, 99) is None


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "latin-1"])
def test_span_function_agrees_with_span(encoding: str) -> None:
    """The UTF-8 closure the AST walk uses gives ``span``'s answer for every position, in range
    or not (other encodings get ``span`` itself)."""
    text = "é = (\r\nab\n\nlast"
    data = (codecs.BOM_UTF8 if encoding == "utf-8-sig" else b"") + text.encode(
        "utf-8" if encoding == "utf-8-sig" else encoding
    )
    lines = LineIndex(data, text, encoding)
    fast = lines.span_function()
    positions = [(line, col) for line in range(-1, 7) for col in (-1, 0, 1, 2, 3, 5, 9)]
    for start in positions:
        for end in positions:
            assert fast(*start, *end) == lines.span(*start, *end), (start, end)


# --- stability --------------------------------------------------------------------------------


def _id_digest(repo_dir: Path) -> str:
    code = textwrap.dedent(f"""
        import hashlib, json, sys
        from pathlib import Path
        from graph.extract.file_facts import extract_file
        facts = extract_file({REPO!r}, "pkg/rich.py", Path(sys.argv[1]).read_bytes())
        rows = [list(r) for r in facts.nodes + facts.edges + facts.props]
        print(hashlib.sha256(json.dumps(rows).encode()).hexdigest())
        """)
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run(
        [sys.executable, "-c", code, str(repo_dir / "pkg/rich.py")],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    return out.stdout.strip()


def test_ids_and_rows_are_identical_across_runs_and_processes(tmp_path: Path) -> None:
    first = extract(tmp_path / "a", "pkg/rich.py", RICH)
    second = extract(tmp_path / "b", "pkg/rich.py", RICH)
    assert first == second
    rows = [list(r) for r in first.nodes + first.edges + first.props]
    local = hashlib.sha256(json.dumps(rows).encode()).hexdigest()
    assert _id_digest(tmp_path / "a") == local


def test_ids_depend_on_repo_and_path_not_location(tmp_path: Path) -> None:
    one = extract(tmp_path, "a.py", "x = 1\n")
    other = extract(tmp_path, "b.py", "x = 1\n")
    assert not {n.node_id for n in one.nodes} & {n.node_id for n in other.nodes}


# --- control flow -----------------------------------------------------------------------------

CFG_SOURCE = """\
def branch(x):
    if x:
        y = 1
    else:
        y = 2
    return y


def loop(n):
    while n > 0:
        n -= 1
    return n


def guarded():
    try:
        work()
    except ValueError:
        return 1
    return 0


def each(items):
    for item in items:
        use(item)
"""


class Cfg:
    """The CFG rows of one code unit, looked up by qualname."""

    def __init__(self, facts: FileFacts, qualname: str) -> None:
        props = props_of(facts)
        (unit,) = [
            n.node_id
            for n in facts.nodes
            if n.node_kind == "BC_CODE_UNIT" and props[n.node_id]["qualname"].value == qualname
        ]
        self.unit = unit
        self.blocks = {
            n.node_id: props[n.node_id]
            for n in facts.nodes
            if n.node_kind == "CFG_BLOCK" and props[n.node_id]["code_unit_id"].value == unit
        }
        (self.exit,) = [
            n.node_id
            for n in facts.nodes
            if n.node_kind == "CFG_EXIT" and props[n.node_id]["code_unit_id"].value == unit
        ]
        self.edges = [e for e in facts.edges if e.src_node_id in self.blocks]
        self.edge_props = {e.edge_id: props.get(e.edge_id, {}) for e in self.edges}

    def kinds(self) -> Counter[str]:
        return Counter(e.edge_kind for e in self.edges)

    def start(self, block: str) -> int:
        value = self.blocks[block]["start_off"].value
        assert isinstance(value, int)
        return value


def test_cfg_of_if_else_has_true_false_and_jump(tmp_path: Path) -> None:
    cfg = Cfg(extract(tmp_path, "cfg.py", CFG_SOURCE), "branch")
    kinds = cfg.kinds()
    assert kinds["CFG_BRANCH_TRUE"] == 1 and kinds["CFG_BRANCH_FALSE"] == 1
    true, false = (
        next(e for e in cfg.edges if e.edge_kind == k)
        for k in ("CFG_BRANCH_TRUE", "CFG_BRANCH_FALSE")
    )
    assert true.src_node_id == false.src_node_id and true.dst_node_id != false.dst_node_id
    assert str(cfg.edge_props[true.edge_id]["cond_instr_id"].value).startswith("BC_INSTR:")
    assert kinds["CFG_JUMP"] >= 1
    assert any(e.dst_node_id == cfg.exit for e in cfg.edges if e.edge_kind == "CFG_JUMP")


def test_cfg_of_while_loop_has_a_back_edge(tmp_path: Path) -> None:
    cfg = Cfg(extract(tmp_path, "cfg.py", CFG_SOURCE), "loop")
    kinds = cfg.kinds()
    assert kinds["CFG_BRANCH_TRUE"] >= 1 and kinds["CFG_BRANCH_FALSE"] >= 1
    back = [
        e
        for e in cfg.edges
        if e.dst_node_id in cfg.blocks and cfg.start(e.dst_node_id) <= cfg.start(e.src_node_id)
    ]
    assert back, "a loop needs an edge to an earlier block"


def test_cfg_of_try_except_has_exception_edges(tmp_path: Path) -> None:
    cfg = Cfg(extract(tmp_path, "cfg.py", CFG_SOURCE), "guarded")
    exc = [e for e in cfg.edges if e.edge_kind == "CFG_EXC"]
    assert exc
    for edge in exc:
        props = cfg.edge_props[edge.edge_id]
        assert isinstance(props["exc_entry_index"].value, int)
        assert edge.dst_node_id in cfg.blocks
    assert sum(1 for e in cfg.edges if e.dst_node_id == cfg.exit) >= 2  # two returns


def test_cfg_of_for_loop_uses_polarity_free_branches(tmp_path: Path) -> None:
    cfg = Cfg(extract(tmp_path, "cfg.py", CFG_SOURCE), "each")
    assert cfg.kinds()["CFG_BRANCH"] == 2


def test_cfg_blocks_partition_each_code_unit(tmp_path: Path) -> None:
    facts = extract(tmp_path, "rich.py", RICH)
    check_contracts(facts)
    props = props_of(facts)
    units = [n.node_id for n in facts.nodes if n.node_kind == "BC_CODE_UNIT"]
    blocks: dict[str, list[tuple[int, int, bool]]] = defaultdict(list)
    for node in facts.nodes:
        if node.node_kind == "CFG_BLOCK":
            p = props[node.node_id]
            blocks[str(p["code_unit_id"].value)].append(
                (_int(p["start_off"]), _int(p["end_off"]), p["is_entry"].value is True)
            )
    exits = Counter(
        props[n.node_id]["code_unit_id"].value for n in facts.nodes if n.node_kind == "CFG_EXIT"
    )
    unit_of = {
        n.node_id: props[n.node_id]["code_unit_id"].value
        for n in facts.nodes
        if n.node_kind in ("CFG_BLOCK", "CFG_EXIT")
    }
    for unit in units:
        spans = sorted(blocks[unit])
        assert spans[0][0] == 0 and spans[0][2] and not any(s[2] for s in spans[1:])
        assert all(a[1] == b[0] for a, b in pairwise(spans))
        assert exits[unit] == 1
    for edge in facts.edges:
        if edge.edge_kind.startswith("CFG_"):
            assert unit_of[edge.src_node_id] == unit_of[edge.dst_node_id]
            assert props[edge.edge_id]["code_unit_id"].value == unit_of[edge.src_node_id]


# --- bad input --------------------------------------------------------------------------------


def _diags(facts: FileFacts) -> list[dict[str, PropRow]]:
    check_contracts(facts)
    counts = by_kind(facts)
    assert counts["PY_FILE"] == 1
    assert counts["HAS_DIAGNOSTIC"] == 0  # the rule diagnostic_edges makes them (graph.rules)
    rows = facts.relations.get("diagnostics_norm", [])
    diags = [n for n in facts.nodes if n.node_kind == "DIAG"]
    assert [row["diag_id"] for row in rows] == [n.node_id for n in diags]
    props = _props_by_kind(facts, "DIAG")
    for row, node, found in zip(rows, diags, props, strict=True):
        assert (row["file_id"], row["path"], row["bstart"], row["bend"]) == (
            node.file_id,
            node.path,
            node.bstart,
            node.bend,
        )
        assert {key: row[key] for key in ("severity", "message", "diag_source", "code")} == {
            key: found[key].value for key in ("severity", "message", "diag_source", "code")
        }
    return props


@pytest.mark.parametrize(
    ("name", "data", "sources"),
    [
        ("syntax.py", b"def broken(:\n    pass\n", ("libcst", "py_ast")),
        ("undecodable.py", b"x = 1\ny = '\xff\xfe'\n", ("pipeline",)),
        ("blob.py", bytes(range(256)) * 4, ("pipeline",)),
        ("nul.py", b"x = 1\x00\n", ("libcst", "py_ast")),
        ("cookie.py", b"# -*- coding: no-such-codec -*-\nx = 1\n", ("pipeline",)),
        ("symtable.py", b"nonlocal x\n", ("libcst", "symtable")),
        ("compile.py", b"return 1\n", ("dis",)),
    ],
)
def test_bad_files_yield_file_and_diagnostic(
    tmp_path: Path, name: str, data: bytes, sources: tuple[str, ...]
) -> None:
    facts = extract(tmp_path, name, data)
    diags = _diags(facts)
    assert sorted(d["diag_source"].value for d in diags) == list(sources)
    assert {d["severity"].value for d in diags} == {"ERROR"}
    nodes = [n for n in facts.nodes if n.node_kind == "DIAG"]
    for diag in nodes:
        assert diag.bstart is not None and diag.bend is not None and diag.bend <= len(data)
    rows = facts.relations["diagnostics_norm"]
    assert {row["file_id"] for row in rows} == {file_node_id(REPO, name)}
    assert sorted(row["diag_id"] for row in rows) == sorted(n.node_id for n in nodes)


def test_diagnostic_spans_point_at_the_problem(tmp_path: Path) -> None:
    undecodable = b"x = 1\ny = '\xff'\n"
    (diag,) = [n for n in extract(tmp_path, "u.py", undecodable).nodes if n.node_kind == "DIAG"]
    assert undecodable[diag.bstart : diag.bend] == b"\xff"
    syntax = "s = 'é'\nbad = (1,\n".encode()
    facts = extract(tmp_path, "s.py", syntax)
    props = props_of(facts)
    for diag in (n for n in facts.nodes if n.node_kind == "DIAG"):
        assert diag.bstart is not None
        source = props[diag.node_id]["diag_source"].value
        if source == "py_ast":
            assert syntax[diag.bstart :].startswith(b"(1,")  # "'(' was never closed"
        else:  # LibCST reports the line of the error
            assert source == "libcst" and syntax[diag.bstart :].startswith(b"bad = (1,")


def test_stage_failures_keep_the_other_stages(tmp_path: Path) -> None:
    counts = by_kind(extract(tmp_path, "c.py", "def f():\n    pass\nreturn 1\n"))
    assert counts["AST_DEF"] == 1 and counts["SYM_SCOPE"] == 2 and counts["BC_CODE_UNIT"] == 0
    counts = by_kind(extract(tmp_path, "s.py", "def f():\n    pass\nnonlocal x\n"))
    assert counts["AST_DEF"] == 1 and counts["SYM_SCOPE"] == 0 and counts["BC_CODE_UNIT"] == 0


def test_empty_file_has_rows_and_no_diagnostic(tmp_path: Path) -> None:
    facts = extract(tmp_path, "empty.py", b"")
    assert _diags(facts) == []
    counts = by_kind(facts)
    assert counts["AST_NODE"] == 1 and counts["BC_CODE_UNIT"] == 1 and counts["SYM_SCOPE"] == 1


def test_compiler_warnings_become_warning_diagnostics(tmp_path: Path) -> None:
    facts = extract(tmp_path, "w.py", "x = '\\d'\nif x is 1:\n    pass\n")
    diags = _diags(facts)
    assert {d["severity"].value for d in diags} == {"WARNING"}
    assert {d["code"].value for d in diags} == {"DeprecationWarning", "SyntaxWarning"}
    assert by_kind(facts)["BC_CODE_UNIT"] == 1


# --- repository level -------------------------------------------------------------------------


def test_repo_rows_and_module_names(tmp_path: Path) -> None:
    paths = ["pkg/__init__.py", "pkg/sub/__init__.py", "pkg/sub/m.py", "tools/x.py", "setup.py"]
    repo = extract_repo(REPO, "/somewhere/repo", paths)
    modules = ModuleNames((), package_dirs(paths))
    files = FileFacts.merge(
        extract_file(REPO, p, write(tmp_path, p, "x = 1\n"), modules=modules) for p in paths
    )
    check_contracts(FileFacts.merge([repo, files]))
    props = props_of(repo)
    fqns = sorted(
        str(props[n.node_id]["package_fqn"].value)
        for n in repo.nodes
        if n.node_kind == "PY_PACKAGE"
    )
    assert fqns == ["pkg", "pkg.sub"]
    contained = {e.dst_node_id for e in repo.edges if e.edge_kind == "REPO_CONTAINS"}
    assert contained == {file_node_id(REPO, p) for p in paths}
    module_props = [props_of(files)[n.node_id] for n in files.nodes if n.node_kind == "PY_MODULE"]
    fqns = sorted(str(p["module_fqn"].value) for p in module_props)
    assert fqns == ["pkg", "pkg.sub", "pkg.sub.m", "setup", "tools.x"]


@pytest.mark.parametrize("bad", ["/abs/x.py", "../x.py", "a/../../x.py", "", "."])
def test_relpaths_must_stay_inside_the_repo(bad: str) -> None:
    with pytest.raises(ValueError, match="repo-relative"):
        normalize_relpath(bad)


def test_relpaths_are_normalized() -> None:
    assert normalize_relpath("./a//b.py") == "a/b.py"
    assert file_node_id(REPO, "./a/b.py") == file_node_id(REPO, "a/b.py")


# --- the real standard library ----------------------------------------------------------------


def _stdlib_sample(count: int = 30, max_bytes: int = 80_000) -> list[Path]:
    root = Path(os.__file__).parent
    files = [
        p
        for p in sorted(root.rglob("*.py"))
        if "site-packages" not in p.parts and p.stat().st_size <= max_bytes
    ]
    step = max(len(files) // count, 1)
    return files[::step][:count]


def test_stdlib_smoke(tmp_path: Path) -> None:
    root = Path(os.__file__).parent
    sample = _stdlib_sample()
    assert len(sample) == 30
    for path in sample:
        relpath = path.relative_to(root).as_posix()
        facts = extract_file("stdlib", relpath, path.read_bytes())
        check_contracts(facts)
        assert by_kind(facts)["PY_FILE"] == 1


def test_relation_rows_extend_and_merge_in_order() -> None:
    first, second = FileFacts(), FileFacts()
    first.add_relation_row("cst_callsites", {"call_id": "a"})
    second.add_relation_row("cst_callsites", {"call_id": "b"})
    second.add_relation_row("cst_defs", {"def_id": "d"})
    merged = FileFacts.merge([first, second])
    assert merged.relations == {
        "cst_callsites": [{"call_id": "a"}, {"call_id": "b"}],
        "cst_defs": [{"def_id": "d"}],
    }
    assert first.relations == {"cst_callsites": [{"call_id": "a"}]}  # merge copies
