"""The registry-facing commands of the CLI: ``--check-compat`` and ``--history``."""

from __future__ import annotations

from datetime import UTC, datetime

from cpg.spec_set import canonical_spec_set
from cpg.validation import require_valid_specs
from generator.compat import compare_registries, format_report, load_previous
from storage.deltalake.delta import commit_history, table_exists
from storage.deltalake.locations import Location
from storage.deltalake.registry_history import registry_exports
from storage.deltalake.registry_layout import all_tables, table_path
from storage.deltalake.registry_models import FINGERPRINT_KEY, SPEC_FINGERPRINT_KEY


def check_compat(root: Location, against: str | None) -> tuple[int, str]:
    """Exit code and report of comparing the current specs with the published registry."""
    specs = canonical_spec_set()
    require_valid_specs(specs)
    report = compare_registries(load_previous(against, root), specs)
    return report.exit_code, format_report(report)


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
