"""Spec dataclasses for relationship rules and the templates that expand into them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from cpg.datasets import SortOrder
from cpg.derivation import DerivationStatus


class RuleDomain(StrEnum):
    """The pipeline layer a rule belongs to."""

    CPG = "cpg"
    NORMALIZE = "normalize"
    EXTRACT = "extract"


class RuleKind(StrEnum):
    """The relational operation a rule performs."""

    FILTER_PROJECT = "filter_project"
    HASH_JOIN = "hash_join"
    INTERVAL_ALIGN = "interval_align"


class ExecutionMode(StrEnum):
    """Which engine runs a rule; ``auto`` lets the planner choose."""

    AUTO = "auto"
    PLAN = "plan"
    KERNEL = "kernel"


@dataclass(frozen=True)
class ColumnLiteral:
    """A constant column a rule adds to its output; ``value`` is JSON text (``null`` for None)."""

    column: str
    value_json: str


@dataclass(frozen=True)
class ColumnExpr:
    """A computed output column: its name and expression text."""

    column: str
    expr: str


@dataclass(frozen=True)
class EvidenceSpec:
    """What input evidence a rule needs before it may run."""

    sources: tuple[str, ...]
    required_columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class PolicyOverrides:
    """Named confidence and ambiguity policies that replace the defaults for a rule."""

    confidence_policy: str | None = None
    ambiguity_policy: str | None = None


@dataclass(frozen=True)
class EdgeEmitPayload:
    """How a rule's output rows become CPG edges.

    Each ``*_cols`` tuple lists candidate columns; an edge takes the first non-null one.
    ``origin`` is the source kind the edge is attributed to (it must be allowed by the edge
    contract); ``resolution_method`` says how the endpoints were resolved.
    """

    edge_kind: str
    src_cols: tuple[str, ...]
    dst_cols: tuple[str, ...]
    path_cols: tuple[str, ...]
    bstart_cols: tuple[str, ...]
    bend_cols: tuple[str, ...]
    origin: str
    resolution_method: str
    option_flag: str


@dataclass(frozen=True)
class IntervalAlignPayload:
    """Align left spans with right spans on the same path."""

    mode: str
    how: str
    left_path_col: str
    left_start_col: str
    left_end_col: str
    right_path_col: str
    right_start_col: str
    right_end_col: str
    select_left: tuple[str, ...]
    select_right: tuple[str, ...]
    emit_match_meta: bool


@dataclass(frozen=True)
class HashJoinPayload:
    """Equi-join two inputs on key columns."""

    join_type: str
    left_keys: tuple[str, ...]
    right_keys: tuple[str, ...]
    left_output: tuple[str, ...]
    right_output: tuple[str, ...]


@dataclass(frozen=True)
class RulePayload:
    """The operation-specific part of a rule; every part is optional."""

    predicate: str | None = None
    project_select: tuple[str, ...] = ()
    project_exprs: tuple[ColumnExpr, ...] = ()
    added_literals: tuple[ColumnLiteral, ...] = ()
    edge_emit: EdgeEmitPayload | None = None
    interval_align: IntervalAlignPayload | None = None
    hash_join: HashJoinPayload | None = None


@dataclass(frozen=True)
class RuleDefinition:
    """One relationship rule: inputs, the output it produces and how."""

    name: str
    domain: RuleDomain
    kind: RuleKind
    inputs: tuple[str, ...]
    output: str
    contract_name: str | None
    priority: int
    execution_mode: ExecutionMode | None
    template: str | None
    evidence: EvidenceSpec | None
    policy_overrides: PolicyOverrides
    payload: RulePayload


@dataclass(frozen=True)
class RuleParam:
    """One template parameter (string-valued)."""

    key: str
    value: str


@dataclass(frozen=True)
class RuleTemplateSpec:
    """A rule family: a factory name plus the inputs and parameters it expands with."""

    name: str
    factory: str
    inputs: tuple[str, ...]
    params: tuple[RuleParam, ...]

    def param(self, key: str) -> str | None:
        """The value of parameter ``key``, or None when the template does not set it."""
        for item in self.params:
            if item.key == key:
                return item.value
        return None


@dataclass(frozen=True)
class RelationColumn:
    """One column of a relation: its Arrow type name (``cpg.arrow_types``) and nullability.

    ``node_kind`` says the column holds ids of nodes of that kind (an edge emitted from it has
    such an endpoint); None for a column that is not a node id.
    """

    name: str
    arrow_type: str
    nullable: bool
    node_kind: str | None = None
    description: str = ""


@dataclass(frozen=True)
class RelationContract:
    """A relation the rules read or produce: its columns and who produces it.

    An extracted relation names its ``extractor`` (``module:function``, appending rows with
    ``FileFacts.add_relation_row``) and the ``layer`` (source kind) whose facts it holds; it is
    ``implemented`` exactly when that extractor is a callable of this project, and only then do
    builds have it. A relation with no extractor is the output of the one rule whose ``output``
    names it; its columns are what that rule yields, checked against this declaration.
    ``contract_name`` (``<name>_v<version>``) is what such a rule's ``contract_name`` says.
    """

    name: str
    version: int
    layer: str
    extractor: str | None
    status: DerivationStatus
    columns: tuple[RelationColumn, ...]
    description: str

    @property
    def contract_name(self) -> str:
        return f"{self.name}_v{self.version}"

    def column(self, name: str) -> RelationColumn | None:
        """The column called ``name``, or None."""
        for column in self.columns:
            if column.name == name:
                return column
        return None


@dataclass(frozen=True)
class ConfidencePolicy:
    """How confident an edge of a rule is when the rule computes no ``confidence`` itself.

    ``confidence = base - penalty * (rows in the edge's ambiguity group - 1)``, clamped to 0..1:
    every competing candidate costs ``penalty``. A rule's ``score`` defaults to its confidence.
    """

    name: str
    base: float
    penalty: float
    description: str = ""


@dataclass(frozen=True)
class AmbiguityPolicy:
    """Winner selection among a rule's candidate edges: rows agreeing on ``group_keys`` (columns
    of the rule's output) form an ambiguity group; the best by ``score_column`` in
    ``score_order`` wins (ties: the edges dataset's tie-breakers, then the edge's endpoints)."""

    name: str
    group_keys: tuple[str, ...]
    score_column: str
    score_order: SortOrder
    description: str = ""
