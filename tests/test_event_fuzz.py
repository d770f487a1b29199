"""The envelope and event parsers under fuzzing (hypothesis): whatever the body, a parsed event, Ignored or a
MalformedMessage, nothing else (tests/event_fuzz.py). A bounded number of examples here; `make fuzz`
(bench/fuzz_events.py) runs many more."""
from __future__ import annotations

from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.event_fuzz import JSON, check_body, mutated_shapes

# Derandomized (the same examples every run: CI stays reproducible), no example database, no deadline (a
# loaded machine must not fail a property that holds).
FUZZ = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
OUTCOMES: Counter[str] = Counter()


@FUZZ
@given(st.binary(max_size=400))
def test_arbitrary_bytes(body):
    check_body(body, OUTCOMES)


@FUZZ
@given(st.text(max_size=400))
def test_arbitrary_text(body):
    check_body(body, OUTCOMES)


@FUZZ
@given(JSON)
def test_arbitrary_json(doc):
    import json

    check_body(json.dumps(doc), OUTCOMES)


@settings(FUZZ, max_examples=600)
@given(mutated_shapes())
def test_documented_shapes_with_mutated_types(body):
    check_body(body, OUTCOMES)


def test_the_fuzzing_reached_every_outcome():
    """The strategies are not all rejected at the door: some mutated shapes still parse (runs after the above)."""
    if sum(OUTCOMES.values()) < 1000:  # run alone: nothing to look at
        return
    assert OUTCOMES["malformed"] and OUTCOMES["parsed"] and OUTCOMES["ignored"], OUTCOMES
