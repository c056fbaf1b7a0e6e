"""``{% response_level_state as rl %}``: what ``command/_response_level.html`` shows, so that any page can
``{% include "command/_response_level.html" %}`` without its view preparing anything."""

from __future__ import annotations

from typing import Any

from django import template

from epigrid.command.views.level import level_state

register = template.Library()


@register.simple_tag(takes_context=True)
def response_level_state(context: template.Context) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    return level_state(user, form=context.get("level_form"))
