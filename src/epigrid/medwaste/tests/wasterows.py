"""Rows for the alarm, oversight and retention tests: a small chain of parties and bags with custody records
at chosen times and weights, written directly (test data only), so each rule's boundary can be set to the
second. The chain's own services (labels, handovers) are tested with their factories."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass

from epigrid.core.models import OrgUnit
from epigrid.medwaste.models import STAGE_ORDER, Bag, CustodyRecord, Party, PartyKind, Stage

_numbers = itertools.count(1)


def set_rules(**params: object) -> None:
    """A general policy with these rules, active now (as an administrator would publish it)."""
    from epigrid.core import services as core_services
    from epigrid.core.models import DiseaseProfile, PolicyVersion
    from epigrid.core.selectors import GENERAL, policy_cache_clear

    general = DiseaseProfile.objects.get(code=GENERAL)
    current = PolicyVersion.objects.get(disease=general, is_active=True)
    core_services.policy_version_create(
        actor=None,
        disease=general,
        version=f"waste-{next(_numbers)}",
        title="waste rules",
        params={**current.params, **params},
        activate=True,
    )
    policy_cache_clear()  # activation clears it after the commit, which a test never reaches


def party(
    kind: str, area: OrgUnit, *, parent: Party | None = None, interval: int | None = None, **extra
) -> Party:
    n = next(_numbers)
    return Party.objects.create(
        name=f"{kind}-{n}",
        kind=kind,
        parent=parent,
        area=area,
        org_code=area.code,
        collection_interval_hours=interval,
        **extra,
    )


@dataclass
class Chain:
    producer: Party
    institution: Party
    company: Party
    plant: Party

    def party_for(self, stage: str) -> Party:
        return {
            Stage.LABELLED: self.producer,
            Stage.STORED: self.institution,
            Stage.COLLECTED: self.company,
            Stage.DELIVERED: self.plant,
            Stage.INCINERATED: self.plant,
        }[stage]


def chain(area: OrgUnit, *, interval: int | None = None) -> Chain:
    institution = party(PartyKind.INSTITUTION, area, interval=interval, lat=37.51, lng=121.21)
    return Chain(
        producer=party(PartyKind.PRODUCER, area, parent=institution),
        institution=institution,
        company=party(PartyKind.DISPOSER, area),
        plant=party(PartyKind.DISPOSER, area),
    )


def bag(
    c: Chain,
    steps: list[tuple[str, dt.datetime, int]],
    *,
    anomalies: dict[str, str] | None = None,
    category: str = "infectious",
) -> Bag:
    """A bag with one record per (stage, at, weight_g); the bag stands at its furthest stage."""
    anomalies = anomalies or {}
    first_at, first_weight = steps[0][1], steps[0][2]
    last = max(steps, key=lambda s: STAGE_ORDER.index(s[0]))
    b = Bag.objects.create(
        code=f"MWT{next(_numbers):08d}",
        producer=c.producer,
        category=category,
        weight_g=first_weight,
        labelled_at=first_at,
        handler_name="张三",
        stage=last[0],
        stage_at=last[1],
        holder=c.party_for(last[0]),
        org_code=c.producer.org_code,
    )
    previous: Party | None = None
    for stage, at, weight in sorted(steps, key=lambda s: STAGE_ORDER.index(s[0])):
        to = c.party_for(stage)
        CustodyRecord.objects.create(
            bag=b,
            stage=stage,
            at=at,
            weight_g=weight,
            from_party=previous if stage != Stage.INCINERATED else c.plant,
            to_party=to,
            recorded_at=at,
            anomaly=anomalies.get(stage, ""),
            org_code=b.org_code,
        )
        previous = to
    return b


def move(b: Bag, c: Chain, stage: str, at: dt.datetime, weight: int) -> None:
    """One more step, as the chain of custody writes it (the bag follows)."""
    CustodyRecord.objects.create(
        bag=b,
        stage=stage,
        at=at,
        weight_g=weight,
        from_party=b.holder,
        to_party=c.party_for(stage),
        recorded_at=at,
        org_code=b.org_code,
    )
    Bag.objects.filter(pk=b.pk).update(stage=stage, stage_at=at, holder=c.party_for(stage))
    b.refresh_from_db()
