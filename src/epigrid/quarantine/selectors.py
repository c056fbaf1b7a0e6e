"""Reads of quarantine, scoped by the person's area (their grid works home quarantine) — district staff see
every site. The line lists are filters on the monitoring columns the services keep current."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet, Sum
from django.http import Http404
from django.utils import timezone

from epigrid.core.models import User
from epigrid.core.roles import Perm, has_perm
from epigrid.core.scope import scoped
from epigrid.core.selectors import general_rule
from epigrid.quarantine.models import (
    OPEN_STATUSES,
    HealthReport,
    Placement,
    PlacementStatus,
    Room,
    RoomStatus,
    Site,
    SiteKind,
)

LINE_LISTS = ("symptomatic", "non_reporting", "test_due", "test_overdue", "release_due", "released", "all")


def _placements(actor: User) -> QuerySet[Placement]:
    if not has_perm(actor, Perm.QUARANTINE_VIEW):
        return Placement.objects.none()
    return scoped(Placement.objects.all(), actor)


def placement_get(*, actor: User, pk: int) -> Placement:
    placement = _placements(actor).select_related("person", "site", "room").filter(pk=pk).first()
    if placement is None:
        raise Http404
    return placement


def line_list(
    *, actor: User, name: str, now: dt.datetime | None = None, site_id: int | None = None
) -> QuerySet[Placement]:
    """The monitoring lists: symptomatic, non-reporting (no report for longer than the general rule
    ``quarantine_nonreport_hours``, 24), due for a test today, tests overdue, due for release, released."""
    if name not in LINE_LISTS:
        raise Http404
    now = now or timezone.now()
    today = timezone.localdate(now)
    qs = _placements(actor).select_related("person", "site", "room")
    if site_id:
        qs = qs.filter(site_id=site_id)
    open_qs = qs.filter(status__in=OPEN_STATUSES)
    if name == "symptomatic":
        return open_qs.filter(symptomatic_since__isnull=False).order_by("symptomatic_since")
    if name == "non_reporting":
        hours = float(general_rule("quarantine_nonreport_hours", 24))
        since = now - dt.timedelta(hours=hours)
        silent = Q(last_report_at__lt=since) | Q(last_report_at__isnull=True, start__lt=since)
        return open_qs.filter(silent).order_by("last_report_at", "start")
    if name == "test_due":
        return open_qs.filter(next_test_due=today).order_by("site_id", "pk")
    if name == "test_overdue":
        return open_qs.filter(next_test_due__lt=today).order_by("next_test_due", "pk")
    if name == "release_due":
        return open_qs.filter(end__lte=now).order_by("end", "pk")
    if name == "released":
        return qs.filter(status=PlacementStatus.RELEASED).order_by("-released_at")
    return qs.order_by("-start", "-pk")


def line_list_counts(*, actor: User, now: dt.datetime | None = None) -> dict[str, int]:
    """Every list's count in one aggregate query (the same filters as :func:`line_list`)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    since = now - dt.timedelta(hours=float(general_rule("quarantine_nonreport_hours", 24)))
    is_open = Q(status__in=OPEN_STATUSES)
    counts = _placements(actor).aggregate(
        symptomatic=Count("pk", filter=is_open & Q(symptomatic_since__isnull=False)),
        non_reporting=Count(
            "pk",
            filter=is_open & (Q(last_report_at__lt=since) | Q(last_report_at__isnull=True, start__lt=since)),
        ),
        test_due=Count("pk", filter=is_open & Q(next_test_due=today)),
        test_overdue=Count("pk", filter=is_open & Q(next_test_due__lt=today)),
        release_due=Count("pk", filter=is_open & Q(end__lte=now)),
        released=Count("pk", filter=Q(status=PlacementStatus.RELEASED)),
        all=Count("pk"),
    )
    return {name: counts[name] or 0 for name in LINE_LISTS}


def free_rooms(*, actor: User, site: Site | None = None) -> QuerySet[Room]:
    """Free rooms of centralised sites in scope (where a transfer may go)."""
    sites = site_list(actor=actor)
    if site is not None:
        sites = sites.filter(pk=site.pk)
    return (
        Room.objects.filter(site__in=sites, site__active=True, status=RoomStatus.FREE)
        .select_related("site")
        .order_by("site__name", "floor", "number")
    )


def site_list(*, actor: User, kind: str = SiteKind.CENTRALISED) -> QuerySet[Site]:
    """Sites in scope; ``kind=""`` for centralised and home ones alike."""
    if not has_perm(actor, Perm.QUARANTINE_VIEW):
        return Site.objects.none()
    qs = Site.objects.filter(kind=kind) if kind else Site.objects.all()
    return scoped(qs, actor).order_by("name")


def site_get(*, actor: User, pk: int) -> Site:
    site = site_list(actor=actor, kind="").filter(pk=pk).first()
    if site is None:
        raise Http404
    return site


def room_get(*, actor: User, pk: int) -> Room:
    room = Room.objects.select_related("site").filter(pk=pk).first()
    if room is None or not site_list(actor=actor, kind="").filter(pk=room.site_id).exists():
        raise Http404
    return room


@dataclass(frozen=True)
class Occupancy:
    site: Site
    rooms: int
    beds: int
    free: int
    occupied: int
    cleaning: int
    out_of_service: int
    people: int


def site_occupancy(*, actor: User) -> list[Occupancy]:
    """Rooms by status and people in each centralised site."""
    sites = list(site_list(actor=actor))
    by_status = {
        (site_id, status): n
        for site_id, status, n in Room.objects.filter(site__in=sites)
        .values("site_id", "status")
        .annotate(n=Count("pk"))
        .values_list("site_id", "status", "n")
    }
    sizes = {
        site_id: (rooms, beds)
        for site_id, rooms, beds in Room.objects.filter(site__in=sites)
        .values("site_id")
        .annotate(rooms=Count("pk"), beds=Sum("beds"))
        .values_list("site_id", "rooms", "beds")
    }
    people = dict(
        Placement.objects.filter(site__in=sites, status__in=OPEN_STATUSES)
        .values("site_id")
        .annotate(n=Count("pk"))
        .values_list("site_id", "n")
    )

    def n(site: Site, status: str) -> int:
        return by_status.get((site.pk, status), 0)

    return [
        Occupancy(
            site,
            sizes.get(site.pk, (0, 0))[0],
            sizes.get(site.pk, (0, 0))[1] or 0,
            n(site, RoomStatus.FREE),
            n(site, RoomStatus.OCCUPIED),
            n(site, RoomStatus.CLEANING),
            n(site, RoomStatus.OUT_OF_SERVICE),
            people.get(site.pk, 0),
        )
        for site in sites
    ]


def status_counts(*, actor: User) -> dict[str, int]:
    counts = dict(_placements(actor).values("status").annotate(n=Count("pk")).values_list("status", "n"))
    return {status: counts.get(status, 0) for status in PlacementStatus.values}


def reports_today(*, actor: User, now: dt.datetime | None = None) -> int:
    now = now or timezone.now()
    start = timezone.make_aware(dt.datetime.combine(timezone.localdate(now), dt.time.min))
    return scoped(HealthReport.objects.filter(reported_at__gte=start, reported_at__lte=now), actor).count()


def release_forecast(
    *, actor: User, days: int = 7, now: dt.datetime | None = None
) -> list[tuple[dt.date, int]]:
    """How many open quarantines end on each of the next ``days`` days (local)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    counts = {today + dt.timedelta(days=i): 0 for i in range(days)}
    for end in _placements(actor).filter(status__in=OPEN_STATUSES).values_list("end", flat=True):
        day = timezone.localtime(end).date()
        if day in counts:
            counts[day] += 1
    return sorted(counts.items())
