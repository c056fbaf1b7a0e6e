"""``{{ name|nav_label }}`` and ``{{ name|nav_description }}`` for navigation URL names (core.navigation)."""

from __future__ import annotations

from django import template

from epigrid.core import navigation

register = template.Library()
register.filter("nav_label", navigation.nav_label)
register.filter("nav_description", navigation.nav_description)
