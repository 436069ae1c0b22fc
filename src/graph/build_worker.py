"""What a build's workers do: extract a batch of files and write it as a segment, or merge
segments. The same functions run in pool processes, Ray tasks, or the parent (``--workers 0``,
and the DIAG rows of a file whose worker failed).

A worker is set up once (``init_worker``) with everything the parent loaded from the registry,
so it never reads Delta; it writes Parquet files into the tables' folders and returns what their
add actions need (``graph.segments``). Nothing here commits: the parent does.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from cpg.contract_registry import ContractRegistry
from cpg.registry_specs import DatasetContract
from graph.build_tables import (
    ENDPOINT_COLUMNS,
    ENDPOINTS,
    OWNER_COLUMN,
    RELATION_PREFIX,
    VIOLATIONS,
    BuildTables,
)
from graph.extract.diagnostics import unextracted_file
from graph.extract.file_facts import extract_file
from graph.extract.filesystem import file_node_id
from graph.extract.module_names import ModuleNames
from graph.extract.rows import FileFacts
from graph.facts_tables import (
    DATASETS,
    NODES,
    PlainTables,
    dataset_table,
    plain_tables,
    props_sorted,
)
from graph.file_read import FileTooLargeError, read_source, source_digest
from graph.guarded_pool import WorkFailure
from graph.own_tables import VIOLATIONS_TABLE, ContractViolation
from graph.row_validation import RowValidator
from graph.rules.relations import relation_tables
from graph.scan import display_path
from graph.segments import (
    FILE_SEGMENT,
    SegmentFiles,
    SegmentPart,
    merge_segments,
    new_segment,
    write_segment,
)
from storage.faults import fault_point
from storage.spec_codec import encode_table


@dataclass(frozen=True)
class WorkerSetup:
    """Everything a worker needs, loaded by the parent from the build's registry."""

    contracts: tuple[object, ...]
    """Node and edge contracts, derivations and prop enums (``ContractRegistry``'s arguments)."""
    datasets: Mapping[str, DatasetContract]
    tables: BuildTables
    relations: Mapping[str, pa.Schema]
    repo_id: str
    repo: Path
    out: Path
    modules: ModuleNames
    max_file_bytes: int
    endpoint_kinds: frozenset[str]
    """Node kinds the rule engine's edges may join: their nodes go to the endpoint index."""


@dataclass(frozen=True)
class ExtractedBatch:
    """A batch of files written as one segment: which files, and their DIAG and violation counts."""

    segment: SegmentFiles
    files: tuple[str, ...]
    """On-disk relative paths, in batch order."""
    file_ids: tuple[str, ...]
    diagnostics: tuple[int, ...]
    """DIAG nodes per file."""
    violations: int


@dataclass
class _Worker:
    setup: WorkerSetup
    validator: RowValidator = field(init=False)

    def __post_init__(self) -> None:
        registry = ContractRegistry(*self.setup.contracts)  # type: ignore[arg-type]
        self.validator = RowValidator(registry, self.setup.datasets)


_STATE: dict[str, _Worker] = {}
_TOKEN: dict[str, str] = {}


def warm_up() -> None:
    """A pool worker's first step: importing this module loads the extractors, so a worker is
    ready by the time the parent has read the registry and sends the first task."""


def init_worker(setup: WorkerSetup, token: str = "") -> None:
    """Set up this process to extract files and write segments (``token`` names the setup, for
    executors whose workers outlive a build: ``current_setup``)."""
    _STATE["worker"] = _Worker(setup)
    _TOKEN["token"] = token


def run_task(token: str, setup: WorkerSetup, task: Callable[[Any], Any], argument: Any) -> Any:
    """``task(argument)`` in a process set up with ``setup`` (once per build: ``token`` names the
    setup, so a worker that outlives a build, or started before the registry was read, gets the
    right one)."""
    if not _STATE or _TOKEN.get("token") != token:
        init_worker(setup, token)
    return task(argument)


def _worker() -> _Worker:
    return _STATE["worker"]


def extract_batch(relpaths: Sequence[str]) -> ExtractedBatch:
    """Read, extract, validate and shape a batch of files, and write it as a new segment."""
    worker = _worker()
    setup = worker.setup
    with _cycle_collector_paused():
        facts = FileFacts()
        owners: list[tuple[str, Mapping[str, int]]] = []
        diagnostics = []
        for relpath in relpaths:
            part = _read_and_extract(setup, relpath)
            owners.append(
                (_file_id(setup, relpath), {n: len(rows) for n, rows in part.relations.items()})
            )
            diagnostics.append(sum(1 for node in part.nodes if node.node_kind == "DIAG"))
            facts.extend(part)
        return _written(worker, facts, relpaths, owners, diagnostics)


def failed_file(relpath: str, failure: WorkFailure) -> ExtractedBatch:
    """The segment of a file whose worker failed on it (in the parent): PY_FILE and a DIAG."""
    worker = _worker()
    setup = worker.setup
    facts = unextracted_file(
        setup.repo_id,
        display_path(relpath),
        modules=setup.modules,
        content=source_digest(setup.repo / relpath, setup.max_file_bytes),
        stage="extract",
        code=failure.code,
        message=f"extraction stopped: {failure.message}",
    )
    owners = [(_file_id(setup, relpath), {n: len(rows) for n, rows in facts.relations.items()})]
    return _written(worker, facts, [relpath], owners, [1])


def merge_task(parts: Sequence[SegmentPart]) -> SegmentFiles:
    """Merge committed segments into a new one, without their dropped files' rows."""
    setup = _worker().setup
    return merge_segments(setup.out, setup.tables, parts, FILE_SEGMENT)


def _file_id(setup: WorkerSetup, relpath: str) -> str:
    return file_node_id(setup.repo_id, display_path(relpath))


def _written(
    worker: _Worker,
    facts: FileFacts,
    relpaths: Sequence[str],
    owners: Sequence[tuple[str, Mapping[str, int]]],
    diagnostics: Sequence[int],
) -> ExtractedBatch:
    """``facts`` shaped (dedupe, canonical sort), validated and written as a new segment."""
    setup = worker.setup
    relations = relation_tables(facts.relations, setup.relations)
    rows = shaped_tables(worker.validator, setup.datasets, facts)
    del facts
    for name, table in relations.items():
        owner = [file_id for file_id, counts in owners for _ in range(counts.get(name, 0))]
        rows[f"{RELATION_PREFIX}{name}"] = table.append_column(
            OWNER_COLUMN, pa.array(owner, pa.string())
        )
    rows[ENDPOINTS] = endpoint_rows(rows[NODES], setup.endpoint_kinds)
    violations = rows[VIOLATIONS].num_rows
    segment = write_segment(setup.out, setup.tables, new_segment(FILE_SEGMENT), rows)
    return ExtractedBatch(
        segment,
        tuple(relpaths),
        tuple(file_id for file_id, _ in owners),
        tuple(diagnostics),
        violations,
    )


def shaped_tables(
    validator: RowValidator,
    datasets: Mapping[str, DatasetContract],
    facts: FileFacts,
    known_nodes: Mapping[str, str] = MappingProxyType({}),
) -> dict[str, pa.Table]:
    """The datasets' tables of ``facts`` (by role) and their violations (``violations``);
    ``known_nodes`` are the kinds of nodes outside ``facts`` that edges may point at."""
    plain = plain_tables(facts, datasets).by_dataset()
    tables = {name: dataset_table(table, datasets[name]) for name, table in plain.items()}
    shaped = PlainTables(*(tables[name] for name in DATASETS))
    sorted_props = props_sorted(datasets)
    violations = validator.validate_tables(shaped, known_nodes, props_sorted=sorted_props)
    rows: dict[str, pa.Table] = dict(tables)
    rows[VIOLATIONS] = encode_table(ContractViolation, violations, VIOLATIONS_TABLE)
    return rows


def endpoint_rows(nodes: pa.Table, kinds: frozenset[str]) -> pa.Table:
    """The endpoint index rows of ``nodes``: those of the given kinds, id, kind and file."""
    wanted = pc.is_in(nodes.column("node_kind").cast(pa.string()), pa.array(sorted(kinds)))
    return nodes.filter(wanted).select(list(ENDPOINT_COLUMNS))


@contextmanager
def _cycle_collector_paused() -> Iterator[None]:
    """Extraction allocates millions of row tuples that stay alive for the whole batch, and each
    automatic collection walks all of them: a third of the extraction time on 120 stdlib files
    (12.6 s -> 8.5 s without it). The rows hold no cycles; the few that parse errors' tracebacks
    make are collected once the batch is done."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _read_and_extract(setup: WorkerSetup, relpath: str) -> FileFacts:
    """The rows of one file; a file that cannot be read, or is over the size limit, gets
    PY_FILE (+ PY_MODULE) and a DIAG.

    ``relpath`` is the name on disk; rows carry its display form (``scan.display_path``).
    """
    path = display_path(relpath)
    max_bytes = setup.max_file_bytes
    fault_point("graph.extract")
    try:
        data = read_source(setup.repo / relpath, max_bytes)
    except FileTooLargeError as exc:
        return unextracted_file(
            setup.repo_id,
            path,
            modules=setup.modules,
            content=(exc.size, exc.sha256),
            stage="decode",
            code="file-too-large",
            message=f"{exc.size} bytes, over the limit of {max_bytes} (max_file_bytes)",
        )
    except OSError as exc:  # vanished mid-scan, dangling or looping symlink, FIFO, no permission
        return unextracted_file(
            setup.repo_id,
            path,
            modules=setup.modules,
            content=None,  # nothing was read: no size, no hash
            stage="decode",
            code=f"read-error:{type(exc).__name__}",
            message=f"cannot read the file: {exc.strerror or exc}",
        )
    return extract_file(setup.repo_id, path, data, modules=setup.modules)
