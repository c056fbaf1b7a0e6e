"""The staff's FAQ pages (publicity.edit): the entries by category with publish toggles and order buttons,
a new entry, an entry's edit form. Reads through ``selectors_consult`` (scoped: another unit's entry is a
404), writes through ``services.faq``; a refusal is shown on the form and nothing is stored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from epigrid.core.errors import DomainError, Forbidden
from epigrid.core.htmx import render_page, staff_page
from epigrid.core.roles import Perm
from epigrid.publicity import selectors_consult
from epigrid.publicity.models import Category, Faq
from epigrid.publicity.sanitize import clean_html
from epigrid.publicity.services import faq as services


class FaqForm(forms.Form):
    question = forms.CharField(label=gettext_lazy("Question"), max_length=services.QUESTION_MAX)
    category = forms.ChoiceField(label=gettext_lazy("Category"), choices=Category.choices)
    answer = forms.CharField(
        label=gettext_lazy("Answer"),
        max_length=services.ANSWER_MAX,
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text=gettext_lazy(
            "Plain text (an empty line starts a new paragraph) or simple HTML: paragraphs, lists, bold, links."
        ),
    )
    published = forms.BooleanField(
        label=gettext_lazy("Published (shown on the consultation page and answered from)"),
        required=False,
        initial=True,
    )


def _attempt(action: Callable[[], Any], form: forms.Form | None = None) -> tuple[Any, str]:
    """Run a service call: a refusal is the 403 page; another domain error comes back as its message (and on
    ``form``, on the field it names)."""
    try:
        return action(), ""
    except Forbidden as err:
        raise PermissionDenied(err.message) from None
    except DomainError as err:
        if form is not None:
            form.add_error(err.field if err.field in form.fields else None, err.message)
        return None, err.message


@staff_page(Perm.PUBLICITY_EDIT)
def faq_list(request: HttpRequest) -> HttpResponse:
    category = request.GET.get("category", "")
    if category not in Category.values:
        category = ""
    entries = list(selectors_consult.faq_list(actor=request.user, category=category))
    sections = []
    for value, label in Category.choices:
        group = [faq for faq in entries if faq.category == value]
        if group:
            sections.append({"category": value, "label": label, "entries": group})
    context = {
        "sections": sections,
        "category": category,
        "categories": Category.choices,
        "count": len(entries),
        "published": sum(1 for faq in entries if faq.published),
    }
    return render_page(request, "publicity/faq_list.html", context)


def _form_page(request: HttpRequest, form: FaqForm, faq: Faq | None, status: int = 200) -> HttpResponse:
    return render_page(
        request,
        "publicity/faq_form.html",
        {"form": form, "faq": faq, "preview": clean_html(faq.answer_html) if faq else ""},
        status=status,
    )


@staff_page(Perm.PUBLICITY_EDIT)
@require_http_methods(["GET", "POST"])
def faq_new(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _form_page(request, FaqForm(initial={"category": request.GET.get("category", "")}), None)
    form = FaqForm(request.POST)
    if not form.is_valid():
        return _form_page(request, form, None, status=400)
    data = form.cleaned_data
    made, _error = _attempt(
        lambda: services.faq_create(
            actor=request.user,
            question=data["question"],
            answer=data["answer"],
            category=data["category"],
            published=data["published"],
        ),
        form,
    )
    if made is None:
        return _form_page(request, form, None, status=400)
    messages.success(request, _("The entry was saved."))
    return redirect(f"{reverse('publicity:faq')}#faq-{made.pk}")


@staff_page(Perm.PUBLICITY_EDIT)
@require_http_methods(["GET", "POST"])
def faq_edit(request: HttpRequest, pk: int) -> HttpResponse:
    faq = selectors_consult.faq_get(actor=request.user, pk=pk)
    if request.method == "GET":
        initial = {
            "question": faq.question,
            "category": faq.category,
            "answer": faq.answer_html,
            "published": faq.published,
        }
        return _form_page(request, FaqForm(initial=initial), faq)
    form = FaqForm(request.POST)
    if not form.is_valid():
        return _form_page(request, form, faq, status=400)
    data = form.cleaned_data

    def save() -> Faq:
        services.faq_update(
            actor=request.user,
            faq=faq,
            question=data["question"],
            answer=data["answer"],
            category=data["category"],
        )
        change = services.faq_publish if data["published"] else services.faq_unpublish
        return change(actor=request.user, faq=faq)

    saved, _error = _attempt(save, form)
    if saved is None:
        return _form_page(request, form, faq, status=400)
    messages.success(request, _("The entry was saved."))
    return redirect(f"{reverse('publicity:faq')}#faq-{faq.pk}")


ACTIONS = {
    "publish": lambda actor, faq: services.faq_publish(actor=actor, faq=faq),
    "unpublish": lambda actor, faq: services.faq_unpublish(actor=actor, faq=faq),
    "up": lambda actor, faq: services.faq_move(actor=actor, faq=faq, up=True),
    "down": lambda actor, faq: services.faq_move(actor=actor, faq=faq, up=False),
}


@staff_page(Perm.PUBLICITY_EDIT)
@require_POST
def faq_act(request: HttpRequest, pk: int) -> HttpResponse:
    """The list's buttons: publish, unpublish, move up or down."""
    faq = selectors_consult.faq_get(actor=request.user, pk=pk)
    action = ACTIONS.get(request.POST.get("action", ""))
    if action is None:
        messages.error(request, _("Unknown action."))
    else:
        _done, error = _attempt(lambda: action(request.user, faq))
        if error:
            messages.error(request, error)
    return redirect(f"{reverse('publicity:faq')}#faq-{faq.pk}")
