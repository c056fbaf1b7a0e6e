"""Writes of quarantine: sites and rooms, placement (alone or thousands at once), transfer, home phase,
reports, seals, visits, scheduled tests, release and de-identification.

Rooms are taken with a compare-and-set ``UPDATE ... WHERE status = 'free'``: two placements racing for one
room cannot both succeed on either database, without holding row locks while the allocation is planned. A
batch plans in memory, takes its rooms in as many statements as it has households, and if any room went to
someone else meanwhile the batch rolls back and plans again from fresh state.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import Count, Min
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext, pgettext_lazy

from epigrid.core import events, notices
from epigrid.core.audit import audit_record
from epigrid.core.errors import Conflict, DomainError, Forbidden
from epigrid.core.images import photo_jpeg
from epigrid.core.models import Household, OrgUnit, Person, User
from epigrid.core.roles import Perm, has_perm
from epigrid.core.selectors import district_code, general_rule, policy_param
from epigrid.quarantine import plans
from epigrid.quarantine.models import (
    OPEN_STATUSES,
    DoorSeal,
    HealthReport,
    Placement,
    PlacementStatus,
    ReportSource,
    Room,
    RoomStatus,
    ScheduledTest,
    Site,
    SiteKind,
    TestStatus,
    Visit,
    VisitResult,
)

SYMPTOMS = ("fever", "cough", "sore_throat", "fatigue", "loss_of_taste_smell", "diarrhoea", "short_breath")
TOKEN_SALT = "epigrid.quarantine.report"


def _require(actor: User | None, perm: str) -> None:
    if actor is not None and not has_perm(actor, perm):
        raise Forbidden(_("Your role may not do this."))


def _actor(actor: User | None) -> User | None:
    return actor if actor is not None and actor.pk else None


# --- sites and rooms -----------------------------------------------------------------------------------


def site_create(
    *,
    actor: User | None,
    name: str,
    grid: OrgUnit | None = None,
    address: str = "",
    lat: float | None = None,
    lng: float | None = None,
    phone: str = "",
    rooms: list[tuple[str, int, int]] | None = None,
) -> Site:
    """A centralised site (a hotel) with its rooms as (number, floor, beds)."""
    _require(actor, Perm.QUARANTINE_MANAGE)
    name = (name or "").strip()
    if not name:
        raise DomainError(_("Name the site."), field="name")
    with transaction.atomic():
        site = Site.objects.create(
            name=name[:120],
            kind=SiteKind.CENTRALISED,
            grid=grid,
            org_code=grid.code if grid else district_code(),
            address=address,
            lat=lat,
            lng=lng,
            phone=phone,
        )
        if rooms:
            rooms_add(actor=actor, site=site, rooms=rooms)
        audit_record(
            actor=actor, action="quarantine.site_create", obj=site, detail={"rooms": len(rooms or [])}
        )
    return site


def rooms_add(*, actor: User | None, site: Site, rooms: list[tuple[str, int, int]]) -> int:
    _require(actor, Perm.QUARANTINE_MANAGE)
    seen: set[str] = set()
    made = []
    for number, floor, beds in rooms:
        number = str(number).strip()
        if not number or number in seen:
            raise DomainError(_("Room numbers must be given and unique: %(n)s") % {"n": number or "-"})
        if not 1 <= int(beds) <= 8:
            raise DomainError(_("A room has 1 to 8 beds."), field="beds")
        seen.add(number)
        made.append(Room(site=site, org_code=site.org_code, number=number, floor=int(floor), beds=int(beds)))
    try:
        with transaction.atomic():
            Room.objects.bulk_create(made)
    except IntegrityError:
        raise Conflict(_("A room with one of these numbers exists at this site already.")) from None
    return len(made)


def room_set_status(*, actor: User | None, room: Room, status: str) -> Room:
    """Staff mark a room cleaned (free) or out of service. An occupied room changes only by placements."""
    _require(actor, Perm.QUARANTINE_MANAGE)
    if status not in (RoomStatus.FREE, RoomStatus.CLEANING, RoomStatus.OUT_OF_SERVICE):
        raise DomainError(_("Unknown room status."), field="status")
    with transaction.atomic():
        changed = (
            Room.objects.filter(pk=room.pk)
            .exclude(status=RoomStatus.OCCUPIED)
            .update(status=status, held_by="", updated_at=timezone.now())
        )
        if not changed:
            raise Conflict(_("The room is occupied; move or release its guests first."))
        audit_record(actor=actor, action="quarantine.room_status", obj=room, detail={"status": status})
    room.refresh_from_db()
    return room


def _home_sites(people: list[Person]) -> dict[int, tuple[Site, Room]]:
    """Each person's home-quarantine "site" (one per household, with its one room), made where missing:
    a few queries for the whole batch, not a few per person."""
    if not people:
        return {}
    household_ids = {p.household_id for p in people if p.household_id}
    sites = {
        site.household_id: site
        for site in Site.objects.filter(household_id__in=household_ids).prefetch_related("rooms")
    }
    homes = Household.objects.in_bulk(household_ids - set(sites))
    new_sites: dict[str, Site] = {}  # by household key: persons without a household get a site of their own
    for person in people:
        key = _household_key(person)
        if (person.household_id in sites) or key in new_sites:
            continue
        household = homes.get(person.household_id)
        address = (household.address if household else person.address) or ""
        new_sites[key] = Site(
            name=address[:110] or pgettext("quarantine site", "Home"),
            kind=SiteKind.HOME,
            household=household,
            grid_id=person.grid_id,
            org_code=person.org_code,
            address=address[:200],
            lat=person.lat,
            lng=person.lng,
        )
    Site.objects.bulk_create(list(new_sites.values()), batch_size=500)
    rooms = Room.objects.bulk_create(
        [Room(site=site, org_code=site.org_code, number="1", beds=8) for site in new_sites.values()],
        batch_size=500,
    )
    room_of = {room.site_id: room for room in rooms}
    out: dict[int, tuple[Site, Room]] = {}
    for person in people:
        site = sites.get(person.household_id) or new_sites[_household_key(person)]
        room = room_of.get(site.pk) or site.rooms.all()[0]
        out[person.pk] = (site, room)
    return out


# --- placement -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlacementRequest:
    person_id: int
    tier: str = "close"  # close | secondary | other
    case_id: int | None = None


@dataclass
class PlacementResult:
    placed: list[Placement] = field(default_factory=list)
    already: list[int] = field(default_factory=list)  # person ids already in quarantine
    no_room: list[int] = field(default_factory=list)  # not placed: no free room for them
    errors: list[tuple[int, str]] = field(default_factory=list)  # (person id, message)


def _household_key(person: Person) -> str:
    return f"h{person.household_id}" if person.household_id else f"p{person.pk}"


def _plan_rooms(
    groups: dict[str, list[Person]], free: list[Room]
) -> tuple[dict[str, list[tuple[Room, list[Person]]]], list[Person]]:
    """Give each household rooms of one site: the smallest free room that holds them all, else consecutive
    rooms of the site with the most free beds. Returns the plan and the people left without a bed."""
    by_site: dict[int, list[Room]] = defaultdict(list)
    for room in free:
        by_site[room.site_id].append(room)
    plan: dict[str, list[tuple[Room, list[Person]]]] = {}
    homeless: list[Person] = []
    # Large households first: they are the hard ones to keep together.
    for key, people in sorted(groups.items(), key=lambda item: (-len(item[1]), item[0])):
        size = len(people)
        fits = [r for rooms in by_site.values() for r in rooms if r.beds >= size]
        if fits:
            room = min(fits, key=lambda r: (r.beds, r.site_id, r.floor, r.number))
            by_site[room.site_id].remove(room)
            plan[key] = [(room, people)]
            continue
        site_id = max(by_site, key=lambda s: (sum(r.beds for r in by_site[s]), -s), default=None)
        if site_id is None or sum(r.beds for r in by_site[site_id]) < size:
            homeless.extend(people)
            continue
        rooms, left, taken = sorted(by_site[site_id], key=lambda r: (r.floor, r.number)), list(people), []
        while left:
            room = rooms.pop(0)
            taken.append((room, left[: room.beds]))
            left = left[room.beds :]
            by_site[site_id].remove(room)
        plan[key] = taken
    return plan, homeless


def placement_create_many(
    *,
    actor: User | None,
    requests: list[PlacementRequest],
    site: Site | None = None,
    start: dt.datetime | None = None,
    disease_code: str = "",
) -> PlacementResult:
    """Place people at once: close contacts (and others) into centralised rooms — households together — then
    home; secondary contacts at home. People already in quarantine are reported, not placed twice. One
    transaction, one audit entry, ``quarantine.started`` per end date."""
    _require(actor, Perm.QUARANTINE_MANAGE)
    start = start or timezone.now()
    disease_code = disease_code or str(general_rule("default_disease", "covid19"))
    for attempt in range(3):
        try:
            return _place(actor, requests, site, start, disease_code)
        except _RoomTaken:
            if attempt == 2:
                raise Conflict(_("Rooms are being taken by another placement; try again.")) from None
    raise AssertionError("unreachable")


class _RoomTaken(Exception):
    pass


def _place(
    actor: User | None, requests: list[PlacementRequest], site: Site | None, start: dt.datetime, disease: str
) -> PlacementResult:
    result = PlacementResult()
    wanted: dict[int, PlacementRequest] = {}
    for req in requests:
        wanted.setdefault(int(req.person_id), req)  # a person listed twice is placed once
    people = {p.pk: p for p in Person.objects.filter(pk__in=list(wanted))}
    for pk in wanted:
        if pk not in people:
            result.errors.append((pk, _("Unknown person %(id)s.") % {"id": pk}))
    busy = set(
        Placement.objects.filter(person_id__in=list(people), status__in=OPEN_STATUSES).values_list(
            "person_id", flat=True
        )
    )
    result.already = sorted(busy)
    plan_cache: dict[str, plans.Plan] = {}

    def plan_of(tier: str) -> plans.Plan:
        if tier not in plan_cache:
            plan_cache[tier] = plans.plan_for(disease_code=disease, tier=tier)
        return plan_cache[tier]

    central: dict[str, list[Person]] = defaultdict(list)
    home: list[Person] = []
    for pk, person in people.items():
        if pk in busy:
            continue
        if plan_of(wanted[pk].tier).centralised_days:
            central[_household_key(person) + ":" + wanted[pk].tier].append(person)
        else:
            home.append(person)
    with transaction.atomic():
        rooms_qs = Room.objects.filter(
            status=RoomStatus.FREE, site__kind=SiteKind.CENTRALISED, site__active=True
        ).select_related("site")
        if site is not None:
            rooms_qs = rooms_qs.filter(site=site)
        room_plan, without_room = _plan_rooms(central, list(rooms_qs))
        result.no_room = sorted(p.pk for p in without_room)
        now = timezone.now()
        for key, assignments in room_plan.items():
            ids = [room.pk for room, _people in assignments]
            taken = Room.objects.filter(pk__in=ids, status=RoomStatus.FREE).update(
                status=RoomStatus.OCCUPIED, held_by=key[:40], updated_at=now
            )
            if taken != len(ids):
                raise _RoomTaken
        made: list[Placement] = []
        for key, assignments in room_plan.items():
            for room, group in assignments:
                for person in group:
                    made.append(
                        _placement(person, wanted[person.pk], room.site, room, plan_of, start, key, actor)
                    )
        home_of = _home_sites(home)
        for person in home:
            home_site, home_room = home_of[person.pk]
            made.append(
                _placement(
                    person,
                    wanted[person.pk],
                    home_site,
                    home_room,
                    plan_of,
                    start,
                    _household_key(person),
                    actor,
                )
            )
        try:
            with transaction.atomic():
                Placement.objects.bulk_create(made, batch_size=500)
        except IntegrityError:
            # Someone placed one of these people since we looked: plan again from the new state.
            raise _RoomTaken from None
        _schedule_tests(made)
        result.placed = made
        if made:
            ends: dict[dt.datetime, list[int]] = defaultdict(list)
            for placement in made:
                ends[placement.end].append(placement.person_id)
            for end, ids in sorted(ends.items()):
                events.publish(
                    "quarantine.started",
                    payload={"person_ids": ids, "until": end.isoformat(), "at": start.isoformat()},
                    org_code=district_code(),
                )
            # Home quarantines need their door sealed and daily visits: the grid module makes the tasks.
            homes: dict[str, list[dict[str, int]]] = defaultdict(list)
            for placement in made:
                if placement.site.kind == SiteKind.HOME:
                    homes[placement.org_code].append(
                        {"person_id": placement.person_id, "placement_id": placement.pk}
                    )
            events.publish_many(
                "quarantine.home_placed",
                [({"people": people}, code) for code, people in sorted(homes.items())],
            )
            _notify_placed(made)
        audit_record(
            actor=actor,
            action="quarantine.place",
            detail={
                "placed": len(made),
                "already": len(result.already),
                "no_room": len(result.no_room),
                "errors": len(result.errors),
            },
        )
    return result


@functools.cache
def _report_path_prefix() -> str:
    # "/q/": reverse() costs 1-10 ms a call in this project; a dispatch notifies in batches.
    return reverse("qreport:report", args=["-"])[:-1]


def _notify_placed(made: list[Placement]) -> None:
    """The quarantine notice the law requires: each person gets where and until when, and their own report
    link, in their inbox and by SMS (``core.notices``, in each person's language)."""
    of_person = {placement.person_id: placement for placement in made}

    def params(person: Person) -> dict[str, Any]:
        placement = of_person[person.pk]
        if placement.site.kind == SiteKind.HOME:
            place = pgettext_lazy("quarantine site", "Home")
        else:
            place = (
                f"{placement.site.name} {placement.room.number}" if placement.room else placement.site.name
            )
        return {"place": place, "start": placement.start, "end": placement.end}

    link = _report_path_prefix()
    notices.person_notify(
        actor=None,
        persons=[placement.person for placement in made],
        kind="quarantine_notice",
        params=params,
        url=lambda person: link + report_link_token(of_person[person.pk]),
    )


def _placement(person, request, site, room, plan_of, start, key, actor) -> Placement:
    plan = plan_of(request.tier)
    cal = _calendar(plan, start)
    return Placement(
        person=person,
        org_code=person.org_code,
        site=site,
        room=room,
        site_org_code=site.org_code,
        tier=request.tier,
        case_id=request.case_id,
        household_key=key[:40],
        plan=plan.as_json(),
        start=start,
        centralised_until=cal.centralised_until,
        end=cal.end,
        status=PlacementStatus.ACTIVE,
        # Monitoring state from the calendar itself: no read-back of the tests just written.
        next_test_due=min((due for _day, _phase, due in cal.tests), default=None),
        tests_outstanding=len(cal.tests),
        created_by=_actor(actor),
    )


@functools.lru_cache(maxsize=64)
def _calendar(plan: plans.Plan, start: dt.datetime) -> plans.Calendar:
    """A batch places everyone at one start time: one calendar per plan, not one per person."""
    return plans.calendar(plan, start)


def _schedule_tests(placements: list[Placement]) -> None:
    tests = []
    for placement in placements:
        cal = _calendar(plans.Plan.from_json(placement.plan), placement.start)
        for day, phase, due in cal.tests:
            tests.append(
                ScheduledTest(
                    placement=placement,
                    org_code=placement.org_code,
                    day=day,
                    phase=phase,
                    due_date=due,
                    door_to_door=phase == "home",
                )
            )
    ScheduledTest.objects.bulk_create(tests, batch_size=1000)


def _refresh_test_state(placement_ids: list[int]) -> None:
    """Keep ``next_test_due`` and ``tests_outstanding`` current (the line lists filter on them)."""
    stats = {
        row["placement_id"]: row
        for row in ScheduledTest.objects.filter(placement_id__in=placement_ids, status=TestStatus.DUE)
        .values("placement_id")
        .annotate(first=Min("due_date"), count=Count("pk"))
    }
    updates = []
    for placement in Placement.objects.filter(pk__in=placement_ids).only(
        "pk", "next_test_due", "tests_outstanding"
    ):
        row = stats.get(placement.pk)
        placement.next_test_due = row["first"] if row else None
        placement.tests_outstanding = row["count"] if row else 0
        updates.append(placement)
    Placement.objects.bulk_update(updates, ["next_test_due", "tests_outstanding"], batch_size=1000)


def placement_create(
    *,
    actor: User | None,
    person: Person,
    tier: str = "close",
    site: Site | None = None,
    case_id: int | None = None,
) -> Placement:
    """Place one person (the same rules as a batch); a clear error when they cannot be placed."""
    result = placement_create_many(
        actor=actor, requests=[PlacementRequest(person.pk, tier, case_id)], site=site
    )
    if result.already:
        raise Conflict(_("This person is already in quarantine."))
    if result.no_room:
        raise Conflict(_("No free room: add rooms or free one first."))
    return result.placed[0]


def _free_room(room_id: int | None, leaving: int) -> None:
    """The room becomes ``cleaning`` when its last open placement leaves it (home rooms stay as they are)."""
    if room_id is None:
        return
    room = Room.objects.select_related("site").filter(pk=room_id).first()
    if room is None or room.site.kind == SiteKind.HOME:
        return
    still = Placement.objects.filter(room_id=room_id, status__in=OPEN_STATUSES).exclude(pk=leaving).exists()
    if not still:
        Room.objects.filter(pk=room_id).update(
            status=RoomStatus.CLEANING, held_by="", updated_at=timezone.now()
        )


def placement_transfer(*, actor: User | None, placement: Placement, room: Room) -> Placement:
    """Move a person to another (free) room, at this or another site."""
    _require(actor, Perm.QUARANTINE_MANAGE)
    if placement.status not in OPEN_STATUSES:
        raise Conflict(_("This quarantine is closed."))
    if room.site.kind != SiteKind.CENTRALISED:
        raise DomainError(_("Transfers go to rooms of centralised sites."), field="room")
    with transaction.atomic():
        taken = Room.objects.filter(pk=room.pk, status=RoomStatus.FREE).update(
            status=RoomStatus.OCCUPIED, held_by=f"p{placement.person_id}", updated_at=timezone.now()
        )
        if not taken:
            raise Conflict(_("Room %(n)s is not free.") % {"n": room.number})
        old_room = placement.room_id
        placement.site, placement.room, placement.site_org_code = room.site, room, room.site.org_code
        placement.save(update_fields=["site", "room", "site_org_code", "updated_at"])
        _free_room(old_room, placement.pk)
        audit_record(
            actor=actor,
            action="quarantine.transfer",
            obj=placement,
            detail={"from_room": old_room, "to_room": room.pk},
        )
    return placement


def placement_move_home(*, actor: User | None, placement: Placement) -> Placement:
    """The centralised days are over: home health monitoring for the rest of the plan (the room frees)."""
    _require(actor, Perm.QUARANTINE_MANAGE)
    if placement.status != PlacementStatus.ACTIVE or placement.site.kind != SiteKind.CENTRALISED:
        raise Conflict(_("Only a person in a centralised site moves home."))
    if placement.centralised_until and timezone.now() < placement.centralised_until - dt.timedelta(hours=12):
        raise DomainError(
            _("The centralised days end on %(at)s.")
            % {"at": timezone.localtime(placement.centralised_until).strftime("%Y-%m-%d %H:%M")}
        )
    with transaction.atomic():
        old_room = placement.room_id
        site, room = _home_sites([placement.person])[placement.person_id]
        placement.site, placement.room, placement.site_org_code = site, room, site.org_code
        placement.status = PlacementStatus.HOME_MONITORING
        placement.save(update_fields=["site", "room", "site_org_code", "status", "updated_at"])
        _free_room(old_room, placement.pk)
        audit_record(actor=actor, action="quarantine.move_home", obj=placement)
    return placement


# --- reports -------------------------------------------------------------------------------------------


def report_link_token(placement: Placement) -> str:
    """The person's own report link: signed, no account needed; revoked by bumping ``token_version``."""
    return signing.dumps({"p": placement.pk, "v": placement.token_version}, salt=TOKEN_SALT, compress=True)


def placement_from_token(token: str) -> Placement:
    try:
        data = signing.loads(token, salt=TOKEN_SALT)
    except signing.BadSignature:
        raise DomainError(_("This report link is not valid.")) from None
    placement = Placement.objects.select_related("person", "site").filter(pk=data.get("p")).first()
    if placement is None or placement.token_version != data.get("v") or placement.person_id is None:
        raise DomainError(_("This report link is not valid."))
    return placement


def fever_threshold(disease_code: str) -> Decimal:
    return Decimal(str(policy_param(disease_code=disease_code, name="fever_threshold_celsius", default=37.3)))


def report_submit(
    *,
    actor: User | None,
    placement: Placement,
    temperature: Any,
    symptoms: list[str] | None = None,
    client_id: uuid.UUID | str,
    reported_at: dt.datetime | None = None,
    note: str = "",
) -> tuple[HealthReport, bool]:
    """A temperature (and symptoms) report by the person (``actor`` None, via their link) or by staff.

    Idempotent on ``client_id``: a replay returns the stored report and False. A temperature at or above the
    disease's fever threshold, or any symptom, raises ``quarantine.alarm`` and hands the person to the case
    module (``quarantine.symptomatic``)."""
    if actor is not None:
        _require(actor, Perm.QUARANTINE_MONITOR)
    try:
        client_id = client_id if isinstance(client_id, uuid.UUID) else uuid.UUID(str(client_id))
    except ValueError:
        raise DomainError(_("client_id must be a UUID."), field="client_id") from None
    replay = HealthReport.objects.filter(client_id=client_id).first()
    if replay is not None:
        if replay.placement_id != placement.pk:
            raise Conflict(_("This client_id was already used for another report."))
        return replay, False
    if placement.status not in OPEN_STATUSES:
        raise Conflict(_("This quarantine is closed; no more reports are needed."))
    try:
        value = Decimal(str(temperature)).quantize(Decimal("0.1"))
    except (InvalidOperation, ValueError):
        raise DomainError(_("The temperature must be a number such as 36.5."), field="temperature") from None
    if not Decimal("34.0") <= value <= Decimal("43.0"):
        raise DomainError(_("A body temperature lies between 34.0 and 43.0 °C."), field="temperature")
    symptoms = sorted(set(symptoms or []))
    unknown = [s for s in symptoms if s not in SYMPTOMS]
    if unknown:
        raise DomainError(_("Unknown symptoms: %(s)s") % {"s": ", ".join(unknown)}, field="symptoms")
    now = timezone.now()
    reported_at = reported_at or now
    if reported_at > now + dt.timedelta(minutes=5):
        raise DomainError(_("The report time lies in the future."), field="reported_at")
    if reported_at < placement.start - dt.timedelta(hours=1):
        raise DomainError(_("The report time is before the quarantine began."), field="reported_at")
    threshold = fever_threshold(placement.disease_code)
    if value >= threshold and "fever" not in symptoms:
        symptoms = sorted([*symptoms, "fever"])
    unwell = bool(symptoms)
    try:
        with transaction.atomic():
            report = HealthReport.objects.create(
                placement=placement,
                org_code=placement.org_code,
                client_id=client_id,
                reported_at=reported_at,
                temperature=value,
                symptoms=symptoms,
                note=note[:300],
                source=ReportSource.STAFF if actor is not None else ReportSource.SELF,
                reported_by=_actor(actor),
            )
            latest = placement.last_report_at is None or reported_at >= placement.last_report_at
            fields = ["updated_at"]
            if latest:
                placement.last_report_at, placement.last_temperature = reported_at, value
                fields += ["last_report_at", "last_temperature"]
                if unwell and placement.symptomatic_since is None:
                    placement.symptomatic_since = reported_at
                    fields.append("symptomatic_since")
                elif not unwell and placement.symptomatic_since is not None:
                    placement.symptomatic_since = None  # a normal report after a fever clears the flag
                    fields.append("symptomatic_since")
            placement.save(update_fields=fields)
            if unwell:
                _alarm(
                    placement,
                    "fever" if "fever" in symptoms else "symptoms",
                    {"temperature": str(value), "symptoms": symptoms},
                )
                events.publish(
                    "symptom.reported",
                    payload={
                        "person_id": placement.person_id,
                        "fever": "fever" in symptoms,
                        "at": reported_at.isoformat(),
                        "symptoms": symptoms,
                    },
                    org_code=placement.org_code,
                )
                events.publish(
                    "quarantine.symptomatic",
                    payload={
                        "placement_id": placement.pk,
                        "person_id": placement.person_id,
                        "case_id": placement.case_id,
                        "at": reported_at.isoformat(),
                    },
                    org_code=placement.org_code,
                )
    except IntegrityError:
        # The same client_id raced in from a second tab: the first one stored it.
        replay = HealthReport.objects.filter(client_id=client_id, placement=placement).first()
        if replay is None:
            raise
        return replay, False
    return report, True


def _alarm(placement: Placement, kind: str, detail: dict[str, Any]) -> None:
    events.publish(
        "quarantine.alarm",
        payload={"placement_id": placement.pk, "person_id": placement.person_id, "kind": kind, **detail},
        org_code=placement.org_code,
    )


# --- home quarantine: seals and visits ------------------------------------------------------------------


def seal_record(
    *,
    actor: User | None,
    placement: Placement,
    number: str,
    sealed_at: dt.datetime | None = None,
    photo: bytes | None = None,
) -> DoorSeal:
    _require(actor, Perm.QUARANTINE_VISIT)
    if placement.site.kind != SiteKind.HOME or placement.status not in OPEN_STATUSES:
        raise Conflict(_("Door seals are for open home quarantines."))
    number = (number or "").strip()
    if not number:
        raise DomainError(_("Enter the seal number."), field="number")
    jpeg = photo_jpeg(photo) if photo else None
    with transaction.atomic():
        DoorSeal.objects.filter(placement=placement, removed_at__isnull=True).update(
            removed_at=timezone.now()
        )
        seal = DoorSeal.objects.create(
            placement=placement,
            org_code=placement.org_code,
            number=number[:40],
            sealed_at=sealed_at or timezone.now(),
            photo=jpeg,
            recorded_by=_actor(actor),
        )
        audit_record(actor=actor, action="quarantine.seal", obj=placement, detail={"number": seal.number})
    return seal


def visit_record(
    *,
    actor: User | None,
    placement: Placement,
    result: str,
    team: str = "",
    note: str = "",
    at: dt.datetime | None = None,
) -> Visit:
    """A home visit; a violation (not at home, seal broken) raises ``quarantine.alarm``."""
    _require(actor, Perm.QUARANTINE_VISIT)
    if result not in VisitResult.values:
        raise DomainError(_("Unknown visit result."), field="result")
    if placement.status not in OPEN_STATUSES:
        raise Conflict(_("This quarantine is closed."))
    with transaction.atomic():
        visit = Visit.objects.create(
            placement=placement,
            org_code=placement.org_code,
            visited_at=at or timezone.now(),
            team=team[:100],
            result=result,
            note=note[:300],
            visitor=_actor(actor),
        )
        audit_record(actor=actor, action="quarantine.visit", obj=placement, detail={"result": result})
        if result in (VisitResult.ABSENT, VisitResult.SEAL_BROKEN):
            _alarm(placement, "violation", {"result": result})
    return visit


# --- tests and hand-over ---------------------------------------------------------------------------------


def tests_record_results(*, people: list[tuple[int, dt.datetime, str]]) -> int:
    """``test.resulted`` for people in quarantine: each (person, sampled_at, result) answers the earliest
    scheduled test still due up to that day (a test taken a day late still counts for its day). A positive
    raises ``quarantine.alarm``; the case module opens the case from ``specimen.positive`` itself."""
    by_person: dict[int, list[tuple[dt.datetime, str]]] = defaultdict(list)
    for person_id, sampled_at, result in people:
        if result in (TestStatus.NEGATIVE, TestStatus.POSITIVE):
            by_person[int(person_id)].append((sampled_at, result))
    if not by_person:
        return 0
    # A lab batch names 20,000 people of whom a handful are in quarantine: read who is in quarantine (an
    # index on status) and intersect, rather than filtering by a 20,000-id list (15 % of a PostgreSQL import).
    if len(by_person) > 1000:
        quarantined = set(
            Placement.objects.filter(status__in=OPEN_STATUSES).values_list("person_id", flat=True)
        ) & set(by_person)
    else:
        quarantined = set(by_person)
    open_placements = (
        {
            p.person_id: p
            for p in Placement.objects.filter(person_id__in=sorted(quarantined), status__in=OPEN_STATUSES)
        }
        if quarantined
        else {}
    )
    if not open_placements:
        return 0
    due = defaultdict(list)
    for test in ScheduledTest.objects.filter(
        placement_id__in=[p.pk for p in open_placements.values()], status=TestStatus.DUE
    ).order_by("due_date", "pk"):
        due[test.placement_id].append(test)
    updated, touched = [], set()
    now = timezone.now()
    with transaction.atomic():
        for person_id, results in by_person.items():
            placement = open_placements.get(person_id)
            if placement is None:
                continue
            for sampled_at, result in sorted(results):
                day = timezone.localtime(sampled_at).date()
                if sampled_at < placement.start - dt.timedelta(hours=12):
                    continue  # a test from before the quarantine answers none of its days
                candidates = [t for t in due[placement.pk] if t.due_date <= day] or due[placement.pk][:1]
                if not candidates:
                    continue
                test = candidates[0]
                due[placement.pk].remove(test)
                test.status, test.sampled_at, test.resulted_at = result, sampled_at, now
                updated.append(test)
                touched.add(placement.pk)
                if result == TestStatus.POSITIVE:
                    _alarm(placement, "positive", {"day": test.day})
        ScheduledTest.objects.bulk_update(updated, ["status", "sampled_at", "resulted_at"], batch_size=1000)
        _refresh_test_state(sorted(touched))
    return len(updated)


def placements_hand_over(*, person_id: int, at: dt.datetime | None = None) -> int:
    """The person became a case: their quarantine ends as handed over (the room frees; no release, so the
    health code stays as the infection makes it)."""
    count = 0
    with transaction.atomic():
        for placement in Placement.objects.filter(person_id=person_id, status__in=OPEN_STATUSES):
            placement.status, placement.outcome = PlacementStatus.HANDED_OVER, "case"
            placement.released_at = at or timezone.now()
            placement.save(update_fields=["status", "outcome", "released_at", "updated_at"])
            _free_room(placement.room_id, placement.pk)
            audit_record(actor=None, action="quarantine.hand_over", obj=placement)
            count += 1
    return count


# --- release -------------------------------------------------------------------------------------------


def release_blockers(placement: Placement, *, now: dt.datetime | None = None) -> list[str]:
    """Why the person may not go home yet: days not served, tests missing or positive. Empty: may go."""
    now = now or timezone.now()
    reasons = []
    if placement.status not in OPEN_STATUSES:
        reasons.append(_("This quarantine is closed."))
        return reasons
    if now < placement.end:
        reasons.append(
            _("The quarantine ends on %(at)s.")
            % {"at": timezone.localtime(placement.end).strftime("%Y-%m-%d %H:%M")}
        )
    for test in placement.tests.exclude(status=TestStatus.NEGATIVE).order_by("due_date"):
        if test.status == TestStatus.POSITIVE:
            reasons.append(_("The test of day %(day)s was positive.") % {"day": test.day})
        else:
            reasons.append(
                _("The test of day %(day)s (%(date)s) has no negative result.")
                % {"day": test.day, "date": test.due_date.isoformat()}
            )
    return reasons


def placement_release(
    *, actor: User | None, placement: Placement, at: dt.datetime | None = None
) -> Placement:
    """Release when the days are served and every scheduled test is negative; the health code follows
    (``quarantine.ended``)."""
    _require(actor, Perm.QUARANTINE_MANAGE)
    at = at or timezone.now()
    with transaction.atomic():
        placement = Placement.objects.select_for_update().get(pk=placement.pk)
        blockers = release_blockers(placement, now=at)
        if blockers:
            raise DomainError(" ".join(blockers))
        placement.status, placement.released_at, placement.outcome = PlacementStatus.RELEASED, at, "released"
        placement.token_version += 1  # the report link stops working
        placement.save(update_fields=["status", "released_at", "outcome", "token_version", "updated_at"])
        DoorSeal.objects.filter(placement=placement, removed_at__isnull=True).update(removed_at=at)
        _free_room(placement.room_id, placement.pk)
        audit_record(actor=actor, action="quarantine.release", obj=placement)
        events.publish(
            "quarantine.ended",
            payload={"person_id": placement.person_id, "at": at.isoformat(), "placement_id": placement.pk},
            org_code=placement.org_code,
        )
    return placement


def placement_cancel(*, actor: User | None, placement: Placement, reason: str) -> Placement:
    """Placed by mistake (not a contact after all): closes without release criteria, audited with the reason."""
    _require(actor, Perm.QUARANTINE_MANAGE)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Say why the placement is cancelled."), field="reason")
    if placement.status not in OPEN_STATUSES:
        raise Conflict(_("This quarantine is closed."))
    with transaction.atomic():
        now = timezone.now()
        placement.status, placement.released_at, placement.outcome = (
            PlacementStatus.CANCELLED,
            now,
            "cancelled",
        )
        placement.token_version += 1
        placement.save(update_fields=["status", "released_at", "outcome", "token_version", "updated_at"])
        _free_room(placement.room_id, placement.pk)
        audit_record(actor=actor, action="quarantine.cancel", obj=placement, detail={"reason": reason[:200]})
        events.publish(
            "quarantine.ended",
            payload={"person_id": placement.person_id, "at": now.isoformat(), "placement_id": placement.pk},
            org_code=placement.org_code,
        )
    return placement


# --- retention -------------------------------------------------------------------------------------------


def _age_band(birth: dt.date | None, on: dt.date) -> str:
    if birth is None:
        return ""
    age = on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
    low = min(age // 10 * 10, 80)
    return f"{low}+" if low == 80 else f"{low}-{low + 9}"


def placements_deidentify_expired(*, actor: User | None = None, now: dt.datetime | None = None) -> int:
    """Closed placements older than the retention period (general rule ``quarantine_retention_days``, 28)
    keep age band, sex, grid, dates and outcome; the person, notes, photos and the link go."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=int(general_rule("quarantine_retention_days", 28)))
    qs = Placement.objects.filter(
        released_at__lt=cutoff, deidentified_at__isnull=True, person__isnull=False
    ).exclude(status__in=OPEN_STATUSES)
    count = 0
    with transaction.atomic():
        batch = list(qs.select_related("person")[:5000])
        for placement in batch:
            person = placement.person
            placement.age_band = _age_band(person.birth_date, timezone.localtime(placement.start).date())
            placement.sex = person.sex
            placement.person = None
            placement.deidentified_at = now
            placement.token_version += 1
        Placement.objects.bulk_update(
            batch, ["age_band", "sex", "person", "deidentified_at", "token_version"], batch_size=1000
        )
        ids = [p.pk for p in batch]
        HealthReport.objects.filter(placement_id__in=ids).update(note="", reported_by=None)
        DoorSeal.objects.filter(placement_id__in=ids).update(photo=None, recorded_by=None)
        Visit.objects.filter(placement_id__in=ids).update(note="", visitor=None)
        count = len(batch)
        if count:
            audit_record(
                actor=actor,
                action="quarantine.deidentify",
                detail={"count": count, "before": cutoff.isoformat()},
            )
    return count


def tests_due_publish(*, day: dt.date | None = None) -> int:
    """Morning job: one ``quarantine.tests_due`` per site (centralised: the site's team samples) or per grid
    (home: door-to-door), listing the people due today — the grid module turns them into tasks."""
    day = day or timezone.localdate()
    rows = (
        ScheduledTest.objects.filter(due_date=day, status=TestStatus.DUE, placement__status__in=OPEN_STATUSES)
        .values_list("placement__person_id", "placement__site_id", "placement__site__kind", "org_code", "day")
        .order_by("placement__site_id", "pk")
    )
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for person_id, site_id, kind, org_code, quarantine_day in rows:
        key = ("site", str(site_id)) if kind == SiteKind.CENTRALISED else ("grid", org_code)
        groups[key].append({"person_id": person_id, "day": quarantine_day})
    with transaction.atomic():
        for (where, ref), people in sorted(groups.items()):
            events.publish(
                "quarantine.tests_due",
                payload={
                    "date": day.isoformat(),
                    where: ref,
                    "door_to_door": where == "grid",
                    "people": people,
                },
                org_code=ref if where == "grid" else district_code(),
            )
    return sum(len(v) for v in groups.values())
