"""Correction requests: a resident asks about their own record, staff with person.edit in the person's area
decide (a phone or address is written into the record), the resident gets an inbox notice with the answer;
the staff queue and a request's page are scoped (404 outside), the resident's page lists the answers."""

from __future__ import annotations

import pytest
from django.urls import reverse

from epigrid.core.errors import Conflict, DomainError, Forbidden
from epigrid.core.masking import mask_phone
from epigrid.core.models import AuditEntry, Notice, Person
from epigrid.core.roles import Perm, Role
from epigrid.core.testing import may, shows
from epigrid.portal.models import CorrectionStatus
from epigrid.portal.services.corrections import correction_decide, correction_request
from epigrid.portal.tests import factories

pytestmark = pytest.mark.django_db


# --- services ----------------------------------------------------------------------------------------------


def test_a_resident_asks_and_the_request_is_stored_encrypted_and_audited_without_the_value(users, person_a):
    made = correction_request(
        actor=users["resident"], field="address", requested_value=" 幸福路  2号 ", reason="搬家"
    )
    assert made.person_id == person_a.pk and made.org_code == person_a.org_code
    assert made.requested_value == "幸福路 2号" and made.status == CorrectionStatus.OPEN
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT requested_value FROM portal_correctionrequest WHERE id = %s", [made.pk])
        assert "幸福路" not in cursor.fetchone()[0]
    entry = AuditEntry.objects.get(action="correction.request")
    assert entry.detail == {"field": "address"} and "幸福路" not in str(entry.detail)


def test_sending_the_same_request_twice_stores_one(users):
    first = correction_request(actor=users["resident"], field="phone", requested_value="13900001111")
    again = correction_request(actor=users["resident"], field="phone", requested_value="13900001111")
    assert first.pk == again.pk


def test_bad_requests_are_refused_with_the_field(users):
    cases = [
        ({"field": "shoe_size", "requested_value": "42"}, "field"),
        ({"field": "name", "requested_value": "   "}, "requested_value"),
        ({"field": "name", "requested_value": "x" * 201}, "requested_value"),
        ({"field": "name", "requested_value": "王五", "reason": "y" * 501}, "reason"),
    ]
    for kwargs, field in cases:
        with pytest.raises(DomainError) as err:
            correction_request(actor=users["resident"], **kwargs)
        assert err.value.field == field
    with pytest.raises(Forbidden):
        correction_request(actor=users["grid_worker"], field="name", requested_value="王五")


def test_at_most_five_open_requests(users):
    for i in range(5):
        correction_request(actor=users["resident"], field="other", requested_value=f"第{i}处")
    with pytest.raises(Conflict):
        correction_request(actor=users["resident"], field="other", requested_value="第6处")


def test_corrected_address_is_written_and_the_resident_told(
    users, person_a, django_capture_on_commit_callbacks
):
    request = factories.correction(person_a, field="address", value="幸福路9号")
    with django_capture_on_commit_callbacks(execute=True):
        decided = correction_decide(
            actor=users["community_officer"], request=request, done=True, note="已更正"
        )
    assert decided.status == CorrectionStatus.DONE and decided.decided_by == users["community_officer"]
    assert Person.objects.get(pk=person_a.pk).address == "幸福路9号"
    notice = Notice.objects.get(user=users["resident"], kind="portal.correction")
    assert notice.body == "已更正" and notice.url == reverse("portal:data")
    assert AuditEntry.objects.filter(action="correction.decide", object_id=str(request.pk)).exists()
    with pytest.raises(Conflict):
        correction_decide(actor=users["community_officer"], request=request, done=False, note="再来")


def test_a_corrected_phone_must_be_a_mobile_number_or_nothing_changes(users, person_a):
    request = factories.correction(person_a, field="phone", value="0535-123")
    with pytest.raises(DomainError):
        correction_decide(actor=users["grid_worker"], request=request, done=True)
    request.refresh_from_db()
    assert (
        request.status == CorrectionStatus.OPEN and Person.objects.get(pk=person_a.pk).phone == person_a.phone
    )


def test_a_name_correction_is_marked_done_without_changing_the_record(users, person_a):
    request = factories.correction(person_a, field="name", value="王小明")
    correction_decide(actor=users["grid_worker"], request=request, done=True)
    assert Person.objects.get(pk=person_a.pk).name == person_a.name


def test_refusing_needs_a_reason(users, person_a):
    request = factories.correction(person_a)
    with pytest.raises(DomainError) as err:
        correction_decide(actor=users["community_officer"], request=request, done=False)
    assert err.value.field == "note"
    correction_decide(actor=users["community_officer"], request=request, done=False, note="地址无误")
    request.refresh_from_db()
    assert request.status == CorrectionStatus.REFUSED and request.decision_note == "地址无误"


def test_only_staff_with_person_edit_in_the_area_decide(users, person_a, person_b):
    inside, outside = factories.correction(person_a), factories.correction(person_b)
    for role in ("lab_technician", "commander", "resident"):
        with pytest.raises(Forbidden):
            correction_decide(actor=users[role], request=inside, done=True)
    with pytest.raises(Forbidden):
        correction_decide(actor=users["grid_worker"], request=outside, done=True)


# --- pages -------------------------------------------------------------------------------------------------


def test_the_resident_asks_on_the_data_page_and_reads_the_answer(users, login_client, person_a):
    client = login_client(users["resident"])
    response = client.post(
        reverse("portal:data"), {"field": "address", "requested_value": "幸福路3号", "reason": "搬家"}
    )
    assert response.status_code == 302 and response["Location"] == reverse("portal:data")
    request = person_a.correction_requests.get()
    correction_decide(actor=users["community_officer"], request=request, done=False, note="请带房产证来社区")
    html = client.get(reverse("portal:data")).content.decode()
    assert f'data-request="{request.pk}" data-status="refused"' in html and "请带房产证来社区" in html
    detail = client.get(reverse("portal:correction", args=[request.pk]))
    assert detail.status_code == 200 and 'data-testid="decide-form"' not in detail.content.decode()
    bad = client.post(reverse("portal:data"), {"field": "address", "requested_value": ""})
    assert bad.status_code == 400


@pytest.mark.parametrize("role", [r.value for r in Role if r != Role.RESIDENT])
def test_the_queue_opens_for_person_editors_only(users, login_client, role):
    status = login_client(users[role]).get(reverse("portal:corrections")).status_code
    assert status == (200 if may(role, Perm.PERSON_EDIT) else 403)


def test_the_queue_holds_the_area_only_and_staff_decide_on_the_request_page(
    users, login_client, person_a, person_b
):
    inside, outside = factories.correction(person_a), factories.correction(person_b)
    client = login_client(users["community_officer"])
    html = client.get(reverse("portal:corrections")).content.decode()
    assert f'data-request="{inside.pk}"' in html and f'data-request="{outside.pk}"' not in html
    assert person_a.name not in html and person_a.name_masked in html
    assert client.get(reverse("portal:correction", args=[outside.pk])).status_code == 404
    page = client.get(reverse("portal:correction", args=[inside.pk])).content.decode()
    assert (
        'data-testid="decide-form"' in page
        and f'href="{reverse("core:person_detail", args=[person_a.pk])}"' in page
    )
    refused = client.post(reverse("portal:correction", args=[inside.pk]), {"decision": "refused", "note": ""})
    assert refused.status_code == 400 and shows(refused.content.decode(), "Say why the request is refused.")
    done = client.post(reverse("portal:correction", args=[inside.pk]), {"decision": "done", "note": "好了"})
    assert done.status_code == 302
    inside.refresh_from_db()
    assert inside.status == CorrectionStatus.DONE
    assert f'data-request="{inside.pk}"' not in client.get(reverse("portal:corrections")).content.decode()
    assert (
        f'data-request="{inside.pk}"'
        in client.get(reverse("portal:corrections") + "?status=done").content.decode()
    )


def test_a_resident_cannot_open_someone_elses_request_or_decide(users, login_client, person_a, person_b):
    mine, theirs = factories.correction(person_a), factories.correction(person_b)
    client = login_client(users["resident"])
    assert client.get(reverse("portal:correction", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("portal:correction", args=[mine.pk]), {"decision": "done"}).status_code == 403
    assert client.get(reverse("portal:corrections")).status_code == 403


def test_staff_see_a_requested_id_number_or_phone_masked_the_resident_in_full(users, login_client, person_a):
    asked = correction_request(actor=users["resident"], field="phone", requested_value="13900001111")
    url = reverse("portal:correction", args=[asked.pk])
    staff = login_client(users["community_officer"]).get(url).content.decode()
    assert "13900001111" not in staff and mask_phone("13900001111") in staff
    own = login_client(users["resident"]).get(url).content.decode()
    assert "13900001111" in own
