"""Demo step ``testing`` (after the health code): a finished testing round with a few positive pools.

One street is sampled the day of the load by the ``sampler`` account: most of its residents (at most
3,000, the demo accounts' persons left out so their colours stay as the health-code step set them) go into
10-in-1 tubes at a sampling point per community; the ``lab`` account reports every tube negative except
two pools (five at district scale), whose members are recalled for a single-tube re-test and turn red —
all through the testing services, so recalls, events and health codes come out as in use.
"""

from __future__ import annotations

import uuid

from django.utils import timezone

from epigrid.core.models import OrgLevel, Person
from epigrid.simulation import healthcode_demo  # noqa: F401 - the health-code step runs before this one
from epigrid.simulation.district import DemoContext, demo_step
from epigrid.testing import services
from epigrid.testing.models import PointKind

MAX_SAMPLED = 3000
POOL = 10


@demo_step("testing")
def load_testing(ctx: DemoContext) -> None:
    rng = ctx.rng("testing")
    sampler, lab, admin = ctx.users["sampler"], ctx.users["lab"], ctx.users["admin"]
    streets = sorted((u for u in ctx.units.values() if u.level == OrgLevel.STREET), key=lambda u: u.code)
    street = streets[0]
    communities = sorted(
        (u for u in ctx.units.values() if u.level == OrgLevel.COMMUNITY and u.code.startswith(street.code)),
        key=lambda u: u.code,
    )
    points = {
        c.code: services.sampling_point_create(
            actor=admin,
            name=f"{c.name}核酸采样点",
            kind=PointKind.FIXED,
            grid=_first_grid(ctx, c.code),
            address=f"{c.name}党群服务中心",
            opening_hours="07:00-11:00, 14:00-18:00",
        )
        for c in communities
    }
    testing_round = services.testing_round_create(
        actor=admin, name=f"{street.name}区域核酸检测", area=street, day=timezone.localdate(ctx.anchor)
    )
    demo_people = {u.person_id for u in ctx.users.values() if u.person_id}
    residents = list(
        Person.objects.filter(org_code__startswith=street.code)
        .exclude(pk__in=demo_people)
        .order_by("pk")
        .values_list("pk", "org_code")
    )
    rng.shuffle(residents)
    chosen = sorted(residents[: min(MAX_SAMPLED, int(len(residents) * 0.7))], key=lambda r: r[1])
    people = {p.pk: p for p in Person.objects.filter(pk__in=[pk for pk, _ in chosen])}
    barcodes: list[str] = []
    with ctx.bar(len(chosen), "specimens", "person") as bar:
        for start in range(0, len(chosen), POOL):
            members = chosen[start : start + POOL]
            community = members[0][1][:12]
            barcode = f"YT{ctx.seed % 10000:04d}{len(barcodes) + 1:06d}"
            tube = services.tube_register(
                actor=sampler,
                barcode=barcode,
                pool_size=POOL,
                sampling_point=points.get(community),
                testing_round=testing_round,
            )
            for pk, _org in members:
                services.specimen_add(
                    actor=sampler,
                    tube=tube,
                    person=people[pk],
                    client_id=uuid.UUID(int=rng.getrandbits(128), version=4),
                )
                bar.update()
            services.tube_seal(actor=sampler, tube=tube)
            barcodes.append(barcode)
    positives = set(rng.sample(barcodes, min(len(barcodes), 5 if ctx.plan.scale == "district" else 2)))
    services.results_submit(
        actor=lab,
        rows=[{"tube": b, "result": "positive" if b in positives else "negative"} for b in barcodes],
    )


def _first_grid(ctx: DemoContext, community_code: str):
    return min((g for g in ctx.grids() if g.code.startswith(community_code)), key=lambda g: g.code)
