"""Who sees an announcement with an audience (anonymous, residents inside and outside, staff above, inside and
beside the units), the public order, and the push to residents' inboxes after commit."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from epigrid.core.models import Notice
from epigrid.core.roles import Role
from epigrid.core.tests.factories import PersonFactory, UserFactory
from epigrid.publicity import selectors
from epigrid.publicity.services import announcements as service
from epigrid.publicity.tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def author(jurisdiction):
    return factories.editor(jurisdiction.district, username="author")


@pytest.fixture
def resident_b(jurisdiction):
    return UserFactory(
        username="resident_b", role=Role.RESIDENT, person=PersonFactory(grid=jurisdiction.grid_b)
    )


def visible(viewer) -> set[int]:
    return set(selectors.public_announcements(viewer=viewer).values_list("pk", flat=True))


def test_audience_targeting(jurisdiction, users, author, resident_b):
    everyone = factories.approved(author, users["district_admin"], title="全区通告")
    street_a = factories.approved(
        author, users["district_admin"], title="A街道通告", audience=[jurisdiction.street_a]
    )
    grid_b = factories.approved(
        author, users["district_admin"], title="B网格通告", audience=[jurisdiction.grid_b]
    )
    worker_b = UserFactory(username="worker_b", role=Role.GRID_WORKER, org_unit=jurisdiction.grid_b)
    street_b_officer = UserFactory(
        username="street_b", role=Role.COMMUNITY_OFFICER, org_unit=jurisdiction.street_b
    )

    assert visible(None) == visible(AnonymousUser()) == {everyone.pk}
    assert visible(users["resident"]) == {everyone.pk, street_a.pk}  # person A lives in grid A, street A
    assert visible(resident_b) == {everyone.pk, grid_b.pk}
    assert visible(users["grid_worker"]) == {everyone.pk, street_a.pk}  # their grid lies within street A
    assert visible(worker_b) == {everyone.pk, grid_b.pk}
    assert visible(street_b_officer) == {everyone.pk, grid_b.pk}  # grid B lies within their street
    assert visible(users["community_officer"]) == {everyone.pk, street_a.pk}
    assert visible(users["district_admin"]) == {everyone.pk, street_a.pk, grid_b.pk}


def test_an_inactive_account_sees_only_the_public(jurisdiction, users, author):
    street_a = factories.approved(author, users["district_admin"], audience=[jurisdiction.street_a])
    resident = users["resident"]
    resident.is_active = False
    assert street_a.pk not in visible(resident)


def test_the_detail_of_what_one_may_not_see_is_404(jurisdiction, users, author, resident_b):
    from django.http import Http404

    street_a = factories.approved(author, users["district_admin"], audience=[jurisdiction.street_a])
    assert selectors.public_announcement_get(viewer=users["resident"], pk=street_a.pk) == street_a
    for viewer in (None, resident_b):
        with pytest.raises(Http404):
            selectors.public_announcement_get(viewer=viewer, pk=street_a.pk)
    draft = factories.draft(author)
    with pytest.raises(Http404):
        selectors.public_announcement_get(viewer=users["district_admin"], pk=draft.pk)


def test_pinned_first_then_newest(users, author):
    admin = users["district_admin"]
    old_pinned = factories.published_since(author, admin, hours=72, title="置顶的旧通告", pinned=True)
    older = factories.published_since(author, admin, hours=48, title="较早")
    newest = factories.published_since(author, admin, hours=1, title="最新")
    middle = factories.published_since(author, admin, hours=5, title="中间")
    order = list(selectors.public_announcements().values_list("pk", flat=True))
    assert order == [old_pinned.pk, newest.pk, middle.pk, older.pk]


def test_category_filter(users, author):
    admin = users["district_admin"]
    testing = factories.approved(author, admin, category="testing")
    factories.approved(author, admin, category="vaccination", title="加强针接种安排")
    assert list(selectors.public_announcements(category="testing")) == [testing]


# --- the push ------------------------------------------------------------------------------------------------


def notices_of(user) -> list[Notice]:
    return list(Notice.objects.filter(user=user, kind="announcement"))


def test_push_reaches_the_residents_of_the_audience_only(
    jurisdiction, users, author, resident_b, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        made = factories.approved(
            author, users["district_admin"], audience=[jurisdiction.grid_a], push=True, summary="今日全员核酸"
        )
    [notice] = notices_of(users["resident"])
    assert (notice.title, notice.body, notice.url) == (
        made.title,
        "今日全员核酸",
        f"/announcements/{made.pk}/",
    )
    assert notices_of(resident_b) == []
    assert not Notice.objects.filter(user=users["grid_worker"], kind="announcement").exists()
    assert service.announcement_push(announcement=made) == 0  # a repeated push sends nothing twice
    assert len(notices_of(users["resident"])) == 1


def test_no_push_unless_asked_and_whole_district_when_no_audience(
    users, author, resident_b, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        factories.approved(author, users["district_admin"], title="不推送")
    assert notices_of(users["resident"]) == notices_of(resident_b) == []
    with django_capture_on_commit_callbacks(execute=True):
        factories.approved(author, users["district_admin"], title="推送全区", push=True)
    assert len(notices_of(users["resident"])) == len(notices_of(resident_b)) == 1


def test_a_scheduled_push_goes_out_when_the_job_publishes(users, author, django_capture_on_commit_callbacks):
    at = timezone.now() - dt.timedelta(seconds=1)
    with django_capture_on_commit_callbacks(execute=True):
        made = factories.approved(
            author, users["district_admin"], publish_at=at + dt.timedelta(hours=1), push=True
        )
    assert notices_of(users["resident"]) == []
    with django_capture_on_commit_callbacks(execute=True):
        assert service.announcements_publish_due(now=made.publish_at) == 1
    # The handler pushes only what is public at the moment it runs: at the real clock this one is not yet.
    assert notices_of(users["resident"]) == []
    assert service.announcement_push(announcement=made, now=made.publish_at) == 1
    assert len(notices_of(users["resident"])) == 1


def test_a_withdrawn_announcement_is_not_pushed(users, author):
    made = factories.approved(author, users["district_admin"], push=True)
    service.announcement_withdraw(actor=author, announcement=made)
    assert service.announcement_push(announcement=made) == 0
