"""``{% dossier_link person %}``: a link to the one-person dossier, for readers who may open it (other
modules' person pages use it; the dossier itself checks scope and audits the opening)."""

from __future__ import annotations

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _

from epigrid.core.roles import Perm, has_perm

register = template.Library()


@register.simple_tag(takes_context=True)
def dossier_link(context: template.Context, person: object) -> str:
    request = context.get("request")
    user = getattr(request, "user", None)
    pk = getattr(person, "pk", None)
    if pk is None or not has_perm(user, Perm.DOSSIER_VIEW):
        return ""
    return format_html(
        '<a class="button button-secondary" href="{}" data-testid="dossier-link">{}</a>',
        reverse("comparison:dossier", args=[pk]),
        _("One-person dossier"),
    )
