"""Portal test data: families sharing a phone, sign-in codes read from the console SMS outbox, correction
requests — all through the services."""

from __future__ import annotations

import datetime as dt
import itertools
import re

from django.utils import timezone

from epigrid.core import services as core_services
from epigrid.core import sms
from epigrid.core.identity import compose_resident_id
from epigrid.core.models import Household, OrgUnit, Person
from epigrid.core.tests.factories import PersonFactory
from epigrid.portal.services import corrections, login

_seq = itertools.count(1)
CODE_RE = re.compile(r"\b(\d{6})\b")


def phone() -> str:
    """A mobile number no factory person has (they use 138...)."""
    return f"159{next(_seq):08d}"


def person(
    grid: OrgUnit, *, born: dt.date | None = None, household: Household | None = None, **fields
) -> Person:
    born = born or dt.date(1985, 5, 5)
    return PersonFactory(
        grid=grid,
        id_number=compose_resident_id("370602", born, 300 + next(_seq)),
        household_id=household.pk if household else None,
        **fields,
    )


def years_ago(years: int) -> dt.date:
    today = timezone.localdate()
    return today.replace(year=today.year - years, day=min(today.day, 28))


def family(grid: OrgUnit, *, number: str, children: int = 1, other_adult: bool = True) -> dict:
    """A household: a parent with ``number``, ``children`` under 18 sharing it, and (by default) another
    adult with a number of their own."""
    home = core_services.household_create(actor=None, address="黄河路8号", grid=grid)
    parent = person(grid, born=years_ago(40), household=home, phone=number)
    kids = [person(grid, born=years_ago(6 + 3 * i), household=home, phone=number) for i in range(children)]
    partner = person(grid, born=years_ago(42), household=home, phone=phone()) if other_adult else None
    return {"household": home, "parent": parent, "children": kids, "partner": partner}


def last_code(to: str) -> str:
    """The code in the newest text message to ``to`` (the console backend's outbox)."""
    for message in reversed(sms.outbox):
        if message.to == to:
            return CODE_RE.search(message.text).group(1)
    raise AssertionError(f"no text message to {to}")


def code_for(number: str, *, ip: str = "10.0.0.1", now: dt.datetime | None = None) -> str:
    login.login_code_request(phone=number, ip=ip, now=now)
    return last_code(number)


def correction(person: Person, *, field: str = "address", value: str = "幸福路2号", reason: str = "搬家了"):
    account = core_services.resident_account_ensure(person=person)
    return corrections.correction_request(actor=account, field=field, requested_value=value, reason=reason)


def tested(*, sampler, lab, people: list[Person], result: str, pool: int | None = None) -> str:
    """One tube with ``people``'s swabs, sealed, with the lab's ``result``; returns its barcode."""
    import uuid

    from epigrid.testing import services as testing_services

    barcode = f"PT{next(_seq):08d}"
    size = pool or next(n for n in testing_services.POOL_SIZES if n >= len(people))
    tube = testing_services.tube_register(actor=sampler, barcode=barcode, pool_size=size)
    for someone in people:
        testing_services.specimen_add(actor=sampler, tube=tube, person=someone, client_id=uuid.uuid4())
    testing_services.tube_seal(actor=sampler, tube=tube)
    testing_services.results_submit(actor=lab, rows=[{"tube": barcode, "result": result}])
    return barcode


def checked_in(person: Person, venue, *, days_ago: float = 0):
    """A check-in of ``person`` at ``venue`` ``days_ago`` days ago (a staff import, for older dates)."""
    import uuid

    from epigrid.checkins import services as checkin_services

    if not days_ago:
        return checkin_services.checkin_record(
            actor=None, venue=venue, person=person, client_id=uuid.uuid4()
        ).checkin
    at = timezone.now() - dt.timedelta(days=days_ago)
    return checkin_services.checkin_record(
        actor=None, venue=venue, person=person, client_id=uuid.uuid4(), scanned_at=at
    ).checkin


def general_rules(**changes) -> None:
    """A new version of the general rules with ``changes``, active at once (through the services)."""
    from epigrid.core import services as policy_services
    from epigrid.core.selectors import GENERAL, policy_active, policy_cache_clear

    active = policy_active(disease_code=GENERAL)
    policy_services.policy_version_create(
        actor=None,
        disease=active.disease,
        version=f"test-{next(_seq)}",
        title="test rules",
        params={**active.params, **changes},
        activate=True,
    )
    policy_cache_clear()  # activation clears it on commit; tests run inside one transaction
