"""The hotline queue (hotline.answer): residents' questions by status with filters, one question with the
answer form, closing. Reads through ``selectors_consult`` (the askers' area: outside it a 404), writes
through ``services.tickets``; the answer goes to the asker's inbox.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from epigrid.core.errors import DomainError, Forbidden
from epigrid.core.htmx import paginate, query_without_page, render_page, staff_page
from epigrid.core.roles import Perm
from epigrid.publicity import selectors_consult
from epigrid.publicity.models import Category, HotlineTicket, TicketStatus
from epigrid.publicity.services import tickets as services

PER_PAGE = 30


class AnswerForm(forms.Form):
    answer = forms.CharField(
        label=gettext_lazy("Answer"),
        max_length=services.ANSWER_MAX,
        widget=forms.Textarea(attrs={"rows": 6, "maxlength": services.ANSWER_MAX}),
        help_text=gettext_lazy("Sent to the resident's messages as written."),
    )


@staff_page(Perm.HOTLINE_ANSWER)
@require_GET
def ticket_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", TicketStatus.OPEN)
    if status not in (*TicketStatus.values, "all"):
        status = TicketStatus.OPEN
    category = request.GET.get("category", "")
    if category not in Category.values:
        category = ""
    search = request.GET.get("q", "").strip()[:100]
    items = selectors_consult.ticket_list(
        actor=request.user, status="" if status == "all" else status, category=category, search=search
    )
    counts = {
        value: selectors_consult.ticket_list(actor=request.user, status=value).count()
        for value in TicketStatus.values
    }
    context = {
        "page": paginate(request, items, per_page=PER_PAGE),
        "query": query_without_page(request),
        "status": status,
        "category": category,
        "search": search,
        "categories": Category.choices,
        "tabs": [(value, label, counts[value]) for value, label in TicketStatus.choices],
    }
    return render_page(request, "publicity/ticket_list.html", context, partial="rows")


def _detail(
    request: HttpRequest, ticket: HotlineTicket, form: AnswerForm | None = None, status: int = 200
) -> HttpResponse:
    form = form or AnswerForm(initial={"answer": ticket.answer})
    return render_page(
        request, "publicity/ticket_detail.html", {"ticket": ticket, "form": form}, status=status
    )


@staff_page(Perm.HOTLINE_ANSWER)
@require_GET
def ticket_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, selectors_consult.ticket_get(actor=request.user, pk=pk))


@staff_page(Perm.HOTLINE_ANSWER)
@require_POST
def ticket_answer(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = selectors_consult.ticket_get(actor=request.user, pk=pk)
    form = AnswerForm(request.POST)
    if not form.is_valid():
        return _detail(request, ticket, form, status=400)
    try:
        services.ticket_answer(actor=request.user, ticket=ticket, answer=form.cleaned_data["answer"])
    except Forbidden as err:
        raise PermissionDenied(err.message) from None
    except DomainError as err:
        form.add_error(err.field if err.field in form.fields else None, err.message)
        return _detail(request, ticket, form, status=err.status)
    messages.success(request, _("The answer was sent to the resident's messages."))
    return redirect("publicity:tickets")


@staff_page(Perm.HOTLINE_ANSWER)
@require_POST
def ticket_close(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = selectors_consult.ticket_get(actor=request.user, pk=pk)
    try:
        services.ticket_close(actor=request.user, ticket=ticket)
    except Forbidden as err:
        raise PermissionDenied(err.message) from None
    messages.success(request, _("The question is closed."))
    return redirect("publicity:ticket", pk=ticket.pk)
