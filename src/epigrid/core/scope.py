"""Scope: which records an account may see. It fails closed.

Staff see records whose ``org_code`` starts with their org unit's code (a grid worker their grid, a
community officer their community, the district everything). Residents see only records that belong to
their own Person. Anyone else sees nothing. Selectors apply this; views turn "not in scope" into 404.

Every scoped model registers here with :func:`register`, and the generic scope tests iterate the registry.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Model, Q, QuerySet

from epigrid.core.roles import is_staff_role


@dataclass(frozen=True)
class ScopedModel:
    model: type[Model]
    org_field: str  # path to the org code, e.g. "org_code" or "person__org_code"
    person_field: str | None  # path to the owning Person's pk for resident access, or None


_registry: dict[str, ScopedModel] = {}


def register(model: type[Model], *, org_field: str = "org_code", person_field: str | None = None) -> None:
    _registry[model._meta.label_lower] = ScopedModel(model, org_field, person_field)


def registered() -> list[ScopedModel]:
    return list(_registry.values())


def scope_q(actor: object, scoped: ScopedModel) -> Q | None:
    """The filter for ``actor`` on ``scoped``, or None when the actor may see nothing of it."""
    if not getattr(actor, "is_authenticated", False) or not getattr(actor, "is_active", False):
        return None
    role = getattr(actor, "role", "")
    if role and is_staff_role(role):
        code = getattr(actor, "org_code", "")
        return prefix_q(scoped.org_field, code) if code else None
    person_id = getattr(actor, "person_id", None)
    if scoped.person_field and person_id:
        return Q(**{scoped.person_field: person_id})
    return None


def prefix_q(field: str, code: str) -> Q:
    """``field`` starts with ``code``, written as a range so that a plain b-tree index serves it on both
    databases (``LIKE 'code%'`` is case-insensitive on SQLite and collation-bound on PostgreSQL, and uses
    no index on either). Org codes are digits, and ':' sorts right after '9'."""
    return Q(**{f"{field}__gte": code, f"{field}__lt": code + ":"})


def scoped(qs: QuerySet, actor: object) -> QuerySet:
    entry = _registry.get(qs.model._meta.label_lower)
    if entry is None:
        raise LookupError(f"{qs.model._meta.label} is not registered in core.scope")
    q = scope_q(actor, entry)
    return qs.none() if q is None else qs.filter(q)


def in_scope_code(actor: object, org_code: str) -> bool:
    """Whether a staff actor's jurisdiction covers ``org_code`` (for checks before a write)."""
    role = getattr(actor, "role", "")
    code = getattr(actor, "org_code", "")
    return bool(role and is_staff_role(role) and code and org_code.startswith(code))
