"""Testing API (contracts.md): tubes, specimens, sealing, lab results, a resident's own results."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Status

from epigrid.core.errors import DomainError
from epigrid.core.schemas import ErrorOut
from epigrid.core.services import PersonInput
from epigrid.healthcode.codes import verify_personal_code
from epigrid.testing import selectors, services
from epigrid.testing.models import Tube
from epigrid.testing.schemas import (
    MyResultOut,
    PendingOut,
    ResultRowIn,
    ResultRowOut,
    SpecimenIn,
    SpecimenOut,
    TubeIn,
    TubeOut,
    TubesIn,
)

router = Router(tags=["testing"])
ERRORS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}


def _tube(tube: Tube) -> dict:
    return {
        "barcode": tube.barcode,
        "pool_size": tube.pool_size,
        "status": tube.status,
        "count": tube.specimens.count(),
        "result": tube.result,
    }


@router.post("testing/tubes", response={200: TubeOut, 201: TubeOut, **ERRORS})
def tube_register(request: HttpRequest, payload: TubeIn):
    """Open a tube; a replay with the same ``client_id`` returns it (200) instead of a 409 for the barcode."""
    before = Tube.objects.filter(client_id=payload.client_id).exists() if payload.client_id else False
    tube = services.tube_register(
        actor=request.user, barcode=payload.barcode, pool_size=payload.pool_size, client_id=payload.client_id
    )
    return Status(200 if before else 201, _tube(tube))


@router.get("testing/tubes/{barcode}", response={200: TubeOut, **ERRORS})
def tube_detail(request: HttpRequest, barcode: str):
    return _tube(selectors.tube_by_barcode(actor=request.user, barcode=barcode))


@router.post("testing/tubes/{barcode}/specimens", response={200: SpecimenOut, 201: SpecimenOut, **ERRORS})
def specimen_add(request: HttpRequest, barcode: str, payload: SpecimenIn):
    """Add a person by typed/OCR details or by their personal code; a new person is registered on the way."""
    tube = selectors.tube_by_barcode(actor=request.user, barcode=barcode)
    person = None
    data = None
    if payload.code:
        checked = verify_personal_code(payload.code)
        if not checked.valid:
            raise DomainError(checked.detail, field="code")
        from epigrid.core.models import Person

        person = Person.objects.get(pk=checked.person_id)
    elif payload.person is not None:
        data = PersonInput(**payload.person.dict())
    result = services.specimen_add(
        actor=request.user,
        tube=tube,
        client_id=payload.client_id,
        person=person,
        person_data=data,
        method="code" if payload.code else payload.method,
    )
    body = {
        "id": result.specimen.pk,
        "tube": _tube(result.specimen.tube),
        "person": {"id": result.specimen.person_id, "name": result.specimen.person.name_masked},
        "sealed": result.sealed,
    }
    return Status(201 if result.created else 200, body)


@router.post("testing/tubes/{barcode}/seal", response={200: TubeOut, **ERRORS})
def tube_seal(request: HttpRequest, barcode: str):
    tube = selectors.tube_by_barcode(actor=request.user, barcode=barcode)
    return _tube(services.tube_seal(actor=request.user, tube=tube))


@router.post("testing/results", response={200: list[ResultRowOut], **ERRORS})
def results(request: HttpRequest, payload: list[ResultRowIn]):
    """One row per tube; each row's outcome says what happened (a bad row does not lose the good ones)."""
    rows = [row.dict() for row in payload]
    return [o.__dict__ for o in services.results_submit(actor=request.user, rows=rows)]


@router.get("testing/results/pending", response={200: list[PendingOut], **ERRORS})
def results_pending(request: HttpRequest, limit: int = 500, offset: int = 0):
    """Results awaiting confirmation by a second lab user (policy ``testing_dual_confirmation``)."""
    tubes = selectors.pending_results(actor=request.user)[offset : offset + max(1, min(limit, 5000))]
    return [
        {
            "tube": t.barcode,
            "result": t.pending_result,
            "tested_at": t.pending_tested_at,
            "entered_by": t.pending_by.username if t.pending_by else "",
            "entered_at": t.pending_at,
            "mine": t.pending_by_id == request.user.pk,
        }
        for t in tubes
    ]


@router.post("testing/results/confirm", response={200: list[ResultRowOut], **ERRORS})
def results_confirm(request: HttpRequest, payload: TubesIn):
    """A second lab user confirms pending results: they become final and propagate. Confirming a result
    one entered oneself is a 400 and confirms nothing."""
    outcomes = services.results_confirm(actor=request.user, barcodes=payload.tubes)
    return [o.__dict__ for o in outcomes]


@router.post("testing/results/reject", response={200: list[ResultRowOut], **ERRORS})
def results_reject(request: HttpRequest, payload: TubesIn):
    """Drop pending results (the tubes can be entered again)."""
    outcomes = services.results_reject(actor=request.user, barcodes=payload.tubes, reason=payload.reason)
    return [o.__dict__ for o in outcomes]


@router.get("me/test-results", response=list[MyResultOut])
def my_results(request: HttpRequest):
    """The caller's own results, newest first; ``result`` says what the tube's result means for them."""
    if request.user.person_id is None:
        return []
    return [
        {
            "sampled_at": r.sampled_at,
            "result": r.result,
            "tube_result": r.tube_result,
            "pool_size": r.pool_size,
            "recall_due_at": r.recall_due_at,
        }
        for r in selectors.person_results(person_id=request.user.person_id)
    ]
