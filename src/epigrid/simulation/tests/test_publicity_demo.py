"""The demo's announcements: the states the pages are meant to show, four eyes kept, the scheduled and the
expired one where they belong in time, the street-only one, the attachment and the push."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from epigrid.core.models import Notice, OrgLevel
from epigrid.publicity import selectors
from epigrid.publicity.models import Announcement, AnnouncementStatus, Attachment
from epigrid.publicity.services.announcements import announcements_publish_due
from epigrid.simulation import district
from epigrid.simulation.plan import plan_district
from epigrid.testing import services as testing

SEED = 5
PREREQUISITES = ("org_units", "households", "residents", "accounts")
Status = AnnouncementStatus


@pytest.fixture
def loaded(db, django_capture_on_commit_callbacks):
    ctx = district.DemoContext(plan=plan_district("tiny", SEED))
    steps = dict(district.STEPS)
    for name in PREREQUISITES:
        steps[name](ctx)
    grid = min((u for u in ctx.units.values() if u.level == OrgLevel.GRID), key=lambda u: u.code)
    testing.sampling_point_create(actor=None, name="第一网格核酸采样点", kind="fixed", grid=grid)
    with django_capture_on_commit_callbacks(execute=True):
        steps["publicity"](ctx)
    return ctx


def test_the_step_runs_after_the_places_it_lists():
    names = [name for name, _step in district.STEPS]
    assert names.index("publicity") > max(names.index(n) for n in ("accounts", "testing", "medwaste"))


def test_announcements_in_every_state(loaded):
    editor, admin = loaded.users["publicity"], loaded.users["admin"]
    made = Announcement.objects.all()
    assert made.count() >= 15
    assert set(made.values_list("category", flat=True)) == {
        "policy",
        "testing",
        "vaccination",
        "risk_areas",
        "guidance",
    }
    assert set(made.values_list("created_by", flat=True)) == {editor.pk}
    approved = made.filter(status=Status.APPROVED)
    assert set(approved.values_list("reviewed_by", flat=True)) == {admin.pk}
    assert made.filter(status=Status.IN_REVIEW).count() == 1 and made.filter(status=Status.DRAFT).count() == 1

    public = list(selectors.public_announcements(now=loaded.anchor))
    assert public[0].pinned and public[1].pinned and not public[2].pinned
    assert selectors.is_today(public[0].shown_at, loaded.anchor)
    titles = {a.title for a in public}
    assert "关于开展区域核酸检测的通告" in titles and "第九版防控方案解读" in titles
    assert "国庆假期疫情防控提示" not in titles  # expired
    assert "明日开展第二轮区域核酸检测的预告" not in titles  # tomorrow
    assert "关于暂停部分公共场所营业的公告" not in titles  # for one street's residents


def test_scheduled_for_tomorrow_and_expired(loaded):
    scheduled = Announcement.objects.get(title="明日开展第二轮区域核酸检测的预告")
    assert scheduled.status == Status.APPROVED and scheduled.published_at is None
    assert timezone.localdate(scheduled.publish_at) == timezone.localdate(loaded.anchor) + dt.timedelta(
        days=1
    )
    assert announcements_publish_due(now=scheduled.publish_at) == 1
    expired = Announcement.objects.get(title="国庆假期疫情防控提示")
    assert expired.published_at is not None and expired.expires_at < loaded.anchor


def test_street_audience_attachment_and_push(loaded):
    street_only = Announcement.objects.get(title="关于暂停部分公共场所营业的公告")
    [street] = street_only.audience.all()
    assert street.level == OrgLevel.STREET
    testing_notice = Announcement.objects.get(title="关于开展区域核酸检测的通告")
    sheet = Attachment.objects.get(announcement=testing_notice)
    assert sheet.name == "核酸采样点名单.xlsx" and not sheet.is_image
    residents = [u for name, u in loaded.users.items() if name.startswith("resident")]
    pushed = Notice.objects.filter(kind="announcement", url=f"/announcements/{testing_notice.pk}/")
    assert pushed.count() == len(residents) > 0
