"""The sign-in page by phone and code through HTTP: the same answer for any number, the code step, wrong
codes with the tries left, the lock-out with its end, whose account when a family shares a number, the
session rotated, deactivated accounts refused; password sign-in still works and links here. Pages answer in
zh-Hans: texts are compared through the catalogue."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from epigrid.core import sms
from epigrid.core.models import User
from epigrid.core.services import user_deactivate
from epigrid.core.testing import shows
from epigrid.core.tests.factories import TEST_PASSWORD
from epigrid.portal.models import LoginFailure
from epigrid.portal.services.login import login_code_request
from epigrid.portal.tests import factories

pytestmark = pytest.mark.django_db

LOGIN = "/portal/login/"


@pytest.fixture(autouse=True)
def _empty_outbox():
    sms.outbox.clear()
    yield
    sms.outbox.clear()


def ask(client: Client, number: str, **extra):
    return client.post(LOGIN, {"step": "phone", "phone": number, **extra})


def enter(client: Client, number: str, code: str, **extra):
    return client.post(LOGIN, {"step": "code", "phone": number, "code": code, **extra})


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def signed_in_as(client: Client) -> User | None:
    pk = client.session.get("_auth_user_id")
    return User.objects.get(pk=pk) if pk else None


def test_the_page_asks_for_a_phone_and_the_password_page_links_to_it(client):
    html = client.get(LOGIN).content.decode()
    assert 'name="phone"' in html and 'type="tel"' in html
    assert shows(html, "Sign in with a code by SMS")
    assert f'href="{reverse("core:login")}"' in html
    password_page = client.get(reverse("core:login")).content.decode()
    assert f'href="{LOGIN}"' in password_page
    assert shows(password_page, "Residents: sign in with a code by SMS")


def test_a_code_signs_a_resident_in_with_a_new_session(client, users, person_a):
    client.get(LOGIN)
    before = client.session.session_key
    page = ask(client, person_a.phone)
    assert page.status_code == 200
    assert 'name="code"' in page.content.decode()
    assert len(sms.outbox) == 1 and sms.outbox[0].to == person_a.phone
    response = enter(client, person_a.phone, factories.last_code(person_a.phone))
    assert response.status_code == 302 and response["Location"] == reverse("portal:home")
    assert signed_in_as(client) == users["resident"]
    assert client.session.session_key != before
    assert client.get(reverse("portal:home")).status_code == 200


def test_the_first_sign_in_makes_the_account(client, jurisdiction):
    number = factories.phone()
    person = factories.person(jurisdiction.grid_b, phone=number)
    ask(client, number)
    enter(client, number, factories.last_code(number))
    user = signed_in_as(client)
    assert user is not None and user.person_id == person.pk and user.role == "resident"


def _normalised(html: str, number: str) -> str:
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)
    html = re.sub(r'name="csrf-token" content="[^"]+"', "", html)
    html = re.sub(r'"X-CSRFToken": "[^"]+"', "", html)
    masked = f"{number[:3]}****{number[-4:]}"
    return html.replace(number, "NUMBER").replace(masked, "MASKED")


def test_registered_and_unknown_numbers_get_the_same_page(client, person_a, settings):
    settings.PRODUCTION = True  # the demo shows its console messages on the page; production never does
    unknown = factories.phone()
    known = ask(client, person_a.phone)
    other = ask(Client(), unknown)
    assert known.status_code == other.status_code == 200
    assert _normalised(known.content.decode(), person_a.phone) == _normalised(other.content.decode(), unknown)
    html = known.content.decode()
    assert shows(
        html,
        "If the number %(phone)s is registered, a code has been sent to it by text message. It is valid for %(minutes)s minutes.",
        phone=person_a.phone_masked,
        minutes=5,
    )
    assert 'data-testid="demo-sms"' not in html
    assert [m.to for m in sms.outbox] == [person_a.phone]


def test_the_demo_shows_the_message_it_could_not_send(client, person_a):
    html = ask(client, person_a.phone).content.decode()
    assert 'data-testid="demo-sms"' in html and factories.last_code(person_a.phone) in html
    assert 'data-testid="demo-sms"' not in ask(Client(), factories.phone()).content.decode()


def test_a_bad_number_is_a_clear_error(client):
    response = ask(client, "12345")
    assert response.status_code == 400
    assert shows(response.content.decode(), "A mobile number is 11 digits starting with 13 to 19.")
    assert not sms.outbox


def test_a_wrong_code_says_how_many_tries_are_left(client, person_a):
    ask(client, person_a.phone)
    response = enter(client, person_a.phone, wrong(factories.last_code(person_a.phone)))
    assert response.status_code == 400
    assert shows(response.content.decode(), "The code is not correct. %(n)d more tries with this code.", n=4)
    assert signed_in_as(client) is None
    malformed = enter(client, person_a.phone, "12ab")
    assert malformed.status_code == 400 and 'name="code"' in malformed.content.decode()


def test_asking_again_too_soon_keeps_the_code_step_and_says_when(client, person_a):
    ask(client, person_a.phone)
    again = ask(client, person_a.phone)
    assert again.status_code == 429
    html = again.content.decode()
    assert 'name="code"' in html and 'data-testid="login-warning"' in html
    assert len(sms.outbox) == 1
    # the first code still works
    assert enter(client, person_a.phone, factories.last_code(person_a.phone)).status_code == 302


def test_a_locked_number_says_until_when(client, person_a):
    start = timezone.now()
    for i in range(2):
        at = start + dt.timedelta(minutes=2 * i)
        login_code_request(phone=person_a.phone, ip="10.0.0.9", now=at)
        for _ in range(5):
            enter(client, person_a.phone, wrong(factories.last_code(person_a.phone)))
    response = ask(client, person_a.phone)
    assert response.status_code == 429
    html = response.content.decode()
    error = html[html.index('data-testid="login-error"') :]
    until = LoginFailure.objects.exclude(locks_until=None).get().locks_until
    assert timezone.localtime(until).strftime("%H:%M") in error[: error.index("</p>")]
    assert until - timezone.now() > dt.timedelta(minutes=29)


def test_a_family_number_asks_whose_account(client, jurisdiction):
    number = factories.phone()
    family = factories.family(jurisdiction.grid_a, number=number, children=1)
    ask(client, number)
    page = enter(client, number, factories.last_code(number))
    assert page.status_code == 200
    html = page.content.decode()
    parent, child = family["parent"], family["children"][0]
    for p in (parent, child):
        assert f'data-person="{p.pk}"' in html and p.name_masked in html and str(p.birth_date.year) in html
        assert p.name not in html
    assert f'data-person="{family["partner"].pk}"' not in html
    # a person not offered is refused; the child is chosen
    refused = client.post(LOGIN, {"step": "choose", "person": family["partner"].pk})
    assert refused.status_code == 400 and signed_in_as(client) is None
    chosen = client.post(LOGIN, {"step": "choose", "person": child.pk})
    assert chosen.status_code == 302
    assert signed_in_as(client).person_id == child.pk


def test_choosing_without_a_verified_code_goes_back_to_the_start(client, person_a):
    response = client.post(LOGIN, {"step": "choose", "person": person_a.pk})
    assert response.status_code == 302 and response["Location"] == LOGIN
    assert signed_in_as(client) is None


def test_a_deactivated_account_is_refused(client, users, person_a):
    user_deactivate(actor=None, user=users["resident"], reason="moved away")
    ask(client, person_a.phone)
    response = enter(client, person_a.phone, factories.last_code(person_a.phone))
    assert response.status_code == 403
    assert shows(response.content.decode(), "This account is deactivated. Please contact your community.")
    assert signed_in_as(client) is None


def test_a_safe_next_is_followed(client, person_a):
    ask(client, person_a.phone, next=reverse("portal:data"))
    response = enter(client, person_a.phone, factories.last_code(person_a.phone), next=reverse("portal:data"))
    assert response["Location"] == reverse("portal:data")
    other = Client()
    other.get(LOGIN)
    number = factories.phone()
    factories.person(person_a.grid, phone=number)
    ask(other, number)
    response = enter(other, number, factories.last_code(number), next="https://evil.example/")
    assert response["Location"] == reverse("portal:home")


def test_password_login_still_works_and_residents_land_on_the_portal(client, users):
    response = client.post(
        reverse("core:login"), {"step": "password", "username": "resident", "password": TEST_PASSWORD}
    )
    assert response.status_code == 302
    home = client.get(reverse("core:home"))
    assert home.status_code == 302 and home["Location"] == reverse("portal:home")
    assert client.get(home["Location"]).status_code == 200
    # a signed-in resident opening the code page goes to their portal
    assert client.get(LOGIN)["Location"] == reverse("portal:home")
