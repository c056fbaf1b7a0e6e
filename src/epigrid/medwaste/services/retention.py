"""Keeping medical-waste records for at least three years, and removing them afterwards.

The retention is the general rule ``waste_retention_years`` (default 3): it can be raised, never lowered below
3, the legal minimum. A lower (or unreadable) value is ignored with a logged warning and 3 is used: a typo
in a policy must not delete records the law requires. Only the records of bags that were incinerated before
the cut-off go, each bag with its custody records, its alarms, the handovers whose bags all go, and the
trips (manifests) left without any bag; open bags, however old, stay (they are still someone's duty).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from epigrid.core.audit import audit_record
from epigrid.core.errors import DomainError, Forbidden
from epigrid.core.models import User
from epigrid.core.roles import Perm, has_perm
from epigrid.core.scope import prefix_q
from epigrid.core.selectors import general_rule
from epigrid.medwaste.models import Bag, CustodyRecord, Handover, Stage, Trip, WasteAlarm

logger = logging.getLogger(__name__)

MINIMUM_YEARS = 3
BATCH = 5_000  # bags per transaction


def retention_years() -> int:
    """The retention in force: the general rule, but never under :data:`MINIMUM_YEARS`."""
    value = general_rule("waste_retention_years", MINIMUM_YEARS)
    try:
        years = int(value)
    except (TypeError, ValueError):
        years = 0
    if years < MINIMUM_YEARS:
        logger.warning(
            "general rule waste_retention_years=%r is below the legal minimum; %d years are kept",
            value,
            MINIMUM_YEARS,
        )
        return MINIMUM_YEARS
    return years


def years_before(moment: dt.datetime, years: int) -> dt.datetime:
    """The same calendar moment ``years`` earlier (29 February becomes the 28th)."""
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:
        return moment.replace(year=moment.year - years, day=28)


def retention_cutoff(now: dt.datetime | None = None) -> dt.datetime:
    return years_before(now or timezone.now(), retention_years())


@dataclass(frozen=True)
class PurgeResult:
    bags: int
    records: int
    handovers: int
    alarms: int
    trips: int
    before: dt.datetime


def waste_records_purge(
    *, actor: User | None, before: dt.datetime, now: dt.datetime | None = None
) -> PurgeResult:
    """Delete the bags incinerated before ``before`` (with their records, alarms, handovers and emptied
    trips), in the actor's area (``actor`` None: the system, everywhere). ``before`` must lie outside the
    retention: a later date is refused and nothing is deleted. Audited with the counts."""
    if actor is not None and not has_perm(actor, Perm.WASTE_MANAGE):
        raise Forbidden(_("Your role may not do this."))
    if timezone.is_naive(before):
        raise DomainError(_("Give the date with its time zone."), field="before")
    years = retention_years()
    cutoff = years_before(now or timezone.now(), years)
    if before > cutoff:
        raise DomainError(
            _("Medical-waste records are kept for %(years)d years: choose a date on or before %(date)s.")
            % {"years": years, "date": timezone.localtime(cutoff).date().isoformat()},
            field="before",
        )
    bags = Bag.objects.filter(stage=Stage.INCINERATED, stage_at__lt=before)
    if actor is not None:
        bags = bags.filter(prefix_q("org_code", actor.org_code))
    counts = dict.fromkeys(("bags", "records", "handovers", "alarms", "trips"), 0)
    while True:
        ids = list(bags.order_by("pk").values_list("pk", flat=True)[:BATCH])
        if not ids:
            break
        with transaction.atomic():
            for key, value in _purge_batch(ids).items():
                counts[key] += value
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="medwaste.purge",
            org_code=actor.org_code if actor is not None else "",
            detail={**counts, "before": before.isoformat(), "retention_years": years},
        )
    return PurgeResult(before=before, **counts)


def _deleted(qs) -> int:
    return qs.delete()[1].get(qs.model._meta.label, 0)


def _purge_batch(ids: list[int]) -> dict[str, int]:
    trip_ids = set(
        CustodyRecord.objects.filter(bag_id__in=ids, trip__isnull=False).values_list("trip_id", flat=True)
    )
    trip_ids |= set(Bag.objects.filter(pk__in=ids, trip__isnull=False).values_list("trip_id", flat=True))
    handover_ids = set(
        Handover.bags.through.objects.filter(bag_id__in=ids).values_list("handover_id", flat=True)
    )
    # A handover goes only when every bag in it goes (a mixed one keeps the other bags' record).
    kept = set(
        Handover.bags.through.objects.filter(handover_id__in=handover_ids)
        .exclude(bag_id__in=ids)
        .values_list("handover_id", flat=True)
    )
    handover_ids -= kept
    alarms = _deleted(WasteAlarm.objects.filter(bag_id__in=ids))
    records = _deleted(CustodyRecord.objects.filter(bag_id__in=ids))
    Handover.bags.through.objects.filter(bag_id__in=ids).delete()
    trip_ids |= set(
        Handover.objects.filter(pk__in=handover_ids, trip__isnull=False).values_list("trip_id", flat=True)
    )
    handovers = _deleted(Handover.objects.filter(pk__in=handover_ids))
    bags = _deleted(Bag.objects.filter(pk__in=ids))
    empty = (
        Trip.objects.filter(pk__in=trip_ids)
        .exclude(records__isnull=False)
        .exclude(handovers__isnull=False)
        .exclude(bags__isnull=False)
    )
    trips = _deleted(Trip.objects.filter(pk__in=list(empty.values_list("pk", flat=True))))
    return {"bags": bags, "records": records, "handovers": handovers, "alarms": alarms, "trips": trips}


def waste_records_purge_expired(*, now: dt.datetime | None = None) -> PurgeResult:
    """The daily job: everything incinerated before the retention's cut-off."""
    return waste_records_purge(actor=None, before=retention_cutoff(now), now=now)
