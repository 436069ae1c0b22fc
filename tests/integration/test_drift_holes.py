"""The holes issue 10 found in the drift check, one test each, on real project copies.

Each test runs ``python -m generator`` as a subprocess in a copy of the project (its committed
registry included) and breaks one thing the way a user or an auditor would.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import CommitProperties, DeltaTable, write_deltalake

from tests.generator_support import copy_project, run_generator, snapshot


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_project(tmp_path_factory.mktemp("pristine"))


@pytest.fixture
def project(tmp_path: Path, pristine: Path) -> Path:
    target = tmp_path / "p"
    shutil.copytree(pristine, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def _table_dir(project: Path, name: str) -> Path:
    return next((project / "registry").glob(f"*/{name}"))


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


# --- the committed registry: every pair is checked on a fresh copy -------------------------


def test_a_fresh_copy_checks_specs_registry_and_generated(project: Path) -> None:
    result = run_generator(project, "--check")
    assert result.returncode == 0, result.stderr
    assert result.stderr == "clean: specs, registry at registry and generated agree (8 files)\n"


def test_spec_edit_is_drift_against_the_committed_registry(project: Path) -> None:
    _edit(project / "src" / "cpg" / "props.py", '"stdlib ast module"', '"the stdlib ast module"')
    result = run_generator(project, "--check")
    assert result.returncode == 1
    assert "drift: specs vs registry (registry):" in result.stderr
    assert "table cpg_source_kinds: rows differ from the specs" in result.stderr
    assert "rows changed: py_ast (columns description)" in result.stderr
    assert "drift: specs vs generated:" in result.stderr


def test_hand_edit_of_generated_is_its_own_drift(project: Path) -> None:
    _edit(project / "generated" / "cpg_contracts.py", "class NodeKind", "class NodeKinds")
    result = run_generator(project, "--check")
    assert result.returncode == 1, result.stderr
    assert "drift: specs vs generated:\n  changed file: cpg_contracts.py" in result.stderr
    assert "specs vs registry" not in result.stderr
    assert "+class NodeKind(StrEnum):" in result.stdout  # the diff goes to stdout


# --- verified data --------------------------------------------------------------------------


def test_new_version_with_a_copied_fingerprint_is_drift(project: Path) -> None:
    path = _table_dir(project, "cpg_source_kinds")
    table = DeltaTable(str(path))
    copied = {k: v for k, v in table.history(1)[0].items() if k.startswith("cpg_registry.")}
    rows = table.to_pyarrow_table().to_pylist()
    rows[0]["description"] = "tampered"
    write_deltalake(
        str(path),
        pa.Table.from_pylist(rows),
        mode="overwrite",
        commit_properties=CommitProperties(custom_metadata=copied),
    )
    result = run_generator(project, "--check")
    assert result.returncode == 1
    assert (
        "table cpg_source_kinds: the rows of version 1 do not hash to the fingerprint its commit "
        "recorded (data changed outside the exporter)"
    ) in result.stderr
    assert "rows changed: derived (columns description)" in result.stderr
    # and the generator repairs it instead of trusting the copied fingerprint
    repaired = run_generator(project)
    assert repaired.returncode == 0, repaired.stderr
    assert "(1 changed)" in repaired.stderr
    assert run_generator(project, "--check").returncode == 0


def test_data_file_overwritten_in_place_is_named(project: Path) -> None:
    path = _table_dir(project, "cpg_prop_enums")
    (data,) = path.glob("*.parquet")
    (other,) = _table_dir(project, "cpg_source_kinds").glob("*.parquet")
    data.write_bytes(other.read_bytes())
    for args in (("--check",), ("--check", "--no-export"), ("--no-export",)):
        result = run_generator(project, *args)
        assert result.returncode == 2, (args, result.stderr)
        assert result.stderr.startswith(f"error: cannot read {path}: "), result.stderr
        assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1


def test_truncated_and_deleted_data_files_are_named(project: Path) -> None:
    truncated = next(_table_dir(project, "cpg_field_catalog").glob("*.parquet"))
    truncated.write_bytes(truncated.read_bytes()[:100])
    deleted = next(_table_dir(project, "cpg_bundle_catalog").glob("*.parquet"))
    deleted.unlink()
    result = run_generator(project, "--check")
    assert result.returncode == 2
    assert "cpg_field_catalog" in result.stderr and "Traceback" not in result.stderr
    repaired = run_generator(project)
    assert repaired.returncode == 0, repaired.stderr
    assert "(2 changed)" in repaired.stderr
    assert run_generator(project, "--check").returncode == 0


# --- the table's identity is stored in Delta -------------------------------------------------


def test_a_table_at_the_path_of_another_is_recognised(project: Path) -> None:
    first, second = _table_dir(project, "cpg_bundle_catalog"), _table_dir(project, "cpg_prop_enums")
    parked = first.with_name("parked")
    first.rename(parked)
    second.rename(first)
    parked.rename(second)
    for args in (("--check",), ("--no-export",)):
        result = run_generator(project, *args)
        assert result.returncode == 2, result.stderr
        assert result.stderr == (
            f"error: registry table cpg_prop_enums at {second}: Delta stores the table name "
            "'cpg_bundle_catalog': this is another registry table\n"
        )
    repaired = run_generator(project)  # the export replaces both with the right tables
    assert repaired.returncode == 0, repaired.stderr
    assert run_generator(project, "--check").returncode == 0


# --- a stable compat baseline: the registry as committed ---------------------------------------


def _git(cwd: Path, *args: str) -> None:
    result = subprocess.run(
        ["git", "-c", "user.email=t@example.org", "-c", "user.name=t", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_compat_baseline_is_the_committed_registry(project: Path) -> None:
    _git(project, "init", "-q", "-b", "main")
    _git(project, "add", "-A")
    _git(project, "commit", "-qm", "published")
    rows = project / "src" / "cpg" / "registry_rows.py"
    _edit(rows, 'key_fields=("node_id", "node_kind")', 'key_fields=("node_id",)')
    assert run_generator(project).returncode == 0  # the export does not move the baseline
    moved = run_generator(project, "--check-compat")
    assert moved.returncode == 1
    assert moved.stdout.startswith("baseline: registry/ as committed at HEAD\n")
    assert "breaking: dataset cpg_nodes_v1" in moved.stdout

    _git(project, "checkout", "--", "src")  # a pure revert, generator not rerun
    reverted = run_generator(project, "--check-compat")
    assert reverted.returncode == 0, reverted.stdout
    assert "breaking" not in reverted.stdout

    _git(project, "checkout", "-qb", "feature")
    _edit(rows, 'key_fields=("node_id", "node_kind")', 'key_fields=("node_id",)')
    against = run_generator(project, "--check-compat", "--against", "main")
    assert against.returncode == 1
    assert against.stdout.startswith("baseline: registry/ as committed at main\n")
    missing = run_generator(project, "--check-compat", "--against", "no-such-rev")
    assert missing.returncode == 2
    assert "'no-such-rev' is neither a registry path nor a git revision" in missing.stderr


# --- one exit code per meaning --------------------------------------------------------------


@pytest.mark.parametrize(
    ("file", "old", "new", "error"),
    [
        ("node_contracts.py", 'prop("code")', 'prop("no_such_prop")', "KeyError"),
        ("kinds.py", "    PY_FILE = ", "    PY_FILES = ", "AttributeError"),
    ],
)
def test_broken_spec_module_is_exit_2_with_file_and_line(
    project: Path, file: str, old: str, new: str, error: str
) -> None:
    _edit(project / "src" / "cpg" / file, old, new)
    before = snapshot(project)
    for args in ((), ("--check",), ("--check-compat",)):
        result = run_generator(project, *args)
        assert result.returncode == 2, (args, result.stderr)
        line = result.stderr.strip()
        assert "\n" not in line and "Traceback" not in line
        assert line.startswith("error: src/cpg/"), line
        assert f": cannot load the specs: {error}" in line
    assert snapshot(project) == before


# --- installs anywhere: the checkout's own specs, never another's -----------------------------


def test_shared_environment_uses_the_checkout_it_runs_in(project: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    shutil.copytree(project, other)
    _edit(other / "src" / "cpg" / "props.py", '"stdlib ast module"', '"other checkout"')
    # an environment whose packages come from `other` (as an editable install of it would)
    env_paths = (other / "src", other)
    result = _run_with_path(project, env_paths, "--check")
    assert result.returncode == 0, result.stderr  # project's own specs, not other's
    inside = project / "src"
    refused = _run_with_path(inside, env_paths, "--check")
    assert refused.returncode == 2
    assert f"this generator was imported from {other / 'generator'}" in refused.stderr
    assert f"run `python -m generator` from {project}" in refused.stderr


def _run_with_path(
    cwd: Path, paths: tuple[Path, ...], *args: str
) -> subprocess.CompletedProcess[str]:
    import os
    import sys

    env = dict(os.environ, PYTHONPATH=os.pathsep.join(str(path) for path in paths))
    return subprocess.run(
        [sys.executable, "-m", "generator", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# --- consistent locations and options --------------------------------------------------------


def test_every_command_takes_a_folder_holding_registry(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run_generator(project, "--registry", str(out / "registry")).returncode == 0
    for args in (("--history",), ("--check", "--no-export"), ("--check",), ("--check-compat",)):
        result = run_generator(project, *args, "--registry", str(out))
        assert result.returncode == 0, (args, result.stderr)


def test_a_missing_registry_is_said_out_loud(project: Path, tmp_path: Path) -> None:
    result = run_generator(project, "--check", "--registry", str(tmp_path / "typo"))
    assert result.returncode == 1
    assert "the registry is missing: the specs were not compared with a registry" in result.stderr
    assert "clean" not in result.stderr


def test_strays_anywhere_under_generated_are_drift(project: Path) -> None:
    (project / "generated" / "sub").mkdir()
    (project / "generated" / "sub" / "extra.py").write_text("X = 1\n")
    result = run_generator(project, "--check")
    assert result.returncode == 1
    assert "stray file: sub/extra.py" in result.stderr
    assert run_generator(project).returncode == 0
    assert not (project / "generated" / "sub").exists()


@pytest.mark.parametrize(
    "args",
    [
        ("--check", "--check-compat"),
        ("--history", "--check"),
        ("--against", "main"),
        ("--check-compat", "--no-export"),
        ("--history", "--registry-version", "0"),
    ],
)
def test_conflicting_options_are_usage_errors(project: Path, args: tuple[str, ...]) -> None:
    result = run_generator(project, *args)
    assert result.returncode == 2
    assert "error" in result.stderr and "Traceback" not in result.stderr
