"""The announcement services: writing and versions, review with four eyes, scheduled publication and
expiry at their boundaries, withdrawal, attachments, and what is audited and published as events."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from epigrid.core.errors import Conflict, DomainError, Forbidden
from epigrid.core.models import AuditEntry, Event, Notice
from epigrid.publicity import selectors
from epigrid.publicity.models import AnnouncementStatus, Category
from epigrid.publicity.services import announcements as service
from epigrid.publicity.services.announcements import AnnouncementInput
from epigrid.publicity.tests import factories

pytestmark = pytest.mark.django_db
Status = AnnouncementStatus
MINUTE = dt.timedelta(minutes=1)


@pytest.fixture
def author(jurisdiction):
    return factories.editor(jurisdiction.district, username="author")


@pytest.fixture
def second(jurisdiction):
    return factories.editor(jurisdiction.district, username="second")


def public_ids(now=None, viewer=None) -> set[int]:
    return set(selectors.public_announcements(viewer=viewer, now=now).values_list("pk", flat=True))


def edit(announcement, actor, **changes):
    data = AnnouncementInput(
        title=announcement.title,
        category=announcement.category,
        body_html=announcement.body_html,
        summary=announcement.summary,
        audience=list(announcement.audience.all()),
        publish_at=announcement.publish_at,
        expires_at=announcement.expires_at,
        pinned=announcement.pinned,
        push=announcement.push,
    )
    base = changes.pop("base_version", None)
    for name, value in changes.items():
        setattr(data, name, value)
    return service.announcement_update(actor=actor, announcement=announcement, data=data, base_version=base)


# --- writing and versions ---------------------------------------------------------------------------------------


def test_create_sanitises_the_body_and_keeps_version_one(author, jurisdiction):
    made = factories.draft(author, body='<p onclick="x()">通告<script>alert(1)</script></p>')
    assert made.status == Status.DRAFT and made.version == 1
    assert made.body_html == "<p>通告</p>"
    assert made.org_code == jurisdiction.district.code
    revision = made.revisions.get()
    assert (revision.version, revision.body_html, revision.edited_by) == (1, "<p>通告</p>", author)
    assert AuditEntry.objects.filter(action="announcement.create", object_id=str(made.pk)).exists()


def test_bad_input_names_the_field_and_writes_nothing(author, jurisdiction):
    now = timezone.now()
    cases = [
        ({"title": "  "}, "title"),
        ({"title": "题" * 201}, "title"),
        ({"category": "gossip"}, "category"),
        ({"publish_at": now + dt.timedelta(days=2), "expires_at": now + dt.timedelta(days=1)}, "expires_at"),
        ({"expires_at": now - MINUTE}, "expires_at"),
        ({"publish_at": dt.datetime(2030, 1, 1, 8, 0)}, "publish_at"),  # naive
    ]
    for overrides, field in cases:
        with pytest.raises(DomainError) as err:
            factories.draft(author, **overrides)
        assert err.value.field == field, overrides
    from epigrid.publicity.models import Announcement

    assert not Announcement.objects.exists()


def test_audience_must_lie_in_the_editors_area(jurisdiction):
    street_editor = factories.editor(jurisdiction.street_a)
    with pytest.raises(DomainError) as err:
        factories.draft(street_editor, audience=[jurisdiction.grid_b])
    assert err.value.field == "audience" and "B网格" in err.value.message
    made = factories.draft(street_editor, audience=[jurisdiction.grid_a, jurisdiction.grid_a])
    assert list(made.audience.values_list("code", flat=True)) == [jurisdiction.grid_a.code]
    assert made.org_code == jurisdiction.street_a.code


def test_every_save_is_a_new_version_and_the_same_content_is_none(author):
    made = factories.draft(author)
    edit(made, author, title="关于开展第二轮区域核酸检测的通告")
    edit(made, author, body_html="<p>新的正文</p>")
    assert made.version == 3
    same = edit(made, author, body_html="<p>新的正文</p>")
    assert same.version == 3
    assert list(made.revisions.values_list("version", flat=True)) == [3, 2, 1]
    assert made.revisions.get(version=2).title == "关于开展第二轮区域核酸检测的通告"


def test_an_edit_based_on_an_old_version_is_refused(author, second):
    made = factories.draft(author)
    edit(made, second, title="别人先改了", base_version=1)
    with pytest.raises(Conflict):
        edit(made, author, title="我的修改", base_version=1)
    made.refresh_from_db()
    assert (made.title, made.version) == ("别人先改了", 2)


def test_restore_saves_an_old_version_again_as_the_newest(author):
    made = factories.draft(author, title="第一版")
    edit(made, author, title="第二版", body_html="<p>改过</p>")
    restored = service.announcement_restore(actor=author, announcement=made, version=1)
    assert restored.version == 3 and restored.title == "第一版"
    assert restored.body_html == factories.BODY
    assert restored.revisions.get(version=3).note == "Restored version 1"
    with pytest.raises(DomainError):
        service.announcement_restore(actor=author, announcement=made, version=9)


def test_who_may_write(users, jurisdiction):
    with pytest.raises(Forbidden):
        factories.draft(users["grid_worker"])
    with pytest.raises(Forbidden):
        factories.draft(users["district_admin"])  # a reviewer, not an editor
    made = factories.draft(users["publicity_editor"])
    street_editor = factories.editor(jurisdiction.street_b)
    with pytest.raises(Forbidden):
        edit(made, street_editor, title="越权")


# --- review ------------------------------------------------------------------------------------------------------


def test_submit_approve_publishes_once_with_events(author, users):
    made = factories.in_review(author, push=True)
    assert made.status == Status.IN_REVIEW
    approved = service.announcement_approve(actor=users["district_admin"], announcement=made)
    assert approved.status == Status.APPROVED and approved.reviewed_by == users["district_admin"]
    assert approved.published_at is not None and approved.publish_at <= approved.published_at
    assert made.pk in public_ids()
    again = service.announcement_approve(actor=users["district_admin"], announcement=made)
    assert again.published_at == approved.published_at
    published = Event.objects.filter(type="announcement.published")
    assert published.count() == 1
    assert published.get().payload["push"] is True and published.get().payload["announcement_id"] == made.pk
    assert Event.objects.filter(type="announcement.submitted").count() == 1


def test_four_eyes_the_author_and_earlier_editors_cannot_approve(author, second, users):
    made = factories.in_review(author)
    with pytest.raises(Forbidden):
        service.announcement_approve(actor=author, announcement=made)
    edit(made, second, summary="补充摘要")
    with pytest.raises(Forbidden):
        service.announcement_approve(actor=second, announcement=made)  # edited a version: not a second pair
    made.refresh_from_db()
    assert made.status == Status.IN_REVIEW
    with pytest.raises(Forbidden):
        service.announcement_approve(actor=users["grid_worker"], announcement=made)
    service.announcement_approve(actor=users["commander"], announcement=made)
    assert made.status == Status.APPROVED


def test_approving_a_version_other_than_the_one_read_is_refused(author, users):
    made = factories.in_review(author)
    edit(made, author, body_html="<p>审核期间又改了</p>")
    with pytest.raises(Conflict):
        service.announcement_approve(actor=users["district_admin"], announcement=made, version=1)
    service.announcement_approve(actor=users["district_admin"], announcement=made, version=2)
    assert made.status == Status.APPROVED


def test_send_back_needs_a_note_and_tells_the_author(author, users):
    made = factories.in_review(author)
    with pytest.raises(DomainError) as err:
        service.announcement_send_back(actor=users["district_admin"], announcement=made, note="  ")
    assert err.value.field == "note"
    service.announcement_send_back(actor=users["district_admin"], announcement=made, note="请补充采样点地址")
    assert (made.status, made.review_note) == (Status.REJECTED, "请补充采样点地址")
    notice = Notice.objects.get(user=author)
    assert notice.body == "请补充采样点地址" and notice.url == f"/publicity/{made.pk}/"
    with pytest.raises(Conflict):
        service.announcement_approve(actor=users["district_admin"], announcement=made)
    service.announcement_submit(actor=author, announcement=made)
    assert made.status == Status.IN_REVIEW


def test_submit_needs_text_and_a_future_expiry(author):
    empty = factories.draft(author, body="<p> </p>")
    with pytest.raises(DomainError) as err:
        service.announcement_submit(actor=author, announcement=empty)
    assert err.value.field == "body_html"
    soon = factories.draft(author, expires_at=timezone.now() + dt.timedelta(hours=1))
    with pytest.raises(DomainError):
        service.announcement_submit(
            actor=author, announcement=soon, now=timezone.now() + dt.timedelta(hours=2)
        )


def test_editing_an_approved_announcement_takes_it_off_until_approved_again(author, users):
    made = factories.approved(author, users["district_admin"])
    first_published = made.published_at
    edit(made, author, title="更正：关于开展区域核酸检测的通告")
    assert made.status == Status.DRAFT
    assert made.pk not in public_ids()
    assert Event.objects.filter(type="announcement.unpublished").count() == 1
    service.announcement_submit(actor=author, announcement=made)
    service.announcement_approve(actor=users["district_admin"], announcement=made)
    assert made.pk in public_ids() and made.published_at == first_published
    assert Event.objects.filter(type="announcement.published").count() == 1  # published once


def test_withdraw_takes_it_off_at_once(author, users):
    made = factories.approved(author, users["district_admin"])
    service.announcement_withdraw(actor=users["commander"], announcement=made, note="政策已调整")
    assert made.status == Status.WITHDRAWN and made.pk not in public_ids()
    assert service.announcement_withdraw(actor=author, announcement=made).status == Status.WITHDRAWN
    draft = factories.draft(author)
    with pytest.raises(Conflict):
        service.announcement_withdraw(actor=author, announcement=draft)


def test_pinning_is_no_new_version_and_no_review(author, users):
    made = factories.approved(author, users["district_admin"])
    service.announcement_pin(actor=author, announcement=made, pinned=True)
    made.refresh_from_db()
    assert made.pinned and made.version == 1 and made.status == Status.APPROVED


# --- time: scheduled publication and expiry ---------------------------------------------------------------------


def test_scheduled_publication_at_the_minute_boundaries(author, users):
    at = timezone.now() + dt.timedelta(days=1)
    made = factories.approved(author, users["district_admin"], publish_at=at, push=True)
    assert made.status == Status.APPROVED and made.published_at is None
    assert not Event.objects.filter(type="announcement.published").exists()
    assert made.pk not in public_ids(now=at - MINUTE)
    assert service.announcements_publish_due(now=at - MINUTE) == 0
    assert made.pk in public_ids(now=at)
    assert service.announcements_publish_due(now=at + MINUTE) == 1
    made.refresh_from_db()
    assert made.published_at == at  # its publication time, not the job's
    assert service.announcements_publish_due(now=at + 2 * MINUTE) == 0
    assert Event.objects.filter(type="announcement.published").count() == 1
    assert AuditEntry.objects.filter(action="announcement.publish", object_id=str(made.pk)).count() == 1


def test_expiry_at_the_minute_boundaries(author, users):
    now = timezone.now()
    expires = now + dt.timedelta(days=3)
    made = factories.approved(author, users["district_admin"], expires_at=expires)
    assert made.pk in public_ids(now=expires - MINUTE)
    assert made.pk not in public_ids(now=expires)
    assert made.pk not in public_ids(now=expires + MINUTE)


def test_approving_after_the_expiry_is_refused(author, users):
    now = timezone.now()
    made = factories.in_review(author, expires_at=now + dt.timedelta(hours=1))
    with pytest.raises(DomainError) as err:
        service.announcement_approve(
            actor=users["district_admin"], announcement=made, now=now + dt.timedelta(hours=1)
        )
    assert err.value.field == "expires_at"


def test_withdrawn_before_its_time_never_goes_public(author, users):
    at = timezone.now() + dt.timedelta(hours=2)
    made = factories.approved(author, users["district_admin"], publish_at=at)
    service.announcement_withdraw(actor=author, announcement=made)
    assert service.announcements_publish_due(now=at + MINUTE) == 0
    made.refresh_from_db()
    assert made.published_at is None


def test_the_periodic_job_is_registered_every_minute():
    from epigrid.core.periodic import jobs

    job = next(j for j in jobs() if j.name == "publicity_publish_due")
    assert job.every == MINUTE


# --- categories are the five of the issue ------------------------------------------------------------------------


def test_categories():
    assert set(Category.values) == {"policy", "testing", "vaccination", "risk_areas", "guidance"}
