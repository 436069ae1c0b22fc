"""The registry on an object store: a real S3 API (moto, in a child process on 127.0.0.1; see
``tests/s3_server.py``), real deltalake, real ``python -m generator`` subprocesses.

Faults are injected on the server side: it can hold, drop (TCP reset, no answer) or "lose"
(serve, then reset) matching requests while keeping its state, so "the network went away in the
middle of an export" and "the network is back" are both real for the client.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from deltalake import CommitProperties, DeltaTable, write_deltalake

from bench.scale_specs import scale_spec_set
from cpg.spec_set import SpecSet, canonical_spec_set
from storage.deltalake import registry_runner
from storage.deltalake.delta import (
    DeltaCommitConflictError,
    DeltaTableMissingError,
    TableIdentity,
    read_table_delta,
    table_version,
    write_table_delta,
)
from storage.deltalake.locations import Location, storage_options
from storage.deltalake.registry_layout import all_tables, table_path
from storage.deltalake.registry_models import FINGERPRINT_KEY, table_fingerprint
from storage.deltalake.registry_runner import (
    RegistryWriteError,
    build_registry_tables,
    export_registry,
)
from tests.conftest import S3_BUCKET
from tests.generator_support import copy_project, run_generator
from tests.s3_server import S3Server, free_port

TABLES = len(all_tables())

COMMIT = "/_delta_log/0"
"""A path fragment of every Delta commit file (``_delta_log/000...N.json``)."""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the project for the generator subprocesses (they write caches under it)."""
    return copy_project(tmp_path_factory.mktemp("s3_project"))


@pytest.fixture(scope="module")
def canonical() -> dict[str, pa.Table]:
    """The in-memory registry tables of the canonical specs, by name."""
    return _built(canonical_spec_set())


def _built(specs: SpecSet) -> dict[str, pa.Table]:
    return {
        name: t for tables in build_registry_tables(specs).values() for name, t in tables.items()
    }


def _paths(root: Location) -> Iterator[tuple[str, Location]]:
    for target, spec in all_tables():
        yield spec.name, table_path(root, target, spec.name)


def _server_path(location: Location) -> str:
    """The HTTP path of an ``s3://`` location on the server: ``/bucket/key``."""
    return "/" + str(location).removeprefix("s3://")


def _history(path: Location) -> list[dict[str, object]]:
    return list(DeltaTable(str(path), storage_options=storage_options(path)).history())


def assert_registry_is(root: Location, expected: dict[str, pa.Table]) -> None:
    """Every table reads back exactly (schema with metadata, rows) as ``expected``, and its Delta
    log is readable with contiguous versions whose latest commit names ``expected``'s content."""
    for name, path in _paths(root):
        table = read_table_delta(path)
        assert table.schema.equals(expected[name].schema, check_metadata=True), name
        assert table.equals(expected[name]), name
        history = _history(path)
        versions = sorted(int(str(commit["version"])) for commit in history)
        assert versions == list(range(len(versions))), (name, versions)
        latest = max(history, key=lambda commit: int(str(commit["version"])))
        assert latest[FINGERPRINT_KEY] == table_fingerprint(expected[name]), name


def _output(project: Path, folder: Path) -> str:
    """An ``--output`` folder holding a copy of the checked-in ``generated/``: a run whose render
    equals it writes nothing and skips black (seconds per cold run)."""
    shutil.copytree(project / "generated", folder, ignore=shutil.ignore_patterns("__pycache__"))
    return str(folder)


def _is_clean_failure(result: subprocess.CompletedProcess[str]) -> bool:
    """Exit 2 with one ``error:`` line, no traceback."""
    lines = result.stderr.strip().splitlines()
    return result.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: ")


def _start_generator(
    project: Path, *args: str, fault: str | None = None
) -> subprocess.Popen[str]:
    env = dict(os.environ)
    if fault is not None:
        env["CPG_FAULT"] = fault
    env["PYTHONPATH"] = os.pathsep.join([str(project / "src"), str(project)])
    env["PYTHONHASHSEED"] = "0"
    return subprocess.Popen(
        [sys.executable, "-m", "generator", *args],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _run_together(
    project: Path, runs: list[list[str]], barrier: Path | None = None
) -> list[subprocess.CompletedProcess[str]]:
    """Start every generator run at once; wait for all. With ``barrier``, every run waits just
    before its export until all have got there (``storage.faults``' ``wait``)."""
    fault = None if barrier is None else f"generate.before_export=wait:{barrier}"
    processes = [_start_generator(project, *args, fault=fault) for args in runs]
    if barrier is not None:
        deadline = time.monotonic() + 120
        while len(list(barrier.parent.glob(f"{barrier.name}.reached.*"))) < len(runs):
            assert time.monotonic() < deadline, "the runs never reached the barrier"
            assert all(process.poll() is None for process in processes), "a run ended early"
            time.sleep(0.05)
        barrier.touch()
    results = []
    for args, process in zip(runs, processes, strict=True):
        stdout, stderr = process.communicate(timeout=120)
        results.append(subprocess.CompletedProcess(args, process.returncode, stdout, stderr))
    return results


# --- round trip -----------------------------------------------------------------------------------


def test_export_reads_back_exactly_and_a_second_export_adds_no_version(
    s3_server: S3Server, s3_registry: str, canonical: dict[str, pa.Table]
) -> None:
    first = export_registry(s3_registry)
    assert {table.table for table in first.changed} == set(canonical)
    assert {table.path for table in first.tables} == {str(path) for _, path in _paths(s3_registry)}
    assert_registry_is(s3_registry, canonical)

    seen = len(s3_server.requests())
    second = export_registry(s3_registry)  # versions as read from each table's log
    assert second.changed == ()
    assert [t.version for t in second.tables] == [t.version for t in first.tables] == [0] * TABLES
    assert [e for e in s3_server.requests()[seen:] if e["method"] != "GET"] == []  # read only


def test_generator_exports_to_s3_and_check_is_clean(
    s3_registry: str, project: Path, tmp_path: Path
) -> None:
    output = _output(project, tmp_path / "generated")
    generated = run_generator(project, "--registry", s3_registry, "--output", output)
    assert generated.returncode == 0, generated.stderr
    assert f"exported {TABLES} tables to {s3_registry} ({TABLES} changed)" in generated.stderr
    # Rendered from the tables read back from S3, the code is the checked-in code, byte for byte.
    assert f"read {TABLES} tables; wrote 0 files, 8 unchanged in {output}" in generated.stderr

    checked = run_generator(project, "--check", "--registry", s3_registry, "--output", output)
    assert checked.returncode == 0, checked.stderr
    assert checked.stderr.startswith("clean: ")
    assert checked.stdout == ""


# --- concurrent writers ---------------------------------------------------------------------------


def test_the_server_refuses_a_second_create_of_the_same_key(s3_server: S3Server) -> None:
    """moto honours ``If-None-Match: *`` on PutObject (the primitive delta-rs commits with)."""
    url = f"{s3_server.endpoint}/{S3_BUCKET}/conditional-put-probe/{time.monotonic_ns()}.json"
    # moto checks no signature, but routes a request to S3 by the scope of its credential.
    scope = "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/s3/aws4_request, Signature=0"

    def create(body: bytes) -> int:
        headers = {"If-None-Match": "*", "Authorization": scope, "Content-Type": "text/plain"}
        request = urllib.request.Request(url, data=body, method="PUT", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return error.code

    assert create(b"first") == 200
    assert create(b"second") == 412
    read = urllib.request.Request(url, headers={"Authorization": scope})
    with urllib.request.urlopen(read, timeout=10) as response:
        assert response.read() == b"first"


def _race(
    s3_server: S3Server, path: str, version: int, first: threading.Thread, second: threading.Thread
) -> list[dict[str, object]]:
    """Run ``first`` until its commit of ``version`` reaches the server, hold that commit for a
    second while ``second`` commits ``version``, then let the held commit through. Returns the
    server's record of both commit attempts on ``version``."""
    commit = f"{_server_path(path)}/_delta_log/{version:020d}.json"
    s3_server.delay(3.0, method="PUT", match=commit)
    first.start()
    deadline = time.monotonic() + 20
    while not any("delayed" in entry for entry in s3_server.requests(commit)):
        assert time.monotonic() < deadline, "the first writer never committed"
        time.sleep(0.01)
    second.start()
    second.join(timeout=30)
    first.join(timeout=30)
    return [entry for entry in s3_server.requests(commit) if entry["method"] == "PUT"]


def test_two_appends_racing_for_one_version_both_land(
    s3_server: S3Server, s3_registry: str
) -> None:
    """The held commit finds version 1 taken (412), rebases and lands as version 2."""
    path = f"{s3_registry}/race_append"
    options = storage_options(path)

    def append(writer: str) -> None:
        write_deltalake(
            path,
            pa.table({"writer": [writer]}),
            mode="append",
            storage_options=options,
            commit_properties=CommitProperties(custom_metadata={"writer": writer}),
        )

    append("init")
    threads = [threading.Thread(target=append, args=(writer,)) for writer in ("a", "b")]
    attempts = _race(s3_server, path, 1, *threads)

    # In arrival order: "a"'s held commit is refused once "b"'s (arriving second) has landed.
    assert [(e["if_none_match"], e["status"]) for e in attempts] == [("*", 412), ("*", 200)]
    assert attempts[0].get("delayed")
    by_version = {c["version"]: c.get("writer") for c in _history(path)}
    assert by_version == {0: "init", 1: "b", 2: "a"}
    rows = DeltaTable(path, storage_options=options).to_pyarrow_table()
    assert sorted(rows.column("writer").to_pylist()) == ["a", "b", "init"]


def _overwrite_race(
    s3_server: S3Server, path: str, version: int
) -> tuple[list[dict[str, object]], dict[str, BaseException]]:
    """Writers "a" (held) and "b" overwrite ``path`` with ``write_table_delta``, racing for
    ``version``: the server's record of the two attempts, and the errors by writer."""
    errors: dict[str, BaseException] = {}

    def overwrite(writer: str) -> None:
        try:
            write_table_delta(path, pa.table({"v": [writer]}), commit_metadata={"writer": writer})
        except DeltaCommitConflictError as error:
            errors[writer] = error

    threads = [threading.Thread(target=overwrite, args=(writer,)) for writer in ("a", "b")]
    return _race(s3_server, path, version, *threads), errors


def _rows(path: str) -> list[str]:
    table = DeltaTable(path, storage_options=storage_options(path)).to_pyarrow_table()
    return sorted(table.column("v").to_pylist())


@pytest.mark.parametrize("exists", [True, False], ids=["existing-table", "new-table"])
def test_two_overwrites_racing_for_one_version_one_fails_cleanly(
    s3_server: S3Server, s3_registry: str, exists: bool
) -> None:
    """Overwrites are never rebased: the loser raises a one-line error, the winner's commit and
    rows are all there is (for a new table as for an existing one)."""
    path = f"{s3_registry}/race_overwrite"
    if exists:
        write_table_delta(path, pa.table({"v": ["init"]}), commit_metadata={"writer": "init"})
    attempts, errors = _overwrite_race(s3_server, path, 1 if exists else 0)

    assert [e["status"] for e in attempts] == [412, 200]  # "a" (held), then "b"
    assert set(errors) == {"a"}
    message = str(errors["a"])
    assert message.startswith(f"cannot commit to {path}: another writer committed to the table")
    assert "\n" not in message
    history = {c["version"]: c.get("writer") for c in _history(path)}
    assert history == ({0: "init", 1: "b"} if exists else {0: "b"})
    assert _rows(path) == ["b"]


def test_delta_rs_alone_turns_a_racing_create_into_an_append(
    s3_server: S3Server, s3_registry: str
) -> None:
    """Why ``write_table_delta`` disables commit retries: with deltalake's defaults, the held
    creator finds version 0 taken, rebases its "overwrite" as version 1 without removing the
    other writer's files, and both writers' rows end up in the table. If this starts failing,
    delta-rs fixed it (see ``delta._overwrite``)."""
    path = f"{s3_registry}/race_create"

    def create(writer: str) -> None:
        write_deltalake(
            path, pa.table({"v": [writer]}), mode="overwrite", storage_options=storage_options(path)
        )

    threads = [threading.Thread(target=create, args=(writer,)) for writer in ("a", "b")]
    attempts = _race(s3_server, path, 0, *threads)

    assert [e["status"] for e in attempts] == [412, 200]
    assert _rows(path) == ["a", "b"]


def _first_changed(old: dict[str, pa.Table], new: dict[str, pa.Table]) -> list[str]:
    """The tables (in export order) whose content differs between two builds."""
    return [
        spec.name
        for _, spec in all_tables()
        if table_fingerprint(old[spec.name]) != table_fingerprint(new[spec.name])
    ]


@pytest.fixture(scope="module")
def previous() -> dict[str, pa.Table]:
    """An earlier registry: the specs doubled (``bench/scale_specs``), so most tables differ."""
    return _built(scale_spec_set(2))


def test_concurrent_generators_on_one_s3_registry(
    s3_server: S3Server,
    s3_registry: str,
    project: Path,
    tmp_path: Path,
    canonical: dict[str, pa.Table],
    previous: dict[str, pa.Table],
) -> None:
    """Two ``python -m generator`` processes export the same specs at once. One table holds older
    content; the first exporter's commit of its new version is held until the second one's has
    landed, so both target the same version: the conditional put refuses one, and its exporter,
    seeing that the table now holds its content, goes on."""
    name = _first_changed(previous, canonical)[0]
    path = dict(_paths(s3_registry))[name]
    old = previous[name]
    write_table_delta(
        path,
        old,
        commit_metadata={FINGERPRINT_KEY: table_fingerprint(old)},
        identity=TableIdentity(name),
    )
    commit = f"{_server_path(path)}/_delta_log/00000000000000000001.json"
    s3_server.delay(1.0, method="PUT", match=commit)

    runs = [
        ["--registry", s3_registry, "--output", _output(project, tmp_path / f"o{i}" / "generated")]
        for i in (1, 2)
    ]
    results = _run_together(project, runs, barrier=tmp_path / "barrier")

    # Same specs, so the loser of a race finds its content committed: both succeed.
    assert [r.returncode for r in results] == [0, 0], [r.stderr for r in results]
    statuses = [e["status"] for e in s3_server.requests(commit) if e["method"] == "PUT"]
    assert statuses == [412, 200], "the two exporters did not race for the same commit"
    assert_registry_is(s3_registry, canonical)


def test_concurrent_generators_on_one_local_registry(
    project: Path, tmp_path: Path, canonical: dict[str, pa.Table]
) -> None:
    root = tmp_path / "registry"
    export_registry(root, specs=scale_spec_set(2))
    runs = [
        ["--registry", str(root), "--output", _output(project, tmp_path / f"o{i}" / "generated")] for i in (1, 2)
    ]
    results = _run_together(project, runs)

    # Same specs, so the loser of a race finds its content committed: both succeed.
    assert [r.returncode for r in results] == [0, 0], [r.stderr for r in results]
    assert_registry_is(root, canonical)


# --- network faults -------------------------------------------------------------------------------


def test_outage_after_the_first_table_names_the_next_and_a_rerun_completes(
    s3_server: S3Server,
    s3_registry: str,
    monkeypatch: pytest.MonkeyPatch,
    canonical: dict[str, pa.Table],
) -> None:
    """The network goes away for good right after the first table is committed."""
    real_write = registry_runner._export_table

    def write_then_cut(*args: Any, **kwargs: Any) -> tuple[int, bool]:
        outcome = real_write(*args, **kwargs)
        s3_server.drop()  # every request from now on gets its connection reset
        return outcome

    monkeypatch.setattr(registry_runner, "_export_table", write_then_cut)
    started = time.monotonic()
    with pytest.raises(RegistryWriteError) as caught:
        export_registry(s3_registry)
    assert time.monotonic() - started < 15  # bounded retries (locations.CLIENT_DEFAULTS)
    names = [name for name, _ in _paths(s3_registry)]
    error = caught.value
    assert error.table == names[1]
    assert error.path == str(table_path(s3_registry, "cpg", names[1]))
    message = str(error)
    assert message.startswith(f"registry table {names[1]} was not exported to {error.path}: ")
    assert "connection" in message.lower() and "\n" not in message
    assert f"(1 of {TABLES} tables exported before it; rerun the export" in message

    s3_server.clear()  # the network is back
    monkeypatch.setattr(registry_runner, "_export_table", real_write)
    assert read_table_delta(table_path(s3_registry, "cpg", names[0])).equals(canonical[names[0]])
    with pytest.raises(DeltaTableMissingError):
        read_table_delta(error.path)
    rerun = export_registry(s3_registry)
    assert [t.table for t in rerun.changed] == names[1:]
    assert_registry_is(s3_registry, canonical)


def test_a_commit_that_never_landed_leaves_the_previous_version(
    s3_server: S3Server,
    s3_registry: str,
    canonical: dict[str, pa.Table],
    previous: dict[str, pa.Table],
) -> None:
    """Commits are dropped after the first one: the second changed table's data files reach the
    store, its commit does not; readers still get its previous version, whole."""
    export_registry(s3_registry, specs=scale_spec_set(2))
    changed = _first_changed(previous, canonical)
    paths = dict(_paths(s3_registry))
    seen = len(s3_server.requests())
    s3_server.drop(method="PUT", match=COMMIT, passes=1)

    with pytest.raises(RegistryWriteError) as caught:
        export_registry(s3_registry)
    assert caught.value.table == changed[1]
    assert "\n" not in str(caught.value)

    failed = _server_path(paths[changed[1]]) + "/"
    during = [e for e in s3_server.requests()[seen:] if e["path"].startswith(failed)]
    data = [e for e in during if e["method"] == "PUT" and e["path"].endswith(".parquet")]
    commits = [e for e in during if e["method"] == "PUT" and COMMIT in e["path"]]
    assert data and all(e["status"] == 200 for e in data)  # half-written: data landed ...
    assert commits and all(e["status"] == "dropped" for e in commits)  # ... the commit did not

    s3_server.clear()
    assert table_version(paths[changed[0]]) == 1
    assert read_table_delta(paths[changed[0]]).equals(canonical[changed[0]])
    assert table_version(paths[changed[1]]) == 0
    assert read_table_delta(paths[changed[1]]).equals(previous[changed[1]])

    export_registry(s3_registry)
    assert_registry_is(s3_registry, canonical)
    assert table_version(paths[changed[1]]) == 1


def test_a_commit_whose_answer_was_lost_counts_once_done(
    s3_server: S3Server, s3_registry: str, canonical: dict[str, pa.Table]
) -> None:
    """The store takes a commit but the connection resets before the answer: the client
    retries, finds the version taken (412) and reports a conflict; the exporter sees that the
    table holds its content and goes on. No second commit, nothing lost."""
    _, first_path = next(_paths(s3_registry))
    commit = f"{_server_path(first_path)}/_delta_log/00000000000000000000.json"
    s3_server.lose(method="PUT", match=commit)

    export = export_registry(s3_registry)

    attempts = [e for e in s3_server.requests(commit) if e["method"] == "PUT"]
    assert [(e["status"], e.get("lost", False)) for e in attempts] == [(200, True), (412, False)]
    assert export.tables[0].version == 0
    assert [c["version"] for c in _history(first_path)] == [0]
    assert_registry_is(s3_registry, canonical)


def test_generator_fault_mid_export_exits_2_naming_the_table(
    s3_server: S3Server, s3_registry: str, project: Path, tmp_path: Path
) -> None:
    output = str(tmp_path / "generated")
    s3_server.drop(method="PUT", match=COMMIT, passes=1)
    failed = run_generator(project, "--registry", s3_registry, "--output", output)
    assert _is_clean_failure(failed), failed.stderr
    names = [name for name, _ in _paths(s3_registry)]
    assert f"error: registry table {names[1]} was not exported to {s3_registry}/" in failed.stderr
    assert not Path(output).exists()

    s3_server.clear()
    # Rendering from the half-exported registry names the first missing table.
    stale = run_generator(project, "--no-export", "--registry", s3_registry, "--output", output)
    assert _is_clean_failure(stale), stale.stderr
    assert f"table {names[1]!r}, column '*': table is missing from the registry" in stale.stderr


@pytest.mark.parametrize("check", [False, True], ids=["generate", "check"])
def test_generator_with_an_unreachable_endpoint_exits_2_on_one_line(
    s3_registry: str,
    project: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    check: bool,
) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    args = ["--check"] if check else []
    started = time.monotonic()
    result = run_generator(
        project, *args, "--registry", s3_registry, "--output", str(tmp_path / "out")
    )
    assert time.monotonic() - started < 30
    assert _is_clean_failure(result), result.stderr
    assert s3_registry in result.stderr
    assert endpoint in result.stderr
    assert "Connect" in result.stderr
    assert "\x1b[" not in result.stderr
