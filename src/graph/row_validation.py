"""Check extracted rows against the contracts of a registry: kinds, props, endpoints, origins.

Every problem becomes a ``ContractViolation`` row (the build's diagnostics table); nothing is
dropped, so a violating row is still written and the violation says what is wrong with it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from cpg.contract_registry import ContractRegistry
from cpg.contracts import PropSpec, PropType
from graph.extract.rows import EDGE, NODE, EdgeRow, FileFacts, NodeRow, PropRow

VIOLATIONS_TABLE = "cpg_build_violations"


@dataclass(frozen=True)
class ContractViolation:
    """One row that breaks its contract, and which rule it breaks."""

    rule: str
    entity_kind: str
    entity_id: str
    kind: str
    path: str | None
    detail: str


@dataclass(frozen=True)
class _PropRules:
    required: frozenset[str]
    declared: Mapping[str, PropSpec]


class RowValidator:
    """Validates the rows of one file (or of the repository listing) against a registry."""

    def __init__(self, registry: ContractRegistry) -> None:
        self.registry = registry
        self._enums = {e.name: frozenset(e.values) for e in registry.prop_enums}
        self._rules: dict[tuple[str, str], _PropRules] = {}
        for node in registry.node_contracts:
            self._rules[(NODE, node.kind)] = _rules(node.required_props, node.optional_props)
        for edge in registry.edge_contracts:
            self._rules[(EDGE, edge.kind)] = _rules(edge.required_props, edge.optional_props)
        self._checks = {
            key: {
                name: self._check(spec, name in rules.required)
                for name, spec in rules.declared.items()
            }
            for key, rules in self._rules.items()
        }

    def _check(self, spec: PropSpec, required: bool) -> _PropCheck:
        return _PropCheck(
            name=spec.name,
            python_type=_PYTHON_TYPES[spec.type],
            is_json=spec.type == PropType.JSON,
            enum=spec.enum,
            enum_values=None if spec.enum is None else self._enums.get(spec.enum, frozenset()),
            required=required,
            type_name=str(spec.type),
        )

    def validate(
        self, facts: FileFacts, known_nodes: Mapping[str, str] = MappingProxyType({})
    ) -> list[ContractViolation]:
        """Violations of ``facts``; ``known_nodes`` maps node ids outside ``facts`` to kinds."""
        kinds = dict(known_nodes)
        kinds.update((node.node_id, node.node_kind) for node in facts.nodes)
        entities: dict[tuple[str, str], tuple[str, str | None]] = {}
        violations: list[ContractViolation] = []
        for node in facts.nodes:
            entities[(NODE, node.node_id)] = (node.node_kind, node.path)
            violations.extend(self._node(node))
        for edge in facts.edges:
            entities[(EDGE, edge.edge_id)] = (edge.edge_kind, edge.path)
            violations.extend(self._edge(edge, kinds))
        violations.extend(self._props(facts.props, entities))
        return violations

    def _node(self, node: NodeRow) -> Iterator[ContractViolation]:
        if (NODE, node.node_kind) not in self._rules:
            yield ContractViolation(
                "UNKNOWN_NODE_KIND",
                NODE,
                node.node_id,
                node.node_kind,
                node.path,
                f"node kind {node.node_kind!r} has no contract",
            )

    def _edge(self, edge: EdgeRow, kinds: Mapping[str, str]) -> Iterator[ContractViolation]:
        def violation(rule: str, detail: str) -> ContractViolation:
            return ContractViolation(rule, EDGE, edge.edge_id, edge.edge_kind, edge.path, detail)

        if (EDGE, edge.edge_kind) not in self._rules:
            yield violation("UNKNOWN_EDGE_KIND", f"edge kind {edge.edge_kind!r} has no contract")
            return
        contract = self.registry.edge_contract(edge.edge_kind)
        if edge.origin not in contract.allowed_sources:
            allowed = ", ".join(contract.allowed_sources)
            yield violation("ORIGIN_NOT_ALLOWED", f"origin {edge.origin!r} not in ({allowed})")
        for side, node_id, allowed_kinds in (
            ("src", edge.src_node_id, contract.src_kinds),
            ("dst", edge.dst_node_id, contract.dst_kinds),
        ):
            kind = kinds.get(node_id)
            if kind is None:
                yield violation("DANGLING_ENDPOINT", f"{side} node {node_id!r} was not emitted")
            elif kind not in allowed_kinds:
                yield violation(
                    "ENDPOINT_KIND_NOT_ALLOWED",
                    f"{side} node {node_id!r} is a {kind}, not one of {', '.join(allowed_kinds)}",
                )

    def _props(
        self, props: list[PropRow], entities: Mapping[tuple[str, str], tuple[str, str | None]]
    ) -> list[ContractViolation]:
        """Prop violations; one tight loop, since props are most of the rows."""
        violations: list[ContractViolation] = []
        required_seen: dict[tuple[str, str], int] = dict.fromkeys(entities, 0)
        checks = self._checks
        for prop in props:
            key = (prop.entity_kind, prop.entity_id)
            entity = entities.get(key)
            if entity is None:
                detail = f"prop {prop.prop_key!r} belongs to no emitted {prop.entity_kind}"
                violations.append(
                    ContractViolation("PROP_OF_UNKNOWN_ENTITY", key[0], key[1], "", None, detail)
                )
                continue
            declared = checks.get((key[0], entity[0]))
            if declared is None:
                continue
            check = declared.get(prop.prop_key)
            problem = _prop_problem(prop, check)
            if problem is not None:
                violations.append(ContractViolation(problem[0], *key, *entity, problem[1]))
            elif check is not None and check.required:
                required_seen[key] += 1
        for key, seen in required_seen.items():
            kind, path = entities[key]
            rules = self._rules.get((key[0], kind))
            if rules is None or seen == len(rules.required):
                continue
            have = {p.prop_key for p in props if (p.entity_kind, p.entity_id) == key}
            violations.extend(
                ContractViolation(
                    "MISSING_REQUIRED_PROP", *key, kind, path, f"required prop {name!r} is missing"
                )
                for name in sorted(rules.required - have)
            )
        return violations


@dataclass(frozen=True)
class _PropCheck:
    """What one declared prop must look like: Python value type, lane and enum values."""

    name: str
    python_type: type
    is_json: bool
    enum: str | None
    enum_values: frozenset[str] | None
    required: bool
    type_name: str


_PYTHON_TYPES: Mapping[PropType, type] = {
    PropType.STR: str,
    PropType.INT: int,
    PropType.FLOAT: float,
    PropType.BOOL: bool,
    PropType.JSON: str,
}


def _prop_problem(prop: PropRow, check: _PropCheck | None) -> tuple[str, str] | None:
    """(rule, detail) of what is wrong with one prop, or None."""
    if check is None:
        return "UNDECLARED_PROP", f"prop {prop.prop_key!r} is not in the contract"
    if type(prop.value) is not check.python_type or prop.is_json != check.is_json:
        got = "json" if prop.is_json else type(prop.value).__name__
        return "PROP_TYPE", f"prop {prop.prop_key!r} is {got}, the contract says {check.type_name}"
    if check.enum_values is not None and prop.value not in check.enum_values:
        detail = f"prop {prop.prop_key!r} = {prop.value!r} is not a value of enum {check.enum}"
        return "PROP_ENUM", detail
    return None


def _rules(required: tuple[PropSpec, ...], optional: tuple[PropSpec, ...]) -> _PropRules:
    return _PropRules(
        required=frozenset(p.name for p in required),
        declared={p.name: p for p in (*required, *optional)},
    )
