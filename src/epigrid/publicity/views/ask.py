"""The public consultation page ``/ask/``, phone first: a question box answered with the passages of the
published policies and the FAQ that best match (words marked), the FAQ by category, and — for a signed-in
resident — the hotline form and "my questions" with their answers.

Anyone may search and read the FAQ; the search answers from what the reader may see (a resident also from
announcements addressed to their area). Asking the hotline needs a resident account with a registered
person (others get a link to sign in); a resident opens only their own questions (another's is a 404).
"""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from epigrid.core import ratelimit
from epigrid.core.errors import DomainError, Forbidden
from epigrid.core.htmx import render_page
from epigrid.core.middleware import client_ip
from epigrid.core.roles import is_staff_role
from epigrid.publicity import search, selectors_consult
from epigrid.publicity.models import Category
from epigrid.publicity.sanitize import clean_html
from epigrid.publicity.services import tickets

SEARCHES_PER_MINUTE = 60  # per address: the search is cheap, but a script should not run it in a loop
MY_TICKETS = 20


class HotlineForm(forms.Form):
    question = forms.CharField(
        label=gettext_lazy("Your question"),
        max_length=tickets.QUESTION_MAX,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": tickets.QUESTION_MAX}),
        help_text=gettext_lazy("The publicity team answers in your messages, usually within a working day."),
    )
    category = forms.ChoiceField(
        label=gettext_lazy("About"),
        required=False,
        choices=[("", gettext_lazy("(not sure)")), *Category.choices],
    )
    client_id = forms.CharField(widget=forms.HiddenInput, required=False, max_length=tickets.CLIENT_ID_MAX)


def _viewer(request: HttpRequest) -> Any:
    return request.user if request.user.is_authenticated else None


def _may_ask(request: HttpRequest) -> bool:
    user = request.user
    return bool(user.is_authenticated and not is_staff_role(user.role) and user.person_id)


def _faq_sections() -> list[dict[str, Any]]:
    entries = list(selectors_consult.faqs_public())
    return [
        {
            "category": value,
            "label": label,
            # Cleaned again on the way out, like the announcements: what an older cleaner let through is not shown.
            "entries": [{"faq": faq, "answer": clean_html(faq.answer_html)} for faq in group],
        }
        for value, label, group in selectors_consult.faqs_by_category(entries)
    ]


def _page(request: HttpRequest, *, form: HotlineForm | None = None, status: int = 200) -> HttpResponse:
    query = request.GET.get("q", "").strip()[: search.MAX_QUERY_CHARS]
    result = None
    if query:
        if ratelimit.hit("policy-search", client_ip(request), limit=SEARCHES_PER_MINUTE):
            result = search.search(query, viewer=_viewer(request))
        else:
            result = search.SearchResult(query, [], _("Too many searches from your network; wait a minute."))
            status = 429
    may_ask = _may_ask(request)
    if may_ask and form is None:
        form = HotlineForm(initial={"client_id": str(uuid.uuid4())})
    context = {
        "query": query,
        "result": result,
        "faq_sections": _faq_sections(),
        "may_ask": may_ask,
        "is_staff": request.user.is_authenticated and is_staff_role(request.user.role),
        "form": form,
        "my_tickets": list(selectors_consult.my_tickets(user=request.user)[:MY_TICKETS]) if may_ask else [],
        "login_url": f"{reverse('portal:login')}?next={reverse('announcements:ask')}",
    }
    response = render_page(request, "publicity/ask.html", context, partial="answers", status=status)
    patch_vary_headers(response, ("Cookie",))
    return response


@require_GET
def ask(request: HttpRequest) -> HttpResponse:
    """The consultation page; ``?q=`` searches (HTMX asks for the answers only)."""
    return _page(request)


@require_POST
def ask_hotline(request: HttpRequest) -> HttpResponse:
    """A resident's question to the hotline; the same form sent twice makes one ticket (its client id)."""
    if not request.user.is_authenticated:
        return redirect(f"{reverse('portal:login')}?next={reverse('announcements:ask')}")
    if not _may_ask(request):
        raise PermissionDenied(_("Only a signed-in resident may ask the hotline."))
    form = HotlineForm(request.POST)
    if not form.is_valid():
        return _page(request, form=form, status=400)
    try:
        ticket = tickets.ticket_ask(
            actor=request.user,
            question=form.cleaned_data["question"],
            category=form.cleaned_data["category"],
            client_id=form.cleaned_data["client_id"] or None,
        )
    except Forbidden as err:
        raise PermissionDenied(err.message) from None
    except DomainError as err:
        form.add_error(err.field if err.field in form.fields else None, err.message)
        return _page(request, form=form, status=err.status)
    messages.success(
        request, _("Your question was sent to the hotline; the answer will come to your messages.")
    )
    return redirect(f"{reverse('announcements:ask')}#ticket-{ticket.pk}")


def _my_ticket(request: HttpRequest, pk: int) -> Any:
    if is_staff_role(request.user.role):
        raise Http404  # staff read questions in the hotline queue
    return selectors_consult.my_ticket_get(user=request.user, pk=pk)


@login_required
@require_GET
def ticket_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One of my questions with its answer (the inbox notice links here)."""
    ticket = _my_ticket(request, pk)
    return render_page(request, "publicity/ask_ticket.html", {"ticket": ticket})


@login_required
@require_POST
def ticket_close(request: HttpRequest, pk: int) -> HttpResponse:
    """I need no (further) answer."""
    ticket = _my_ticket(request, pk)
    tickets.ticket_close(actor=request.user, ticket=ticket)
    messages.success(request, _("The question is closed."))
    return redirect("announcements:ticket", pk=ticket.pk)
