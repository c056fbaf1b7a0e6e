"""Medical-waste test data, all through the services: parties, members, vehicles, a whole chain, and bags
brought to a given stage at a given time (``bag_at(Stage.STORED, at=now - 49 h)`` is a bag stored 49 hours
ago)."""

from __future__ import annotations

import datetime as dt
import itertools
from types import SimpleNamespace

from django.utils import timezone

from epigrid.core.models import OrgUnit, User
from epigrid.core.roles import Role
from epigrid.core.tests.factories import UserFactory
from epigrid.medwaste.models import STAGE_ORDER, Bag, Party, PartyKind, Stage, Trip, TripStatus, Vehicle
from epigrid.medwaste.services import handovers, labels, parties, trips

_n = itertools.count(1)
STEP = dt.timedelta(minutes=10)  # between the steps of a bag brought to a stage
NAMES = {
    PartyKind.HEALTH_AUTHORITY: "区卫生健康局",
    PartyKind.ENVIRONMENT_AUTHORITY: "区生态环境分局",
    PartyKind.INSTITUTION: "街道社区卫生服务中心",
    PartyKind.PRODUCER: "核酸采样点",
    PartyKind.DISPOSER: "医疗废物处置有限公司",
}


def party(
    kind: str,
    area: OrgUnit,
    parent: Party | None = None,
    *,
    name: str = "",
    members: tuple[User, ...] = (),
    interval_hours: int | None = None,
) -> Party:
    """A party of ``kind`` in ``area``. A disposal party with a ``parent`` is that company's plant."""
    n = next(_n)
    default = NAMES[kind] if parent is None or kind != PartyKind.DISPOSER else "医疗废物焚烧厂"
    made = parties.party_create(
        actor=None,
        data=parties.PartyInput(
            name=name or f"{default}{n}",
            kind=kind,
            area=area,
            parent=parent,
            licence_number=f"鲁危废{n:04d}号" if kind == PartyKind.DISPOSER and parent is None else "",
            collection_interval_hours=interval_hours
            if interval_hours is not None
            else (24 if kind == PartyKind.INSTITUTION else None),
        ),
    )
    for user in members:
        parties.party_member_add(actor=None, party=made, user=user)
    return made


def member(
    of: Party, *, role: str = Role.WASTE_HANDLER, username: str = "", org_unit: OrgUnit | None = None
) -> User:
    """A new account acting for ``of`` (district-wide unless ``org_unit`` is given)."""
    unit = org_unit or OrgUnit.objects.filter(code=of.org_code[:6]).first() or of.area
    user = UserFactory(username=username or f"waste{next(_n)}", role=role, org_unit=unit)
    parties.party_member_add(actor=None, party=of, user=user)
    return user


def vehicle(company: Party, plate: str = "") -> Vehicle:
    return parties.vehicle_create(
        actor=None, company=company, plate=plate or f"鲁F{next(_n):05d}", capacity_kg=2000
    )


def chain(area: OrgUnit, *, members: bool = True) -> SimpleNamespace:
    """A whole chain in ``area``: producer → institution → company (with a vehicle) → plant, and an account
    acting for each (``sampler``, ``keeper``, ``driver``, ``operator``) when ``members``."""
    institution = party(PartyKind.INSTITUTION, area)
    producer = party(PartyKind.PRODUCER, area, institution)
    company = party(PartyKind.DISPOSER, area)
    plant = party(PartyKind.DISPOSER, area, company)
    made = SimpleNamespace(
        area=area,
        producer=producer,
        institution=institution,
        company=company,
        plant=plant,
        vehicle=vehicle(company),
    )
    if members:
        made.sampler = member(producer, role=Role.SAMPLER)
        made.keeper = member(institution)
        made.driver = member(company)
        made.operator = member(plant)
    return made


make_chain = chain  # ``bag_at`` names its argument ``chain``


def open_trip(c: SimpleNamespace, *, at: dt.datetime | None = None, driver: User | None = None) -> Trip:
    """The company's trip still collecting, or a new one on the chain's vehicle."""
    trip = Trip.objects.filter(company=c.company, status=TripStatus.COLLECTING, plant=None).first()
    return trip or trips.trip_start(
        actor=None, company=c.company, vehicle=c.vehicle, driver=driver, started_at=at
    )


def bag_at(
    stage: str,
    *,
    chain: SimpleNamespace | None = None,
    area: OrgUnit | None = None,
    at: dt.datetime | None = None,
    weight_g: int = 1200,
    weights: dict[str, int] | None = None,
    category: str = "infectious",
) -> Bag:
    """A bag whose last step is ``stage`` at time ``at`` (now by default), the earlier steps ``STEP`` apart
    before it. ``weights``: the weight measured at a stage, by stage (the label's weight elsewhere). Give
    ``chain`` (from :func:`chain`) or ``area`` (a new chain there)."""
    c = chain if chain is not None else make_chain(area, members=False)
    last = STAGE_ORDER.index(stage)
    at = at or timezone.now()
    times = {s: at - STEP * (last - i) for i, s in enumerate(STAGE_ORDER[: last + 1])}
    weights = weights or {}
    bag = labels.bag_label(
        actor=None,
        producer=c.producer,
        category=category,
        weight_g=weights.get(Stage.LABELLED, weight_g),
        sealed=True,
        handler_name="测试人员",
        labelled_at=times[Stage.LABELLED],
    )
    steps = (
        (Stage.STORED, c.producer, c.institution),
        (Stage.COLLECTED, c.institution, c.company),
        (Stage.DELIVERED, c.company, c.plant),
    )
    for step, giver, taker in steps:
        if step not in times:
            return _fresh(bag)
        trip = None
        if step == Stage.COLLECTED:
            trip = open_trip(c, at=times[step])
        elif step == Stage.DELIVERED:
            trip = Bag.objects.get(pk=bag.pk).trip
        offer = handovers.handover_offer(
            actor=None, from_party=giver, to_party=taker, bags=[bag], stage=step, trip=trip, at=times[step]
        )
        handovers.handover_accept(
            actor=None,
            handover=offer,
            weights={bag.pk: weights[step]} if step in weights else None,
            trip=trip,
            happened_at=times[step],
        )
    if Stage.INCINERATED in times:
        handovers.bags_incinerate(
            actor=None,
            plant=c.plant,
            bags=[bag],
            weights={bag.pk: weights[Stage.INCINERATED]} if Stage.INCINERATED in weights else None,
            happened_at=times[Stage.INCINERATED],
        )
    return _fresh(bag)


def _fresh(bag: Bag) -> Bag:
    return Bag.objects.select_related("producer", "holder", "trip").get(pk=bag.pk)
