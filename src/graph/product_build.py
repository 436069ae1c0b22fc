"""Build the CPG of a Python repository, shaped and checked by the registry it carries.

``build_graph_product(repo_root, output_dir)``:

1. exports the registry with the same runner as ``python -m generator``
   (``run_registry_exports(output_dir)`` -> ``output_dir/registry/{cpg,relspec}``) and loads the
   contracts and dataset contracts back from it (not from spec constants);
2. hashes every ``.py``/``.pyi`` file and compares the hashes with the last build's
   (``incremental``): only added and changed files are extracted, removed ones dropped; a change
   of registry, extractor or interpreter (or ``full``) makes it a full build;
3. extracts those files in an executor (``executors``: worker processes, Ray tasks, or this
   process), a batch of files per task: a worker shapes the batch's rows into the datasets'
   tables (schema, dedupe contract, canonical sort), checks them against the contracts, and
   writes them, with their violations and relation rows, as a segment (``segments``): Parquet
   files in the tables' folders (``cpg_nodes_v1``, ..., ``cpg_build_violations``,
   ``_relations/<relation>``);
4. writes the repository-level rows (PY_REPO, packages, REPO_CONTAINS) as a segment of their own,
   and the rows of the repository-level layers (SCIP, runtime: ``graph.repo_layers``, run as
   subprocesses beside the workers) as another; these see every file, so they run again, whole,
   when any file was extracted or dropped (or the layers asked for changed), and are kept as
   they are otherwise;
5. merges segments (``compaction``): the old segments of changed and removed files without their
   rows, and small segments into larger ones;
6. runs the relspec rules of the registry over every file's relation rows (``graph.rules``) and
   writes their edges, props, violations and losers (``cpg_rule_losers``) as the rules segment;
7. commits every table once (Delta's transaction API: this version's new files added, the
   replaced ones removed), deletes what no version refers to, and records each file's hash.

A file that cannot be read, decoded, parsed or compiled, or is larger than ``max_file_bytes``,
or whose worker dies, passes its memory limit or runs out of time (``guarded_pool``), still gets
its PY_FILE row and a DIAG; a directory that cannot be listed gets a DIAG on PY_REPO; every other
file is complete. ``output_dir/_build.json`` says ``running`` from before the first write until
the last one is done (``build_status``), so an interrupted build is never taken for a complete one;
until the commits, readers see the previous build's tables.
"""

from __future__ import annotations

import math
import os
import resource
import sys
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from cpg.contract_registry import ContractRegistry, load_contracts_from_registry
from cpg.registry_specs import DatasetContract, dataset_for_role
from cpg.spec_set import SpecSet
from graph.build_plan import FileSet, committed_build
from graph.build_status import (
    BuildRecord,
    IncompleteBuildError,
    mark_complete,
    mark_failed,
    mark_running,
    read_record,
)
from graph.build_tables import (
    ENDPOINTS,
    LOSERS,
    OWNER_COLUMN,
    RELATION_PREFIX,
    VIOLATIONS,
    BuildTable,
    BuildTables,
    build_tables,
)
from graph.build_worker import (
    ExtractedBatch,
    WorkerSetup,
    endpoint_rows,
    extract_batch,
    failed_file,
    merge_task,
    shaped_tables,
)
from graph.compaction import Candidate, CompactionPolicy, plan_compaction
from graph.executors import Executor, ExecutorChoice, SetUpExecutor, open_executor
from graph.extract.diagnostics import directory_diagnostic
from graph.extract.filesystem import extract_repo, file_node_id
from graph.extract.module_names import ImportRoot, ModuleNames, package_dirs
from graph.extract.rows import FileFacts
from graph.facts_tables import DATASETS, NODES
from graph.file_read import DEFAULT_MAX_FILE_BYTES
from graph.guarded_pool import PoolLimits, default_memory_limit
from graph.incremental import (
    BuildInputs,
    FileChanges,
    FileState,
    build_inputs,
    content_digest,
    file_changes,
    file_key,
    write_state,
)
from graph.own_tables import VIOLATIONS_TABLE, ContractViolation
from graph.repo_layers import RepoLayerOptions, RepoLayers, layer_signature
from graph.row_validation import RowValidator
from graph.rules.relations import relation_tables
from graph.rules.stage import RuleStage
from graph.scan import RepoScan, display_path, scan_repository
from graph.segments import (
    FILE_SEGMENT,
    LAYERS_SEGMENT,
    REPO_SEGMENT,
    RULES_SEGMENT,
    SegmentFiles,
    SegmentPart,
    SegmentWriter,
    new_segment,
    write_segment,
)
from graph.source_roots import declared_roots, detect_source_roots
from storage.deltalake.delta import commit_data_files, vacuum_table
from storage.deltalake.registry_runner import run_registry_exports
from storage.faults import fault_point
from storage.parquet_files import SUFFIX
from storage.spec_codec import encode_table

DEFAULT_BATCH_FILES = 32
"""Files per worker task at most: rows are sorted within such a batch."""
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
    """Summary lines of the repository-level layers (SCIP, runtime): what each did, why it did
    not, or that their rows were kept."""
    full_reason: str | None = None
    """Why every file was extracted; None for an incremental build."""
    extracted: int = 0
    """Files extracted by this build (all of them in a full build)."""
    removed: int = 0
    """Files of the previous build that are gone."""
    data_files: tuple[int, int] = (0, 0)
    """Parquet files written by extraction, and in the committed version after compaction."""
    phases: dict[str, float] = field(default_factory=dict)
    """Seconds per phase of the build, in order."""
    peak_bytes: int = 0
    """The most resident memory this process (not its workers) held."""


def _check_writable(output_dir: Path) -> None:
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        probe = output_dir / ".write-probe"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        msg = f"output directory {output_dir} is not writable: {exc.strerror or exc}"
        raise OutputNotWritableError(msg) from None


@dataclass(frozen=True)
class _Job:
    """One build's arguments."""

    repo: Path
    scan: RepoScan
    roots: tuple[ImportRoot, ...]
    out: Path
    executor: ExecutorChoice
    batching: tuple[int, int]
    limits: WorkLimits
    specs: SpecSet | None
    full: bool
    compaction: CompactionPolicy
    layers: RepoLayerOptions
    on_file: Callable[[int], None] | None
    on_start: Callable[[int], None] | None


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
    full: bool = False,
    executor: ExecutorChoice | None = None,
    compaction: CompactionPolicy | None = None,
    layers: RepoLayerOptions | None = None,
) -> BuildResult:
    """Build the CPG of ``repo_root`` into ``output_dir`` (see the module docstring).

    ``workers`` extraction processes (default: one per CPU; 0: this process); ``executor``
    chooses another executor (Ray). ``on_start(files to extract)`` and ``on_file(done)`` report
    progress; ``exclude`` names directories to skip; ``source_roots`` are the import roots that
    name modules (relative to ``repo_root``; default: what its layout says,
    ``graph.source_roots``); ``specs`` replaces the canonical specs the registry is exported from
    (a test spec set); ``full`` extracts every file even when a previous build could be kept;
    ``compaction`` sizes the segments (``graph.compaction``); ``layers`` picks the
    repository-level layers (``graph.repo_layers``; default: SCIP).
    Raises ``RepositoryNotFoundError``, ``RepositoryUnreadableError``, ``SourceRootError`` or
    ``OutputNotWritableError`` before writing anything; after that, a failure leaves
    ``_build.json`` saying ``failed`` (or ``running``, when even that cannot be written).
    """
    repo = Path(repo_root).resolve()
    scan = scan_repository(repo, exclude)
    roots = declared_roots(repo, source_roots) if source_roots else detect_source_roots(repo)
    out = Path(output_dir)
    _check_writable(out)
    choice = executor or ExecutorChoice(workers=workers)
    job = _Job(
        repo,
        scan,
        roots,
        out,
        choice,
        (batch_files, batch_bytes),
        limits,
        specs,
        full,
        compaction or CompactionPolicy(),
        layers or RepoLayerOptions(),
        on_file,
        on_start,
    )
    try:
        previous = read_record(out)  # before this build's record replaces it
    except IncompleteBuildError:
        previous = None  # unreadable: nothing of that build can be trusted, so this one is full
    started = mark_running(out, repo)
    try:
        result, inputs = _build(job, previous)
    except BaseException as exc:
        mark_failed(out, started, f"{type(exc).__name__}: {exc}".removesuffix(": "))
        raise
    mark_complete(out, started, result.files, result.rows, inputs.as_record())
    return result


class _Phases:
    """Seconds per named phase, in the order they ran."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started


def _build(job: _Job, record: BuildRecord | None) -> tuple[BuildResult, BuildInputs]:
    """The build; its workers start first, so they are ready once the registry is read."""
    with open_executor(job.executor, _pool_limits(job)) as executor:
        return _build_with(job, record, executor)


@dataclass(frozen=True)
class _Registry:
    """What a build reads from the registry it exported."""

    fingerprint: str
    contracts: ContractRegistry
    datasets: dict[str, DatasetContract]
    rules: RuleStage
    tables: BuildTables


def _load_registry(out: Path, specs: SpecSet | None) -> _Registry:
    """Export the registry to ``out/registry`` and read back what the build needs."""
    export = run_registry_exports(out, specs=specs)
    contracts = load_contracts_from_registry(out)
    datasets: dict[str, DatasetContract] = {
        role: dataset_for_role(role, registry=out) for role in DATASETS
    }
    rules = RuleStage(out, datasets)
    tables = build_tables(datasets, rules.relation_schemas)
    return _Registry(export.spec_fingerprint, contracts, datasets, rules, tables)


def _build_with(
    job: _Job, record: BuildRecord | None, workers: Executor
) -> tuple[BuildResult, BuildInputs]:
    out, repo, scan = job.out, job.repo, job.scan
    phases = _Phases()
    with phases("registry"):
        loaded = _load_registry(out, job.specs)
    tables = loaded.tables
    repo_id = repo.name or "repo"
    modules = ModuleNames(job.roots, package_dirs(display_path(p) for p in scan.files))
    inputs = build_inputs(
        loaded.fingerprint, repo_id, job.limits.max_file_bytes, layer_signature(job.layers)
    )
    with phases("hash"):
        keys = {
            relpath: file_key(display_path(relpath), content_digest(repo / relpath), modules)
            for relpath in scan.files
        }
        previous, reason = committed_build(out, record, tables, inputs, job.full)
    state = previous.state if previous is not None else {}
    changes = file_changes(keys, state)
    result = BuildResult(output_dir=out, files=len(scan.files), import_roots=job.roots)
    result.full_reason = None if previous is not None else reason
    result.extracted, result.removed = len(changes.extract), len(changes.removed)
    files = FileSet(previous.segments if previous is not None else {})
    setup = _setup(loaded, repo_id, repo, out, modules, job.limits.max_file_bytes)
    executor = SetUpExecutor(workers, setup)
    rerun = previous is None or bool(changes.extract or changes.removed)
    rerun = rerun or record is None or inputs.layers_changed(record.inputs)
    layers = RepoLayers.start(repo, repo_id, job.roots, scan, job.layers) if rerun else None
    segments = _Segments(files, state, changes)
    rewrites = segments.rewrite(executor)  # runs while the changed files are extracted
    with phases("extract"):
        extracted = _extract(job, executor, segments, changes.extract)
    with phases("repo"):
        files.remove(s for s in files.segments() if s.startswith(REPO_SEGMENT))
        files.add(_repo_level(setup, scan, job.roots, loaded.contracts))
    with phases("layers"):
        if layers is not None:
            files.remove(s for s in files.segments() if s.startswith(LAYERS_SEGMENT))
            files.add(_layer_rows(setup, scan, layers, loaded.contracts))
            result.layers, layer_diagnostics = tuple(layers.summary), layers.diagnostics
        else:
            result.layers = _kept_layers(job.layers)
            layer_diagnostics = _kept_diagnostics(out, tables, files)
    with phases("merge"):
        segments.settle(rewrites)
        segments.compact(executor, job.compaction, full=previous is None)
    with phases("rules"):
        files.remove(s for s in files.segments() if s.startswith(RULES_SEGMENT))
        result.rules = _rules(loaded.rules, loaded.contracts, tables, files, out)
    with phases("commit"):
        _commit(out, tables, files, replace=previous is None)
    with phases("vacuum"):
        _vacuum(out, tables, files)
    new_state = _new_state(state, changes, extracted, keys, segments.moved)
    write_state(out, new_state)
    written = sum(len(batch.segment.files) for batch in extracted)
    result.data_files = (written, sum(len(files.table_files(s.key)) for s in tables))
    result.rows = {loaded.datasets[role].name: files.rows(role) for role in DATASETS}
    result.rows[VIOLATIONS_TABLE] = result.violations = files.rows(VIOLATIONS)
    result.diagnostics = len(scan.unreadable) + sum(s.diagnostics for s in new_state.values())
    result.diagnostics += layer_diagnostics
    result.phases = phases.seconds
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result.peak_bytes = peak if sys.platform == "darwin" else peak * 1024  # KiB on Linux
    return result, inputs


def _setup(
    loaded: _Registry, repo_id: str, repo: Path, out: Path, modules: ModuleNames, max_bytes: int
) -> WorkerSetup:
    registry = loaded.contracts
    contracts = (
        registry.node_contracts,
        registry.edge_contracts,
        registry.derivations,
        registry.prop_enums,
    )
    relations = loaded.rules.relation_schemas
    endpoints = loaded.rules.endpoint_kinds(registry)
    return WorkerSetup(
        contracts,
        loaded.datasets,
        loaded.tables,
        relations,
        repo_id,
        repo,
        out,
        modules,
        max_bytes,
        endpoints,
    )


def _extract(
    job: _Job, executor: Executor, segments: _Segments, relpaths: Sequence[str]
) -> list[ExtractedBatch]:
    """Extract ``relpaths`` in batches, each written by its worker as a segment."""
    if job.on_start is not None:
        job.on_start(len(relpaths))
    extracted = []
    for outcome in executor.run_batches(extract_batch, _batches(job, relpaths), failed_file):
        fault_point("graph.write", job.out)
        extracted.append(outcome)
        segments.add(outcome.segment, outcome.files)
        fault_point("graph.after_batch")
        if job.on_file is not None:
            job.on_file(len(outcome.files))
    return extracted


def _commit(out: Path, tables: BuildTables, files: FileSet, *, replace: bool) -> None:
    """One commit per table: this version's new files in, the files it replaced out (a full
    build: its files are the whole table)."""
    for spec in tables:
        fault_point("graph.commit", out)
        folder = out / spec.folder
        adds, removes = files.adds(spec.key), files.removes(spec.key)
        commit_data_files(folder, spec.schema, adds, removes, replace=replace)


def _vacuum(out: Path, tables: BuildTables, files: FileSet) -> None:
    """Delete what no version refers to, in every table whose folder holds such files."""
    for spec in tables:
        referenced = set(files.table_files(spec.key))
        folder = out / spec.folder
        if any(path.name not in referenced for path in folder.glob(f"*{SUFFIX}")):
            vacuum_table(folder)


def _pool_limits(job: _Job) -> PoolLimits | None:
    """The process pool's limits; None to run in this process (``workers=0``). Every worker
    has work even when one file changed: one extracts it, another rewrites its old segment."""
    count = job.executor.workers if job.executor.workers is not None else (os.cpu_count() or 1)
    if count == 0:
        return None
    memory = job.limits.worker_memory_bytes or default_memory_limit(count)
    return PoolLimits(count, memory, job.limits.batch_timeout)


def _batches(job: _Job, relpaths: Sequence[str]) -> list[Sequence[str]]:
    """Batches of ``relpaths`` (``file_batches``), small enough that every worker gets some."""
    count = job.executor.workers if job.executor.workers is not None else (os.cpu_count() or 1)
    max_files, max_bytes = job.batching
    max_files = max(1, min(max_files, math.ceil(len(relpaths) / (4 * max(count, 1)))))
    return file_batches(job.repo, relpaths, max_files, max_bytes, job.limits.max_file_bytes)


class _Segments:
    """The file segments of the version being made: which files each holds, which lose files
    (rewritten without their rows), which are packed together, and where merges moved them."""

    def __init__(self, files: FileSet, state: Mapping[str, FileState], changes: FileChanges):
        self.files = files
        self.members: dict[str, list[str]] = {}
        for relpath, entry in state.items():
            self.members.setdefault(entry.segment, []).append(relpath)
        self.drops: dict[str, set[str]] = {}
        departing = set(changes.departing)
        for relpath in departing:
            entry = state[relpath]
            self.drops.setdefault(entry.segment, set()).add(entry.file_id)
        emptied = [s for s, dropped in self.drops.items() if len(dropped) == len(self.members[s])]
        files.remove(emptied)
        self.rewritten = [
            (segment, [p for p in self.members[segment] if p not in departing])
            for segment in sorted(self.drops)
            if segment not in emptied
        ]
        self.moved: dict[str, str] = {}

    def add(self, segment: SegmentFiles, relpaths: Sequence[str]) -> None:
        self.files.add(segment)
        self.members[segment.segment] = list(relpaths)

    def rewrite(self, executor: Executor) -> Iterator[SegmentFiles]:
        """Start rewriting the segments that lose files, without those files' rows."""
        tasks = [
            [
                SegmentPart(
                    segment, self.files.segment_table_files(segment), frozenset(self.drops[segment])
                )
            ]
            for segment, _ in self.rewritten
        ]
        return executor.run(merge_task, tasks)

    def settle(self, rewrites: Iterator[SegmentFiles]) -> None:
        """Take the rewritten segments in place of the old ones."""
        for (segment, kept), merged in zip(self.rewritten, rewrites, strict=True):
            self._replace([segment], merged, kept)

    def compact(self, executor: Executor, policy: CompactionPolicy, *, full: bool) -> None:
        """Pack small segments together (``compaction``)."""
        candidates = [
            Candidate(
                segment,
                self.files.segment_size(segment),
                self.files.segment_table_files(segment),
                min(self.members[segment]),
            )
            for segment in self.files.segments()
            if segment.startswith(FILE_SEGMENT) and self.members.get(segment)
        ]
        groups = plan_compaction(candidates, policy, full=full)
        tasks = [[SegmentPart(c.segment, c.files) for c in group] for group in groups]
        for group, merged in zip(groups, executor.run(merge_task, tasks), strict=True):
            segments = [candidate.segment for candidate in group]
            kept = [path for segment in segments for path in self.members[segment]]
            self._replace(segments, merged, kept)

    def _replace(self, segments: Sequence[str], merged: SegmentFiles, kept: list[str]) -> None:
        self.files.remove(segments)
        self.files.add(merged)
        self.members[merged.segment] = kept
        for segment in segments:
            self.moved[segment] = merged.segment
        for old, new in self.moved.items():  # a segment merged twice: follow it to the last one
            if new in segments:
                self.moved[old] = merged.segment


def _new_state(
    state: Mapping[str, FileState],
    changes: FileChanges,
    extracted: Sequence[ExtractedBatch],
    keys: Mapping[str, str | None],
    moved: Mapping[str, str],
) -> dict[str, FileState]:
    """Per file: its id, key, the segment holding its rows now, and its DIAG count."""
    new = {}
    for relpath in changes.kept:
        entry = state[relpath]
        new[relpath] = replace(entry, segment=moved.get(entry.segment, entry.segment))
    for batch in extracted:
        segment = moved.get(batch.segment.segment, batch.segment.segment)
        for relpath, file_id, diags in zip(
            batch.files, batch.file_ids, batch.diagnostics, strict=True
        ):
            new[relpath] = FileState(file_id, keys[relpath], segment, diags)
    return new


def _rules(
    rules: RuleStage,
    registry: ContractRegistry,
    tables: BuildTables,
    files: FileSet,
    out: Path,
) -> tuple[str, ...]:
    """Run the rules over every file's relation rows and write the rules segment."""
    relations = {
        name: _dataset(out, spec, files)
        .to_table()
        .drop_columns([OWNER_COLUMN])
        .cast(rules.relation_schemas[name])
        for name, spec in tables.relations.items()
    }

    def kinds_in(key: str, ids: pa.Array) -> dict[str, str]:
        found = _dataset(out, tables[key], files).to_table(
            columns=["node_id", "node_kind"], filter=pc.field("node_id").isin(ids)
        )
        return dict(
            zip(
                found.column("node_id").to_pylist(),
                found.column("node_kind").to_pylist(),
                strict=True,
            )
        )

    def node_kinds(ids: pa.Array) -> dict[str, str]:
        """From the endpoint index; an id it lacks (a rule edge joining a node of a kind its
        contract does not allow, or no node) is looked up among all nodes, so the violation
        says which it is."""
        known = kinds_in(ENDPOINTS, ids)
        missing = pc.filter(ids, pc.invert(pc.is_in(ids, pa.array(list(known), pa.string()))))
        return known | (kinds_in(NODES, missing) if len(missing) else {})

    ruled = rules.run(relations, registry, node_kinds)
    rows = {key: table.cast(tables[key].schema) for key, table in ruled.tables.items()}
    rows[VIOLATIONS] = encode_table(ContractViolation, ruled.violations, VIOLATIONS_TABLE)
    rows[LOSERS] = ruled.losers
    files.add(write_segment(out, tables, new_segment(RULES_SEGMENT), rows))
    return ruled.summary


def _dataset(out: Path, spec: BuildTable, files: FileSet) -> ds.Dataset:
    """The table's data files in the version being made, before their commit."""
    names = [str(out / spec.folder / name) for name in files.table_files(spec.key)]
    return ds.dataset(names, schema=spec.schema, format="parquet")


def _repo_level(
    setup: WorkerSetup, scan: RepoScan, roots: tuple[ImportRoot, ...], registry: ContractRegistry
) -> SegmentFiles:
    """Write PY_REPO, packages, REPO_CONTAINS and the DIAGs of directories that could not be
    listed (with their violations and relation rows) as the repo segment."""
    paths = [display_path(relpath) for relpath in scan.files]
    facts = extract_repo(setup.repo_id, setup.repo.name, paths, roots)
    for relpath, error in scan.unreadable:
        facts.extend(directory_diagnostic(setup.repo_id, display_path(relpath), error))
    rows = _repo_rows(
        setup, RowValidator(registry, setup.datasets), facts, _repo_files(setup, scan)
    )
    return write_segment(setup.out, setup.tables, new_segment(REPO_SEGMENT), rows)


def _layer_rows(
    setup: WorkerSetup, scan: RepoScan, layers: RepoLayers, registry: ContractRegistry
) -> SegmentFiles:
    """Wait for the repository-level layers and write their rows, as they emit them, as one
    layers segment (replaced whole by the next build that reruns them)."""
    writer = SegmentWriter(setup.out, setup.tables, new_segment(LAYERS_SEGMENT))
    validator = RowValidator(registry, setup.datasets)
    files = _repo_files(setup, scan)

    def emit(facts: FileFacts) -> None:
        writer.write(_repo_rows(setup, validator, facts, files))

    try:
        layers.finish(emit)
    except BaseException:
        writer.abort()
        raise
    return writer.close()


def _repo_files(setup: WorkerSetup, scan: RepoScan) -> dict[str, str]:
    """The PY_FILE node id of every file of the build -> its kind: the endpoints that rows
    written outside the file batches may point at."""
    return {file_node_id(setup.repo_id, display_path(p)): "PY_FILE" for p in scan.files}


def _repo_rows(
    setup: WorkerSetup, validator: RowValidator, facts: FileFacts, files: Mapping[str, str]
) -> dict[str, pa.Table]:
    """Rows made outside the file batches, shaped and checked (``files``: ``_repo_files``),
    with their endpoint index and relation rows (owned by no file: replaced with the segment)."""
    rows = shaped_tables(validator, setup.datasets, facts, files)
    rows[ENDPOINTS] = endpoint_rows(rows[NODES], setup.endpoint_kinds)
    for name, table in relation_tables(facts.relations, setup.relations).items():
        owner = pa.nulls(table.num_rows, pa.string())
        rows[f"{RELATION_PREFIX}{name}"] = table.append_column(OWNER_COLUMN, owner)
    return rows


def _kept_layers(options: RepoLayerOptions) -> tuple[str, ...]:
    """The summary line of layers whose rows the previous build made and this one keeps."""
    names = [name for name, on in (("scip", options.scip), ("runtime", options.runtime)) if on]
    if not names:
        return ()
    return (f"{', '.join(names)}: rows of the previous build kept (no file changed)",)


def _kept_diagnostics(out: Path, tables: BuildTables, files: FileSet) -> int:
    """The DIAG nodes of the layers segment kept from the previous build."""
    spec = tables[NODES]
    names = [
        out / spec.folder / name
        for name in files.table_files(NODES)
        if name.startswith(LAYERS_SEGMENT)
    ]
    if not names:
        return 0
    kinds = ds.dataset([str(n) for n in names], schema=spec.schema, format="parquet")
    return int(kinds.count_rows(filter=pc.field("node_kind") == "DIAG"))


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
