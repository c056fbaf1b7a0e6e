"""Demo step ``healthcode`` (after the check-in history): risk areas, travel declarations and flagged residents.

Everything goes through the health-code services, so the facts and colours come out as they would in use:

- two regions elsewhere (上海市浦东新区 310115 high, 深圳市南山区 440305 medium) and one medium-risk grid
  inside the district (never the grid worker's grid, nor a grid the demo residents 1 and 2 visited);
- travel declarations: residents 4 and 5 declare through ``travel_declare`` (4 from 南山区 two days ago:
  yellow; 5 from 北京市朝阳区: green), about 1 % of the other residents have declarations from those regions or
  elsewhere; designating the regions afterwards turns the recent ones into arrival facts;
- routine nucleic-acid tests for most residents (negative, in the last three days), fever reports and
  close contacts (half of them in quarantine) through ``facts_update``;
- resident1 stays green (tested), resident2 is yellow (fever), resident3 red (close contact).

Deterministic per seed: every choice comes from ``ctx.rng("healthcode")`` over persons in plan order, and
every time is relative to the load's anchor.
"""

from __future__ import annotations

import datetime as dt
import uuid

from epigrid.checkins.models import CheckIn
from epigrid.core.models import OrgUnit
from epigrid.healthcode import services
from epigrid.healthcode.models import AreaKind, RiskLevel, TravelDeclaration
from epigrid.healthcode.services import RiskAreaInput
from epigrid.simulation import steps  # noqa: F401 - registers venues and check-in history before this step
from epigrid.simulation.district import DemoContext, demo_step

REGIONS = [  # (code, name, level); level "" = not a risk area
    ("310115", "上海市浦东新区", RiskLevel.HIGH),
    ("440305", "深圳市南山区", RiskLevel.MEDIUM),
    ("110105", "北京市朝阳区", ""),
    ("330106", "杭州市西湖区", ""),
]


def _uuid(rng) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _medium_grid(ctx: DemoContext, avoid_persons: list[int]) -> OrgUnit:
    """A grid for the medium-risk area: not the grid worker's, and none the given residents checked in at."""
    own = ctx.users["gridworker"].org_unit.code
    visited = set(
        CheckIn.objects.filter(person_id__in=avoid_persons)
        .values_list("venue__org_code", flat=True)
        .distinct()
    )
    grids = sorted(ctx.grids(), key=lambda g: g.code)
    candidates = [g for g in grids if g.code != own and g.code not in visited] or [
        g for g in grids if g.code != own
    ]
    return ctx.rng("healthcode_grid").choice(candidates)


@demo_step("healthcode")
def load_healthcode(ctx: DemoContext) -> None:
    rng = ctx.rng("healthcode")
    anchor = ctx.anchor
    admin = ctx.users["admin"]
    residents = [ctx.users[f"resident{i}"] for i in range(1, 6)]
    r1, r2, r3, r4, r5 = (user.person_id for user in residents)
    accounts = {r1, r2, r3, r4, r5}
    everyone = ctx.person_ids()
    others = [pid for pid in everyone if pid not in accounts]
    n = len(everyone)

    def hours_ago(low: float, high: float) -> dt.datetime:
        return anchor - dt.timedelta(hours=rng.uniform(low, high))

    # Travel declarations, before the regions are designated: designation turns the recent ones into facts.
    services.travel_declare(
        actor=residents[3],
        from_region_code="440305",
        from_place="深圳市南山区科技园",
        arrived_at=anchor - dt.timedelta(days=2, hours=3),
        client_id=_uuid(rng),
    )
    services.travel_declare(
        actor=residents[4],
        from_region_code="110105",
        from_place="北京市朝阳区",
        arrived_at=anchor - dt.timedelta(days=4),
        client_id=_uuid(rng),
    )
    travellers = rng.sample(others, max(8, n // 100))
    TravelDeclaration.objects.bulk_create(
        [
            TravelDeclaration(
                person_id=pid,
                org_code=org_code,
                from_region_code=code,
                from_place=name,
                arrived_at=hours_ago(6, 12 * 24),
                client_id=_uuid(rng),
            )
            for pid, org_code, (code, name, _level) in zip(
                travellers,
                _org_codes(travellers),
                [REGIONS[i % len(REGIONS)] for i in range(len(travellers))],
                strict=True,
            )
        ]
    )

    # Routine testing: most residents have a negative test from one of the last three mornings.
    tested = [pid for pid in others if rng.random() < 0.7]
    by_day: dict[int, list[int]] = {}
    for pid in tested:
        by_day.setdefault(rng.randrange(3), []).append(pid)
    by_day.setdefault(0, []).append(r1)
    for days_ago, ids in sorted(by_day.items()):
        services.facts_update(
            actor=None,
            person_ids=ids,
            changes={
                "last_test_result": "negative",
                "last_test_at": anchor - dt.timedelta(days=days_ago, hours=4),
            },
        )

    for code, name, level in REGIONS:
        if level:
            services.risk_area_designate(
                actor=admin,
                data=RiskAreaInput(
                    name=name,
                    level=level,
                    kind=AreaKind.REGION,
                    region_code=code,
                    effective_from=anchor - dt.timedelta(days=3),
                ),
            )
    grid = _medium_grid(ctx, [r1, r2])
    services.risk_area_designate(
        actor=admin,
        data=RiskAreaInput(
            name=f"{grid.name}（中风险）",
            level=RiskLevel.MEDIUM,
            kind=AreaKind.ORG_UNIT,
            org_unit_code=grid.code,
            effective_from=anchor - dt.timedelta(days=1),
        ),
    )

    # Fever reports and close contacts, after the tests: these people are not green until tested again.
    flagged = rng.sample(others, max(6, n // 200) + max(8, n // 150))
    fever, contacts = flagged[: max(6, n // 200)], flagged[max(6, n // 200) :]
    services.facts_update(actor=None, person_ids=[r2], changes={"fever_at": hours_ago(2, 6)})
    for pid in fever:
        services.facts_update(actor=None, person_ids=[pid], changes={"fever_at": hours_ago(1, 40)})
    services.facts_update(
        actor=None, person_ids=[r3], changes={"contact_tier": "close", "contact_at": hours_ago(20, 30)}
    )
    half = len(contacts) // 2
    services.facts_update(
        actor=None, person_ids=contacts, changes={"contact_tier": "close", "contact_at": hours_ago(12, 60)}
    )
    services.facts_update(
        actor=None,
        person_ids=contacts[:half],
        changes={"quarantine_until": anchor + dt.timedelta(days=7)},
    )


def _org_codes(person_ids: list[int]) -> list[str]:
    from epigrid.core.models import Person

    orgs = dict(Person.objects.filter(pk__in=person_ids).values_list("pk", "org_code"))
    return [orgs[pid] for pid in person_ids]
