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

A file that cannot be read, decoded, parsed or compiled, or is larger than ``max_file_bytes``,
or whose worker dies, passes its memory limit or runs out of time (``guarded_pool``), still gets
its PY_FILE row and a DIAG; a directory that cannot be listed gets a DIAG on PY_REPO; every other
file is complete. ``output_dir/_build.json`` says ``running`` from before the first write until
the last one is done (``build_status``), so an interrupted build is never taken for a complete one.
"""

from __future__ import annotations

import gc
import math
import os
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from cpg.contract_registry import ContractRegistry, load_contracts_from_registry
from cpg.registry_specs import DatasetContract, dataset_for_role
from cpg.spec_set import SpecSet
from graph.build_status import mark_complete, mark_failed, mark_running
from graph.extract.diagnostics import directory_diagnostic, unextracted_file
from graph.extract.file_facts import extract_file
from graph.extract.filesystem import extract_repo, file_node_id
from graph.extract.module_names import ImportRoot, ModuleNames, package_dirs
from graph.extract.rows import FileFacts
from graph.facts_tables import (
    DATASETS,
    PlainTables,
    dataset_table,
    facts_tables,
    plain_tables,
    props_sorted,
)
from graph.file_read import (
    DEFAULT_MAX_FILE_BYTES,
    FileTooLargeError,
    read_source,
    source_digest,
)
from graph.guarded_pool import PoolLimits, WorkFailure, default_memory_limit, run_batches
from graph.own_tables import VIOLATIONS_TABLE, ContractViolation
from graph.repo_layers import RepoLayerOptions, RepoLayers
from graph.row_validation import RowValidator
from graph.rules.relations import relation_tables
from graph.rules.stage import RuleStage
from graph.scan import RepoScan, display_path, scan_repository
from graph.source_roots import declared_roots, detect_source_roots
from storage.deltalake.delta import DeltaAppender, write_table_delta
from storage.deltalake.registry_runner import run_registry_exports
from storage.faults import fault_point
from storage.spec_codec import encode_table

DEFAULT_BATCH_FILES = 32
"""Files per worker task and per Delta append at most: rows are sorted within such a batch."""
DEFAULT_BATCH_BYTES = 1 << 20
"""Source bytes per batch at most (a larger file makes a batch of its own). A worker's memory
grows by a few hundred times a batch's source (measured: 440 MiB for 101 stdlib files, 1 MiB);
the cap keeps a repository of large or generated files from making one batch the size of many."""
DEFAULT_BATCH_TIMEOUT = 600.0
"""Seconds a worker may spend on one batch. A batch holds at most ``DEFAULT_BATCH_BYTES`` of
source (or one file of at most ``DEFAULT_MAX_FILE_BYTES``); dense generated code extracts at
~10 s per MB here, so only a pathological file comes near it."""


class OutputNotWritableError(PermissionError):
    """The output directory cannot be created or written."""


@dataclass(frozen=True)
class WorkLimits:
    """What extracting files may take: bytes of one file, resident bytes of one worker (None:
    half the machine's memory shared by the workers), seconds of one batch (None: no limit).

    The memory and time limits hold in worker processes; ``workers=0`` extracts in the calling
    process, bounded by the size cap only.
    """

    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    worker_memory_bytes: int | None = None
    batch_timeout: float | None = DEFAULT_BATCH_TIMEOUT


@dataclass
class BuildResult:
    """What a build wrote: row counts per dataset, files, and contract violations."""

    output_dir: Path
    files: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    violations: int = 0
    diagnostics: int = 0
    import_roots: tuple[ImportRoot, ...] = ()
    """The import roots module names came from (declared or detected; empty: the repository)."""
    rules: tuple[str, ...] = ()
    """Summary lines of the rule engine: rules run and skipped, edges per rule."""
    layers: tuple[str, ...] = ()
    """Summary lines of the repository-level layers (SCIP): what each did, or why it did not."""


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
    modules: ModuleNames,
    max_file_bytes: int,
    relations: dict[str, pa.Schema],
) -> None:
    """Set up this process to extract and shape files: a worker, or the parent when it extracts
    itself or shapes the rows of a file whose worker failed."""
    registry = ContractRegistry(*contracts)  # type: ignore[arg-type]
    _WORKER.update(
        validator=RowValidator(registry, datasets),
        datasets=datasets,
        repo_id=repo_id,
        repo=repo,
        modules=modules,
        max_file_bytes=max_file_bytes,
        relations=relations,
    )


def _extract_batch(relpaths: Sequence[str]) -> _BatchOutcome:
    """Read, extract, validate and shape a batch of files (in a worker process)."""
    repo_id = str(_WORKER["repo_id"])
    repo = _WORKER["repo"]
    assert isinstance(repo, Path)
    modules = _WORKER["modules"]
    assert isinstance(modules, ModuleNames)
    max_bytes = _WORKER["max_file_bytes"]
    assert isinstance(max_bytes, int)
    with _cycle_collector_paused():
        facts = FileFacts()
        for relpath in relpaths:
            facts.extend(_read_and_extract(repo, repo_id, relpath, modules, max_bytes))
        return _shaped(facts, len(relpaths))


def _failed_file(relpath: str, failure: WorkFailure) -> _BatchOutcome:
    """The rows of a file whose worker failed on it (in the parent): PY_FILE and a DIAG."""
    repo = _WORKER["repo"]
    assert isinstance(repo, Path)
    modules = _WORKER["modules"]
    assert isinstance(modules, ModuleNames)
    max_bytes = _WORKER["max_file_bytes"]
    assert isinstance(max_bytes, int)
    facts = unextracted_file(
        str(_WORKER["repo_id"]),
        display_path(relpath),
        modules=modules,
        content=source_digest(repo / relpath, max_bytes),
        stage="extract",
        code=failure.code,
        message=f"extraction stopped: {failure.message}",
    )
    return _shaped(facts, 1)


def _shaped(facts: FileFacts, files: int) -> _BatchOutcome:
    """``facts`` as the datasets' tables (dedupe, canonical sort), with their violations."""
    validator = _WORKER["validator"]
    assert isinstance(validator, RowValidator)
    datasets = _WORKER["datasets"]
    assert isinstance(datasets, dict)
    schemas = _WORKER["relations"]
    assert isinstance(schemas, dict)
    diags = sum(1 for node in facts.nodes if node.node_kind == "DIAG")
    relations = relation_tables(facts.relations, schemas)
    plain = plain_tables(facts, datasets).by_dataset()
    del facts
    tables = {name: dataset_table(table, datasets[name]) for name, table in plain.items()}
    shaped = PlainTables(*(tables[name] for name in DATASETS))
    violations = validator.validate_tables(shaped, props_sorted=props_sorted(datasets))
    return _BatchOutcome(files, tables, violations, diags, relations)


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
    repo: Path, repo_id: str, relpath: str, modules: ModuleNames, max_bytes: int
) -> FileFacts:
    """The rows of one file; a file that cannot be read, or is over ``max_bytes``, gets
    PY_FILE (+ PY_MODULE) and a DIAG.

    ``relpath`` is the name on disk; rows carry its display form (``scan.display_path``).
    """
    path = display_path(relpath)
    fault_point("graph.extract")
    try:
        data = read_source(repo / relpath, max_bytes)
    except FileTooLargeError as exc:
        return unextracted_file(
            repo_id,
            path,
            modules=modules,
            content=(exc.size, exc.sha256),
            stage="decode",
            code="file-too-large",
            message=f"{exc.size} bytes, over the limit of {max_bytes} (max_file_bytes)",
        )
    except OSError as exc:  # vanished mid-scan, dangling or looping symlink, FIFO, no permission
        return unextracted_file(
            repo_id,
            path,
            modules=modules,
            content=None,  # nothing was read: no size, no hash
            stage="decode",
            code=f"read-error:{type(exc).__name__}",
            message=f"cannot read the file: {exc.strerror or exc}",
        )
    return extract_file(repo_id, path, data, modules=modules)


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
    dataset (re)creates its table, later ones append. Tables are keyed by dataset role (or, for
    tables outside the registry's datasets, by name); each is written under its dataset's name."""

    def __init__(self, output_dir: Path, contracts: dict[str, DatasetContract]) -> None:
        self.output_dir = output_dir
        self.contracts = contracts
        self.appenders: dict[str, DeltaAppender] = {}
        self.rows = {contract.name: 0 for contract in contracts.values()}

    def write(self, tables: dict[str, pa.Table]) -> None:
        for name in self.contracts:
            self.write_table(name, tables[name])

    def write_table(self, key: str, table: pa.Table) -> None:
        contract = self.contracts.get(key)
        name = key if contract is None else contract.name
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
    source_roots: Sequence[str | Path] = (),
    limits: WorkLimits = WorkLimits(),
    specs: SpecSet | None = None,
    layers: RepoLayerOptions | None = None,
) -> BuildResult:
    """Build the CPG of ``repo_root`` into ``output_dir`` (see the module docstring).

    ``workers`` extraction processes (default: one per CPU; 0: this process). ``on_start(total
    files)`` and ``on_file(done)`` report progress; ``exclude`` names directories to skip;
    ``source_roots`` are the import roots that name modules (relative to ``repo_root``; default:
    what its layout says, ``graph.source_roots``); ``specs`` replaces the canonical specs the
    registry is exported from (a test spec set); ``layers`` picks the repository-level layers
    (``graph.repo_layers``; default: SCIP). Raises ``RepositoryNotFoundError``,
    ``RepositoryUnreadableError``, ``SourceRootError`` or ``OutputNotWritableError`` before
    writing anything; after that, a failure leaves
    ``_build.json`` saying ``failed`` (or ``running``, when even that cannot be written).
    """
    repo = Path(repo_root).resolve()
    scan = scan_repository(repo, exclude)
    roots = declared_roots(repo, source_roots) if source_roots else detect_source_roots(repo)
    out = Path(output_dir)
    _check_writable(out)
    started = mark_running(out, repo)
    try:
        batching = (batch_files, batch_bytes)
        result = _build(
            repo,
            scan,
            roots,
            out,
            workers,
            batching,
            limits,
            specs,
            layers or RepoLayerOptions(),
            on_file,
            on_start,
        )
    except BaseException as exc:
        mark_failed(out, started, f"{type(exc).__name__}: {exc}".removesuffix(": "))
        raise
    mark_complete(out, started, result.files, result.rows)
    return result


def _build(
    repo: Path,
    scan: RepoScan,
    roots: tuple[ImportRoot, ...],
    out: Path,
    workers: int | None,
    batching: tuple[int, int],
    limits: WorkLimits,
    specs: SpecSet | None,
    layer_options: RepoLayerOptions,
    on_file: Callable[[int], None] | None,
    on_start: Callable[[int], None] | None,
) -> BuildResult:
    relpaths = scan.files
    run_registry_exports(out, specs=specs)
    registry = load_contracts_from_registry(out)
    contracts: dict[str, DatasetContract] = {
        role: dataset_for_role(role, registry=out) for role in DATASETS
    }
    writer = _DatasetWriter(out, contracts)
    rules = RuleStage(out, contracts)
    result = BuildResult(output_dir=out, files=len(relpaths), import_roots=roots)
    repo_id = repo.name or "repo"
    modules = ModuleNames(roots, package_dirs(display_path(relpath) for relpath in relpaths))
    violations = _repo_level(repo_id, repo, scan, roots, registry, writer, rules)
    result.diagnostics += len(scan.unreadable)
    layers = RepoLayers.start(repo, repo_id, roots, scan, layer_options)
    if on_start is not None:
        on_start(len(relpaths))
    batches = _outcomes(
        registry,
        contracts,
        repo_id,
        repo,
        modules,
        rules.relation_schemas,
        relpaths,
        workers,
        batching,
        limits,
    )
    for outcome in batches:
        fault_point("graph.write", out)
        writer.write(outcome.tables)
        rules.collect(outcome.relations)
        fault_point("graph.after_batch")
        violations.extend(outcome.violations)
        result.diagnostics += outcome.diagnostics
        if on_file is not None:
            on_file(outcome.files)
    files = repo_files(repo_id, scan)
    layers.finish(
        lambda rows: violations.extend(write_repo_facts(rows, files, registry, writer, rules))
    )
    result.layers = tuple(layers.summary)
    result.diagnostics += layers.diagnostics
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
    scan: RepoScan,
    roots: tuple[ImportRoot, ...],
    registry: ContractRegistry,
    writer: _DatasetWriter,
    rules: RuleStage,
) -> list[ContractViolation]:
    """Write PY_REPO, packages, REPO_CONTAINS and the DIAGs of directories that could not be
    listed (their relation rows go to the rules); return their violations."""
    paths = [display_path(relpath) for relpath in scan.files]
    facts = extract_repo(repo_id, repo.name, paths, roots)
    for relpath, error in scan.unreadable:
        facts.extend(directory_diagnostic(repo_id, display_path(relpath), error))
    return write_repo_facts(facts, repo_files(repo_id, scan), registry, writer, rules)


def repo_files(repo_id: str, scan: RepoScan) -> dict[str, str]:
    """The PY_FILE node id of every file of the build -> its kind: the endpoints that rows
    written outside the file batches may point at."""
    return {file_node_id(repo_id, display_path(relpath)): "PY_FILE" for relpath in scan.files}


def write_repo_facts(
    facts: FileFacts,
    files: Mapping[str, str],
    registry: ContractRegistry,
    writer: _DatasetWriter,
    rules: RuleStage,
) -> list[ContractViolation]:
    """Write rows made outside the file batches (repository-level), hand their relations to the
    rules; return their violations (``files``: see ``repo_files``)."""
    writer.write(facts_tables(facts, writer.contracts))
    rules.collect(relation_tables(facts.relations, rules.relation_schemas))
    return RowValidator(registry, writer.contracts).validate(facts, files)


def file_batches(
    repo: Path,
    relpaths: Sequence[str],
    max_files: int,
    max_bytes: int,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
) -> list[Sequence[str]]:
    """Consecutive files, at most ``max_files`` and ``max_bytes`` of source a batch (a larger
    file alone). A file that cannot be stat'ed, or is over ``max_file_bytes`` (it will not be
    read), counts 0 bytes: its worker reports it."""
    batches: list[Sequence[str]] = []
    start, size = 0, 0
    for index, relpath in enumerate(relpaths):
        try:
            nbytes = (repo / relpath).stat().st_size
        except OSError:
            nbytes = 0
        if nbytes > max_file_bytes:
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
    modules: ModuleNames,
    relations: dict[str, pa.Schema],
    relpaths: Sequence[str],
    workers: int | None,
    batching: tuple[int, int],
    limits: WorkLimits,
) -> Iterator[_BatchOutcome]:
    """Outcomes of batches of files, in path order; extraction runs in ``workers`` processes
    (``guarded_pool``), or in this one when ``workers`` is 0.

    ``batching``: at most so many files and source bytes per batch (``file_batches``).

    Workers get the contracts the parent loaded from the registry, so they never read Delta.
    """
    count = workers if workers is not None else (os.cpu_count() or 1)
    contracts = (
        registry.node_contracts,
        registry.edge_contracts,
        registry.derivations,
        registry.prop_enums,
    )
    init_args = (contracts, datasets, repo_id, repo, modules, limits.max_file_bytes, relations)
    max_files, max_bytes = batching
    max_files = max(1, min(max_files, math.ceil(len(relpaths) / (4 * max(count, 1)))))
    batches = file_batches(repo, relpaths, max_files, max_bytes, limits.max_file_bytes)
    _init_worker(*init_args)
    if count == 0 or not batches:
        yield from map(_extract_batch, batches)
        return
    memory = limits.worker_memory_bytes or default_memory_limit(count)
    yield from run_batches(
        _extract_batch,
        batches,
        limits=PoolLimits(min(count, len(batches)), memory, limits.batch_timeout),
        initializer=_init_worker,
        initargs=init_args,
        on_failure=_failed_file,
    )
