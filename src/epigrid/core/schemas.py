"""API schemas of the shared kernel. Personal data leaves the server masked unless revealed."""

from __future__ import annotations

import datetime as dt

from ninja import Schema

from epigrid.core.models import Person


class PersonMasked(Schema):
    """A person as every list and page shows them: name, document and phone masked."""

    id: int
    name: str
    id_type: str
    id_number: str
    phone: str
    sex: str
    birth_date: dt.date | None
    grid: str | None

    @staticmethod
    def resolve_name(obj: Person) -> str:
        return obj.name_masked

    @staticmethod
    def resolve_id_number(obj: Person) -> str:
        return obj.id_number_masked

    @staticmethod
    def resolve_phone(obj: Person) -> str:
        return obj.phone_masked

    @staticmethod
    def resolve_grid(obj: Person) -> str | None:
        return obj.org_code if obj.grid_id else None


class TokenIn(Schema):
    username: str
    password: str


class TokenOut(Schema):
    token: str


class MeOut(Schema):
    username: str
    role: str
    org_unit: str | None
    org_unit_name: str | None
    person: PersonMasked | None


class RevealIn(Schema):
    fields: list[str] = ["id_number", "phone"]


class OrgUnitOut(Schema):
    code: str
    level: str
    name: str
    parent: str | None
    centroid: tuple[float, float] | None


class ErrorOut(Schema):
    detail: str
