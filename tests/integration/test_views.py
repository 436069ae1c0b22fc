"""The generated per-kind views and readers on real Delta tables.

Synthetic builds (rows written with the datasets' schemas, a build record marked complete) hold
the round trips: props of every type written as prop rows come back as typed columns and rows.
On the click fixture build every emitted kind's view is compared with a pivot polars computes
from the raw tables.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from enum import StrEnum
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cpg.contract_registry import contracts_from_tables
from cpg.contracts import PropType
from generated.cpg_contracts import (
    EDGE_CONTRACTS,
    NODE_CONTRACTS,
    PROP_ENUM_TYPES,
    CalleeShape,
    EdgeKind,
    NodeKind,
    OriginQname,
    PropContract,
)
from generated.cpg_readers import NodesRow, read_edges, read_nodes
from generated.cpg_schemas import DATASET_BY_ROLE, DATASET_SCHEMAS, DatasetRole
from generated.cpg_views import (
    EDGE_ROWS,
    NODE_ROWS,
    CfgBlockNode,
    ContractViolationError,
    CstCallsiteNode,
    PyCallsQnameEdge,
    edge_spec,
    node_spec,
    open_build,
)
from graph.build_status import IncompleteBuildError, mark_complete, mark_running
from storage.deltalake.delta import write_table_delta

NODES = DATASET_BY_ROLE[DatasetRole.NODES]
EDGES = DATASET_BY_ROLE[DatasetRole.EDGES]
PROPS = DATASET_BY_ROLE[DatasetRole.PROPS]
PROPS_JSON = DATASET_BY_ROLE[DatasetRole.PROPS_JSON]
_LANES = {"str": "value_str", "int": "value_int", "float": "value_float", "bool": "value_bool"}


@dataclass
class Entity:
    """One node or edge of a synthetic build and the props it is written with."""

    kind: str
    id: str
    path: str
    props: dict[str, Any]
    src: str = "src"
    dst: str = "dst"


def write_build(out: Path, nodes: Sequence[Entity], edges: Sequence[Entity] = ()) -> Path:
    """A complete build in ``out`` holding ``nodes`` and ``edges`` (a span each) and their props."""
    started = mark_running(out, out / "repo")
    node_rows = [
        {
            "file_id": f"F:{n.path}",
            "path": n.path,
            "bstart": i,
            "bend": i + 1,
            "node_id": n.id,
            "node_kind": n.kind,
        }
        for i, n in enumerate(nodes)
    ]
    edge_rows = [
        {
            "bstart": i,
            "bend": i + 1,
            "edge_id": e.id,
            "edge_kind": e.kind,
            "src_node_id": e.src,
            "dst_node_id": e.dst,
            "path": e.path,
            "score": 0.5,
            "origin": "derived",
        }
        for i, e in enumerate(edges)
    ]
    props: list[dict[str, Any]] = []
    json_props: list[dict[str, Any]] = []
    for entity_kind, entities in (("node", nodes), ("edge", edges)):
        for entity in entities:
            for key, (prop_type, value) in entity.props.items():
                row = {"entity_kind": entity_kind, "entity_id": entity.id, "prop_key": key}
                if prop_type == "json":
                    json_props.append({**row, "value_json": value})
                else:
                    props.append({**row, _LANES[prop_type]: value})
    for name, rows in (
        (NODES, node_rows),
        (EDGES, edge_rows),
        (PROPS, props),
        (PROPS_JSON, json_props),
    ):
        write_table_delta(
            out / name, pa.Table.from_pylist(rows, schema=_plain(DATASET_SCHEMAS[name]))
        )
    mark_complete(out, started, files=1, rows={})
    return out


def _plain(schema: pa.Schema) -> pa.Schema:
    """The schema as the build writes it to Delta (dictionary columns as their values)."""
    return pa.schema(
        [f.with_type(f.type.value_type) if pa.types.is_dictionary(f.type) else f for f in schema]
    )


# --------------------------------------------------------------------------- prop values


def _values(prop: PropContract) -> st.SearchStrategy[Any]:
    if prop.enum_values is not None:
        return st.sampled_from(prop.enum_values)
    strategies: Mapping[str, st.SearchStrategy[Any]] = {
        "str": st.text(max_size=8),
        "int": st.integers(-(2**63), 2**63 - 1),
        "float": st.floats(allow_nan=False),
        "bool": st.booleans(),
        "json": st.lists(st.text(max_size=4), max_size=3).map(json.dumps),
    }
    return strategies[prop.type]


def _contract(kind: str) -> tuple[tuple[PropContract, ...], tuple[PropContract, ...]]:
    if kind in NodeKind.__members__.values():
        node = NODE_CONTRACTS[NodeKind(kind)]
        return node.required_props, node.optional_props
    edge = EDGE_CONTRACTS[EdgeKind(kind)]
    return edge.required_props, edge.optional_props


@st.composite
def _entities(draw: st.DrawFn, kinds: Sequence[str]) -> list[Entity]:
    kind = draw(st.sampled_from(kinds))
    required, optional = _contract(kind)
    entities = []
    for index in range(draw(st.integers(1, 4))):
        props = {p.name: (p.type, draw(_values(p))) for p in required}
        for prop in optional:
            if draw(st.booleans()):
                props[prop.name] = (prop.type, draw(_values(prop)))
        entities.append(
            Entity(kind, f"{kind}:{index}", draw(st.sampled_from(["a.py", "b.py"])), props)
        )
    return entities


def _kinds_with(prop_type: PropType) -> list[str]:
    kinds = [
        kind.value
        for kind, contract in (*NODE_CONTRACTS.items(), *EDGE_CONTRACTS.items())
        if any(p.type == prop_type for p in (*contract.required_props, *contract.optional_props))
    ]
    assert kinds, prop_type
    return kinds


def _expected(entity: Entity, row_type: type[Any]) -> dict[str, Any]:
    """What a typed row of ``entity`` must hold, prop by prop (absent optional props: None)."""
    required, optional = _contract(entity.kind)
    expected = {}
    for prop in (*required, *optional):
        value = entity.props.get(prop.name, (None, None))[1]
        if value is not None and prop.enum is not None:
            value = PROP_ENUM_TYPES[prop.enum](value)
        expected[prop.name] = value
    assert {f.name for f in fields(row_type)} >= set(expected)
    return expected


_SETTINGS = settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.mark.parametrize("prop_type", list(PropType))
@_SETTINGS
@given(data=st.data())
def test_props_of_each_type_round_trip_through_the_views(
    prop_type: PropType, data: st.DataObject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    entities = data.draw(_entities(_kinds_with(prop_type)))
    kind = entities[0].kind
    is_node = kind in NodeKind.__members__.values()
    out = tmp_path_factory.mktemp("build")
    write_build(out, entities if is_node else (), () if is_node else entities)
    build = open_build(out)
    scan = build.nodes(NodeKind(kind)) if is_node else build.edges(EdgeKind(kind))
    rows = {row.node_id if is_node else row.edge_id: row for row in scan.rows()}  # type: ignore[attr-defined]
    row_type = NODE_ROWS[NodeKind(kind)] if is_node else EDGE_ROWS[EdgeKind(kind)]
    assert set(rows) == {e.id for e in entities}
    for entity in entities:
        row = rows[entity.id]
        assert type(row) is row_type
        for name, value in _expected(entity, row_type).items():
            got = getattr(row, name)
            assert got == value, (name, got, value)
            if isinstance(value, StrEnum):
                assert type(got) is type(value)
    table = scan.to_arrow()
    assert (
        table.schema == (node_spec(NodeKind(kind)) if is_node else edge_spec(EdgeKind(kind))).schema
    )


def test_view_schemas_follow_the_registry_contracts() -> None:
    """Every kind's view: the dataset's columns, then each prop of the contract decoded from the
    registry tables, typed by its lane, non-null exactly when required, enums as dictionaries."""
    registry = contracts_from_tables()
    lanes = {
        "str": pa.string(),
        "int": pa.int64(),
        "float": pa.float64(),
        "bool": pa.bool_(),
        "json": pa.string(),
    }
    for entity, kinds, spec_of, dataset in (
        ("node", registry.node_kinds, lambda k: node_spec(NodeKind(k)), NODES),
        ("edge", registry.edge_kinds, lambda k: edge_spec(EdgeKind(k)), EDGES),
    ):
        for kind in kinds:
            contract = (
                registry.node_contract(kind) if entity == "node" else registry.edge_contract(kind)
            )
            schema = spec_of(kind).schema
            props = [(p, True) for p in contract.required_props] + [
                (p, False) for p in contract.optional_props
            ]
            columns = DATASET_SCHEMAS[dataset].names
            assert schema.names == columns + [p.name for p, _ in props if p.name not in columns]
            for prop, required in props:
                field = schema.field(prop.name)
                expected = pa.dictionary(pa.int32(), pa.string()) if prop.enum else lanes[prop.type]
                assert field.type == expected, (kind, prop.name)
                assert field.nullable is not required, (kind, prop.name)


def _callsites(out: Path, count: int = 5, *, shape: str = "NAME", drop: str | None = None) -> Path:
    entities = []
    for index in range(count):
        props: dict[str, Any] = {
            "callee_shape": ("str", shape if index == count - 1 else "NAME"),
            "arg_count": ("int", index),
            "callee_text": ("str", f"f{index}"),
            "callee_qnames": ("json", json.dumps([f"m.f{index}"])),
        }
        if drop is not None and index == count - 1:
            del props[drop]
        entities.append(
            Entity("CST_CALLSITE", f"CST_CALLSITE:{index}", "ab"[index % 2] + ".py", props)
        )
    return write_build(out, entities)


def test_a_missing_required_prop_is_named_or_skipped(tmp_path: Path) -> None:
    build = open_build(_callsites(tmp_path, drop="arg_count"))
    with pytest.raises(
        ContractViolationError,
        match=r"CST_CALLSITE CST_CALLSITE:4: required prop 'arg_count' is missing \(1 row",
    ):
        build.nodes(CstCallsiteNode).to_arrow()
    rows = list(build.nodes(CstCallsiteNode, skip_violations=True).rows())
    assert sorted(r.node_id for r in rows) == [f"CST_CALLSITE:{i}" for i in range(4)]


def test_an_enum_value_outside_its_enum_is_named(tmp_path: Path) -> None:
    build = open_build(_callsites(tmp_path, shape="LAMBDA"))
    with pytest.raises(
        ContractViolationError, match="'callee_shape' has a value outside enum 'callee_shape'"
    ):
        list(build.nodes(NodeKind.CST_CALLSITE).rows())
    assert build.nodes(CstCallsiteNode, skip_violations=True).to_arrow().num_rows == 4


def test_an_incomplete_build_is_refused(tmp_path: Path) -> None:
    _callsites(tmp_path)
    mark_running(tmp_path, tmp_path / "repo")
    with pytest.raises(IncompleteBuildError, match="has not completed"):
        open_build(tmp_path)
    with pytest.raises(IncompleteBuildError):
        read_nodes(tmp_path)


def test_filters_are_pushed_down_and_where_sees_props(tmp_path: Path) -> None:
    build = open_build(_callsites(tmp_path, count=6))
    on_a = build.nodes(CstCallsiteNode, paths=["a.py"]).to_arrow()
    assert on_a["node_id"].to_pylist() == ["CST_CALLSITE:0", "CST_CALLSITE:2", "CST_CALLSITE:4"]
    by_file = build.nodes(CstCallsiteNode, file_ids=["F:b.py"], columns=["node_id"]).to_arrow()
    assert by_file["node_id"].to_pylist() == ["CST_CALLSITE:1", "CST_CALLSITE:3", "CST_CALLSITE:5"]
    picked = build.nodes(CstCallsiteNode, ids=["CST_CALLSITE:3", "nope"], columns=["arg_count"])
    assert picked.to_arrow().to_pylist() == [{"arg_count": 3}]
    where = (pc.field("arg_count") >= 2) & (pc.field("callee_shape") == "NAME")
    assert build.nodes(CstCallsiteNode, where=where, columns=["node_id"]).to_arrow().num_rows == 4
    with pytest.raises(ValueError, match="has no column 'nope'"):
        read_edges(tmp_path, columns=["nope"])
    with pytest.raises(ValueError, match="CST_CALLSITE has no column 'nope'"):
        build.nodes(CstCallsiteNode, columns=["nope"])


def test_columns_read_only_the_props_they_name(tmp_path: Path) -> None:
    build = open_build(_callsites(tmp_path))
    (tmp_path / PROPS_JSON).rename(tmp_path / "moved")
    plain = build.nodes(CstCallsiteNode, columns=["node_id", "arg_count"]).to_arrow()
    assert plain.column_names == ["node_id", "arg_count"]
    assert plain["arg_count"].to_pylist() == [0, 1, 2, 3, 4]
    with pytest.raises(FileNotFoundError, match=PROPS_JSON):
        build.nodes(CstCallsiteNode, columns=["callee_qnames"]).to_arrow()
    with pytest.raises(
        ValueError, match="typed rows of CST_CALLSITE need exactly its view's columns"
    ):
        next(build.nodes(CstCallsiteNode, columns=["node_id"]).rows())


def test_chunks_and_batches_stream_the_same_rows(tmp_path: Path) -> None:
    build = open_build(_callsites(tmp_path, count=9))
    whole = build.nodes(CstCallsiteNode).to_arrow().sort_by("node_id")
    chunked = build.nodes(CstCallsiteNode)
    chunked._chunk_rows = 2  # noqa: SLF001 - several chunks, each its own props scan
    batches = list(chunked.to_batches())
    assert sum(b.num_rows for b in batches) == 9
    assert pa.Table.from_batches(batches).sort_by("node_id").equals(whole)


def test_polars_duckdb_and_arrow_streams_agree(tmp_path: Path) -> None:
    scan = open_build(_callsites(tmp_path)).nodes(CstCallsiteNode)
    table = scan.to_arrow().sort_by("node_id")
    frame = scan.to_polars().sort("node_id").collect()
    assert frame.to_arrow().cast(_plain(table.schema)).equals(table.cast(_plain(table.schema)))
    projected = scan.to_polars().select("node_id", "arg_count").filter(pl.col("arg_count") > 2)
    assert projected.collect()["node_id"].to_list() == ["CST_CALLSITE:3", "CST_CALLSITE:4"]
    relation = scan.to_duckdb(duckdb.connect())
    assert relation.aggregate("sum(arg_count)").fetchall() == [(10,)]
    assert relation.filter("callee_text = 'f2'").project("node_id").fetchall() == [
        ("CST_CALLSITE:2",)
    ]
    assert pa.table(scan).num_rows == 5


def test_dataset_readers_and_typed_kinds(tmp_path: Path) -> None:
    _callsites(tmp_path)
    nodes = read_nodes(tmp_path, where=pc.field("path") == "b.py")
    rows = list(nodes.rows())
    assert [type(r) for r in rows] == [NodesRow, NodesRow]
    assert all(r.node_kind is NodeKind.CST_CALLSITE for r in rows)
    assert read_nodes(tmp_path, columns=["node_id"]).to_arrow().num_rows == 5


def test_endpoint_props_join_the_edges_ends(tmp_path: Path) -> None:
    qname = Entity("PY_QUALIFIED_NAME", "PY_QUALIFIED_NAME:1", "a.py", {"qname": ("str", "m.f")})
    site = Entity(
        "CST_CALLSITE",
        "CST_CALLSITE:1",
        "a.py",
        {"callee_shape": ("str", "NAME"), "arg_count": ("int", 0), "callee_text": ("str", "f")},
    )
    call = Entity(
        "PY_CALLS_QNAME",
        "edge:1",
        "a.py",
        {
            "origin": ("str", "libcst"),
            "qname_source": ("str", "syntactic"),
            "score": ("float", 0.25),
        },
        src=site.id,
        dst=qname.id,
    )
    build = open_build(write_build(tmp_path, [qname, site], [call]))
    edges = build.edges(PyCallsQnameEdge, src_props=["callee_text"], dst_props=["qname"])
    (row,) = edges.to_arrow().to_pylist()
    assert (row["src_callee_text"], row["dst_qname"], row["score"]) == ("f", "m.f", 0.25)
    (typed,) = build.edges(PyCallsQnameEdge).rows()
    assert typed.origin is OriginQname.LIBCST and typed.score == 0.25  # the props, not the columns
    with pytest.raises(ValueError, match="no dst kind of PY_CALLS_QNAME"):
        build.edges(PyCallsQnameEdge, dst_props=["callee_text"])


def test_violations_and_rule_losers_read_typed(click_build: Path) -> None:
    build = open_build(click_build)
    record = json.loads((click_build / "_build.json").read_text())
    assert build.violations().to_arrow().num_rows == record["rows"]["cpg_build_violations"]
    losers = list(build.rule_losers().rows())
    assert losers and {loser.reason for loser in losers} <= {"AMBIGUITY_POLICY", "DUPLICATE_EDGE"}


# --------------------------------------------------------------------------- the click build


@functools.cache
def _raw(out: Path, name: str) -> pl.DataFrame:
    return pl.read_delta(str(out / name))


def _polars_pivot(out: Path, entity: str, kind: str, props: Sequence[PropContract]) -> pl.DataFrame:
    """The kind's rows with each prop joined from the raw tables by polars."""
    dataset, id_column, kind_column = (
        (NODES, "node_id", "node_kind") if entity == "node" else (EDGES, "edge_id", "edge_kind")
    )
    frame = _raw(out, dataset).filter(pl.col(kind_column) == kind)
    frame = frame.drop([p.name for p in props if p.name in frame.columns])
    for prop in props:
        table = PROPS_JSON if prop.type == "json" else PROPS
        lane = "value_json" if prop.type == "json" else _LANES[prop.type]
        values = (
            _raw(out, table)
            .filter((pl.col("entity_kind") == entity) & (pl.col("prop_key") == prop.name))
            .select(pl.col("entity_id").alias(id_column), pl.col(lane).alias(prop.name))
        )
        frame = frame.join(values, on=id_column, how="left")
    return frame


def _emitted(out: Path, dataset: str, column: str) -> list[str]:
    return sorted(_raw(out, dataset)[column].unique().to_list())


def _compare(view: pa.Table, oracle: pl.DataFrame, id_column: str) -> None:
    mine = pl.from_arrow(view.cast(_plain(view.schema)))
    assert isinstance(mine, pl.DataFrame)
    mine = mine.select(oracle.columns).sort(id_column)
    assert mine.equals(oracle.sort(id_column)), id_column


def test_every_emitted_kind_equals_a_polars_pivot_of_the_raw_tables(click_build: Path) -> None:
    build = open_build(click_build)
    node_kinds = _emitted(click_build, NODES, "node_kind")
    edge_kinds = _emitted(click_build, EDGES, "edge_kind")
    assert len(node_kinds) > 35 and len(edge_kinds) > 20
    for kind in node_kinds:
        contract = NODE_CONTRACTS[NodeKind(kind)]
        props = (*contract.required_props, *contract.optional_props)
        oracle = _polars_pivot(click_build, "node", kind, props)
        _compare(build.nodes(NodeKind(kind)).to_arrow(), oracle, "node_id")
    for kind in edge_kinds:
        edge = EDGE_CONTRACTS[EdgeKind(kind)]
        props = (*edge.required_props, *edge.optional_props)
        oracle = _polars_pivot(click_build, "edge", kind, props)
        _compare(build.edges(EdgeKind(kind)).to_arrow(), oracle, "edge_id")


def test_typed_rows_of_the_click_build(click_build: Path) -> None:
    build = open_build(click_build)
    blocks = list(build.nodes(CfgBlockNode, paths=["utils.py"]).rows())
    assert blocks and all(isinstance(b.start_off, int) and b.start_off < b.end_off for b in blocks)
    assert {b.is_entry for b in blocks} == {True, False}
    sites = list(build.nodes(CstCallsiteNode, paths=["core.py"]).rows())
    assert {s.callee_shape for s in sites} <= set(CalleeShape) and len(sites) > 100
