"""The resident's portal pages through HTTP: who may open them, the home's live facts (each from its own
app), check-ins within the retention period, the household (own only, a guardian's view of children, 404
for anyone else). Pages answer in zh-Hans: texts are compared through the catalogue."""

from __future__ import annotations

import re
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from epigrid.core.models import Notice, User
from epigrid.core.notices import notice_send
from epigrid.core.roles import Role
from epigrid.core.testing import shows
from epigrid.healthcode import services as healthcode_services
from epigrid.healthcode.models import HealthCode
from epigrid.places.tests.factories import VenueFactory
from epigrid.portal.tests import factories
from epigrid.vaccination.services import bookings
from epigrid.vaccination.tests import factories as vaccination_factories

pytestmark = pytest.mark.django_db

RESIDENT_PAGES = ("portal:home", "portal:checkins", "portal:household", "portal:data")


@pytest.fixture
def resident(users, login_client):
    return login_client(users["resident"])


def test_resident_pages_are_for_residents(users, login_client, client):
    resident = login_client(users["resident"])
    for name in RESIDENT_PAGES:
        assert resident.get(reverse(name)).status_code == 200, name
        for staff in ("grid_worker", "district_admin", "community_officer"):
            assert login_client(users[staff]).get(reverse(name)).status_code == 404, (staff, name)
        response = client.get(reverse(name))
        assert response.status_code == 302 and response["Location"].startswith(reverse("core:login"))


def test_a_resident_without_a_person_gets_the_links_only(login_client, jurisdiction):
    from epigrid.core.tests.factories import UserFactory

    # user_create insists on a person for residents; the link is lost later (the person was merged away)
    lonely = UserFactory(username="lonely", role=Role.RESIDENT, person=factories.person(jurisdiction.grid_a))
    User.objects.filter(pk=lonely.pk).update(person=None)
    lonely.refresh_from_db()
    html = login_client(lonely).get(reverse("portal:home")).content.decode()
    assert shows(html, "No personal record is linked to this account yet.")
    assert f'href="{reverse("healthcode:my_code")}"' in html
    assert login_client(lonely).get(reverse("portal:household")).status_code == 403


def test_home_links_every_service(resident):
    html = resident.get(reverse("portal:home")).content.decode()
    for name in (
        "healthcode:my_code",
        "testing:my_results",
        "vaccination:my",
        "vaccination:book",
        "vaccination:self_report_new",
        "arrive:report",
        "portal:checkins",
        "portal:household",
        "announcements:list",
        "announcements:ask",
        "core:notices",
        "portal:data",
    ):
        assert f'href="{reverse(name)}"' in html, name


def test_home_shows_live_facts_from_each_app(users, resident, jurisdiction, person_a):
    empty = resident.get(reverse("portal:home")).content.decode()
    assert shows(empty, "No tests yet.") and shows(empty, "No vaccination recorded yet.")
    assert 'data-testid="home-recall"' not in empty and 'data-unread="0"' in empty

    healthcode_services.facts_update(
        actor=None, person_ids=[person_a.pk], changes={"fever_at": timezone.now()}
    )
    code = HealthCode.objects.get(person=person_a)
    others = [factories.person(jurisdiction.grid_a) for _ in range(2)]
    factories.tested(
        sampler=users["sampler"], lab=users["lab_technician"], people=[person_a, *others], result="positive"
    )
    vaccine = vaccination_factories.vaccine()
    site = vaccination_factories.site(jurisdiction.grid_a, vaccine)
    slot = vaccination_factories.future_slot(site, days=2)
    bookings.booking_create(
        actor=users["resident"], person=person_a, slot=slot, vaccine=vaccine, client_id=uuid.uuid4()
    )
    factories.checked_in(person_a, VenueFactory(grid=jurisdiction.grid_a, name="东山菜市场"))
    notice_send(actor=None, users=[users["resident"]], kind="test", title="测试消息")

    html = resident.get(reverse("portal:home")).content.decode()
    assert f'data-testid="tile-code" data-colour="{code.colour}"' in html
    assert 'data-testid="tile-tests" data-result="recall"' in html
    assert 'data-testid="home-recall"' in html
    assert (
        'data-testid="next-booking"' in html
        and timezone.localtime(slot.starts_at).strftime("%m-%d %H:%M") in html
    )
    assert 'data-count="1"' in html and "东山菜市场" in html
    unread = Notice.objects.filter(user=users["resident"], read_at__isnull=True).count()  # the recall's, ours
    assert unread >= 2 and re.search(r'data-unread="(\d+)"', html).group(1) == str(unread)


def test_home_facts_are_the_residents_own(users, login_client, jurisdiction, person_a, person_b):
    healthcode_services.facts_update(
        actor=None, person_ids=[person_b.pk], changes={"fever_at": timezone.now()}
    )
    factories.tested(
        sampler=users["sampler"], lab=users["lab_technician"], people=[person_b], result="negative"
    )
    factories.checked_in(person_b, VenueFactory(grid=jurisdiction.grid_b, name="西山超市"))
    html = login_client(users["resident"]).get(reverse("portal:home")).content.decode()
    assert 'data-testid="tile-code" data-colour' not in html
    assert 'data-testid="tile-tests" data-result' not in html
    assert "西山超市" not in html and person_b.id_number_masked not in html


# --- check-ins ---------------------------------------------------------------------------------------------


def test_checkins_newest_first_within_the_retention_period(resident, jurisdiction, person_a, person_b):
    older = factories.checked_in(
        person_a, VenueFactory(grid=jurisdiction.grid_a, name="老城面馆"), days_ago=2
    )
    newer = factories.checked_in(person_a, VenueFactory(grid=jurisdiction.grid_a, name="新区书店"))
    factories.checked_in(person_b, VenueFactory(grid=jurisdiction.grid_b, name="别人的店"))
    html = resident.get(reverse("portal:checkins")).content.decode()
    assert re.findall(r'data-checkin="(\d+)"', html) == [str(newer.pk), str(older.pk)]
    assert "别人的店" not in html
    assert 'data-days="28"' in html
    assert shows(
        html,
        "Check-ins are kept for %(days)s day and then deleted; older ones are no longer held anywhere.",
        plural="Check-ins are kept for %(days)s days and then deleted; older ones are no longer held anywhere.",
        plural_n=28,
        days=28,
    )

    factories.general_rules(checkin_retention_days=1)
    html = resident.get(reverse("portal:checkins")).content.decode()
    assert re.findall(r'data-checkin="(\d+)"', html) == [str(newer.pk)]
    assert 'data-days="1"' in html


def test_checkins_are_paginated(resident, jurisdiction, person_a):
    venue = VenueFactory(grid=jurisdiction.grid_a)
    for i in range(22):
        factories.checked_in(person_a, venue, days_ago=i / 24)
    first = resident.get(reverse("portal:checkins")).content.decode()
    second = resident.get(reverse("portal:checkins") + "?page=2").content.decode()
    assert len(re.findall(r'data-testid="checkin"', first)) == 20
    assert len(re.findall(r'data-testid="checkin"', second)) == 2


# --- household ---------------------------------------------------------------------------------------------


@pytest.fixture
def family(jurisdiction, login_client):
    number = factories.phone()
    family = factories.family(jurisdiction.grid_a, number=number, children=1)
    from epigrid.core.services import resident_account_ensure

    family["client"] = login_client(resident_account_ensure(person=family["parent"]))
    return family


def test_household_lists_members_masked_and_children_with_their_code_and_test(users, family, jurisdiction):
    child, partner = family["children"][0], family["partner"]
    healthcode_services.facts_update(
        actor=None, person_ids=[child.pk, partner.pk], changes={"fever_at": timezone.now()}
    )
    factories.tested(
        sampler=users["sampler"], lab=users["lab_technician"], people=[child, partner], result="negative"
    )
    html = family["client"].get(reverse("portal:household")).content.decode()
    members = re.findall(
        r'data-testid="member" data-person="(\d+)" data-minor="(\d)" data-details="(\d)"', html
    )
    assert {(int(pk), minor, details) for pk, minor, details in members} == {
        (family["parent"].pk, "0", "1"),
        (child.pk, "1", "1"),
        (partner.pk, "0", "0"),
    }
    for p in (family["parent"], child, partner):
        assert p.name_masked in html and p.name not in html and p.id_number_masked not in html
    colour = HealthCode.objects.get(person=child).colour
    assert f'data-testid="member-code" data-colour="{colour}"' in html
    assert (
        html.count('data-testid="member-test" data-result="negative"') == 1
    )  # the child's, not the partner's


def test_a_child_sees_the_others_masked_only(family, login_client):
    from epigrid.core.services import resident_account_ensure

    child = family["children"][0]
    html = (
        login_client(resident_account_ensure(person=child)).get(reverse("portal:household")).content.decode()
    )
    details = dict(re.findall(r'data-person="(\d+)" data-minor="\d" data-details="(\d)"', html))
    assert details == {str(child.pk): "1", str(family["parent"].pk): "0", str(family["partner"].pk): "0"}


def test_a_member_page_is_404_outside_the_household(family, jurisdiction, person_a, person_b):
    client = family["client"]
    child = family["children"][0]
    assert client.get(reverse("portal:household_member", args=[child.pk])).status_code == 200
    assert client.get(reverse("portal:household_member", args=[family["partner"].pk])).status_code == 200
    stranger = factories.family(jurisdiction.grid_a, number=factories.phone())["children"][0]
    for pk in (stranger.pk, person_b.pk, 10**9):
        assert client.get(reverse("portal:household_member", args=[pk])).status_code == 404
    html = client.get(reverse("portal:household")).content.decode()
    assert f'data-person="{stranger.pk}"' not in html


def test_without_a_household_the_resident_sees_only_themselves(resident, person_a):
    html = resident.get(reverse("portal:household")).content.decode()
    assert re.findall(r'data-testid="member" data-person="(\d+)"', html) == [str(person_a.pk)]
    assert shows(
        html, "You are not registered in a household. If that is wrong, ask for a correction under My data."
    )


def test_home_shows_the_announcement_the_resident_may_read(resident, jurisdiction):
    from epigrid.publicity.tests import factories as publicity_factories

    editor = publicity_factories.editor(jurisdiction.district)
    reviewer = publicity_factories.reviewer(jurisdiction.district)
    publicity_factories.published_since(editor, reviewer, hours=30, title="上周的疫苗接种安排")
    publicity_factories.approved(editor, reviewer, title="B街道居民请注意", audience=[jurisdiction.street_b])
    html = resident.get(reverse("portal:home")).content.decode()
    assert "上周的疫苗接种安排" in html and "B街道居民请注意" not in html
    assert 'data-today="0"' in html
    today = publicity_factories.approved(editor, reviewer, title="今日全员核酸检测通告", pinned=True)
    html = resident.get(reverse("portal:home")).content.decode()
    tile = html[html.index('data-testid="tile-announcements"') - 200 :]
    assert f'href="{reverse("announcements:detail", args=[today.pk])}"' in tile
    assert 'data-today="1"' in html and "今日全员核酸检测通告" in html
