"""Scope cases of the shared kernel's models (see ``epigrid.core.testing``)."""

from __future__ import annotations

from epigrid.core import events, services
from epigrid.core.audit import audit_record
from epigrid.core.testing import scope_case


@scope_case("core.person", detail_urls=["/api/v1/persons/{pk}", "/people/{pk}/"])
def make_person(grid, person):
    return person


@scope_case("core.orgunit")
def make_orgunit(grid, person):
    return grid


@scope_case("core.household")
def make_household(grid, person):
    household = services.household_create(actor=None, address="幸福路1号", grid=grid)
    person.household = household
    person.save(update_fields=["household"])
    return household


@scope_case("core.auditentry")
def make_audit_entry(grid, person):
    return audit_record(actor=None, action="test.scope", obj=person, org_code=grid.code)


@scope_case("core.event")
def make_event(grid, person):
    return events.publish("test.scope", payload={"person_id": person.pk}, org_code=grid.code)


@scope_case("core.notice")
def make_notice(grid, person):
    from epigrid.core.notices import notice_send
    from epigrid.core.tests.factories import UserFactory

    user = UserFactory(role="grid_worker", org_unit=grid)
    [notice] = notice_send(actor=None, users=[user], kind="test", title="测试")
    return notice


@scope_case("core.noticedelivery")
def make_notice_delivery(grid, person):
    # The SMS delivery of a recall to the person (a monitor's page; no grid worker or resident may open it).
    from epigrid.core.notices import person_notify

    [notice] = person_notify(actor=None, persons=[person], kind="testing_recall", params={})
    return notice.deliveries.get(channel="sms")
