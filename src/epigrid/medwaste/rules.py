"""The medical-waste alarm rules: thresholds (general rules, data not code) and the comparisons they make.

Every limit is "beyond": a value exactly at the limit is not an alarm. Temporary storage of exactly 48 h is
within the 48 h allowed, 48 h and one second is beyond; a weight exactly 5 % off is within a 5 % tolerance.
The evaluation (``services.alarms``) runs these comparisons in SQL; the functions here say the same thing for
one value, for the docs, the pages and the tests.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from epigrid.core.selectors import general_rule
from epigrid.medwaste.models import AlarmKind, AlarmLevel

# One alarm level per rule. A step out of order is usually an offline phone replaying late and is looked at,
# not raised; everything that means waste unaccounted for, late or lost is an alarm.
LEVELS: dict[str, str] = {
    AlarmKind.STORAGE_WARNING: AlarmLevel.WARNING,
    AlarmKind.STORAGE_OVERDUE: AlarmLevel.ALARM,
    AlarmKind.WEIGHT_MISMATCH: AlarmLevel.ALARM,
    AlarmKind.MISSING_STEP: AlarmLevel.ALARM,
    AlarmKind.OUT_OF_ORDER: AlarmLevel.WARNING,
    AlarmKind.COLLECTION_OVERDUE: AlarmLevel.ALARM,
    AlarmKind.NO_HANDOVER: AlarmLevel.ALARM,
}
BAG_KINDS = (
    AlarmKind.STORAGE_WARNING,
    AlarmKind.STORAGE_OVERDUE,
    AlarmKind.WEIGHT_MISMATCH,
    AlarmKind.MISSING_STEP,
    AlarmKind.OUT_OF_ORDER,
)
PARTY_KINDS = (AlarmKind.COLLECTION_OVERDUE, AlarmKind.NO_HANDOVER)
BASIS_POINTS = 10_000  # weights are compared in integers: tolerance in 1/10,000 (0.05 -> 500)


@dataclass(frozen=True)
class Thresholds:
    storage_warning: dt.timedelta  # a bag in temporary storage longer than this: warning
    storage_limit: dt.timedelta  # ... longer than this: beyond the limit (alarm)
    weight_tolerance_bp: int  # |weight - previous step's weight| beyond this share of the previous one
    handover_due: dt.timedelta  # a bag still at its producer longer than this: nothing handed over
    collection_grace: dt.timedelta  # added to an institution's collection interval

    @property
    def weight_tolerance(self) -> float:
        return self.weight_tolerance_bp / BASIS_POINTS


def _hours(name: str, default: float) -> dt.timedelta:
    return dt.timedelta(hours=float(general_rule(name, default)))


def thresholds() -> Thresholds:
    """The thresholds in force: general rules ``waste_storage_warning_hours`` (36), ``waste_storage_limit_hours``
    (48), ``waste_weight_tolerance`` (0.05), ``waste_handover_due_hours`` (24), ``waste_collection_grace_hours``
    (2)."""
    return Thresholds(
        storage_warning=_hours("waste_storage_warning_hours", 36),
        storage_limit=_hours("waste_storage_limit_hours", 48),
        weight_tolerance_bp=round(float(general_rule("waste_weight_tolerance", 0.05)) * BASIS_POINTS),
        handover_due=_hours("waste_handover_due_hours", 24),
        collection_grace=_hours("waste_collection_grace_hours", 2),
    )


def storage_kind(age: dt.timedelta, limits: Thresholds) -> str | None:
    """The storage rule for a bag that has been in temporary storage for ``age``: beyond the limit (strictly
    more than 48 h) is ``storage_overdue``, beyond the warning (strictly more than 36 h) ``storage_warning``,
    else nothing. Exactly 48 h is a warning, exactly 36 h nothing."""
    if age > limits.storage_limit:
        return AlarmKind.STORAGE_OVERDUE
    if age > limits.storage_warning:
        return AlarmKind.STORAGE_WARNING
    return None


def weight_differs(previous_g: int, weight_g: int, limits: Thresholds) -> bool:
    """True when ``weight_g`` differs from the previous step's ``previous_g`` by more than the tolerance of
    the previous weight: 1,000 g then 1,050 g is exactly 5 % (within), 1,051 g beyond. Integer arithmetic, so
    the boundary does not depend on floating point."""
    return abs(weight_g - previous_g) * BASIS_POINTS > limits.weight_tolerance_bp * previous_g


def handover_overdue(age: dt.timedelta, limits: Thresholds) -> bool:
    """A bag still at its producer (labelled, not handed over) for strictly more than the handover time."""
    return age > limits.handover_due


def collection_overdue(waiting: dt.timedelta, interval_hours: int, limits: Thresholds) -> bool:
    """An institution whose stored bags have waited ``waiting`` without a collection: overdue when strictly
    more than its interval plus the grace. ``waiting`` runs from the later of its last collection and the
    arrival of its oldest bag still in storage (an empty store has nothing to collect)."""
    return waiting > dt.timedelta(hours=interval_hours) + limits.collection_grace
