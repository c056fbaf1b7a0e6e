"""The key-region archive (重点地区人员档案库): arrivals from the linked rows of lists, from the public arrival
self-report (来返报备) and from staff.

Each arrival keeps the risk level its origin had *at the time of arrival* (``healthcode.services.region_levels``:
the region areas in force then, at the level each had then). An arrival from a medium- or high-risk region
within the health code's window (``health_code_arrival_window_days``) becomes the person's arrival fact, as a
travel declaration does; the level is the higher of the level at arrival and the level now, because the
health code also counts people who came from a region designated since (``_apply_area_to_people``). A fact
already on record is not lowered while it is inside the window. One ``arrivals.identified`` event per level
asks the grids to screen the people (``grids.handlers.on_arrivals``), and every new arrival publishes
``arrival.recorded`` for the command center and the live stream.

A repeat of the same person, origin and day is stored once (the database constraint decides between
concurrent writers too); a self-report is idempotent on its client id. Everything a call writes — the person,
the arrival, the facts, the audit entries, the events — commits together or not at all.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from epigrid.comparison.models import Arrival, ArrivalSource, ListRow, RowStatus
from epigrid.core import events
from epigrid.core import services as core_services
from epigrid.core.audit import audit_record
from epigrid.core.errors import Conflict, DomainError, Forbidden
from epigrid.core.identity import IdType
from epigrid.core.models import Person, User
from epigrid.core.roles import Perm, has_perm
from epigrid.core.scope import in_scope_code
from epigrid.core.selectors import district_code, general_rule, policy_param
from epigrid.healthcode import services as healthcode_services
from epigrid.healthcode.models import RISK_RANK, PersonFacts, RiskLevel

RISKY = (RiskLevel.HIGH, RiskLevel.MEDIUM)

# How people travel; stored as "<mode> <number>" (``train G1234``), e.g. in ``Arrival.travel_mode``.
TRAVEL_MODES = {
    "train": gettext_lazy("Train"),
    "flight": gettext_lazy("Flight"),
    "car": gettext_lazy("Car"),
    "bus": gettext_lazy("Coach or bus"),
    "other": gettext_lazy("Other"),
}
# Rows handled at a time by ``arrivals_from_rows`` (every IN (...) list stays far below SQLite's limit).
ROWS_PER_CHUNK = 5000
# How far in the future an arrival time may lie (a phone's clock running fast).
FUTURE_TOLERANCE = dt.timedelta(minutes=5)


def travel_mode_value(mode: str, number: str = "") -> str:
    """The stored form of a travel mode and its train, flight or plate number."""
    if mode not in TRAVEL_MODES:
        raise DomainError(_("Choose how you travelled."), field="travel_mode")
    number = " ".join((number or "").split()).upper()
    return f"{mode} {number}"[:40].strip()


def travel_mode_label(value: str) -> str:
    """``train G1234`` as the reader's language has it (``Train G1234``); free text from lists as it came."""
    mode, _sep, rest = (value or "").partition(" ")
    if mode in TRAVEL_MODES:
        return f"{TRAVEL_MODES[mode]} {rest}".strip()
    return value or ""


def default_disease() -> str:
    return str(general_rule("default_disease", "covid19"))


def arrival_window() -> dt.timedelta:
    """How long an arrival from a risk area counts for the health code (policy)."""
    days = policy_param(disease_code=default_disease(), name="health_code_arrival_window_days", default=14)
    return dt.timedelta(days=int(days))


def test_within_hours() -> int:
    """Within how many hours of arriving from a risk area a person should be tested (policy; default 24)."""
    return int(policy_param(disease_code=default_disease(), name="arrival_test_within_hours", default=24))


def reference(arrival: Arrival) -> str:
    """The number a person quotes when they call about their report (no personal data in it)."""
    return f"A{arrival.pk:08d}"


# --- input --------------------------------------------------------------------------------------------


@dataclass
class ArrivalInput:
    """An arrival as staff or the self-report page give it. ``origin`` is the place in words; a region code
    (GB/T 2260, 6 digits) decides the risk level."""

    origin: str
    arrived_at: dt.datetime
    origin_region_code: str = ""
    travel_mode: str = ""
    address: str = ""


def arrival_validate(data: ArrivalInput, *, now: dt.datetime | None = None) -> ArrivalInput:
    """Normalise one arrival; raises DomainError naming the bad field."""
    now = now or timezone.now()
    code = (data.origin_region_code or "").strip()
    if code and (len(code) != 6 or not code.isdigit()):
        raise DomainError(_("A region code has 6 digits (e.g. 310101)."), field="origin")
    origin = " ".join((data.origin or "").split())[:120] or code
    if not origin:
        raise DomainError(_("Say where you came from."), field="origin")
    arrived_at = data.arrived_at
    if arrived_at is None:
        raise DomainError(_("Give the time of arrival."), field="arrived_at")
    if timezone.is_naive(arrived_at):
        arrived_at = timezone.make_aware(arrived_at)
    if arrived_at > now + FUTURE_TOLERANCE:
        raise DomainError(_("The arrival time lies in the future."), field="arrived_at")
    return ArrivalInput(
        origin=origin,
        arrived_at=arrived_at,
        origin_region_code=code,
        travel_mode=(data.travel_mode or "").strip()[:40],
        address=" ".join((data.address or "").split())[:200],
    )


# --- storing arrivals and what follows from them ---------------------------------------------------------


def _key(arrival: Arrival) -> tuple[int, str, dt.date]:
    return arrival.person_id, arrival.origin_region_code, arrival.arrived_on


def _levels_at_arrival(arrivals: list[Arrival]) -> None:
    coded = [a for a in arrivals if a.origin_region_code]
    levels = healthcode_services.region_levels([(a.origin_region_code, a.arrived_at) for a in coded])
    for arrival, level in zip(coded, levels, strict=True):
        arrival.risk_level = level


def _store(arrivals: list[Arrival]) -> list[Arrival]:
    """Insert the arrivals that are not on record yet (same person, origin and day); returns those."""
    unique: dict[tuple, Arrival] = {}
    for arrival in arrivals:
        unique.setdefault(_key(arrival), arrival)
    if not unique:
        return []
    days = {key[2] for key in unique}
    existing = set(
        Arrival.objects.filter(
            person_id__in={key[0] for key in unique}, arrived_on__gte=min(days), arrived_on__lte=max(days)
        ).values_list("person_id", "origin_region_code", "arrived_on")
    )
    fresh = [arrival for key, arrival in unique.items() if key not in existing]
    try:
        with transaction.atomic():
            return Arrival.objects.bulk_create(fresh, batch_size=1000)
    except IntegrityError:  # someone stored some of them meanwhile: one by one, skipping theirs
        made = []
        for arrival in fresh:
            try:
                with transaction.atomic():
                    arrival.save(force_insert=True)
            except IntegrityError:
                arrival.pk = None
                continue
            made.append(arrival)
        return made


def _facts_and_screening(
    *, actor: User | None, arrivals: list[Arrival], source: str, declared: Iterable[int] = ()
) -> None:
    """Health-code arrival facts for new arrivals from risk areas, and the grids' screening tasks (through
    ``arrivals.identified``, one event per level). ``declared``: people who declared their arrival themselves
    (the self-report), whose pending declaration is settled as ``travel_declare`` does."""
    now = timezone.now()
    since = now - arrival_window()
    recent = [a for a in arrivals if a.origin_region_code and since <= a.arrived_at <= now + FUTURE_TOLERANCE]
    codes = sorted({a.origin_region_code for a in recent})
    level_now = dict(zip(codes, healthcode_services.region_levels([(c, None) for c in codes]), strict=True))
    best: dict[int, tuple[str, dt.datetime]] = {}  # person -> (level, arrived_at), the strongest arrival
    screen: dict[str, dict[int, dt.datetime]] = {}  # level -> person -> arrived_at
    for arrival in recent:
        level = max(arrival.risk_level, level_now.get(arrival.origin_region_code, ""), key=RISK_RANK.get)
        if level not in RISKY:
            continue
        people = screen.setdefault(str(level), {})
        people[arrival.person_id] = max(people.get(arrival.person_id, arrival.arrived_at), arrival.arrived_at)
        held = best.get(arrival.person_id)
        if held is None or (RISK_RANK[level], arrival.arrived_at) > (RISK_RANK[held[0]], held[1]):
            best[arrival.person_id] = (level, arrival.arrived_at)
    current = {
        pid: (level, at)
        for pid, level, at in PersonFacts.objects.filter(person_id__in=list(best)).values_list(
            "person_id", "arrival_level", "arrival_at"
        )
    }
    values: dict[int, dict[str, Any]] = {}
    for pid, (level, at) in best.items():
        held_level, held_at = current.get(pid, ("", None))
        keep_held = (
            held_level in RISKY
            and held_at is not None
            and held_at >= since
            and (RISK_RANK[held_level], held_at) >= (RISK_RANK[level], at)
        )
        if not keep_held:
            values[pid] = {"arrival_level": str(level), "arrival_at": at}
    for pid in declared:
        values.setdefault(pid, {})["declaration_due"] = False
    if values:
        healthcode_services.facts_update_each(actor=actor, values=values)
    for level in RISKY:
        people = screen.get(str(level))
        if people:
            events.publish(
                "arrivals.identified",
                payload={
                    "level": str(level),
                    "source": source,
                    "people": [[pid, at.isoformat()] for pid, at in sorted(people.items())],
                },
                org_code=district_code(),
            )


def _announce(arrivals: list[Arrival]) -> None:
    """``arrival.recorded`` per new arrival, in the person's area (the command center, the live stream)."""
    events.publish_many(
        "arrival.recorded",
        [
            (
                {
                    "arrival_id": a.pk,
                    "person_id": a.person_id,
                    "level": a.risk_level,
                    "source": a.source,
                    "at": a.arrived_at.isoformat(),
                },
                a.org_code,
            )
            for a in arrivals
        ],
    )


def arrivals_from_rows(*, actor: User | None, rows: list[ListRow]) -> int:
    """An arrival for each linked row that says when the person arrived, in the person's area, with the risk
    level of the origin at that time; a repeat (same person, origin and day) is not stored twice. New arrivals
    from risk areas set the health-code facts and are sent to the grids for screening (source "list").
    Returns how many are new."""
    eligible = [
        row
        for row in rows
        if row.person_id and row.arrived_at and row.status in (RowStatus.LINKED, RowStatus.PROVISIONAL)
    ]
    made = 0
    with transaction.atomic():  # all or nothing, however many chunks
        for start in range(0, len(eligible), ROWS_PER_CHUNK):
            made += _arrivals_from(actor, eligible[start : start + ROWS_PER_CHUNK])
    return made


def _arrivals_from(actor: User | None, eligible: list[ListRow]) -> int:
    orgs = dict(Person.objects.filter(pk__in={r.person_id for r in eligible}).values_list("pk", "org_code"))
    candidates = []
    for row in eligible:
        if row.person_id not in orgs:
            continue
        arrived_at = (
            row.arrived_at if timezone.is_aware(row.arrived_at) else timezone.make_aware(row.arrived_at)
        )
        code = row.origin_region_code
        code = code if len(code) == 6 and code.isdigit() else ""
        candidates.append(
            Arrival(
                person_id=row.person_id,
                org_code=orgs[row.person_id],
                origin=(row.origin or code)[:120],
                origin_region_code=code,
                travel_mode=row.travel_mode[:40],
                arrived_at=arrived_at,
                arrived_on=timezone.localdate(arrived_at),
                address=row.address[:200],
                source=ArrivalSource.LIST,
                list_row_id=row.pk,
                reported_by=actor if actor is not None and actor.pk else None,
            )
        )
    _levels_at_arrival(candidates)
    made = _store(candidates)
    if made:
        audit_record(
            actor=actor,
            action="arrival.bulk_record",
            org_code=district_code(),
            detail={
                "count": len(made),
                "imports": sorted({r.list_import_id for r in eligible}),
                "repeats": len(candidates) - len(made),
            },
        )
        _facts_and_screening(actor=actor, arrivals=made, source="list")
        _announce(made)
    return len(made)


def _record_one(
    *,
    actor: User | None,
    person: Person,
    data: ArrivalInput,
    source: str,
    client_id: uuid.UUID | None,
    action: str,
    declared: bool,
) -> tuple[Arrival, bool]:
    """Store one arrival (inside the caller's transaction). A repeat of the person, origin and day returns the
    arrival on record, completed with what it lacked. (arrival, created)."""
    arrival = Arrival(
        person=person,
        org_code=person.org_code,
        origin=data.origin,
        origin_region_code=data.origin_region_code,
        travel_mode=data.travel_mode,
        arrived_at=data.arrived_at,
        arrived_on=timezone.localdate(data.arrived_at),
        address=data.address,
        source=source,
        client_id=client_id,
        reported_by=actor if actor is not None and actor.pk else None,
    )
    _levels_at_arrival([arrival])
    made = _store([arrival])
    if not made:
        on_record = Arrival.objects.select_for_update().get(
            person=person, origin_region_code=arrival.origin_region_code, arrived_on=arrival.arrived_on
        )
        changed = []
        if client_id is not None and on_record.client_id is None:
            on_record.client_id = client_id
            changed.append("client_id")
        for name in ("travel_mode", "address"):
            if not getattr(on_record, name) and getattr(arrival, name):
                setattr(on_record, name, getattr(arrival, name))
                changed.append(name)
        if changed:
            on_record.save(update_fields=changed)
        audit_record(actor=actor, action=f"{action}_repeat", obj=on_record, detail={"completed": changed})
        if declared:
            healthcode_services.facts_update(
                actor=actor, person_ids=[person.pk], changes={"declaration_due": False}
            )
        return on_record, False
    audit_record(
        actor=actor,
        action=action,
        obj=arrival,
        detail={"level": arrival.risk_level, "region": arrival.origin_region_code},
    )
    _facts_and_screening(actor=actor, arrivals=made, source=source, declared=[person.pk] if declared else ())
    _announce(made)
    return arrival, True


def arrival_record(
    *, actor: User | None, person: Person, data: ArrivalInput, client_id: uuid.UUID | str | None = None
) -> Arrival:
    """Staff enter an arrival they learnt of (a call, a visit): for a person in their area; needs
    ``comparison.import`` (list work) or ``person.edit`` (the grid's own people)."""
    if actor is not None:
        if not (has_perm(actor, Perm.COMPARISON_IMPORT) or has_perm(actor, Perm.PERSON_EDIT)):
            raise Forbidden(_("Your role may not do this."))
        if not in_scope_code(actor, person.org_code):
            raise Forbidden(_("This person is not in your area."))
    client = uuid.UUID(str(client_id)) if client_id else None
    if client is not None:
        existing = Arrival.objects.filter(client_id=client).first()
        if existing is not None:
            if existing.person_id != person.pk:
                raise Conflict(_("This client_id was already used."))
            return existing
    valid = arrival_validate(data)
    with transaction.atomic():
        arrival, _created = _record_one(
            actor=actor,
            person=person,
            data=valid,
            source=ArrivalSource.STAFF,
            client_id=client,
            action="arrival.record",
            declared=False,
        )
    return arrival


# --- the public self-report ----------------------------------------------------------------------------


@dataclass
class SelfReportInput:
    """What the self-report page asks."""

    name: str
    id_number: str
    phone: str
    arrival: ArrivalInput
    id_type: str = IdType.RESIDENT
    consent: bool = False


def _locate_grid_id(address: str) -> int | None:
    """The grid of an address in the district, by the district's address table (``comparison.addresses``:
    the registered addresses on the same road); None when it is not known or ambiguous. A known person
    keeps the grid of their registration."""
    from epigrid.comparison.addresses import locate_grid_id

    return locate_grid_id(address) if address else None


def arrival_self_report(*, actor: User | None, data: SelfReportInput, client_id: uuid.UUID | str) -> Arrival:
    """Someone arriving in the district reports it (no account): found by their document number, or
    registered; the arrival lands in the archive (source self_report) and sets their health-code facts.
    The same ``client_id`` again returns the same arrival and changes nothing."""
    try:
        client = uuid.UUID(str(client_id))
    except ValueError:
        raise DomainError(_("The form is damaged; reload the page and send it again.")) from None
    if data.id_type == IdType.PROVISIONAL:
        raise DomainError(_("Choose the document you carry."), field="id_type")
    person_data = core_services.PersonInput(
        id_type=data.id_type,
        id_number=data.id_number,
        name=data.name,
        phone=data.phone,
        address=data.arrival.address,
    )
    valid_person = core_services.person_validate(person_data)
    if not valid_person.phone:
        raise DomainError(_("Give a mobile number the grid can reach you on."), field="phone")
    existing = Arrival.objects.select_related("person").filter(client_id=client).first()
    if existing is not None:
        same = existing.person.id_number_index == core_services.person_document_index(
            valid_person.id_type, valid_person.id_number
        )
        if not same:
            raise Conflict(_("This form was sent already. Reload the page to report another arrival."))
        return existing
    valid = arrival_validate(data.arrival)
    if not data.consent:
        raise DomainError(_("Please agree to the use of your data for epidemic prevention."), field="consent")
    with transaction.atomic():
        person = core_services.person_find_by_document(
            id_type=valid_person.id_type, id_number=valid_person.id_number
        )
        if person is None:
            person_data.grid_id = _locate_grid_id(valid.address)
            person, _created = core_services.person_find_or_register(actor=actor, data=person_data)
        if person.name.strip() != valid_person.name:
            raise DomainError(
                _("The name does not match the name registered for this ID number."), field="name"
            )
        if not person.phone:
            core_services.person_update(actor=actor, person=person, phone=valid_person.phone)
        try:
            with transaction.atomic():
                arrival, _new = _record_one(
                    actor=actor,
                    person=person,
                    data=valid,
                    source=ArrivalSource.SELF_REPORT,
                    client_id=client,
                    action="arrival.self_report",
                    declared=True,
                )
        except IntegrityError:  # the same form, sent twice at once: the other request stored it
            arrival = Arrival.objects.get(client_id=client)
    return arrival


# --- the dossier ---------------------------------------------------------------------------------------


def dossier_open(*, actor: User, person: Person, sections: list[str]) -> None:
    """Every opening of a one-person dossier is audited, with the sections it showed."""
    audit_record(actor=actor, action="dossier.view", obj=person, detail={"sections": sections})
