"""Clerical review of uncertain matches: the queue of rows waiting in the clerk's area (oldest list first, with
counts per list), and one row beside each of its candidates — masked name, document and phone, birth date,
address, grid, the match probability and which fields agree (worked out from the full values on the server,
shown only as verdicts) — with "this person" per candidate, another person of the area found by document
number, and "none of these"; then on to the next row.

Looking needs ``comparison.view``; deciding needs ``comparison.review`` (the 403 page otherwise). Reads go
through ``comparison.selectors`` (out of scope answers 404), decisions through
``services.linkage.review_decide``, whose refusals are shown on the page (400).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from epigrid.comparison import matching, selectors
from epigrid.comparison.models import ListRow, RowStatus
from epigrid.comparison.services import linkage
from epigrid.core import selectors as core_selectors
from epigrid.core import services as core_services
from epigrid.core.errors import DomainError, Forbidden
from epigrid.core.htmx import paginate, query_without_page, render_page, staff_page
from epigrid.core.identity import IdType
from epigrid.core.masking import mask_name
from epigrid.core.models import Person, User
from epigrid.core.roles import Perm, has_perm
from epigrid.core.scope import in_scope_code

VERDICTS = {
    matching.AGREE: gettext_lazy("agrees"),
    matching.CLOSE: gettext_lazy("nearly"),
    matching.DIFFER: gettext_lazy("differs"),
    matching.MISSING: gettext_lazy("not known"),
}
FIELDS = (
    ("name", gettext_lazy("Name")),
    ("document", gettext_lazy("Document number")),
    ("birth_date", gettext_lazy("Birth date")),
    ("sex", gettext_lazy("Sex")),
    ("phone", gettext_lazy("Phone")),
    ("address", gettext_lazy("Address")),
)
FIND_TYPES = [t for t in IdType.choices if t[0] != IdType.PROVISIONAL]


@never_cache
@staff_page(Perm.COMPARISON_VIEW)
@require_GET
def review_queue(request: HttpRequest) -> HttpResponse:
    """The rows waiting for a decision in the actor's area, oldest list first."""
    user: User = request.user
    rows = selectors.review_rows(actor=user)
    per_list = selectors.review_counts(actor=user)
    page = paginate(request, rows)
    page.object_list = list(page.object_list)
    for row in page.object_list:
        row.name_masked = mask_name(row.name)
    context = {
        "page": page,
        "query": query_without_page(request),
        "per_list": per_list,
        "waiting": sum(item["waiting"] for item in per_list),
        "can_review": has_perm(user, Perm.COMPARISON_REVIEW),
        "first": rows.first(),
    }
    return render_page(request, "comparison/review.html", context, partial="rows")


def _candidate(
    row: ListRow, person: Person, probability: float | None, *, found: bool = False
) -> dict[str, Any]:
    verdicts = matching.agreement(
        row_name=row.name,
        row_birth=row.birth_date,
        row_sex=row.sex,
        row_phone=row.phone,
        row_document=(row.id_type, row.id_number),
        row_address=row.address,
        person=person,
    )
    return {
        "person": person,
        "probability": probability,
        "percent": None if probability is None else round(probability * 100, 1),
        "found": found,
        "fields": [(key, label, verdicts[key], VERDICTS[verdicts[key]]) for key, label in FIELDS],
        "agree": sum(1 for v in verdicts.values() if v == matching.AGREE),
    }


def _candidates(row: ListRow, user: User) -> list[dict[str, Any]]:
    """The row's candidates the clerk may see (a person outside their area could not be chosen anyway)."""
    pairs = [(int(pid), float(p)) for pid, p in (row.candidates or [])]
    persons = (
        core_selectors.person_list(actor=user).select_related("grid").in_bulk([pid for pid, _p in pairs])
    )
    return [_candidate(row, persons[pid], p) for pid, p in pairs if pid in persons]


def _page(request: HttpRequest, row: ListRow, *, status: int = 200, **extra: Any) -> HttpResponse:
    user: User = request.user
    candidates = _candidates(row, user)
    found = extra.pop("found", None)
    if found is not None and all(c["person"].pk != found.pk for c in candidates):
        candidates.append(_candidate(row, found, None, found=True))
    context = {
        "row": row,
        "row_name": mask_name(row.name),
        "candidates": candidates,
        "fields": FIELDS,
        "can_review": has_perm(user, Perm.COMPARISON_REVIEW) and row.status == RowStatus.REVIEW,
        "find_types": FIND_TYPES,
        "find_type": extra.pop("find_type", IdType.RESIDENT),
        "waiting": selectors.review_rows(actor=user).count(),
        "error": "",
        "find_error": "",
        **extra,
    }
    return render_page(request, "comparison/review_row.html", context, status=status)


def _find(request: HttpRequest, row: ListRow) -> HttpResponse:
    """Another person of the area, by document number (typed, never put in the address bar)."""
    user: User = request.user
    id_type = request.POST.get("id_type", IdType.RESIDENT)
    if id_type not in dict(FIND_TYPES):
        id_type = IdType.RESIDENT
    number = request.POST.get("id_number", "").strip()
    try:
        person = core_services.person_find_by_document(id_type=id_type, id_number=number) if number else None
    except DomainError as err:
        return _page(request, row, status=400, find_error=err.message, find_type=id_type)
    if person is None or not in_scope_code(user, person.org_code):
        return _page(
            request,
            row,
            status=404,
            find_error=_("Nobody with this document number in your area."),
            find_type=id_type,
        )
    return _page(request, row, found=person, find_type=id_type)


@never_cache
@staff_page(Perm.COMPARISON_VIEW)
@require_http_methods(["GET", "POST"])
def review_row(request: HttpRequest, pk: int) -> HttpResponse:
    """One row beside its candidates; reviewers pick the person, or none of them."""
    user: User = request.user
    row = selectors.review_row_get(actor=user, pk=pk)  # 404 out of scope
    if request.method == "GET":
        return _page(request, row)
    if not has_perm(user, Perm.COMPARISON_REVIEW):
        raise PermissionDenied(_("Your role may not open this page."))
    action = request.POST.get("action", "")
    if action == "find":
        return _find(request, row)
    person = None
    if action == "choose":
        try:
            person = (
                core_selectors.person_list(actor=user).filter(pk=int(request.POST.get("person", ""))).first()
            )
        except ValueError:
            person = None
        if person is None:
            return _page(request, row, status=400, error=_("Choose a person."))
    elif action != "none":
        return _page(request, row, status=400, error=_("Choose a person, or none of them."))
    try:
        linkage.review_decide(actor=user, row=row, person=person)
    except Forbidden as err:
        raise PermissionDenied(err.message) from None
    except DomainError as err:
        row = selectors.review_row_get(actor=user, pk=pk)
        return _page(request, row, status=400, error=err.message)
    if person is None:
        messages.success(
            request,
            _("Row %(n)d: a new person, %(name)s.") % {"n": row.row_number, "name": mask_name(row.name)},
        )
    else:
        messages.success(
            request,
            _("Row %(n)d is %(name)s (%(document)s).")
            % {"n": row.row_number, "name": person.name_masked, "document": person.id_number_masked},
        )
    following = selectors.review_next(actor=user, after=row)
    if following is not None:
        return redirect("comparison:review_row", pk=following.pk)
    return redirect("comparison:review")
