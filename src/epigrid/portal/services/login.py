"""Signing in by phone number and a one-time code sent by SMS.

Step 1, :func:`login_code_request`: a 6-digit code for a mobile number of the person registry. Every
request leaves a :class:`LoginCode` row, also for numbers nobody has (with no code in it), so that the rate
limits and the answers are the same for registered and unknown numbers: the page cannot be used to find out
who is registered. Only an HMAC of the code is stored; a new code ends the older ones.

Step 2, :func:`login_code_verify`: the newest code of the number, within its validity and its tries. A wrong
code is a :class:`LoginFailure`; enough of them within the window lock the number out for a while. The answer
is the persons who have that number (a parent and their children may share one); the caller lets the user
pick one and signs in through :func:`login_account_for`.

The limits are counted in the database rather than in ``core.ratelimit``'s per-process cache: every server
process sees the same counts (two workers do not double a limit), the windows slide, and the page can say
when a limit or a lock-out ends. Numbers come from the general rules (``portal_login_*``) with the defaults
below.
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import secrets
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from epigrid.core import crypto, events
from epigrid.core.audit import audit_record
from epigrid.core.errors import DomainError, Forbidden
from epigrid.core.identity import IdentityError, normalize_phone
from epigrid.core.models import Person, User
from epigrid.core.roles import is_staff_role
from epigrid.core.selectors import district_code, general_rule
from epigrid.core.services import phone_index, resident_account_ensure
from epigrid.core.sms import SmsError, sms_send
from epigrid.portal.models import LoginCode, LoginFailure

logger = logging.getLogger(__name__)

CODE_DIGITS = 6
HOUR = dt.timedelta(hours=1)

# Rule name -> default. Read on every request, so a new policy version changes them without a restart.
RULES: dict[str, int] = {
    "portal_login_code_minutes": 5,  # how long a code is valid
    "portal_login_code_tries": 5,  # wrong tries a code allows
    "portal_login_code_interval_seconds": 60,  # one code per number per this many seconds
    "portal_login_codes_per_phone_per_hour": 5,
    "portal_login_codes_per_ip_per_hour": 20,
    "portal_login_lockout_failures": 10,  # wrong codes for a number within an hour ...
    "portal_login_lockout_minutes": 30,  # ... lock it for this long
}


def rule(name: str) -> int:
    return int(general_rule(name, RULES[name]))


class TooManyRequests(DomainError):
    """A limit was reached; ``until`` says when it ends. Pages and the API answer 429."""

    status = 429

    def __init__(self, message: str, *, until: dt.datetime) -> None:
        super().__init__(message)
        self.until = until


class LockedOut(TooManyRequests):
    """Too many wrong codes for the number: it is locked until ``until``."""


class WrongCode(DomainError):
    """The code does not match; ``tries_left`` more are allowed with this code."""

    def __init__(self, message: str, *, tries_left: int) -> None:
        super().__init__(message, field="code")
        self.tries_left = tries_left


def _local_time(at: dt.datetime) -> str:
    return timezone.localtime(at).strftime("%H:%M")


def _phone(phone: str) -> str:
    try:
        return normalize_phone(phone)
    except IdentityError as err:
        raise DomainError(str(err), field="phone") from None


def _hash(index: str, code: str, salt: str) -> str:
    return f"{salt}${crypto.blind_index(f'{index}:{salt}:{code}', purpose='login-code')}"


def _matches(stored: str, index: str, code: str) -> bool:
    salt, sep, _digest = stored.partition("$")
    if not sep:  # an unknown number's row: nothing was sent, nothing matches
        return False
    return hmac.compare_digest(stored, _hash(index, code, salt))


# --- the lock-out ------------------------------------------------------------------------------------------


def _lock_until(index: str, now: dt.datetime) -> dt.datetime | None:
    until = (
        LoginFailure.objects.filter(phone_index=index, locks_until__gt=now)
        .order_by("-locks_until")
        .values_list("locks_until", flat=True)
        .first()
    )
    return until


def _locked_error(until: dt.datetime) -> LockedOut:
    return LockedOut(
        _(
            "Too many wrong codes were entered for this number. It is locked until %(time)s; "
            "please try again then."
        )
        % {"time": _local_time(until)},
        until=until,
    )


def _record_failure(index: str, ip: str, now: dt.datetime) -> dt.datetime | None:
    """Keep one wrong code; returns the end of the lock-out when this one completes a series.

    A series counts the failures of the last hour since the number's last lock-out ended or its last
    successful sign-in, whichever is later: a right code or a served lock-out starts afresh."""
    since = now - HOUR
    last_lock = (
        LoginFailure.objects.filter(phone_index=index, locks_until__isnull=False)
        .order_by("-locks_until")
        .values_list("locks_until", flat=True)
        .first()
    )
    last_success = (
        LoginCode.objects.filter(phone_index=index, used_at__isnull=False)
        .order_by("-used_at")
        .values_list("used_at", flat=True)
        .first()
    )
    since = max([since, *(t for t in (last_lock, last_success) if t is not None)])
    failure = LoginFailure.objects.create(phone_index=index, at=now, ip=ip[:45])
    count = LoginFailure.objects.filter(phone_index=index, at__gt=since).count()
    if count < rule("portal_login_lockout_failures"):
        return None
    failure.locks_until = now + dt.timedelta(minutes=rule("portal_login_lockout_minutes"))
    failure.save(update_fields=["locks_until"])
    return failure.locks_until


# --- step 1: a code --------------------------------------------------------------------------------------------


def _check_limits(index: str, ip: str, now: dt.datetime) -> None:
    recent = LoginCode.objects.filter(phone_index=index, created_at__gt=now - HOUR)
    interval = dt.timedelta(seconds=rule("portal_login_code_interval_seconds"))
    last = recent.order_by("-created_at").values_list("created_at", flat=True).first()
    if last is not None and now - last < interval:
        wait = last + interval
        seconds = max(1, int((wait - now).total_seconds() + 0.999))
        raise TooManyRequests(
            _("A code was sent to this number just now. You can ask for another in %(n)d seconds.")
            % {"n": seconds},
            until=wait,
        )
    per_hour = rule("portal_login_codes_per_phone_per_hour")
    times = list(recent.order_by("-created_at").values_list("created_at", flat=True)[:per_hour])
    if len(times) >= per_hour:
        until = times[-1] + HOUR
        raise TooManyRequests(
            _("Too many codes were asked for this number. You can ask for another at %(time)s.")
            % {"time": _local_time(until)},
            until=until,
        )
    per_ip = rule("portal_login_codes_per_ip_per_hour")
    if ip:
        ip_times = list(
            LoginCode.objects.filter(ip=ip, created_at__gt=now - HOUR)
            .order_by("-created_at")
            .values_list("created_at", flat=True)[:per_ip]
        )
        if len(ip_times) >= per_ip:
            until = ip_times[-1] + HOUR
            raise TooManyRequests(
                _("Too many codes were asked from this network. Please try again at %(time)s.")
                % {"time": _local_time(until)},
                until=until,
            )


def _message_language(persons: list[Person]) -> str:
    """The language of the texts to this number: its first account's choice, else the site's default."""
    language = (
        User.objects.filter(person__in=persons).order_by("pk").values_list("language", flat=True).first()
    )
    return language or "zh-hans"


def login_code_request(*, phone: str, ip: str, now: dt.datetime | None = None) -> None:
    """Send a sign-in code to ``phone`` if a person has that number; answer the same either way.

    Raises ``DomainError`` (field ``phone``) for a number that is not a mainland mobile number,
    :class:`TooManyRequests` when a limit is reached, :class:`LockedOut` while the number is locked."""
    number = _phone(phone)
    index = phone_index(number)
    now = now or timezone.now()
    ip = (ip or "")[:45]
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    with transaction.atomic():
        until = _lock_until(index, now)
        if until is not None:
            raise _locked_error(until)
        _check_limits(index, ip, now)
        persons = list(Person.objects.filter(phone_index=index).order_by("pk")[:20])
        # A new code ends the older ones (an old message read late must not work).
        LoginCode.objects.filter(phone_index=index, used_at__isnull=True, expires_at__gt=now).update(
            expires_at=now
        )
        row = LoginCode.objects.create(
            phone_index=index,
            code_hash=_hash(index, code, secrets.token_hex(8)) if persons else "",
            created_at=now,
            expires_at=now + dt.timedelta(minutes=rule("portal_login_code_minutes")),
            ip=ip,
        )
        audit_record(
            actor=None,
            action="portal.login_code",
            obj=row,
            org_code=persons[0].org_code if persons else district_code(),
            detail={"registered": bool(persons)},
        )
    if not persons:
        return
    with translation.override(_message_language(persons)):
        text = _(
            "EpiGrid sign-in code: %(code)s. It is valid for %(minutes)d minutes. "
            "Never give it to anyone, staff included."
        ) % {"code": code, "minutes": rule("portal_login_code_minutes")}
    try:
        sms_send(to=number, text=text, purpose="login")
    except SmsError:
        logger.exception("login code to %s not sent", persons[0].phone_masked)
        LoginCode.objects.filter(pk=row.pk).update(expires_at=now)
        raise DomainError(
            _("The text message could not be sent. Please try again in a few minutes.")
        ) from None


# --- step 2: the code ----------------------------------------------------------------------------------------


@dataclass
class _Outcome:
    persons: list[Person] | None = None
    error: DomainError | None = None


def _check_code(index: str, code: str, ip: str, now: dt.datetime) -> _Outcome:
    row = (
        LoginCode.objects.select_for_update().filter(phone_index=index).order_by("-created_at", "-pk").first()
    )
    tries = rule("portal_login_code_tries")
    if row is None or row.used_at is not None or row.expires_at <= now:
        error: DomainError = DomainError(
            _("This code has expired or was already used. Please ask for a new one."), field="code"
        )
    elif row.attempts >= tries:
        error = DomainError(_("Too many wrong tries with this code. Please ask for a new one."), field="code")
    elif _matches(row.code_hash, index, code):
        row.used_at = now
        row.save(update_fields=["used_at"])
        persons = list(Person.objects.filter(phone_index=index).order_by("birth_date", "pk")[:20])
        if persons:
            return _Outcome(persons=persons)
        error = DomainError(_("This number is no longer registered."), field="code")
    else:
        row.attempts += 1
        row.save(update_fields=["attempts"])
        left = tries - row.attempts
        message = (
            _("The code is not correct. %(n)d more tries with this code.") % {"n": left}
            if left
            else _("The code is not correct, and that was the last try. Please ask for a new one.")
        )
        error = WrongCode(message, tries_left=left)
    until = _record_failure(index, ip, now)
    return _Outcome(error=_locked_error(until) if until is not None else error)


def login_code_verify(*, phone: str, code: str, ip: str, now: dt.datetime | None = None) -> list[Person]:
    """The persons registered with ``phone`` when ``code`` is its valid code; the code is used up.

    Raises :class:`WrongCode` (with the tries left), ``DomainError`` for an expired or used-up code,
    :class:`LockedOut` while the number is locked (and when this failure locks it)."""
    number = _phone(phone)
    code = (code or "").strip()
    if len(code) != CODE_DIGITS or not code.isdigit():
        raise DomainError(_("The code has %(n)d digits.") % {"n": CODE_DIGITS}, field="code")
    index = phone_index(number)
    now = now or timezone.now()
    # The failure is committed before its error is raised: an exception inside the block would undo it.
    with transaction.atomic():
        until = _lock_until(index, now)
        outcome = _check_code(index, code, (ip or "")[:45], now) if until is None else _Outcome()
    if until is not None:
        raise _locked_error(until)
    if outcome.error is not None:
        raise outcome.error
    return outcome.persons or []


def login_account_for(*, person: Person) -> User:
    """The resident account to sign in after a verified code (made on first need).

    A deactivated account is refused; so is a staff account linked to the person: staff sign in with their
    password (and second factor), never with a code sent to a phone."""
    user = resident_account_ensure(person=person)
    if not user.is_active:
        raise Forbidden(_("This account is deactivated. Please contact your community."))
    if is_staff_role(user.role):
        raise Forbidden(_("This is a staff account: please sign in with your user name and password."))
    with transaction.atomic():
        audit_record(actor=user, action="portal.login", obj=user, org_code=person.org_code)
        events.publish(
            "portal.login", payload={"user_id": user.pk, "person_id": person.pk}, org_code=person.org_code
        )
    return user


def login_records_purge(*, now: dt.datetime | None = None, keep: dt.timedelta = dt.timedelta(days=1)) -> int:
    """Delete codes and failures older than ``keep`` (limits look back an hour); returns how many."""
    cutoff = (now or timezone.now()) - keep
    with transaction.atomic():
        codes = LoginCode.objects.filter(created_at__lt=cutoff).delete()[0]
        failures = LoginFailure.objects.filter(at__lt=cutoff).delete()[0]
        if codes or failures:
            audit_record(
                actor=None,
                action="portal.login_purge",
                org_code=district_code(),
                detail={"codes": codes, "failures": failures, "cutoff": cutoff.isoformat()},
            )
    return codes + failures
