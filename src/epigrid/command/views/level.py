"""Switching the district's emergency response level from the command center (normal, IV ... I).

The level selects the active policy set: the health-code rule sets are chosen per level and recompute on the
``response_level.changed`` event that ``core.services.response_level_set`` publishes, and the same event is
broadcast to every open map. Here a reason is required (the history shows who switched, when and why).
The panel is the partial ``command/_response_level.html``; posted through HTMX it answers with the panel
again, otherwise it redirects back to the page it came from.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from epigrid.core import selectors as core_selectors
from epigrid.core import services as core_services
from epigrid.core.errors import DomainError, Forbidden
from epigrid.core.htmx import is_htmx, staff_page
from epigrid.core.models import ResponseLevel
from epigrid.core.roles import Perm, has_perm

PARTIAL = "command/_response_level.html"


class LevelForm(forms.Form):
    level = forms.ChoiceField(label=gettext_lazy("New level"), choices=ResponseLevel.choices)
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=300,
        widget=forms.TextInput(attrs={"maxlength": 300, "required": True}),
        help_text=gettext_lazy("Say why: everyone sees it in the history, and the change is broadcast."),
    )

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(_("Give the reason for the change."))
        return reason


def level_state(user: Any, form: LevelForm | None = None) -> dict[str, Any]:
    """The panel's content for ``user``: the level in force, when and why it was set, and the form for
    those who may switch it."""
    latest = core_selectors.response_level_history().first()
    level = ResponseLevel(latest.level if latest else ResponseLevel.NORMAL)
    can_set = has_perm(user, Perm.RESPONSE_LEVEL_SET)
    return {
        "level": level.value,
        "label": level.label,
        "since": latest.set_at if latest else None,
        "reason": latest.reason if latest else "",
        "set_by": latest.set_by if latest else None,
        "can_set": can_set,
        "form": (form or LevelForm(initial={"level": level.value})) if can_set else None,
    }


def _back(request: HttpRequest) -> str | None:
    target = request.POST.get("next", "")
    if target.split("?")[0] == reverse("command:level_set"):
        return None
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None


@staff_page(Perm.RESPONSE_LEVEL_SET)
@require_POST
def level_set(request: HttpRequest) -> HttpResponse:
    form = LevelForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            core_services.response_level_set(
                actor=request.user, level=form.cleaned_data["level"], reason=form.cleaned_data["reason"]
            )
        except Forbidden as err:
            raise PermissionDenied(err.message) from None
        except DomainError as err:
            form.add_error(None, err.message)
        else:
            if not is_htmx(request):
                label = ResponseLevel(form.cleaned_data["level"]).label
                messages.success(request, _("The response level is now: %(level)s.") % {"level": label})
                return redirect(_back(request) or "command:center")
            form, status = None, 200
    context = {
        "level_form": form,
        "level_changed": status == 200,
        "level_next": _back(request) or reverse("command:center"),
    }
    if is_htmx(request):
        return render(request, PARTIAL, context, status=status)
    # Without JavaScript: the errors on a page of their own, with the panel to try again.
    return render(request, "command/level_page.html", context, status=status)
