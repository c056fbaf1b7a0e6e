"""Health-code pages through the Django test client: access per role, scope, the resident's code, the door
check, overrides, appeals, risk-area import and the rule-set preview against activation."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import time

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape
from openpyxl import Workbook

from epigrid.core import signing
from epigrid.core.models import AuditEntry
from epigrid.core.roles import Perm, Role, has_perm, is_staff_role
from epigrid.core.tests.factories import PersonFactory
from epigrid.healthcode import codes, engine, services
from epigrid.healthcode.models import (
    Appeal,
    AppealStatus,
    HealthCode,
    HealthCodeChange,
    Override,
    RiskArea,
    RuleSet,
)

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


class _FakeUser:
    is_authenticated = True
    is_active = True

    def __init__(self, role: str) -> None:
        self.role = role


def roles(predicate) -> list[str]:
    return [r.value for r in Role if predicate(_FakeUser(r.value))]


def staff(u) -> bool:
    return is_staff_role(u.role)


def may_view(u) -> bool:
    return has_perm(u, Perm.HEALTHCODE_VIEW)


def may_see_rules(u) -> bool:
    return staff(u) and (has_perm(u, Perm.POLICY_EDIT) or has_perm(u, Perm.HEALTHCODE_VIEW))


def make_red(person) -> None:
    services.facts_update(
        actor=None,
        person_ids=[person.pk],
        changes={"infection": "confirmed", "infection_at": timezone.now()},
    )


def make_yellow_fever(person) -> None:
    services.facts_update(actor=None, person_ids=[person.pk], changes={"fever_at": timezone.now()})


def english(client):
    """The same client reading pages in English (for messages with values filled in)."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def shows(html: str, message: str, **params: object) -> bool:
    """The page shows ``message`` in English or through the zh-Hans catalogue (the requests' default)."""
    with translation.override("zh-hans"):
        zh = translation.gettext(message)
    if params:
        message, zh = message % params, zh % params
    return escape(message) in html or escape(zh) in html


def data_code(html: str) -> str:
    found = re.search(r'data-code="([^"]+)"', html)
    assert found, "no data-code on the page"
    return found.group(1)


# --- access ---------------------------------------------------------------------------------------

PAGES = {
    "verify": (lambda u: staff(u) and has_perm(u, Perm.HEALTHCODE_VERIFY), []),
    "code_list": (lambda u: staff(u) and may_view(u), []),
    "appeals": (lambda u: staff(u) and has_perm(u, Perm.HEALTHCODE_OVERRIDE), []),
    "risk_areas": (staff, []),
    "rule_sets": (may_see_rules, []),
}


@pytest.mark.parametrize("name", list(PAGES))
@pytest.mark.parametrize("role", [r.value for r in Role])
def test_staff_pages_open_for_their_roles_and_are_403_for_others(login_client, users, name, role):
    allowed, args = PAGES[name]
    response = login_client(users[role]).get(reverse(f"healthcode:{name}", args=args))
    assert response.status_code == (200 if allowed(_FakeUser(role)) else 403), (name, role)


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_person_code_page_for_viewers_only(login_client, users, person_a, role):
    response = login_client(users[role]).get(reverse("healthcode:person_code", args=[person_a.pk]))
    assert response.status_code == (200 if staff(_FakeUser(role)) and may_view(_FakeUser(role)) else 403)


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_my_code_is_for_residents_only(login_client, users, role):
    response = login_client(users[role]).get(reverse("healthcode:my_code"))
    assert response.status_code == (200 if role == Role.RESIDENT else 403)


def test_anonymous_is_sent_to_login(client):
    for name in ("my_code", "verify", "code_list", "appeals", "risk_areas", "rule_sets"):
        response = client.get(reverse(f"healthcode:{name}"))
        assert response.status_code == 302, name


def test_scope_grid_worker_gets_404_outside_the_grid(login_client, users, person_a, person_b):
    make_red(person_b)
    client = login_client(users["grid_worker"])
    assert client.get(reverse("healthcode:person_code", args=[person_b.pk])).status_code == 404
    assert client.get(reverse("healthcode:person_code", args=[person_a.pk])).status_code == 200
    html = client.get(reverse("healthcode:code_list")).content.decode()
    assert f'data-person="{person_b.pk}"' not in html
    # the district's epidemiologist sees both
    html = login_client(users["epidemiologist"]).get(reverse("healthcode:code_list")).content.decode()
    assert f'data-person="{person_b.pk}"' in html and person_b.name not in html  # masked


def test_nav_links_the_pages_per_role(login_client, users):
    html = login_client(users["resident"]).get(reverse("core:home"), follow=True).content.decode()
    assert f'href="{reverse("healthcode:my_code")}"' in html
    html = login_client(users["grid_worker"]).get(reverse("core:home")).content.decode()
    assert f'href="{reverse("healthcode:verify")}"' in html
    assert f'href="{reverse("healthcode:rule_sets")}"' not in html
    html = login_client(users["district_admin"]).get(reverse("core:home")).content.decode()
    for name in ("code_list", "appeals", "risk_areas", "rule_sets"):
        assert f'href="{reverse(f"healthcode:{name}")}"' in html


# --- the resident's code --------------------------------------------------------------------------


def test_my_code_shows_colour_reason_and_a_verifiable_qr(login_client, users, person_a):
    make_red(person_a)
    code = HealthCode.objects.get(person=person_a)
    response = login_client(users["resident"]).get(reverse("healthcode:my_code"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="hc-card" data-colour="red"' in html
    assert code.reason and code.reason in html
    assert code.to_green and code.to_green in html
    assert "<svg" in html and "data-clock" in html
    verified = codes.verify_personal_code(data_code(html))
    assert verified.valid and verified.person_id == person_a.pk and verified.colour == "red"
    assert response["Cache-Control"] == "no-store"


def test_my_code_qr_partial_refreshes_with_a_new_code(login_client, users, person_a):
    client = login_client(users["resident"])
    response = client.get(reverse("healthcode:my_code") + "?part=qr", **HX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<svg" in html and "<html" not in html and "hc-card" not in html
    token = data_code(html)
    assert codes.verify_personal_code(token).person_id == person_a.pk
    seconds = int(re.search(r'data-seconds="(\d+)"', html).group(1))
    assert 55 <= seconds <= codes.LIFETIME_SECONDS
    assert 'hx-trigger="every 50s' in client.get(reverse("healthcode:my_code")).content.decode()


def test_travel_declaration_from_a_high_risk_region_turns_red(login_client, users, person_a):
    services.risk_area_designate(
        actor=users["epidemiologist"],
        data=services.RiskAreaInput(name="外地高风险区", level="high", kind="region", region_code="310101"),
    )
    client = login_client(users["resident"])
    page = client.get(reverse("healthcode:my_code")).content.decode()
    client_id = re.search(r'name="client_id" value="([^"]+)"', page).group(1)
    arrived = timezone.localtime() - dt.timedelta(hours=2)
    response = client.post(
        reverse("healthcode:my_travel"),
        {
            "from_region_code": "310101",
            "from_place": "上海市黄浦区",
            "arrived_at": arrived.strftime("%Y-%m-%dT%H:%M"),
            "client_id": client_id,
        },
    )
    assert response.status_code == 302
    assert HealthCode.objects.get(person=person_a).colour == "red"
    html = client.get(reverse("healthcode:my_code")).content.decode()
    assert 'data-colour="red"' in html and "外地高风险区" in html  # the risk area is listed


def test_travel_declaration_error_is_shown_on_the_page(login_client, users):
    client = login_client(users["resident"])
    future = timezone.localtime() + dt.timedelta(days=2)
    response = client.post(
        reverse("healthcode:my_travel"),
        {
            "from_region_code": "310101",
            "arrived_at": future.strftime("%Y-%m-%dT%H:%M"),
            "client_id": "0b7c4a0e-7f55-4c38-9e43-3c1f0a7c9d11",
        },
    )
    assert response.status_code == 400
    assert shows(response.content.decode(), "The arrival lies in the future.")


def test_appeal_form_then_the_open_appeal_status(login_client, users, person_a):
    make_red(person_a)
    client = login_client(users["resident"])
    response = client.post(reverse("healthcode:my_appeal"), {"note": "我已经康复了"})
    assert response.status_code == 302
    appeal = Appeal.objects.get(person=person_a)
    assert appeal.status == AppealStatus.OPEN and appeal.colour == "red"
    html = client.get(reverse("healthcode:my_code")).content.decode()
    assert 'data-testid="open-appeal"' in html and "我已经康复了" in html
    assert reverse("healthcode:my_appeal") not in html  # no second form while one is open
    again = client.post(reverse("healthcode:my_appeal"), {"note": "again"})
    assert again.status_code == 400 and shows(
        again.content.decode(), "You have an open appeal already; staff will answer it."
    )


# --- the door -------------------------------------------------------------------------------------


def test_verify_a_valid_code_shows_colour_and_masked_name(login_client, users, person_a):
    token, _ = codes.personal_code(person_a)
    response = login_client(users["grid_worker"]).post(reverse("healthcode:verify"), {"qr": token}, **HX)
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert 'data-valid="true"' in html and 'data-colour="green"' in html
    assert person_a.name_masked in html and person_a.name not in html


def test_verify_an_expired_code_says_expired(login_client, users, person_a):
    now = int(time.time())
    token = signing.sign("hc", {"p": person_a.pk, "iat": now - 600, "exp": now - 540})
    response = login_client(users["venue_kiosk"]).post(reverse("healthcode:verify"), {"qr": token})
    html = response.content.decode()
    assert response.status_code == 200 and "<html" in html  # without HTMX: the whole page
    assert 'data-valid="false"' in html and 'data-reason="expired"' in html
    assert "This code has expired; refresh it." in html or "expired" in html
    assert person_a.name_masked not in html


def test_verify_garbage_and_a_forged_code(login_client, users, person_a):
    client = login_client(users["sampler"])
    html = client.post(reverse("healthcode:verify"), {"qr": "hello world"}, **HX).content.decode()
    assert 'data-valid="false"' in html and 'data-reason="garbled"' in html
    token, _ = codes.personal_code(person_a)
    head, payload, sig = token.split(".")
    forged = f"{head}.{payload}.{sig[:-4]}AAAA"
    html = client.post(reverse("healthcode:verify"), {"qr": forged}, **HX).content.decode()
    assert 'data-valid="false"' in html and person_a.name_masked not in html


def test_verify_needs_the_permission(login_client, users, person_a):
    token, _ = codes.personal_code(person_a)
    assert (
        login_client(users["lab_technician"]).post(reverse("healthcode:verify"), {"qr": token}).status_code
        == 403
    )


# --- person page, overrides -----------------------------------------------------------------------


def test_person_code_page_shows_facts_history_and_rule(login_client, users, person_a):
    make_red(person_a)
    html = (
        login_client(users["quarantine_manager"])
        .get(reverse("healthcode:person_code", args=[person_a.pk]))
        .content.decode()
    )
    assert 'data-testid="facts"' in html and 'data-testid="history"' in html
    assert "<code>infection</code>" in html
    assert 'data-testid="override-form"' not in html  # no override permission


def test_override_changes_the_colour_and_is_audited(login_client, users, person_a):
    make_red(person_a)
    client = login_client(users["epidemiologist"])
    url = reverse("healthcode:override_create", args=[person_a.pk])
    expires = timezone.localtime() + dt.timedelta(days=3)
    response = client.post(
        url, {"colour": "green", "reason": "复核排除", "expires_at": expires.strftime("%Y-%m-%dT%H:%M")}
    )
    assert response.status_code == 302
    code = HealthCode.objects.get(person=person_a)
    assert code.colour == "green" and code.rule_id.startswith("override:")
    override = Override.objects.get(person=person_a)
    assert AuditEntry.objects.filter(action="healthcode.override", object_id=str(override.pk)).exists()
    html = client.get(reverse("healthcode:person_code", args=[person_a.pk])).content.decode()
    assert 'data-testid="overrides"' in html and "复核排除" in html

    # revoke: the rules decide again
    response = client.post(reverse("healthcode:override_revoke", args=[override.pk]))
    assert response.status_code == 302
    assert HealthCode.objects.get(person=person_a).colour == "red"
    assert AuditEntry.objects.filter(action="healthcode.override_revoke").exists()


def test_override_longer_than_30_days_is_refused_on_the_page(login_client, users, person_a):
    client = login_client(users["district_admin"])
    expires = timezone.localtime() + dt.timedelta(days=40)
    response = client.post(
        reverse("healthcode:override_create", args=[person_a.pk]),
        {"colour": "red", "reason": "x", "expires_at": expires.strftime("%Y-%m-%dT%H:%M")},
    )
    assert response.status_code == 400
    assert shows(response.content.decode(), "An override lasts at most 30 days.")
    assert not Override.objects.exists()


def test_override_is_403_without_permission_and_404_out_of_scope(login_client, users, person_a, person_b):
    expires = (timezone.localtime() + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    data = {"colour": "red", "reason": "x", "expires_at": expires}
    url_a = reverse("healthcode:override_create", args=[person_a.pk])
    assert login_client(users["grid_worker"]).post(url_a, data).status_code == 403
    url_b = reverse("healthcode:override_create", args=[person_b.pk])
    assert login_client(users["community_officer"]).post(url_b, data).status_code == 404
    assert not Override.objects.exists()


# --- appeals --------------------------------------------------------------------------------------


def test_appeal_decide_change_the_colour(login_client, users, person_a):
    make_red(person_a)
    appeal = services.appeal_submit(actor=users["resident"], note="误判")
    client = login_client(users["community_officer"])
    html = client.get(reverse("healthcode:appeals")).content.decode()
    assert f'data-appeal="{appeal.pk}"' in html and "误判" in html
    expires = (timezone.localtime() + dt.timedelta(days=5)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        reverse("healthcode:appeal_decide", args=[appeal.pk]),
        {"decision": "change", "note": "核实为误判", "colour": "green", "expires_at": expires},
    )
    assert response.status_code == 302
    appeal.refresh_from_db()
    assert appeal.status == AppealStatus.OVERRIDDEN and appeal.override is not None
    assert HealthCode.objects.get(person=person_a).colour == "green"
    assert AuditEntry.objects.filter(action="healthcode.appeal_decide").exists()
    html = client.get(reverse("healthcode:appeals")).content.decode()
    assert f'data-appeal="{appeal.pk}"' not in html  # no longer open
    # the resident sees the answer
    html = login_client(users["resident"]).get(reverse("healthcode:my_code")).content.decode()
    assert 'data-testid="last-appeal"' in html and "核实为误判" in html


def test_appeal_decide_confirm_and_errors(login_client, users, person_a):
    make_red(person_a)
    appeal = services.appeal_submit(actor=users["resident"], note="不对")
    client = english(login_client(users["epidemiologist"]))
    url = reverse("healthcode:appeal_decide", args=[appeal.pk])
    response = client.post(url, {"decision": "confirm", "note": ""}, follow=True)
    assert "Appeal of" in response.content.decode()
    appeal.refresh_from_db()
    assert appeal.status == AppealStatus.OPEN
    client.post(url, {"decision": "confirm", "note": "确诊属实"})
    appeal.refresh_from_db()
    assert appeal.status == AppealStatus.REJECTED
    assert HealthCode.objects.get(person=person_a).colour == "red"
    # answering twice is a message, not an error page
    response = client.post(url, {"decision": "confirm", "note": "again"}, follow=True)
    assert response.status_code == 200 and shows(
        response.content.decode(), "This appeal has been answered already."
    )


def test_appeal_out_of_scope_is_404(login_client, users, person_b):
    resident_b = users["resident"].__class__.objects.create(
        username="rb", role=Role.RESIDENT, person=person_b
    )
    appeal = services.appeal_submit(actor=resident_b, note="x")
    response = login_client(users["community_officer"]).post(
        reverse("healthcode:appeal_decide", args=[appeal.pk]), {"decision": "confirm", "note": "y"}
    )
    assert response.status_code == 404


# --- risk areas -----------------------------------------------------------------------------------


def xlsx_upload(rows: list[list]) -> SimpleUploadedFile:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return SimpleUploadedFile(
        "list.xlsx",
        buffer.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


def test_import_xlsx_creates_good_rows_and_reports_bad_rows(login_client, users):
    upload = xlsx_upload(
        [
            ["name", "region_code", "level", "effective_from"],
            ["上海市黄浦区", 310101, "高风险", dt.datetime(2022, 4, 1, 8, 0)],
            ["坏代码", "31A", "high", "2022-04-01"],
            ["北京市朝阳区", "110105", "中", "2022-04-02"],
            ["坏日期", "110101", "medium", "yesterday"],
            ["坏等级", "110102", "extreme", "2022-04-02"],
        ]
    )
    response = english(login_client(users["commander"])).post(
        reverse("healthcode:risk_area_import"), {"file": upload}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-created="2"' in html
    assert re.findall(r'data-row="(\d+)"', html) == ["3", "5", "6"]
    assert "A region code has 6 digits" in html and "effective_from is not a date" in html
    assert set(RiskArea.objects.values_list("region_code", "level")) == {
        ("310101", "high"),
        ("110105", "medium"),
    }


def test_import_csv(login_client, users):
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerows(
        [["name", "region_code", "level", "effective_from"], ["天津市和平区", "120101", "high", ""]]
    )
    upload = SimpleUploadedFile("list.csv", text.getvalue().encode("utf-8-sig"), content_type="text/csv")
    response = login_client(users["epidemiologist"]).post(
        reverse("healthcode:risk_area_import"), {"file": upload}
    )
    assert response.status_code == 200 and 'data-created="1"' in response.content.decode()
    assert RiskArea.objects.get().region_code == "120101"


def test_import_rejects_other_files_and_missing_columns(login_client, users):
    client = english(login_client(users["district_admin"]))
    bad = SimpleUploadedFile("list.txt", b"hello")
    response = client.post(reverse("healthcode:risk_area_import"), {"file": bad})
    assert response.status_code == 400 and "Upload a .csv or .xlsx file." in response.content.decode()
    no_cols = SimpleUploadedFile("list.csv", b"name,level\nx,high\n")
    response = client.post(reverse("healthcode:risk_area_import"), {"file": no_cols})
    assert response.status_code == 400 and "region_code" in response.content.decode()
    fake_xlsx = SimpleUploadedFile("list.xlsx", b"not a zip")
    response = client.post(reverse("healthcode:risk_area_import"), {"file": fake_xlsx})
    assert response.status_code == 400 and "not a readable Excel" in response.content.decode()
    assert not RiskArea.objects.exists()


def test_import_and_designate_are_403_without_permission(login_client, users):
    client = login_client(users["grid_worker"])
    upload = SimpleUploadedFile("list.csv", b"name,region_code,level,effective_from\nx,120101,high,\n")
    assert client.post(reverse("healthcode:risk_area_import"), {"file": upload}).status_code == 403
    data = {"name": "x", "level": "high", "kind": "region", "region_code": "120101"}
    assert client.post(reverse("healthcode:risk_area_designate"), data).status_code == 403
    html = client.get(reverse("healthcode:risk_areas")).content.decode()
    assert reverse("healthcode:risk_area_designate") not in html
    assert not RiskArea.objects.exists()


def test_designate_by_unit_polygon_and_region_then_new_case_and_end(login_client, users, jurisdiction):
    client = login_client(users["epidemiologist"])
    url = reverse("healthcode:risk_area_designate")
    assert (
        client.post(
            url,
            {"name": "A网格", "level": "high", "kind": "orgunit", "org_unit_code": jurisdiction.grid_a.code},
        ).status_code
        == 302
    )
    polygon = {
        "type": "Polygon",
        "coordinates": [[[121.2, 37.5], [121.25, 37.5], [121.25, 37.55], [121.2, 37.5]]],
    }
    assert (
        client.post(
            url, {"name": "画的区域", "level": "medium", "kind": "polygon", "polygon": json.dumps(polygon)}
        ).status_code
        == 302
    )
    bad = client.post(url, {"name": "坏", "level": "high", "kind": "orgunit", "org_unit_code": "999"})
    assert bad.status_code == 400 and shows(bad.content.decode(), "No org unit with code %(c)s.", c="999")
    areas = {a.name: a for a in RiskArea.objects.all()}
    assert areas["A网格"].org_unit == jurisdiction.grid_a and areas["画的区域"].polygon == polygon
    html = client.get(reverse("healthcode:risk_areas")).content.decode()
    assert f'data-area="{areas["A网格"].pk}"' in html

    area = areas["A网格"]
    before = area.last_case_at
    assert client.post(reverse("healthcode:risk_area_new_case", args=[area.pk])).status_code == 302
    area.refresh_from_db()
    assert area.last_case_at > before
    assert (
        client.post(reverse("healthcode:risk_area_end", args=[area.pk]), {"reason": "解封"}).status_code
        == 302
    )
    area.refresh_from_db()
    assert area.ended_at is not None
    response = client.post(
        reverse("healthcode:risk_area_end", args=[area.pk]), {"reason": "again"}, follow=True
    )
    assert shows(response.content.decode(), "This area has ended already.")


# --- rule sets ------------------------------------------------------------------------------------


def stricter_rules() -> list[dict]:
    """The active set, with fever red instead of yellow."""
    rules = json.loads(json.dumps(engine.active_rule_set().rules))
    for rule in rules:
        if rule["id"] == "fever":
            rule["colour"] = "red"
    return rules


def test_rule_sets_read_only_for_viewers(login_client, users):
    html = english(login_client(users["grid_worker"])).get(reverse("healthcode:rule_sets")).content.decode()
    assert "<code>infection</code>" in html and "within the last 14 days" in html
    assert reverse("healthcode:rule_set_create") not in html
    assert (
        login_client(users["grid_worker"]).post(reverse("healthcode:rule_set_create"), {}).status_code == 403
    )
    active = engine.active_rule_set()
    assert (
        login_client(users["commander"])
        .post(reverse("healthcode:rule_set_activate", args=[active.pk]))
        .status_code
        == 403
    )


def test_rule_set_form_is_prefilled_and_shows_rule_errors(login_client, users):
    client = english(login_client(users["district_admin"]))
    html = client.get(reverse("healthcode:rule_sets")).content.decode()
    assert "&quot;id&quot;: &quot;infection&quot;" in html  # the active rules, as JSON in the textarea
    policy = engine.active_rule_set().policy_id
    bad = [{"id": "x", "colour": "purple", "when": [{"fact": "fever_at", "within_days": 3}]}]
    response = client.post(
        reverse("healthcode:rule_set_create"),
        {
            "name": "bad",
            "policy": policy,
            "response_levels": ["normal"],
            "rules": json.dumps(bad),
            "action": "create",
        },
    )
    assert (
        response.status_code == 400
        and "colour must be one of green, yellow, red" in response.content.decode()
    )
    response = client.post(
        reverse("healthcode:rule_set_create"),
        {
            "name": "bad",
            "policy": policy,
            "response_levels": ["normal"],
            "rules": "{not json",
            "action": "create",
        },
    )
    assert response.status_code == 400 and "This is not valid JSON" in response.content.decode()


def test_preview_lists_exactly_the_people_that_activation_changes(login_client, users, jurisdiction):
    fever = [PersonFactory(grid=jurisdiction.grid_a) for _ in range(3)]
    for person in fever:
        make_yellow_fever(person)
    red = PersonFactory(grid=jurisdiction.grid_b)
    make_red(red)
    client = login_client(users["district_admin"])
    rules_json = json.dumps(stricter_rules(), ensure_ascii=False)

    # preview straight from the form: nothing saved
    response = client.post(reverse("healthcode:rule_set_create"), {"rules": rules_json, "action": "preview"})
    assert response.status_code == 200
    preview_ids = {int(pk) for pk in re.findall(r'<tr data-person="(\d+)"', response.content.decode())}
    assert preview_ids == {p.pk for p in fever}
    assert RuleSet.objects.count() == 2

    policy = engine.active_rule_set().policy_id
    response = client.post(
        reverse("healthcode:rule_set_create"),
        {
            "name": "发热转红",
            "policy": policy,
            "response_levels": ["normal", "IV"],
            "rules": rules_json,
            "action": "create",
        },
    )
    assert response.status_code == 302
    made = RuleSet.objects.get(name="发热转红")
    html = client.post(reverse("healthcode:rule_set_preview", args=[made.pk])).content.decode()
    assert 'data-total="3"' in html
    assert {int(pk) for pk in re.findall(r'<tr data-person="(\d+)"', html)} == preview_ids

    started = timezone.now()
    response = client.post(reverse("healthcode:rule_set_activate", args=[made.pk]))
    assert response.status_code == 200 and 'data-testid="recompute-result"' in response.content.decode()
    changed = set(HealthCodeChange.objects.filter(at__gte=started).values_list("person_id", flat=True))
    assert changed == preview_ids
    made.refresh_from_db()
    assert made.is_active
    assert AuditEntry.objects.filter(action="healthcode.ruleset_activate").exists()
