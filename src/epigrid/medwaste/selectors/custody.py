"""Reads of the chain of custody: bags, their chains, the parties an account acts for, the handovers waiting
for it, trips. Everything is scoped (``core.scope``); an account without ``waste.view`` sees further only
what its own parties touched (bags on whose chain they are, trips they drove or received)."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404

from epigrid.core.models import User
from epigrid.core.roles import Perm, has_perm
from epigrid.core.scope import scoped
from epigrid.medwaste.models import (
    STAGE_ORDER,
    Bag,
    CustodyRecord,
    Handover,
    HandoverStatus,
    Party,
    PartyKind,
    Trip,
    TripStatus,
    Vehicle,
)


def my_parties(*, actor: User) -> QuerySet[Party]:
    """The active parties the account acts for (its memberships), in scope."""
    if not getattr(actor, "is_authenticated", False):
        return Party.objects.none()
    return scoped(Party.objects.filter(members=actor, active=True), actor).select_related("parent")


def party_list(*, actor: User) -> QuerySet[Party]:
    return scoped(Party.objects.all(), actor).select_related("parent", "area")


def party_get(*, actor: User, pk: int) -> Party:
    party = party_list(actor=actor).filter(pk=pk).first()
    if party is None:
        raise Http404
    return party


def vehicle_list(*, actor: User) -> QuerySet[Vehicle]:
    return scoped(Vehicle.objects.all(), actor).select_related("company")


def next_parties(party: Party) -> list[Party]:
    """Who ``party`` hands its bags to: a producer its institution, an institution the disposal companies,
    a company its plants."""
    if party.kind == PartyKind.PRODUCER:
        return [party.parent] if party.parent_id and party.parent.active else []
    if party.kind == PartyKind.INSTITUTION:
        return list(Party.objects.filter(kind=PartyKind.DISPOSER, parent=None, active=True))
    if party.kind == PartyKind.DISPOSER and party.parent_id is None:
        return list(party.children.filter(active=True))
    return []


def bag_list(*, actor: User) -> QuerySet[Bag]:
    qs = scoped(Bag.objects.all(), actor).select_related("producer", "holder", "trip")
    if has_perm(actor, Perm.WASTE_VIEW):
        return qs
    parties = list(my_parties(actor=actor).values_list("pk", flat=True))
    return qs.filter(
        Q(holder__in=parties) | Q(producer__in=parties) | Q(records__to_party__in=parties)
    ).distinct()


def bag_get(*, actor: User, pk: int | None = None, code: str | None = None) -> Bag:
    """A bag the account may see (404 otherwise, like a missing one)."""
    qs = bag_list(actor=actor)
    bag = (qs.filter(pk=pk) if pk is not None else qs.filter(code=code)).first()
    if bag is None:
        raise Http404
    return bag


def bag_chain(bag: Bag) -> list[CustodyRecord]:
    """The bag's steps in stage order (a replayed step may have arrived after a later one)."""
    records = list(bag.records.select_related("from_party", "to_party", "trip", "handover"))
    return sorted(records, key=lambda r: (STAGE_ORDER.index(r.stage), r.at))


def bags_held(*, party: Party, stage: str | None = None) -> QuerySet[Bag]:
    """Bags ``party`` holds now (not incinerated), oldest first, with the open offer they are in, if any."""
    qs = Bag.objects.filter(holder=party).exclude(stage="incinerated")
    if stage:
        qs = qs.filter(stage=stage)
    return qs.order_by("stage_at", "pk")


def offered_bag_ids(bags: QuerySet[Bag]) -> set[int]:
    return set(
        Handover.objects.filter(status=HandoverStatus.OFFERED, bags__in=bags).values_list(
            "bags__pk", flat=True
        )
    )


def handovers_waiting(*, actor: User) -> QuerySet[Handover]:
    """Offers to the account's parties, waiting for it to accept or refuse."""
    return (
        Handover.objects.filter(status=HandoverStatus.OFFERED, to_party__in=my_parties(actor=actor))
        .select_related("from_party", "to_party", "trip", "offered_by")
        .order_by("offered_at", "pk")
    )


def handovers_given(*, actor: User) -> QuerySet[Handover]:
    """The account's parties' own open offers (to withdraw)."""
    return (
        Handover.objects.filter(status=HandoverStatus.OFFERED, from_party__in=my_parties(actor=actor))
        .select_related("from_party", "to_party")
        .order_by("offered_at", "pk")
    )


def handover_get(*, actor: User, code: str) -> Handover:
    """An offer to or from one of the account's parties (or any in scope with ``waste.view``)."""
    qs = scoped(Handover.objects.all(), actor).select_related("from_party", "to_party", "trip", "offered_by")
    if not has_perm(actor, Perm.WASTE_VIEW):
        parties = my_parties(actor=actor)
        qs = qs.filter(Q(to_party__in=parties) | Q(from_party__in=parties))
    handover = qs.filter(code=code).first()
    if handover is None:
        raise Http404
    return handover


def trip_list(*, actor: User) -> QuerySet[Trip]:
    qs = scoped(Trip.objects.all(), actor).select_related("company", "vehicle", "driver", "plant")
    if has_perm(actor, Perm.WASTE_VIEW):
        return qs
    parties = my_parties(actor=actor)
    return qs.filter(Q(company__in=parties) | Q(plant__in=parties) | Q(driver=actor)).distinct()


def trip_get(*, actor: User, pk: int) -> Trip:
    trip = trip_list(actor=actor).filter(pk=pk).first()
    if trip is None:
        raise Http404
    return trip


def trips_open_for(*, actor: User, company: Party) -> QuerySet[Trip]:
    """The driver's trips still collecting (the one to load onto)."""
    return Trip.objects.filter(company=company, driver=actor, status=TripStatus.COLLECTING).select_related(
        "vehicle", "plant"
    )


def trip_bags(trip: Trip) -> list[Bag]:
    return list(
        Bag.objects.filter(Q(trip=trip) | Q(records__trip=trip))
        .distinct()
        .select_related("producer", "producer__parent")
        .order_by("producer__parent__name", "producer__name", "code")
    )


def account_in_area(*, actor: User, username: str) -> User | None:
    """An account in the officer's area, by user name (to make it a member of a party)."""
    code = actor.org_code
    account = User.objects.filter(username=(username or "").strip()).select_related("org_unit").first()
    if account is None or not code or not (account.org_code or "").startswith(code):
        return None
    return account
