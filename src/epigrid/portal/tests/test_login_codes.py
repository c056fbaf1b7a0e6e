"""Sign-in codes through the services: only a hash is stored, validity to the second, five tries, a new code
ends the old one, unknown numbers are answered like known ones, the limits per number and per address, and
the lock-out with its end."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from epigrid.core import sms
from epigrid.core.errors import DomainError, Forbidden
from epigrid.core.models import AuditEntry, Event, User
from epigrid.core.roles import Role
from epigrid.core.services import phone_index, user_deactivate
from epigrid.portal.models import LoginCode, LoginFailure
from epigrid.portal.services.login import (
    LockedOut,
    TooManyRequests,
    WrongCode,
    login_account_for,
    login_code_request,
    login_code_verify,
    login_records_purge,
)
from epigrid.portal.tests import factories

pytestmark = pytest.mark.django_db

IP = "10.0.0.1"


@pytest.fixture(autouse=True)
def _empty_outbox():
    sms.outbox.clear()
    yield
    sms.outbox.clear()


@pytest.fixture
def number(jurisdiction):
    number = factories.phone()
    factories.person(jurisdiction.grid_a, phone=number)
    return number


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def later(minutes: float = 0, seconds: float = 0) -> dt.datetime:
    return timezone.now() + dt.timedelta(minutes=minutes, seconds=seconds)


# --- the code and what is stored ---------------------------------------------------------------------------


def test_a_registered_number_gets_a_six_digit_code_and_only_its_hash_is_stored(number):
    login_code_request(phone=number, ip=IP)
    assert len(sms.outbox) == 1
    message = sms.outbox[0]
    assert message.to == number and message.purpose == "login"
    code = factories.last_code(number)
    row = LoginCode.objects.get()
    assert row.phone_index == phone_index(number) and row.ip == IP
    assert code not in row.code_hash and number not in row.code_hash
    assert (row.expires_at - row.created_at) == dt.timedelta(minutes=5)
    entry = AuditEntry.objects.get(action="portal.login_code")
    assert code not in str(entry.detail) and entry.detail == {"registered": True}


def test_the_right_code_gives_the_persons_of_the_number_once(number):
    code = factories.code_for(number)
    persons = login_code_verify(phone=number, code=code, ip=IP)
    assert [p.phone for p in persons] == [number]
    assert LoginCode.objects.get().used_at is not None
    with pytest.raises(DomainError, match="expired or was already used"):
        login_code_verify(phone=number, code=code, ip=IP)


def test_phone_forms_are_normalised_and_bad_numbers_refused(number):
    login_code_request(phone=f"+86 {number[:3]}-{number[3:7]}-{number[7:]}", ip=IP)
    assert sms.outbox[-1].to == number
    with pytest.raises(DomainError, match="11 digits") as err:
        login_code_request(phone="0535-1234567", ip=IP)
    assert err.value.field == "phone"
    assert LoginCode.objects.count() == 1


def test_code_is_valid_for_five_minutes_to_the_second(number):
    start = timezone.now()
    code = factories.code_for(number, now=start)
    with pytest.raises(DomainError, match="expired"):
        login_code_verify(phone=number, code=code, ip=IP, now=start + dt.timedelta(minutes=5))
    code = factories.code_for(number, now=start + dt.timedelta(minutes=6))
    persons = login_code_verify(
        phone=number, code=code, ip=IP, now=start + dt.timedelta(minutes=11) - dt.timedelta(microseconds=1)
    )
    assert len(persons) == 1


def test_five_tries_per_code_and_each_wrong_answer_says_how_many_are_left(number):
    code = factories.code_for(number)
    left = []
    for _ in range(5):
        with pytest.raises(WrongCode) as err:
            login_code_verify(phone=number, code=wrong(code), ip=IP)
        left.append(err.value.tries_left)
    assert left == [4, 3, 2, 1, 0]
    assert "last try" in str(err.value)
    with pytest.raises(DomainError, match="Too many wrong tries"):
        login_code_verify(phone=number, code=code, ip=IP)  # the right code is too late now
    assert LoginFailure.objects.count() == 6


def test_a_new_code_ends_the_old_one(number):
    start = timezone.now()
    old = factories.code_for(number, now=start)
    new = factories.code_for(number, now=start + dt.timedelta(seconds=61))
    first = LoginCode.objects.order_by("created_at").first()
    assert first.expires_at == start + dt.timedelta(seconds=61)  # ended when the new one was made
    at = start + dt.timedelta(seconds=62)
    if old != new:  # (one time in a million the two codes are the same digits)
        with pytest.raises(WrongCode):
            login_code_verify(phone=number, code=old, ip=IP, now=at)
    assert login_code_verify(phone=number, code=new, ip=IP, now=at)


def test_unknown_numbers_are_answered_like_known_ones_and_nothing_is_sent(number):
    unknown = factories.phone()
    assert login_code_request(phone=unknown, ip=IP) is None
    assert login_code_request(phone=number, ip=IP) is None
    assert [m.to for m in sms.outbox] == [number]
    # the same limits and the same answer to a code, so no reply tells whether a number is registered
    with pytest.raises(TooManyRequests) as unknown_limit:
        login_code_request(phone=unknown, ip=IP)
    with pytest.raises(TooManyRequests) as known_limit:
        login_code_request(phone=number, ip=IP)
    assert str(unknown_limit.value) == str(known_limit.value)
    with pytest.raises(WrongCode) as unknown_wrong:
        login_code_verify(phone=unknown, code="123456", ip=IP)
    with pytest.raises(WrongCode) as known_wrong:
        login_code_verify(phone=number, code=wrong(factories.last_code(number)), ip=IP)
    assert str(unknown_wrong.value) == str(known_wrong.value)
    assert AuditEntry.objects.filter(action="portal.login_code", detail__registered=False).count() == 1


# --- limits ------------------------------------------------------------------------------------------------


def test_one_code_per_number_per_minute(number):
    start = timezone.now()
    factories.code_for(number, now=start)
    with pytest.raises(TooManyRequests, match="in 60 seconds") as err:
        login_code_request(phone=number, ip=IP, now=start)
    assert err.value.status == 429 and err.value.until == start + dt.timedelta(seconds=60)
    with pytest.raises(TooManyRequests, match="in 1 seconds"):
        login_code_request(phone=number, ip=IP, now=start + dt.timedelta(seconds=59.5))
    login_code_request(phone=number, ip=IP, now=start + dt.timedelta(seconds=60))
    assert len(sms.outbox) == 2


def test_five_codes_per_number_per_hour(number):
    start = timezone.now()
    for i in range(5):
        login_code_request(phone=number, ip=f"10.0.1.{i}", now=start + dt.timedelta(minutes=2 * i))
    with pytest.raises(TooManyRequests) as err:
        login_code_request(phone=number, ip="10.0.2.1", now=start + dt.timedelta(minutes=30))
    assert err.value.until == start + dt.timedelta(hours=1)
    assert timezone.localtime(err.value.until).strftime("%H:%M") in str(err.value)
    login_code_request(phone=number, ip="10.0.2.1", now=start + dt.timedelta(hours=1, seconds=1))
    assert len(sms.outbox) == 6


def test_twenty_codes_per_address_per_hour(jurisdiction):
    start = timezone.now()
    for i in range(20):
        login_code_request(phone=factories.phone(), ip=IP, now=start + dt.timedelta(seconds=i))
    with pytest.raises(TooManyRequests, match="from this network"):
        login_code_request(phone=factories.phone(), ip=IP, now=start + dt.timedelta(minutes=1))
    login_code_request(phone=factories.phone(), ip="10.9.9.9", now=start + dt.timedelta(minutes=1))
    login_code_request(phone=factories.phone(), ip=IP, now=start + dt.timedelta(hours=1, seconds=1))


def test_limits_follow_the_general_rules(number, monkeypatch):
    from epigrid.portal.services import login

    monkeypatch.setitem(login.RULES, "portal_login_code_interval_seconds", 5)
    start = timezone.now()
    login_code_request(phone=number, ip=IP, now=start)
    login_code_request(phone=number, ip=IP, now=start + dt.timedelta(seconds=5))
    assert len(sms.outbox) == 2


# --- lock-out ----------------------------------------------------------------------------------------------


def _fail(number: str, times: int, start: dt.datetime) -> None:
    """``times`` wrong codes, asking for a new code every 5 (each code allows 5)."""
    for i in range(times):
        at = start + dt.timedelta(minutes=2 * (i // 5), seconds=i)
        if i % 5 == 0:
            factories.code_for(number, now=at)
        with pytest.raises(WrongCode):
            login_code_verify(phone=number, code=wrong(factories.last_code(number)), ip=IP, now=at)


def test_ten_wrong_codes_within_an_hour_lock_the_number_for_thirty_minutes(number):
    start = timezone.now()
    _fail(number, 9, start)
    tenth = start + dt.timedelta(minutes=4, seconds=9)
    with pytest.raises(LockedOut) as err:
        login_code_verify(phone=number, code=wrong(factories.last_code(number)), ip=IP, now=tenth)
    until = tenth + dt.timedelta(minutes=30)
    assert err.value.until == until and err.value.status == 429
    assert timezone.localtime(until).strftime("%H:%M") in str(err.value)
    # locked: no new code, and not even the right code is taken
    with pytest.raises(LockedOut):
        login_code_request(phone=number, ip=IP, now=tenth + dt.timedelta(minutes=29))
    with pytest.raises(LockedOut):
        login_code_verify(
            phone=number, code=factories.last_code(number), ip=IP, now=tenth + dt.timedelta(minutes=1)
        )
    # after the lock the number works again, and counting starts afresh
    code = factories.code_for(number, now=until)
    with pytest.raises(WrongCode):
        login_code_verify(phone=number, code=wrong(code), ip=IP, now=until + dt.timedelta(seconds=1))
    assert login_code_verify(phone=number, code=code, ip=IP, now=until + dt.timedelta(seconds=2))


def test_wrong_codes_spread_over_more_than_an_hour_do_not_lock(number):
    start = timezone.now()
    _fail(number, 5, start)
    later_start = start + dt.timedelta(hours=1, minutes=1)
    _fail(number, 5, later_start)
    code = factories.code_for(number, now=later_start + dt.timedelta(minutes=3))
    assert login_code_verify(phone=number, code=code, ip=IP, now=later_start + dt.timedelta(minutes=3))


def test_a_successful_sign_in_starts_the_count_afresh(number):
    start = timezone.now()
    _fail(number, 5, start)
    at = start + dt.timedelta(minutes=3)
    code = factories.code_for(number, now=at)
    with pytest.raises(WrongCode):
        login_code_verify(phone=number, code=wrong(code), ip=IP, now=at)
    assert login_code_verify(phone=number, code=code, ip=IP, now=at + dt.timedelta(seconds=1))
    _fail(number, 9, at + dt.timedelta(minutes=2))  # 6 + 9 within the hour, but only 9 since the sign-in
    assert not LoginFailure.objects.filter(locks_until__isnull=False).exists()


def test_an_unknown_number_is_locked_like_a_known_one(jurisdiction):
    unknown = factories.phone()
    start = timezone.now()
    for i in range(10):
        at = start + dt.timedelta(minutes=2 * (i // 5), seconds=i)
        if i % 5 == 0:
            login_code_request(phone=unknown, ip=IP, now=at)
        error = WrongCode if i < 9 else LockedOut
        with pytest.raises(error):
            login_code_verify(phone=unknown, code="123456", ip=IP, now=at)


# --- several persons, the account ----------------------------------------------------------------------------


def test_a_family_sharing_a_number_are_all_reachable(jurisdiction):
    number = factories.phone()
    family = factories.family(jurisdiction.grid_a, number=number, children=2)
    persons = login_code_verify(phone=number, code=factories.code_for(number), ip=IP)
    assert {p.pk for p in persons} == {family["parent"].pk, *(c.pk for c in family["children"])}
    assert family["partner"].pk not in {p.pk for p in persons}
    assert len(sms.outbox) == 1  # one message for the number, not one per person


def test_the_account_is_made_on_first_sign_in_and_the_login_is_audited(
    jurisdiction, django_capture_on_commit_callbacks
):
    child = factories.person(jurisdiction.grid_a, born=factories.years_ago(10), phone=factories.phone())
    assert not User.objects.filter(person=child).exists()
    with django_capture_on_commit_callbacks(execute=True):
        user = login_account_for(person=child)
    assert user.role == Role.RESIDENT and user.person_id == child.pk and user.is_active
    assert login_account_for(person=child).pk == user.pk
    assert AuditEntry.objects.filter(action="portal.login", actor=user).count() == 2
    event = Event.objects.filter(type="portal.login").first()
    assert event.payload == {"user_id": user.pk, "person_id": child.pk} and event.org_code == child.org_code


def test_a_deactivated_account_is_refused(users, person_a):
    user_deactivate(actor=None, user=users["resident"], reason="test")
    with pytest.raises(Forbidden, match="deactivated"):
        login_account_for(person=person_a)
    assert not AuditEntry.objects.filter(action="portal.login").exists()


def test_a_staff_account_linked_to_the_person_never_signs_in_by_code(jurisdiction, users):
    from epigrid.core.tests.factories import UserFactory

    worker = factories.person(jurisdiction.grid_a, phone=factories.phone())
    UserFactory(
        username="worker-with-person", role=Role.GRID_WORKER, org_unit=jurisdiction.grid_a, person=worker
    )
    with pytest.raises(Forbidden, match="staff account"):
        login_account_for(person=worker)


def test_old_codes_and_failures_are_purged(number):
    start = timezone.now() - dt.timedelta(days=2)
    code = factories.code_for(number, now=start)
    with pytest.raises(WrongCode):
        login_code_verify(phone=number, code=wrong(code), ip=IP, now=start)
    factories.code_for(number)
    assert login_records_purge() == 2
    assert LoginCode.objects.count() == 1 and not LoginFailure.objects.exists()


def test_the_purge_runs_as_a_periodic_job():
    from epigrid.core.periodic import jobs

    assert "portal_purge_login_records" in {job.name for job in jobs()}
