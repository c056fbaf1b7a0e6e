"""The COVID-19 9th-edition default rules, table-driven; and the two evaluators agree on any facts."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from epigrid.healthcode import rules
from epigrid.healthcode.engine import _columns, _empty_facts
from epigrid.healthcode.seeding import default_rule_sets

NOW = dt.datetime(2022, 3, 15, 12, 0, tzinfo=dt.UTC)
NORMAL, EMERGENCY = (s["rules"] for s in default_rule_sets())


def days(n: float) -> dt.datetime:
    return NOW - dt.timedelta(days=n)


def facts(**values) -> dict:
    base = dict(zip(rules.ALL_FACTS, _empty_facts(), strict=True))
    base.update(values)
    return base


CASES = [
    # (facts, colour, rule) — each rule of the default set, its edges, and rule order
    ({}, "green", ""),
    ({"infection": "confirmed", "infection_at": days(3)}, "red", "infection"),
    ({"infection": "asymptomatic", "infection_at": days(30)}, "red", "infection"),
    ({"infection": "confirmed", "infection_at": days(30), "recovered_at": days(2)}, "green", ""),
    ({"quarantine_until": NOW + dt.timedelta(days=3)}, "red", "in_quarantine"),
    ({"quarantine_until": days(1)}, "green", ""),  # quarantine over
    ({"contact_tier": "close", "contact_at": days(2)}, "red", "contact"),
    ({"contact_tier": "secondary", "contact_at": days(2)}, "red", "contact"),
    ({"contact_tier": "close", "contact_at": days(20)}, "green", ""),  # exposure too long ago
    # red -> green after quarantine ends with negative tests: release clears the exposure
    (
        {
            "contact_tier": "close",
            "contact_at": days(9),
            "contact_cleared_at": days(0.5),
            "last_test_result": "negative",
            "last_test_at": days(1),
        },
        "green",
        "",
    ),
    ({"last_test_result": "positive", "last_test_at": days(1)}, "red", "positive_test"),
    ({"arrival_level": "high", "arrival_at": days(2)}, "red", "high_arrival"),
    ({"arrival_level": "high", "arrival_at": days(8)}, "green", ""),
    ({"visit_level": "high", "visit_at": days(6.9)}, "red", "high_visit"),
    ({"arrival_level": "medium", "arrival_at": days(2)}, "yellow", "medium_arrival"),
    # yellow -> green after a negative test (taken after the arrival)
    (
        {
            "arrival_level": "medium",
            "arrival_at": days(2),
            "last_test_result": "negative",
            "last_test_at": days(1),
        },
        "green",
        "",
    ),
    ({"arrival_level": "medium", "arrival_at": days(2), "last_test_at": days(3)}, "yellow", "medium_arrival"),
    ({"visit_level": "medium", "visit_at": days(1)}, "yellow", "medium_visit"),
    ({"fever_at": days(1)}, "yellow", "fever"),
    ({"fever_at": days(1), "last_test_result": "negative", "last_test_at": days(0.5)}, "green", ""),
    ({"fever_at": days(4)}, "green", ""),
    ({"declaration_due": True}, "yellow", "declaration"),
    # order: red beats yellow; the first red rule names the reason
    ({"fever_at": days(1), "contact_tier": "close", "contact_at": days(1)}, "red", "contact"),
    (
        {"quarantine_until": NOW + dt.timedelta(days=1), "contact_tier": "close", "contact_at": days(1)},
        "red",
        "in_quarantine",
    ),
    (
        {"infection": "confirmed", "infection_at": days(1), "quarantine_until": NOW + dt.timedelta(days=1)},
        "red",
        "infection",
    ),
]


@pytest.mark.parametrize(("values", "colour", "rule_id"), CASES)
def test_default_rules_one_person(values, colour, rule_id):
    outcome = rules.evaluate(NORMAL, facts(**values), NOW)
    assert (outcome.colour, outcome.rule_id) == (colour, rule_id)


def test_default_rules_vectorised_agree_with_the_table():
    rows = [(i, "370699001001001", *facts(**values).values()) for i, (values, _c, _r) in enumerate(CASES)]
    indexes = rules.evaluate_columns(NORMAL, _columns(rows), NOW)
    got = [(NORMAL[i]["colour"], NORMAL[i]["id"]) if i >= 0 else ("green", "") for i in indexes]
    assert got == [(c, r) for _v, c, r in CASES]


def test_emergency_set_adds_the_overdue_test():
    assert rules.evaluate(EMERGENCY, facts(), NOW).rule_id == "test_overdue"
    assert (
        rules.evaluate(EMERGENCY, facts(last_test_at=days(1), last_test_result="negative"), NOW).colour
        == "green"
    )
    assert rules.evaluate(NORMAL, facts(), NOW).colour == "green"


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"id": "x", "colour": "blue", "when": [{"fact": "fever_at", "within_days": 1}]}, "colour"),
        ({"id": "x", "colour": "red", "when": []}, "non-empty"),
        ({"id": "x", "colour": "red", "when": [{"fact": "shoe_size", "at_least": 40}]}, "known fact"),
        ({"id": "x", "colour": "red", "when": [{"fact": "fever_at", "in": ["x"]}]}, "does not apply"),
        (
            {"id": "x", "colour": "red", "when": [{"fact": "fever_at", "within_days": 1, "after_now": True}]},
            "exactly one",
        ),
        ({"colour": "red", "when": [{"fact": "fever_at", "within_days": 1}]}, "unique text id"),
    ],
)
def test_invalid_rules_are_refused_with_a_reason(bad, message):
    with pytest.raises(rules.RuleError, match=message):
        rules.validate([bad])


times = st.one_of(st.none(), st.floats(min_value=-20, max_value=20).map(lambda d: NOW - dt.timedelta(days=d)))
fact_values = st.fixed_dictionaries(
    {
        "infection": st.sampled_from(["", "confirmed", "asymptomatic"]),
        "contact_tier": st.sampled_from(["", "close", "secondary"]),
        "arrival_level": st.sampled_from(["", "medium", "high"]),
        "visit_level": st.sampled_from(["", "medium", "high"]),
        "last_test_result": st.sampled_from(["", "negative", "positive"]),
        **{name: times for name in rules.TIME_FACTS},
        "vaccine_doses": st.integers(0, 4),
        "declaration_due": st.booleans(),
    }
)


@settings(max_examples=150, deadline=None)
@given(st.lists(fact_values, min_size=1, max_size=30))
def test_vectorised_and_per_person_evaluation_agree(people):
    for rule_set in (NORMAL, EMERGENCY):
        rows = [(i, "", *facts(**p).values()) for i, p in enumerate(people)]
        indexes = rules.evaluate_columns(rule_set, _columns(rows), NOW)
        expected = [rules.evaluate(rule_set, facts(**p), NOW).rule_id for p in people]
        got = [rule_set[i]["id"] if i >= 0 else "" for i in indexes]
        assert got == expected
    assert isinstance(indexes, np.ndarray)
