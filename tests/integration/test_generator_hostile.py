"""A registry from a shared store may be hostile: its strings must never become code."""

from __future__ import annotations

import ast
import dataclasses
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cpg.datasets import DatasetRow
from cpg.spec_set import SpecSet
from storage.deltalake.registry_runner import run_registry_exports
from tests.generator_support import PROJECT_ROOT, run_generator, snapshot
from tests.golden.small_specs import SMALL_SPECS
from tests.hostile_specs import HOSTILE, HOSTILE_TEXTS, rename_kind, with_hostile_text


def _generate(specs: SpecSet, root: Path) -> subprocess.CompletedProcess[str]:
    """Export ``specs`` to ``root/out/registry`` and render into ``root/pkg/generated``."""
    export = run_registry_exports(root / "out", specs=specs)
    return run_generator(
        PROJECT_ROOT,
        "--no-export",
        "--registry",
        export.root,
        "--output",
        str(root / "pkg" / "generated"),
    )


def _shape(source: str) -> list[tuple[str, ...]]:
    """Top-level statements as (kind, names...): what a template intends to emit."""
    shape: list[tuple[str, ...]] = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.ClassDef):
            members = [type(item).__name__ for item in node.body]
            shape.append(("class", node.name, *members))
        elif isinstance(node, ast.FunctionDef):
            shape.append(("def", node.name, str(len(node.body))))
        elif isinstance(node, ast.AnnAssign | ast.Assign):
            found = node.targets if isinstance(node, ast.Assign) else [node.target]
            targets = [ast.unparse(t) for t in found]
            calls = sorted({ast.unparse(c.func) for c in ast.walk(node) if isinstance(c, ast.Call)})
            shape.append(("assign", *targets, *calls))
        else:
            shape.append((type(node).__name__, ast.unparse(node)[:200]))
    return shape


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(plain, hostile) output packages of the same small spec set."""
    plain, hostile = tmp_path_factory.mktemp("plain"), tmp_path_factory.mktemp("hostile")
    for root, specs in ((plain, SMALL_SPECS), (hostile, with_hostile_text())):
        result = _generate(specs, root)
        assert result.returncode == 0, result.stderr
    return plain / "pkg", hostile / "pkg"


@pytest.mark.parametrize(
    "name", ["cpg_contracts.py", "cpg_schemas.py", "cpg_readers.py", "relspec_rules.py"]
)
def test_hostile_strings_do_not_change_the_statements(
    rendered: tuple[Path, Path], name: str
) -> None:
    plain, hostile = (root / "generated" / name for root in rendered)
    expected = _shape(plain.read_text())
    if name == "cpg_contracts.py":  # each hostile enum value is one more member of DefKind
        expected = [
            (*shape, *["Assign"] * len(HOSTILE_TEXTS))
            if shape[:2] == ("class", "DefKind")
            else shape
            for shape in expected
        ]
    assert _shape(hostile.read_text()) == expected
    # no line outside a string literal starts with the injected statement
    assert "import os" not in {
        line.strip()
        for line in hostile.read_text().splitlines()
        if not line.strip().startswith('"')
    }


def test_hostile_strings_survive_as_literals(rendered: tuple[Path, Path]) -> None:
    _, hostile = rendered
    probe = (
        "import json\n"
        "from generated.cpg_contracts import EDGE_CONTRACTS, NODE_CONTRACTS, PROP_ENUMS, EdgeKind\n"
        "from generated.relspec_rules import EDGE_PLAN_SPECS\n"
        "print(json.dumps({\n"
        "  'edge': EDGE_CONTRACTS[EdgeKind.DEFINES].description,\n"
        "  'nodes': sorted(c.description for c in NODE_CONTRACTS.values()),\n"
        "  'enum': list(PROP_ENUMS['def_kind']),\n"
        "  'resolution': EDGE_PLAN_SPECS[0].resolution_method,\n"
        "  'flag': EDGE_PLAN_SPECS[0].option_flag,\n"
        "}))\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(hostile), str(PROJECT_ROOT / "src")]))
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        env=env,
        cwd=hostile,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["edge"] == HOSTILE
    assert HOSTILE in values["nodes"]
    assert values["enum"] == ["function", "lambda", *HOSTILE_TEXTS]
    assert values["resolution"] == HOSTILE
    assert values["flag"] == HOSTILE_TEXTS[11]
    # nothing ran at import time: the JSON line is all the probe printed (no "pwned" echo)
    assert result.stdout.count("\n") == 1


def test_hostile_markdown_cells_stay_inside_the_table(rendered: tuple[Path, Path]) -> None:
    _, hostile = rendered
    catalog = (hostile / "generated" / "CPG_SCHEMA.md").read_text()
    assert "<script>" not in catalog and "<b>" not in catalog
    props = [line for line in catalog.splitlines() if line.startswith(("| `def_kind`", "| `name`"))]
    assert len(props) == 2
    for line in props:
        # five cells: six pipes that are not escaped
        assert len(re.findall(r"(?<!\\)\|", line)) == 6, line
    # the hostile group is a layer: its heading and diagram labels stay on their own lines
    assert catalog.count("## Layer ") == 3
    for block in re.findall(r"```mermaid\n(.*?)```", catalog, re.DOTALL):
        for line in block.splitlines()[1:]:
            assert re.fullmatch(r'    [A-Za-z_][A-Za-z0-9_]*(\S*"[^"]*"\S*| .*)', line), line


BAD_NAMES = ["a b", "1abc", "__init__", "_private", "ünï", "x\ny", "x-y", "x'); import os; ('"]


@pytest.mark.parametrize("bad", BAD_NAMES)
@pytest.mark.parametrize(
    ("old", "table"), [("FUNC", "cpg_node_contracts"), ("DEFINES", "cpg_edge_contracts")]
)
def test_unusable_kind_names_fail_naming_the_cell(
    tmp_path: Path, bad: str, old: str, table: str
) -> None:
    specs = rename_kind(SMALL_SPECS, old, bad)
    contracts = specs.node_contracts if table == "cpg_node_contracts" else specs.edge_contracts
    row = [c.kind for c in contracts].index(bad)
    result = _generate(specs, tmp_path)
    assert result.returncode == 2, result.stdout
    assert f"table {table!r}, row {row}, column 'kind'" in result.stderr
    assert not (tmp_path / "pkg" / "generated").exists()


def _nodes_dataset() -> tuple[DatasetRow, tuple[DatasetRow, ...]]:
    """The small specs' nodes dataset and the others."""
    (nodes,) = [r for r in SMALL_SPECS.dataset_rows if r.name == "nodes_v1"]
    return nodes, tuple(r for r in SMALL_SPECS.dataset_rows if r is not nodes)


@pytest.mark.parametrize("bad", ["class", "import", "nodes-v1", "__dict__"])
def test_unusable_dataset_names_fail_naming_the_cell(tmp_path: Path, bad: str) -> None:
    nodes, others = _nodes_dataset()
    row = dataclasses.replace(nodes, name=bad, contract_name=bad)
    specs = dataclasses.replace(SMALL_SPECS, dataset_rows=(row, *others))
    index = [r.name for r in specs.dataset_rows].index(bad)
    result = _generate(specs, tmp_path)
    assert result.returncode == 2
    assert f"table 'cpg_dataset_rows', row {index}, column 'name'" in result.stderr


def test_unusable_field_name_fails_and_leaves_output_untouched(tmp_path: Path) -> None:
    out = tmp_path / "pkg" / "generated"
    assert _generate(SMALL_SPECS, tmp_path).returncode == 0
    before = snapshot(out)
    fields = tuple(
        dataclasses.replace(f, name="class") if f.name == "flag" else f for f in SMALL_SPECS.fields
    )
    dataset, others = _nodes_dataset()
    dataset = dataclasses.replace(
        dataset, fields=tuple("class" if f == "flag" else f for f in dataset.fields)
    )
    specs = dataclasses.replace(SMALL_SPECS, fields=fields, dataset_rows=(dataset, *others))
    result = _generate(specs, tmp_path / "second")
    assert result.returncode == 0 or "column 'name'" in result.stderr
    result = run_generator(
        PROJECT_ROOT,
        "--no-export",
        "--registry",
        str(tmp_path / "second" / "out" / "registry"),
        "--output",
        str(out),
    )
    assert result.returncode == 2
    assert (
        "table 'cpg_field_catalog'" in result.stderr
        and "'class' is a Python keyword" in result.stderr
    )
    assert snapshot(out) == before
