"""The spec set strategy only ever produces spec sets that validate cleanly."""

from __future__ import annotations

from hypothesis import given, settings

from cpg.spec_set import SpecSet
from cpg.validation import validate_specs
from tests.strategies import spec_sets


@settings(max_examples=50, deadline=None)
@given(spec_sets())
def test_generated_spec_sets_are_valid(specs: SpecSet) -> None:
    assert validate_specs(specs) == ()
