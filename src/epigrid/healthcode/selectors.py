"""Reads of the health code: colours (the lookup every module uses), history, risk areas, appeals."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from epigrid.core.health import CodeColour
from epigrid.core.models import User
from epigrid.core.roles import Perm, has_perm
from epigrid.core.scope import scoped
from epigrid.healthcode.models import (
    Appeal,
    HealthCode,
    HealthCodeChange,
    Override,
    PersonFacts,
    RiskArea,
    RuleSet,
)


def colours_lookup(person_ids: Iterable[int]) -> dict[int, CodeColour]:
    """Installed as ``core.health``'s lookup: stored colours; people without a row are left to the default.

    Raw SQL: every check-in asks for one colour, and compiling the ORM query was a third of the request's
    Python time (docs/benchmarks.md, checkin)."""
    ids = [int(pid) for pid in person_ids]
    if not ids:
        return {}
    meta, quote = HealthCode._meta, connection.ops.quote_name
    columns = ", ".join(quote(meta.get_field(f).column) for f in ("person", "colour", "reason"))
    found: dict[int, CodeColour] = {}
    with connection.cursor() as cursor:
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            cursor.execute(
                f"SELECT {columns} FROM {quote(meta.db_table)} "  # noqa: S608 - our own names
                f"WHERE {quote(meta.get_field('person').column)} IN ({', '.join(['%s'] * len(chunk))})",
                chunk,
            )
            for pid, colour, reason in cursor.fetchall():
                found[pid] = CodeColour(colour, reason)
    return found


def health_code_of(*, person_id: int) -> HealthCode | None:
    return HealthCode.objects.filter(person_id=person_id).first()


def health_code_list(*, actor: User, colour: str = "") -> QuerySet[HealthCode]:
    if not has_perm(actor, Perm.HEALTHCODE_VIEW) and getattr(actor, "person_id", None) is None:
        return HealthCode.objects.none()
    qs = scoped(HealthCode.objects.select_related("person"), actor)
    if colour:
        qs = qs.filter(colour=colour)
    return qs.order_by("-since", "person_id")


def health_code_get(*, actor: User, person_id: int) -> HealthCode:
    code = health_code_list(actor=actor).filter(person_id=person_id).first()
    if code is None:
        raise Http404
    return code


def change_history(*, actor: User, person_id: int) -> QuerySet[HealthCodeChange]:
    qs = HealthCodeChange.objects.filter(person_id=person_id)
    if not has_perm(actor, Perm.HEALTHCODE_VIEW) and getattr(actor, "person_id", None) != person_id:
        return qs.none()
    return scoped(qs, actor).order_by("-at", "-pk")


def risk_areas_current() -> QuerySet[RiskArea]:
    """Areas in force now: public information, shown to residents and staff alike."""
    now = timezone.now()
    return RiskArea.objects.filter(effective_from__lte=now, ended_at__isnull=True).order_by("-level", "name")


def risk_area_get(*, actor: User, pk: int) -> RiskArea:
    area = scoped(RiskArea.objects.all(), actor).filter(pk=pk).first()
    if area is None:
        raise Http404
    return area


def appeal_list(*, actor: User, status: str = "") -> QuerySet[Appeal]:
    qs = scoped(Appeal.objects.select_related("person"), actor)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at")


def appeal_get(*, actor: User, pk: int) -> Appeal:
    appeal = appeal_list(actor=actor).filter(pk=pk).first()
    if appeal is None:
        raise Http404
    return appeal


def override_list(*, actor: User, active_only: bool = True) -> QuerySet[Override]:
    qs = scoped(Override.objects.select_related("person"), actor)
    if active_only:
        qs = qs.filter(revoked_at__isnull=True, expires_at__gt=timezone.now())
    return qs


def rule_sets() -> QuerySet[RuleSet]:
    return RuleSet.objects.select_related("policy", "policy__disease").order_by("-is_active", "-created_at")


# --- read-only additions for the pages ---------------------------------------------------------------


def person_facts_get(*, actor: User, person_id: int) -> PersonFacts | None:
    """What the health code knows about one person in the actor's scope (None: nothing recorded)."""
    if not has_perm(actor, Perm.HEALTHCODE_VIEW):
        return None
    return scoped(PersonFacts.objects.all(), actor).filter(person_id=person_id).first()


def risk_areas_ended(*, limit: int = 100) -> QuerySet[RiskArea]:
    """Areas that have ended, newest first: public information like the areas in force."""
    return RiskArea.objects.filter(ended_at__isnull=False).order_by("-ended_at", "-pk")[:limit]


def risk_areas_upcoming() -> QuerySet[RiskArea]:
    """Areas designated with a start still in the future (not yet in force)."""
    return RiskArea.objects.filter(effective_from__gt=timezone.now(), ended_at__isnull=True).order_by(
        "effective_from", "pk"
    )


def rule_set_get(*, pk: int) -> RuleSet:
    rule_set = rule_sets().filter(pk=pk).first()
    if rule_set is None:
        raise Http404
    return rule_set
