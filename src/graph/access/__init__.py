"""Reading a build: lazy, filtered, streaming scans of its tables and per-kind typed views.

The generated modules (``generated.cpg_readers``, ``generated.cpg_views``) are the typed face of
this package: they bind it to the registry's datasets, kinds, contracts and row classes.
"""

from graph.access.datasets import DatasetScan, OpenTable
from graph.access.kinds import CHUNK_ROWS, Endpoints, KindFilter, KindScan, KindSpec
from graph.access.output import BuildOutput
from graph.access.pivot import ContractViolationError, PropColumn
from graph.access.scan import RowShape, Scan
from graph.access.spans import innermost_enclosing

__all__ = [
    "CHUNK_ROWS",
    "BuildOutput",
    "ContractViolationError",
    "DatasetScan",
    "Endpoints",
    "KindFilter",
    "KindScan",
    "KindSpec",
    "OpenTable",
    "PropColumn",
    "RowShape",
    "Scan",
    "innermost_enclosing",
]
