"""Handovers between the parties of the chain, the plant's incineration, and offline replays.

Stage order: LABELLED → STORED (producer → its institution) → COLLECTED (institution → disposal company, on
a trip) → DELIVERED (company → its plant) → INCINERATED (the plant's own last step). A live step is strict:
the giver offers bags it holds at the stage before, each bag in at most one open offer; the receiver
accepts with the weights it measured. A step replayed from a phone that was offline is always stored (the
bag did move; losing the record is worse) and marked ``missing_step``/``out_of_order``; a replay of a step
already recorded returns that record. Bags are locked (``select_for_update``) so two scans cannot both move
one bag.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable

from django.db import transaction
from django.utils.translation import gettext as _

from epigrid.core import events
from epigrid.core.audit import audit_record
from epigrid.core.errors import Conflict, DomainError, Forbidden
from epigrid.core.models import User
from epigrid.core.scope import scoped
from epigrid.medwaste.models import (
    Bag,
    CustodyRecord,
    Handover,
    HandoverStatus,
    Party,
    PartyKind,
    Stage,
    Trip,
    TripStatus,
)
from epigrid.medwaste.services import chain
from epigrid.medwaste.services.labels import ALPHABET, code_from_scan
from epigrid.medwaste.services.parties import is_plant, person_name, require_member

OFFERABLE = (Stage.STORED, Stage.COLLECTED, Stage.DELIVERED)
MAX_BAGS = 500


def _new_code() -> str:
    while True:
        code = "HO" + "".join(secrets.choice(ALPHABET) for _i in range(8))
        if not Handover.objects.filter(code=code).exists():
            return code


def check_parties(from_party: Party, to_party: Party, stage: str) -> None:
    """The receiver is the next party of the chain for the giver at ``stage``."""
    if stage == Stage.STORED:
        if from_party.kind != PartyKind.PRODUCER or to_party.pk != from_party.parent_id:
            raise DomainError(
                _("A producer's bags go to its own institution's temporary storage (%(party)s).")
                % {"party": from_party.parent.name if from_party.parent_id else "—"},
                field="to_party",
            )
    elif stage == Stage.COLLECTED:
        if (
            from_party.kind != PartyKind.INSTITUTION
            or to_party.kind != PartyKind.DISPOSER
            or is_plant(to_party)
        ):
            raise DomainError(
                _("Temporary storage hands its bags to a licensed disposal company."), field="to_party"
            )
    elif stage == Stage.DELIVERED:
        if from_party.kind != PartyKind.DISPOSER or to_party.parent_id != from_party.pk:
            raise DomainError(_("The disposal company delivers to its own plant."), field="to_party")
    else:
        raise DomainError(_("Bags are handed over for storage, collection or delivery."), field="stage")
    if not to_party.active:
        raise DomainError(_("%(party)s is no longer active.") % {"party": to_party.name}, field="to_party")


def _locked(bags: Iterable[Bag]) -> list[Bag]:
    ids = sorted({b.pk for b in bags})
    return list(Bag.objects.select_for_update().select_related("holder").filter(pk__in=ids).order_by("pk"))


def handover_offer(
    *,
    actor: User | None,
    from_party: Party,
    to_party: Party,
    bags: Iterable[Bag],
    stage: str,
    trip: Trip | None = None,
    at: dt.datetime | None = None,
) -> Handover:
    """The giver confirms which bags it hands to ``to_party``. Nothing is written when one bag is wrong.
    ``at``: when it was offered, if not now (a history load)."""
    require_member(actor, from_party)
    if stage not in OFFERABLE:
        raise DomainError(_("Bags are handed over for storage, collection or delivery."), field="stage")
    check_parties(from_party, to_party, stage)
    with transaction.atomic():
        locked = _locked(bags)
        if not locked:
            raise DomainError(_("Choose the bags to hand over."), field="bags")
        if len(locked) > MAX_BAGS:
            raise DomainError(_("At most %(n)d bags in one handover.") % {"n": MAX_BAGS}, field="bags")
        for bag in locked:
            chain.refuse_step(bag, stage)
            chain.refuse_holder(bag, from_party)
        open_offer = (
            Handover.objects.filter(status=HandoverStatus.OFFERED, bags__in=locked)
            .values_list("code", "bags__code")
            .first()
        )
        if open_offer is not None:
            raise Conflict(
                _("Bag %(code)s is already offered in handover %(handover)s.")
                % {"code": open_offer[1], "handover": open_offer[0]}
            )
        handover = Handover.objects.create(
            code=_new_code(),
            stage=stage,
            from_party=from_party,
            to_party=to_party,
            trip=trip,
            offered_by=actor if actor is not None and actor.pk else None,
            offered_at=chain.when(at),
            org_code=from_party.org_code,
        )
        handover.bags.set(locked)
        audit_record(
            actor=actor, action="medwaste.handover_offer", obj=handover, detail={"bags": len(locked)}
        )
        events.publish(
            "waste.handover_offered",
            payload={
                "handover_id": handover.pk,
                "stage": stage,
                "bag_ids": [b.pk for b in locked],
                "to_party_id": to_party.pk,
            },
            org_code=handover.org_code,
        )
    return handover


def _check_trip(actor: User | None, handover: Handover, trip: Trip | None) -> Trip | None:
    if handover.stage == Stage.DELIVERED:
        return handover.trip
    if handover.stage != Stage.COLLECTED:
        return None
    if trip is None:
        raise DomainError(_("Collected bags go on a trip: start or choose your trip first."), field="trip")
    if trip.company_id != handover.to_party_id:
        raise DomainError(_("Trip %(trip)s is another company's.") % {"trip": trip.number}, field="trip")
    if trip.status != TripStatus.COLLECTING or trip.plant_id is not None:
        raise DomainError(
            _("Trip %(trip)s is on its way to the plant; start a new trip.") % {"trip": trip.number},
            field="trip",
        )
    if actor is not None and trip.driver_id is not None and trip.driver_id != actor.pk:
        raise Forbidden(_("Trip %(trip)s is another driver's.") % {"trip": trip.number})
    return trip


def _weights(handover_bags: list[Bag], weights: dict | None) -> dict[int, int]:
    given = {}
    for key, value in (weights or {}).items():
        try:
            given[int(key)] = value if value is None else int(value)
        except (TypeError, ValueError):
            raise DomainError(_("Weights are whole grams per bag."), field="weights") from None
    by_pk = {b.pk: b for b in handover_bags}
    if set(given) - set(by_pk):
        raise DomainError(_("A weight was given for a bag that is not in this handover."), field="weights")
    return {
        pk: chain.check_weight(given[pk], code=bag.code)
        if given.get(pk) is not None
        else bag_last_weight(bag)
        for pk, bag in by_pk.items()
    }


def bag_last_weight(bag: Bag) -> int:
    last = (
        CustodyRecord.objects.filter(bag=bag)
        .order_by("-at", "-pk")
        .values_list("weight_g", flat=True)
        .first()
    )
    return last or bag.weight_g


def handover_accept(
    *,
    actor: User | None,
    handover: Handover,
    weights: dict[int, int] | None = None,
    trip: Trip | None = None,
    client_id: str | None = None,
    happened_at: dt.datetime | None = None,
) -> Handover:
    """The receiver confirms what arrived and what each bag weighs (the last weight where not weighed).
    A second acceptance (a replay) returns the handover as it is."""
    require_member(actor, handover.to_party)
    with transaction.atomic():
        handover = (
            Handover.objects.select_for_update().select_related("from_party", "to_party").get(pk=handover.pk)
        )
        if handover.status == HandoverStatus.ACCEPTED and (client_id or happened_at):
            return handover
        if handover.status != HandoverStatus.OFFERED:
            raise Conflict(
                _("Handover %(code)s is %(status)s; there is nothing to accept.")
                % {"code": handover.code, "status": handover.get_status_display()}
            )
        trip = _check_trip(actor, handover, trip)
        at = chain.when(happened_at)
        bags = _locked(handover.bags.all())
        for bag in bags:
            chain.refuse_step(bag, handover.stage)
            chain.refuse_holder(bag, handover.from_party)
        measured = _weights(bags, weights)
        giver, taker = person_name(handover.offered_by), person_name(actor)
        for bag in bags:
            chain.write_record(
                bag=bag,
                stage=handover.stage,
                at=at,
                weight_g=measured[bag.pk],
                from_party=handover.from_party,
                to_party=handover.to_party,
                recorded_by=actor,
                given_by=giver,
                taken_by=taker,
                handover=handover,
                trip=trip,
                anomaly=chain.anomaly_for(bag, handover.stage, at),
            )
        handover.status = HandoverStatus.ACCEPTED
        handover.accepted_by = actor if actor is not None and actor.pk else None
        handover.accepted_at = at
        handover.trip = trip
        handover.save(update_fields=["status", "accepted_by", "accepted_at", "trip"])
        if handover.stage == Stage.DELIVERED and trip is not None:
            Trip.objects.filter(pk=trip.pk).update(
                status=TripStatus.DELIVERED, delivered_at=at, plant=handover.to_party
            )
        audit_record(
            actor=actor,
            action="medwaste.handover_accept",
            obj=handover,
            detail={"bags": len(bags), "client_id": client_id or ""},
        )
        _publish_accepted(handover, [b.pk for b in bags])
    return handover


def _publish_accepted(handover: Handover, bag_ids: list[int]) -> None:
    events.publish(
        "waste.handover_accepted",
        payload={
            "handover_id": handover.pk,
            "stage": handover.stage,
            "bag_ids": bag_ids,
            "to_party_id": handover.to_party_id,
        },
        org_code=handover.org_code,
    )


def handover_reject(*, actor: User | None, handover: Handover, reason: str) -> Handover:
    """The receiver refuses the offer (wrong bags, torn bag...): the bags stay with the giver."""
    require_member(actor, handover.to_party)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Say why the bags are refused."), field="reason")
    return _close(actor, handover, HandoverStatus.REJECTED, reason, "medwaste.handover_reject")


def handover_cancel(*, actor: User | None, handover: Handover) -> Handover:
    """The giver withdraws an offer not yet accepted."""
    require_member(actor, handover.from_party)
    return _close(actor, handover, HandoverStatus.CANCELLED, "", "medwaste.handover_cancel")


def _close(actor: User | None, handover: Handover, status: str, note: str, action: str) -> Handover:
    with transaction.atomic():
        handover = Handover.objects.select_for_update().get(pk=handover.pk)
        if handover.status != HandoverStatus.OFFERED:
            raise Conflict(
                _("Handover %(code)s is %(status)s already.")
                % {"code": handover.code, "status": handover.get_status_display()}
            )
        handover.status, handover.note = status, note[:300]
        handover.save(update_fields=["status", "note"])
        if handover.stage == Stage.DELIVERED and handover.trip_id:
            # The delivery was refused or withdrawn: the trip may be delivered again, maybe elsewhere.
            Trip.objects.filter(pk=handover.trip_id).update(plant=None)
        audit_record(actor=actor, action=action, obj=handover, detail={"note": note[:300]})
    return handover


def _close_trips(trip_ids: set[int]) -> None:
    for trip_id in trip_ids:
        if not Bag.objects.filter(trip_id=trip_id).exclude(stage=Stage.INCINERATED).exists():
            Trip.objects.filter(pk=trip_id).exclude(status=TripStatus.CLOSED).update(status=TripStatus.CLOSED)


def bags_incinerate(
    *,
    actor: User | None,
    plant: Party,
    bags: Iterable[Bag],
    weights: dict[int, int] | None = None,
    happened_at: dt.datetime | None = None,
) -> list[CustodyRecord]:
    """The plant's last step for bags delivered to it; a trip whose bags are all burnt is closed."""
    require_member(actor, plant)
    if not is_plant(plant):
        raise DomainError(_("Bags are incinerated at a disposal plant."), field="plant")
    with transaction.atomic():
        locked = _locked(bags)
        if not locked:
            raise DomainError(_("Choose the bags to incinerate."), field="bags")
        for bag in locked:
            chain.refuse_step(bag, Stage.INCINERATED)
            chain.refuse_holder(bag, plant)
        at = chain.when(happened_at)
        measured = _weights(locked, weights)
        name = person_name(actor)
        records = [
            chain.write_record(
                bag=bag,
                stage=Stage.INCINERATED,
                at=at,
                weight_g=measured[bag.pk],
                from_party=plant,
                to_party=plant,
                recorded_by=actor,
                given_by=name,
                taken_by=name,
                trip=bag.trip,
                anomaly=chain.anomaly_for(bag, Stage.INCINERATED, at),
            )
            for bag in locked
        ]
        _close_trips({b.trip_id for b in locked if b.trip_id})
        audit_record(actor=actor, action="medwaste.incinerate", obj=plant, detail={"bags": len(locked)})
        _publish_incinerated(plant, [b.pk for b in locked])
    return records


def _publish_incinerated(plant: Party, bag_ids: list[int]) -> None:
    events.publish(
        "waste.bags_incinerated", payload={"bag_ids": bag_ids, "plant_id": plant.pk}, org_code=plant.org_code
    )


# --- offline replays -------------------------------------------------------------------------------------

RECEIVER_KIND = {
    Stage.STORED: "institution",
    Stage.COLLECTED: "company",
    Stage.DELIVERED: "plant",
    Stage.INCINERATED: "plant",
}


def _kind_of(party: Party) -> str:
    if party.kind == PartyKind.DISPOSER:
        return "plant" if is_plant(party) else "company"
    return party.kind


def _receiver(actor: User | None, stage: str, party: Party | None) -> Party:
    if party is None:
        if actor is None:
            raise DomainError(_("Say which party received the bag."), field="party")
        mine = [
            p for p in Party.objects.filter(members=actor, active=True) if _kind_of(p) == RECEIVER_KIND[stage]
        ]
        if len(mine) != 1:
            raise DomainError(_("Say which party you acted for."), field="party")
        party = mine[0]
    require_member(actor, party)
    if _kind_of(party) != RECEIVER_KIND[stage]:
        raise DomainError(
            _("%(party)s does not receive bags at this step.") % {"party": party.name}, field="party"
        )
    return party


def _replay_trip(actor: User | None, party: Party, trip: Trip | None) -> Trip | None:
    if trip is not None:
        if trip.company_id != party.pk:
            raise DomainError(_("Trip %(trip)s is another company's.") % {"trip": trip.number}, field="trip")
        return trip
    if actor is None:
        return None
    # The driver's open trip; none is still a fact worth keeping (the manifest will miss it, the ledger not).
    return Trip.objects.filter(company=party, driver=actor, status=TripStatus.COLLECTING).first()


def custody_replay(
    *,
    actor: User | None,
    bag_code: str,
    stage: str,
    happened_at: dt.datetime,
    weight_g: int | None = None,
    client_id: str | None = None,
    party: Party | None = None,
    trip: Trip | None = None,
    given_by: str = "",
) -> tuple[CustodyRecord, bool]:
    """A step scanned offline by the receiving party (``party``: the one the actor acted for; guessed when
    the account acts for one party of that kind only). Returns the record and whether it is new."""
    if stage not in (Stage.STORED, Stage.COLLECTED, Stage.DELIVERED, Stage.INCINERATED):
        raise DomainError(_("Replay storage, collection, delivery or incineration steps."), field="stage")
    if happened_at is None:
        raise DomainError(_("Give the time the step happened."), field="happened_at")
    at = chain.when(happened_at)
    code = code_from_scan(bag_code)
    party = _receiver(actor, stage, party)
    with transaction.atomic():
        found = Bag.objects.select_for_update().select_related("holder").filter(code=code)
        bag = (scoped(found, actor) if actor is not None else found).first()
        if bag is None:
            raise DomainError(
                _("No bag %(code)s is registered in your area.") % {"code": code}, field="bag_code"
            )
        done = CustodyRecord.objects.filter(bag=bag, stage=stage).first()
        if done is not None:
            return done, False
        weight = chain.check_weight(weight_g, code=code) if weight_g is not None else bag_last_weight(bag)
        the_trip = _replay_trip(actor, party, trip) if stage == Stage.COLLECTED else bag.trip
        anomaly = chain.anomaly_for(bag, stage, at)
        taker = person_name(actor)
        handover = None
        giver_party = party if stage == Stage.INCINERATED or bag.holder_id == party.pk else bag.holder
        if stage != Stage.INCINERATED:
            handover = Handover.objects.create(
                code=_new_code(),
                stage=stage,
                from_party=giver_party,
                to_party=party,
                trip=the_trip,
                status=HandoverStatus.ACCEPTED,
                offered_at=at,
                accepted_by=actor if actor is not None and actor.pk else None,
                accepted_at=at,
                note=_("Recorded offline"),
                org_code=giver_party.org_code,
            )
            handover.bags.add(bag)
        record = chain.write_record(
            bag=bag,
            stage=stage,
            at=at,
            weight_g=weight,
            from_party=giver_party,
            to_party=party,
            recorded_by=actor,
            given_by=(given_by or "").strip() or (taker if stage == Stage.INCINERATED else ""),
            taken_by=taker,
            handover=handover,
            trip=the_trip,
            anomaly=anomaly,
        )
        _drop_from_open_offers(bag, stage)
        if stage == Stage.DELIVERED and the_trip is not None:
            Trip.objects.filter(pk=the_trip.pk, status=TripStatus.COLLECTING).update(
                status=TripStatus.DELIVERED, delivered_at=at, plant=party
            )
        if stage == Stage.INCINERATED and bag.trip_id:
            _close_trips({bag.trip_id})
        audit_record(
            actor=actor,
            action="medwaste.custody_replay",
            obj=bag,
            detail={"stage": stage, "anomaly": anomaly, "client_id": client_id or ""},
        )
        if handover is not None:
            _publish_accepted(handover, [bag.pk])
        else:
            _publish_incinerated(party, [bag.pk])
    return record, True


def _drop_from_open_offers(bag: Bag, stage: str) -> None:
    """A bag whose step was recorded offline leaves the open offers it has overtaken; an offer left empty
    is withdrawn."""
    overtaken = [s for s in OFFERABLE if chain.index(s) <= chain.index(stage)]
    for handover in Handover.objects.select_for_update().filter(
        status=HandoverStatus.OFFERED, bags=bag, stage__in=overtaken
    ):
        handover.bags.remove(bag)
        if not handover.bags.exists():
            handover.status, handover.note = (
                HandoverStatus.CANCELLED,
                _("Overtaken by a step recorded offline"),
            )
            handover.save(update_fields=["status", "note"])
