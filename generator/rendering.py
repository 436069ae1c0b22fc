"""Render every generated file from a decoded registry: Jinja templates, then black.

Templates are thin: they lay out imports and class shells and print what the view models
built. Each file's header carries the fingerprint of the registry tables it was rendered from.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from cpg.spec_set import SpecSet
from generator import catalog_view, kind_views, view_models
from generator.pycode import UnusableNamesError, collected_name_errors, literal
from storage.deltalake.registry_models import combined_fingerprint

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
REGENERATE_COMMAND = "python -m generator"

_CONTRACT_TABLES = (
    "cpg_source_kinds",
    "cpg_prop_enums",
    "cpg_prop_catalog",
    "cpg_node_contracts",
    "cpg_edge_contracts",
    "cpg_kind_derivations",
)
_DATASET_TABLES = (
    "cpg_field_catalog",
    "cpg_bundle_catalog",
    "cpg_dataset_rows",
    "cpg_registry_templates",
)


@dataclass(frozen=True)
class OutputFile:
    """A file of ``generated/``: template, the registry tables it depends on, how to build it."""

    name: str
    template: str | None
    tables: tuple[str, ...]
    context: Callable[[SpecSet, view_models.Names], dict[str, Any]]
    python: bool = True


_CONTRACT_EXPORTS = (
    "PropContract",
    "NodeContract",
    "EdgeContract",
    "Derivation",
    "PROP_ENUMS",
    "PROP_ENUM_TYPES",
    "NODE_CONTRACTS",
    "EDGE_CONTRACTS",
    "DERIVATIONS",
)


def _contracts(specs: SpecSet, names: view_models.Names) -> dict[str, Any]:
    enums = view_models.enums(specs, names)
    return {
        "enums": enums,
        "statements": view_models.contract_statements(specs, names),
        "exports": view_models.exports([e.class_name for e in enums] + list(_CONTRACT_EXPORTS)),
    }


def _schemas(specs: SpecSet, names: view_models.Names) -> dict[str, Any]:
    datasets = view_models.datasets(specs)
    constants = [d.constant for d in datasets]
    return {
        "datasets": datasets,
        "exports": view_models.exports(
            [*constants, "DATASET_SCHEMAS", "DATASET_BY_ROLE", "DatasetRole"]
        ),
    }


def _readers(specs: SpecSet, names: view_models.Names) -> dict[str, Any]:
    datasets = view_models.datasets(specs)
    public = []
    for d in datasets:
        public += [d.row_class, f"{d.reader}_table", d.reader, d.shape]
        if d.role is not None:
            public += [d.role.row_alias, d.role.reader]
    kind_enums = sorted({d.kind_enum for d in datasets if d.kind_column and d.kind_enum})
    return {"datasets": datasets, "exports": view_models.exports(public), "kind_enums": kind_enums}


def _views(specs: SpecSet, names: view_models.Names) -> dict[str, Any]:
    views = kind_views.kind_views(specs, names)
    return {"views": views, "exports": view_models.exports(views.exports)}


def _rules(specs: SpecSet, names: view_models.Names) -> dict[str, Any]:
    return {"statement": view_models.edge_plan_statement(specs, names)}


def _nothing(specs: SpecSet, names: view_models.Names) -> dict[str, Any]:
    return {}


OUTPUT_FILES: tuple[OutputFile, ...] = (
    OutputFile("__init__.py", "__init__.py.jinja", (), _nothing),
    OutputFile("py.typed", None, (), _nothing, python=False),
    OutputFile("cpg_contracts.py", "cpg_contracts.py.jinja", _CONTRACT_TABLES, _contracts),
    OutputFile("cpg_schemas.py", "cpg_schemas.py.jinja", _DATASET_TABLES, _schemas),
    OutputFile("cpg_readers.py", "cpg_readers.py.jinja", _DATASET_TABLES, _readers),
    OutputFile(
        "cpg_views.py", "cpg_views.py.jinja", (*_CONTRACT_TABLES, *_DATASET_TABLES), _views
    ),
    OutputFile(
        "relspec_rules.py",
        "relspec_rules.py.jinja",
        ("cpg_source_kinds", "cpg_edge_contracts", "relspec_rule_definitions"),
        _rules,
    ),
    OutputFile(
        "CPG_SCHEMA.md",
        "CPG_SCHEMA.md.jinja",
        (*_CONTRACT_TABLES, *_DATASET_TABLES, "relspec_rule_definitions"),
        catalog_view.catalog_context,
        python=False,
    ),
)


class _ReadOnlyBytecodeCache(jinja2.FileSystemBytecodeCache):
    """Uses compiled templates left by earlier runs but never writes (``--check``)."""

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        return None


def _environment(cache_dir: Path | None, write_cache: bool) -> jinja2.Environment:
    bytecode_cache: jinja2.BytecodeCache | None = None
    if cache_dir is not None:
        if write_cache:
            cache_dir.mkdir(parents=True, exist_ok=True)
            bytecode_cache = jinja2.FileSystemBytecodeCache(str(cache_dir))
        elif cache_dir.is_dir():
            bytecode_cache = _ReadOnlyBytecodeCache(str(cache_dir))
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        bytecode_cache=bytecode_cache,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["py"] = literal
    return env


def _header(output: OutputFile, fingerprints: Mapping[str, str]) -> str:
    tables = output.tables or tuple(sorted(fingerprints))
    fingerprint = combined_fingerprint((name, fingerprints[name]) for name in tables)
    lines = (
        f"DO NOT EDIT: generated by `{REGENERATE_COMMAND}` from the CPG registry.",
        f"Regenerate with: {REGENERATE_COMMAND}",
        f"Registry fingerprint: sha256:{fingerprint}",
    )
    if output.python:
        return "\n".join(f"# {line}" for line in lines)
    return "<!--\n" + "\n".join(lines) + "\n-->"


def render_all(
    specs: SpecSet,
    fingerprints: Mapping[str, str],
    *,
    template_cache: Path | None = None,
    write_cache: bool = True,
) -> dict[str, str]:
    """File name -> content of every generated file, as the templates render it (pre-black).

    Raises ``UnusableNamesError`` listing every registry value that cannot be a Python name.

    ``template_cache`` keeps compiled templates between runs (read-only unless ``write_cache``).
    """
    env = _environment(template_cache, write_cache)
    files: dict[str, str] = {}
    with collected_name_errors() as errors:
        names = view_models.kind_names(specs)
        for output in OUTPUT_FILES:
            if output.template is None:
                files[output.name] = ""
                continue
            context = output.context(specs, names) | {"header": _header(output, fingerprints)}
            files[output.name] = env.get_template(output.template).render(context)
    if errors:
        raise UnusableNamesError(errors)
    return files


def finalize(
    rendered: Mapping[str, str],
    on_disk: Mapping[str, str],
    *,
    cache_dir: Path | None,
    write_cache: bool,
) -> dict[str, str]:
    """The final content of each file: black's output, skipped when the render already equals
    the file on disk (which black produced, and black is idempotent), else asked of black only
    for the units of the render that neither the file on disk nor the cache holds."""
    python = {output.name for output in OUTPUT_FILES if output.python}
    changed = [name for name in python & set(rendered) if on_disk.get(name) != rendered[name]]
    final = dict(rendered)
    if changed:
        from generator.formatting import Formatter  # black's machinery: only for what differs

        formatter = Formatter(cache_dir, write_cache=write_cache)
        for name in sorted(changed):
            final[name] = formatter.format(rendered[name], name, on_disk.get(name))
        formatter.flush()
    return final
