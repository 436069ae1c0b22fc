"""Registry tables -> spec set -> the final text of every generated file (render, then black)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pyarrow as pa

from cpg.registry_readers import spec_set_from_tables
from cpg.spec_set import SpecSet
from cpg.validation import validate_specs
from generator.rendering import finalize, render_all
from storage.deltalake.registry_models import table_fingerprint


class RegistryInconsistentError(ValueError):
    """The registry decodes, but its specs break the invariants (e.g. a hand-edited table)."""


def decode_registry(
    tables: Mapping[str, pa.Table], origin: str, *, validated: bool = False
) -> SpecSet:
    """The spec set of ``tables``, checked unless they were just built from validated specs."""
    specs = spec_set_from_tables(tables)
    violations = () if validated else validate_specs(specs)
    if violations:
        lines = "\n".join(f"  - {violation}" for violation in violations)
        msg = f"{origin}: {len(violations)} spec invariant(s) broken:\n{lines}"
        raise RegistryInconsistentError(msg)
    return specs


def fingerprints(tables: Mapping[str, pa.Table]) -> dict[str, str]:
    """Each table's content fingerprint, by name (the generated files' headers name them)."""
    return {name: table_fingerprint(table) for name, table in tables.items()}


def render_outputs(
    specs: SpecSet,
    tables: Mapping[str, pa.Table],
    on_disk: Mapping[str, str],
    *,
    cache: Path | None,
    write_cache: bool,
) -> dict[str, str]:
    """The final text of every generated file rendered from ``specs`` (decoded from ``tables``).

    ``cache``: the generator cache folder (compiled templates, black results), written to only
    if ``write_cache``.
    """
    template_cache = None if cache is None else cache / "jinja"
    black_cache = None if cache is None else cache / "black"
    rendered = render_all(
        specs, fingerprints(tables), template_cache=template_cache, write_cache=write_cache
    )
    return finalize(rendered, on_disk, cache_dir=black_cache, write_cache=write_cache)
