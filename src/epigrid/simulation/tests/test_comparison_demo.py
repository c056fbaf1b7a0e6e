"""The demo's comparison steps: two lists imported through the pipeline, tests and screenings since, and three
saved rules whose action lists hold exactly the people the archives say."""

from __future__ import annotations

import datetime as dt

import pytest

from epigrid.comparison.models import (
    Arrival,
    ArrivalSource,
    ComparisonHit,
    ComparisonKind,
    ComparisonRule,
    ImportStatus,
    LinkMethod,
    ListImport,
    ListRow,
    ListSource,
    RowStatus,
)
from epigrid.core.models import Person
from epigrid.grids.models import Task, TaskState, TaskType
from epigrid.simulation import comparison_demo, district
from epigrid.testing.models import Specimen
from epigrid.vaccination.models import VaccinationStatus

SEED = 11


def test_the_steps_run_after_vaccination_in_order():
    names = [name for name, _step in district.STEPS]
    assert (
        names.index("vaccination_activity")
        < names.index("comparison_lists")
        < names.index("comparison_followup")
    )
    assert "comparison_lists" in district.OWN_TRANSACTIONS  # the pipeline commits chunk by chunk


@pytest.fixture
def loaded(transactional_db):
    # Committed for real, as in a load: the grids' screening tasks follow the arrivals after commit.
    district.ensure_demo_district(scale="test", seed=SEED, progress=False)


def test_two_lists_become_a_few_dozen_arrivals_from_risk_areas_and_elsewhere(loaded):
    assert set(ListSource.objects.values_list("kind", flat=True)) == {"transport", "telecom"}
    imports = ListImport.objects.all()
    assert imports.count() == 2 and not imports.exclude(status=ImportStatus.DONE).exists()
    assert all(i.processed_rows == i.total_rows > 0 for i in imports)
    arrivals = Arrival.objects.filter(source=ArrivalSource.LIST)
    total = arrivals.count()
    station = ListImport.objects.get(source__kind="transport").total_rows
    assert 20 <= station <= comparison_demo.list_size(10**6) == 300  # a few dozen in the test district
    # The telecom push repeats about a third of the station's people: their arrival is stored once.
    assert station < total < sum(i.total_rows for i in imports)
    levels = {level: arrivals.filter(risk_level=level).count() for level in ("high", "medium", "")}
    assert levels["high"] and levels["medium"] and 0 < levels[""] < levels["high"] + levels["medium"]
    # Every row is a resident, linked by document number (full-width digits and +86 phones normalised).
    rows = ListRow.objects.all()
    assert rows.count() == sum(i.total_rows for i in imports)
    assert set(rows.values_list("status", "link_method")) == {(RowStatus.LINKED, LinkMethod.EXACT_ID)}
    assert Person.objects.count() == len(district.plan_district("test", SEED).persons())


def _risky() -> list[Arrival]:
    return list(Arrival.objects.filter(risk_level__in=("high", "medium")))


def test_some_were_tested_and_some_screened_since(loaded):
    risky = _risky()
    tested = {
        a.person_id
        for a in risky
        if Specimen.objects.filter(person_id=a.person_id, sampled_at__gte=a.arrived_at).exists()
    }
    assert 0 < len(tested) < len(risky)
    screenings = Task.objects.filter(
        type=TaskType.SCREEN_ARRIVAL, subject_person_id__in=[a.person_id for a in risky]
    )
    assert (
        screenings.filter(state=TaskState.DONE).exists() and screenings.exclude(state=TaskState.DONE).exists()
    )


def test_three_rules_with_their_action_lists(loaded):
    rules = {r.kind: r for r in ComparisonRule.objects.all()}
    assert set(rules) == {
        ComparisonKind.NOT_TESTED,
        ComparisonKind.NOT_SCREENED,
        ComparisonKind.NOT_VACCINATED,
    }
    assert rules[ComparisonKind.NOT_TESTED].params["hours"] == 48
    runs = {kind: rule.runs.get() for kind, rule in rules.items()}
    risky = _risky()
    anchor = runs[ComparisonKind.NOT_TESTED].started_at

    def hits(kind: str) -> set[int]:
        return set(ComparisonHit.objects.filter(run=runs[kind]).values_list("person_id", flat=True))

    latest: dict[int, Arrival] = {}
    for a in sorted(risky, key=lambda a: a.arrived_at):
        latest[a.person_id] = a
    untested = {
        a.person_id
        for a in risky
        if a.arrived_at <= anchor - dt.timedelta(hours=48)
        and not Specimen.objects.filter(person_id=a.person_id, sampled_at__gte=a.arrived_at).exists()
    }
    assert hits(ComparisonKind.NOT_TESTED) == untested and untested
    screened = set(
        Task.objects.filter(type=TaskType.SCREEN_ARRIVAL, state=TaskState.DONE).values_list(
            "subject_person_id", flat=True
        )
    )
    assert hits(ComparisonKind.NOT_SCREENED) == {a.person_id for a in risky} - screened
    assert 0 < len(hits(ComparisonKind.NOT_SCREENED)) < len({a.person_id for a in risky})
    full = set(
        VaccinationStatus.objects.filter(series_complete=True, disease__code="covid19").values_list(
            "person_id", flat=True
        )
    )
    assert hits(ComparisonKind.NOT_VACCINATED) == {a.person_id for a in risky} - full
    assert hits(ComparisonKind.NOT_VACCINATED)
