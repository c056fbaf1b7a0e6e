"""The shared kernel's pages through the Django test client: access per role, scope, reveal, login, language."""

from __future__ import annotations

import datetime as dt
import re

import pyotp
import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape

from epigrid.core import services
from epigrid.core.models import AuditEntry, ResponseLevelChange, User
from epigrid.core.roles import Perm, Role, has_perm, is_staff_role, spec_for
from epigrid.core.tests.factories import TEST_PASSWORD, PersonFactory

pytestmark = pytest.mark.django_db

GRID_A = "370699001001001"
GRID_B = "370699002001001"
DETAIL_LINK = re.compile(r'href="/people/\d+/"')


def label(role: str, lang: str = "zh-hans") -> str:
    with translation.override(lang):
        return str(Role(role).label)


def zh(message: str) -> str:
    """What the page shows for ``message`` in the default language (zh-Hans), catalogue or not."""
    with translation.override("zh-hans"):
        return escape(translation.gettext(message))


def roles_with(perm: str) -> list[str]:
    return [r.value for r in Role if has_perm(_FakeUser(r.value), perm)]


def roles_without(perm: str) -> list[str]:
    return [r.value for r in Role if not has_perm(_FakeUser(r.value), perm)]


class _FakeUser:
    is_authenticated = True
    is_active = True

    def __init__(self, role: str) -> None:
        self.role = role


def login_via_form(client: Client, username: str, password: str = TEST_PASSWORD, **extra):
    return client.post(
        reverse("core:login"), {"step": "password", "username": username, "password": password, **extra}
    )


# --- login, logout, home -------------------------------------------------------------------------


def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("core:person_list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("core:login"))
    page = client.get(reverse("core:login"))
    assert page.status_code == 200
    assert b'name="username"' in page.content and b'name="password"' in page.content


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_every_role_logs_in_and_sees_its_home(client, users, role):
    user = users[role]
    response = login_via_form(client, user.username)
    assert response.status_code == 302
    assert response["Location"] == reverse("core:home")
    home = client.get(reverse("core:home"), follow=True)
    assert home.status_code == 200
    html = home.content.decode()
    if is_staff_role(role):
        assert f'data-testid="role-label">{label(role)}<' in html
        assert user.org_unit.name in html
    else:  # residents land on their portal
        assert home.redirect_chain == [(reverse("portal:home"), 302)]
        assert f'data-role="{role}">{label(role)}<' in html
    # the navigation is built from the role's items: every one links somewhere real
    for name in ("core:person_list", "core:audit_list", "core:policy_list", "core:my_record"):
        linked = f'href="{reverse(name)}"' in html
        assert linked == (name in spec_for(role).nav), name


def test_wrong_password_gives_a_clear_error_and_no_session(client, users):
    response = login_via_form(client, "grid_worker", password="not-the-password")
    assert response.status_code == 400
    assert zh("Wrong user name or password.") in response.content.decode()
    unknown = login_via_form(client, "nobody-like-this", password="x")
    assert unknown.status_code == 400
    # the same message for an unknown user: nothing tells which part was wrong
    assert zh("Wrong user name or password.") in unknown.content.decode()
    assert client.get(reverse("core:home")).status_code == 302


def test_login_honours_a_safe_next_only(client, users):
    response = login_via_form(client, "grid_worker", next=reverse("core:person_list"))
    assert response["Location"] == reverse("core:person_list")
    other = Client()
    response = login_via_form(other, "grid_worker", next="https://evil.example/")
    assert response["Location"] == reverse("core:home")


def test_logout_is_a_post_and_ends_the_session(login_client, users):
    client = login_client(users["commander"])
    assert client.get(reverse("core:home")).status_code == 200
    response = client.post(reverse("core:logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("core:login")
    assert client.get(reverse("core:home")).status_code == 302


def test_base_page_has_demo_banner_htmx_and_no_cdn(login_client, users):
    html = login_client(users["district_admin"]).get(reverse("core:home")).content.decode()
    assert 'class="demo-banner"' in html
    assert "/static/vendor/htmx-2.0.11/htmx.min.js" in html
    assert 'lang="zh-hans"' in html
    assert "cdn" not in html.lower() and "unpkg" not in html.lower()


# --- people: scope, masking, reveal ---------------------------------------------------------------


@pytest.mark.parametrize("role", roles_with(Perm.PERSON_VIEW))
def test_person_list_renders_for_roles_that_may_view_people(login_client, users, person_a, role):
    response = login_client(users[role]).get(reverse("core:person_list"))
    assert response.status_code == 200
    assert person_a.id_number_masked in response.content.decode()


@pytest.mark.parametrize("role", roles_without(Perm.PERSON_VIEW))
def test_person_list_is_403_for_the_others(login_client, users, role):
    response = login_client(users[role]).get(reverse("core:person_list"))
    assert response.status_code == 403
    expected = zh(
        "Your role may not open this page."
        if is_staff_role(role)
        else "This page is for staff accounts only."
    )
    assert expected in response.content.decode()


def test_person_list_is_scoped_and_masked(login_client, users, person_a, person_b):
    html = login_client(users["grid_worker"]).get(reverse("core:person_list")).content.decode()
    assert person_a.id_number_masked in html and person_a.name_masked in html
    assert person_b.id_number_masked not in html
    assert person_a.id_number not in html and person_a.phone not in html and person_a.name not in html
    district = login_client(users["district_admin"]).get(reverse("core:person_list")).content.decode()
    assert person_a.id_number_masked in district and person_b.id_number_masked in district


def test_person_search_by_exact_id_number_and_htmx_partial(login_client, users, person_a, person_b):
    client = login_client(users["district_admin"])
    response = client.get(
        reverse("core:person_list"), {"q": person_b.id_number}, headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and "<table" in html  # only the results partial
    assert person_b.id_number_masked in html and person_a.id_number_masked not in html
    assert person_b.id_number not in html
    assert "HX-Request" in response["Vary"]
    full = client.get(reverse("core:person_list"), {"q": person_b.id_number}).content.decode()
    assert "<html" in full and person_b.id_number_masked in full


def test_person_list_paginates_by_50(login_client, users, jurisdiction):
    for _ in range(51):
        PersonFactory(grid=jurisdiction.grid_b)
    client = login_client(users["district_admin"])
    first = client.get(reverse("core:person_list")).content.decode()
    assert len(DETAIL_LINK.findall(first)) == 50
    assert "page=2" in first
    second = client.get(reverse("core:person_list"), {"page": 2}).content.decode()
    # 51 in grid B plus person A from the users fixture
    assert len(DETAIL_LINK.findall(second)) == 2


def test_person_detail_scope_404(login_client, users, person_a, person_b):
    worker = login_client(users["grid_worker"])
    assert worker.get(reverse("core:person_detail", args=[person_a.pk])).status_code == 200
    assert worker.get(reverse("core:person_detail", args=[person_b.pk])).status_code == 404
    resident = login_client(users["resident"])
    assert resident.get(reverse("core:person_detail", args=[person_a.pk])).status_code == 200
    assert resident.get(reverse("core:person_detail", args=[person_b.pk])).status_code == 404
    assert worker.get(reverse("core:person_detail", args=[999999])).status_code == 404


def test_person_detail_is_403_for_staff_without_people_permission(login_client, users, person_a):
    response = login_client(users["publicity_editor"]).get(reverse("core:person_detail", args=[person_a.pk]))
    assert response.status_code == 403


def test_person_detail_masks_and_lists_household_members(login_client, users, jurisdiction):
    household = services.household_create(actor=None, address="测试路1号", grid=jurisdiction.grid_a)
    head = PersonFactory(grid=jurisdiction.grid_a, household_id=household.pk)
    member = PersonFactory(grid=jurisdiction.grid_a, household_id=household.pk)
    html = (
        login_client(users["grid_worker"]).get(reverse("core:person_detail", args=[head.pk])).content.decode()
    )
    assert head.id_number_masked in html and member.id_number_masked in html
    assert member.name_masked in html
    for full in (head.id_number, head.phone, member.id_number, member.phone):
        assert full not in html


def test_reveal_shows_full_values_and_writes_exactly_one_audit_entry(login_client, users, person_a):
    client = login_client(users["epidemiologist"])
    detail = client.get(reverse("core:person_detail", args=[person_a.pk])).content.decode()
    assert reverse("core:person_reveal", args=[person_a.pk]) in detail
    assert person_a.id_number not in detail and person_a.phone not in detail
    assert not AuditEntry.objects.filter(action="person.reveal").exists()

    response = client.post(
        reverse("core:person_reveal", args=[person_a.pk]),
        {"fields": ["id_number", "phone"]},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert person_a.id_number in html and person_a.phone in html
    assert "<html" not in html
    entries = AuditEntry.objects.filter(action="person.reveal")
    assert entries.count() == 1
    entry = entries.get()
    assert entry.revealed_fields == ["id_number", "phone"]
    assert entry.object_id == str(person_a.pk) and entry.actor_username == "epidemiologist"
    assert "no-cache" in response["Cache-Control"] or "no-store" in response["Cache-Control"]


def test_reveal_without_javascript_renders_the_whole_page(login_client, users, person_a):
    response = login_client(users["district_admin"]).post(
        reverse("core:person_reveal", args=[person_a.pk]), {"fields": ["id_number"]}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" in html and person_a.id_number in html and person_a.phone not in html
    assert AuditEntry.objects.get(action="person.reveal").revealed_fields == ["id_number"]


def test_reveal_without_permission_is_403_and_not_audited(login_client, users, person_a, person_b):
    worker = login_client(users["grid_worker"])
    detail = worker.get(reverse("core:person_detail", args=[person_a.pk])).content.decode()
    assert reverse("core:person_reveal", args=[person_a.pk]) not in detail
    response = worker.post(reverse("core:person_reveal", args=[person_a.pk]), {"fields": ["id_number"]})
    assert response.status_code == 403
    assert person_a.id_number not in response.content.decode()
    assert zh("Your role may not do this.") in response.content.decode()
    # out of scope stays 404 even for the reveal
    assert worker.post(reverse("core:person_reveal", args=[person_b.pk])).status_code == 404
    resident = login_client(users["resident"])
    assert resident.post(reverse("core:person_reveal", args=[person_a.pk])).status_code == 403
    assert not AuditEntry.objects.filter(action="person.reveal").exists()


def test_reveal_needs_post(login_client, users, person_a):
    response = login_client(users["district_admin"]).get(reverse("core:person_reveal", args=[person_a.pk]))
    assert response.status_code == 405


# --- residents ------------------------------------------------------------------------------------


def test_resident_sees_only_self(login_client, users, person_a, person_b):
    client = login_client(users["resident"])
    home = client.get(reverse("core:home"), follow=True).content.decode()  # the portal's home
    assert person_a.id_number_masked in home and person_b.id_number_masked not in home
    assert person_a.id_number not in home
    record = client.get(reverse("core:my_record"))
    assert record.status_code == 200
    html = record.content.decode()
    assert person_a.id_number_masked in html and person_a.phone_masked in html
    assert person_a.id_number not in html and person_b.id_number_masked not in html
    for name in (
        "core:person_list",
        "core:orgunit_map",
        "core:audit_list",
        "core:policy_list",
        "core:security",
    ):
        assert client.get(reverse(name)).status_code == 403, name


def test_my_record_is_404_for_staff(login_client, users):
    assert login_client(users["grid_worker"]).get(reverse("core:my_record")).status_code == 404


# --- map ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", roles_without(Perm.ORGUNIT_VIEW))
def test_map_is_403_without_orgunit_permission(login_client, users, role):
    assert login_client(users[role]).get(reverse("core:orgunit_map")).status_code == 403


def test_map_embeds_the_scoped_boundaries(login_client, users, jurisdiction):
    district = login_client(users["lab_technician"]).get(reverse("core:orgunit_map"))
    assert district.status_code == 200
    layers = district.context["layers"]
    assert {f["properties"]["code"] for f in layers["grids"]["features"]} == {GRID_A, GRID_B}
    assert len(layers["streets"]["features"]) == 2 and len(layers["communities"]["features"]) == 2
    html = district.content.decode()
    assert 'id="map-layers"' in html and 'id="map-config"' in html
    assert "/static/vendor/leaflet-1.9.4/leaflet.js" in html
    assert "tile.openstreetmap" not in html
    assert f"<code>{GRID_A}</code>" in html and f"<code>{GRID_B}</code>" in html  # accessible table

    worker = login_client(users["grid_worker"]).get(reverse("core:orgunit_map"))
    codes = {f["properties"]["code"] for f in worker.context["layers"]["grids"]["features"]}
    assert codes == {GRID_A}
    assert GRID_B not in worker.content.decode()


def test_map_without_features_centres_on_settings(login_client, users, settings):
    settings.MAP_TILE_URL = "https://tiles.example/{z}/{x}/{y}.png"
    response = login_client(users["district_admin"]).get(reverse("core:orgunit_map"))
    assert response.context["map_config"]["tileUrl"] == settings.MAP_TILE_URL
    assert response.context["map_config"]["center"] == list(settings.MAP_CENTER)


# --- audit ----------------------------------------------------------------------------------------


def test_audit_list_for_admin_with_chain_status_and_search(login_client, users, person_a):
    client = login_client(users["district_admin"])
    client.post(reverse("core:person_reveal", args=[person_a.pk]), {"fields": ["phone"]})
    response = client.get(reverse("core:audit_list"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="chain-status" data-ok="true"' in html
    assert "person.reveal" in html and "person.register" in html

    found = client.get(reverse("core:audit_list"), {"action": "person.rev", "username": "district_admin"})
    entries = list(found.context["page"].object_list)
    assert [e.action for e in entries] == ["person.reveal"]
    assert entries[0].revealed_fields == ["phone"]

    today = timezone.localdate()
    tomorrow = (today + dt.timedelta(days=1)).isoformat()
    empty = client.get(reverse("core:audit_list"), {"since": tomorrow})
    assert empty.context["page"].paginator.count == 0
    whole_day = client.get(
        reverse("core:audit_list"), {"since": today.isoformat(), "until": today.isoformat()}
    )
    assert (
        whole_day.context["page"].paginator.count
        == AuditEntry.objects.filter(org_code__startswith="370699").count()
    )
    wrong = client.get(reverse("core:audit_list"), {"since": tomorrow, "until": today.isoformat()})
    assert zh("The start date is after the end date.") in wrong.content.decode()


def test_audit_list_shows_a_broken_chain(login_client, users, person_a):
    entry = AuditEntry.objects.order_by("seq").last()
    AuditEntry.objects.filter(pk=entry.pk).update(action="tampered")
    html = login_client(users["district_admin"]).get(reverse("core:audit_list")).content.decode()
    assert 'data-ok="false"' in html
    assert f"#{entry.seq}" in html


@pytest.mark.parametrize("role", roles_without(Perm.AUDIT_VIEW))
def test_audit_list_is_403_for_others(login_client, users, role):
    assert login_client(users[role]).get(reverse("core:audit_list")).status_code == 403


# --- policies and response level -------------------------------------------------------------------


@pytest.mark.parametrize("role", [r.value for r in Role if is_staff_role(r.value)])
def test_policy_list_renders_for_staff(login_client, users, role):
    response = login_client(users[role]).get(reverse("core:policy_list"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-disease="covid19"' in html  # seeded by migration
    assert "incubation_days_max" in html and "close_contact_quarantine.centralised_days" in html
    assert ('name="level"' in html) == has_perm(users[role], Perm.RESPONSE_LEVEL_SET)


def test_commander_changes_the_response_level(login_client, users):
    client = login_client(users["commander"])
    response = client.post(reverse("core:policy_list"), {"level": "III", "reason": "cluster in grid A"})
    assert response.status_code == 302
    change = ResponseLevelChange.objects.get()
    assert change.level == "III" and change.set_by == users["commander"]
    assert AuditEntry.objects.filter(action="response_level.set").count() == 1
    html = client.get(reverse("core:policy_list")).content.decode()
    assert 'data-level="III"' in html and "cluster in grid A" in html


def test_response_level_rejects_bad_input_and_other_roles(login_client, users):
    bad = login_client(users["district_admin"]).post(
        reverse("core:policy_list"), {"level": "V", "reason": ""}
    )
    assert bad.status_code == 400
    worker = login_client(users["grid_worker"]).post(
        reverse("core:policy_list"), {"level": "I", "reason": "x"}
    )
    assert worker.status_code == 403
    assert not ResponseLevelChange.objects.exists()


# --- two-step login -------------------------------------------------------------------------------


def enable_totp(user: User) -> str:
    secret = services.totp_new_secret()
    services.totp_enable(actor=user, secret=secret, code=pyotp.TOTP(secret).now())
    return secret


def wrong_code(secret: str) -> str:
    totp = pyotp.TOTP(secret)
    now = timezone.now()
    valid = {totp.at(now + dt.timedelta(seconds=30 * k)) for k in (-1, 0, 1)}
    return next(c for c in (f"{n:06d}" for n in range(1_000_000)) if c not in valid)


def test_totp_login_needs_a_correct_code(client, users):
    user = users["district_admin"]
    secret = enable_totp(user)
    step1 = login_via_form(client, user.username)
    assert step1.status_code == 200
    assert 'name="code"' in step1.content.decode()
    assert client.get(reverse("core:home")).status_code == 302  # not logged in yet

    refused = client.post(reverse("core:login"), {"step": "code", "code": wrong_code(secret)})
    assert refused.status_code == 400
    assert zh("The code is not correct.") in refused.content.decode()
    assert client.get(reverse("core:home")).status_code == 302

    accepted = client.post(reverse("core:login"), {"step": "code", "code": pyotp.TOTP(secret).now()})
    assert accepted.status_code == 302
    assert client.get(reverse("core:home")).status_code == 200


def test_totp_step_cannot_be_skipped_or_guessed_forever(client, users):
    user = users["commander"]
    secret = enable_totp(user)
    # no password step first: the code step sends back to the start
    response = client.post(reverse("core:login"), {"step": "code", "code": pyotp.TOTP(secret).now()})
    assert response.status_code == 302 and client.get(reverse("core:home")).status_code == 302
    login_via_form(client, user.username)
    bad = wrong_code(secret)
    for _ in range(5):
        client.post(reverse("core:login"), {"step": "code", "code": bad})
    # after five wrong codes even the right one needs the password again
    client.post(reverse("core:login"), {"step": "code", "code": pyotp.TOTP(secret).now()})
    assert client.get(reverse("core:home")).status_code == 302


def test_security_page_enables_two_step_login(login_client, users):
    user = users["grid_worker"]
    client = login_client(user)
    page = client.get(reverse("core:security"))
    assert page.status_code == 200
    assert "<svg" in page.content.decode()
    secret = client.session["epigrid_totp_pending_secret"]
    assert secret in page.content.decode()
    assert client.get(reverse("core:security")).context["secret"] == secret  # stable while pending

    wrong = client.post(reverse("core:security"), {"code": wrong_code(secret)})
    assert wrong.status_code == 400
    user.refresh_from_db()
    assert not user.totp_enabled

    ok = client.post(reverse("core:security"), {"code": pyotp.TOTP(secret).now()})
    assert ok.status_code == 302
    user.refresh_from_db()
    assert user.totp_enabled
    assert services.totp_verify(user=user, code=pyotp.TOTP(secret).now())
    assert AuditEntry.objects.filter(action="user.totp_enable", actor_username=user.username).count() == 1


# --- language -------------------------------------------------------------------------------------


def test_language_switch_to_english(login_client, users):
    client = login_client(users["grid_worker"])
    before = client.get(reverse("core:home")).content.decode()
    assert 'lang="zh-hans"' in before
    assert f">{label('grid_worker', 'zh-hans')}<" in before
    response = client.post(reverse("set_language"), {"language": "en", "next": reverse("core:home")})
    assert response.status_code == 302
    html = client.get(reverse("core:home")).content.decode()
    assert 'lang="en"' in html
    assert f'data-testid="role-label">{label("grid_worker", "en")}<' in html
    assert "Grid worker" in html and "Log out" in html and "What you can do" in html
