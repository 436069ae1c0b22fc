"""Node and edge contracts, derivations and prop enums, as decoded from registry tables.

A ``ContractRegistry`` is built only by decoding tables: from a Delta registry
(``load_contracts_from_registry``) or from the in-memory builders (``contracts_from_tables()``,
the local fallback), so both go through the same decoders. Loading rejects rows that reference
something the registry does not declare (an unknown node kind, enum, ...) with an error naming
the table, the row and the column; ``validate_registry_completeness`` also reports kinds that
nothing derives.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from operator import attrgetter
from types import MappingProxyType
from typing import TypeVar

import pyarrow as pa

from cpg.contracts import EdgeContract, NodeContract, PropEnum
from cpg.derivation import Derivation
from cpg.registry_readers import (
    derivations_from_table,
    edge_contracts_from_table,
    node_contracts_from_table,
    prop_enums_from_table,
    required_table,
)
from cpg.registry_source import RegistryPath, load, local_tables
from cpg.spec_set import SORT_KEYS
from cpg.validation import (
    Violation,
    contract_locations,
    derivation_kind_violations,
    endpoint_violations,
    prop_enum_violations,
    underived_kind_violations,
)
from storage.spec_codec import RegistryDecodeError

NODE_TABLE = "cpg_node_contracts"
EDGE_TABLE = "cpg_edge_contracts"
DERIVATION_TABLE = "cpg_kind_derivations"
ENUM_TABLE = "cpg_prop_enums"
CONTRACT_TABLES: tuple[str, ...] = (NODE_TABLE, EDGE_TABLE, DERIVATION_TABLE, ENUM_TABLE)

V = TypeVar("V")


@dataclass(frozen=True)
class ContractRegistry:
    """The contract side of a registry, with lookups by kind.

    Collections are sorted like the registry tables (``SORT_KEYS``), so an element's position
    is its row in the table it came from.
    """

    node_contracts: tuple[NodeContract, ...]
    edge_contracts: tuple[EdgeContract, ...]
    derivations: tuple[Derivation, ...]
    prop_enums: tuple[PropEnum, ...]
    _nodes: Mapping[str, NodeContract] = field(init=False, repr=False, compare=False)
    _edges: Mapping[str, EdgeContract] = field(init=False, repr=False, compare=False)
    _derived: Mapping[str, tuple[Derivation, ...]] = field(init=False, repr=False, compare=False)
    _enums: Mapping[str, PropEnum] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("node_contracts", "edge_contracts", "derivations", "prop_enums"):
            items = getattr(self, name)
            object.__setattr__(self, name, tuple(sorted(items, key=attrgetter(*SORT_KEYS[name]))))
        derived: dict[str, list[Derivation]] = {}
        for derivation in self.derivations:
            derived.setdefault(derivation.kind, []).append(derivation)
        indexes: dict[str, Mapping[str, object]] = {
            "_nodes": {c.kind: c for c in self.node_contracts},
            "_edges": {c.kind: c for c in self.edge_contracts},
            "_derived": {kind: tuple(items) for kind, items in derived.items()},
            "_enums": {e.name: e for e in self.prop_enums},
        }
        for name, index in indexes.items():
            object.__setattr__(self, name, MappingProxyType(index))

    @property
    def node_kinds(self) -> tuple[str, ...]:
        """Every node kind, sorted."""
        return tuple(self._nodes)

    @property
    def edge_kinds(self) -> tuple[str, ...]:
        """Every edge kind, sorted."""
        return tuple(self._edges)

    def node_contract(self, kind: str) -> NodeContract:
        """The contract of node kind ``kind`` (KeyError naming the kind)."""
        return _lookup(self._nodes, kind, "node kind")

    def edge_contract(self, kind: str) -> EdgeContract:
        """The contract of edge kind ``kind`` (KeyError naming the kind)."""
        return _lookup(self._edges, kind, "edge kind")

    def derivations_of(self, kind: str) -> tuple[Derivation, ...]:
        """The derivations of a node or edge kind; empty when nothing derives it."""
        return self._derived.get(kind, ())

    def prop_enum(self, name: str) -> PropEnum:
        """The prop enum called ``name`` (KeyError naming it)."""
        return _lookup(self._enums, name, "prop enum")


def _lookup(index: Mapping[str, V], key: str, what: str) -> V:
    try:
        return index[key]
    except KeyError:
        raise KeyError(f"unknown {what} {key!r}") from None


@dataclass(frozen=True)
class RegistryProblem:
    """One broken reference or gap, located in registry terms: table, row and column."""

    table: str
    row: int
    column: str
    message: str
    dangling: bool = True
    """True for a reference to something undeclared; False for a gap (a kind nothing derives)."""

    def __str__(self) -> str:
        return f"table {self.table!r}, row {self.row}, column {self.column!r}: {self.message}"


class RegistryIntegrityError(RegistryDecodeError):
    """Registry rows that do not fit together; names the first problem and counts the rest."""

    def __init__(self, problems: tuple[RegistryProblem, ...]) -> None:
        self.problems = problems
        first = problems[0]
        rest = "".join(f"\n  - {problem}" for problem in problems[1:])
        more = f" (and {len(problems) - 1} more:{rest})" if rest else ""
        super().__init__(first.table, first.column, first.message + more, row=first.row)


def registry_problems(registry: ContractRegistry) -> tuple[RegistryProblem, ...]:
    """Every problem of a contract registry, in table order: dangling references and gaps.

    The reference checks are ``validate_specs``' own, run on the decoded tables.
    """
    nodes, edges = registry.node_contracts, registry.edge_contracts
    dangling = (
        *endpoint_violations(edges, registry.node_kinds),
        *derivation_kind_violations(registry.derivations, registry.node_kinds, registry.edge_kinds),
        *prop_enum_violations(nodes, edges, {e.name for e in registry.prop_enums}),
    )
    kinds = contract_locations(registry.node_kinds, nodes, NODE_TABLE)
    kinds += contract_locations(registry.edge_kinds, edges, EDGE_TABLE)
    gaps = underived_kind_violations(kinds, registry.derivations)
    return (
        *_duplicate_kinds(registry),
        *(_problem(violation, dangling=True) for violation in dangling),
        *(_problem(violation, dangling=False) for violation in gaps),
    )


def _problem(violation: Violation, *, dangling: bool) -> RegistryProblem:
    where = violation.where
    assert where is not None, "registry checks always locate their violations"
    return RegistryProblem(where.table, where.row, where.column, violation.message, dangling)


def validate_registry_completeness(
    registry: ContractRegistry, *, raise_on_problem: bool = True
) -> tuple[RegistryProblem, ...]:
    """The registry's problems (empty when complete); raises ``RegistryIntegrityError`` if any.

    Works on a registry from either source. Besides dangling references (which loading already
    rejects) it reports every node or edge kind without a derivation.
    """
    problems = registry_problems(registry)
    if problems and raise_on_problem:
        raise RegistryIntegrityError(problems)
    return problems


def _contract_tables(
    registry: ContractRegistry,
) -> tuple[tuple[str, tuple[NodeContract | EdgeContract, ...]], ...]:
    return ((NODE_TABLE, registry.node_contracts), (EDGE_TABLE, registry.edge_contracts))


def _duplicate_kinds(registry: ContractRegistry) -> Iterator[RegistryProblem]:
    for table, contracts in _contract_tables(registry):
        counts = Counter(contract.kind for contract in contracts)
        for row, contract in enumerate(contracts):
            if counts[contract.kind] > 1:
                message = f"kind {contract.kind!r} is declared {counts[contract.kind]} times"
                yield RegistryProblem(table, row, "kind", message)


def contracts_from_tables(tables: Mapping[str, pa.Table] | None = None) -> ContractRegistry:
    """Decode the contract tables (by name); None means the in-memory tables (local fallback).

    Raises ``RegistryDecodeError`` for a missing table or a bad cell, and
    ``RegistryIntegrityError`` for a row referencing something undeclared.
    """
    if tables is None:
        tables = local_tables(CONTRACT_TABLES)

    registry = ContractRegistry(
        node_contracts=node_contracts_from_table(required_table(tables, NODE_TABLE)),
        edge_contracts=edge_contracts_from_table(required_table(tables, EDGE_TABLE)),
        derivations=derivations_from_table(required_table(tables, DERIVATION_TABLE)),
        prop_enums=prop_enums_from_table(required_table(tables, ENUM_TABLE)),
    )
    dangling = tuple(problem for problem in registry_problems(registry) if problem.dangling)
    if dangling:
        raise RegistryIntegrityError(dangling)
    return registry


def load_contracts_from_registry(path: RegistryPath) -> ContractRegistry:
    """The contracts of the Delta registry at ``path`` (a registry root or an output dir).

    Cached by table id and version: a re-exported registry is read again.
    """
    return load(path, CONTRACT_TABLES, contracts_from_tables)


def contracts(registry: RegistryPath | None = None) -> ContractRegistry:
    """The contracts of ``registry``; None means the default (see ``cpg.registry_source``)."""
    return load(registry, CONTRACT_TABLES, contracts_from_tables)
