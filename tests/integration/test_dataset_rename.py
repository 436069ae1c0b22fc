"""A dataset's new version under a new name flows through every consumer with no code change.

The compat check asks for exactly this bump (``cpg_edges_v1`` -> ``cpg_edges_v2``, version 2);
afterwards the generator, ``python -m graph build``, ``cpg.schemas`` and the generated readers
must all follow, because consumers find datasets by role, never by a name literal.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.generator_support import copy_project, run_generator


def _run(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(project / "src"), str(project)]))
    return subprocess.run(
        [sys.executable, *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_renamed_edges_dataset_builds_and_reads_back(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    rows = project / "src" / "cpg" / "registry_rows.py"
    text = rows.read_text()
    old = 'name="cpg_edges_v1",\n        version=1,'
    assert old in text
    rows.write_text(
        text.replace(old, 'name="cpg_edges_v2",\n        version=2,').replace(
            'contract_name="cpg_edges_v1"', 'contract_name="cpg_edges_v2"'
        )
    )

    compat = run_generator(project, "--check-compat")
    assert compat.returncode == 0, compat.stdout + compat.stderr
    assert "allowed: dataset cpg_edges_v1: replaced by cpg_edges_v2" in compat.stdout
    generated = run_generator(project)
    assert generated.returncode == 0, generated.stderr
    assert '"cpg_edges_v2"' in (project / "generated" / "cpg_schemas.py").read_text()

    repo = tmp_path / "repo"
    (repo / "pkg").mkdir(parents=True)
    (repo / "pkg" / "__init__.py").write_text(
        "def f(x):\n    return g(x)\n\n\ndef g(y):\n    return y\n"
    )
    out = tmp_path / "out"
    built = _run(project, "-m", "graph", "build", str(repo), "--out", str(out), "-q")
    assert built.returncode == 0, built.stderr
    assert (out / "cpg_edges_v2" / "_delta_log").is_dir()
    assert not (out / "cpg_edges_v1").exists()

    probe = textwrap.dedent(f"""
        import json
        from cpg.schemas import CPG_EDGES_SCHEMA
        from generated.cpg_readers import read_edges, read_nodes
        edges = list(read_edges({str(out)!r}).rows())
        print(json.dumps({{
            "spec_kind": CPG_EDGES_SCHEMA.metadata[b"spec_kind"].decode(),
            "edges": len(edges),
            "kinds": sorted({{edge.edge_kind for edge in edges}}),
            "nodes": read_nodes({str(out)!r}).to_arrow().num_rows,
        }}))
        """)
    read = _run(project, "-c", probe)
    assert read.returncode == 0, read.stderr
    facts = json.loads(read.stdout)
    assert facts["spec_kind"] == "cpg_edges_v2"
    assert facts["edges"] > 0 and "AST_PARENT_OF" in facts["kinds"]
    assert facts["nodes"] > 0
