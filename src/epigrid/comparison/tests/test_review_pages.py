"""The match review pages through the Django test client: who may look and who may decide, the queue (oldest
first, counts per list, scope), a row beside its candidates with masked values and the fields' verdicts,
"this person", another person found by document number, "none of these", and on to the next row."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from epigrid.comparison.models import LinkMemory, LinkMethod, ListRow, RowStatus
from epigrid.comparison.services import linkage
from epigrid.comparison.tests.test_linkage import ADDRESS, a_list, link, person, row, thresholds
from epigrid.core.masking import mask_phone
from epigrid.core.roles import Perm, Role
from epigrid.core.testing import may, shows

pytestmark = pytest.mark.django_db

QUEUE = reverse("comparison:review")


def page(r: ListRow) -> str:
    return reverse("comparison:review_row", args=[r.pk])


@pytest.fixture(autouse=True)
def _model_dir(settings, tmp_path):
    from epigrid.comparison import matching

    settings.LINKAGE_MODEL_DIR = tmp_path / "linkage"
    matching.forget_snapshots()
    yield
    matching.forget_snapshots()


@pytest.fixture
def grid(jurisdiction):
    return jurisdiction.grid_a


@pytest.fixture
def zhang(grid):
    return person(grid, "张伟明", birth=dt.date(1985, 3, 14), seq=11, phone="13812345678")


@pytest.fixture
def zhang_too(grid):
    return person(
        grid, "张伟明", birth=dt.date(1990, 1, 2), seq=23, phone="13955556666", address="外地某小区"
    )


@pytest.fixture
def waiting(grid, zhang, zhang_too):
    """Two rows in review: an older list's first, then a newer one's."""
    thresholds(auto=0.999999999, review=0.0001)
    older = row(a_list(grid), grid, name="张伟明", phone="13812345687", address=ADDRESS)
    newer = row(a_list(grid), grid, name="张伟明", sex="M")
    link(older, newer)
    assert older.status == newer.status == RowStatus.REVIEW
    return older, newer


@pytest.fixture
def clerk(users, login_client):
    return login_client(users[Role.DISTRICT_ADMIN.value])


# --- access -----------------------------------------------------------------------------------------------


def test_review_pages_per_role(waiting, users, login_client, client):
    older, _newer = waiting
    for role in Role:
        browser = login_client(users[role.value])
        for url in (QUEUE, page(older)):
            response = browser.get(url)
            if may(role.value, Perm.COMPARISON_VIEW):
                assert response.status_code == 200, (
                    role.value,
                    url,
                )  # grid roles sit in grid A, like the rows
                html = response.content.decode()
                decides = 'data-testid="choose"' in html or 'data-testid="start"' in html
                assert decides == may(role.value, Perm.COMPARISON_REVIEW), role.value
            else:
                assert response.status_code == 403, (role.value, url)
    assert client.get(QUEUE).status_code == 302  # anonymous: to the login page


def test_looking_is_not_deciding(waiting, zhang, users, login_client):
    older, _newer = waiting
    commander = login_client(users[Role.COMMANDER.value])
    response = commander.post(page(older), {"action": "choose", "person": zhang.pk})
    assert response.status_code == 403
    older.refresh_from_db()
    assert older.status == RowStatus.REVIEW


def test_out_of_scope_rows_are_404(waiting, jurisdiction, login_client):
    from epigrid.core.tests.factories import UserFactory

    older, _newer = waiting
    officer_b = UserFactory(
        username="officer-b", role=Role.COMMUNITY_OFFICER, org_unit=jurisdiction.community_b
    )
    browser = login_client(officer_b)
    assert browser.get(page(older)).status_code == 404
    assert browser.post(page(older), {"action": "none"}).status_code == 404
    html = browser.get(QUEUE).content.decode()
    assert 'data-testid="no-rows"' in html and 'data-count="0"' in html


def test_rows_never_in_review_are_404(grid, zhang, clerk):
    exact = row(a_list(grid), grid, name="张伟明", id_number=zhang.id_number)
    link(exact)
    assert clerk.get(page(exact)).status_code == 404


# --- the queue --------------------------------------------------------------------------------------------


def test_queue_oldest_first_with_counts(waiting, clerk):
    older, newer = waiting
    response = clerk.get(QUEUE)
    html = response.content.decode()
    assert shows(html, "Match review")
    assert 'data-testid="waiting" data-count="2"' in html
    assert html.index(f'data-row="{older.pk}"') < html.index(f'data-row="{newer.pk}"')
    assert f'data-import="{older.list_import_id}" data-count="1"' in html
    assert f'href="{page(older)}" data-testid="start"' in html
    assert "张伟明" not in html and "张*明" in html  # names masked
    assert "13812345687" not in html and mask_phone("13812345687") in html
    partial = clerk.get(QUEUE, headers={"HX-Request": "true"}).content.decode()
    assert 'data-testid="rows"' in partial and "<html" not in partial


# --- one row -----------------------------------------------------------------------------------------------


def test_row_beside_its_candidates_masked_with_verdicts(waiting, zhang, zhang_too, clerk):
    older, _newer = waiting
    html = clerk.get(page(older)).content.decode()
    assert f'data-testid="candidate" data-person="{zhang.pk}"' in html
    assert f'data-testid="candidate" data-person="{zhang_too.pk}"' in html
    # The true person first (phone two digits swapped, same address), the namesake after.
    assert html.index(f'data-person="{zhang.pk}"') < html.index(f'data-person="{zhang_too.pk}"')
    for needle in ("张伟明", zhang.id_number, zhang.phone, "13812345687", zhang_too.phone):
        assert needle not in html
    assert zhang.id_number_masked in html and zhang.phone_masked in html and "张*明" in html

    def verdict(person, field):
        marker = f'data-testid="verdict" data-person="{person.pk}" data-field="{field}" data-verdict="'
        start = html.index(marker) + len(marker)
        return html[start : html.index('"', start)]

    assert verdict(zhang, "name") == "agree"
    assert verdict(zhang, "phone") == "close"  # one keystroke apart, worked out from the full numbers
    assert verdict(zhang, "address") == "agree"
    assert verdict(zhang, "document") == "missing"
    assert verdict(zhang_too, "phone") == "differ"
    assert shows(html, "This person") and shows(html, "None of these")


def test_this_person_links_remembers_and_goes_on_to_the_next(waiting, zhang, clerk):
    older, newer = waiting
    response = clerk.post(page(older), {"action": "choose", "person": zhang.pk})
    assert response.status_code == 302 and response.url == page(newer)
    older.refresh_from_db()
    assert (older.person_id, older.link_method, older.status) == (
        zhang.pk,
        LinkMethod.CLERICAL,
        RowStatus.LINKED,
    )
    assert LinkMemory.objects.get(fingerprint=linkage.fingerprint(older)).person_id == zhang.pk
    # The decided row still opens, read-only, with its decision.
    html = clerk.get(page(older)).content.decode()
    assert 'data-testid="decided"' in html and 'data-testid="choose"' not in html
    # Deciding it again: refused with the reason.
    again = clerk.post(page(older), {"action": "none"})
    assert again.status_code == 400 and 'data-testid="error"' in again.content.decode()


def test_none_of_these_and_back_to_the_queue_when_done(waiting, zhang, zhang_too, clerk):
    older, newer = waiting
    clerk.post(page(older), {"action": "choose", "person": zhang.pk})
    response = clerk.post(page(newer), {"action": "none"})
    assert response.status_code == 302 and response.url == QUEUE
    newer.refresh_from_db()
    assert newer.status == RowStatus.PROVISIONAL and newer.person_id not in (zhang.pk, zhang_too.pk)
    html = clerk.get(QUEUE).content.decode()
    assert 'data-testid="no-rows"' in html


def test_another_person_found_by_document_number(waiting, grid, clerk):
    older, _newer = waiting
    other = person(grid, "张卫明", birth=dt.date(1986, 4, 15), seq=31, phone="13600007777")
    response = clerk.post(page(older), {"action": "find", "id_type": "ric", "id_number": other.id_number})
    html = response.content.decode()
    assert response.status_code == 200
    assert f'data-testid="candidate" data-person="{other.pk}" data-found="1"' in html
    assert other.id_number not in html and other.id_number_masked in html
    chosen = clerk.post(page(older), {"action": "choose", "person": other.pk})
    assert chosen.status_code == 302
    older.refresh_from_db()
    assert (older.person_id, older.link_method) == (other.pk, LinkMethod.CLERICAL)


def test_find_outside_the_area_or_unknown_is_refused(waiting, jurisdiction, users, login_client):
    older, _newer = waiting
    outsider = person(jurisdiction.grid_b, "周九", birth=dt.date(1999, 9, 9), seq=91)
    officer = login_client(users[Role.COMMUNITY_OFFICER.value])  # community A
    response = officer.post(
        page(older), {"action": "find", "id_type": "ric", "id_number": outsider.id_number}
    )
    assert response.status_code == 404 and 'data-testid="find-error"' in response.content.decode()
    bad = officer.post(page(older), {"action": "find", "id_type": "ric", "id_number": "123"})
    assert bad.status_code == 400
    # Choosing them directly is refused as well.
    chosen = officer.post(page(older), {"action": "choose", "person": outsider.pk})
    assert chosen.status_code == 400
    older.refresh_from_db()
    assert older.status == RowStatus.REVIEW


def test_a_post_without_a_choice_is_400(waiting, clerk):
    older, _newer = waiting
    assert clerk.post(page(older), {"action": "choose", "person": "x"}).status_code == 400
    assert clerk.post(page(older), {"action": "maybe"}).status_code == 400


def test_a_clerk_sees_and_may_choose_only_candidates_of_their_area(grid, jurisdiction, users, login_client):
    """A community officer reviewing a row of their community: a candidate living in another community is
    neither shown (not even masked) nor accepted when posted."""
    thresholds(auto=0.999999999, review=0.0001)
    inside = person(grid, "李春华", birth=dt.date(1979, 6, 2), seq=31, phone="13700001111")
    outside = person(jurisdiction.grid_b, "李春华", birth=dt.date(1979, 6, 2), seq=33, phone="13700001112")
    waiting = row(a_list(grid), grid, name="李春华", phone="13700001113", address=ADDRESS)
    link(waiting)
    assert waiting.status == RowStatus.REVIEW
    assert {inside.pk, outside.pk} <= {int(pid) for pid, _p in waiting.candidates}
    officer = login_client(users[Role.COMMUNITY_OFFICER.value])
    html = officer.get(page(waiting)).content.decode()
    assert f'data-person="{inside.pk}"' in html and f'data-person="{outside.pk}"' not in html
    response = officer.post(page(waiting), {"action": "choose", "person": outside.pk})
    assert response.status_code == 400 and shows(response.content.decode(), "Choose a person.")
    waiting.refresh_from_db()
    assert waiting.status == RowStatus.REVIEW and waiting.person_id is None
