"""Golden test: a small fixed spec set renders exactly the checked-in tree in tests/golden/expected.

After an intended change to templates or view models, refresh it with
``UPDATE_GOLDEN=1 python -m pytest tests/integration/test_golden.py`` and review the diff.
"""

from __future__ import annotations

import difflib
import os
import shutil
from pathlib import Path

from storage.deltalake.registry_runner import run_registry_exports
from tests.generator_support import PROJECT_ROOT, run_generator, snapshot
from tests.golden.small_specs import SMALL_SPECS

EXPECTED = PROJECT_ROOT / "tests" / "golden" / "expected"


def test_small_specs_render_the_golden_tree(tmp_path: Path) -> None:
    export = run_registry_exports(tmp_path / "out", specs=SMALL_SPECS)
    out = tmp_path / "generated"
    result = run_generator(
        PROJECT_ROOT, "--no-export", "--registry", export.root, "--output", str(out)
    )
    assert result.returncode == 0, result.stderr
    if os.environ.get("UPDATE_GOLDEN") == "1":
        shutil.rmtree(EXPECTED, ignore_errors=True)
        shutil.copytree(out, EXPECTED, ignore=shutil.ignore_patterns("__pycache__"))
    actual, expected = snapshot(out), snapshot(EXPECTED)
    assert sorted(actual) == sorted(expected), "file sets differ"
    for name in sorted(expected):
        if actual[name] != expected[name]:
            diff = "".join(
                difflib.unified_diff(
                    expected[name].decode().splitlines(keepends=True),
                    actual[name].decode().splitlines(keepends=True),
                    fromfile=f"golden/{name}",
                    tofile=f"rendered/{name}",
                )
            )
            raise AssertionError(f"{name} differs from the golden copy:\n{diff}")
