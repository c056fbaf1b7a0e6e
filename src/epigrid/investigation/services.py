"""Writes of the investigation: cases, trajectories, tracing, actions on contacts, links between cases.

A positive single tube (``specimen.positive``) opens a case without any manual step and traces it at once:
every hour between a result and the quarantine of the contacts is another generation of spread. Tracing is
re-runnable: it updates the contact list in place (one row per case and person) and publishes
``contact.identified`` only for people not notified before. Contacts who later test positive become linked
cases, and the links form the transmission chains.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from epigrid.checkins.models import CheckIn
from epigrid.core import events
from epigrid.core.audit import audit_record
from epigrid.core.errors import Conflict, DomainError, Forbidden
from epigrid.core.models import Person, User
from epigrid.core.roles import Perm, has_perm
from epigrid.core.scope import in_scope_code
from epigrid.core.selectors import general_rule
from epigrid.investigation import tracing
from epigrid.investigation.models import (
    Case,
    CaseLink,
    CaseOrigin,
    Classification,
    Contact,
    ContactStatus,
    InvestigationStatus,
    LinkKind,
    Outcome,
    StaySource,
    Tier,
    TrajectoryEntry,
)
from epigrid.places.models import Venue

INFECTED = (Classification.CONFIRMED, Classification.ASYMPTOMATIC)
OPEN_CASE_EXCLUDES = (Classification.EXCLUDED,)


def _require(actor: User | None, perm: str = Perm.CASE_EDIT) -> None:
    if actor is not None and not has_perm(actor, perm):
        raise Forbidden(_("Your role may not do this."))


def _require_scope(actor: User | None, org_code: str) -> None:
    if actor is not None and not in_scope_code(actor, org_code):
        raise Forbidden(_("This person is outside your jurisdiction."))


def default_disease() -> str:
    return str(general_rule("default_disease", "covid19"))


def _local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def case_window(case: Case, *, now: dt.datetime | None = None) -> tuple[dt.datetime, dt.datetime]:
    """The infectious window: N days (policy) before symptom onset — or, without symptoms, before the first
    positive sampling — until isolation (or now, while the case is not yet isolated)."""
    rules = tracing.Rules.for_disease(case.disease_code)
    days = dt.timedelta(days=rules.infectious_days_before_onset)
    now = now or timezone.now()
    if case.onset_date is not None:
        reference = _local_midnight(case.onset_date)
    else:
        reference = case.first_positive_at or case.created_at or now
    start = reference - days
    end = case.isolated_at or now
    return start, max(start, end)


# --- cases --------------------------------------------------------------------------------------------


def _open_case_of(person_id: int, disease_code: str) -> Case | None:
    return (
        Case.objects.filter(person_id=person_id, disease_code=disease_code, merged_into__isnull=True)
        .exclude(classification=Classification.EXCLUDED)
        .order_by("pk")
        .first()
    )


def _validate_dates(
    *, onset_date: dt.date | None, first_positive_at: dt.datetime | None, isolated_at: dt.datetime | None
) -> None:
    now = timezone.now()
    if onset_date is not None and onset_date > timezone.localdate(now):
        raise DomainError(_("The onset date cannot be in the future."), field="onset_date")
    for name, value in (("first_positive_at", first_positive_at), ("isolated_at", isolated_at)):
        if value is not None and value > now + dt.timedelta(minutes=5):
            raise DomainError(_("Times cannot be in the future."), field=name)
    if isolated_at and first_positive_at and isolated_at < first_positive_at - dt.timedelta(days=60):
        raise DomainError(_("The isolation time is long before the positive test."), field="isolated_at")


def case_create(
    *,
    actor: User | None,
    person: Person,
    classification: str = Classification.CONFIRMED,
    disease_code: str = "",
    onset_date: dt.date | None = None,
    first_positive_at: dt.datetime | None = None,
    isolated_at: dt.datetime | None = None,
    notes: str = "",
    origin: str = CaseOrigin.MANUAL,
    specimen_id: int | None = None,
    trace: bool = True,
) -> Case:
    """Open a case for ``person``, link it to the cases it was a contact of, publish ``case.confirmed`` for an
    infection, and trace it. A person has one open case per disease: a second one is a 409."""
    _require(actor)
    _require_scope(actor, person.org_code)
    if classification not in Classification.values:
        raise DomainError(_("Unknown classification."), field="classification")
    disease_code = disease_code or default_disease()
    _validate_dates(onset_date=onset_date, first_positive_at=first_positive_at, isolated_at=isolated_at)
    with transaction.atomic():
        Person.objects.select_for_update().filter(pk=person.pk).first()  # one open case per person
        existing = _open_case_of(person.pk, disease_code)
        if existing is not None:
            raise Conflict(_("This person already has an open case (#%(id)s).") % {"id": existing.pk})
        case = Case.objects.create(
            person=person,
            org_code=person.org_code,
            disease_code=disease_code,
            classification=classification,
            origin=origin,
            specimen_id=specimen_id,
            onset_date=onset_date,
            first_positive_at=first_positive_at,
            isolated_at=isolated_at,
            notes=notes,
            created_by=actor if actor is not None and actor.pk else None,
        )
        audit_record(
            actor=actor,
            action="case.create",
            obj=case,
            detail={"classification": classification, "origin": origin, "disease": disease_code},
        )
        _link_from_contacts(case, actor=actor)
        if classification in INFECTED:
            _publish_case(case)
        if trace:
            case_trace(actor=actor, case=case)
    return case


def _publish_case(case: Case) -> None:
    at = case.first_positive_at or (case.onset_date and _local_midnight(case.onset_date)) or case.created_at
    events.publish(
        "case.confirmed",
        payload={
            "case_id": case.pk,
            "person_id": case.person_id,
            "classification": case.classification,
            "at": at.isoformat(),
        },
        org_code=case.org_code,
    )


def case_from_specimen(*, person_id: int, specimen_id: int, sampled_at: dt.datetime) -> Case | None:
    """``specimen.positive``: open a case for the person, or add the result to their open case. Idempotent on
    the specimen (a replayed event changes nothing). Symptom-free until someone reports otherwise, so the case
    starts as an asymptomatic infection unless the person reported fever in the last two weeks."""
    if Case.objects.filter(specimen_id=specimen_id).exists():
        return None
    person = Person.objects.filter(pk=person_id).first()
    if person is None:
        return None
    disease = default_disease()
    with transaction.atomic():
        existing = _open_case_of(person_id, disease)
        if existing is not None:
            if existing.first_positive_at is None or sampled_at < existing.first_positive_at:
                existing.first_positive_at = sampled_at
                existing.save(update_fields=["first_positive_at", "updated_at"])
                audit_record(
                    actor=None, action="case.positive_added", obj=existing, detail={"specimen": specimen_id}
                )
                case_trace(actor=None, case=existing)
            return existing
        from epigrid.healthcode.models import PersonFacts  # read only: whether the person reported fever

        fever_at = PersonFacts.objects.filter(pk=person_id).values_list("fever_at", flat=True).first()
        feverish = fever_at is not None and fever_at > sampled_at - dt.timedelta(days=14)
        return case_create(
            actor=None,
            person=person,
            classification=Classification.CONFIRMED if feverish else Classification.ASYMPTOMATIC,
            disease_code=disease,
            first_positive_at=sampled_at,
            origin=CaseOrigin.SPECIMEN,
            specimen_id=specimen_id,
        )


def case_suspected_from_quarantine(*, person_id: int, at: dt.datetime) -> Case | None:
    """A person in quarantine reported fever or symptoms: a suspected case for the epidemiologists, unless
    they have an open case already. Not traced automatically (see the handler)."""
    person = Person.objects.filter(pk=person_id).first()
    if person is None or _open_case_of(person_id, default_disease()) is not None:
        return None
    return case_create(
        actor=None,
        person=person,
        classification=Classification.SUSPECTED,
        onset_date=timezone.localdate(at),
        notes=_("Symptoms reported in quarantine."),
        origin=CaseOrigin.QUARANTINE,
        trace=False,
    )


CASE_FIELDS = (
    "classification",
    "onset_date",
    "first_positive_at",
    "isolated_at",
    "outcome",
    "status",
    "notes",
)


def case_update(*, actor: User | None, case: Case, investigator: User | None = None, **changes: Any) -> Case:
    """Change a case's facts. Classification and outcome changes publish what the health code needs; a change
    of the dates that define the infectious window traces the case again."""
    _require(actor)
    unknown = set(changes) - set(CASE_FIELDS)
    if unknown:
        raise DomainError(_("Unknown fields: %(names)s") % {"names": ", ".join(sorted(unknown))})
    if case.merged_into_id:
        raise Conflict(_("This case was merged into case #%(id)s.") % {"id": case.merged_into_id})
    if "classification" in changes and changes["classification"] not in Classification.values:
        raise DomainError(_("Unknown classification."), field="classification")
    if "outcome" in changes and changes["outcome"] not in Outcome.values:
        raise DomainError(_("Unknown outcome."), field="outcome")
    if "status" in changes and changes["status"] not in set(InvestigationStatus.values) - {"merged"}:
        raise DomainError(_("Unknown investigation status."), field="status")
    _validate_dates(
        onset_date=changes.get("onset_date", case.onset_date),
        first_positive_at=changes.get("first_positive_at", case.first_positive_at),
        isolated_at=changes.get("isolated_at", case.isolated_at),
    )
    before = {name: getattr(case, name) for name in changes}
    with transaction.atomic():
        for name, value in changes.items():
            setattr(case, name, value)
        fields = [*changes, "updated_at"]
        if investigator is not None:
            case.investigator = investigator
            fields.append("investigator")
        case.save(update_fields=fields)
        changed = {k: str(v) for k, v in changes.items() if before[k] != v}
        audit_record(actor=actor, action="case.update", obj=case, detail={"changed": changed})
        if "classification" in changed:
            if case.classification in INFECTED:
                _publish_case(case)
            elif before["classification"] in INFECTED:
                events.publish(
                    "case.excluded",
                    payload={
                        "case_id": case.pk,
                        "person_id": case.person_id,
                        "at": timezone.now().isoformat(),
                    },
                    org_code=case.org_code,
                )
        if changed.get("outcome") == Outcome.RECOVERED:
            events.publish(
                "case.recovered",
                payload={"case_id": case.pk, "person_id": case.person_id, "at": timezone.now().isoformat()},
                org_code=case.org_code,
            )
        if {"onset_date", "first_positive_at", "isolated_at"} & set(changed):
            case_trace(actor=actor, case=case)
    return case


def case_merge(*, actor: User | None, keep: Case, drop: Case) -> Case:
    """Two case records are one infection (one person registered twice, or a duplicate entry): the trajectory,
    contacts and links of ``drop`` move to ``keep``, ``drop`` stays as a pointer, and ``keep`` is traced
    again with both person records' check-ins."""
    _require(actor)
    if keep.pk == drop.pk:
        raise DomainError(_("A case cannot be merged with itself."))
    if keep.merged_into_id or drop.merged_into_id:
        raise Conflict(_("One of these cases was already merged."))
    with transaction.atomic():
        if drop.person_id != keep.person_id:
            keep.merged_person_ids = sorted(
                {*keep.merged_person_ids, drop.person_id, *drop.merged_person_ids}
            )
        for name in ("onset_date", "first_positive_at"):
            mine, theirs = getattr(keep, name), getattr(drop, name)
            if theirs is not None and (mine is None or theirs < mine):
                setattr(keep, name, theirs)
        if drop.isolated_at and (keep.isolated_at is None or drop.isolated_at < keep.isolated_at):
            keep.isolated_at = drop.isolated_at
        keep.save()
        TrajectoryEntry.objects.filter(case=drop, source=StaySource.INTERVIEW).update(case=keep)
        TrajectoryEntry.objects.filter(case=drop).delete()  # check-in copies are taken again by the trace
        kept_people = set(Contact.objects.filter(case=keep).values_list("person_id", flat=True))
        Contact.objects.filter(case=drop).exclude(person_id__in=kept_people).update(case=keep)
        Contact.objects.filter(case=drop).delete()
        Contact.objects.filter(case=keep, person_id__in=keep.person_ids).delete()
        for link in CaseLink.objects.filter(source=drop) | CaseLink.objects.filter(target=drop):
            source = keep if link.source_id == drop.pk else link.source
            target = keep if link.target_id == drop.pk else link.target
            if source.pk != target.pk:
                CaseLink.objects.get_or_create(
                    source=source,
                    target=target,
                    defaults={"kind": link.kind, "evidence": link.evidence, "org_code": target.org_code},
                )
            link.delete()
        drop.merged_into, drop.status = keep, InvestigationStatus.MERGED
        drop.save(update_fields=["merged_into", "status", "updated_at"])
        audit_record(actor=actor, action="case.merge", obj=keep, detail={"merged": drop.pk})
        case_trace(actor=actor, case=keep)
    return keep


# --- trajectory -----------------------------------------------------------------------------------------


def trajectory_add(
    *,
    actor: User | None,
    case: Case,
    start: dt.datetime,
    end: dt.datetime,
    venue: Venue | None = None,
    place: str = "",
    lat: float | None = None,
    lng: float | None = None,
    note: str = "",
) -> TrajectoryEntry:
    """A place the case named in the interview. With a venue it takes part in tracing (traced again now)."""
    _require(actor)
    place = (place or "").strip()
    if venue is None and not place:
        raise DomainError(_("Name the place or choose a venue."), field="place")
    if end <= start:
        raise DomainError(_("The end must be after the start."), field="end")
    if start > timezone.now():
        raise DomainError(_("Times cannot be in the future."), field="start")
    max_stay = dt.timedelta(hours=float(general_rule("checkin_max_stay_hours", 24)))
    if end - start > max_stay:
        raise DomainError(
            _("A stay is at most %(hours)s hours; enter longer ones day by day.")
            % {"hours": int(max_stay.total_seconds() // 3600)},
            field="end",
        )
    for value, low, high, name in ((lat, -90, 90, "lat"), (lng, -180, 180, "lng")):
        if value is not None and not low <= value <= high:
            raise DomainError(_("Coordinates are out of range."), field=name)
    with transaction.atomic():
        entry = TrajectoryEntry.objects.create(
            case=case,
            org_code=case.org_code,
            source=StaySource.INTERVIEW,
            person_id=case.person_id,
            venue=venue,
            place=place or (venue.name if venue else ""),
            lat=lat if lat is not None else (venue.lat if venue else None),
            lng=lng if lng is not None else (venue.lng if venue else None),
            start=start,
            end=end,
            note=note[:300],
            created_by=actor if actor is not None and actor.pk else None,
        )
        audit_record(actor=actor, action="case.trajectory_add", obj=case, detail={"entry": entry.pk})
        if venue is not None:
            case_trace(actor=actor, case=case)
    return entry


def trajectory_remove(*, actor: User | None, entry: TrajectoryEntry) -> None:
    """Remove an interview entry (a check-in is evidence and stays)."""
    _require(actor)
    if entry.source != StaySource.INTERVIEW:
        raise DomainError(_("Check-ins cannot be removed from a trajectory."))
    case = entry.case
    with transaction.atomic():
        had_venue = entry.venue_id is not None
        entry.delete()
        audit_record(actor=actor, action="case.trajectory_remove", obj=case, detail={"place": entry.place})
        if had_venue:
            case_trace(actor=actor, case=case)


def _copy_checkins(case: Case, window: tuple[dt.datetime, dt.datetime], max_stay: dt.timedelta) -> None:
    """Copy the case's check-ins inside the window into its trajectory, once each: the evidence must outlive
    the check-in retention period."""
    have = set(
        TrajectoryEntry.objects.filter(case=case, checkin_id__isnull=False).values_list(
            "checkin_id", flat=True
        )
    )
    rows = (
        CheckIn.objects.filter(
            person_id__in=case.person_ids,
            scanned_at__lt=window[1],
            scanned_at__gte=window[0] - max_stay,
            leave_at__gt=window[0],
        )
        .exclude(pk__in=have)
        .select_related("venue")
    )
    TrajectoryEntry.objects.bulk_create(
        [
            TrajectoryEntry(
                case=case,
                org_code=case.org_code,
                source=StaySource.CHECKIN,
                checkin_id=row.pk,
                person_id=row.person_id,
                venue_id=row.venue_id,
                place=row.venue.name,
                lat=row.venue.lat,
                lng=row.venue.lng,
                start=row.scanned_at,
                end=row.leave_at,
            )
            for row in rows
        ]
    )


# --- tracing --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TraceResult:
    close: int
    secondary: int
    companions: int
    added: int
    removed: int
    notified: int
    window: tuple[dt.datetime, dt.datetime]


def case_trace(
    *, actor: User | None, case: Case, now: dt.datetime | None = None, companions: bool = False
) -> TraceResult:
    """Compute the case's contacts from its trajectory and store them: new people added, tiers and evidence
    of known ones updated, people no longer found removed unless already notified. Contacts who are cases
    themselves link the two cases (the earlier one as the source).

    ``companions`` also looks for spatio-temporal companions (same 800 m cell): a wider net the
    epidemiologist casts by choice; they are listed for review, not notified automatically, and a trace
    without this option leaves the ones found earlier in place."""
    _require(actor)
    if case.merged_into_id:
        raise Conflict(_("This case was merged into case #%(id)s.") % {"id": case.merged_into_id})
    rules = tracing.Rules.for_disease(case.disease_code)
    window = case_window(case, now=now)
    with transaction.atomic():
        Case.objects.select_for_update().filter(pk=case.pk).first()  # one trace of a case at a time
        _copy_checkins(case, window, rules.max_stay)
        stays = tracing.clip(
            (
                tracing.Stay(case.person_id, venue_id, start, end)
                for venue_id, start, end in TrajectoryEntry.objects.filter(
                    case=case, venue_id__isnull=False
                ).values_list("venue_id", "start", "end")
            ),
            *window,
        )
        existing = {c.person_id: c for c in Contact.objects.filter(case=case)}
        isolated = {pk: c.notified_at for pk, c in existing.items() if c.notified_at}
        found_map: dict[int, tracing.Found] = {}
        if case.classification != Classification.EXCLUDED:  # an excluded case has no contacts
            found_map = tracing.trace(
                case_person_ids=case.person_ids, stays=stays, window=window, rules=rules, isolated=isolated
            )
            if companions:
                found_map.update(
                    tracing.companions(
                        stays,
                        rules=tracing.CompanionRules.for_disease(case.disease_code),
                        max_stay=rules.max_stay,
                        exclude=set(case.person_ids) | set(found_map),
                    )
                )
        # Companions not looked for this time stay as an earlier search found them.
        keep = set() if companions else {Tier.COMPANION.value}
        added, removed = _store_contacts(case, found_map, existing, rules, keep_tiers=keep)
        case.window_start, case.window_end, case.traced_at = window[0], window[1], timezone.now()
        if case.status == InvestigationStatus.PENDING:
            case.status = InvestigationStatus.IN_PROGRESS
        case.save(update_fields=["window_start", "window_end", "traced_at", "status", "updated_at"])
        _link_to_contact_cases(case, actor=actor)
        tiers = defaultdict(int)
        for entry in found_map.values():
            tiers[entry.tier] += 1
        audit_record(
            actor=actor,
            action="case.trace",
            obj=case,
            detail={**tiers, "added": added, "removed": removed, "companion_search": companions},
        )
        notified = 0
        if bool(general_rule("tracing_auto_notify", True)):
            notified = contacts_notify(actor=actor, case=case)
    return TraceResult(
        tiers["close"], tiers["secondary"], tiers["companion"], added, removed, notified, window
    )


def _store_contacts(
    case: Case,
    found: dict[int, tracing.Found],
    existing: dict[int, Contact],
    rules: tracing.Rules,
    *,
    keep_tiers: set[str],
) -> tuple[int, int]:
    venue_ids = {e.venue_id for entry in found.values() for e in entry.exposures}
    venues = {v.pk: v for v in Venue.objects.filter(pk__in=venue_ids).only("pk", "name", "type")}
    people = dict(Person.objects.filter(pk__in=list(found)).values_list("pk", "org_code"))
    household_weight = float(rules.weights.get("household", 2.0))
    to_create, to_update = [], []
    for person_id, entry in found.items():
        evidence = [
            {
                "rule": "household",
                "via_person_id": via,
                "start": start.isoformat(),
                "end": end.isoformat(),
            }
            for via, start, end in entry.household_via
        ] + [
            {
                "rule": "companion" if entry.tier == Tier.COMPANION else "venue",
                "venue_id": e.venue_id,
                "venue": venues[e.venue_id].name if e.venue_id in venues else "",
                "start": e.start.isoformat(),
                "end": e.end.isoformat(),
                "minutes": round(e.minutes, 1),
                "via_person_id": e.via_person_id,
            }
            for e in entry.exposures
        ]
        strongest = entry.strongest
        score = sum(
            e.minutes * float(rules.weights.get(venues[e.venue_id].type, 1.0))
            if e.venue_id in venues
            else e.minutes
            for e in entry.exposures
        ) + (household_weight * 24 * 60 if entry.household_via else 0)
        values = {
            "tier": entry.tier,
            "rule": entry.rule,
            "venue_id": strongest.venue_id if strongest else None,
            "overlap_minutes": int(strongest.minutes) if strongest else 0,
            "first_exposure_at": entry.first_exposure_at,
            "last_exposure_at": entry.last_exposure_at,
            "score": round(score, 1),
            "evidence": evidence,
        }
        contact = existing.get(person_id)
        if contact is None:
            to_create.append(
                Contact(
                    case=case, person_id=person_id, org_code=people.get(person_id, case.org_code), **values
                )
            )
        else:
            for name, value in values.items():
                setattr(contact, name, value)
            to_update.append(contact)
    Contact.objects.bulk_create(to_create, batch_size=500)
    if to_update:
        Contact.objects.bulk_update(
            to_update,
            [
                "tier",
                "rule",
                "venue_id",
                "overlap_minutes",
                "first_exposure_at",
                "last_exposure_at",
                "score",
                "evidence",
            ],
            batch_size=500,
        )
    # Secondary contacts name their close contact (``via``) once all rows exist.
    by_person = {c.person_id: c for c in Contact.objects.filter(case=case)}
    vias = []
    for person_id, entry in found.items():
        contact = by_person[person_id]
        via = by_person.get(entry.via_person_id) if entry.tier == Tier.SECONDARY else None
        if (via.pk if via else None) != contact.via_id:
            contact.via = via
            vias.append(contact)
    Contact.objects.bulk_update(vias, ["via"], batch_size=500)
    gone = [
        c.pk
        for pk, c in existing.items()
        if pk not in found and c.status == ContactStatus.IDENTIFIED and c.tier not in keep_tiers
    ]
    Contact.objects.filter(pk__in=gone).delete()
    return len(to_create), len(gone)


# --- actions on contacts --------------------------------------------------------------------------------


def contacts_notify(*, actor: User | None, case: Case, contact_ids: list[int] | None = None) -> int:
    """Publish ``contact.identified`` for contacts not notified yet (health codes turn red), one event per
    tier carrying each person's last exposure; returns how many were notified."""
    _require(actor)
    qs = Contact.objects.filter(
        case=case, status=ContactStatus.IDENTIFIED, tier__in=(Tier.CLOSE, Tier.SECONDARY)
    )
    if contact_ids is not None:
        qs = qs.filter(pk__in=contact_ids)
    contacts = list(qs)
    if not contacts:
        return 0
    now = timezone.now()
    by_tier: dict[str, list[Contact]] = defaultdict(list)
    for contact in contacts:
        by_tier[contact.tier].append(contact)
    with transaction.atomic():
        # Secondary first: a person who is both reaches the health code as a close contact last.
        for tier in (Tier.SECONDARY, Tier.CLOSE):
            group = by_tier.get(tier, [])
            if group:
                events.publish(
                    "contact.identified",
                    payload={
                        "case_id": case.pk,
                        "tier": tier,
                        "person_ids": [c.person_id for c in group],
                        "people": [[c.person_id, c.last_exposure_at.isoformat()] for c in group],
                        "at": now.isoformat(),
                    },
                    org_code=case.org_code,
                )
        Contact.objects.filter(pk__in=[c.pk for c in contacts]).update(
            status=ContactStatus.NOTIFIED, notified_at=now
        )
        audit_record(actor=actor, action="case.contacts_notify", obj=case, detail={"count": len(contacts)})
    return len(contacts)


def contacts_dispatch(
    *,
    actor: User | None,
    case: Case,
    quarantine: bool = True,
    grid_tasks: bool = True,
    contact_ids: list[int] | None = None,
) -> int:
    """One click: send the contacts to quarantine placement and/or create a task per contact's grid.

    Publishes ``contacts.quarantine_requested`` (one event, every person with tier and last exposure, which
    the quarantine module places) and ``contacts.grid_task_requested`` per grid (which the grid module turns
    into tasks for that grid's workers). Contacts not yet notified are notified first."""
    _require(actor)
    if not (quarantine or grid_tasks):
        raise DomainError(_("Choose quarantine placement, grid tasks or both."))
    contacts_notify(actor=actor, case=case, contact_ids=contact_ids)
    qs = Contact.objects.filter(case=case, status=ContactStatus.NOTIFIED).select_related("person")
    if contact_ids is not None:
        qs = qs.filter(pk__in=contact_ids)
    contacts = list(qs)
    if not contacts:
        return 0
    people = [
        {"person_id": c.person_id, "tier": c.tier, "last_exposure_at": c.last_exposure_at.isoformat()}
        for c in contacts
    ]
    with transaction.atomic():
        if quarantine:
            events.publish(
                "contacts.quarantine_requested",
                payload={"case_id": case.pk, "people": people},
                org_code=case.org_code,
            )
        if grid_tasks:
            by_grid: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for contact, item in zip(contacts, people, strict=True):
                by_grid[contact.org_code].append(item)
            for org_code, items in sorted(by_grid.items()):
                events.publish(
                    "contacts.grid_task_requested",
                    payload={"case_id": case.pk, "people": items, "task": "contact_control"},
                    org_code=org_code,
                )
        Contact.objects.filter(pk__in=[c.pk for c in contacts]).update(
            status=ContactStatus.ACTIONED, actioned_at=timezone.now()
        )
        audit_record(
            actor=actor,
            action="case.contacts_dispatch",
            obj=case,
            detail={"count": len(contacts), "quarantine": quarantine, "grid_tasks": grid_tasks},
        )
    return len(contacts)


# --- links and chains -----------------------------------------------------------------------------------


def _case_time(case: Case) -> dt.datetime:
    if case.onset_date is not None:
        return _local_midnight(case.onset_date)
    return case.first_positive_at or case.created_at


def _link(source: Case, target: Case, kind: str, evidence: dict, actor: User | None) -> CaseLink | None:
    if source.pk == target.pk:
        return None
    if (
        CaseLink.objects.filter(source=source, target=target).exists()
        or CaseLink.objects.filter(source=target, target=source).exists()
    ):
        return None
    link = CaseLink.objects.create(
        source=source,
        target=target,
        kind=kind,
        evidence=evidence,
        org_code=target.org_code,
        created_by=actor if actor is not None and actor.pk else None,
    )
    audit_record(actor=actor, action="case.link", obj=target, detail={"source": source.pk, "kind": kind})
    return link


def _link_from_contacts(case: Case, *, actor: User | None) -> None:
    """The new case was a traced contact of earlier cases: link each of them to it."""
    for contact in Contact.objects.filter(
        person_id__in=case.person_ids, linked_case__isnull=True
    ).select_related("case"):
        if contact.case.merged_into_id or contact.case_id == case.pk:
            continue
        contact.linked_case = case
        contact.save(update_fields=["linked_case", "updated_at"])
        _link(
            contact.case,
            case,
            LinkKind.HOUSEHOLD if contact.rule == "household" else LinkKind.CONTACT,
            {"contact_id": contact.pk, "tier": contact.tier, "evidence": contact.evidence[:5]},
            actor,
        )


def _link_to_contact_cases(case: Case, *, actor: User | None) -> None:
    """Close contacts who are cases themselves: the two cases shared a venue or a home; the earlier case is
    taken as the source."""
    contacts = Contact.objects.filter(case=case, tier=Tier.CLOSE)
    others = {
        c.person_id: c
        for c in Case.objects.filter(
            person_id__in=contacts.values("person_id"), merged_into__isnull=True
        ).exclude(classification=Classification.EXCLUDED)
    }
    for contact in contacts.filter(person_id__in=list(others)):
        other = others[contact.person_id]
        if contact.linked_case_id != other.pk:
            contact.linked_case = other
            contact.save(update_fields=["linked_case", "updated_at"])
        source, target = (other, case) if _case_time(other) <= _case_time(case) else (case, other)
        kind = LinkKind.HOUSEHOLD if contact.rule == "household" else LinkKind.VENUE
        _link(source, target, kind, {"contact_id": contact.pk, "evidence": contact.evidence[:5]}, actor)


def caselink_create(*, actor: User | None, source: Case, target: Case, note: str = "") -> CaseLink:
    """The epidemiologist names ``source`` as where ``target`` was infected."""
    _require(actor)
    if source.pk == target.pk:
        raise DomainError(_("A case cannot be its own source."))
    if source.merged_into_id or target.merged_into_id:
        raise Conflict(_("One of these cases was merged."))
    with transaction.atomic():
        CaseLink.objects.filter(source=target, target=source).delete()
        link, _created = CaseLink.objects.update_or_create(
            source=source,
            target=target,
            defaults={
                "kind": LinkKind.NAMED,
                "evidence": {"note": note[:300]},
                "org_code": target.org_code,
                "created_by": actor if actor is not None and actor.pk else None,
            },
        )
        audit_record(
            actor=actor, action="case.link", obj=target, detail={"source": source.pk, "kind": "named"}
        )
    return link


def caselink_delete(*, actor: User | None, link: CaseLink) -> None:
    _require(actor)
    with transaction.atomic():
        target = link.target
        link.delete()
        audit_record(actor=actor, action="case.unlink", obj=target, detail={"source": link.source_id})
