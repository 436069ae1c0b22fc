"""A build's output folder, opened for reading: complete builds only, tables opened once.

``python -m graph build REPO --out OUT`` writes the datasets (``OUT/<name>``, names from the
registry), ``OUT/cpg_build_violations``, ``OUT/cpg_rule_losers`` and ``OUT/_build.json``. Opening
checks the build record first (``require_complete``), so an interrupted or failed build is an
``IncompleteBuildError`` naming the folder, never a silently partial graph.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from graph.access.datasets import DatasetScan, OpenTable
from graph.access.scan import RowShape
from graph.build_status import BuildRecord, require_complete

if TYPE_CHECKING:
    from graph.row_validation import ContractViolation
    from graph.rules.emission import RuleLoser


class BuildOutput:
    """The tables of one complete build in ``path``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.record: BuildRecord = require_complete(self.path)
        self._tables: dict[str, OpenTable] = {}

    def table(self, name: str, schema: pa.Schema) -> OpenTable:
        """The table ``name`` read in ``schema`` (opened on first use)."""
        table = self._tables.get(name)
        if table is None:
            table = self._tables[name] = OpenTable(name, str(self.path / name), schema)
        return table

    def violations(self) -> DatasetScan[ContractViolation]:
        """Every row the build wrote that breaks its contract, and the rule it breaks (the
        build's validator is imported here, not with the readers)."""
        from graph.row_validation import VIOLATIONS_TABLE, ContractViolation
        from storage.spec_codec import schema_for

        table = self.table(VIOLATIONS_TABLE, schema_for(ContractViolation, VIOLATIONS_TABLE))
        return DatasetScan(table, RowShape(ContractViolation, {}))

    def rule_losers(self) -> DatasetScan[RuleLoser]:
        """Every edge a rule produced that lost to another (ambiguity policy or duplicate)."""
        from graph.rules.emission import LOSERS_SCHEMA, LOSERS_TABLE, RuleLoser

        table = self.table(LOSERS_TABLE, LOSERS_SCHEMA)
        return DatasetScan(table, RowShape(RuleLoser, {}))
