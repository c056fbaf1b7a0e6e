"""The resident's pages: the portal's home with live facts, my check-ins, my household."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.translation import get_language
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from epigrid.core.htmx import paginate, render_page
from epigrid.portal import selectors
from epigrid.portal.views.common import resident_page

CHECKINS_PER_PAGE = 20


@never_cache
@resident_page
@require_GET
def portal_home(request: HttpRequest) -> HttpResponse:
    """Tiles: health code, tests and recalls, vaccinations, arrival report, check-ins, household,
    announcements and questions, messages, my data. A resident without a registered person gets the links."""
    facts = selectors.home_facts(actor=request.user) if request.user.person_id else None
    chinese = (get_language() or "").startswith("zh")
    vaccination = [
        {
            "disease": s.disease.name_zh if chinese else s.disease.name_en,
            "doses": s.doses,
            "series_complete": s.series_complete,
        }
        for s in (facts.statuses if facts else [])
    ]
    return render_page(request, "portal/home.html", {"facts": facts, "vaccination": vaccination})


@never_cache
@resident_page
@require_GET
def checkins(request: HttpRequest) -> HttpResponse:
    selectors.own_person(actor=request.user)
    page = paginate(request, selectors.my_checkins(actor=request.user), per_page=CHECKINS_PER_PAGE)
    context = {"page": page, "retention_days": selectors.checkin_retention_days()}
    return render_page(request, "portal/checkins.html", context)


@never_cache
@resident_page
@require_GET
def household(request: HttpRequest) -> HttpResponse:
    return render_page(
        request, "portal/household.html", {"view": selectors.household_view(actor=request.user)}
    )


@never_cache
@resident_page
@require_GET
def household_member(request: HttpRequest, pk: int) -> HttpResponse:
    """One member's card; a person outside the resident's household is a 404."""
    member = selectors.household_member(actor=request.user, pk=pk)
    return render_page(request, "portal/household_member.html", {"member": member})
