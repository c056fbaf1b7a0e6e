"""Investigation API (contracts.md: ``GET /cases``, ``GET /cases/{id}/contacts``) and the epidemiologist's
writes: open, edit, trace, merge a case; interview places; notify and dispatch contacts; name a source."""

from __future__ import annotations

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Query, Router, Status

from epigrid.core.schemas import ErrorOut
from epigrid.core.selectors import person_get
from epigrid.investigation import selectors, services
from epigrid.investigation.models import Case, Contact, Tier
from epigrid.investigation.schemas import (
    CaseDetailOut,
    CaseIn,
    CaseOut,
    CasePatch,
    ChainOut,
    ContactOut,
    CountOut,
    DispatchIn,
    LinkIn,
    MergeIn,
    TraceOut,
    TrajectoryIn,
    TrajectoryOut,
)
from epigrid.places.models import Venue

router = Router(tags=["investigation"])
ERRORS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}


def _detail(case: Case) -> dict:
    counts = {"close": 0, "secondary": 0}
    for tier in Contact.objects.filter(case=case).values_list("tier", flat=True):
        counts[tier] = counts.get(tier, 0) + 1
    return {
        "id": case.pk,
        "person": case.person,
        "classification": case.classification,
        "created_at": case.created_at,
        "disease": case.disease_code,
        "origin": case.origin,
        "status": case.status,
        "outcome": case.outcome,
        "onset_date": case.onset_date,
        "first_positive_at": case.first_positive_at,
        "isolated_at": case.isolated_at,
        "window_start": case.window_start,
        "window_end": case.window_end,
        "traced_at": case.traced_at,
        "merged_into": case.merged_into_id,
        "contacts": counts,
        "notes": case.notes,
    }


def _contact(contact: Contact) -> dict:
    return {
        "id": contact.pk,
        "person": contact.person,
        "tier": contact.tier,
        "venue": contact.venue.name if contact.venue else None,
        "overlap_minutes": contact.overlap_minutes,
        "source": contact.rule,
        "via": contact.via.person if contact.via else None,
        "first_exposure_at": contact.first_exposure_at,
        "last_exposure_at": contact.last_exposure_at,
        "score": contact.score,
        "status": contact.status,
        "linked_case": contact.linked_case_id,
        "evidence": contact.evidence,
    }


@router.get("cases", response=list[CaseOut])
def case_list(
    request: HttpRequest,
    classification: str = "",
    status: str = "",
    q: str = "",
    limit: int = Query(500, ge=1, le=5000),
    offset: int = Query(0, ge=0),
):
    """Cases in scope, newest first (contracts.md)."""
    cases = selectors.case_list(actor=request.user, classification=classification, status=status, search=q)
    return cases[offset : offset + limit]


@router.post("cases", response={201: CaseDetailOut, **ERRORS})
def case_create(request: HttpRequest, payload: CaseIn):
    person = person_get(actor=request.user, pk=payload.person_id)
    case = services.case_create(actor=request.user, **payload.dict(exclude={"person_id"}), person=person)
    return Status(201, _detail(case))


@router.get("cases/{case_id}", response={200: CaseDetailOut, **ERRORS})
def case_detail(request: HttpRequest, case_id: int):
    return _detail(selectors.case_get(actor=request.user, pk=case_id))


@router.patch("cases/{case_id}", response={200: CaseDetailOut, **ERRORS})
def case_update(request: HttpRequest, case_id: int, payload: CasePatch):
    case = selectors.case_get(actor=request.user, pk=case_id)
    changes = payload.dict(exclude_unset=True)
    services.case_update(actor=request.user, case=case, **changes)
    return _detail(selectors.case_get(actor=request.user, pk=case_id))


@router.post("cases/{case_id}/trace", response={200: TraceOut, **ERRORS})
def case_trace(request: HttpRequest, case_id: int, companions: bool = False):
    """Trace the case again (after new check-ins or interview places); ``companions=true`` also searches for
    spatio-temporal companions (same 800 m cell)."""
    case = selectors.case_get(actor=request.user, pk=case_id)
    result = services.case_trace(actor=request.user, case=case, companions=companions)
    return result.__dict__


@router.post("cases/{case_id}/merge", response={200: CaseDetailOut, **ERRORS})
def case_merge(request: HttpRequest, case_id: int, payload: MergeIn):
    keep = selectors.case_get(actor=request.user, pk=case_id)
    drop = selectors.case_get(actor=request.user, pk=payload.other_case_id)
    return _detail(services.case_merge(actor=request.user, keep=keep, drop=drop))


@router.get("cases/{case_id}/contacts", response={200: list[ContactOut], **ERRORS})
def case_contacts(request: HttpRequest, case_id: int, tier: str = ""):
    """The case's contacts with their evidence, close before secondary, strongest first (contracts.md:
    tiers close and secondary). Spatio-temporal companions, a wider net cast on request, only with
    ``?tier=companion``."""
    case = selectors.case_get(actor=request.user, pk=case_id)
    contacts = selectors.case_contacts(actor=request.user, case=case, tier=tier)
    if not tier:
        contacts = contacts.filter(tier__in=(Tier.CLOSE, Tier.SECONDARY))
    return [_contact(c) for c in contacts]


@router.post("cases/{case_id}/contacts/notify", response={200: CountOut, **ERRORS})
def contacts_notify(request: HttpRequest, case_id: int):
    case = selectors.case_get(actor=request.user, pk=case_id)
    return {"count": services.contacts_notify(actor=request.user, case=case)}


@router.post("cases/{case_id}/contacts/dispatch", response={200: CountOut, **ERRORS})
def contacts_dispatch(request: HttpRequest, case_id: int, payload: DispatchIn):
    case = selectors.case_get(actor=request.user, pk=case_id)
    count = services.contacts_dispatch(actor=request.user, case=case, **payload.dict())
    return {"count": count}


@router.get("cases/{case_id}/trajectory", response={200: list[TrajectoryOut], **ERRORS})
def case_trajectory(request: HttpRequest, case_id: int):
    case = selectors.case_get(actor=request.user, pk=case_id)
    return list(selectors.case_trajectory(actor=request.user, case=case))


@router.post("cases/{case_id}/trajectory", response={201: TrajectoryOut, **ERRORS})
def trajectory_add(request: HttpRequest, case_id: int, payload: TrajectoryIn):
    case = selectors.case_get(actor=request.user, pk=case_id)
    data = payload.dict()
    venue_id = data.pop("venue_id")
    venue = get_object_or_404(Venue, pk=venue_id) if venue_id else None
    return Status(201, services.trajectory_add(actor=request.user, case=case, venue=venue, **data))


@router.post("cases/{case_id}/links", response={201: CountOut, **ERRORS})
def case_link(request: HttpRequest, case_id: int, payload: LinkIn):
    """Name another case as this case's source of infection."""
    target = selectors.case_get(actor=request.user, pk=case_id)
    source = selectors.case_get(actor=request.user, pk=payload.source_case_id)
    services.caselink_create(actor=request.user, source=source, target=target, note=payload.note)
    return Status(201, {"count": target.links_in.count()})


@router.get("chains", response=list[ChainOut])
def chain_list(request: HttpRequest):
    """Transmission chains in scope, largest first."""
    return [
        {
            "id": chain.id,
            "size": chain.size,
            "generations": chain.generations,
            "active": chain.active,
            "first_at": chain.first_at,
            "last_at": chain.last_at,
            "case_ids": [c.pk for c in chain.cases],
            "links": [
                {"source": link.source_id, "target": link.target_id, "kind": link.kind}
                for link in chain.links
            ],
        }
        for chain in selectors.chain_list(actor=request.user)
    ]
