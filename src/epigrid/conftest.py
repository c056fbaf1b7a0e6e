"""Fixtures shared by every app's tests: two jurisdictions, a user per role, API clients, a browser."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from types import SimpleNamespace

import pytest
from django.test import Client
from django.utils import timezone, translation

from epigrid.core import services
from epigrid.core.models import OrgLevel, User
from epigrid.core.roles import Role
from epigrid.core.tests.factories import TEST_PASSWORD, PersonFactory, UserFactory, square
from epigrid.simulation.benchkit import CHROMIUM, CHROMIUM_ARGS

# Accounts scoped below the district; the rest are district-wide, as in the demo.
GRID_ROLES = {Role.GRID_WORKER, Role.GRID_LEADER}
COMMUNITY_ROLES = {Role.COMMUNITY_OFFICER}


@pytest.fixture(autouse=True)
def _english_outside_requests() -> Iterator[None]:
    # Service-level assertions read English messages; requests still get the site's default (zh-Hans)
    # from LocaleMiddleware, which page tests check through the catalogue.
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _seeded_rules_in_transactional_tests(request) -> None:
    # Transactional tests (live server, browser) flush every table afterwards, including the disease
    # profiles and policies that the data migrations seeded; put them back, as on any real database.
    marker = request.node.get_closest_marker("django_db")
    transactional_marker = marker is not None and marker.kwargs.get("transaction", False)
    if (
        transactional_marker
        or "transactional_db" in request.fixturenames
        or "live_server" in request.fixturenames
    ):
        request.getfixturevalue("transactional_db")
        from epigrid.core.models import DiseaseProfile, PolicyVersion
        from epigrid.core.seeding import seed_diseases
        from epigrid.healthcode.models import RuleSet
        from epigrid.healthcode.seeding import seed_rule_sets

        seed_diseases(DiseaseProfile, PolicyVersion)
        if seed_rule_sets(RuleSet, PolicyVersion):
            RuleSet.objects.update(activated_at=timezone.now())


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    # PBKDF2's deliberate slowness would dominate tests that create an account per role.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_process_caches() -> Iterator[None]:
    # Process-wide caches (keys, policies, tokens, venues) must not carry rows of a rolled-back test,
    # whose primary keys the next test reuses.
    from epigrid.core import geo, signing, ttlcache
    from epigrid.core.selectors import policy_cache_clear

    clears = (signing.keys.clear, policy_cache_clear, ttlcache.clear_all, geo.invalidate)
    for clear in clears:
        clear()
    yield
    for clear in clears:
        clear()


@pytest.fixture
def jurisdiction(db) -> SimpleNamespace:
    """District 370699 with two streets, each with one community holding one grid (A and B)."""
    district = services.orgunit_create(
        actor=None, code="370699", level=OrgLevel.DISTRICT, name="测试区", boundary=square(37.50, 121.20, 0.1)
    )
    units = {"district": district}
    for key, street_no, lat in (("a", "001", 37.50), ("b", "002", 37.55)):
        street = services.orgunit_create(
            actor=None,
            code=f"370699{street_no}",
            level=OrgLevel.STREET,
            name=f"{key.upper()}街道",
            parent=district,
            boundary=square(lat, 121.20, 0.05),
        )
        community = services.orgunit_create(
            actor=None,
            code=f"{street.code}001",
            level=OrgLevel.COMMUNITY,
            name=f"{key.upper()}社区",
            parent=street,
            boundary=square(lat, 121.20, 0.05),
        )
        grid = services.orgunit_create(
            actor=None,
            code=f"{community.code}001",
            level=OrgLevel.GRID,
            name=f"{key.upper()}网格",
            parent=community,
            boundary=square(lat, 121.20, 0.05),
            centroid=(lat + 0.025, 121.225),
        )
        units.update({f"street_{key}": street, f"community_{key}": community, f"grid_{key}": grid})
    return SimpleNamespace(**units)


@pytest.fixture
def person_a(jurisdiction) -> object:
    return PersonFactory(grid=jurisdiction.grid_a)


@pytest.fixture
def person_b(jurisdiction) -> object:
    return PersonFactory(grid=jurisdiction.grid_b)


@pytest.fixture
def users(jurisdiction, person_a) -> dict[str, User]:
    """One account per role, named after the role. Grid roles sit in grid A, the community officer in
    community A, the resident is person A; everybody else covers the district."""
    made = {}
    for role in Role:
        if role == Role.RESIDENT:
            made[role.value] = UserFactory(username="resident", role=role, person=person_a)
            continue
        unit = jurisdiction.district
        if role in GRID_ROLES:
            unit = jurisdiction.grid_a
        elif role in COMMUNITY_ROLES:
            unit = jurisdiction.community_a
        made[role.value] = UserFactory(username=role.value, role=role, org_unit=unit)
    return made


@pytest.fixture
def api_client() -> Callable[[User | None], Client]:
    """``api_client(user)``: a test client that sends that user's bearer token (None: anonymous)."""

    def make(user: User | None) -> Client:
        if user is None:
            return Client()
        token = services.api_token_issue(username=user.username, password=TEST_PASSWORD)
        return Client(headers={"Authorization": f"Bearer {token}"})

    return make


@pytest.fixture
def login_client() -> Callable[[User], Client]:
    """``login_client(user)``: a test client with a logged-in session."""

    def make(user: User) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Debian's chromium driven by Playwright. Skips only where chromium is not installed at all."""
    if not shutil.which(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed (.ci/run installs Debian's chromium)")
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield instance
        instance.close()


@pytest.fixture
def page(browser, live_server) -> Iterator[object]:
    context = browser.new_context(base_url=live_server.url, locale="zh-CN", timezone_id="Asia/Shanghai")
    pg = context.new_page()
    pg.set_default_timeout(10_000)
    yield pg
    context.close()


@pytest.fixture
def phone_page(browser, live_server) -> Iterator[object]:
    """A phone-sized page (390x844, touch) for the mobile pages."""
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
    )
    pg = context.new_page()
    pg.set_default_timeout(10_000)
    yield pg
    context.close()
