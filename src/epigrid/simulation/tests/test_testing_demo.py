"""The demo's testing round: tubes of ten, a few positive pools with recalls, the demo residents untouched."""

from __future__ import annotations

import pytest
from django.utils import timezone

from epigrid.core import health
from epigrid.investigation.models import Case
from epigrid.simulation import district
from epigrid.testing.models import Recall, Specimen, Tube
from epigrid.testing.models import TestingRound as Round  # not collected as a test class

SEED = 7


@pytest.fixture
def loaded(db, django_capture_on_commit_callbacks):
    # the health code reacts to test results after commit, as it does in a real load
    with django_capture_on_commit_callbacks(execute=True):
        district.ensure_demo_district(scale="test", seed=SEED, progress=False)


def test_a_finished_round_with_two_positive_pools(loaded):
    # The round the testing demo ran (the supplies demo plans another for tomorrow, without tubes yet).
    testing_round = Round.objects.filter(day__lte=timezone.localdate()).get()
    tubes = Tube.objects.filter(testing_round=testing_round)
    assert tubes.exists() and not tubes.exclude(status="resulted").exists()
    assert tubes.filter(result="positive").count() == 2
    pools = Specimen.objects.filter(tube__testing_round=testing_round, tube__result="positive")
    positive_members = set(pools.values_list("person_id", flat=True))
    assert set(Recall.objects.values_list("person_id", flat=True)) == positive_members
    assert all(
        s.tube.pool_size == 10 for s in Specimen.objects.filter(tube__testing_round=testing_round)[:50]
    )
    # The investigation steps re-test every recalled member in a single tube: one per pool is positive
    # (a case, red), the others negative (their recall resolved).
    assert not Recall.objects.filter(resolved_at__isnull=True).exists()
    cases = set(Case.objects.filter(person_id__in=positive_members).values_list("person_id", flat=True))
    assert len(cases) == 2
    assert all(health.colour_for(pid).colour == "red" for pid in cases)
    assert set(Recall.objects.filter(resolution="positive").values_list("person_id", flat=True)) == cases


def test_demo_residents_are_not_sampled(loaded):
    from epigrid.core.models import User

    # The demo's resident accounts (with a password), not those the recall notices made on demand.
    demo_people = {u.person_id for u in User.objects.exclude(person=None) if u.has_usable_password()}
    assert not Specimen.objects.filter(person_id__in=demo_people).exists()
