"""Breaking-change check: the current specs against the last published registry.

In the spirit of ``buf breaking`` and schema-registry BACKWARD compatibility: every difference
is found by a rule (``generator.compat_rules.RULES``) and reported with its element and rule id.

Versioning rule (one for everything): a breaking change is *allowed* when every dataset guarding
it had its ``version`` bumped; otherwise it *blocks* (exit code 1).

- A dataset and its columns are guarded by that dataset. A new version may also take a new name:
  a removed ``x_vN`` and an added ``x_vM`` (M > N) with a higher ``version`` are the same dataset.
- A catalog field is guarded by every previous dataset that has it as a column (a field no
  dataset uses breaks nothing published: its breaks are allowed).
- Contract-level breaks are guarded by the dataset carrying the rows they describe
  (``ContractGuards``): node kinds and their contracts by ``cpg_nodes_v1``; edge kinds, their
  contracts and endpoints, and rules by ``cpg_edges_v1``; prop types and prop enums by
  ``cpg_props_v1``.

"Registry version N" (``--against N``) is the N-th export: see
``storage.deltalake.registry_history``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from cpg.registry_readers import spec_set_from_tables
from cpg.spec_set import SpecSet
from generator.compat_rules import (
    Change,
    ContractGuards,
    DatasetPair,
    guards_of,
    match_datasets,
    spec_changes,
)
from storage.deltalake.locations import Location
from storage.deltalake.registry_history import RegistryVersionError, read_export
from storage.deltalake.registry_io import read_registry_tables
from storage.deltalake.registry_layout import TABLE_NAMES

Severity = Literal["breaking", "allowed", "compatible"]
_SEVERITY_ORDER: Mapping[str, int] = {"breaking": 0, "allowed": 1, "compatible": 2}


@dataclass(frozen=True)
class CompatFinding:
    """One difference: how severe, which element, which rule, what changed and what to do.

    ``bump``: for a blocking finding, the datasets whose version bump would allow it.
    """

    severity: Severity
    element: str
    rule: str
    message: str
    bump: tuple[str, ...] = ()

    def line(self) -> str:
        """``severity: element: message [RULE_ID]``."""
        return f"{self.severity}: {self.element}: {self.message} [{self.rule}]"


@dataclass(frozen=True)
class CompatReport:
    """Every finding of one comparison, in report order."""

    findings: tuple[CompatFinding, ...]

    def _with(self, severity: Severity) -> tuple[CompatFinding, ...]:
        return tuple(finding for finding in self.findings if finding.severity == severity)

    @property
    def breaking(self) -> tuple[CompatFinding, ...]:
        """The findings that block."""
        return self._with("breaking")

    @property
    def allowed(self) -> tuple[CompatFinding, ...]:
        """Breaking changes allowed by a version bump."""
        return self._with("allowed")

    @property
    def compatible(self) -> tuple[CompatFinding, ...]:
        """Changes that break no reader."""
        return self._with("compatible")

    @property
    def exit_code(self) -> int:
        """1 when any finding blocks, else 0."""
        return 1 if self.breaking else 0


def compare_registries(
    previous: SpecSet, current: SpecSet, guards: ContractGuards | None = None
) -> CompatReport:
    """Classify every change from ``previous`` (the published registry) to ``current``; contract
    breaks are guarded by ``previous``'s nodes/edges/props datasets unless ``guards`` says."""
    guards = guards_of(previous) if guards is None else guards
    pairs = match_datasets(previous, current).pairs
    bumped = {pair.previous.name: pair for pair in pairs if pair.bumped}
    findings = (_finding(change, bumped) for change in spec_changes(previous, current, guards))
    return CompatReport(tuple(sorted(findings, key=_report_order)))


def _finding(change: Change, bumped: Mapping[str, DatasetPair]) -> CompatFinding:
    """The version policy: a breaking change is allowed iff all its guards were bumped."""
    if not change.breaking:
        return CompatFinding("compatible", change.element, change.rule, change.message)
    missing = tuple(guard for guard in change.guards if guard not in bumped)
    if not missing:
        allowance = ", ".join(_new_version(bumped[guard]) for guard in change.guards)
        message = f"{change.message}; allowed: {allowance or 'no dataset uses it'}"
        return CompatFinding("allowed", change.element, change.rule, message)
    if change.remedy is not None:
        message = f"{change.message}; {change.remedy} or revert"
        return CompatFinding("breaking", change.element, change.rule, message)
    remedy = f"bump {', '.join(missing)} version (and name) or revert"
    return CompatFinding(
        "breaking", change.element, change.rule, f"{change.message}; {remedy}", missing
    )


def _new_version(pair: DatasetPair) -> str:
    renamed = f" ({pair.current.name})" if pair.current.name != pair.previous.name else ""
    return f"new version {pair.current.version} of {pair.previous.name}{renamed}"


def _report_order(finding: CompatFinding) -> tuple[int, str, str, str]:
    return (_SEVERITY_ORDER[finding.severity], finding.element, finding.rule, finding.message)


def format_report(report: CompatReport) -> str:
    """One line per finding, a summary line and, when something blocks, how to proceed."""
    lines = [finding.line() for finding in report.findings]
    counts = f"{len(report.breaking)} breaking, {len(report.allowed)} allowed"
    counts += f", {len(report.compatible)} compatible"
    lines.append(f"compat: {counts}" if report.findings else "compat: no changes")
    if report.breaking:
        to_bump = sorted({name for finding in report.breaking for name in finding.bump})
        bump = f"bump the version (and name) of {', '.join(to_bump)}, or " if to_bump else ""
        lines.append(f"to proceed: {bump}revert the breaking change(s) (see each line)")
    return "\n".join(lines) + "\n"


# --- loading the previous registry ------------------------------------------------------------


def load_previous(against: str | None, registry_root: Location) -> SpecSet:
    """The spec set to compare against.

    ``against``: None for the latest registry at ``registry_root``; a number N for registry
    version N there (the N-th export, see the module docstring); anything else is another
    registry: a registry root, an output dir holding ``registry/`` or an object-store URI. A
    local path made of digits only must be written ``./N``.
    """
    if against is None:
        return spec_set_from_tables(read_registry_tables(registry_root, TABLE_NAMES))
    if against.isascii() and against.lstrip("-").isdigit():
        if against.startswith("-"):
            msg = f"registry versions count from 0 (the first export); got {against}"
            raise RegistryVersionError(msg)
        return spec_set_from_tables(read_export(registry_root, int(against)))
    return spec_set_from_tables(read_registry_tables(against, TABLE_NAMES))
