"""The command center's map: every layer as plain dicts, scoped to the actor's area.

Each count is one grouped query over its table (``GROUP BY org_code`` or by venue/point/site), never a query
per grid or per place, so the cost grows with the rows touched and not with the number of map objects.

Cases are only ever counts per grid: no case, contact or quarantined person is placed on the map, and no
person's location leaves the server. The counts are aggregates, so they are shown to every account with
``command.view`` inside its scope (a community officer sees how many cases each of their grids has, not who).

Layers of modules that are not built yet (none now) are empty lists and are named in ``unavailable``,
so that the page can say so instead of showing an empty layer as "nothing there". The medical-waste layer
(``medwaste.selectors.oversight.waste_points``) is counts per storage point and producer with party names,
so it follows the map's rule: every ``command.view`` holder sees it inside their scope.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from epigrid.checkins.models import CheckIn
from epigrid.checkins.selectors import max_stay
from epigrid.command.models import Alarm, AlarmStatus, Camera
from epigrid.core.errors import DomainError, Forbidden
from epigrid.core.models import OrgLevel, Person, User
from epigrid.core.roles import Perm, has_perm
from epigrid.core.scope import prefix_q, scoped
from epigrid.core.selectors import general_rule, orgunit_list, policy_param
from epigrid.grids.models import OPEN_STATES, Task
from epigrid.investigation.models import Case, Classification, Contact, ContactStatus, Outcome
from epigrid.medwaste.selectors.oversight import waste_points
from epigrid.places.models import VenueStatus, VenueType
from epigrid.places.selectors import venue_list
from epigrid.quarantine.models import OPEN_STATUSES, Placement
from epigrid.quarantine.selectors import site_occupancy
from epigrid.testing.models import SamplingPoint, Specimen, TestingRound, Tube, TubeStatus
from epigrid.vaccination.selectors import site_day_load

LAYERS = (
    "grids",
    "venues",
    "sampling_points",
    "quarantine_sites",
    "vaccination_sites",
    "waste_points",
    "cameras",
    "alarms",
)
NOT_BUILT: tuple[str, ...] = ()  # layers whose module does not exist yet
MEASURES = ("cases", "contacts", "quarantined", "untested", "tasks_open", "tasks_overdue")
ACTIVE_ALARM_STATUSES = (AlarmStatus.OPEN, AlarmStatus.ACKNOWLEDGED, AlarmStatus.ASSIGNED)
INFECTED = (Classification.CONFIRMED, Classification.ASYMPTOMATIC)
ACTIVE_CONTACT_STATUSES = (ContactStatus.IDENTIFIED, ContactStatus.NOTIFIED, ContactStatus.ACTIONED)
QUEUE_WINDOW = dt.timedelta(hours=1)  # a sampling point's queue: swabs taken in the last hour
MAX_ALARMS = 1000  # newest first; an outbreak's worth on one map


def require_command_view(actor: User) -> None:
    if not has_perm(actor, Perm.COMMAND_VIEW):
        raise Forbidden(_("Your role may not open the command center."))


def parse_layers(text: str | None) -> set[str] | None:
    """``"grids,venues"`` → {"grids", "venues"}; empty → None (every layer). Unknown names are a 400."""
    names = {part.strip() for part in (text or "").split(",") if part.strip()}
    unknown = names - set(LAYERS)
    if unknown:
        raise DomainError(
            _("Unknown map layer: %(names)s.") % {"names": ", ".join(sorted(unknown))}, field="layers"
        )
    return names or None


def map_layers(
    *,
    actor: User,
    layers: set[str] | None = None,
    measure: str = "cases",
    boundaries: bool = True,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """The requested layers (all when ``layers`` is None) in the actor's scope.

    ``measure`` picks which per-grid count is the grid's ``value`` (the colour); every measure is sent
    anyway, so the page can switch without asking again. ``boundaries=False`` leaves the grids' geometry
    out (a refresh of the numbers when the page has drawn the shapes already)."""
    require_command_view(actor)
    if measure not in MEASURES:
        raise DomainError(_("Unknown measure: %(name)s.") % {"name": measure}, field="measure")
    wanted = set(LAYERS) if layers is None else set(layers)
    unknown = wanted - set(LAYERS)
    if unknown:
        raise DomainError(
            _("Unknown map layer: %(names)s.") % {"names": ", ".join(sorted(unknown))}, field="layers"
        )
    now = now or timezone.now()
    out: dict[str, Any] = {
        "generated_at": now.isoformat(),
        "measure": measure,
        "measures": list(MEASURES),
        "unavailable": [name for name in NOT_BUILT if name in wanted],
    }
    readers = {
        "grids": lambda: grid_layer(actor=actor, measure=measure, boundaries=boundaries, now=now),
        "venues": lambda: venue_layer(actor=actor, now=now),
        "sampling_points": lambda: sampling_point_layer(actor=actor, now=now),
        "quarantine_sites": lambda: quarantine_site_layer(actor=actor),
        "vaccination_sites": lambda: vaccination_site_layer(actor=actor, now=now),
        "waste_points": lambda: waste_points(actor=actor, now=now),
        "cameras": lambda: camera_layer(actor=actor),
        "alarms": lambda: alarm_layer(actor=actor),
    }
    for name in LAYERS:
        if name in wanted:
            out[name] = readers[name]()
    return out


# --- grids ----------------------------------------------------------------------------------------------


def _grouped(qs, *, count: Any = None) -> dict[str, int]:
    """org_code → count, in one ``GROUP BY``."""
    return dict(qs.values("org_code").annotate(n=count or Count("pk")).values_list("org_code", "n"))


def _local_day(now: dt.datetime) -> tuple[dt.date, dt.datetime, dt.datetime]:
    today = timezone.localdate(now)
    start = timezone.make_aware(dt.datetime.combine(today, dt.time.min))
    return today, start, timezone.make_aware(dt.datetime.combine(today + dt.timedelta(days=1), dt.time.min))


def current_rounds(*, actor: User, now: dt.datetime | None = None) -> list[TestingRound]:
    """Today's testing rounds that concern the actor's area: rounds inside it, and rounds over a wider area
    that holds it (a district-wide round is the community officer's round too)."""
    code = actor.org_code or ""
    if not code:
        return []
    today, _start, _end = _local_day(now or timezone.now())
    return [
        r
        for r in TestingRound.objects.filter(day=today).order_by("org_code", "pk")
        if r.org_code.startswith(code) or code.startswith(r.org_code)
    ]


def _untested(actor: User, rounds: list[TestingRound], now: dt.datetime) -> dict[str, int] | None:
    """Residents per grid under today's rounds with no swab today, in one grouped query: people in the
    rounds' areas for whom no specimen of today exists (the (person, sampled_at) index answers each test
    without reading a row). None when no round runs today."""
    if not rounds:
        return None
    _today, start, end = _local_day(now)
    area = Q()
    for r in rounds:
        area |= prefix_q("org_code", r.org_code)
    swabbed_today = Specimen.objects.filter(person=OuterRef("pk"), sampled_at__gte=start, sampled_at__lt=end)
    return _grouped(scoped(Person.objects.filter(area).filter(~Exists(swabbed_today)), actor))


def grid_measures(
    *, actor: User, now: dt.datetime | None = None, rounds: list[TestingRound] | None = None
) -> dict[str, dict[str, int] | None]:
    """Every measure per grid code, one grouped query each (``untested`` is None when no testing round runs
    today; ``rounds`` are today's, read here when not given)."""
    now = now or timezone.now()
    if rounds is None:
        rounds = current_rounds(actor=actor, now=now)
    incubation = int(
        policy_param(
            disease_code=str(general_rule("default_disease", "covid19")),
            name="incubation_days_max",
            default=14,
        )
    )
    cases = _grouped(
        scoped(
            Case.objects.filter(
                merged_into__isnull=True, classification__in=INFECTED, outcome=Outcome.UNDER_TREATMENT
            ),
            actor,
        )
    )
    contacts = _grouped(
        scoped(
            Contact.objects.filter(
                status__in=ACTIVE_CONTACT_STATUSES,
                linked_case__isnull=True,
                last_exposure_at__gte=now - dt.timedelta(days=incubation),
            ),
            actor,
        ),
        count=Count("person", distinct=True),
    )
    quarantined = _grouped(scoped(Placement.objects.filter(status__in=OPEN_STATUSES), actor))
    # Tasks by the units in scope and open state: the (org_code, state, due_at) index seeks the open ones
    # of each unit instead of reading every task the area ever had.
    codes = list(orgunit_list(actor=actor).values_list("code", flat=True))
    tasks: dict[str, tuple[int, int]] = {
        code: (n, late)
        for code, n, late in scoped(Task.objects.filter(org_code__in=codes, state__in=OPEN_STATES), actor)
        .values("org_code")
        .annotate(n=Count("pk"), late=Count("pk", filter=Q(due_at__lt=now)))
        .values_list("org_code", "n", "late")
    }
    return {
        "cases": cases,
        "contacts": contacts,
        "quarantined": quarantined,
        "untested": _untested(actor, rounds, now),
        "tasks_open": {code: n for code, (n, _late) in tasks.items()},
        "tasks_overdue": {code: late for code, (_n, late) in tasks.items() if late},
    }


def grid_layer(
    *, actor: User, measure: str = "cases", boundaries: bool = True, now: dt.datetime | None = None
) -> dict[str, Any]:
    """The grids in scope as a GeoJSON FeatureCollection; each feature's properties hold every measure, the
    chosen one as ``value``, and the grid's community (for "select by community"). ``max`` per measure
    sets the legend; ``rounds`` names today's testing rounds (``untested`` is null outside them)."""
    now = now or timezone.now()
    fields = ["pk", "code", "name", "centroid_lat", "centroid_lng", "parent__code", "parent__name"]
    if boundaries:
        fields.append("boundary")
    grids = list(orgunit_list(actor=actor, level=OrgLevel.GRID).values(*fields))
    rounds = current_rounds(actor=actor, now=now)
    measures = grid_measures(actor=actor, now=now, rounds=rounds)
    round_codes = [r.org_code for r in rounds]
    features = []
    maxima = dict.fromkeys(MEASURES, 0)
    for g in grids:
        code = g["code"]
        props: dict[str, Any] = {
            "id": g["pk"],
            "code": code,
            "name": g["name"],
            "community_code": g["parent__code"],
            "community_name": g["parent__name"],
            "centroid": [g["centroid_lat"], g["centroid_lng"]] if g["centroid_lat"] is not None else None,
        }
        for name in MEASURES:
            counts = measures[name]
            if name == "untested" and (counts is None or not any(code.startswith(c) for c in round_codes)):
                props[name] = None
                continue
            props[name] = counts.get(code, 0)
            maxima[name] = max(maxima[name], props[name])
        props["value"] = props[measure]
        features.append({"type": "Feature", "geometry": g.get("boundary"), "properties": props})
    return {
        "type": "FeatureCollection",
        "features": features,
        "max": maxima,
        "rounds": [{"id": r.pk, "name": r.name, "org_code": r.org_code} for r in rounds],
    }


# --- places ---------------------------------------------------------------------------------------------


def venue_layer(*, actor: User, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Approved venues in scope with the people present now: one grouped count over the check-ins of the last
    ``max_stay`` (the rule of ``checkins.selectors.occupancy``: scanned within the longest stay and not yet
    left), the venues read as plain values (the occupancy page's model rows, each with its grid and the grid's
    boundary, cost the map more than the count itself at 2,000 venues)."""
    at = now or timezone.now()
    venues = venue_list(actor=actor, status=VenueStatus.APPROVED)
    present = dict(
        CheckIn.objects.filter(
            venue__in=venues.values("pk"),
            scanned_at__gte=at - max_stay(),
            scanned_at__lte=at,
            leave_at__gt=at,
        )
        .values("venue")
        .annotate(n=Count("pk"))
        .values_list("venue", "n")
    )
    labels = {value: str(label) for value, label in VenueType.choices}  # once, not a lookup per venue
    out = []
    for v in venues.values("pk", "name", "type", "lat", "lng", "is_key_place", "capacity"):
        n = present.get(v["pk"], 0)
        out.append(
            {
                "id": v["pk"],
                "name": v["name"],
                "type": v["type"],
                "type_label": labels.get(v["type"], v["type"]),
                "lat": round(v["lat"], 6),
                "lng": round(v["lng"], 6),
                "key_place": v["is_key_place"],
                "capacity": v["capacity"],
                "present": n,
                "over_capacity": bool(v["capacity"] and n > v["capacity"]),
            }
        )
    return out


def sampling_point_layer(*, actor: User, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Active sampling points in scope with their queue: swabs taken there in the last hour (one grouped
    query over the last hour's specimens) and tubes open now (one grouped query)."""
    now = now or timezone.now()
    points = list(
        scoped(SamplingPoint.objects.filter(active=True, lat__isnull=False, lng__isnull=False), actor).values(
            "pk", "name", "kind", "address", "lat", "lng", "opening_hours", "org_code"
        )
    )
    ids = {p["pk"] for p in points}
    # Driven by the time range (the last hour is a sliver of the table), then kept to the points in scope.
    queue = {
        point_id: n
        for point_id, n in Specimen.objects.filter(sampled_at__gte=now - QUEUE_WINDOW, sampled_at__lte=now)
        .values("tube__sampling_point")
        .annotate(n=Count("pk"))
        .values_list("tube__sampling_point", "n")
        if point_id in ids
    }
    open_tubes = {
        point_id: n
        for point_id, n in Tube.objects.filter(status=TubeStatus.OPEN, sampling_point__isnull=False)
        .values("sampling_point")
        .annotate(n=Count("pk"))
        .values_list("sampling_point", "n")
        if point_id in ids
    }
    return [
        {
            "id": p["pk"],
            "name": p["name"],
            "kind": p["kind"],
            "address": p["address"],
            "lat": p["lat"],
            "lng": p["lng"],
            "opening_hours": p["opening_hours"],
            "org_code": p["org_code"],
            "queue": queue.get(p["pk"], 0),
            "open_tubes": open_tubes.get(p["pk"], 0),
        }
        for p in points
    ]


def quarantine_site_layer(*, actor: User) -> list[dict[str, Any]]:
    """Centralised quarantine sites in scope with free rooms (quarantine's grouped occupancy); a site
    without coordinates stands at its grid's centre."""
    rows = site_occupancy(actor=actor)
    grid_ids = {row.site.grid_id for row in rows if row.site.lat is None and row.site.grid_id}
    centres = {
        pk: (lat, lng)
        for pk, lat, lng in orgunit_list(actor=actor)
        .filter(pk__in=grid_ids)
        .values_list("pk", "centroid_lat", "centroid_lng")
    }
    out = []
    for row in rows:
        site = row.site
        lat, lng = (site.lat, site.lng) if site.lat is not None else centres.get(site.grid_id, (None, None))
        if lat is None or lng is None:
            continue
        out.append(
            {
                "id": site.pk,
                "name": site.name,
                "address": site.address,
                "lat": lat,
                "lng": lng,
                "active": site.active,
                "rooms": row.rooms,
                "beds": row.beds,
                "free": row.free,
                "occupied": row.occupied,
                "cleaning": row.cleaning,
                "people": row.people,
                "org_code": site.org_code,
            }
        )
    return out


def vaccination_site_layer(*, actor: User, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Open vaccination sites in scope with today's load (vaccination's ``site_day_load``: places in today's
    open slots, places booked, doses given there today); a site without coordinates stands at its grid's
    centre, like a quarantine site."""
    rows = site_day_load(actor=actor, day=timezone.localdate(now or timezone.now()))
    placeless = {row["org_code"] for row in rows if row["lat"] is None or row["lng"] is None}
    centres = {
        code: (lat, lng)
        for code, lat, lng in orgunit_list(actor=actor)
        .filter(code__in=placeless)
        .values_list("code", "centroid_lat", "centroid_lng")
    }
    out = []
    for row in rows:
        lat, lng = row["lat"], row["lng"]
        if lat is None or lng is None:
            lat, lng = centres.get(row["org_code"], (None, None))
        if lat is None or lng is None:
            continue
        out.append({**row, "lat": lat, "lng": lng})
    return out


def camera_layer(*, actor: User) -> list[dict[str, Any]]:
    """Active cameras in scope; the picture is on the camera's own page (``watch_url``)."""
    return [
        {
            "id": c["pk"],
            "name": c["name"],
            "place": c["place"],
            "lat": c["lat"],
            "lng": c["lng"],
            "kind": c["kind"],
            "org_code": c["org_code"],
            "watch_url": f"/command/cameras/{c['pk']}/",
        }
        for c in scoped(Camera.objects.filter(is_active=True), actor).values(
            "pk", "name", "place", "lat", "lng", "kind", "org_code"
        )
    ]


def alarm_layer(*, actor: User) -> list[dict[str, Any]]:
    """Alarms not yet closed in scope, newest first. Alarms about people stand at their grid's centre
    (``command.alarmtypes`` places them), so no one's address reaches the map."""
    return [
        {
            "id": a["pk"],
            "kind": a["kind"],
            "severity": a["severity"],
            "status": a["status"],
            "lat": a["lat"],
            "lng": a["lng"],
            "org_code": a["org_code"],
            "raised_at": a["raised_at"].isoformat(),
        }
        for a in scoped(Alarm.objects.filter(status__in=ACTIVE_ALARM_STATUSES), actor)
        .order_by("-raised_at", "-pk")
        .values("pk", "kind", "severity", "status", "lat", "lng", "org_code", "raised_at")[:MAX_ALARMS]
    ]
