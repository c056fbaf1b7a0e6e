"""Reads of the shared kernel, always through scope. Out of scope and missing look the same (404)."""

from __future__ import annotations

import contextlib
import datetime as dt
import time

from django.db.models import Q, QuerySet
from django.http import Http404

from epigrid.core import crypto
from epigrid.core.errors import Forbidden
from epigrid.core.identity import IdentityError, IdType, normalize_document, normalize_phone
from epigrid.core.models import (
    AuditEntry,
    DiseaseProfile,
    Event,
    OrgLevel,
    OrgUnit,
    Person,
    PolicyVersion,
    ResponseLevel,
    ResponseLevelChange,
    User,
)
from epigrid.core.roles import Perm, has_perm
from epigrid.core.scope import scoped


def district_code() -> str:
    """The code of the district this installation serves ("" before the tree is loaded)."""
    return OrgUnit.objects.filter(level=OrgLevel.DISTRICT).values_list("code", flat=True).first() or ""


def person_list(*, actor: User, search: str = "", grid_code: str = "") -> QuerySet[Person]:
    """People the actor may see. ``search`` matches a name fragment, or exactly an ID number or phone."""
    qs = scoped(Person.objects.select_related("grid"), actor)
    if grid_code:
        qs = qs.filter(org_code__startswith=grid_code)
    search = (search or "").strip()
    if search:
        qs = qs.filter(_person_search_q(search))
    return qs.order_by("name", "pk")


def _person_search_q(search: str) -> Q:
    q = Q(name__contains=search)
    for id_type in (IdType.RESIDENT, IdType.PASSPORT):
        try:
            number = normalize_document(id_type, search)
        except IdentityError:
            continue
        q |= Q(id_type=id_type, id_number_index=crypto.blind_index(f"{id_type}:{number}", purpose="document"))
    with contextlib.suppress(IdentityError):
        q |= Q(phone_index=crypto.blind_index(normalize_phone(search), purpose="phone"))
    return q


PICKER_LIMIT = 20


def person_picker(*, actor: User, query: str, limit: int = PICKER_LIMIT) -> list[Person]:
    """The matches of a person picker (new case, placement...): people in scope, none for an empty query."""
    query = (query or "").strip()
    if not query:
        return []
    return list(person_list(actor=actor, search=query).select_related("grid")[:limit])


def person_get(*, actor: User, pk: int) -> Person:
    person = person_list(actor=actor).filter(pk=pk).first()
    if person is None:
        raise Http404
    return person


def orgunit_list(*, actor: User, level: str = "") -> QuerySet[OrgUnit]:
    """The actor's org unit and everything below it (staff only)."""
    qs = scoped(OrgUnit.objects.all(), actor)
    if level:
        qs = qs.filter(level=level)
    return qs.order_by("code")


def orgunit_get(*, actor: User, code: str) -> OrgUnit:
    unit = orgunit_list(actor=actor).filter(code=code).first()
    if unit is None:
        raise Http404
    return unit


def orgunit_geojson(*, actor: User, level: str = OrgLevel.GRID) -> dict:
    """A FeatureCollection of the actor's units of one level, for the map."""
    features = [
        {
            "type": "Feature",
            "geometry": unit.boundary,
            "properties": {"code": unit.code, "name": unit.name, "level": unit.level},
        }
        for unit in orgunit_list(actor=actor, level=level).exclude(boundary__isnull=True)
    ]
    return {"type": "FeatureCollection", "features": features}


def audit_search(
    *,
    actor: User,
    action: str = "",
    username: str = "",
    object_id: str = "",
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> QuerySet[AuditEntry]:
    if not has_perm(actor, Perm.AUDIT_VIEW):
        raise Forbidden("audit.view")
    qs = scoped(AuditEntry.objects.all(), actor)
    if action:
        qs = qs.filter(action__startswith=action)
    if username:
        qs = qs.filter(actor_username=username)
    if object_id:
        qs = qs.filter(object_id=object_id)
    if since:
        qs = qs.filter(at__gte=since)
    if until:
        qs = qs.filter(at__lt=until)
    return qs.order_by("-seq")


def event_list(*, actor: User, types: list[str] | None = None, after_id: int = 0) -> QuerySet[Event]:
    qs = scoped(Event.objects.all(), actor).filter(pk__gt=after_id)
    if types:
        qs = qs.filter(type__in=types)
    return qs.order_by("pk")


# Active policies are read on hot paths (every check-in); a process keeps them for a few seconds, and an
# activation in this process clears the cache at once (see services.policy_activate).
_POLICY_CACHE_SECONDS = 5.0
_policy_cache: dict[str, tuple[float, PolicyVersion]] = {}


def policy_cache_clear() -> None:
    _policy_cache.clear()


def policy_active(*, disease_code: str) -> PolicyVersion:
    """The policy in force for a disease. Every module reads its rule parameters through here."""
    cached = _policy_cache.get(disease_code)
    if cached is not None and time.monotonic() - cached[0] < _POLICY_CACHE_SECONDS:
        return cached[1]
    policy = (
        PolicyVersion.objects.select_related("disease")
        .filter(disease__code=disease_code, is_active=True)
        .first()
    )
    if policy is None:
        raise LookupError(f"no active policy for {disease_code}")
    _policy_cache[disease_code] = (time.monotonic(), policy)
    return policy


def policy_param(*, disease_code: str, name: str, default: object = None) -> object:
    return policy_active(disease_code=disease_code).params.get(name, default)


GENERAL = "general"  # the profile holding platform-wide rules that do not depend on a disease


def general_rule(name: str, default: object = None) -> object:
    """A platform-wide rule (retention days, venue stay lengths, door rules...) from the active version."""
    return policy_param(disease_code=GENERAL, name=name, default=default)


def policy_list() -> QuerySet[PolicyVersion]:
    return PolicyVersion.objects.select_related("disease").order_by(
        "disease__code", "-is_active", "-created_at"
    )


def disease_list() -> QuerySet[DiseaseProfile]:
    return DiseaseProfile.objects.order_by("code")


def response_level_current() -> str:
    """The district's response level in force (``normal`` when none was ever set)."""
    latest = ResponseLevelChange.objects.order_by("-set_at", "-id").values_list("level", flat=True).first()
    return latest or ResponseLevel.NORMAL


def response_level_history() -> QuerySet[ResponseLevelChange]:
    return ResponseLevelChange.objects.select_related("set_by").order_by("-set_at", "-id")
