"""My data: the download of everything held about me, and my requests to correct it."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from epigrid.core.errors import DomainError
from epigrid.core.htmx import render_page
from epigrid.portal import selectors
from epigrid.portal.forms import CorrectionForm
from epigrid.portal.services.corrections import correction_request
from epigrid.portal.services.mydata import my_data_export
from epigrid.portal.views.common import resident_page

TEMPLATE = "portal/data.html"


def _page(
    request: HttpRequest, *, form: CorrectionForm | None = None, status: int = 200, **extra
) -> HttpResponse:
    person = selectors.own_person(actor=request.user)
    context = {
        "person": person,
        "form": form or CorrectionForm(),
        "requests": list(selectors.my_corrections(actor=request.user)[:50]),
        **extra,
    }
    return render_page(request, TEMPLATE, context, status=status)


@never_cache
@resident_page
@require_http_methods(["GET", "POST"])
def my_data(request: HttpRequest) -> HttpResponse:
    """The page (GET); a correction request (POST) — on success back to the page with the request listed."""
    if request.method == "GET":
        return _page(request)
    form = CorrectionForm(request.POST)
    if not form.is_valid():
        return _page(request, form=form, status=400)
    try:
        correction_request(actor=request.user, **form.cleaned_data)
    except DomainError as err:
        form.add_error(err.field if err.field in form.fields else None, err.message)
        return _page(request, form=form, status=err.status if err.status != 403 else 400)
    messages.success(request, _("Your request was sent. Your community answers it in your messages."))
    return redirect("portal:data")


@never_cache
@resident_page
@require_POST
def my_data_download(request: HttpRequest) -> HttpResponse:
    try:
        content = my_data_export(actor=request.user)
    except DomainError as err:
        return _page(request, status=err.status, download_error=err.message)
    name = f"epigrid-my-data-{timezone.localdate():%Y%m%d}.zip"
    response = HttpResponse(content, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response
