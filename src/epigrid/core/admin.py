"""Read-only admin for superusers: inspection only, because every write must go through services.

Person is deliberately absent: the admin would show decrypted ID numbers and phones without an audit entry.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from epigrid.core.models import AuditEntry, DiseaseProfile, Event, OrgUnit, PolicyVersion, ResponseLevelChange


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(OrgUnit)
class OrgUnitAdmin(ReadOnlyAdmin):
    list_display = ("code", "level", "name")
    list_filter = ("level",)
    search_fields = ("code", "name")
    exclude = ("boundary",)


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ("seq", "at", "actor_username", "action", "object_type", "object_id", "ip")
    list_filter = ("action",)
    search_fields = ("actor_username", "object_id")


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ("id", "type", "org_code", "occurred_at")
    list_filter = ("type",)


@admin.register(DiseaseProfile)
class DiseaseProfileAdmin(ReadOnlyAdmin):
    list_display = ("code", "name_zh", "name_en")


@admin.register(PolicyVersion)
class PolicyVersionAdmin(ReadOnlyAdmin):
    list_display = ("disease", "version", "title", "is_active", "created_at")


@admin.register(ResponseLevelChange)
class ResponseLevelChangeAdmin(ReadOnlyAdmin):
    list_display = ("level", "set_at", "set_by", "reason")
