"""Pages of nucleic-acid testing: the sampler's station (phone), the lab, the archive, a resident's results.

The station is a thin page over the JSON API (contracts.md): its script (static/epigrid/sampler.js) keeps a
queue of requests in localStorage, each specimen with its client UUID, so a network drop loses nothing and a
replay duplicates nothing. The lab and archive pages are ordinary forms over ``testing.services``; reads go
through ``testing.selectors``. A service's ``Forbidden`` becomes the 403 page, any other ``DomainError`` a
message on the page.
"""

from __future__ import annotations

import base64
import secrets
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from epigrid.core import selectors as core_selectors
from epigrid.core.errors import DomainError, Forbidden
from epigrid.core.htmx import render_page, staff_page
from epigrid.core.models import OrgLevel
from epigrid.core.roles import Perm
from epigrid.core.scope import scoped
from epigrid.testing import selectors, services
from epigrid.testing.forms import (
    BoxPackForm,
    BoxReceiveForm,
    ResultLinesForm,
    RoundForm,
    SheetMappingForm,
    SheetUploadForm,
)
from epigrid.testing.handover import handover_sheet_pdf
from epigrid.testing.models import POOL_SIZES, TestingRound

_SHEET_SESSION = "epigrid.testing.sheet"
SHEET_PREVIEW_ROWS = 5
PENDING_SHOWN = 500


def _positivity() -> dict[str, Any]:
    p, persons = selectors.recent_positivity()
    return {
        "positivity": p,
        "positivity_percent": round(p * 100, 2),
        "positivity_persons": persons,
        "recommended_pool": selectors.recommend_pool_size(p),
    }


# --- the sampler's station ------------------------------------------------------------------------


@never_cache
@staff_page(Perm.TESTING_SAMPLE)
@require_GET
def station(request: HttpRequest) -> HttpResponse:
    """One-handed phone page: open a tube, add people (ID-card photo, health code, typing), seal."""
    context = {
        **_positivity(),
        "pool_sizes": POOL_SIZES,
        "api": {
            "tubes": "/api/v1/testing/tubes",
            "ocr": "/api/v1/ocr/id-card",
        },
    }
    return render_page(request, "testing/station.html", context)


# --- handover to transport ------------------------------------------------------------------------


@never_cache
@staff_page(Perm.TESTING_SAMPLE)
@require_http_methods(["GET", "POST"])
def handover(request: HttpRequest) -> HttpResponse:
    """Sealed tubes scanned into a box handed over to a courier; the printable handover sheet follows."""
    form = BoxPackForm(request.POST or None)
    status = 200
    error = ""
    if request.method == "POST":
        if form.is_valid():
            try:
                box = services.box_pack(
                    actor=request.user,
                    code=form.cleaned_data["code"],
                    barcodes=form.cleaned_data["barcodes"],
                    courier=form.cleaned_data["courier"],
                )
            except Forbidden as err:
                raise PermissionDenied(err.message) from None
            except DomainError as err:
                error, status = err.message, 400
            else:
                return redirect("testing:box", code=box.code)
        else:
            status = 400
    boxes = list(selectors.box_list(actor=request.user).annotate(tube_count=Count("tubes"))[:50])
    context = {"form": form, "error": error, "boxes": boxes}
    return render_page(request, "testing/handover.html", context, status=status)


def _box(request: HttpRequest, code: str):
    box = selectors.box_by_code(actor=request.user, code=code)
    if box is None:
        raise Http404
    return box


@never_cache
@staff_page(any_of=(Perm.TESTING_SAMPLE, Perm.TESTING_LAB))
@require_GET
def box_detail(request: HttpRequest, code: str) -> HttpResponse:
    """One box's handover record (who, when, courier, tubes) and, once the lab scanned it, its receipt."""
    box = _box(request, code)
    tubes = list(box.tubes.annotate(swabs=Count("specimens")).order_by("barcode"))
    context = {"box": box, "tubes": tubes, "swabs": sum(t.swabs for t in tubes)}
    return render_page(request, "testing/box.html", context)


@never_cache
@staff_page(any_of=(Perm.TESTING_SAMPLE, Perm.TESTING_LAB))
@require_GET
def box_sheet(request: HttpRequest, code: str) -> HttpResponse:
    """The printable handover sheet (PDF) that travels with the box."""
    box = _box(request, code)
    response = HttpResponse(handover_sheet_pdf(box), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="handover-{box.code}.pdf"'
    return response


# --- the lab --------------------------------------------------------------------------------------


def _outcomes(outcomes: list) -> dict[str, Any]:
    return {
        "outcomes": outcomes,
        "outcomes_ok": sum(1 for o in outcomes if o.ok),
        "outcomes_failed": sum(1 for o in outcomes if not o.ok),
    }


def _stash_sheet(request: HttpRequest, name: str, content: bytes) -> str:
    key = secrets.token_urlsafe(8)
    request.session[_SHEET_SESSION] = {
        "key": key,
        "name": name,
        "content": base64.b64encode(content).decode("ascii"),
    }
    return key


def _stashed_sheet(request: HttpRequest, key: str) -> tuple[str, bytes] | None:
    stash = request.session.get(_SHEET_SESSION)
    if not isinstance(stash, dict) or not key or stash.get("key") != key:
        return None
    return stash["name"], base64.b64decode(stash["content"])


def _header(rows: list[dict]) -> list[str]:
    return [str(h) for h in rows[0]] if rows else []


def _preview(rows: list[dict], header: list[str]) -> list[list[str]]:
    return [["" if r.get(h) is None else str(r.get(h)) for h in header] for r in rows[:SHEET_PREVIEW_ROWS]]


@never_cache
@staff_page(Perm.TESTING_LAB)
@require_http_methods(["GET", "POST"])
def lab(request: HttpRequest) -> HttpResponse:
    """Receive boxes; enter results typed or from a lab sheet with a column-mapping step."""
    action = request.POST.get("action", "") if request.method == "POST" else ""
    box_form = BoxReceiveForm(request.POST if action == "receive" else None, prefix="box")
    lines_form = ResultLinesForm(request.POST if action == "lines" else None, prefix="res")
    upload_form = SheetUploadForm(
        request.POST if action == "upload" else None, request.FILES if action == "upload" else None
    )
    context: dict[str, Any] = {"active": action or "receive"}
    status = 200
    try:
        if action == "receive" and box_form.is_valid():
            code = box_form.cleaned_data["box"].strip()
            box = selectors.box_by_code(actor=request.user, code=code)
            if box is None:
                box_form.add_error("box", _("Unknown box %(c)s.") % {"c": code})
            else:
                box = services.box_receive(
                    actor=request.user, box=box, scanned=box_form.cleaned_data["scanned"]
                )
                context["received"] = {
                    "box": box,
                    "count": box.tubes.filter(received_at__isnull=False).count(),
                    "packed": box.tubes.count(),
                }
                box_form = BoxReceiveForm(prefix="box")
        elif action == "lines" and lines_form.is_valid():
            context.update(
                _outcomes(services.results_submit(actor=request.user, rows=lines_form.cleaned_data["lines"]))
            )
            lines_form = ResultLinesForm(prefix="res")
        elif action in ("confirm", "reject"):
            # Dual confirmation: the ticked pending results become final, or are dropped.
            barcodes = request.POST.getlist("tubes")
            if action == "confirm":
                outcomes = services.results_confirm(actor=request.user, barcodes=barcodes)
            else:
                outcomes = services.results_reject(
                    actor=request.user, barcodes=barcodes, reason=request.POST.get("reason", "")
                )
            context.update(_outcomes(outcomes))
        elif action == "upload" and upload_form.is_valid():
            upload = upload_form.cleaned_data["sheet"]
            content = upload.read()
            rows = services.read_sheet(filename=upload.name, content=content)
            header = _header(rows)
            if not rows or not any(header):
                upload_form.add_error("sheet", _("The sheet has no header row or no rows."))
            else:
                context.update(
                    sheet_key=_stash_sheet(request, upload.name, content),
                    sheet_name=upload.name,
                    sheet_rows=len(rows),
                    header=header,
                    preview=_preview(rows, header),
                    mapping_form=SheetMappingForm(header=header),
                )
        elif action == "map":
            stashed = _stashed_sheet(request, request.POST.get("sheet_key", ""))
            if stashed is None:
                context["error"] = _("The uploaded sheet is gone; upload it again.")
                status = 400
            else:
                name, content = stashed
                rows = services.read_sheet(filename=name, content=content)
                header = _header(rows)
                mapping_form = SheetMappingForm(request.POST, header=header)
                if mapping_form.is_valid():
                    context.update(
                        _outcomes(
                            services.results_import(
                                actor=request.user, rows=rows, mapping=mapping_form.mapping()
                            )
                        )
                    )
                    request.session.pop(_SHEET_SESSION, None)
                else:
                    status = 400
                    context.update(
                        sheet_key=request.POST.get("sheet_key", ""),
                        sheet_name=name,
                        sheet_rows=len(rows),
                        header=header,
                        preview=_preview(rows, header),
                        mapping_form=mapping_form,
                    )
    except Forbidden as err:
        raise PermissionDenied(err.message) from None
    except DomainError as err:
        context["error"] = err.message
        status = 400
    if action and any(f.errors for f in (box_form, lines_form, upload_form)):
        status = 400
    pending = selectors.pending_results(actor=request.user)
    context.update(
        box_form=box_form,
        lines_form=lines_form,
        upload_form=upload_form,
        dual_confirmation=services.dual_confirmation_required(),
        pending=list(pending[:PENDING_SHOWN]),
        pending_count=pending.count(),
    )
    return render_page(request, "testing/lab.html", context, status=status)


# --- the archive ----------------------------------------------------------------------------------


def _areas(user) -> list:
    levels = (OrgLevel.DISTRICT, OrgLevel.STREET, OrgLevel.COMMUNITY, OrgLevel.GRID)
    return list(core_selectors.orgunit_list(actor=user).filter(level__in=levels)[:500])


def _rounds(user):
    return scoped(TestingRound.objects.select_related("area"), user).order_by("-day", "-pk")


@never_cache
@staff_page(Perm.TESTING_VIEW)
@require_http_methods(["GET", "POST"])
def archive(request: HttpRequest) -> HttpResponse:
    """Rounds in scope with coverage and turnaround, open recalls, positivity and pool-size advice."""
    areas = _areas(request.user)
    form = RoundForm(request.POST or None, areas=areas)
    status = 200
    error = ""
    if request.method == "POST" and form.is_valid():
        area = next(u for u in areas if u.code == form.cleaned_data["area"])
        try:
            created = services.testing_round_create(
                actor=request.user, name=form.cleaned_data["name"], area=area, day=form.cleaned_data["day"]
            )
        except Forbidden as err:
            raise PermissionDenied(err.message) from None
        except DomainError as err:
            error, status = err.message, 400
        else:
            return redirect(f"{reverse('testing:archive')}?round={created.pk}")
    elif request.method == "POST":
        status = 400
    rounds = list(_rounds(request.user)[:50])
    chosen = None
    wanted = request.GET.get("round", "")
    if wanted.isdigit():
        chosen = (
            next((r for r in rounds if r.pk == int(wanted)), None)
            or _rounds(request.user).filter(pk=int(wanted)).first()
        )
    elif rounds:
        chosen = rounds[0]
    coverage = None
    not_sampled = []
    if chosen is not None:
        coverage = selectors.round_coverage(actor=request.user, testing_round=chosen)
        not_sampled = list(coverage["not_sampled"][:200])
        target = coverage["target"]
        coverage["not_sampled_count"] = target - coverage["sampled"]
        coverage["percent"] = round(100 * coverage["sampled"] / target, 1) if target else 0.0
    recalls = selectors.recall_list(actor=request.user)
    context = {
        **_positivity(),
        "form": form,
        "error": error,
        "rounds": rounds,
        "chosen": chosen,
        "coverage": coverage,
        "not_sampled": not_sampled,
        "recalls": list(recalls[:200]),
        "recall_count": recalls.count(),
        "now": timezone.now(),
    }
    return render_page(request, "testing/archive.html", context, status=status)


# --- a resident's own results ---------------------------------------------------------------------


@never_cache
@login_required
@require_GET
def my_results(request: HttpRequest) -> HttpResponse:
    """The account's own test history, newest first, with what each result means and any recall."""
    person_id = getattr(request.user, "person_id", None)
    results = selectors.person_results(person_id=person_id) if person_id else []
    recall = next((r for r in results if r.recall_due_at is not None), None)
    context = {
        "results": results,
        "recall": recall,
        "has_person": bool(person_id),
    }
    return render_page(request, "testing/my_results.html", context)
