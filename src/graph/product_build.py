"""Build the CPG of a Python repository, shaped and checked by the registry it carries.

``build_graph_product(repo_root, output_dir)``:

1. exports the registry with the same runner as ``python -m generator``
   (``run_registry_exports(output_dir)`` -> ``output_dir/registry/{cpg,relspec}``);
2. loads the contracts and dataset contracts back from that registry (not from spec constants);
3. extracts every ``.py``/``.pyi`` file in worker processes (``graph.extract``), a batch of files
   per task: a worker shapes the batch's rows into the datasets' tables (schema, dedupe contract,
   canonical sort), checks them against the contracts, and the parent appends them to Delta:
   ``output_dir/cpg_nodes_v1``, ``cpg_edges_v1``, ``cpg_props_v1``, ``cpg_props_json_v1`` and
   the violations in ``cpg_build_violations``;
4. runs the relspec rules of that registry over the relations the layers extracted
   (``graph.rules``), appending their edges and props and writing ``cpg_rule_losers``.

A file that cannot be read, decoded, parsed or compiled still gets its PY_FILE row and a DIAG;
every other file is complete.
"""

from __future__ import annotations

import errno
import gc
import math
import multiprocessing
import os
import stat
from collections import deque
from collections.abc import Callable, Collection, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from cpg.contract_registry import ContractRegistry, load_contracts_from_registry
from cpg.registry_specs import DatasetContract, dataset_contract
from cpg.spec_set import SpecSet
from graph.extract.diagnostics import ERROR, diagnostic
from graph.extract.file_facts import extract_file
from graph.extract.filesystem import (
    extract_file_entry,
    extract_repo,
    file_node_id,
    package_dirs,
)
from graph.extract.rows import FileFacts
from graph.facts_tables import (
    DATASETS,
    PlainTables,
    dataset_table,
    facts_tables,
    plain_tables,
    props_sorted,
)
from graph.row_validation import VIOLATIONS_TABLE, ContractViolation, RowValidator
from graph.rules.relations import relation_tables
from graph.rules.stage import RuleStage
from graph.scan import display_path, python_files
from storage.deltalake.delta import DeltaAppender, write_table_delta
from storage.deltalake.registry_runner import run_registry_exports
from storage.spec_codec import encode_table

DEFAULT_BATCH_FILES = 32
"""Files per worker task and per Delta append at most: rows are sorted within such a batch."""
DEFAULT_BATCH_BYTES = 1 << 20
"""Source bytes per batch at most (a larger file makes a batch of its own). A worker's memory
grows by a few hundred times a batch's source (measured: 440 MiB for 101 stdlib files, 1 MiB);
the cap keeps a repository of large or generated files from making one batch the size of many."""


class OutputNotWritableError(PermissionError):
    """The output directory cannot be created or written."""


@dataclass
class BuildResult:
    """What a build wrote: row counts per dataset, files, and contract violations."""

    output_dir: Path
    files: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    violations: int = 0
    diagnostics: int = 0
    rules: tuple[str, ...] = ()
    """Summary lines of the rule engine: rules run and skipped, edges per rule."""


@dataclass(frozen=True)
class _BatchOutcome:
    files: int
    tables: dict[str, pa.Table]
    violations: list[ContractViolation]
    diagnostics: int
    relations: dict[str, pa.Table]


_WORKER: dict[str, object] = {}


def _init_worker(
    contracts: tuple[object, ...],
    datasets: dict[str, DatasetContract],
    repo_id: str,
    repo: Path,
    packages: frozenset[str],
    relations: dict[str, pa.Schema],
) -> None:
    registry = ContractRegistry(*contracts)  # type: ignore[arg-type]
    _WORKER.update(
        validator=RowValidator(registry, datasets),
        datasets=datasets,
        repo_id=repo_id,
        repo=repo,
        packages=packages,
        relations=relations,
    )


def _extract_batch(relpaths: Sequence[str]) -> _BatchOutcome:
    """Read, extract, validate and shape a batch of files (in a worker process)."""
    repo_id = str(_WORKER["repo_id"])
    repo = _WORKER["repo"]
    assert isinstance(repo, Path)
    validator = _WORKER["validator"]
    assert isinstance(validator, RowValidator)
    packages = _WORKER["packages"]
    assert isinstance(packages, frozenset)
    datasets = _WORKER["datasets"]
    assert isinstance(datasets, dict)
    schemas = _WORKER["relations"]
    assert isinstance(schemas, dict)
    with _cycle_collector_paused():
        facts = FileFacts()
        for relpath in relpaths:
            facts.extend(_read_and_extract(repo, repo_id, relpath, packages))
        diags = sum(1 for node in facts.nodes if node.node_kind == "DIAG")
        plain = plain_tables(facts, datasets).by_dataset()
        relations = relation_tables(facts.relations, schemas)
        del facts
    tables = {name: dataset_table(table, datasets[name]) for name, table in plain.items()}
    shaped = PlainTables(*(tables[name] for name in DATASETS))
    violations = validator.validate_tables(shaped, props_sorted=props_sorted(datasets))
    return _BatchOutcome(len(relpaths), tables, violations, diags, relations)


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


def _read_and_extract(
    repo: Path, repo_id: str, relpath: str, packages: frozenset[str]
) -> FileFacts:
    """The rows of one file; a file that cannot be read gets PY_FILE (+ PY_MODULE) and a DIAG.

    ``relpath`` is the name on disk; rows carry its display form (``scan.display_path``).
    """
    path = display_path(relpath)
    try:
        data = _read_regular_file(repo / relpath)
    except OSError as exc:  # vanished mid-scan, dangling or looping symlink, FIFO, no permission
        facts = extract_file_entry(repo_id, path, b"", packages=packages)
        unread = {"size_bytes", "file_sha256"}  # nothing was read: no size, no hash
        facts.props = [p for p in facts.props if p.prop_key not in unread]
        diagnostic(
            facts,
            file_id=file_node_id(repo_id, path),
            path=path,
            stage="decode",
            severity=ERROR,
            code=f"read-error:{type(exc).__name__}",
            message=f"cannot read the file: {exc.strerror or exc}",
            span=(0, 0),
        )
        return facts
    return extract_file(repo_id, path, data, packages=packages)


def _read_regular_file(path: Path) -> bytes:
    """The bytes of a regular file; anything else (FIFO, device, socket) is an ``OSError``.

    Checked on the opened descriptor, so a file swapped for a FIFO after the scan cannot block.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
    descriptor = os.open(path, flags)
    with os.fdopen(descriptor, "rb") as stream:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        return stream.read()


def _check_writable(output_dir: Path) -> None:
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        probe = output_dir / ".write-probe"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        msg = f"output directory {output_dir} is not writable: {exc.strerror or exc}"
        raise OutputNotWritableError(msg) from None


class _DatasetWriter:
    """Streams batches of tables into the Delta tables of the datasets: the first batch of a
    dataset (re)creates its table, later ones append."""

    def __init__(self, output_dir: Path, contracts: dict[str, DatasetContract]) -> None:
        self.output_dir = output_dir
        self.contracts = contracts
        self.appenders: dict[str, DeltaAppender] = {}
        self.rows = dict.fromkeys(contracts, 0)

    def write(self, tables: dict[str, pa.Table]) -> None:
        for name in self.contracts:
            self.write_table(name, tables[name])

    def write_table(self, name: str, table: pa.Table) -> None:
        path = self.output_dir / name
        appender = self.appenders.get(name)
        if appender is None:
            write_table_delta(path, table)
            self.appenders[name] = DeltaAppender(path)
        elif table.num_rows:
            appender.append(table)
        self.rows[name] = self.rows.get(name, 0) + table.num_rows


def build_graph_product(
    repo_root: str | Path,
    output_dir: str | Path,
    *,
    workers: int | None = None,
    batch_files: int = DEFAULT_BATCH_FILES,
    batch_bytes: int = DEFAULT_BATCH_BYTES,
    on_file: Callable[[int], None] | None = None,
    on_start: Callable[[int], None] | None = None,
    exclude: Collection[str] = (),
    specs: SpecSet | None = None,
) -> BuildResult:
    """Build the CPG of ``repo_root`` into ``output_dir`` (see the module docstring).

    ``on_start(total_files)`` and ``on_file(done)`` report progress; ``exclude`` names
    directories to skip; ``specs`` replaces the canonical specs the registry is exported from
    (a test spec set). Raises
    ``RepositoryNotFoundError`` or ``OutputNotWritableError`` before writing anything.
    """
    repo = Path(repo_root).resolve()
    relpaths = python_files(repo, exclude)
    out = Path(output_dir)
    _check_writable(out)
    run_registry_exports(out, specs=specs)
    registry = load_contracts_from_registry(out)
    contracts = {name: dataset_contract(name, registry=out) for name in DATASETS}
    rules = RuleStage(out, contracts)
    writer = _DatasetWriter(out, contracts)
    result = BuildResult(output_dir=out, files=len(relpaths))
    repo_id = repo.name or "repo"
    packages = package_dirs(display_path(relpath) for relpath in relpaths)
    violations = _repo_level(repo_id, repo, relpaths, registry, writer)
    if on_start is not None:
        on_start(len(relpaths))
    batches = _outcomes(
        registry,
        contracts,
        repo_id,
        repo,
        packages,
        rules.relation_schemas,
        relpaths,
        workers,
        (batch_files, batch_bytes),
    )
    for outcome in batches:
        writer.write(outcome.tables)
        rules.collect(outcome.relations)
        violations.extend(outcome.violations)
        result.diagnostics += outcome.diagnostics
        if on_file is not None:
            on_file(outcome.files)
    ruled = rules.finish(out, registry, writer)
    violations.extend(ruled.violations)
    result.rules = ruled.summary
    writer.write_table(
        VIOLATIONS_TABLE, encode_table(ContractViolation, violations, VIOLATIONS_TABLE)
    )
    result.rows = dict(writer.rows)
    result.violations = len(violations)
    return result


def _repo_level(
    repo_id: str,
    repo: Path,
    relpaths: Sequence[str],
    registry: ContractRegistry,
    writer: _DatasetWriter,
) -> list[ContractViolation]:
    """Write PY_REPO, packages and REPO_CONTAINS; return their violations."""
    paths = [display_path(relpath) for relpath in relpaths]
    facts = extract_repo(repo_id, repo.name, paths)
    files = {file_node_id(repo_id, path): "PY_FILE" for path in paths}
    writer.write(facts_tables(facts, writer.contracts))
    return RowValidator(registry, writer.contracts).validate(facts, files)


def file_batches(
    repo: Path, relpaths: Sequence[str], max_files: int, max_bytes: int
) -> list[Sequence[str]]:
    """Consecutive files, at most ``max_files`` and ``max_bytes`` of source a batch (a larger
    file alone). A file that cannot be stat'ed counts 0 bytes: its worker reports it."""
    batches: list[Sequence[str]] = []
    start, size = 0, 0
    for index, relpath in enumerate(relpaths):
        try:
            nbytes = (repo / relpath).stat().st_size
        except OSError:
            nbytes = 0
        if index > start and (index - start >= max_files or size + nbytes > max_bytes):
            batches.append(relpaths[start:index])
            start, size = index, 0
        size += nbytes
    if start < len(relpaths):
        batches.append(relpaths[start:])
    return batches


def _outcomes(
    registry: ContractRegistry,
    datasets: dict[str, DatasetContract],
    repo_id: str,
    repo: Path,
    packages: frozenset[str],
    relations: dict[str, pa.Schema],
    relpaths: Sequence[str],
    workers: int | None,
    limits: tuple[int, int],
) -> Iterator[_BatchOutcome]:
    """Outcomes of batches of files, in path order; extraction runs in ``workers`` processes.

    ``limits``: at most so many files and source bytes per batch (``file_batches``).

    Workers are spawned, not forked: deltalake's runtime does not survive a fork. They get the
    contracts the parent loaded from the registry, so they never read Delta themselves.
    """
    count = workers if workers is not None else (os.cpu_count() or 1)
    contracts = (
        registry.node_contracts,
        registry.edge_contracts,
        registry.derivations,
        registry.prop_enums,
    )
    init_args = (contracts, datasets, repo_id, repo, packages, relations)
    max_files, max_bytes = limits
    max_files = max(1, min(max_files, math.ceil(len(relpaths) / (4 * max(count, 1)))))
    batches = file_batches(repo, relpaths, max_files, max_bytes)
    if count <= 1 or len(batches) < 2:
        _init_worker(*init_args)
        yield from map(_extract_batch, batches)
        return
    context = multiprocessing.get_context("spawn")
    window = count * 2  # batches in flight: bounds memory when writing is the slower side
    with ProcessPoolExecutor(
        count, mp_context=context, initializer=_init_worker, initargs=init_args
    ) as pool:
        pending: deque[Future[_BatchOutcome]] = deque()
        for batch in batches:
            pending.append(pool.submit(_extract_batch, batch))
            if len(pending) >= window:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
