"""Cross-reference checks over a whole spec set, reporting every violation at once.

The reference checks take only the collections they need, so the registry consumers run the
very same checks on the tables they decode; their violations carry the table, row and column
they come from (rows are positions in the table-ordered collections).
"""

from __future__ import annotations

import importlib.util
import re
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path

from cpg.arrow_types import ARROW_TYPES
from cpg.contracts import EdgeContract, NodeContract, PropSpec
from cpg.dataset_schemas import resolved_columns
from cpg.datasets import BundleSpec, DatasetRow, FieldSpec, RegistryTemplate
from cpg.derivation import Derivation, DerivationStatus
from cpg.spec_set import SpecSet
from storage.spec_codec import RegistryDecodeError


@dataclass(frozen=True)
class Location:
    """Where a violation sits in the registry tables."""

    table: str
    row: int
    column: str


@dataclass(frozen=True)
class Violation:
    """One broken invariant: which spec, which reference in it, and what is wrong."""

    spec: str
    reference: str
    message: str
    where: Location | None = None

    def __str__(self) -> str:
        return f"{self.spec}: {self.reference}: {self.message}"

    def decode_error(self) -> RegistryDecodeError:
        """This violation as an error naming table, row and column (for a located one)."""
        where = self.where or Location(self.spec, -1, self.reference)
        return RegistryDecodeError(where.table, where.column, self.message, row=where.row)


class SpecValidationError(ValueError):
    """Raised with every violation of a spec set."""

    def __init__(self, violations: tuple[Violation, ...]) -> None:
        self.violations = violations
        lines = "\n".join(f"  - {violation}" for violation in violations)
        super().__init__(f"{len(violations)} spec violation(s):\n{lines}")


def validate_specs(specs: SpecSet) -> tuple[Violation, ...]:
    """Every violation of the spec invariants, in a stable order (empty when the set is valid)."""
    checks = (
        _empty_names,
        _unique_names,
        _kind_contracts,
        _kind_derivations,
        _props,
        _edge_endpoints,
        _fields_and_bundles,
        _datasets,
        _rules,
        _rule_engine,
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


def _named(specs: SpecSet) -> Iterator[tuple[str, Iterable[str]]]:
    """Every collection whose elements are identified by a name, with those names."""
    yield "source_kinds", (s.name for s in specs.source_kinds)
    yield "node_kinds", specs.node_kinds
    yield "edge_kinds", specs.edge_kinds
    yield "prop_enums", (e.name for e in specs.prop_enums)
    for prop_enum in specs.prop_enums:
        yield f"prop_enums[{prop_enum.name}]", prop_enum.values
    yield "prop_catalog", (p.name for p in specs.prop_catalog)
    yield "fields", (f.name for f in specs.fields)
    yield "bundles", (b.name for b in specs.bundles)
    yield "dataset_rows", (r.name for r in specs.dataset_rows)
    yield "templates", (t.name for t in specs.templates)
    yield "rule_templates", (t.name for t in specs.rule_templates)
    yield "rules", (r.name for r in specs.rules)


def _empty_names(specs: SpecSet) -> Iterator[Violation]:
    """A name that is empty or only whitespace identifies nothing (and names no Python member)."""
    for spec, names in _named(specs):
        for index, name in enumerate(names):
            if not name.strip():
                yield Violation(spec, repr(name), f"element {index} has an empty name")


def _unique_names(specs: SpecSet) -> Iterator[Violation]:
    for spec, names in _named(specs):
        yield from _duplicates(spec, names)
    yield from _duplicates(
        "node_kinds/edge_kinds", (*set(specs.node_kinds), *set(specs.edge_kinds))
    )
    yield from _duplicates(
        "derivations",
        (repr((d.kind, d.source, d.extractor, d.provider_or_field)) for d in specs.derivations),
    )


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
    kinds = contract_locations(specs.node_kinds, specs.node_contracts, "cpg_node_contracts")
    kinds += contract_locations(specs.edge_kinds, specs.edge_contracts, "cpg_edge_contracts")
    yield from underived_kind_violations(kinds, specs.derivations)
    yield from derivation_kind_violations(specs.derivations, specs.node_kinds, specs.edge_kinds)
    for derivation in specs.derivations:
        spec = f"derivations[{derivation.kind}]"
        if derivation.source not in sources:
            yield Violation(spec, derivation.source, "source is not a source kind")
        yield from _extractor(spec, derivation)


def underived_kind_violations(
    kinds: Iterable[tuple[str, Location | None]], derivations: Sequence[Derivation]
) -> Iterator[Violation]:
    """Every kind (with where its contract row is, if it has one) that nothing derives."""
    derived = {d.kind for d in derivations}
    for kind, where in kinds:
        if kind not in derived:
            yield Violation("derivations", kind, f"kind has no derivation: {kind!r}", where)


def contract_locations(
    kinds: Iterable[str], contracts: Sequence[NodeContract | EdgeContract], table: str
) -> list[tuple[str, Location | None]]:
    """Each kind with the location of its contract row (None when it has no contract)."""
    rows = {contract.kind: row for row, contract in enumerate(contracts)}
    return [
        (kind, Location(table, rows[kind], "kind") if kind in rows else None)
        for kind in dict.fromkeys(kinds)
    ]


def derivation_kind_violations(
    derivations: Sequence[Derivation], node_kinds: Iterable[str], edge_kinds: Iterable[str]
) -> Iterator[Violation]:
    """Derivations of an undeclared kind, or with the wrong entity for their kind."""
    entity_of = dict.fromkeys(node_kinds, "node") | dict.fromkeys(edge_kinds, "edge")
    for row, derivation in enumerate(derivations):
        spec = f"derivations[{derivation.kind}]"
        entity = entity_of.get(derivation.kind)
        if entity is None:
            where = Location("cpg_kind_derivations", row, "kind")
            message = f"derivation of an undeclared kind {derivation.kind!r}"
            yield Violation(spec, derivation.kind, message, where)
        elif entity != derivation.entity:
            where = Location("cpg_kind_derivations", row, "entity")
            message = f"entity must be {entity!r} for {derivation.kind!r}"
            yield Violation(spec, derivation.entity, message, where)


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


@cache
def _module_source(origin: str) -> str:
    return Path(origin).read_text(encoding="utf-8")


def extractor_problem(reference: str) -> str | None:
    """Why ``module:function`` does not name a function of this project, or None when it does.

    The module is found and searched, not imported: extractors import the generated modules, so
    importing them here would make validating the specs depend on ``generated/`` being current
    (a kind added to the specs could never be generated).
    """
    module_name, _, attr = reference.partition(":")
    if module_name.split(".")[0] not in PROJECT_PACKAGES:
        return f"module {module_name!r} is not part of this project"
    try:
        spec = importlib.util.find_spec(module_name)
    except (ImportError, ValueError) as exc:
        return f"module {module_name!r} cannot be found ({type(exc).__name__}: {exc})"
    if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
        return f"module {module_name!r} cannot be found"
    try:
        source = _module_source(spec.origin)
    except (OSError, UnicodeDecodeError) as exc:
        return f"module {module_name!r} cannot be read ({type(exc).__name__}: {exc})"
    definition = re.compile(rf"^(?:async\s+def|def|class)\s+{re.escape(attr)}\b", re.MULTILINE)
    if not definition.search(source):
        return f"{module_name}.{attr} is not a function defined at the top of that module"
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
    yield from prop_enum_violations(specs.node_contracts, specs.edge_contracts, enums)


def prop_enum_violations(
    node_contracts: Sequence[NodeContract],
    edge_contracts: Sequence[EdgeContract],
    enum_names: Collection[str],
) -> Iterator[Violation]:
    """Contract props naming a prop enum that does not exist."""
    tables: tuple[tuple[str, str, Sequence[NodeContract | EdgeContract]], ...] = (
        ("cpg_node_contracts", "node_contracts", node_contracts),
        ("cpg_edge_contracts", "edge_contracts", edge_contracts),
    )
    for table, name, contracts in tables:
        for row, contract in enumerate(contracts):
            for lane in ("required_props", "optional_props"):
                props: tuple[PropSpec, ...] = getattr(contract, lane)
                for index, prop in enumerate(props):
                    if prop.enum is not None and prop.enum not in enum_names:
                        where = Location(table, row, f"{lane}.[{index}].enum")
                        message = f"unknown prop enum {prop.enum!r} (prop {prop.name!r})"
                        reference = f"{prop.name}.enum={prop.enum}"
                        yield Violation(f"{name}[{contract.kind}]", reference, message, where)


def _edge_endpoints(specs: SpecSet) -> Iterator[Violation]:
    return endpoint_violations(specs.edge_contracts, specs.node_kinds)


def endpoint_violations(
    edge_contracts: Sequence[EdgeContract], node_kinds: Iterable[str]
) -> Iterator[Violation]:
    """Edge contracts without endpoints, or naming a node kind that does not exist."""
    nodes = set(node_kinds)
    for row, contract in enumerate(edge_contracts):
        spec = f"edge_contracts[{contract.kind}]"
        for side, kinds in (
            ("src_kinds", contract.src_kinds),
            ("dst_kinds", contract.dst_kinds),
        ):
            where = Location("cpg_edge_contracts", row, side)
            if not kinds:
                yield Violation(spec, side, "no endpoint node kind declared", where)
            for kind in kinds:
                if kind not in nodes:
                    message = f"edge kind {contract.kind!r} names unknown node kind {kind!r}"
                    yield Violation(spec, f"{side}={kind}", message, where)


def _fields_and_bundles(specs: SpecSet) -> Iterator[Violation]:
    return catalog_violations(specs.fields, specs.bundles)


def catalog_violations(
    fields: Sequence[FieldSpec], bundles: Sequence[BundleSpec]
) -> Iterator[Violation]:
    """Fields of an unknown Arrow type, and bundles naming fields that do not exist."""
    names = {f.name for f in fields}
    for row, field in enumerate(fields):
        if field.arrow_type not in ARROW_TYPES:
            where = Location("cpg_field_catalog", row, "arrow_type")
            message = f"unknown Arrow type name {field.arrow_type!r}"
            yield Violation(f"fields[{field.name}]", field.arrow_type, message, where)
    for row, bundle in enumerate(bundles):
        for name in bundle.fields:
            if name not in names:
                where = Location("cpg_bundle_catalog", row, "fields")
                message = f"field is not in the catalog: {name!r}"
                yield Violation(f"bundles[{bundle.name}]", name, message, where)


def _datasets(specs: SpecSet) -> Iterator[Violation]:
    return dataset_violations(specs.dataset_rows, specs.fields, specs.bundles, specs.templates)


def dataset_violations(
    rows: Sequence[DatasetRow],
    fields: Sequence[FieldSpec],
    bundles: Sequence[BundleSpec],
    templates: Sequence[RegistryTemplate],
) -> Iterator[Violation]:
    """Dataset rows naming unknown bundles, fields or templates, repeating a column, or keying,
    deduplicating or sorting by something that is not one of their columns."""
    names = {f.name for f in fields}
    by_name = {b.name: b for b in bundles}
    template_names = {t.name for t in templates}
    for index, row in enumerate(rows):
        spec = f"dataset_rows[{row.name}]"
        located = partial(_dataset_violation, spec, index)
        for bundle in row.bundles:
            if bundle not in by_name:
                yield located("bundles", f"bundles={bundle}", f"unknown bundle {bundle!r}")
        for name in row.fields:
            if name not in names:
                message = f"field is not in the catalog: {name!r}"
                yield located("fields", f"fields={name}", message)
        if row.template is not None and row.template not in template_names:
            message = f"unknown registry template {row.template!r}"
            yield located("template", f"template={row.template}", message)
        columns = resolved_columns(row, by_name, strict=False)
        yield from _duplicates(f"{spec}.columns", columns)
        known = set(columns)
        keyed = (
            ("required_non_null", row.required_non_null),
            ("key_fields", row.key_fields),
            ("dedupe_keys", row.dedupe_keys),
            ("tie_breakers", tuple(k.column for k in row.tie_breakers)),
            ("canonical_sort", tuple(k.column for k in row.canonical_sort)),
        )
        for attr, keys in keyed:
            for name in keys:
                if name not in known:
                    message = f"{name!r} is not a column of the dataset {row.name!r}"
                    yield located(attr, f"{attr}={name}", message)
    holders: dict[str, str] = {}
    for index, row in enumerate(rows):
        if row.role is None or row.name in holders.values():
            continue  # a repeated dataset name is reported as such
        if row.role in holders:
            message = (
                f"role {row.role.value!r} is already the role of dataset {holders[row.role]!r}"
            )
            yield _dataset_violation(f"dataset_rows[{row.name}]", index, "role", "role", message)
        else:
            holders[row.role] = row.name


def _dataset_violation(spec: str, row: int, column: str, reference: str, message: str) -> Violation:
    return Violation(spec, reference, message, Location("cpg_dataset_rows", row, column))


def _rule_engine(specs: SpecSet) -> Iterator[Violation]:
    """Relations, expressions, endpoints and policies of the rules (``relspec.rules.validation``,
    imported here because it builds on this module's ``Violation``)."""
    from relspec.rules.validation import RuleSpecs, rule_violations

    return rule_violations(
        RuleSpecs(
            rules=specs.rules,
            relations=specs.relation_contracts,
            confidence_policies=specs.confidence_policies,
            ambiguity_policies=specs.ambiguity_policies,
            edge_contracts=specs.edge_contracts,
            node_kinds=specs.node_kinds,
            source_kinds={s.name for s in specs.source_kinds},
        )
    )


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
