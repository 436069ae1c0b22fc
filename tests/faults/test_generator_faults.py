"""Faults of ``python -m generator``: corrupt registries, kills, full disks, concurrent writers,
bad specs. Every case is exit 2 with one line naming the table or file (never a traceback), or a
repair; nothing torn, nothing rendered from rows the run did not export or verify."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.generator_support import copy_project, snapshot

TABLE = "cpg_prop_catalog"
OTHER = "cpg_source_kinds"


def _run(
    project: Path, *args: str, fault: str | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(project / "src"), str(project)]))
    env.pop("CPG_FAULT", None)
    if fault is not None:
        env["CPG_FAULT"] = fault
    return subprocess.run(
        [sys.executable, "-m", "generator", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _one_line_error(result: subprocess.CompletedProcess[str], *names: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "panicked" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for name in names:
        assert name in lines[0], (name, lines[0])


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project copy with a second registry at ``history/`` that keeps two Delta versions."""
    project = copy_project(tmp_path_factory.mktemp("pristine"))
    first = _run(project, "--registry", "history", "--output", "out")
    assert first.returncode == 0, first.stderr
    _edit(project, '"stdlib ast module"', '"the stdlib ast module"')
    second = _run(project, "--registry", "history", "--output", "out")
    assert second.returncode == 0, second.stderr
    _edit(project, '"the stdlib ast module"', '"stdlib ast module"')
    return project


def _edit(project: Path, old: str, new: str) -> None:
    path = project / "src" / "cpg" / "props.py"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


@pytest.fixture
def project(tmp_path: Path, pristine: Path) -> Path:
    target = tmp_path / "p"
    shutil.copytree(pristine, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def _outputs(project: Path) -> dict[str, bytes]:
    """What a run may not change when it fails: specs, registries and generated files (the
    generator's caches under build/ are not outputs)."""
    return {name: data for name, data in snapshot(project).items() if not name.startswith("build/")}


def _table(registry: Path, name: str) -> Path:
    return next(registry.glob(f"*/{name}"))


def _last_log(table: Path) -> Path:
    return sorted((table / "_delta_log").glob("*.json"))[-1]


def _data(table: Path) -> Path:
    return sorted(table.glob("*.parquet"))[-1]


def _truncate_log(table: Path) -> None:
    log = _last_log(table)
    log.write_bytes(log.read_bytes()[: log.stat().st_size // 2])


def _random_log(table: Path) -> None:
    log = _last_log(table)
    log.write_bytes(log.read_bytes()[:-64] + os.urandom(64))


def _empty_object_log(table: Path) -> None:
    _last_log(table).write_text("{}\n")


def _garbage_next_entry(table: Path) -> None:
    version = int(_last_log(table).stem) + 1
    (table / "_delta_log" / f"{version:020d}.json").write_text("not json at all\n")


def _dangling_checkpoint(table: Path) -> None:
    (table / "_delta_log" / "_last_checkpoint").write_text('{"version":7,"size":3}\n')


def _truncate_data(table: Path) -> None:
    data = _data(table)
    data.write_bytes(data.read_bytes()[:100])


def _swap_data(table: Path) -> None:
    _data(table).write_bytes(_data(table.parent.parent / "cpg" / OTHER).read_bytes())


LOG_FAULTS: dict[str, Callable[[Path], None]] = {
    "log truncated": _truncate_log,
    "64 random bytes in the log": _random_log,
    "log replaced by {}": _empty_object_log,
    "garbage next log entry": _garbage_next_entry,
    "dangling _last_checkpoint": _dangling_checkpoint,
}
DATA_FAULTS: dict[str, Callable[[Path], None]] = {
    "data truncated": _truncate_data,
    "data swapped for another table's": _swap_data,
}
READERS = {
    "--no-export": ("--no-export",),
    "--check --no-export": ("--check", "--no-export"),
    "--check-compat --against": ("--check-compat", "--against", "{registry}"),
    "--registry-version 0": ("--no-export", "--registry-version", "0"),
}


def _args(args: tuple[str, ...], registry: Path) -> list[str]:
    filled = [arg.format(registry=registry) for arg in args]
    if "--check-compat" in filled:
        return filled
    return [*filled, "--registry", str(registry), "--output", "out"]


@pytest.mark.parametrize("fault", sorted({**LOG_FAULTS, **DATA_FAULTS}))
@pytest.mark.parametrize("command", sorted(READERS))
def test_a_corrupt_table_is_named_by_every_reader(project: Path, fault: str, command: str) -> None:
    registry = project / "history"
    table = _table(registry, TABLE)
    {**LOG_FAULTS, **DATA_FAULTS}[fault](table)
    before = snapshot(project / "out")
    result = _run(project, *_args(READERS[command], registry))
    if fault == "dangling _last_checkpoint" and result.returncode == 0:
        # delta-rs falls back to listing the log: nothing is misread, the rows still verify
        assert snapshot(project / "out") == before
        return
    _one_line_error(result, TABLE)
    assert snapshot(project / "out") == before


@pytest.mark.parametrize("fault", sorted(LOG_FAULTS))
def test_history_names_a_corrupt_log(project: Path, fault: str) -> None:
    registry = project / "history"
    LOG_FAULTS[fault](_table(registry, TABLE))
    result = _run(project, "--history", "--registry", str(registry))
    if fault == "dangling _last_checkpoint" and result.returncode == 0:
        return
    _one_line_error(result, TABLE)


def test_an_emptied_log_entry_is_never_rendered_from_the_version_before(project: Path) -> None:
    registry = project / "history"
    table = _table(registry, OTHER)
    assert len(list((table / "_delta_log").glob("*.json"))) == 2
    _last_log(table).write_bytes(b"")
    for args in (
        ("--no-export", "--output", "out"),
        ("--history",),
        ("--check", "--no-export", "--output", "out"),
    ):
        result = _run(project, *args, "--registry", str(registry))
        _one_line_error(result, OTHER, "is empty")
    repaired = _run(project, "--registry", str(registry), "--output", "out")
    assert repaired.returncode == 0, repaired.stderr
    assert _run(project, "--check", "--registry", str(registry), "--output", "out").returncode == 0


def test_the_export_repairs_a_deleted_data_file(project: Path) -> None:
    registry = project / "history"
    _data(_table(registry, TABLE)).unlink()
    broken = _run(project, "--check", "--registry", str(registry), "--output", "out")
    _one_line_error(broken, TABLE)
    repaired = _run(project, "--registry", str(registry), "--output", "out")
    assert repaired.returncode == 0, repaired.stderr
    assert _run(project, "--check", "--registry", str(registry), "--output", "out").returncode == 0


# --- kills --------------------------------------------------------------------------------------


@pytest.mark.parametrize("point", ["outputs.write_file@3", "outputs.before_swap"])
def test_a_killed_generator_leaves_generated_all_old_and_the_next_run_repairs(
    project: Path, point: str
) -> None:
    _edit(project, '"stdlib ast module"', '"the stdlib ast module"')
    before = snapshot(project / "generated")
    killed = _run(project, fault=point)
    assert killed.returncode == -9
    assert snapshot(project / "generated") == before  # all old, no temp file inside
    check = _run(project, "--check")
    assert check.returncode == 1
    assert "generated was being replaced" in check.stderr
    assert "left by an interrupted run" in check.stderr
    again = _run(project)
    assert again.returncode == 0, again.stderr
    assert "left by an interrupted run" in again.stderr
    assert not [p for p in project.iterdir() if p.name.startswith(".generated.")]
    assert _run(project, "--check").returncode == 0


@pytest.mark.parametrize("commit", [1, 5, 12])
def test_a_generator_killed_mid_export_leaves_whole_tables(project: Path, commit: int) -> None:
    """Tables are committed one by one: a kill leaves each table absent or whole, never torn;
    the check says which are missing, the next run completes the registry."""
    args = ("--registry", str(project / "fresh"), "--output", "out")
    killed = _run(project, *args, fault=f"delta.before_commit@{commit}")
    assert killed.returncode == -9
    check = _run(project, "--check", *args)
    assert check.returncode == 1, check.stderr  # readable, and honest about what is missing
    assert "missing" in check.stderr  # "missing from the registry", or the whole registry
    again = _run(project, *args)
    assert again.returncode == 0, again.stderr
    assert _run(project, "--check", *args).returncode == 0


# --- full and read-only disks ---------------------------------------------------------------------


@pytest.mark.parametrize("error", ["ENOSPC", "EROFS"])
def test_an_unwritable_output_is_exit_2_naming_it_and_changes_nothing(
    project: Path, error: str
) -> None:
    _edit(project, '"stdlib ast module"', '"the stdlib ast module"')
    before = _outputs(project)
    result = _run(project, fault=f"outputs.write_file@2={error}")
    _one_line_error(result, str(project / "generated"))
    assert _outputs(project) == before  # registry too: the output is staged before the export


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs (root can mount one; skipped with the reason where mounting is denied)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_registry_disk_is_exit_2_naming_the_table(project: Path, small_disk: Path) -> None:
    result = _run(project, "--registry", str(small_disk / "reg"), "--output", "out")
    _one_line_error(result, str(small_disk / "reg"), "No space left on device")
    again = _run(project, "--registry", str(small_disk / "reg"), "--output", "out")
    _one_line_error(again, str(small_disk / "reg"))


def test_a_full_output_disk_is_exit_2_and_leaves_nothing(project: Path, small_disk: Path) -> None:
    (small_disk / "filler").write_bytes(b"\0" * 40_000)
    output = small_disk / "generated"
    result = _run(project, "--output", str(output))
    _one_line_error(result, str(output), "No space left on device")
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler"]


# --- concurrent writers -------------------------------------------------------------------------


def test_a_generator_renders_only_the_rows_it_exported(tmp_path: Path, pristine: Path) -> None:
    """Two clones with different specs share a registry. A exports and is held just after; B
    runs whole; A resumes, reads the registry back, finds B's rows and exits 2 naming the table,
    its generated/ untouched. B's generated/ is rendered from B's specs."""
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    shutil.copytree(pristine, ours, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(pristine, theirs, ignore=shutil.ignore_patterns("__pycache__"))
    _edit(theirs, '"stdlib ast module"', '"their stdlib ast module"')
    shared = str(tmp_path / "shared")
    barrier = tmp_path / "barrier"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ours / "src"), str(ours)]))
    env["CPG_FAULT"] = f"generate.after_export=wait:{barrier}"
    before = snapshot(ours / "generated")
    held = subprocess.Popen(
        [sys.executable, "-m", "generator", "--registry", shared],
        cwd=ours,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob("barrier.reached.*")):
        assert held.poll() is None, held.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    other = _run(theirs, "--registry", shared)
    assert other.returncode == 0, other.stderr
    assert "their stdlib ast module" in (theirs / "generated" / "CPG_SCHEMA.md").read_text()
    barrier.touch()
    _, stderr = held.communicate(timeout=120)
    assert held.returncode == 2, stderr
    lines = stderr.strip().splitlines()
    assert lines[-1].startswith("error: another writer changed registry table cpg_source_kinds")
    assert snapshot(ours / "generated") == before


def test_four_generators_with_a_cold_cache_all_succeed(project: Path) -> None:
    shutil.rmtree(project / "build", ignore_errors=True)
    for path in (project / "generated").glob("*.py"):
        path.write_text("# stale\n")  # every file differs: black runs in every process
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(project / "src"), str(project)]))
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "generator"],
            cwd=project,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    for process in processes:
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr
    assert _run(project, "--check").returncode == 0
    cache = project / "build" / ".generator-cache" / "black"
    leftovers = [p.name for p in cache.iterdir() if p.name.startswith(".")]
    assert not leftovers, leftovers  # temp files are renamed into place or removed
    assert (cache / "stable-units.bin").stat().st_size > 0  # what black confirmed was kept


# --- bad specs ----------------------------------------------------------------------------------


def test_every_unusable_name_is_listed_before_anything_is_written(project: Path) -> None:
    kinds = project / "src" / "cpg" / "kinds.py"
    text = kinds.read_text()
    for old, new in (
        ('    PY_FILE = "PY_FILE"', '    PY_FILE = "1abc"'),
        ('    PY_REPO = "PY_REPO"', '    PY_REPO = "_repo"'),
    ):
        assert old in text
        text = text.replace(old, new)
    kinds.write_text(text)
    rows = project / "src" / "cpg" / "registry_rows.py"
    rows_text = rows.read_text()
    assert '"cpg_props_global_v1",' in rows_text
    rows.write_text(rows_text.replace('"cpg_props_global_v1",', '"props-global",'))
    before = _outputs(project)
    result = _run(project)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "registry value(s) cannot be Python names" in result.stderr
    assert "'1ABC' is not an ASCII Python identifier" in result.stderr
    assert "'_REPO' starts with an underscore" in result.stderr
    assert "'props-global' is not an ASCII Python identifier" in result.stderr
    assert _outputs(project) == before


@pytest.mark.parametrize(
    ("file", "old", "new", "collection"),
    [
        ("relspec/rules/cpg_rules.py", 'name="qname_fallback_calls"', 'name=""', "rules"),
        ("cpg/registry_rows.py", 'name="cpg_nodes_v1"', 'name=" "', "dataset_rows"),
    ],
)
def test_an_empty_name_is_a_violation_and_nothing_is_written(
    project: Path, file: str, old: str, new: str, collection: str
) -> None:
    path = project / "src" / file
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    before = _outputs(project)
    result = _run(project)
    assert result.returncode == 2, result.stderr
    assert f"{collection}:" in result.stderr and "has an empty name" in result.stderr
    assert "Traceback" not in result.stderr
    assert _outputs(project) == before
