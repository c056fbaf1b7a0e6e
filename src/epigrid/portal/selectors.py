"""Reads of the resident portal. The resident is the actor: every fact comes through the owning app's
selectors or ``core.scope``, so a resident reads their own records and nobody else's.

The one deliberate widening is the household: a resident sees the members of their own household (the
Household is in their scope through ``members__id``), and an adult of the household sees the health-code
colour and latest test of its members under 18 — a guardian's view. Those two facts are read by person id
after the household check, since the children's records are not in the parent's scope.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from epigrid.checkins import selectors as checkin_selectors
from epigrid.checkins.models import CheckIn
from epigrid.core import notices
from epigrid.core import selectors as core_selectors
from epigrid.core.masking import mask_document, mask_phone
from epigrid.core.models import Household, Person, User
from epigrid.core.roles import Perm, has_perm, is_staff_role
from epigrid.core.scope import scoped
from epigrid.core.selectors import general_rule
from epigrid.healthcode import selectors as healthcode_selectors
from epigrid.healthcode.models import HealthCode
from epigrid.portal.models import CorrectionField, CorrectionRequest, CorrectionStatus
from epigrid.publicity import selectors as publicity_selectors
from epigrid.publicity.models import Announcement
from epigrid.testing import selectors as testing_selectors
from epigrid.testing.models import Recall
from epigrid.testing.selectors import PersonResult
from epigrid.vaccination import selectors as vaccination_selectors
from epigrid.vaccination.models import Booking, VaccinationStatus

ADULT_AGE = 18


def own_person(*, actor: User) -> Person:
    """The resident's own Person; staff and accounts without one may not use the resident pages."""
    if is_staff_role(actor.role) or not actor.person_id:
        raise PermissionDenied(_("This page is for residents with a registered person."))
    try:
        return core_selectors.person_get(actor=actor, pk=actor.person_id)
    except Http404:
        raise PermissionDenied(_("This page is for residents with a registered person.")) from None


def login_choices(*, person_ids: list[int]) -> list[Person]:
    """The persons of a phone number whose code was just verified (that code is the credential), in order."""
    found = {p.pk: p for p in Person.objects.filter(pk__in=person_ids)}
    return [found[pk] for pk in person_ids if pk in found]


def age_on(birth_date: dt.date | None, day: dt.date) -> int | None:
    if birth_date is None:
        return None
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


# --- the home page -------------------------------------------------------------------------------------------


def checkin_retention_days() -> int:
    """How long check-ins are kept (the same rule as ``checkins.services.checkin_purge_expired``)."""
    return int(general_rule("checkin_retention_days", 28))


def my_checkins(*, actor: User) -> QuerySet[CheckIn]:
    """The actor's own check-ins within the retention period, newest first."""
    since = timezone.now() - dt.timedelta(days=checkin_retention_days())
    return checkin_selectors.checkin_list(actor=actor, person_id=actor.person_id, since=since)


@dataclass
class HomeFacts:
    person: Person
    code: HealthCode | None
    latest_result: PersonResult | None
    open_recall: Recall | None
    statuses: list[VaccinationStatus]
    next_booking: Booking | None
    checkins: int
    last_checkin: CheckIn | None
    retention_days: int
    household_size: int
    unread: int
    open_corrections: int
    announcement: Announcement | None  # the first the resident may read: pinned, else the newest
    announcements_today: int


def home_facts(*, actor: User) -> HomeFacts:
    person = own_person(actor=actor)
    results = testing_selectors.person_results(person_id=person.pk)
    record = vaccination_selectors.person_record(actor=actor, person=person)
    open_bookings = sorted(record.open_bookings, key=lambda b: b.slot.starts_at)
    checkins = my_checkins(actor=actor)
    household = _own_household(actor, person)
    announcements = list(publicity_selectors.public_announcements(viewer=actor)[:50])
    return HomeFacts(
        person=person,
        code=healthcode_selectors.health_code_list(actor=actor).filter(person_id=person.pk).first(),
        latest_result=results[0] if results else None,
        open_recall=testing_selectors.recall_list(actor=actor, open_only=True).filter(person=person).first(),
        statuses=record.statuses,
        next_booking=open_bookings[0] if open_bookings else None,
        checkins=checkins.count(),
        last_checkin=checkins.first(),
        retention_days=checkin_retention_days(),
        household_size=household.members.count() if household else 1,
        unread=notices.unread_count(user=actor),
        open_corrections=my_corrections(actor=actor).filter(status=CorrectionStatus.OPEN).count(),
        announcement=announcements[0] if announcements else None,
        announcements_today=sum(1 for a in announcements if publicity_selectors.is_today(a.shown_at)),
    )


# --- the household -------------------------------------------------------------------------------------------


def _own_household(actor: User, person: Person) -> Household | None:
    if not person.household_id:
        return None
    return scoped(Household.objects.all(), actor).filter(pk=person.household_id).first()


@dataclass
class Member:
    person: Person
    is_self: bool
    age: int | None
    minor: bool
    details: bool  # the guardian's view: colour and latest test are shown
    code: HealthCode | None = None
    latest_result: PersonResult | None = None

    @property
    def birth_year(self) -> int | None:
        return self.person.birth_date.year if self.person.birth_date else None


@dataclass
class HouseholdView:
    household: Household | None
    members: list[Member] = field(default_factory=list)
    viewer_is_adult: bool = False


def household_view(*, actor: User) -> HouseholdView:
    """The actor's household and its members, oldest first; the actor alone without a household."""
    person = own_person(actor=actor)
    today = timezone.localdate()
    viewer_age = age_on(person.birth_date, today)
    adult = viewer_age is not None and viewer_age >= ADULT_AGE
    household = _own_household(actor, person)
    people = list(household.members.order_by("birth_date", "pk")) if household else [person]
    members = []
    for member in people:
        age = age_on(member.birth_date, today)
        minor = age is not None and age < ADULT_AGE
        members.append(
            Member(
                person=member,
                is_self=member.pk == person.pk,
                age=age,
                minor=minor,
                details=member.pk == person.pk or (adult and minor),
            )
        )
    for member in members:
        if member.details:
            member.code = healthcode_selectors.health_code_of(person_id=member.person.pk)
            results = testing_selectors.person_results(person_id=member.person.pk)
            member.latest_result = results[0] if results else None
    return HouseholdView(household=household, members=members, viewer_is_adult=adult)


def household_member(*, actor: User, pk: int) -> Member:
    """One member of the actor's own household; anyone else is a 404, exactly like a missing person."""
    view = household_view(actor=actor)
    member = next((m for m in view.members if m.person.pk == pk), None)
    if member is None:
        raise Http404
    return member


# --- correction requests -------------------------------------------------------------------------------------


def my_corrections(*, actor: User) -> QuerySet[CorrectionRequest]:
    """A resident's own requests (scope: their person), newest first."""
    if is_staff_role(actor.role):
        return CorrectionRequest.objects.none()
    return scoped(CorrectionRequest.objects.all(), actor).order_by("-created_at", "-pk")


def correction_queue(*, actor: User, status: str = CorrectionStatus.OPEN) -> QuerySet[CorrectionRequest]:
    """Requests in the staff actor's area for those who may correct persons; oldest open first."""
    if not has_perm(actor, Perm.PERSON_EDIT):
        return CorrectionRequest.objects.none()
    qs = scoped(CorrectionRequest.objects.select_related("person", "decided_by"), actor)
    if status:
        qs = qs.filter(status=status)
    return (
        qs.order_by("created_at", "pk")
        if status == CorrectionStatus.OPEN
        else qs.order_by("-created_at", "-pk")
    )


def correction_get(*, actor: User, pk: int) -> CorrectionRequest:
    """One request: a resident's own, or one in the area of staff who may correct persons."""
    qs = (
        my_corrections(actor=actor)
        if not is_staff_role(actor.role)
        else correction_queue(actor=actor, status="")
    )
    request = qs.select_related("person", "decided_by").filter(pk=pk).first()
    if request is None:
        raise Http404
    return request


def requested_value_shown(*, actor: User, request: CorrectionRequest) -> str:
    """What a page shows of the value a resident asked for: the resident their own words; staff an ID number
    or phone masked like everywhere else (a phone marked done is written by the service, and an ID number is
    checked against the resident's document, not read off this page)."""
    value = request.requested_value
    if is_staff_role(actor.role):
        if request.field == CorrectionField.ID_NUMBER:
            return mask_document(value)
        if request.field == CorrectionField.PHONE:
            return mask_phone(value)
    return value
