"""Who may have which dose when: age limits, the series and its interval, boosters.

A person's doses of one disease form one sequence: the first product given sets the series (its number of
doses, at its minimum interval); doses after the series are boosters under the rule of the product now
given. Pure functions over already loaded rows, so the booking page, the vaccinator's desk and the status
table all judge alike.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from epigrid.vaccination.models import Dose, DoseKind, DueKind, Vaccine


@dataclass(frozen=True)
class Eligibility:
    eligible: bool
    dose_number: int  # the number the next dose takes
    kind: str  # DoseKind of the next dose
    reasons: list[str] = field(default_factory=list)  # why not, for the person to read
    earliest_on: dt.date | None = None  # the first day the interval allows


@dataclass(frozen=True)
class Standing:
    doses: int
    series_complete: bool
    boosters: int
    last_dose_on: dt.date | None
    next_due_on: dt.date | None
    next_due_kind: str


def age_on(birth_date: dt.date, day: dt.date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def assess(
    *, birth_date: dt.date | None, vaccine: Vaccine, on: dt.date, doses: Sequence[Dose]
) -> Eligibility:
    """May a person born on ``birth_date`` with ``doses`` (of the vaccine's disease, in date order) have
    ``vaccine`` on ``on``?"""
    reasons: list[str] = []
    if not vaccine.active:
        reasons.append(_("%(vaccine)s is no longer in use.") % {"vaccine": vaccine.name})
    if birth_date is None:
        reasons.append(_("The birth date is unknown; correct the person's record first."))
    else:
        age = age_on(birth_date, on)
        if age < vaccine.min_age_years:
            reasons.append(
                _("%(vaccine)s is for people aged %(age)s and over.")
                % {"vaccine": vaccine.name, "age": vaccine.min_age_years}
            )
        elif vaccine.max_age_years is not None and age > vaccine.max_age_years:
            reasons.append(
                _("%(vaccine)s is for people aged up to %(age)s.")
                % {"vaccine": vaccine.name, "age": vaccine.max_age_years}
            )
    if any(d.given_on == on for d in doses):
        reasons.append(_("A dose against this disease was already given that day."))
    dose_number = len(doses) + 1
    series = doses[0].vaccine.doses_in_series if doses else vaccine.doses_in_series
    earliest = None
    if len(doses) < series:
        kind = DoseKind.SERIES
        if doses:
            earliest = doses[-1].given_on + dt.timedelta(days=doses[0].vaccine.min_interval_days)
    else:
        kind = DoseKind.BOOSTER
        boosters = len(doses) - series
        if vaccine.booster_interval_days is None or boosters >= vaccine.max_boosters:
            reasons.append(_("The series is complete and no further booster of this vaccine is due."))
        else:
            earliest = doses[-1].given_on + dt.timedelta(days=vaccine.booster_interval_days)
            if birth_date is not None and age_on(birth_date, on) < vaccine.booster_min_age_years:
                reasons.append(
                    _("Boosters of %(vaccine)s are for people aged %(age)s and over.")
                    % {"vaccine": vaccine.name, "age": vaccine.booster_min_age_years}
                )
    if earliest is not None and on < earliest:
        reasons.append(
            _("Too soon after the last dose: the next dose is possible from %(day)s.") % {"day": earliest}
        )
    return Eligibility(not reasons, dose_number, kind, reasons, earliest)


def _birthday(birth_date: dt.date, years: int) -> dt.date:
    try:
        return birth_date.replace(year=birth_date.year + years)
    except ValueError:  # born on 29 February
        return birth_date.replace(year=birth_date.year + years, day=28)


def standing(doses: Sequence[Dose], birth_date: dt.date | None = None) -> Standing:
    """Where a person stands with ``doses`` (date order): counts and the next dose due, if any. A booster
    falls due no earlier than the birthday on which the person reaches the booster age."""
    if not doses:
        return Standing(0, False, 0, None, None, "")
    primary = doses[0].vaccine
    count = len(doses)
    last = doses[-1].given_on
    complete = count >= primary.doses_in_series
    boosters = max(count - primary.doses_in_series, 0)
    due, due_kind = None, ""
    if not complete:
        due, due_kind = last + dt.timedelta(days=primary.min_interval_days), DueKind.SERIES
    elif primary.booster_interval_days is not None and boosters < primary.max_boosters:
        due, due_kind = last + dt.timedelta(days=primary.booster_interval_days), DueKind.BOOSTER
        if birth_date is not None:
            due = max(due, _birthday(birth_date, primary.booster_min_age_years))
    return Standing(count, complete, boosters, last, due, due_kind)


def number_doses(doses: Sequence[Dose]) -> list[Dose]:
    """Set each dose's number and kind by date order; returns the doses whose number or kind changed."""
    if not doses:
        return []
    series = doses[0].vaccine.doses_in_series
    changed = []
    for i, dose in enumerate(doses):
        number, kind = i + 1, DoseKind.SERIES if i < series else DoseKind.BOOSTER
        if (dose.dose_number, dose.kind) != (number, kind):
            dose.dose_number, dose.kind = number, kind
            changed.append(dose)
    return changed
