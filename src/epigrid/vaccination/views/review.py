"""Review of doses that residents report from elsewhere: the queue in scope (pending first, or by status), one
report with its certificate photo, and verify / reject-with-a-reason.

Looking needs ``vaccination.view``; acting needs ``vaccination.record`` (the 403 page otherwise). Reads go
through ``vaccination.selectors`` (out of scope answers 404, the certificate too), writes through
``vaccination.services.doses``, whose refusals are shown on the page (400).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from epigrid.core.errors import DomainError, Forbidden
from epigrid.core.htmx import paginate, query_without_page, render_page, require_perm, staff_page
from epigrid.core.models import User
from epigrid.core.roles import Perm, has_perm
from epigrid.vaccination import selectors
from epigrid.vaccination.forms import RejectForm
from epigrid.vaccination.models import SelfReport, SelfReportStatus
from epigrid.vaccination.services import doses

ALL = "all"


@never_cache
@staff_page(Perm.VACCINATION_VIEW)
@require_GET
def self_reports(request: HttpRequest) -> HttpResponse:
    """The reports in scope: waiting ones oldest first (the queue), reviewed ones latest first."""
    user: User = request.user
    status = request.GET.get("status", SelfReportStatus.PENDING)
    if status not in (*SelfReportStatus.values, ALL):
        status = SelfReportStatus.PENDING
    reports = selectors.self_report_list(actor=user, status="" if status == ALL else status)
    if status != SelfReportStatus.PENDING:
        reports = reports.order_by("-submitted_at", "-pk")
    tabs = [
        (value, label, selectors.self_report_list(actor=user, status=value).count())
        for value, label in SelfReportStatus.choices
    ]
    context = {
        "status": status,
        "tabs": tabs,
        "page": paginate(request, reports),
        "query": query_without_page(request),
    }
    return render_page(request, "vaccination/self_reports.html", context, partial="rows")


def _detail_page(
    request: HttpRequest, report: SelfReport, *, status: int = 200, **extra: Any
) -> HttpResponse:
    user: User = request.user
    doses_known = list(
        selectors.dose_list(actor=user)
        .filter(person_id=report.person_id, disease_id=report.vaccine.disease_id)
        .order_by("given_at")
    )
    context = {
        "report": report,
        "person": report.person,
        "doses": doses_known,
        "same_day": any(d.given_on == report.given_on for d in doses_known),
        "can_review": has_perm(user, Perm.VACCINATION_RECORD) and report.status == SelfReportStatus.PENDING,
        "reject_form": extra.pop("reject_form", None) or RejectForm(),
        "error": "",
        **extra,
    }
    return render_page(request, "vaccination/self_report_detail.html", context, status=status)


def _next_pending(user: User, after: SelfReport) -> SelfReport | None:
    return selectors.self_report_list(actor=user).exclude(pk=after.pk).first()


@never_cache
@staff_page(Perm.VACCINATION_VIEW)
@require_http_methods(["GET", "POST"])
def self_report_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One report with its certificate; reviewers verify it (the dose joins the record) or reject it."""
    user: User = request.user
    report = selectors.self_report_get(actor=user, pk=pk)  # 404 out of scope
    if request.method == "GET":
        return _detail_page(request, report)
    require_perm(user, Perm.VACCINATION_RECORD)
    action = request.POST.get("action", "")
    reject_form = RejectForm(request.POST if action == "reject" else None)
    try:
        if action == "verify":
            dose = doses.self_report_verify(actor=user, report=report)
            messages.success(
                request,
                _("Verified: %(vaccine)s of %(day)s is now dose %(n)d of %(name)s.")
                % {
                    "vaccine": report.vaccine.name,
                    "day": report.given_on.isoformat(),
                    "n": dose.dose_number,
                    "name": report.person.name_masked,
                },
            )
        elif action == "reject" and reject_form.is_valid():
            doses.self_report_reject(actor=user, report=report, reason=reject_form.cleaned_data["reason"])
            messages.success(
                request,
                _("Rejected: %(name)s is told the reason.") % {"name": report.person.name_masked},
            )
        else:
            return _detail_page(request, report, status=400, reject_form=reject_form)
    except Forbidden as err:
        raise PermissionDenied(err.message) from None
    except DomainError as err:
        report.refresh_from_db()
        return _detail_page(request, report, status=400, reject_form=reject_form, error=err.message)
    following = _next_pending(user, report)
    if following is not None:
        return redirect("vaccination:self_report_detail", pk=following.pk)
    return redirect("vaccination:self_reports")


@never_cache
@staff_page(Perm.VACCINATION_VIEW)
@require_GET
def self_report_certificate(request: HttpRequest, pk: int) -> HttpResponse:
    """The certificate photo as stored (a JPEG re-encoded from the upload), for the people in scope only."""
    report = selectors.self_report_get(actor=request.user, pk=pk)  # 404 out of scope
    response = HttpResponse(bytes(report.certificate), content_type="image/jpeg")
    response["Content-Disposition"] = f'inline; filename="self-report-{report.pk}.jpg"'
    response["X-Content-Type-Options"] = "nosniff"
    return response
