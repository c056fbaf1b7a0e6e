"""The public scan pages through HTTP: register once, one tap later, family members, bad codes, limits."""

from __future__ import annotations

import json
import re
import uuid

import pytest
from django.test import Client

from epigrid.checkins.models import CheckIn, VisitStatus
from epigrid.core.models import Person
from epigrid.core.tests.factories import PersonFactory
from epigrid.places import services as place_services

GOOD = {"name": "赵敏", "id_number": "360426199101010071", "phone": "13912345678", "consent": "on"}


def scan_path(code: str) -> str:
    return "/s/" + code.rsplit("/s/", 1)[1]


@pytest.fixture
def phone():
    return Client(HTTP_ACCEPT_LANGUAGE="en")


def register(browser_phone, code, **overrides):
    data = {**GOOD, "client_id": str(uuid.uuid4()), **overrides}
    return browser_phone.post(scan_path(code) + "/register", data)


def test_first_visit_asks_for_details_with_consent_and_retention(phone, code_a):
    page = phone.get(scan_path(code_a)).content.decode()
    assert "海味餐厅" in page
    assert 'name="id_number"' in page and 'name="consent"' in page
    assert "deleted after 28 days" in page
    assert "data-clock" in page


def test_register_checks_in_and_shows_the_colour_screen(phone, code_a, venue_a):
    response = register(phone, code_a)
    assert response.status_code == 302
    person = Person.objects.get(name="赵敏")
    assert CheckIn.objects.get().person == person
    result = phone.get(response["Location"]).content.decode()
    assert 'data-colour="green"' in result
    assert "海味餐厅" in result and person.name_masked in result and "赵敏" not in result
    assert "Entry allowed" in result


def test_second_visit_is_one_tap(phone, code_a, venue_b):
    from epigrid.places.codes import venue_code_url

    register(phone, code_a)
    code_b = venue_code_url(venue_b)
    page = phone.get(scan_path(code_b)).content.decode()
    assert 'name="id_number"' not in page  # remembered: no form
    person = Person.objects.get(name="赵敏")
    client_id = re.search(r'name="client_id" value="([^"]+)"', page).group(1)
    done = phone.post(scan_path(code_b) + "/checkin", {"client_id": client_id, "persons": [person.pk]})
    assert done.status_code == 302
    # a double tap (same form) records nothing more
    phone.post(scan_path(code_b) + "/checkin", {"client_id": client_id, "persons": [person.pk]})
    assert CheckIn.objects.filter(venue=venue_b).count() == 1


def test_family_member_checks_in_together(phone, code_a, venue_a):
    register(phone, code_a)
    add = phone.post(scan_path(code_a) + "/family", {"name": "赵小宝", "id_number": "110105201501010033"})
    assert add.status_code == 302, add.content.decode()
    page = phone.get(scan_path(code_a)).content.decode()
    ids = [int(i) for i in re.findall(r'name="persons" value="(\d+)"', page)]
    assert len(ids) == 2
    client_id = re.search(r'name="client_id" value="([^"]+)"', page).group(1)
    done = phone.post(scan_path(code_a) + "/checkin", {"client_id": client_id, "persons": ids})
    result = phone.get(done["Location"]).content.decode()
    assert result.count('class="scan-row colour-') == 2
    assert CheckIn.objects.filter(method="family").count() == 1


def test_one_tap_cannot_check_in_people_not_on_this_phone(phone, code_a, jurisdiction):
    register(phone, code_a)
    stranger = PersonFactory(grid=jurisdiction.grid_b)
    page = phone.get(scan_path(code_a)).content.decode()
    client_id = re.search(r'name="client_id" value="([^"]+)"', page).group(1)
    response = phone.post(scan_path(code_a) + "/checkin", {"client_id": client_id, "persons": [stranger.pk]})
    assert response.status_code == 400
    assert not CheckIn.objects.filter(person=stranger).exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("id_number", "360426199101010072", "check character"),
        ("phone", "12345", "11 digits"),
        ("consent", "", "agree"),
    ],
)
def test_bad_details_are_shown_and_nothing_is_stored(phone, code_a, field, value, message):
    response = register(phone, code_a, **{field: value})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert Person.objects.filter(name="赵敏").count() == 0
    assert CheckIn.objects.count() == 0


def test_someone_elses_id_number_with_another_name_is_refused(phone, code_a, person_a):
    response = register(phone, code_a, id_number=person_a.id_number, name="冒名者")
    assert response.status_code == 400
    assert "does not match" in response.content.decode()
    assert person_a.name not in response.content.decode()
    assert CheckIn.objects.count() == 0


def test_forged_and_revoked_codes_show_why(phone, users, code_a, venue_a):
    forged = phone.get(scan_path(code_a)[:-5] + "AAAAA")
    assert forged.status_code == 400 and 'data-reason="forged"' in forged.content.decode()
    place_services.venue_code_reissue(actor=users["community_officer"], venue=venue_a)
    revoked = phone.get(scan_path(code_a))
    assert revoked.status_code == 400 and 'data-reason="revoked"' in revoked.content.decode()
    assert phone.get("/s/hello").status_code == 400


def test_forget_this_phone(phone, code_a):
    register(phone, code_a)
    phone.post(scan_path(code_a) + "/forget")
    assert 'name="id_number"' in phone.get(scan_path(code_a)).content.decode()


def test_tampered_phone_cookie_is_ignored(phone, code_a, person_a):
    phone.cookies["epigrid_scan"] = json.dumps({"p": [person_a.pk]})  # unsigned: must be ignored
    assert person_a.name_masked not in phone.get(scan_path(code_a)).content.decode()


def test_rate_limit_per_phone_number(phone, code_a, settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "rl-test"}
    }
    statuses = [register(phone, code_a, id_number="360426199101010072").status_code for _ in range(11)]
    assert statuses[:10] == [400] * 10  # refused for the bad ID number, but counted
    assert statuses[10] == 429


def test_result_link_cannot_be_forged(phone):
    assert phone.get("/s/done/abc:def").status_code == 400


def test_visitor_fills_in_the_invitation(phone, users, jurisdiction):
    from epigrid.checkins import services
    from epigrid.core.roles import Role
    from epigrid.core.tests.factories import UserFactory
    from epigrid.places.tests.factories import VenueFactory

    operator = UserFactory(role=Role.VENUE_OPERATOR, org_unit=jurisdiction.district)
    office = VenueFactory(grid=jurisdiction.grid_a, type="office", operator=operator, name="万达写字楼")
    visit = services.visit_invite(
        actor=operator,
        venue=office,
        host_name="刘经理",
        host_phone="13800000001",
        purpose="商务洽谈",
        expected_at=None,
    )
    page = phone.get(f"/v/{visit.invite_token}").content.decode()
    assert "万达写字楼" in page and "商务洽谈" in page
    sent = phone.post(f"/v/{visit.invite_token}", {**GOOD})
    assert sent.status_code == 302
    visit.refresh_from_db()
    assert visit.status == VisitStatus.REGISTERED and visit.visitor.name == "赵敏"
    assert phone.get("/v/not-a-token").status_code == 404
