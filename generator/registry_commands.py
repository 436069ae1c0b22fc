"""The registry-facing commands of the CLI: ``--check-compat`` and ``--history``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from cpg.spec_set import SpecSet, canonical_spec_set
from cpg.validation import require_valid_specs
from generator.compat import compare_registries, format_report, load_previous
from generator.git_registry import (
    GitRegistryError,
    is_git_work_tree,
    registry_at_revision,
    resolve_revision,
)
from generator.options import Options
from storage.deltalake.delta import commit_history, table_exists
from storage.deltalake.locations import Location, is_uri
from storage.deltalake.registry_history import registry_exports
from storage.deltalake.registry_layout import all_tables, table_path
from storage.deltalake.registry_models import FINGERPRINT_KEY, SPEC_FINGERPRINT_KEY


def check_compat(options: Options, against: str | None) -> tuple[int, str]:
    """Exit code and report of comparing the current specs with the baseline registry.

    The baseline (its description is the report's first line): ``--against`` as given (registry
    version N at ``--registry``, another registry path or URI, or a git revision's committed
    registry); by default the project's registry as committed at ``HEAD``, so neither an export
    nor a revert of the working tree moves it; outside a git work tree, the registry as it is.
    """
    specs = canonical_spec_set()
    require_valid_specs(specs)
    with _baseline(options, against) as (previous, label):
        if previous is None:
            return 0, f"baseline: {label}\nno baseline to compare with: nothing can break\n"
        report = compare_registries(previous, specs)
    return report.exit_code, f"baseline: {label}\n" + format_report(report)


@contextmanager
def _baseline(options: Options, against: str | None) -> Iterator[tuple[SpecSet | None, str]]:
    project = options.project
    in_git = project is not None and is_git_work_tree(project.root)
    if against is None and options.single_version and in_git:
        assert project is not None
        revision = "HEAD"
        if resolve_revision(project.root, revision) is None:
            yield None, "git HEAD (no commit yet)"
            return
        try:
            with registry_at_revision(project.root, project.registry, revision) as root:
                yield load_previous(None, root), f"{project.registry.name}/ as committed at HEAD"
        except GitRegistryError as exc:
            if "has no registry" not in str(exc):
                raise
            yield None, f"{exc}"
        return
    if against is None or _is_version(against) or _is_registry(against):
        if against is None or _is_version(against):
            options.require_registry()
        where = options.registry if against is None or _is_version(against) else against
        label = f"registry version {against} at {where}" if against else f"registry at {where}"
        yield load_previous(against, options.registry), label
        return
    if project is None or not in_git:
        msg = f"--against {against}: no such registry, and no git work tree to find it in"
        raise GitRegistryError(msg)
    with registry_at_revision(project.root, project.registry, against) as root:
        yield load_previous(None, root), f"{project.registry.name}/ as committed at {against}"


def _is_version(text: str) -> bool:
    return text.isascii() and text.lstrip("-").isdigit()


def _is_registry(text: str) -> bool:
    return is_uri(text) or Path(text).exists()


def _when(milliseconds: object) -> str:
    stamp = datetime.fromtimestamp(int(str(milliseconds)) / 1000, tz=UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _short(fingerprint: object) -> str:
    return str(fingerprint)[:12] if fingerprint else "-"


def history(root: Location) -> str:
    """Per table, every version newest first (timestamp, fingerprint, rows); then the exports."""
    lines: list[str] = []
    for target, spec in all_tables():
        path = table_path(root, target, spec.name)
        if not table_exists(path):
            lines.append(f"{target}/{spec.name}: no table")
            continue
        lines.append(f"{target}/{spec.name}:")
        for entry in reversed(commit_history(path)):
            metrics = entry.get("operationMetrics") or {}
            rows = metrics.get("num_added_rows", "-")
            lines.append(
                f"  version {entry['version']:>3}  {_when(entry['timestamp'])}  "
                f"fingerprint {_short(entry.get(FINGERPRINT_KEY))}  "
                f"spec {_short(entry.get(SPEC_FINGERPRINT_KEY))}  rows {rows}"
            )
    exports = registry_exports(root)
    lines.append(f"registry versions (exports), newest first: {len(exports)}")
    for state in reversed(exports):
        lines.append(
            f"  registry version {state.number:>3}  spec {_short(state.spec_fingerprint)}  "
            f"tables at: {', '.join(f'{n}@{v}' for n, v in sorted(state.versions.items()))}"
        )
    return "\n".join(lines) + "\n"
