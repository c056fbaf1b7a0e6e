"""Requests to correct what the registry holds about a person, and the staff's decision on them.

A resident asks (:func:`correction_request`): which field, what it should be, why. Staff of the person's area
holding ``person.edit`` decide (:func:`correction_decide`). Deciding "corrected" for a phone number or an
address writes the requested value through ``core.services.person_update``; the other fields (name, ID
number, household) are corrected by staff through their own procedures before they mark the request done.
Either way the resident gets an inbox notice with the answer.
"""

from __future__ import annotations

from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from epigrid.core import events
from epigrid.core import selectors as core_selectors
from epigrid.core.audit import audit_record
from epigrid.core.errors import Conflict, DomainError, Forbidden
from epigrid.core.models import User
from epigrid.core.notices import notice_send
from epigrid.core.roles import Perm, has_perm, is_staff_role
from epigrid.core.scope import in_scope_code
from epigrid.core.services import person_update, resident_account_ensure
from epigrid.portal.models import CorrectionField, CorrectionRequest, CorrectionStatus

MAX_OPEN = 5  # open requests per person: enough for real mistakes, not a flood for the community office
VALUE_MAX = 200
TEXT_MAX = 500
NOTICE_KIND = "portal.correction"
# Fields the decision itself corrects, through person_update's keyword of the same name.
APPLIED_FIELDS = (CorrectionField.PHONE, CorrectionField.ADDRESS)


def correction_request(
    *, actor: User, field: str, requested_value: str, reason: str = ""
) -> CorrectionRequest:
    """A resident's request about their own record. Sending the same open request again returns it."""
    if is_staff_role(actor.role) or not actor.person_id:
        raise Forbidden(_("Only residents with a registered person ask for corrections here."))
    person = core_selectors.person_get(actor=actor, pk=actor.person_id)
    if field not in CorrectionField.values:
        raise DomainError(_("Choose what is wrong."), field="field")
    value = " ".join((requested_value or "").split())
    reason = (reason or "").strip()
    if not value:
        raise DomainError(_("Write what it should be."), field="requested_value")
    if len(value) > VALUE_MAX:
        raise DomainError(
            _("What it should be is longer than %(n)d characters.") % {"n": VALUE_MAX},
            field="requested_value",
        )
    if len(reason) > TEXT_MAX:
        raise DomainError(
            _("The explanation is longer than %(n)d characters.") % {"n": TEXT_MAX}, field="reason"
        )
    with transaction.atomic():
        open_requests = list(
            CorrectionRequest.objects.select_for_update().filter(person=person, status=CorrectionStatus.OPEN)
        )
        for existing in open_requests:  # the value is encrypted: compared here, not in the query
            if existing.field == field and existing.requested_value == value:
                return existing
        if len(open_requests) >= MAX_OPEN:
            raise Conflict(
                _("You have %(n)d requests waiting for an answer. Please wait for them first.")
                % {"n": MAX_OPEN}
            )
        made = CorrectionRequest.objects.create(
            person=person,
            field=field,
            requested_value=value,
            reason=reason,
            created_at=timezone.now(),
            org_code=person.org_code,
        )
        # The requested value is personal data: the audit names the field only.
        audit_record(actor=actor, action="correction.request", obj=made, detail={"field": field})
        events.publish("portal.correction_requested", payload={"request_id": made.pk}, org_code=made.org_code)
    return made


def _notify(actor: User, request: CorrectionRequest) -> None:
    account = resident_account_ensure(person=request.person)
    with translation.override(account.language or "zh-hans"):
        field = CorrectionField(request.field).label
        if request.status == CorrectionStatus.DONE:
            title = _("Your correction request was carried out: %(field)s") % {"field": field}
        else:
            title = _("Your correction request was refused: %(field)s") % {"field": field}
        body = request.decision_note or _("No note was given.")
    notice_send(
        actor=actor,
        users=[account],
        kind=NOTICE_KIND,
        title=str(title),
        body=str(body),
        url=reverse("portal:data"),
    )


def correction_decide(
    *, actor: User, request: CorrectionRequest, done: bool, note: str = ""
) -> CorrectionRequest:
    """Mark a request corrected (``done``) or refused, with a note for the resident (required to refuse)."""
    if not has_perm(actor, Perm.PERSON_EDIT) or not in_scope_code(actor, request.org_code):
        raise Forbidden(_("Your role may not do this."))
    note = (note or "").strip()
    if len(note) > TEXT_MAX:
        raise DomainError(_("The answer is longer than %(n)d characters.") % {"n": TEXT_MAX}, field="note")
    if not done and not note:
        raise DomainError(_("Say why the request is refused."), field="note")
    now = timezone.now()
    with transaction.atomic():
        status = CorrectionStatus.DONE if done else CorrectionStatus.REFUSED
        # Compare-and-set: two officers deciding at once cannot both win.
        updated = CorrectionRequest.objects.filter(pk=request.pk, status=CorrectionStatus.OPEN).update(
            status=status, decided_by=actor, decided_at=now, decision_note=note
        )
        if not updated:
            raise Conflict(_("This request was already decided."))
        request.refresh_from_db()
        if done and request.field in APPLIED_FIELDS:
            # person_update validates (a phone must be a mobile number); its error undoes the decision.
            person_update(actor=actor, person=request.person, **{request.field: request.requested_value})
        audit_record(
            actor=actor,
            action="correction.decide",
            obj=request,
            detail={"field": request.field, "done": done},
        )
        events.publish(
            "portal.correction_decided",
            payload={"request_id": request.pk, "done": done},
            org_code=request.org_code,
        )
        _notify(actor, request)
    return request
