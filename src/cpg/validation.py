"""Cross-reference checks over a whole spec set, reporting every violation at once."""

from __future__ import annotations

import importlib
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from cpg.arrow_types import ARROW_TYPES
from cpg.contracts import PropSpec
from cpg.datasets import DatasetRow
from cpg.derivation import Derivation, DerivationStatus
from cpg.spec_set import SpecSet


@dataclass(frozen=True)
class Violation:
    """One broken invariant: which spec, which reference in it, and what is wrong."""

    spec: str
    reference: str
    message: str

    def __str__(self) -> str:
        return f"{self.spec}: {self.reference}: {self.message}"


class SpecValidationError(ValueError):
    """Raised with every violation of a spec set."""

    def __init__(self, violations: tuple[Violation, ...]) -> None:
        self.violations = violations
        lines = "\n".join(f"  - {violation}" for violation in violations)
        super().__init__(f"{len(violations)} spec violation(s):\n{lines}")


def validate_specs(specs: SpecSet) -> tuple[Violation, ...]:
    """Every violation of the spec invariants, in a stable order (empty when the set is valid)."""
    checks = (
        _unique_names,
        _kind_contracts,
        _kind_derivations,
        _props,
        _edge_endpoints,
        _fields_and_bundles,
        _datasets,
        _rules,
    )
    return tuple(violation for check in checks for violation in check(specs))


@dataclass(frozen=True)
class RegistryDiagnostic:
    """A finding exported with the registry; ``severity`` is INFO, WARNING or ERROR."""

    severity: str
    spec: str
    reference: str
    message: str


def registry_diagnostics(specs: SpecSet) -> tuple[RegistryDiagnostic, ...]:
    """What a registry reader should know about a valid spec set: kinds nothing extracts yet."""
    implemented = {d.kind for d in specs.derivations if d.status == DerivationStatus.IMPLEMENTED}
    findings = [
        RegistryDiagnostic("INFO", "derivations", kind, "no implemented derivation yet")
        for kind in (*specs.node_kinds, *specs.edge_kinds)
        if kind not in implemented
    ]
    findings.sort(key=lambda d: (d.severity, d.spec, d.reference))
    return tuple(findings)


def require_valid_specs(specs: SpecSet) -> None:
    """Raise ``SpecValidationError`` listing all violations, if there are any."""
    violations = validate_specs(specs)
    if violations:
        raise SpecValidationError(violations)


def _duplicates(spec: str, names: Iterable[str]) -> Iterator[Violation]:
    for name, count in sorted(Counter(names).items()):
        if count > 1:
            yield Violation(spec, name, f"declared {count} times; names must be unique")


def _unique_names(specs: SpecSet) -> Iterator[Violation]:
    yield from _duplicates("source_kinds", (s.name for s in specs.source_kinds))
    yield from _duplicates("node_kinds", specs.node_kinds)
    yield from _duplicates("edge_kinds", specs.edge_kinds)
    yield from _duplicates(
        "node_kinds/edge_kinds", (*set(specs.node_kinds), *set(specs.edge_kinds))
    )
    yield from _duplicates("prop_enums", (e.name for e in specs.prop_enums))
    for prop_enum in specs.prop_enums:
        yield from _duplicates(f"prop_enums[{prop_enum.name}]", prop_enum.values)
    yield from _duplicates("prop_catalog", (p.name for p in specs.prop_catalog))
    yield from _duplicates(
        "derivations",
        (repr((d.kind, d.source, d.extractor, d.provider_or_field)) for d in specs.derivations),
    )
    yield from _duplicates("fields", (f.name for f in specs.fields))
    yield from _duplicates("bundles", (b.name for b in specs.bundles))
    yield from _duplicates("dataset_rows", (r.name for r in specs.dataset_rows))
    yield from _duplicates("templates", (t.name for t in specs.templates))
    yield from _duplicates("rule_templates", (t.name for t in specs.rule_templates))
    yield from _duplicates("rules", (r.name for r in specs.rules))


def _kind_contracts(specs: SpecSet) -> Iterator[Violation]:
    sources = {s.name for s in specs.source_kinds}
    for spec, kinds, contracts in (
        ("node_contracts", specs.node_kinds, specs.node_contracts),
        ("edge_contracts", specs.edge_kinds, specs.edge_contracts),
    ):
        counts = Counter(c.kind for c in contracts)
        for kind in dict.fromkeys(kinds):
            if counts[kind] != 1:
                yield Violation(spec, kind, f"has {counts[kind]} contracts; exactly one needed")
        declared = set(kinds)
        for contract in contracts:
            if contract.kind not in declared:
                yield Violation(spec, contract.kind, "contract for an undeclared kind")
            for source in contract.allowed_sources:
                if source not in sources:
                    yield Violation(
                        f"{spec}[{contract.kind}]",
                        source,
                        "allowed source is not a source kind",
                    )


def _kind_derivations(specs: SpecSet) -> Iterator[Violation]:
    sources = {s.name for s in specs.source_kinds}
    entity_of = dict.fromkeys(specs.node_kinds, "node") | dict.fromkeys(specs.edge_kinds, "edge")
    derived = Counter(d.kind for d in specs.derivations)
    for kind in entity_of:
        if derived[kind] == 0:
            yield Violation("derivations", kind, "kind has no derivation")
    for derivation in specs.derivations:
        spec = f"derivations[{derivation.kind}]"
        entity = entity_of.get(derivation.kind)
        if entity is None:
            yield Violation(spec, derivation.kind, "derivation of an undeclared kind")
        elif entity != derivation.entity:
            yield Violation(spec, derivation.entity, f"entity must be {entity!r}")
        if derivation.source not in sources:
            yield Violation(spec, derivation.source, "source is not a source kind")
        yield from _extractor(spec, derivation)


def validate_derivation_extractors(specs: SpecSet) -> tuple[Violation, ...]:
    """The extractor violations alone: malformed references, and implemented derivations
    whose reference does not import or is not a callable of this project."""
    return tuple(
        violation
        for derivation in specs.derivations
        for violation in _extractor(f"derivations[{derivation.kind}]", derivation)
    )


def _extractor(spec: str, derivation: Derivation) -> Iterator[Violation]:
    module_name, sep, attr = derivation.extractor.partition(":")
    dotted = module_name.split(".")
    if not (sep and attr.isidentifier() and all(part.isidentifier() for part in dotted)):
        yield Violation(spec, derivation.extractor, "extractor must be 'module:function'")
        return
    if derivation.status != DerivationStatus.IMPLEMENTED:
        return
    problem = extractor_problem(derivation.extractor)
    if problem is not None:
        yield Violation(spec, derivation.extractor, f"implemented, but {problem}")


PROJECT_PACKAGES = frozenset({"cpg", "relspec", "storage", "graph", "generator"})
"""Top-level packages of this project: an implemented extractor must live in one of them."""


def extractor_problem(reference: str) -> str | None:
    """Why ``module:function`` does not name a callable of this project, or None when it does."""
    module_name, _, attr = reference.partition(":")
    if module_name.split(".")[0] not in PROJECT_PACKAGES:
        return f"module {module_name!r} is not part of this project"
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # any import-time failure is a violation to report, not a crash
        return f"module {module_name!r} does not import ({type(exc).__name__}: {exc})"
    target = getattr(module, attr, None)
    if not callable(target):
        return f"{module_name}.{attr} is not a callable"
    return None


def _props(specs: SpecSet) -> Iterator[Violation]:
    enums = {e.name for e in specs.prop_enums}
    catalog = {p.name: p.type for p in specs.prop_catalog}
    contracts = [
        (f"node_contracts[{c.kind}]", c.required_props, c.optional_props)
        for c in specs.node_contracts
    ]
    contracts += [
        (f"edge_contracts[{c.kind}]", c.required_props, c.optional_props)
        for c in specs.edge_contracts
    ]
    for spec, required, optional in contracts:
        props: tuple[PropSpec, ...] = (*required, *optional)
        yield from _duplicates(f"{spec}.props", (p.name for p in props))
        for prop in props:
            if prop.name not in catalog:
                yield Violation(spec, prop.name, "property is not in the prop catalog")
            elif catalog[prop.name] != prop.type:
                yield Violation(
                    spec,
                    prop.name,
                    f"type {prop.type} differs from catalog {catalog[prop.name]}",
                )
            if prop.enum is not None and prop.enum not in enums:
                yield Violation(spec, f"{prop.name}.enum={prop.enum}", "unknown prop enum")


def _edge_endpoints(specs: SpecSet) -> Iterator[Violation]:
    nodes = set(specs.node_kinds)
    for contract in specs.edge_contracts:
        spec = f"edge_contracts[{contract.kind}]"
        for side, kinds in (
            ("src_kinds", contract.src_kinds),
            ("dst_kinds", contract.dst_kinds),
        ):
            if not kinds:
                yield Violation(spec, side, "no endpoint node kind declared")
            for kind in kinds:
                if kind not in nodes:
                    yield Violation(spec, f"{side}={kind}", "unknown node kind")


def _fields_and_bundles(specs: SpecSet) -> Iterator[Violation]:
    fields = {f.name for f in specs.fields}
    for field in specs.fields:
        if field.arrow_type not in ARROW_TYPES:
            yield Violation(f"fields[{field.name}]", field.arrow_type, "unknown Arrow type name")
    for bundle in specs.bundles:
        for name in bundle.fields:
            if name not in fields:
                yield Violation(f"bundles[{bundle.name}]", name, "field is not in the catalog")


def dataset_columns(row: DatasetRow, bundles: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    """A dataset's resolved columns: its bundles' fields in order, then its own fields."""
    columns = [name for bundle in row.bundles for name in bundles.get(bundle, ())]
    return (*columns, *row.fields)


def _datasets(specs: SpecSet) -> Iterator[Violation]:
    fields = {f.name for f in specs.fields}
    bundles = {b.name: b.fields for b in specs.bundles}
    templates = {t.name for t in specs.templates}
    for row in specs.dataset_rows:
        spec = f"dataset_rows[{row.name}]"
        for bundle in row.bundles:
            if bundle not in bundles:
                yield Violation(spec, f"bundles={bundle}", "unknown bundle")
        for name in row.fields:
            if name not in fields:
                yield Violation(spec, f"fields={name}", "field is not in the catalog")
        if row.template is not None and row.template not in templates:
            yield Violation(spec, f"template={row.template}", "unknown registry template")
        columns = dataset_columns(row, bundles)
        yield from _duplicates(f"{spec}.columns", columns)
        known = set(columns)
        keyed = (
            ("required_non_null", row.required_non_null),
            ("key_fields", row.key_fields),
            ("dedupe_keys", row.dedupe_keys),
            ("tie_breakers", tuple(k.column for k in row.tie_breakers)),
            ("canonical_sort", tuple(k.column for k in row.canonical_sort)),
        )
        for attr, names in keyed:
            for name in names:
                if name not in known:
                    yield Violation(spec, f"{attr}={name}", "not a column of the dataset")


def _rules(specs: SpecSet) -> Iterator[Violation]:
    contracts = {c.kind: c for c in specs.edge_contracts}
    templates = {t.name for t in specs.rule_templates}
    for rule in specs.rules:
        spec = f"rules[{rule.name}]"
        if rule.template is not None and rule.template not in templates:
            yield Violation(spec, f"template={rule.template}", "unknown rule template")
        emit = rule.payload.edge_emit
        if emit is None:
            continue
        contract = contracts.get(emit.edge_kind)
        if contract is None:
            yield Violation(spec, f"edge_kind={emit.edge_kind}", "unknown edge kind")
        elif emit.origin not in contract.allowed_sources:
            allowed = ", ".join(contract.allowed_sources)
            yield Violation(
                spec,
                f"origin={emit.origin}",
                f"not an allowed source of edge kind {emit.edge_kind} ({allowed})",
            )
