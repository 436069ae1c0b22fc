"""The confidence and ambiguity policies rules name in their ``policy_overrides``.

From the reference catalog's ``relationship_policies``. ``default`` is the policy of a rule that
names none (the catalog's "base when unspecified", 0.5).
"""

from __future__ import annotations

from cpg.datasets import SortOrder
from relspec.rules.model import AmbiguityPolicy, ConfidencePolicy

DEFAULT_CONFIDENCE_POLICY = "default"

CONFIDENCE_POLICIES: tuple[ConfidencePolicy, ...] = (
    ConfidencePolicy(DEFAULT_CONFIDENCE_POLICY, 0.5, 0.0, "A rule that names no policy."),
    ConfidencePolicy("scip", 1.0, 0.0, "Resolved by SCIP: exact."),
    ConfidencePolicy(
        "qname_fallback", 0.4, 0.1, "Callee qualified names without SCIP: each rival costs 0.1."
    ),
    ConfidencePolicy("runtime", 1.0, 0.0, "Observed by runtime inspection."),
    ConfidencePolicy("type", 1.0, 0.0, "Written in the source as an annotation."),
    ConfidencePolicy(
        "inferred_type", 0.8, 0.0, "Inferred by a type checker (pyright, through scip-python)."
    ),
)

AMBIGUITY_POLICIES: tuple[AmbiguityPolicy, ...] = (
    AmbiguityPolicy(
        "qname_fallback",
        ("call_id",),
        "score",
        SortOrder.DESCENDING,
        "One callee per call site: the best-scored qualified name wins.",
    ),
)
