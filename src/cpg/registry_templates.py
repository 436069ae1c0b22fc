"""Registry templates: the stage and determinism tier shared by datasets built alike."""

from __future__ import annotations

from cpg.datasets import DeterminismTier, RegistryTemplate

REGISTRY_TEMPLATES: tuple[RegistryTemplate, ...] = (
    RegistryTemplate("cpg", stage="cpg", determinism_tier=DeterminismTier.BEST_EFFORT),
)
