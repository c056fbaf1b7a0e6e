"""The policy's quarantine plan for a tier, and the calendar it gives a placement.

Day 1 is the local day of placement. COVID-19 9th edition: a close contact spends 7 days in a centralised
site and 3 at home (tests on days 1, 2, 3, 5, 7 and home day 3); a secondary contact 7 days at home (tests on
days 1, 4, 7). The plan is copied onto the placement, so a later policy change does not move dates under
people already in quarantine.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from epigrid.core.selectors import policy_param


@dataclass(frozen=True)
class Plan:
    centralised_days: int
    home_days: int
    test_days: tuple[int, ...]  # in the first phase (centralised, or the home quarantine itself)
    home_test_days: tuple[int, ...]  # in the home phase after a centralised one
    temperature_per_day: int = 2

    @property
    def total_days(self) -> int:
        return self.centralised_days + self.home_days

    def as_json(self) -> dict:
        return {
            "centralised_days": self.centralised_days,
            "home_days": self.home_days,
            "test_days": list(self.test_days),
            "home_test_days": list(self.home_test_days),
            "temperature_per_day": self.temperature_per_day,
        }

    @classmethod
    def from_json(cls, data: dict) -> Plan:
        return cls(
            int(data.get("centralised_days", 0)),
            int(data.get("home_days", 0)),
            tuple(int(d) for d in data.get("test_days", ())),
            tuple(int(d) for d in data.get("home_test_days", ())),
            int(data.get("temperature_per_day", 2)),
        )


def plan_for(*, disease_code: str, tier: str) -> Plan:
    """Close contacts (and anything not secondary) follow the close-contact plan; secondary contacts the
    home plan."""
    if tier == "secondary":
        rule = policy_param(disease_code=disease_code, name="secondary_contact_quarantine", default={}) or {}
        return Plan(0, int(rule.get("home_days", 7)), tuple(rule.get("test_days", (1, 4, 7))), ())
    rule = policy_param(disease_code=disease_code, name="close_contact_quarantine", default={}) or {}
    if not rule:  # a disease without centralised quarantine: follow-up at home for its follow-up period
        days = int(policy_param(disease_code=disease_code, name="follow_up_days", default=14) or 14)
        return Plan(0, days, (1, days), ())
    return Plan(
        int(rule.get("centralised_days", 7)),
        int(rule.get("home_monitoring_days", 3)),
        tuple(rule.get("test_days", (1, 2, 3, 5, 7))),
        tuple(rule.get("home_test_days", (3,))),
    )


def day_start(start: dt.datetime, day: int) -> dt.datetime:
    """Local midnight at the beginning of quarantine day ``day`` (day 1 is the day of ``start``)."""
    first = timezone.localtime(start).date()
    return timezone.make_aware(dt.datetime.combine(first + dt.timedelta(days=day - 1), dt.time.min))


@dataclass(frozen=True)
class Calendar:
    centralised_until: dt.datetime | None
    end: dt.datetime
    tests: list[tuple[int, str, dt.date]]  # (day, phase, due date)


def calendar(plan: Plan, start: dt.datetime) -> Calendar:
    end = day_start(start, plan.total_days + 1)
    tests: list[tuple[int, str, dt.date]] = []
    if plan.centralised_days:
        until = day_start(start, plan.centralised_days + 1)
        tests += [(d, "centralised", day_start(start, d).date()) for d in plan.test_days]
        tests += [
            (d, "home", day_start(start, plan.centralised_days + d).date()) for d in plan.home_test_days
        ]
        return Calendar(until, end, tests)
    return Calendar(None, end, [(d, "home", day_start(start, d).date()) for d in plan.test_days])
