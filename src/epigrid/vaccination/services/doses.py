"""Doses: recorded at a site, verified from a self-report, or imported; adverse events after them.

Every change to a person's doses renumbers them in date order and refreshes their ``VaccinationStatus``,
then publishes ``vaccination.dose`` (the health code counts doses; the command center counts today's).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from epigrid.core import events
from epigrid.core.audit import audit_record
from epigrid.core.errors import Conflict, DomainError
from epigrid.core.images import photo_jpeg
from epigrid.core.models import DiseaseProfile, Person, User
from epigrid.core.roles import Perm
from epigrid.core.scope import in_scope_code
from epigrid.vaccination import eligibility
from epigrid.vaccination.models import (
    AdverseEvent,
    AefiOutcome,
    Booking,
    BookingStatus,
    Dose,
    DoseSource,
    SelfReport,
    SelfReportStatus,
    Severity,
    VaccinationSite,
    VaccinationStatus,
    Vaccine,
    VaccineBatch,
)
from epigrid.vaccination.services.common import local_day, require, require_self_or_staff


def _doses_of(person: Person, disease_id: int) -> list[Dose]:
    return list(
        Dose.objects.filter(person=person, disease_id=disease_id)
        .select_related("vaccine")
        .order_by("given_at", "pk")
    )


def status_refresh(person: Person, disease_id: int) -> VaccinationStatus:
    """Renumber the person's doses of the disease and store where they stand (inside the caller's
    transaction); publishes ``vaccination.dose`` with the new count."""
    doses = _doses_of(person, disease_id)
    changed = eligibility.number_doses(doses)
    if changed:
        Dose.objects.bulk_update(changed, ["dose_number", "kind"])
    now = eligibility.standing(doses, person.birth_date)
    status, _made = VaccinationStatus.objects.update_or_create(
        person=person,
        disease_id=disease_id,
        defaults={
            "org_code": person.org_code,
            "doses": now.doses,
            "series_complete": now.series_complete,
            "boosters": now.boosters,
            "last_dose_on": now.last_dose_on,
            "next_due_on": now.next_due_on,
            "next_due_kind": now.next_due_kind,
        },
    )
    events.publish(
        "vaccination.dose",
        payload={
            "person_id": person.pk,
            "disease_id": disease_id,
            "disease": DiseaseProfile.objects.filter(pk=disease_id).values_list("code", flat=True).first(),
            "doses": now.doses,
            "series_complete": now.series_complete,
        },
        org_code=person.org_code,
    )
    return status


def _insert_dose(dose: Dose) -> Dose:
    try:
        with transaction.atomic():
            dose.save()
    except IntegrityError:
        raise Conflict(
            _("A dose against this disease is already recorded for %(day)s.") % {"day": dose.given_on},
            field="given_at",
        ) from None
    return dose


def dose_record(
    *,
    actor: User | None,
    person: Person,
    vaccine: Vaccine,
    batch: VaccineBatch,
    site: VaccinationSite,
    given_at: dt.datetime | None = None,
    booking: Booking | None = None,
    override_reason: str = "",
) -> Dose:
    """Record a dose given at a site. The person must be eligible, unless the vaccinator states a clinical
    reason (``override_reason``, audited). The person's open booking for the disease, if any, is attended."""
    require(actor, Perm.VACCINATION_RECORD)
    if actor is not None and not in_scope_code(actor, person.org_code):
        raise DomainError(_("This person is outside your area."), field="person")
    given_at = given_at or timezone.now()
    if given_at > timezone.now() + dt.timedelta(minutes=5):
        raise DomainError(_("A dose cannot be recorded in the future."), field="given_at")
    day = local_day(given_at)
    if batch.vaccine_id != vaccine.pk:
        raise DomainError(
            _("Batch %(lot)s is not of %(vaccine)s.") % {"lot": batch.lot_number, "vaccine": vaccine.name},
            field="batch",
        )
    if batch.expires_on < day:
        raise DomainError(
            _("Batch %(lot)s expired on %(day)s; do not use it.")
            % {"lot": batch.lot_number, "day": batch.expires_on},
            field="batch",
        )
    if not site.vaccines.filter(pk=vaccine.pk).exists():
        raise DomainError(
            _("%(site)s does not offer %(vaccine)s.") % {"site": site.name, "vaccine": vaccine.name},
            field="vaccine",
        )
    if booking is not None and (booking.person_id != person.pk or booking.status != BookingStatus.BOOKED):
        raise DomainError(_("This booking is not an open booking of this person."), field="booking")
    override_reason = (override_reason or "").strip()[:200]
    with transaction.atomic():
        # One person at a time: two desks recording at once must not both pass the interval check.
        Person.objects.select_for_update().filter(pk=person.pk).first()
        verdict = eligibility.assess(
            birth_date=person.birth_date, vaccine=vaccine, on=day, doses=_doses_of(person, vaccine.disease_id)
        )
        if not verdict.eligible and not override_reason:
            raise DomainError(" ".join(verdict.reasons), field="vaccine")
        booking = (
            booking
            or Booking.objects.filter(
                person=person, disease_id=vaccine.disease_id, status=BookingStatus.BOOKED
            ).first()
        )
        dose = _insert_dose(
            Dose(
                person=person,
                org_code=person.org_code,
                vaccine=vaccine,
                disease_id=vaccine.disease_id,
                dose_number=verdict.dose_number,
                kind=verdict.kind,
                given_at=given_at,
                given_on=day,
                batch=batch,
                lot_number=batch.lot_number,
                site=site,
                place=site.name,
                given_by=actor if actor is not None and actor.pk else None,
                source=DoseSource.RECORDED,
                booking=booking,
                override_reason=override_reason if not verdict.eligible else "",
            )
        )
        if booking is not None:
            Booking.objects.filter(pk=booking.pk).update(
                status=BookingStatus.ATTENDED, updated_at=timezone.now()
            )
        audit_record(
            actor=actor,
            action="vaccination.dose_record",
            obj=dose,
            detail={"override": dose.override_reason, "reasons": verdict.reasons}
            if dose.override_reason
            else {},
        )
        status_refresh(person, vaccine.disease_id)
    dose.refresh_from_db()
    return dose


@dataclass
class ImportedDose:
    """A dose from another system (FHIR import): no batch row, just what the record says."""

    vaccine: Vaccine
    given_at: dt.datetime
    lot_number: str = ""
    place: str = ""
    external_id: str = ""


def doses_import(
    *, actor: User | None, person: Person, items: list[ImportedDose]
) -> list[Dose | DomainError]:
    """Add doses recorded elsewhere; each item is either stored or answered with why not (a dose on a day
    already recorded, a dose in the future). Good items are kept whatever the others do."""
    require(actor, Perm.VACCINATION_RECORD)
    if actor is not None and not in_scope_code(actor, person.org_code):
        raise DomainError(_("This person is outside your area."), field="person")
    outcomes: list[Dose | DomainError] = []
    touched: set[int] = set()
    with transaction.atomic():
        for item in items:
            if item.given_at > timezone.now():
                outcomes.append(DomainError(_("A dose cannot be recorded in the future."), field="given_at"))
                continue
            try:
                dose = _insert_dose(
                    Dose(
                        person=person,
                        org_code=person.org_code,
                        vaccine=item.vaccine,
                        disease_id=item.vaccine.disease_id,
                        dose_number=0,  # numbered by status_refresh
                        given_at=item.given_at,
                        given_on=local_day(item.given_at),
                        lot_number=item.lot_number[:40],
                        place=item.place[:200],
                        source=DoseSource.IMPORT,
                        external_id=item.external_id[:100],
                        given_by=None,
                    )
                )
            except DomainError as err:
                outcomes.append(err)
                continue
            outcomes.append(dose)
            touched.add(item.vaccine.disease_id)
        for disease_id in sorted(touched):
            status_refresh(person, disease_id)
        stored = [o for o in outcomes if isinstance(o, Dose)]
        audit_record(
            actor=actor,
            action="vaccination.doses_import",
            obj=person,
            detail={"stored": len(stored), "refused": len(outcomes) - len(stored)},
        )
    for dose in stored:
        dose.refresh_from_db()
    return outcomes


# --- self-reports ---------------------------------------------------------------------------------------------


def self_report_submit(
    *,
    actor: User | None,
    person: Person,
    vaccine: Vaccine,
    given_on: dt.date,
    place: str,
    photo: bytes,
    lot_number: str = "",
    client_id: uuid.UUID | None = None,
) -> SelfReport:
    """A resident reports a dose received elsewhere, with a photo of the certificate; staff verify it."""
    require_self_or_staff(actor, person, Perm.VACCINATION_RECORD)
    if client_id is not None:
        earlier = SelfReport.objects.filter(client_id=client_id).first()
        if earlier is not None:
            if earlier.person_id != person.pk:
                raise Conflict(_("This submission belongs to another report."), field="client_id")
            return earlier
    place = (place or "").strip()
    if not place:
        raise DomainError(_("Say where the dose was given."), field="place")
    if given_on > timezone.localdate():
        raise DomainError(_("The date of the dose is in the future."), field="given_on")
    if person.birth_date and given_on < person.birth_date:
        raise DomainError(_("The date of the dose is before the birth date."), field="given_on")
    certificate = photo_jpeg(photo)
    with transaction.atomic():
        report = SelfReport.objects.create(
            person=person,
            org_code=person.org_code,
            vaccine=vaccine,
            given_on=given_on,
            place=place[:200],
            lot_number=(lot_number or "").strip().upper()[:40],
            certificate=certificate,
            client_id=client_id,
            submitted_by=actor if actor is not None and actor.pk else None,
        )
        audit_record(actor=actor, action="vaccination.self_report", obj=report)
        events.publish(
            "vaccination.self_reported",
            payload={"report_id": report.pk, "person_id": person.pk},
            org_code=person.org_code,
        )
    return report


def _pending(report: SelfReport) -> SelfReport:
    locked = SelfReport.objects.select_for_update().get(pk=report.pk)
    if locked.status != SelfReportStatus.PENDING:
        raise Conflict(_("This report has been reviewed already."))
    return locked


def _tell(report: SelfReport, title: str, body: str = "") -> None:
    from epigrid.core.notices import notice_send

    account = getattr(report.person, "account", None)
    if account is not None:
        notice_send(
            actor=None,
            users=[account],
            kind="vaccination_self_report",
            title=title,
            body=body,
            url="/vaccination/my/",
        )


def self_report_verify(*, actor: User | None, report: SelfReport) -> Dose:
    """Accept a self-report: the dose joins the person's record (numbered in date order) and counts
    everywhere a recorded dose counts."""
    require(actor, Perm.VACCINATION_RECORD)
    if actor is not None and not in_scope_code(actor, report.org_code):
        raise DomainError(_("This person is outside your area."), field="person")
    tz = timezone.get_current_timezone()
    with transaction.atomic():
        report = _pending(report)
        dose = _insert_dose(
            Dose(
                person=report.person,
                org_code=report.person.org_code,
                vaccine=report.vaccine,
                disease_id=report.vaccine.disease_id,
                dose_number=0,  # numbered by status_refresh
                given_at=dt.datetime.combine(report.given_on, dt.time(12), tzinfo=tz),
                given_on=report.given_on,
                lot_number=report.lot_number,
                place=report.place,
                source=DoseSource.SELF_REPORT,
                given_by=None,
            )
        )
        report.status = SelfReportStatus.VERIFIED
        report.reviewed_by = actor if actor is not None and actor.pk else None
        report.reviewed_at = timezone.now()
        report.dose = dose
        report.save(update_fields=["status", "reviewed_by", "reviewed_at", "dose"])
        audit_record(
            actor=actor, action="vaccination.self_report_verify", obj=report, detail={"dose": dose.pk}
        )
        status_refresh(report.person, report.vaccine.disease_id)
        _tell(report, _("Your reported vaccination of %(day)s has been verified.") % {"day": report.given_on})
    dose.refresh_from_db()
    return dose


def self_report_reject(*, actor: User | None, report: SelfReport, reason: str) -> SelfReport:
    require(actor, Perm.VACCINATION_RECORD)
    if actor is not None and not in_scope_code(actor, report.org_code):
        raise DomainError(_("This person is outside your area."), field="person")
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Give the reason for the rejection; the resident reads it."), field="reason")
    with transaction.atomic():
        report = _pending(report)
        report.status = SelfReportStatus.REJECTED
        report.reason = reason[:200]
        report.reviewed_by = actor if actor is not None and actor.pk else None
        report.reviewed_at = timezone.now()
        report.save(update_fields=["status", "reason", "reviewed_by", "reviewed_at"])
        audit_record(
            actor=actor, action="vaccination.self_report_reject", obj=report, detail={"reason": reason}
        )
        _tell(
            report,
            _("Your reported vaccination of %(day)s was not accepted.") % {"day": report.given_on},
            reason,
        )
    return report


# --- adverse events -------------------------------------------------------------------------------------------


def aefi_report(
    *,
    actor: User | None,
    dose: Dose,
    onset_at: dt.datetime,
    symptoms: str,
    severity: str,
    serious: bool = False,
    outcome: str = AefiOutcome.UNKNOWN,
) -> AdverseEvent:
    """Report an adverse event following a dose. Serious ones raise an alarm in the command center."""
    require(actor, Perm.VACCINATION_RECORD)
    if actor is not None and not in_scope_code(actor, dose.org_code):
        raise DomainError(_("This person is outside your area."), field="person")
    symptoms = (symptoms or "").strip()
    if not symptoms:
        raise DomainError(_("Describe the symptoms."), field="symptoms")
    if severity not in Severity.values:
        raise DomainError(_("Choose a severity."), field="severity")
    if outcome not in AefiOutcome.values:
        raise DomainError(_("Choose an outcome."), field="outcome")
    if onset_at < dose.given_at or onset_at > timezone.now() + dt.timedelta(minutes=5):
        raise DomainError(_("The onset must lie between the dose and now."), field="onset_at")
    serious = (
        serious or severity == Severity.SEVERE or outcome in (AefiOutcome.HOSPITALISED, AefiOutcome.DIED)
    )
    with transaction.atomic():
        event = AdverseEvent.objects.create(
            dose=dose,
            person_id=dose.person_id,
            org_code=dose.org_code,
            onset_at=onset_at,
            symptoms=symptoms[:500],
            severity=severity,
            serious=serious,
            outcome=outcome,
            reported_by=actor if actor is not None and actor.pk else None,
        )
        audit_record(actor=actor, action="vaccination.aefi_report", obj=event)
        events.publish(
            "vaccination.aefi",
            payload={
                "aefi_id": event.pk,
                "dose_id": dose.pk,
                "person_id": dose.person_id,
                "severity": severity,
                "serious": serious,
            },
            org_code=dose.org_code,
        )
    return event
