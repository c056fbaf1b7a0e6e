"""Events from other modules change colours; risk areas, preview, overrides and appeals — through services."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from epigrid.checkins import services as checkin_services
from epigrid.checkins.models import CheckIn
from epigrid.core import events, health
from epigrid.core import services as core_services
from epigrid.core.errors import Conflict, DomainError, Forbidden
from epigrid.core.models import AuditEntry, Event, PolicyVersion
from epigrid.healthcode import engine, services
from epigrid.healthcode.models import Appeal, HealthCode, HealthCodeChange, RiskArea, RiskAreaChange, RuleSet
from epigrid.healthcode.seeding import default_rule_sets
from epigrid.healthcode.services import RiskAreaInput
from epigrid.places.tests.factories import VenueFactory


def publish(event_type, payload, capture):
    with capture(execute=True):
        events.publish(event_type, payload=payload, org_code="")


def colour(person) -> str:
    return health.colour_for(person.pk).colour


def test_close_contact_turns_red_then_green_after_quarantine(person_a, django_capture_on_commit_callbacks):
    now = timezone.now()
    publish(
        "contact.identified",
        {"person_id": person_a.pk, "tier": "close", "at": now.isoformat()},
        django_capture_on_commit_callbacks,
    )
    assert colour(person_a) == "red"
    assert HealthCode.objects.get(person=person_a).rule_id == "contact"
    publish(
        "quarantine.started",
        {"person_id": person_a.pk, "until": (now + dt.timedelta(days=7)).isoformat()},
        django_capture_on_commit_callbacks,
    )
    assert HealthCode.objects.get(person=person_a).rule_id == "in_quarantine"
    publish(
        "test.resulted",
        {"person_id": person_a.pk, "result": "negative", "at": now.isoformat()},
        django_capture_on_commit_callbacks,
    )
    publish(
        "quarantine.ended",
        {"person_id": person_a.pk, "at": (now + dt.timedelta(seconds=1)).isoformat()},
        django_capture_on_commit_callbacks,
    )
    assert colour(person_a) == "green"
    history = list(
        HealthCodeChange.objects.filter(person=person_a)
        .order_by("at", "pk")
        .values_list("from_colour", "to_colour", "rule_id")
    )
    assert history == [("green", "red", "contact"), ("red", "green", "")]
    assert Event.objects.filter(type="healthcode.changed", payload__person_id=person_a.pk).count() == 2


def test_check_in_shows_the_real_colour(person_a, jurisdiction, django_capture_on_commit_callbacks):
    publish(
        "case.confirmed",
        {"person_id": person_a.pk, "classification": "asymptomatic"},
        django_capture_on_commit_callbacks,
    )
    venue = VenueFactory(grid=jurisdiction.grid_a)
    result = checkin_services.checkin_record(actor=None, venue=venue, person=person_a, client_id=uuid.uuid4())
    assert result.checkin.colour == "red"


def test_batch_of_contacts_in_one_event(jurisdiction, django_capture_on_commit_callbacks):
    from epigrid.core.tests.factories import PersonFactory

    people = [PersonFactory(grid=jurisdiction.grid_a) for _ in range(5)]
    publish(
        "contact.identified",
        {"person_ids": [p.pk for p in people], "tier": "secondary"},
        django_capture_on_commit_callbacks,
    )
    assert set(HealthCode.objects.filter(colour="red").values_list("person_id", flat=True)) == {
        p.pk for p in people
    }


def test_designating_an_area_flags_recent_visitors_and_later_check_ins(
    users, person_a, person_b, jurisdiction
):
    venue_a = VenueFactory(grid=jurisdiction.grid_a)
    venue_b = VenueFactory(grid=jurisdiction.grid_b)
    checkin_services.checkin_record(actor=None, venue=venue_a, person=person_a, client_id=uuid.uuid4())
    checkin_services.checkin_record(actor=None, venue=venue_b, person=person_b, client_id=uuid.uuid4())
    area = services.risk_area_designate(
        actor=users["epidemiologist"],
        data=RiskAreaInput(
            name="A网格", level="medium", kind="orgunit", org_unit_code=jurisdiction.grid_a.code
        ),
    )
    assert (colour(person_a), colour(person_b)) == ("yellow", "green")
    assert HealthCode.objects.get(person=person_a).rule_id == "medium_visit"
    # a later check-in inside the area is noticed at once
    checkin_services.checkin_record(actor=None, venue=venue_a, person=person_b, client_id=uuid.uuid4())
    assert colour(person_b) == "yellow"
    assert RiskAreaChange.objects.filter(area=area).count() == 1


def test_travel_declaration_from_a_high_risk_region(users, person_a):
    services.risk_area_designate(
        actor=users["epidemiologist"],
        data=RiskAreaInput(name="上海市", level="high", kind="region", region_code="310000"),
    )
    services.travel_declare(
        actor=users["resident"],
        from_region_code="310101",
        from_place="黄浦区",
        arrived_at=timezone.now() - dt.timedelta(hours=5),
        client_id=uuid.uuid4(),
    )
    assert colour(person_a) == "red"
    assert HealthCode.objects.get(person=person_a).rule_id == "high_arrival"


def test_travel_from_a_normal_region_stays_green(users, person_a):
    services.travel_declare(
        actor=users["resident"],
        from_region_code="110105",
        from_place="",
        arrived_at=timezone.now(),
        client_id=uuid.uuid4(),
    )
    assert colour(person_a) == "green"
    with pytest.raises(DomainError, match="6 digits"):
        services.travel_declare(
            actor=users["resident"],
            from_region_code="31",
            from_place="",
            arrived_at=timezone.now(),
            client_id=uuid.uuid4(),
        )


def test_downgrades_follow_the_policy(users):
    area = services.risk_area_designate(
        actor=users["epidemiologist"],
        data=RiskAreaInput(name="北京朝阳", level="high", kind="region", region_code="110105"),
    )
    start = area.level_since
    assert services.risk_areas_downgrade_due(now=start + dt.timedelta(days=6)) == []
    services.risk_area_new_case(actor=users["epidemiologist"], area=area, at=start + dt.timedelta(days=5))
    assert (
        services.risk_areas_downgrade_due(now=start + dt.timedelta(days=11)) == []
    )  # clock restarted at day 5
    assert len(services.risk_areas_downgrade_due(now=start + dt.timedelta(days=12, minutes=1))) == 1
    area.refresh_from_db()
    assert area.level == "medium"
    later = area.level_since + dt.timedelta(days=3, minutes=1)
    services.risk_areas_downgrade_due(now=later)
    area.refresh_from_db()
    assert area.ended_at is not None
    assert list(
        RiskAreaChange.objects.filter(area=area).order_by("at").values_list("from_level", "to_level")
    ) == [
        ("", "high"),
        ("high", "medium"),
        ("medium", ""),
    ]
    assert AuditEntry.objects.filter(action="riskarea.level").count() == 2


def test_import_keeps_good_rows_and_reports_bad_ones(users):
    rows = [
        {"name": "上海浦东", "region_code": "310115", "level": "高风险", "effective_from": "2022-03-10"},
        {"name": "坏编码", "region_code": "31", "level": "high", "effective_from": "2022-03-10"},
        {"name": "坏等级", "region_code": "320100", "level": "很高", "effective_from": "2022-03-10"},
        {"name": "坏日期", "region_code": "320100", "level": "medium", "effective_from": "三月十日"},
        {"name": "南京", "region_code": "320100", "level": "中", "effective_from": ""},
    ]
    result = services.risk_area_import(actor=users["epidemiologist"], rows=rows)
    assert result.created == 2
    assert [row for row, _ in result.errors] == [3, 4, 5]
    assert set(RiskArea.objects.values_list("name", "level")) == {("上海浦东", "high"), ("南京", "medium")}


def test_preview_lists_exactly_who_activation_changes(
    users, jurisdiction, django_capture_on_commit_callbacks
):
    from epigrid.core.tests.factories import PersonFactory

    people = [PersonFactory(grid=jurisdiction.grid_a) for _ in range(4)]
    publish(
        "symptom.reported", {"person_id": people[0].pk, "fever": True}, django_capture_on_commit_callbacks
    )
    publish(
        "test.resulted",
        {"person_id": people[1].pk, "result": "negative", "at": timezone.now().isoformat()},
        django_capture_on_commit_callbacks,
    )
    publish("vaccination.dose", {"person_id": people[2].pk, "doses": 1}, django_capture_on_commit_callbacks)
    # a stricter set: fever is red, and fewer than 2 vaccine doses without a recent test is yellow
    stricter = [
        {
            "id": "fever_red",
            "colour": "red",
            "reason": "发热",
            "when": [{"fact": "fever_at", "within_days": 3}],
        },
        {
            "id": "no_test",
            "colour": "yellow",
            "reason": "未检测",
            "when": [
                {"fact": "last_test_at", "older_than_hours": 48},
                {"fact": "vaccine_doses", "at_least": 1},
            ],
        },
    ]
    policy = PolicyVersion.objects.get(disease__code="covid19", is_active=True)
    rule_set = services.rule_set_create(
        actor=users["district_admin"],
        policy=policy,
        name="更严",
        response_levels=["normal"],
        rules_json=stricter,
    )
    preview = {(row.person_id, row.from_colour, row.to_colour) for row in engine.preview(stricter)}
    assert preview == {(people[0].pk, "yellow", "red"), (people[2].pk, "green", "yellow")}
    before = dict(HealthCode.objects.values_list("person_id", "colour"))
    services.rule_set_activate(actor=users["district_admin"], rule_set=rule_set)
    after = dict(HealthCode.objects.values_list("person_id", "colour"))
    changed = {
        (pid, before.get(pid, "green"), c) for pid, c in after.items() if before.get(pid, "green") != c
    }
    assert changed == preview
    # the seeded set for the same response level stepped down
    active = {r.name for r in RuleSet.objects.filter(is_active=True)}
    assert "更严" in active and default_rule_sets()[0]["name"] not in active


def test_rule_sets_are_validated(users):
    policy = PolicyVersion.objects.get(disease__code="covid19", is_active=True)
    with pytest.raises(DomainError, match="colour"):
        services.rule_set_create(
            actor=users["district_admin"],
            policy=policy,
            name="x",
            response_levels=["normal"],
            rules_json=[{"id": "a", "colour": "purple", "when": [{"fact": "fever_at", "within_days": 1}]}],
        )
    with pytest.raises(Forbidden):
        services.rule_set_create(
            actor=users["grid_worker"], policy=policy, name="x", response_levels=["normal"], rules_json=[]
        )


def test_response_level_switches_to_the_emergency_set(users, person_a, django_capture_on_commit_callbacks):
    engine.recompute([person_a.pk])
    assert colour(person_a) == "green"
    with django_capture_on_commit_callbacks(execute=True):
        core_services.response_level_set(actor=users["commander"], level="II", reason="聚集性疫情")
    # the emergency set: no test within 72 hours is yellow
    assert HealthCode.objects.get(person=person_a).rule_id == "test_overdue"


def test_override_and_appeal(users, person_a, django_capture_on_commit_callbacks):
    publish(
        "contact.identified", {"person_id": person_a.pk, "tier": "close"}, django_capture_on_commit_callbacks
    )
    appeal = services.appeal_submit(actor=users["resident"], note="当天不在该场所，有单位考勤为证")
    with pytest.raises(Conflict):
        services.appeal_submit(actor=users["resident"], note="再次申诉")
    assert appeal.colour == "red"
    with pytest.raises(Forbidden):
        services.appeal_decide(actor=users["grid_worker"], appeal=appeal, uphold=True, note="x")
    services.appeal_decide(
        actor=users["community_officer"], appeal=appeal, uphold=True, note="核实考勤，误判", colour="green"
    )
    assert colour(person_a) == "green"
    code = HealthCode.objects.get(person=person_a)
    assert code.rule_id.startswith("override:")
    assert Appeal.objects.get(pk=appeal.pk).status == "overridden"
    assert AuditEntry.objects.filter(action="healthcode.override").exists()
    # revoking the override returns the rule's colour
    services.override_revoke(
        actor=users["community_officer"], override=Appeal.objects.get(pk=appeal.pk).override
    )
    assert colour(person_a) == "red"


def test_override_needs_scope_reason_and_a_near_expiry(users, person_b):
    soon = timezone.now() + dt.timedelta(days=1)
    with pytest.raises(Forbidden):
        services.override_create(
            actor=users["community_officer"], person=person_b, colour="green", reason="x", expires_at=soon
        )
    with pytest.raises(DomainError, match="30 days"):
        services.override_create(
            actor=users["epidemiologist"],
            person=person_b,
            colour="green",
            reason="x",
            expires_at=timezone.now() + dt.timedelta(days=60),
        )


def test_full_recompute_turns_expired_windows_green(person_a, django_capture_on_commit_callbacks):
    publish("symptom.reported", {"person_id": person_a.pk, "fever": True}, django_capture_on_commit_callbacks)
    assert colour(person_a) == "yellow"
    result = engine.recompute(now=timezone.now() + dt.timedelta(days=4))
    assert result.changed == 1 and colour(person_a) == "green"


def test_check_in_hook_is_silent_outside_risk_areas(person_a, jurisdiction):
    venue = VenueFactory(grid=jurisdiction.grid_a)
    checkin_services.checkin_record(actor=None, venue=venue, person=person_a, client_id=uuid.uuid4())
    assert CheckIn.objects.count() == 1
    assert not HealthCode.objects.exists()


def test_default_sets_are_seeded_and_active(db):
    names = set(RuleSet.objects.filter(is_active=True).values_list("name", flat=True))
    assert names == {s["name"] for s in default_rule_sets()}


def test_recompute_command(person_a):
    from io import StringIO

    from django.core.management import call_command

    services.facts_update(
        actor=None, person_ids=[person_a.pk], changes={"fever_at": timezone.now()}, recompute=False
    )
    out = StringIO()
    call_command("recompute_health_codes", stdout=out)
    assert "changed 1" in out.getvalue()
    assert colour(person_a) == "yellow"


def test_revoking_needs_scope_and_happens_once(users, person_b):
    override = services.override_create(
        actor=users["epidemiologist"],
        person=person_b,
        colour="yellow",
        reason="待核实",
        expires_at=timezone.now() + dt.timedelta(days=1),
    )
    with pytest.raises(Forbidden):
        services.override_revoke(
            actor=users["community_officer"], override=override
        )  # community A, person in B
    services.override_revoke(actor=users["epidemiologist"], override=override)
    with pytest.raises(Conflict):
        services.override_revoke(actor=users["epidemiologist"], override=override)


def test_no_new_case_in_an_ended_area(users):
    area = services.risk_area_designate(
        actor=users["epidemiologist"],
        data=RiskAreaInput(name="某区", level="medium", kind="region", region_code="440305"),
    )
    services.risk_area_end(actor=users["epidemiologist"], area=area, reason="解除")
    with pytest.raises(Conflict):
        services.risk_area_new_case(actor=users["epidemiologist"], area=area)


def test_preview_counts_people_without_facts_when_the_set_colours_them(users, person_a, person_b):
    emergency = default_rule_sets()[1]["rules"]
    preview = {row.person_id: row.to_colour for row in engine.preview(emergency)}
    assert preview[person_a.pk] == "yellow" and preview[person_b.pk] == "yellow"  # no test within 72 h
