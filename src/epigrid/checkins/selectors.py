"""Reads of check-ins, occupancy, kiosks and visits — scoped."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from epigrid.checkins.models import CheckIn, Kiosk, VisitorRegistration
from epigrid.core.models import User
from epigrid.core.roles import Perm, has_perm
from epigrid.core.scope import scoped
from epigrid.core.selectors import general_rule
from epigrid.places.models import Venue, VenueStatus
from epigrid.places.selectors import venue_list


def max_stay() -> dt.timedelta:
    """The longest default stay of any venue type: no one is assumed present longer after a scan."""
    stays = general_rule("venue_default_stay_minutes", {}) or {}
    return dt.timedelta(minutes=max([60, *(int(v) for v in stays.values())]))


def _present_q(at: dt.datetime) -> Q:
    # The lower bound on scanned_at keeps the (venue, scanned_at) index range tight.
    return Q(scanned_at__gte=at - max_stay(), scanned_at__lte=at, leave_at__gt=at)


def venue_present_count(*, venue: Venue, at: dt.datetime | None = None) -> int:
    return CheckIn.objects.filter(_present_q(at or timezone.now()), venue=venue).count()


def occupancy(*, actor: User, key_places_only: bool = False, at: dt.datetime | None = None) -> list[dict]:
    """Approved venues in scope with the number of people present now, fullest first."""
    at = at or timezone.now()
    venues = venue_list(actor=actor, status=VenueStatus.APPROVED, key_places_only=key_places_only)
    counts = dict(
        CheckIn.objects.filter(_present_q(at), venue__in=venues)
        .values("venue")
        .annotate(n=Count("id"))
        .values_list("venue", "n")
    )
    rows = [
        {
            "venue": venue,
            "present": counts.get(venue.pk, 0),
            "over_capacity": bool(venue.capacity and counts.get(venue.pk, 0) > venue.capacity),
        }
        for venue in venues
    ]
    rows.sort(key=lambda row: (-row["present"], row["venue"].name))
    return rows


def checkin_list(
    *,
    actor: User,
    venue: Venue | None = None,
    person_id: int | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> QuerySet[CheckIn]:
    """Check-ins the actor may see: staff with checkin.view in their area, residents their own."""
    qs = CheckIn.objects.select_related("venue", "person")
    if getattr(actor, "person_id", None) is None and not has_perm(actor, Perm.CHECKIN_VIEW):
        return qs.none()
    qs = scoped(qs, actor)
    if venue is not None:
        qs = qs.filter(venue=venue)
    if person_id is not None:
        qs = qs.filter(person_id=person_id)
    if since is not None:
        qs = qs.filter(scanned_at__gte=since)
    if until is not None:
        qs = qs.filter(scanned_at__lt=until)
    return qs.order_by("-scanned_at", "-pk")


def checkin_get(*, actor: User, pk: int) -> CheckIn:
    checkin = checkin_list(actor=actor).filter(pk=pk).first()
    if checkin is None:
        raise Http404
    return checkin


def kiosk_list(*, actor: User, venue: Venue) -> QuerySet[Kiosk]:
    if venue.operator_id == actor.pk:
        return Kiosk.objects.filter(venue=venue)
    return scoped(Kiosk.objects.filter(venue=venue), actor)


def visit_list(*, actor: User, venue: Venue | None = None) -> QuerySet[VisitorRegistration]:
    """Visits of the venues the actor operates, or in the staff actor's area."""
    operated = VisitorRegistration.objects.filter(venue__operator=actor)
    qs = (
        operated | scoped(VisitorRegistration.objects.all(), actor)
        if has_perm(actor, Perm.CHECKIN_VIEW)
        else operated
    )
    if venue is not None:
        qs = qs.filter(venue=venue)
    return qs.select_related("venue", "visitor").order_by("-created_at")


def visit_get(*, actor: User, pk: int) -> VisitorRegistration:
    visit = visit_list(actor=actor).filter(pk=pk).first()
    if visit is None:
        raise Http404
    return visit


def visit_by_invite(*, token: str) -> VisitorRegistration:
    """The invitation link is the visitor's only credential; an unknown token is simply not found."""
    visit = VisitorRegistration.objects.select_related("venue").filter(invite_token=token).first()
    if visit is None:
        raise Http404
    return visit


def people_by_ids(ids: list[int]) -> list:
    """The people remembered on one phone (its signed cookie is the credential), in the cookie's order."""
    from epigrid.core.models import Person

    found = {p.pk: p for p in Person.objects.filter(pk__in=ids)}
    return [found[i] for i in ids if i in found]


def checkins_by_ids(ids: list[int]) -> list[CheckIn]:
    """Check-ins named by a signed result link, in its order."""
    found = {c.pk: c for c in CheckIn.objects.select_related("venue", "person").filter(pk__in=ids)}
    return [found[i] for i in ids if i in found]
