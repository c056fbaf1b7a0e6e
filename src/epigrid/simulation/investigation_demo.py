"""Demo steps ``retest`` and ``investigation`` (after testing): the positive pools' members are re-tested in
single tubes, a few are positive, and the investigation module opens and traces their cases by itself.

Then the epidemiologist's day: onset dates from the interview, a place the case forgot to scan, a contact
of the first case who tests positive (a linked case: a chain of two generations), and a named source.
Everything goes through the services, so contacts, red codes and chains come out as in use.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.utils import timezone

from epigrid.investigation import services as investigation
from epigrid.investigation.models import Case, Contact
from epigrid.places.models import Venue
from epigrid.simulation import testing_demo  # noqa: F401 - the testing round runs before this
from epigrid.simulation.district import DemoContext, demo_step
from epigrid.testing import services as testing
from epigrid.testing.models import Recall

POSITIVE_PER_POOL = 1


def _single_tube_tests(ctx: DemoContext, people: list[int], positive: set[int], prefix: str) -> None:
    from epigrid.core.models import Person

    rng = ctx.rng(f"retest-{prefix}")
    sampler, lab = ctx.users["sampler"], ctx.users["lab"]
    barcodes = {}
    for person in Person.objects.filter(pk__in=people).order_by("pk"):
        barcode = f"{prefix}{ctx.seed % 10000:04d}{len(barcodes) + 1:05d}"
        tube = testing.tube_register(actor=sampler, barcode=barcode, pool_size=1)
        testing.specimen_add(
            actor=sampler, tube=tube, person=person, client_id=uuid.UUID(int=rng.getrandbits(128), version=4)
        )
        barcodes[barcode] = person.pk
    testing.results_submit(
        actor=lab,
        rows=[
            {"tube": b, "result": "positive" if pk in positive else "negative"} for b, pk in barcodes.items()
        ],
    )


@demo_step("retest")
def load_retest(ctx: DemoContext) -> None:
    """Each recalled member gets a single tube; one per positive pool is positive (after this step's commit
    ``specimen.positive`` opens their cases)."""
    rng = ctx.rng("retest")
    by_tube: dict[int, list[int]] = {}
    for tube_id, person_id in Recall.objects.filter(resolved_at__isnull=True).values_list(
        "tube_id", "person_id"
    ):
        by_tube.setdefault(tube_id, []).append(person_id)
    positive: set[int] = set()
    for _tube, members in sorted(by_tube.items()):
        positive.update(rng.sample(sorted(members), min(POSITIVE_PER_POOL, len(members))))
    _single_tube_tests(ctx, [pk for members in by_tube.values() for pk in members], positive, "RT")


@demo_step("investigation")
def load_investigation(ctx: DemoContext) -> None:
    epi = ctx.users["epidemiologist"]
    cases = list(Case.objects.order_by("pk"))
    if not cases:
        return
    rng = ctx.rng("investigation")
    today = timezone.localdate(ctx.anchor)
    first = cases[0]
    investigation.case_update(
        actor=epi,
        case=first,
        investigator=epi,
        classification="confirmed",
        onset_date=today - dt.timedelta(days=1),
        notes="流调访谈：发病前两天有聚餐，自述咽痛、发热 37.8℃。",
    )
    venues = list(Venue.objects.filter(status="approved").order_by("pk")[:50])
    if venues:
        venue = rng.choice(venues)
        start = timezone.make_aware(dt.datetime.combine(today - dt.timedelta(days=2), dt.time(10, 0)))
        investigation.trajectory_add(
            actor=epi,
            case=first,
            venue=venue,
            start=start,
            end=start + dt.timedelta(minutes=40),
            note="未扫码",
        )
    # One of the first case's close contacts tests positive two days later: a linked case.
    demo_people = {u.person_id for u in ctx.users.values() if u.person_id}  # their colours stay as set
    close = list(
        Contact.objects.filter(case=first, tier="close")
        .exclude(person_id__in=demo_people)
        .order_by("-score", "pk")[:1]
    )
    if close:
        _single_tube_tests(ctx, [close[0].person_id], {close[0].person_id}, "CT")
    if len(cases) > 1:
        investigation.caselink_create(actor=epi, source=first, target=cases[1], note="同一单位同事（访谈）")
