"""The shared kernel's pages in a real browser (Debian's chromium through Playwright)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from epigrid.core.models import AuditEntry
from epigrid.core.roles import Role, is_staff_role
from epigrid.core.tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.browser


def role_label(role: str) -> str:
    # The browser asks for zh-CN, so the page speaks zh-Hans (English source strings until the catalogue exists).
    with translation.override("zh-hans"):
        return str(Role(role).label)


def sign_in(page, username: str) -> None:
    page.goto(reverse("core:login"))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit]:not([name=language])")
    page.wait_for_url(f"**{reverse('core:home')}")


def test_every_role_logs_in_through_the_form_and_sees_its_role(transactional_db, users, page):
    for role, user in users.items():
        page.context.clear_cookies()
        sign_in(page, user.username)
        # staff homes show the role; residents land on their portal, whose top bar shows it
        badge = page.locator(
            "[data-testid=role-label]" if is_staff_role(role) else f".whoami [data-role={role}]"
        )
        assert badge.inner_text().strip() == role_label(role), role
        assert page.locator(".demo-banner").is_visible()


def test_wrong_password_stays_on_the_login_page(transactional_db, users, page):
    page.goto(reverse("core:login"))
    page.fill("input[name=username]", "grid_worker")
    page.fill("input[name=password]", "wrong-password")
    page.click("button[type=submit]:not([name=language])")
    with translation.override("zh-hans"):
        expected = translation.gettext("Wrong user name or password.")
    assert page.locator("p.alert-error").inner_text().strip() == expected
    assert page.locator("[data-testid=role-label]").count() == 0


def test_map_draws_grid_polygons_and_shows_name_on_click(transactional_db, users, page):
    sign_in(page, "district_admin")
    page.goto(reverse("core:orgunit_map"))
    grids = page.locator("path.leaflet-interactive")
    grids.first.wait_for()
    assert grids.count() == 2  # grid A and grid B; street and community outlines are not interactive
    grids.first.click()
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    text = popup.inner_text()
    assert "网格" in text and "370699" in text


def test_reveal_button_shows_the_full_id_number(transactional_db, users, person_a, page):
    sign_in(page, "epidemiologist")
    page.goto(reverse("core:person_detail", args=[person_a.pk]))
    assert person_a.id_number not in page.content()
    assert person_a.id_number_masked in page.inner_text("main")
    page.click("#reveal-button")
    full = page.locator("[data-field=id_number_full]")
    full.wait_for()
    assert full.inner_text().strip() == person_a.id_number
    assert page.url.endswith(reverse("core:person_detail", args=[person_a.pk]))  # swapped in place
    assert AuditEntry.objects.filter(action="person.reveal", object_id=str(person_a.pk)).count() == 1


def test_person_search_updates_the_table_without_reload(transactional_db, users, person_a, person_b, page):
    sign_in(page, "district_admin")
    page.goto(reverse("core:person_list"))
    page.locator("#results").get_by_text(person_b.id_number_masked).wait_for()
    page.evaluate("window.__stay = 1")  # survives only if the page is not reloaded
    page.fill("input[name=q]", person_a.id_number)
    page.wait_for_function(
        "masked => !document.querySelector('#results').innerText.includes(masked)",
        arg=person_b.id_number_masked,
    )
    assert person_a.id_number_masked in page.inner_text("#results")
    assert page.evaluate("window.__stay") == 1


def test_home_fits_a_phone_screen(transactional_db, users, phone_page):
    for username in ("district_admin", "resident", "grid_worker"):
        phone_page.context.clear_cookies()
        sign_in(phone_page, username)
        width = phone_page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390 + 1, (username, width)
