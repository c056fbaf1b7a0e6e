"""Demo: medical waste (#11) - the parties of the district and a week of bags through the services.

The health and environment bureaus (district); one community health service centre per street with its
temporary storage (collection every 24 h); a producer for every sampling point, vaccination site and
quarantine site, handing to the centre of its street; the licensed disposal company with three vehicles and
its plant. The demo accounts ``sampler``, ``vaccinator`` and ``quarantine`` act for their producers,
``wastehandler`` for every centre, the company and the plant.

Seven days of history, each day's bags labelled, stored the same day, collected on the next morning's trip,
delivered and incinerated; then what the oversight pages should find: a few bags in storage for 40 hours and
one for 50, a collection weighed 8 % lighter than at storage, an offline replay that skipped storage, and a
producer whose bags of 30 hours ago were never handed over.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db import transaction

from epigrid.core.models import OrgLevel, OrgUnit, User
from epigrid.medwaste.models import Bag, Party, PartyKind, Stage, WasteCategory
from epigrid.medwaste.services import alarms, handovers, labels, parties, trips
from epigrid.quarantine.models import Site, SiteKind
from epigrid.simulation import comparison_demo  # noqa: F401 - the earlier steps run before this one
from epigrid.simulation.district import DemoContext, demo_step
from epigrid.testing.models import SamplingPoint
from epigrid.vaccination.models import VaccinationSite

DAYS = 7
CATEGORIES = (
    (WasteCategory.INFECTIOUS, 0.7),
    (WasteCategory.SHARPS, 0.2),
    (WasteCategory.PHARMACEUTICAL, 0.1),
)
H = dt.timedelta(hours=1)


def _parties(ctx: DemoContext) -> dict:
    district = ctx.units[ctx.plan.district.code]
    streets = sorted((u for u in ctx.units.values() if u.level == OrgLevel.STREET), key=lambda u: u.code)
    make = parties.party_create
    for kind, name in (
        (PartyKind.HEALTH_AUTHORITY, f"{district.name}卫生健康局"),
        (PartyKind.ENVIRONMENT_AUTHORITY, f"{district.name}生态环境分局"),
    ):
        make(actor=None, data=parties.PartyInput(name=name, kind=kind, area=district))
    centres = {
        s.code: make(
            actor=None,
            data=parties.PartyInput(
                name=f"{s.name}社区卫生服务中心",
                kind=PartyKind.INSTITUTION,
                area=s,
                address=f"{s.name}卫生服务中心医疗废物暂存间",
                duty_phone="0535-6600120",
                collection_interval_hours=24,
            ),
        )
        for s in streets
    }
    company = make(
        actor=None,
        data=parties.PartyInput(
            name=f"{district.name}医疗废物处置有限公司",
            kind=PartyKind.DISPOSER,
            area=district,
            licence_number="鲁危废经营许可证3706000087号",
            duty_phone="0535-6600888",
        ),
    )
    plant = make(
        actor=None,
        data=parties.PartyInput(
            name=f"{district.name}医疗废物焚烧处置厂", kind=PartyKind.DISPOSER, area=district, parent=company
        ),
    )
    vehicles = [
        parties.vehicle_create(actor=None, company=company, plate=f"鲁F·D{n:04d}", capacity_kg=1500)
        for n in (1107, 1108, 1109)
    ]
    producers: dict[str, list[Party]] = defaultdict(list)  # demo username -> producers it acts for

    def producer(name: str, unit: OrgUnit, account: str, **link: int) -> None:
        street = unit.code[:9]
        if street not in centres:
            return
        producers[account].append(
            make(
                actor=None,
                data=parties.PartyInput(
                    name=name, kind=PartyKind.PRODUCER, area=unit, parent=centres[street], **link
                ),
            )
        )

    for point in SamplingPoint.objects.filter(
        org_code__startswith=district.code, grid__isnull=False
    ).select_related("grid"):
        producer(point.name, point.grid, "sampler", sampling_point_id=point.pk)
    for site in VaccinationSite.objects.filter(org_code__startswith=district.code).select_related("grid"):
        producer(site.name, site.grid, "vaccinator", vaccination_site_id=site.pk)
    # Centralised sites only: a household in home quarantine is not a labelled producer (its waste goes
    # with the community's collection).
    sites = list(
        Site.objects.filter(
            org_code__startswith=district.code, grid__isnull=False, kind=SiteKind.CENTRALISED
        ).select_related("grid")
    )
    for site in sites:
        producer(site.name, site.grid, "quarantine", quarantine_site_id=site.pk)
    if not sites and streets:
        producer(f"{streets[0].name}集中隔离医学观察点", streets[0], "quarantine")
    handler = ctx.users["wastehandler"]
    for party in (*centres.values(), company, plant):
        parties.party_member_add(actor=None, party=party, user=handler)
    for username, made in producers.items():
        for party in made:
            parties.party_member_add(actor=None, party=party, user=ctx.users[username])
    members = {p.pk: ctx.users[u] for u, made in producers.items() for p in made}
    return {"centres": centres, "company": company, "plant": plant, "vehicles": vehicles, "members": members}


def _category(rng) -> str:
    roll, total = rng.random(), 0.0
    for category, share in CATEGORIES:
        total += share
        if roll < total:
            return category
    return WasteCategory.INFECTIOUS


def _label(ctx, p, producer: Party, at: dt.datetime, rng) -> Bag:
    return labels.bag_label(
        actor=p["members"][producer.pk],
        producer=producer,
        category=_category(rng),
        weight_g=rng.randint(600, 4800),
        sealed=True,
        labelled_at=at,
    )


def _store(p, producer: Party, bags: list[Bag], at: dt.datetime, handler: User) -> None:
    offer = handovers.handover_offer(
        actor=p["members"][producer.pk],
        from_party=producer,
        to_party=producer.parent,
        bags=bags,
        stage=Stage.STORED,
        at=at - dt.timedelta(minutes=5),
    )
    handovers.handover_accept(actor=handler, handover=offer, happened_at=at)


@demo_step("medwaste", own_transactions=True)
def load_medwaste(ctx: DemoContext) -> None:
    # The history's handovers would each re-evaluate the alarms of their bags after commit; the history is
    # loaded with that paused, then evaluated once.
    with alarms.realtime_paused(), transaction.atomic():
        _load_history(ctx)
    with transaction.atomic():
        alarms.waste_alarms_evaluate(now=ctx.anchor)


def _load_history(ctx: DemoContext) -> None:
    rng = ctx.rng("medwaste")
    p = _parties(ctx)
    handler, anchor = ctx.users["wastehandler"], ctx.anchor
    producers = sorted(
        Party.objects.filter(kind=PartyKind.PRODUCER, org_code__startswith=ctx.plan.district.code),
        key=lambda x: x.pk,
    )
    if not producers:
        return
    quiet = producers[-1]  # labels bags and never hands them over (no_handover)
    weighed_light = False
    for day in range(DAYS, 0, -1):
        start = anchor - day * 24 * H - 20 * H
        stored = defaultdict(list)  # centre pk -> bags
        for producer in producers:
            if producer == quiet:
                continue
            bags = [_label(ctx, p, producer, start + rng.randint(0, 300) * dt.timedelta(minutes=1), rng)]
            _store(p, producer, bags, start + 7 * H, handler)
            stored[producer.parent_id].extend(bags)
        vehicle = p["vehicles"][day % len(p["vehicles"])]
        trip = trips.trip_start(
            actor=handler, company=p["company"], vehicle=vehicle, started_at=start + 15 * H
        )
        gap = dt.timedelta(minutes=min(20, 150 // max(1, len(stored))))  # all collected before the delivery
        for n, (centre_pk, bags) in enumerate(sorted(stored.items())):
            at = start + 15 * H + gap * (n + 1)
            offer = handovers.handover_offer(
                actor=handler,
                from_party=Party.objects.get(pk=centre_pk),
                to_party=p["company"],
                bags=bags,
                stage=Stage.COLLECTED,
                at=at,
            )
            weights = None
            if day == 3 and not weighed_light:  # one bag 8 % lighter on the truck than in storage
                weights, weighed_light = {bags[0].pk: round(bags[0].weight_g * 0.92)}, True
            handovers.handover_accept(
                actor=handler, handover=offer, weights=weights, trip=trip, happened_at=at
            )
        delivery = trips.trip_deliver(actor=handler, trip=trip, plant=p["plant"], at=start + 18 * H)
        handovers.handover_accept(
            actor=handler, handover=delivery, happened_at=start + 18 * H + 10 * dt.timedelta(minutes=1)
        )
        on_trip = list(Bag.objects.filter(trip=trip))
        handovers.bags_incinerate(actor=handler, plant=p["plant"], bags=on_trip, happened_at=start + 19 * H)

    # What is open now: today's bags in storage (12 h), a few for 40 h, one for 50 h.
    busy = [x for x in producers if x != quiet]
    for producer, hours in [(x, 12) for x in busy[::2]] + [(x, 40) for x in busy[:3]] + [(busy[-1], 50)]:
        bag = _label(ctx, p, producer, anchor - (hours + 1) * H, rng)
        _store(p, producer, [bag], anchor - hours * H, handler)
    for _i in range(2):
        _label(ctx, p, quiet, anchor - 30 * H, rng)
    # A driver's phone was offline: the collection of a bag never stored is replayed (missing step).
    lost = _label(ctx, p, busy[0], anchor - 6 * H, rng)
    handovers.custody_replay(
        actor=handler,
        bag_code=lost.code,
        stage=Stage.COLLECTED,
        happened_at=anchor - 3 * H,
        party=p["company"],
        client_id=f"demo-offline-{lost.pk}",
    )
