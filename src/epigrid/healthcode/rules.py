"""The colour-rule grammar, and two evaluators that must agree: one person at a time, and vectorised.

A rule set is an ordered list; the first rule whose conditions all hold gives the colour, and a person
no rule matches is green. A rule::

    {"id": "close_contact", "colour": "red", "reason": "密切接触者", "to_green": "隔离期满且核酸阴性",
     "when": [{"fact": "contact_tier", "in": ["close", "secondary"]},
              {"fact": "contact_at", "within_days": 7},
              {"fact": "contact_at", "after_fact": "contact_cleared_at"}]}

Conditions (``fact`` names a field of ``PersonFacts``):

=====================  =======================================================================
``in: [..]``           the text fact is one of the values
``is: true|false``     the boolean fact has this value
``is_set: true|false`` the fact is (not) empty
``at_least: n``        the number fact is >= n
``within_days: n``     the time fact is set and no older than n days
``after_now: true``    the time fact is set and still in the future (e.g. quarantine_until)
``older_than_hours: n``  the time fact is empty or older than n hours (e.g. an overdue test)
``after_fact: other``  the time fact is set and later than the time fact ``other`` (or ``other`` is empty)
=====================  =======================================================================
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np

TEXT_FACTS = ("infection", "contact_tier", "arrival_level", "visit_level", "last_test_result")
TIME_FACTS = (
    "infection_at", "recovered_at", "contact_at", "contact_cleared_at", "quarantine_until", "arrival_at",
    "visit_at", "last_test_at", "fever_at",
)  # fmt: skip
NUMBER_FACTS = ("vaccine_doses",)
BOOL_FACTS = ("declaration_due",)
ALL_FACTS = TEXT_FACTS + TIME_FACTS + NUMBER_FACTS + BOOL_FACTS
COLOURS = ("green", "yellow", "red")
OPERATORS = ("in", "is", "is_set", "at_least", "within_days", "after_now", "older_than_hours", "after_fact")


class RuleError(ValueError):
    """A rule set that cannot be used; the message names the rule and what is wrong."""


@dataclass(frozen=True)
class Outcome:
    colour: str
    rule_id: str
    reason: str
    to_green: str


GREEN = Outcome("green", "", "", "")


def validate(rules: Any) -> list[dict]:
    """Check a rule set against the grammar; returns it, or raises RuleError naming the problem."""
    if not isinstance(rules, list):
        raise RuleError("A rule set is a list of rules.")
    seen = set()
    for n, rule in enumerate(rules, start=1):
        where = f"rule {n}"
        if not isinstance(rule, dict):
            raise RuleError(f"{where} is not an object.")
        rule_id = rule.get("id")
        if not isinstance(rule_id, str) or not rule_id or rule_id in seen:
            raise RuleError(f"{where} needs a unique text id.")
        seen.add(rule_id)
        where = f"rule {rule_id!r}"
        if rule.get("colour") not in COLOURS:
            raise RuleError(f"{where}: colour must be one of {', '.join(COLOURS)}.")
        if not isinstance(rule.get("reason", ""), str) or not isinstance(rule.get("to_green", ""), str):
            raise RuleError(f"{where}: reason and to_green are texts.")
        when = rule.get("when")
        if not isinstance(when, list) or not when:
            raise RuleError(f"{where}: 'when' is a non-empty list of conditions.")
        for cond in when:
            _validate_condition(where, cond)
    return rules


def _validate_condition(where: str, cond: Any) -> None:
    if not isinstance(cond, dict) or cond.get("fact") not in ALL_FACTS:
        raise RuleError(f"{where}: each condition names a known fact ({', '.join(ALL_FACTS)}).")
    ops = [k for k in cond if k != "fact"]
    if len(ops) != 1 or ops[0] not in OPERATORS:
        raise RuleError(f"{where}: a condition has exactly one operator ({', '.join(OPERATORS)}).")
    fact, op, value = cond["fact"], ops[0], cond[ops[0]]
    kinds = {
        "in": (TEXT_FACTS, list),
        "is": (BOOL_FACTS, bool),
        "is_set": (ALL_FACTS, bool),
        "at_least": (NUMBER_FACTS, (int, float)),
        "within_days": (TIME_FACTS, (int, float)),
        "after_now": (TIME_FACTS, bool),
        "older_than_hours": (TIME_FACTS, (int, float)),
        "after_fact": (TIME_FACTS, str),
    }
    facts, value_type = kinds[op]
    if fact not in facts:
        raise RuleError(f"{where}: '{op}' does not apply to the fact {fact!r}.")
    if not isinstance(value, value_type) or (op == "after_fact" and value not in TIME_FACTS):
        raise RuleError(f"{where}: the value of '{op}' on {fact!r} is not valid.")


# --- one person --------------------------------------------------------------------------------


def _holds(cond: dict, facts: dict[str, Any], now: dt.datetime) -> bool:
    fact = cond["fact"]
    value = facts.get(fact)
    if "in" in cond:
        return (value or "") in cond["in"]
    if "is" in cond:
        return bool(value) is cond["is"]
    if "is_set" in cond:
        return (value not in (None, "", 0, False)) is cond["is_set"]
    if "at_least" in cond:
        return (value or 0) >= cond["at_least"]
    if "within_days" in cond:
        return value is not None and value >= now - dt.timedelta(days=cond["within_days"])
    if "after_now" in cond:
        return (value is not None and value > now) is cond["after_now"]
    if "older_than_hours" in cond:
        return value is None or value < now - dt.timedelta(hours=cond["older_than_hours"])
    if "after_fact" in cond:
        other = facts.get(cond["after_fact"])
        return value is not None and (other is None or value > other)
    raise RuleError(f"unknown condition {cond!r}")


def evaluate(rules: list[dict], facts: dict[str, Any], now: dt.datetime) -> Outcome:
    for rule in rules:
        if all(_holds(cond, facts, now) for cond in rule["when"]):
            return Outcome(rule["colour"], rule["id"], rule.get("reason", ""), rule.get("to_green", ""))
    return GREEN


# --- many people at once ---------------------------------------------------------------------------


def evaluate_columns(rules: list[dict], columns: dict[str, np.ndarray], now: dt.datetime) -> np.ndarray:
    """Index of the first matching rule per person (-1: none). Times are float seconds, NaN for empty;
    texts are numpy string arrays ('' for empty); numbers and booleans are numeric arrays."""
    size = len(next(iter(columns.values()))) if columns else 0
    result = np.full(size, -1, dtype=np.int32)
    open_ = np.ones(size, dtype=bool)
    t_now = now.timestamp()
    for index, rule in enumerate(rules):
        mask = open_.copy()
        for cond in rule["when"]:
            mask &= _mask(cond, columns, t_now)
            if not mask.any():
                break
        result[mask] = index
        open_ &= ~mask
    return result


def _mask(cond: dict, columns: dict[str, np.ndarray], t_now: float) -> np.ndarray:
    col = columns[cond["fact"]]
    if "in" in cond:
        return np.isin(col, np.array(cond["in"], dtype=col.dtype))
    if "is" in cond:
        return col.astype(bool) == cond["is"]
    if "is_set" in cond:
        if cond["fact"] in TIME_FACTS:
            is_set = ~np.isnan(col)
        elif cond["fact"] in TEXT_FACTS:
            is_set = col != ""
        else:
            is_set = col.astype(bool)
        return is_set == cond["is_set"]
    if "at_least" in cond:
        return col >= cond["at_least"]
    if "within_days" in cond:
        return col >= t_now - cond["within_days"] * 86400  # NaN compares False
    if "after_now" in cond:
        return (col > t_now) == cond["after_now"]
    if "older_than_hours" in cond:
        return np.isnan(col) | (col < t_now - cond["older_than_hours"] * 3600)
    if "after_fact" in cond:
        other = columns[cond["after_fact"]]
        return ~np.isnan(col) & (np.isnan(other) | (col > other))
    raise RuleError(f"unknown condition {cond!r}")
