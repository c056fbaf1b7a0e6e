"""Which domain events are alarms, how severe, what they are called and where they go on the map.

One entry per event type. ``place`` turns the event into where the alarm sits (coordinates, org code), what
it is about (its ``subject``, for folding repeats) and a link to the record; people are placed at their
grid's centre, never at their address. Titles are translated when shown, from ``params``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from epigrid.command.models import Severity
from epigrid.core.models import Event, OrgUnit, Person


@dataclass(frozen=True)
class Place:
    org_code: str
    lat: float | None = None
    lng: float | None = None
    url: str = ""
    subject: str = ""
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AlarmType:
    severity: str
    title: Promise  # %-format with the alarm's params
    place: Callable[[Event], Place]
    fold: bool = False  # repeats about the same subject count on the active alarm
    when: Callable[[Event], bool] | None = None  # only some events of the type are alarms


def _unit_of(code: str) -> OrgUnit | None:
    # The narrowest unit whose code the event's org code starts with (grid, community, street, district).
    codes = [code[:n] for n in (15, 12, 9, 6) if len(code) >= n]
    units = {u.code: u for u in OrgUnit.objects.filter(code__in=codes)}
    return next((units[c] for c in codes if c in units), None)


def _at_unit(code: str, **extra: Any) -> Place:
    unit = _unit_of(code) if code else None
    params = {"area": unit.name if unit else "", **extra.pop("params", {})}
    if unit is None:
        return Place(org_code=code, params=params, **extra)
    return Place(org_code=code, lat=unit.centroid_lat, lng=unit.centroid_lng, params=params, **extra)


def _person(event: Event, *, url: str = "", subject: str = "", **params: Any) -> Place:
    """At the person's grid centre; the title names the grid, not the person."""
    person = Person.objects.filter(pk=event.payload.get("person_id")).only("org_code").first()
    code = person.org_code if person is not None else event.org_code
    return _at_unit(code, url=url, subject=subject, params=params)


def _specimen_positive(event: Event) -> Place:
    return _person(event, subject=f"person:{event.payload.get('person_id')}")


def _case_confirmed(event: Event) -> Place:
    # Same subject as the positive result that usually opened the case: one alarm per person, which then
    # links to the case.
    case_id = event.payload.get("case_id")
    url = reverse("investigation:case_detail", args=[case_id]) if case_id else ""
    return _person(event, url=url, subject=f"person:{event.payload.get('person_id')}")


def _placement(event: Event) -> Place:
    from epigrid.quarantine.models import Placement

    placement = Placement.objects.select_related("site").filter(pk=event.payload.get("placement_id")).first()
    url = reverse("quarantine:placement_detail", args=[placement.pk]) if placement else ""
    kind = str(event.payload.get("kind", ""))
    subject = f"placement:{event.payload.get('placement_id')}:{kind}"
    site = getattr(placement, "site", None)
    if site is not None and site.lat is not None and site.household_id is None:
        params = {"area": site.name, "kind": kind}
        return Place(
            org_code=event.org_code, lat=site.lat, lng=site.lng, url=url, subject=subject, params=params
        )
    return _at_unit(event.org_code, url=url, subject=subject, params={"kind": kind})


def _venue(event: Event) -> Place:
    from epigrid.places.models import Venue

    venue = Venue.objects.filter(pk=event.payload.get("venue_id")).only("lat", "lng", "name").first()
    if venue is None:
        return _at_unit(event.org_code)
    params = {
        "venue": venue.name,
        "present": event.payload.get("present"),
        "capacity": event.payload.get("capacity"),
    }
    return Place(
        org_code=event.org_code,
        lat=venue.lat,
        lng=venue.lng,
        url=reverse("places:venue_detail", args=[venue.pk]),
        subject=f"venue:{venue.pk}:{event.type}",
        params=params,
    )


def _emergency(event: Event) -> Place:
    payload = event.payload
    params = {"place": payload.get("place", "")}
    url = reverse("grids:emergencies")
    if payload.get("lat") is not None and payload.get("lng") is not None:
        return Place(org_code=event.org_code, lat=payload["lat"], lng=payload["lng"], url=url, params=params)
    return _at_unit(event.org_code, url=url, params=params)


def _escalated(event: Event) -> Place:
    # Level 2 goes to the community (code[:12]); one alarm per community while it lasts, counting tasks.
    return _at_unit(event.org_code, url=reverse("grids:board"), subject=f"overdue:{event.org_code}")


def _box(event: Event) -> Place:
    payload = event.payload
    return _at_unit(
        event.org_code,
        subject=f"box:{payload.get('box')}",
        params={"box": payload.get("box", ""), "missing": len(payload.get("missing") or [])},
    )


def _waste(event: Event) -> Place:
    # At the party where the waste is (its coordinates, its place's, or its area's centre), named by the
    # party; one alarm per waste alarm, linking to it.
    from epigrid.medwaste.models import Party

    payload = event.payload
    alarm_id = payload.get("alarm_id")
    party = Party.objects.filter(pk=payload.get("party_id")).only("name").first()
    extra = {
        "url": reverse("medwaste:alarm_detail", args=[alarm_id]) if alarm_id else "",
        "subject": f"waste:{alarm_id}",
    }
    params = {"place": party.name} if party is not None else {}
    if payload.get("lat") is not None and payload.get("lng") is not None:
        return Place(org_code=event.org_code, lat=payload["lat"], lng=payload["lng"], params=params, **extra)
    place = _at_unit(event.org_code, **extra)
    return replace(place, params={"place": place.params.get("area", ""), **params})


def _district(event: Event) -> Place:
    return Place(org_code=event.org_code, url=reverse("core:audit_list"), subject=event.type)


ALARM_TYPES: dict[str, AlarmType] = {
    "specimen.positive": AlarmType(
        Severity.CRITICAL, _("Positive test result in %(area)s"), _specimen_positive, fold=True
    ),
    "case.confirmed": AlarmType(
        Severity.CRITICAL, _("Case confirmed in %(area)s"), _case_confirmed, fold=True
    ),
    "quarantine.alarm": AlarmType(
        Severity.WARNING, _("Quarantine alarm (%(kind)s) in %(area)s"), _placement, fold=True
    ),
    "quarantine.symptomatic": AlarmType(
        Severity.CRITICAL, _("Symptoms in quarantine in %(area)s"), _placement, fold=True
    ),
    "venue.over_capacity": AlarmType(
        Severity.WARNING, _("%(venue)s is over capacity (%(present)s/%(capacity)s)"), _venue, fold=True
    ),
    "checkin.key_place_alert": AlarmType(
        Severity.WARNING, _("Red or yellow code checked in at key place %(venue)s"), _venue, fold=True
    ),
    "emergency.reported": AlarmType(Severity.CRITICAL, _("Emergency reported: %(place)s"), _emergency),
    # Level 1 goes to the grid leader; level 2 (still overdue, sent up to the community) is an alarm.
    "task.escalated": AlarmType(
        Severity.WARNING,
        _("Overdue grid tasks in %(area)s"),
        _escalated,
        fold=True,
        when=lambda event: int(event.payload.get("level", 0)) >= 2,
    ),
    "box.discrepancy": AlarmType(
        Severity.WARNING, _("Box %(box)s arrived with missing or extra tubes"), _box, fold=True
    ),
    "waste.alarm": AlarmType(Severity.WARNING, _("Medical-waste alarm at %(place)s"), _waste, fold=True),
    # Only serious adverse events after immunization (severe, hospitalised, died) are alarms.
    "vaccination.aefi": AlarmType(
        Severity.WARNING,
        _("Serious adverse event after vaccination in %(area)s"),
        lambda event: _person(event, subject=f"aefi:{event.payload.get('aefi_id')}"),
        when=lambda event: bool(event.payload.get("serious")),
    ),
    "audit.chain_broken": AlarmType(
        Severity.CRITICAL, _("The audit log's chain is broken"), _district, fold=True
    ),
}


def alarm_type(kind: str) -> AlarmType | None:
    return ALARM_TYPES.get(kind)


def title_of(kind: str, params: dict[str, Any]) -> str:
    entry = ALARM_TYPES.get(kind)
    if entry is None:
        return kind
    try:
        return str(entry.title) % _Defaulting(params)
    except (TypeError, ValueError):
        return str(entry.title)


class _Defaulting(dict):
    # A title whose parameter went missing still reads: the gap shows as "—".
    def __missing__(self, key: str) -> str:
        return "—"
