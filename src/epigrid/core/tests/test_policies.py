"""Disease profiles and policy versions are data; the response level is history."""

from __future__ import annotations

import pytest

from epigrid.core import selectors, services
from epigrid.core.errors import Conflict, DomainError, Forbidden
from epigrid.core.models import AuditEntry, DiseaseProfile, Event, PolicyVersion


def test_seeded_profiles_and_covid_ninth_edition(db):
    assert set(DiseaseProfile.objects.values_list("code", flat=True)) == {
        "general",
        "covid19",
        "measles",
        "mpox",
        "influenza",
        "cholera",
    }
    covid = selectors.policy_active(disease_code="covid19")
    assert covid.version == "9"
    assert covid.params["infectious_days_before_onset"] == 4
    assert covid.params["close_contact_min_overlap_minutes"] == 15
    assert covid.params["close_contact_quarantine"]["test_days"] == [1, 2, 3, 5, 7]
    assert selectors.policy_param(disease_code="measles", name="follow_up_days") == 21
    assert selectors.policy_param(disease_code="cholera", name="follow_up_days") == 5


def test_a_new_version_replaces_the_active_one(users):
    covid = DiseaseProfile.objects.get(code="covid19")
    new = services.policy_version_create(
        actor=users["district_admin"],
        disease=covid,
        version="10",
        title="第十版",
        params={"close_contact_min_overlap_minutes": 0},
        activate=True,
    )
    assert selectors.policy_active(disease_code="covid19") == new
    assert PolicyVersion.objects.filter(disease=covid, is_active=True).count() == 1
    assert AuditEntry.objects.filter(action="policy.activate").exists()
    assert Event.objects.filter(type="policy.activated", payload__version="10").exists()
    with pytest.raises(Conflict):
        services.policy_version_create(
            actor=users["district_admin"], disease=covid, version="10", title="x", params={}
        )


def test_only_policy_editors_may_change_rules(users):
    covid = DiseaseProfile.objects.get(code="covid19")
    with pytest.raises(Forbidden):
        services.policy_version_create(
            actor=users["grid_worker"], disease=covid, version="x", title="x", params={}
        )


def test_response_level(users):
    assert selectors.response_level_current() == "normal"
    services.response_level_set(actor=users["commander"], level="II", reason="本土聚集性疫情")
    assert selectors.response_level_current() == "II"
    assert Event.objects.filter(type="response_level.changed", payload__level="II").exists()
    with pytest.raises(DomainError):
        services.response_level_set(actor=users["commander"], level="V")
    with pytest.raises(Forbidden):
        services.response_level_set(actor=users["sampler"], level="I")
    assert selectors.response_level_current() == "II"


def test_seeding_again_adds_nothing_and_keeps_edits(db):
    from epigrid.core.seeding import seed_diseases

    PolicyVersion.objects.filter(disease__code="measles").update(params={"follow_up_days": 30})
    assert seed_diseases(DiseaseProfile, PolicyVersion) == 0
    assert selectors.policy_param(disease_code="measles", name="follow_up_days") == 30
