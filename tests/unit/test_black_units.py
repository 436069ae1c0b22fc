"""Property tests: formatting unit by unit gives byte for byte what black gives for the whole file.

The oracle is ``black.format_str`` on the whole module. Renders come from random spec sets
(``tests.strategies.spec_sets``); every node the outline can cut is cut (``split_lines=0``), so
the small random modules exercise the same seams as the big real ones. Three paths are checked:
a cold run (no file on disk, no cache), a run after an edit (the previous output on disk and a
cache shared with the run that wrote it), and renders that black would change (mangled on
purpose), which must come out as black formats them.
"""

from __future__ import annotations

import dataclasses
import tempfile
from enum import StrEnum
from pathlib import Path
from typing import Any

import black
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cpg.arrow_types import ARROW_TYPES
from cpg.contracts import PropType
from cpg.datasets import DatasetRole, DedupeStrategy, DeterminismTier, SortOrder
from cpg.derivation import DerivationStatus
from cpg.kinds import EntityKind
from cpg.registry_readers import spec_set_from_tables
from cpg.spec_set import SpecSet, canonical_spec_set
from generator.formatting import Formatter
from generator.outline import Node, Outline, parse, walk
from generator.pipeline import fingerprints
from generator.rendering import OUTPUT_FILES, render_all
from relspec.rules.expressions import ValueType
from relspec.rules.model import ExecutionMode, RuleDomain, RuleKind
from storage.deltalake.registry_runner import build_registry_tables
from storage.spec_codec import RegistryDecodeError
from tests.strategies import TEXT_ALPHABET, spec_sets

EXAMPLES = 20
_SLOW = [HealthCheck.too_slow, HealthCheck.data_too_large]
_MODE = black.Mode(line_length=100, target_versions={black.TargetVersion.PY311})
_PYTHON = tuple(output.name for output in OUTPUT_FILES if output.python)
long_texts = st.text(alphabet=TEXT_ALPHABET, max_size=140)
"""Descriptions long enough to cross the line length, where black's choices turn."""


_NAMED = (
    "cpg_source_kinds",
    "cpg_node_contracts",
    "cpg_edge_contracts",
    "cpg_field_catalog",
    "cpg_bundle_catalog",
    "cpg_dataset_rows",
    "cpg_prop_catalog",
    "cpg_prop_enums",
)
"""The tables whose keys become Python names in the generated modules."""


def _tables(specs: SpecSet) -> dict[str, pa.Table]:
    return {n: t for by_name in build_registry_tables(specs).values() for n, t in by_name.items()}


_LAYOUT = canonical_spec_set()
_VOCABULARIES: tuple[type[StrEnum], ...] = (
    DatasetRole,
    DedupeStrategy,
    DerivationStatus,
    DeterminismTier,
    EntityKind,
    ExecutionMode,
    PropType,
    RuleDomain,
    RuleKind,
    SortOrder,
    ValueType,
)
"""Enumerations whose values the specs store as text (a prop's type, a rule's kind...)."""
_KEPT = frozenset(
    [
        *(field.name for field in _LAYOUT.fields),
        *ARROW_TYPES,
        *(member.value for vocabulary in _VOCABULARIES for member in vocabulary),
    ]
)
"""Never renamed, since a random name may equal one: column names the generated views look up
by name (``node_id``, ``value_str``...), Arrow type names and the enumerations' values."""


def _merged(ours: tuple[Any, ...], theirs: tuple[Any, ...]) -> tuple[Any, ...]:
    names = {item.name for item in theirs}
    return tuple(sorted([*(i for i in ours if i.name not in names), *theirs], key=lambda i: i.name))


def _with_layout(specs: SpecSet) -> SpecSet:
    """``specs`` with the canonical datasets (and the fields, bundles and templates they use)
    added, which alone carry dataset roles: the generated views need nodes, edges and props
    datasets laid out as a build writes them (``cpg.storage_layout``)."""
    rows = tuple(dataclasses.replace(row, role=None) for row in specs.dataset_rows)
    return dataclasses.replace(
        specs,
        fields=_merged(specs.fields, _LAYOUT.fields),
        bundles=_merged(specs.bundles, _LAYOUT.bundles),
        templates=_merged(specs.templates, _LAYOUT.templates),
        dataset_rows=_merged(rows, _LAYOUT.dataset_rows),
    )


def _renderable(specs: SpecSet) -> SpecSet:
    """``specs`` with every kind, field, bundle and dataset name (free text in random spec sets)
    replaced, wherever it is referenced, by a Python name of a length that varies with it. A
    column the decoder then rejects (an enumeration sharing a value with a name) keeps its
    values."""
    specs = _with_layout(specs)
    tables = _tables(specs)
    names: dict[str, str] = {}
    for table in _NAMED:
        for value in tables[table].column(0).to_pylist():
            if value not in _KEPT:
                names.setdefault(value, f"n{len(names)}_" + "x" * (len(value) % 7))

    def renamed(value: Any) -> Any:
        if isinstance(value, str):
            return names.get(value, value)
        if isinstance(value, list):
            return [renamed(item) for item in value]
        if isinstance(value, dict):
            return {key: renamed(item) for key, item in value.items()}
        return value

    kept: set[tuple[str, str]] = set()
    while True:
        renamed_tables = {
            name: pa.Table.from_pylist(
                [
                    {c: v if (name, c) in kept else renamed(v) for c, v in row.items()}
                    for row in table.to_pylist()
                ],
                schema=table.schema,
            )
            for name, table in tables.items()
        }
        try:
            return spec_set_from_tables(renamed_tables)
        except RegistryDecodeError as error:
            if (error.table, error.column) in kept:
                raise
            kept.add((error.table, error.column))


def _renders(specs: SpecSet) -> dict[str, str]:
    rendered = render_all(specs, fingerprints(_tables(specs)))
    return {name: rendered[name] for name in _PYTHON}


renderable_spec_sets = spec_sets().map(_renderable)


@st.composite
def _long_described(draw: st.DrawFn) -> SpecSet:
    specs = draw(renderable_spec_sets)
    contracts = tuple(
        dataclasses.replace(c, description=draw(long_texts)) for c in specs.node_contracts
    )
    return dataclasses.replace(specs, node_contracts=contracts)


def _edited(specs: SpecSet, text: str) -> SpecSet:
    """``specs`` with the first node contract's description replaced (an edit of one kind)."""
    if not specs.node_contracts:
        return specs
    first, *rest = specs.node_contracts
    return dataclasses.replace(
        specs, node_contracts=(dataclasses.replace(first, description=text), *rest)
    )


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=_SLOW)
@given(st.one_of(renderable_spec_sets, _long_described()))
def test_cold_units_give_what_black_gives_for_the_whole_file(specs: SpecSet) -> None:
    formatter = Formatter(None, write_cache=False, split_lines=0)
    for name, text in _renders(specs).items():
        assert formatter.format(text, name, None) == black.format_str(text, mode=_MODE), name


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=_SLOW)
@given(st.one_of(renderable_spec_sets, _long_described()), long_texts)
def test_an_edit_against_the_file_on_disk_gives_what_black_gives(specs: SpecSet, text: str) -> None:
    with tempfile.TemporaryDirectory() as cache:
        before = Formatter(Path(cache), write_cache=True, split_lines=0)
        on_disk = {name: before.format(t, name, None) for name, t in _renders(specs).items()}
        before.flush()
        after = Formatter(Path(cache), write_cache=True, split_lines=0)
        for name, rendered in _renders(_edited(specs, text)).items():
            expected = black.format_str(rendered, mode=_MODE)
            assert after.format(rendered, name, on_disk[name]) == expected, name


_MANGLES = st.sampled_from(
    ["blank", "unblank", "no comma", "join", "spaces", "quotes", "longer", "comment"]
)


def _mangle(text: str, how: str, where: int, size: int) -> str:
    """``text`` changed at one line the way a template might get it wrong."""
    lines = text.split("\n")
    index = where % len(lines)
    line = lines[index]
    if how == "blank":
        lines.insert(index, "")
    elif how == "unblank" and not line.strip():
        del lines[index]
    elif how == "no comma" and line.rstrip().endswith(","):
        lines[index] = line.rstrip()[:-1]
    elif how == "join" and index + 1 < len(lines) and line.rstrip().endswith(("(", "[", "{")):
        lines[index : index + 2] = [line + lines[index + 1].strip()]
    elif how == "spaces" and "=" in line:
        lines[index] = line.replace("=", " = ", 1)
    elif how == "quotes" and '"' in line and "'" not in line and "\\" not in line:
        lines[index] = line.replace('"', "'")
    elif how == "longer" and '"' in line:
        start = line.index('"') + 1
        lines[index] = line[:start] + "x" * size + line[start:]
    elif how == "comment" and line.strip():
        lines.insert(index, " " * (len(line) - len(line.lstrip())) + "# a note")
    return "\n".join(lines)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=_SLOW)
@given(
    renderable_spec_sets,
    st.lists(
        st.tuples(_MANGLES, st.integers(0, 10**6), st.integers(1, 90)), min_size=1, max_size=3
    ),
    st.booleans(),
)
def test_renders_black_would_change_come_out_as_black_formats_them(
    specs: SpecSet, mangles: list[tuple[str, int, int]], against_disk: bool
) -> None:
    formatter = Formatter(None, write_cache=False, split_lines=0)
    for name, text in _renders(specs).items():
        mangled = text
        for how, where, size in mangles:
            mangled = _mangle(mangled, how, where, size)
        try:
            expected = black.format_str(mangled, mode=_MODE)
        except black.InvalidInput:
            continue
        on_disk = black.format_str(text, mode=_MODE) if against_disk else None
        assert formatter.format(mangled, name, on_disk) == expected, name


def _reassembled(outline: Outline, nodes: list[Node]) -> str:
    pieces = []
    for node in nodes:
        pieces.append(outline.text(node.sep, node.start))
        if node.children is None:
            pieces.append(outline.text(node.start, node.end))
        else:
            pieces.append(outline.text(node.start, node.head_end))
            pieces.append(_reassembled(outline, node.children))
            pieces.append(outline.text(node.tail_start, node.end))
    return "".join(pieces)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=_SLOW)
@given(renderable_spec_sets, st.integers(0, 40))
def test_an_outline_puts_every_line_back_in_place(specs: SpecSet, split_lines: int) -> None:
    for text in _renders(specs).values():
        outline = parse(text, split_lines=split_lines)
        assert _reassembled(outline, outline.roots) == text
        assert all(node.end > node.start for node in walk(outline.roots))


def test_the_canonical_registry_renders_as_black_writes_it() -> None:
    """Templates emit black's layout for the project's own registry, so a clean ``--check``
    never imports black (issue 16: a check within the import floor)."""
    for name, text in _renders(canonical_spec_set()).items():
        assert text == black.format_str(text, mode=_MODE), name
