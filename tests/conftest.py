"""Shared fixtures: real registry exports on disk (Delta tables under pytest's temp dirs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage.deltalake.registry_runner import run_registry_exports


@pytest.fixture(scope="session")
def exported_registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An output dir holding the canonical registry, exported once per session; do not modify."""
    output_dir = tmp_path_factory.mktemp("canonical_export")
    run_registry_exports(output_dir)
    return output_dir


@pytest.fixture
def fresh_registry(tmp_path: Path) -> Path:
    """An output dir holding a canonical registry of its own, for tests that break tables."""
    run_registry_exports(tmp_path)
    return tmp_path
