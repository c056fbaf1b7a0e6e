"""Correction requests: the staff queue (person.edit, in their area) and one request — decided by staff,
read by the resident who sent it. Out of scope is a 404 like a missing request."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from epigrid.core.errors import DomainError, Forbidden
from epigrid.core.htmx import paginate, query_without_page, render_page, require_perm, staff_page
from epigrid.core.roles import Perm, has_perm, is_staff_role
from epigrid.portal import selectors
from epigrid.portal.forms import DecisionForm
from epigrid.portal.models import CorrectionStatus
from epigrid.portal.services.corrections import correction_decide

STATUSES = ("open", "done", "refused", "")


@staff_page(Perm.PERSON_EDIT)
@require_GET
def correction_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", CorrectionStatus.OPEN)
    status = status if status in STATUSES else CorrectionStatus.OPEN
    page = paginate(request, selectors.correction_queue(actor=request.user, status=status))
    context = {
        "page": page,
        "status": status,
        "statuses": [(value, label) for value, label in CorrectionStatus.choices],
        "query": query_without_page(request),
    }
    return render_page(request, "portal/corrections.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def correction_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    if is_staff_role(user.role):
        require_perm(user, Perm.PERSON_EDIT)
    item = selectors.correction_get(actor=user, pk=pk)
    can_decide = has_perm(user, Perm.PERSON_EDIT) and item.status == CorrectionStatus.OPEN
    form = DecisionForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if not can_decide:
            raise PermissionDenied(_("Your role may not do this."))
        if form.is_valid():
            try:
                correction_decide(
                    actor=user,
                    request=item,
                    done=form.cleaned_data["decision"] == "done",
                    note=form.cleaned_data["note"],
                )
            except Forbidden as err:
                raise PermissionDenied(err.message) from None
            except DomainError as err:
                form.add_error(err.field if err.field in form.fields else None, err.message)
                status = err.status
            else:
                messages.success(request, _("The decision was saved and the resident was told."))
                return redirect("portal:corrections")
        else:
            status = 400
    context = {
        "item": item,
        "requested": selectors.requested_value_shown(actor=user, request=item),
        "form": form,
        "can_decide": can_decide,
        "is_staff": is_staff_role(user.role),
    }
    return render_page(request, "portal/correction_detail.html", context, status=status)
