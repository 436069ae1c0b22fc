"""Incremental builds: after any sequence of edits, additions, deletions and renames, a build
into the same output equals a full build of the same tree, row for row, in every table (the
datasets, the violations, the rule engine's losers and the stored relations).

hypothesis drives the edits on a small package whose modules import and call each other, so the
rule edges (PY_CALLS_QNAME across files) and module names (an ``__init__.py`` coming or going
renames the modules below it) depend on more than the edited file. The compaction policy is
shrunk so that both of its paths run: segments that lose files are rewritten, small segments
are merged. The property test runs without SCIP (one scip-python run per build is too slow for
many examples); ``test_an_incremental_build_with_scip_equals_a_full_build`` runs it on the
fixture package of ``test_scip_build``.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graph.build_status import require_complete
from graph.compaction import CompactionPolicy
from graph.incremental import STATE_FILE
from graph.product_build import BuildResult, build_graph_product
from graph.repo_layers import RepoLayerOptions
from storage.deltalake.delta import data_files, read_raw_delta

SNIPPETS = (
    "def helper(x):\n    return x + 1\n",
    "from pkg.a import helper\n\n\ndef run():\n    return helper(2)\n",
    "import pkg.b\n\n\nclass Box:\n    def go(self):\n        return pkg.b.run()\n",
    "def broken(:\n    pass\n",  # a syntax error: DIAG rows, and a HAS_DIAGNOSTIC rule edge
    "",
    "VALUE: int = 3\n\n\ndef helper(y: int) -> int:\n    return y * VALUE\n",
)
PATHS = (
    "src/pkg/__init__.py",
    "src/pkg/a.py",
    "src/pkg/b.py",
    "src/pkg/sub/__init__.py",
    "src/pkg/sub/c.py",
    "src/d.py",
    "tests/t.py",
)
"""A src layout: module names (and their confidence) depend on which ``__init__.py`` exist."""
POLICIES = (
    CompactionPolicy(target_bytes=1, small_segments=1_000),  # every segment large: rewrites
    CompactionPolicy(target_bytes=1 << 30, small_segments=1),  # every segment small: merges
)

files = st.dictionaries(st.sampled_from(PATHS), st.sampled_from(SNIPPETS), min_size=1)
edit = st.one_of(
    st.tuples(st.just("write"), st.sampled_from(PATHS), st.sampled_from(SNIPPETS)),
    st.tuples(st.just("delete"), st.sampled_from(PATHS), st.just("")),
    st.tuples(st.just("rename"), st.sampled_from(PATHS), st.sampled_from(PATHS)),
)


def _write(repo: Path, files: Mapping[str, str]) -> None:
    for relpath, text in files.items():
        target = repo / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def _apply(repo: Path, action: str, path: str, argument: str) -> None:
    source = repo / path
    if action == "write":
        _write(repo, {path: argument})
    elif action == "delete":
        source.unlink(missing_ok=True)
    elif source.exists() and argument != path:
        target = repo / argument
        target.parent.mkdir(parents=True, exist_ok=True)
        source.replace(target)


NO_SCIP = RepoLayerOptions(scip=False)
SCIP_FIXTURE = Path(__file__).parent.parent / "fixtures" / "calls_pkg"


def _build(repo: Path, out: Path, **kwargs: object) -> BuildResult:
    kwargs.setdefault("layers", NO_SCIP)
    return build_graph_product(repo, out, workers=0, **kwargs)  # type: ignore[arg-type]


def _tables(out: Path) -> dict[str, pa.Table]:
    """Every table of a build, rows in a canonical order (Delta keeps none)."""
    found = {}
    for log in sorted(out.rglob("_delta_log")):
        folder = log.parent.relative_to(out).as_posix()
        if folder.startswith("registry"):
            continue
        table = read_raw_delta(out / folder)
        found[folder] = table.sort_by([(name, "ascending") for name in table.column_names])
    return found


def assert_same_tables(incremental: Path, full: Path) -> None:
    mine, theirs = _tables(incremental), _tables(full)
    assert sorted(mine) == sorted(theirs)
    for name, table in theirs.items():
        assert mine[name].num_rows == table.num_rows, name
        assert mine[name].equals(table), name


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    files, st.lists(st.lists(edit, min_size=1, max_size=3), min_size=1, max_size=3), st.booleans()
)
def test_an_incremental_build_equals_a_full_build_after_any_edits(
    tmp_path_factory: pytest.TempPathFactory,
    initial: dict[str, str],
    rounds: list[list[tuple[str, str, str]]],
    merge_small: bool,
) -> None:
    work = tmp_path_factory.mktemp("incremental")
    repo, out, fresh = work / "proj", work / "out", work / "fresh"
    _write(repo, initial)
    policy = POLICIES[merge_small]
    assert _build(repo, out, compaction=policy).full_reason is not None
    for edits in rounds:
        for action in edits:
            _apply(repo, *action)
        result = _build(repo, out, compaction=policy)
        assert result.full_reason is None
    _build(repo, fresh, compaction=policy)
    assert_same_tables(out, fresh)
    assert_rows_name_their_segments_files(out)
    shutil.rmtree(work)


def assert_rows_name_their_segments_files(out: Path) -> None:
    """Within every file segment, each props and violations row belongs to a node or edge of the
    same segment, and each relation row names its file, so dropping a file drops all its rows."""
    segments: dict[str, dict[str, pa.Table]] = {}
    for log in out.rglob("_delta_log"):
        folder = log.parent.relative_to(out).as_posix()
        for name in data_files(out / folder):
            if name.startswith("file-"):
                segments.setdefault(name, {})[folder] = pq.read_table(out / folder / name)
    for name, tables in segments.items():
        ids = set(tables["cpg_nodes_v1"].column("node_id").to_pylist())
        if "cpg_edges_v1" in tables:
            ids |= set(tables["cpg_edges_v1"].column("edge_id").to_pylist())
        for folder in ("cpg_props_v1", "cpg_props_json_v1", "cpg_build_violations"):
            if folder in tables:
                assert set(tables[folder].column("entity_id").to_pylist()) <= ids, (name, folder)
        files = set(tables["cpg_nodes_v1"].column("file_id").to_pylist())
        for folder, table in tables.items():
            if folder == "_relations/_endpoint_nodes":
                assert set(table.column("file_id").to_pylist()) <= files, (name, folder)
            elif folder.startswith("_relations/"):
                assert set(table.column("owner_file_id").to_pylist()) <= files, (name, folder)


def test_an_incremental_build_with_scip_equals_a_full_build(tmp_path: Path) -> None:
    """SCIP rows depend on every file (a call in one resolves to a definition in another): after
    an edit, a new file, a deletion and a build with no change, the output equals a full build
    of the same tree in every table; with no change, scip-python does not run and its rows stay."""
    repo, out, fresh = tmp_path / "proj", tmp_path / "out", tmp_path / "fresh"
    shutil.copytree(SCIP_FIXTURE, repo, ignore=shutil.ignore_patterns("__pycache__"))
    scip = RepoLayerOptions()
    first = _build(repo, out, layers=scip)
    assert first.layers[0].startswith("scip: scip-python 0.6.6 indexed 4 files")
    store = repo / "calls_pkg" / "store.py"
    store.write_text(store.read_text().replace("make_slug", "renamed_slug"), encoding="utf-8")
    _write(repo, {"extra.py": "from calls_pkg.text import slug\n\n\nslug('x')\n"})
    (repo / "app.py").unlink()
    edited = _build(repo, out, layers=scip)
    assert edited.full_reason is None and (edited.extracted, edited.removed) == (2, 1)
    assert edited.layers[0].startswith("scip: scip-python 0.6.6 indexed 4 files")
    before = _tables(out)
    kept = _build(repo, out, layers=scip)
    assert (kept.extracted, kept.removed) == (0, 0)
    assert kept.layers == ("scip: rows of the previous build kept (no file changed)",)
    assert kept.diagnostics == edited.diagnostics
    after = _tables(out)
    assert sorted(after) == sorted(before)
    assert all(after[name].equals(table) for name, table in before.items())
    _build(repo, fresh, layers=scip)
    assert_same_tables(out, fresh)
    kinds = _tables(out)["cpg_nodes_v1"].column("node_kind").to_pylist()
    assert "SCIP_OCCURRENCE" in kinds
    # turning SCIP off reruns the layers alone: its rows go, no file is extracted
    off = _build(repo, out)
    assert off.full_reason is None and off.extracted == 0
    kinds = _tables(out)["cpg_nodes_v1"].column("node_kind").to_pylist()
    assert "SCIP_OCCURRENCE" not in kinds
    _build(repo, fresh)
    assert_same_tables(out, fresh)


def test_what_forces_a_full_build_is_said_in_one_line(tmp_path: Path) -> None:
    repo = tmp_path / "proj"
    _write(repo, {"pkg/__init__.py": "", "pkg/a.py": SNIPPETS[0]})
    out = tmp_path / "out"
    assert _build(repo, out).full_reason == f"{out} holds no build (or an unreadable build record)"
    assert _build(repo, out).full_reason is None
    assert _build(repo, out, full=True).full_reason == "--full"
    record = require_complete(out)
    assert record.inputs["interpreter"].startswith("cpython ")
    # a previous build with other inputs: the record names what changed
    (out / "_build.json").write_text(
        (out / "_build.json").read_text().replace(record.inputs["interpreter"], "cpython 3.0.0")
    )
    reason = _build(repo, out).full_reason
    assert reason is not None and reason.startswith("the interpreter changed (cpython 3.0.0 -> ")
    (out / STATE_FILE).unlink()
    assert _build(repo, out).full_reason == "the previous build left no file state"


def test_unchanged_files_are_not_extracted_again(tmp_path: Path) -> None:
    repo = tmp_path / "proj"
    modules = {f"src/pkg/m{n}.py": SNIPPETS[n % 3] for n in range(6)}
    _write(repo, modules | {"src/pkg/__init__.py": ""})
    out = tmp_path / "out"
    _build(repo, out)
    nothing = _build(repo, out)
    assert (nothing.extracted, nothing.removed) == (0, 0)
    _write(repo, {"src/pkg/m1.py": SNIPPETS[5]})
    (repo / "src/pkg/m2.py").unlink()
    one = _build(repo, out)
    assert (one.extracted, one.removed, one.full_reason) == (1, 1, None)
    _write(repo, {"src/other/x.py": ""})
    (repo / "src/pkg/__init__.py").unlink()  # pkg/ is a namespace now: its 5 modules renamed
    renamed = _build(repo, out)
    assert (renamed.extracted, renamed.removed) == (1 + 5, 1)


def test_a_rebuild_leaves_only_the_files_of_the_latest_version(tmp_path: Path) -> None:
    """What a plain Parquet reader of ``OUT/<table>/*.parquet`` sees is exactly the table: the
    files older versions referred to are vacuumed away."""
    repo = tmp_path / "proj"
    _write(repo, {"pkg/__init__.py": "", "pkg/a.py": SNIPPETS[0], "pkg/b.py": SNIPPETS[1]})
    out = tmp_path / "out"
    _build(repo, out)
    _write(repo, {"pkg/a.py": SNIPPETS[5]})
    _build(repo, out)
    _build(repo, out, full=True)
    _write(repo, {"pkg/c.py": SNIPPETS[2]})
    result = _build(repo, out)
    for log in out.rglob("_delta_log"):
        folder = log.parent
        if "registry" in folder.relative_to(out).parts:
            continue
        parquet = sorted(folder.glob("*.parquet"))
        plain = pq.ParquetDataset(parquet).read() if parquet else None
        delta = read_raw_delta(folder)
        assert (plain.num_rows if plain else 0) == delta.num_rows, folder
        if plain is not None:
            columns = delta.column_names
            key = [(name, "ascending") for name in columns]
            assert plain.select(columns).cast(delta.schema).sort_by(key).equals(delta.sort_by(key))
    assert result.rows["cpg_nodes_v1"] == read_raw_delta(out / "cpg_nodes_v1").num_rows


def test_an_unreadable_build_record_gives_a_full_build_not_an_error(tmp_path: Path) -> None:
    repo = tmp_path / "proj"
    _write(repo, {"pkg/__init__.py": "", "pkg/a.py": SNIPPETS[0]})
    out, fresh = tmp_path / "out", tmp_path / "fresh"
    _build(repo, out)
    (out / "_build.json").write_text("{garbage", encoding="utf-8")  # a torn or edited record
    rebuilt = _build(repo, out)
    assert rebuilt.full_reason == f"{out} holds no build (or an unreadable build record)"
    assert require_complete(out).status == "complete"
    _build(repo, fresh)
    assert_same_tables(out, fresh)
