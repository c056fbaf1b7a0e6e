"""Medical-waste API for the handlers' phones: label a bag, read a bag and its chain, offer and accept
handovers, and replay scans made offline (each kept or refused with its own message; the good ones kept).

Every write needs ``waste.handle`` and membership of the acting party (the services check it: 403). Bags and
handovers beyond the account's reach answer 404 like missing ones. A label with a ``client_id`` already used,
or a replayed step already recorded, answers with what the first submission made.
"""

from __future__ import annotations

from django.db import transaction
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Router, Status

from epigrid.core.errors import DomainError, Forbidden
from epigrid.core.models import User
from epigrid.core.roles import Perm, has_perm
from epigrid.core.schemas import ErrorOut
from epigrid.medwaste import selectors
from epigrid.medwaste.models import Bag, Handover
from epigrid.medwaste.schemas import (
    AcceptIn,
    BagIn,
    BagOut,
    HandoverIn,
    HandoverOut,
    ReplayIn,
    ReplayOut,
    ReplayResult,
)
from epigrid.medwaste.services import handovers, labels

router = Router(tags=["medical waste"])
ERRORS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}


def _require(user: User, *perms: str) -> None:
    if not any(has_perm(user, p) for p in perms):
        raise Forbidden(_("Your role may not do this."))


def _bag_out(request: HttpRequest, bag: Bag) -> dict:
    return {
        "id": bag.pk,
        "code": bag.code,
        "category": bag.category,
        "weight_g": bag.weight_g,
        "sealed": bag.sealed,
        "producer_id": bag.producer_id,
        "producer": bag.producer.name,
        "handler_name": bag.handler_name,
        "labelled_at": bag.labelled_at,
        "stage": bag.stage,
        "stage_at": bag.stage_at,
        "holder_id": bag.holder_id,
        "holder": bag.holder.name,
        "trip": bag.trip.number if bag.trip_id else None,
        "label_url": labels.label_url(bag, base_url=request.build_absolute_uri("/")),
        "chain": [
            {
                "stage": r.stage,
                "at": r.at,
                "weight_g": r.weight_g,
                "from_party": r.from_party.name if r.from_party_id else None,
                "to_party": r.to_party.name,
                "given_by": r.given_by,
                "taken_by": r.taken_by,
                "trip": r.trip.number if r.trip_id else None,
                "anomaly": r.anomaly,
            }
            for r in selectors.bag_chain(bag)
        ],
    }


def _handover_out(h: Handover) -> dict:
    return {
        "id": h.pk,
        "code": h.code,
        "stage": h.stage,
        "status": h.status,
        "from_party_id": h.from_party_id,
        "to_party_id": h.to_party_id,
        "trip": h.trip.number if h.trip_id else None,
        "bags": sorted(h.bags.values_list("code", flat=True)),
        "offered_at": h.offered_at,
        "accepted_at": h.accepted_at,
    }


def _my_party(user: User, pk: int | None):
    party = selectors.my_parties(actor=user).filter(pk=pk).first() if pk is not None else None
    if party is None:
        raise Http404
    return party


def _bags(user: User, codes: list[str]) -> list[Bag]:
    wanted = [labels.code_from_scan(c) for c in codes]
    found = {b.code: b for b in selectors.bag_list(actor=user).filter(code__in=wanted)}
    for code in wanted:
        if code not in found:
            raise DomainError(_("No bag %(code)s is within your reach.") % {"code": code}, field="bags")
    return [found[c] for c in wanted]


@router.post("waste/bags", response={200: BagOut, 201: BagOut, **ERRORS})
def bag_label(request: HttpRequest, payload: BagIn):
    """Label a bag at a producer the account acts for: 201 with its code and label URL (the QR's text)."""
    user = request.user
    _require(user, Perm.WASTE_HANDLE)
    started = timezone.now()
    producer = _my_party(user, payload.party_id)
    bag = labels.bag_label(
        actor=user,
        producer=producer,
        category=payload.category,
        weight_g=payload.weight_g,
        sealed=payload.sealed,
        handler_name=payload.handler_name,
        client_id=payload.client_id,
        labelled_at=payload.labelled_at,
    )
    bag = selectors.bag_get(actor=user, pk=bag.pk)
    fresh = bag.records.filter(recorded_at__gte=started).exists()
    return Status(201 if fresh else 200, _bag_out(request, bag))


@router.get("waste/bags/{code}", response={200: BagOut, **ERRORS})
def bag_detail(request: HttpRequest, code: str):
    """A bag and its chain of custody, by its label code (typed or the QR's text)."""
    _require(request.user, Perm.WASTE_VIEW, Perm.WASTE_HANDLE)
    return _bag_out(request, selectors.bag_get(actor=request.user, code=labels.code_from_scan(code)))


@router.post("waste/handovers", response={201: HandoverOut, **ERRORS})
def handover_offer(request: HttpRequest, payload: HandoverIn):
    """Offer bags held by one of the account's parties to the next party of the chain."""
    user = request.user
    _require(user, Perm.WASTE_HANDLE)
    giver = _my_party(user, payload.from_party_id)
    receiver = selectors.party_list(actor=user).filter(pk=payload.to_party_id).first()
    if receiver is None:
        raise Http404
    bags = _bags(user, payload.bags)
    made = handovers.handover_offer(
        actor=user, from_party=giver, to_party=receiver, bags=bags, stage=payload.stage
    )
    return Status(201, _handover_out(made))


@router.post("waste/handovers/{code}/accept", response={200: HandoverOut, **ERRORS})
def handover_accept(request: HttpRequest, code: str, payload: AcceptIn):
    """Accept an offer to one of the account's parties with the weights measured (grams per label code;
    the last weight where not given). Collection needs the driver's trip (``trip_id``)."""
    user = request.user
    _require(user, Perm.WASTE_HANDLE)
    handover = selectors.handover_get(actor=user, code=code)
    by_code = dict(handover.bags.values_list("code", "pk"))
    weights = {}
    for label, grams in (payload.weights or {}).items():
        try:
            bag_code = labels.code_from_scan(label)
        except DomainError:
            bag_code = label
        if bag_code not in by_code:
            raise DomainError(
                _("A weight was given for a bag that is not in this handover."), field="weights"
            )
        weights[by_code[bag_code]] = grams
    trip = selectors.trip_list(actor=user).filter(pk=payload.trip_id).first() if payload.trip_id else None
    if payload.trip_id and trip is None:
        raise Http404
    done = handovers.handover_accept(
        actor=user,
        handover=handover,
        weights=weights,
        trip=trip,
        client_id=payload.client_id,
        happened_at=payload.happened_at,
    )
    return _handover_out(done)


@router.post("waste/replay", response={200: ReplayOut, **ERRORS})
def replay(request: HttpRequest, payload: ReplayIn):
    """Steps scanned while the phone was offline, in the order scanned. Each is kept (a skipped or earlier
    step is kept and marked) or refused with its own message; one refusal does not undo the others."""
    user = request.user
    _require(user, Perm.WASTE_HANDLE)
    results = []
    for item in payload.items:
        try:
            with transaction.atomic():
                party = _my_party(user, item.party_id) if item.party_id is not None else None
                trip = (
                    selectors.trip_list(actor=user).filter(pk=item.trip_id).first() if item.trip_id else None
                )
                if item.trip_id and trip is None:
                    raise DomainError(_("Trip not found."), field="trip_id")
                record, created = handovers.custody_replay(
                    actor=user,
                    bag_code=item.bag_code,
                    stage=item.stage,
                    happened_at=item.happened_at,
                    weight_g=item.weight_g,
                    client_id=item.client_id,
                    party=party,
                    trip=trip,
                    given_by=item.given_by,
                )
        except DomainError as err:
            results.append(ReplayResult(client_id=item.client_id, ok=False, detail=err.message))
        except Http404:
            results.append(ReplayResult(client_id=item.client_id, ok=False, detail=_("Party not found.")))
        else:
            results.append(
                ReplayResult(
                    client_id=item.client_id,
                    ok=True,
                    created=created,
                    record_id=record.pk,
                    stage=record.stage,
                    anomaly=record.anomaly,
                )
            )
    kept = sum(1 for r in results if r.ok)
    return {"kept": kept, "refused": len(results) - kept, "results": results}
