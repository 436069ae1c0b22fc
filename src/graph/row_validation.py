"""Check extracted rows against the contracts of a registry: kinds, props, endpoints, origins.

Every problem becomes a ``ContractViolation`` row (the build's diagnostics table); nothing is
dropped, so a violating row is still written and the violation says what is wrong with it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
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


_TYPE_CHECKS: Mapping[PropType, Callable[[PropRow], bool]] = {
    PropType.STR: lambda prop: isinstance(prop.value, str) and not prop.is_json,
    PropType.INT: lambda prop: isinstance(prop.value, int) and not isinstance(prop.value, bool),
    PropType.FLOAT: lambda prop: isinstance(prop.value, float),
    PropType.BOOL: lambda prop: isinstance(prop.value, bool),
    PropType.JSON: lambda prop: prop.is_json,
}


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
    ) -> Iterator[ContractViolation]:
        present: dict[tuple[str, str], set[str]] = {key: set() for key in entities}
        for prop in props:
            key = (prop.entity_kind, prop.entity_id)
            entity = entities.get(key)
            if entity is None:
                yield ContractViolation(
                    "PROP_OF_UNKNOWN_ENTITY",
                    prop.entity_kind,
                    prop.entity_id,
                    "",
                    None,
                    f"prop {prop.prop_key!r} belongs to no emitted {prop.entity_kind}",
                )
                continue
            present[key].add(prop.prop_key)
            kind, path = entity
            rules = self._rules.get((prop.entity_kind, kind))
            if rules is not None:
                yield from self._prop(prop, kind, path, rules)
        for (entity_kind, entity_id), keys in present.items():
            kind, path = entities[(entity_kind, entity_id)]
            rules = self._rules.get((entity_kind, kind))
            if rules is None:
                continue
            for missing in sorted(rules.required - keys):
                yield ContractViolation(
                    "MISSING_REQUIRED_PROP",
                    entity_kind,
                    entity_id,
                    kind,
                    path,
                    f"required prop {missing!r} is missing",
                )

    def _prop(
        self, prop: PropRow, kind: str, path: str | None, rules: _PropRules
    ) -> Iterator[ContractViolation]:
        def violation(rule: str, detail: str) -> ContractViolation:
            return ContractViolation(rule, prop.entity_kind, prop.entity_id, kind, path, detail)

        spec = rules.declared.get(prop.prop_key)
        if spec is None:
            yield violation("UNDECLARED_PROP", f"prop {prop.prop_key!r} is not in the contract")
            return
        if not _TYPE_CHECKS[spec.type](prop):
            got = "json" if prop.is_json else type(prop.value).__name__
            yield violation(
                "PROP_TYPE", f"prop {prop.prop_key!r} is {got}, the contract says {spec.type}"
            )
        elif spec.enum is not None and prop.value not in self._enums.get(spec.enum, ()):
            yield violation(
                "PROP_ENUM",
                f"prop {prop.prop_key!r} = {prop.value!r} is not a value of enum {spec.enum}",
            )


def _rules(required: tuple[PropSpec, ...], optional: tuple[PropSpec, ...]) -> _PropRules:
    return _PropRules(
        required=frozenset(p.name for p in required),
        declared={p.name: p for p in (*required, *optional)},
    )
