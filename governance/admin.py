"""Admin for governance records. The audit trail is append-only, so its admin can only look."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from governance.models import AuditEvent


class ReadOnlyModelAdmin(admin.ModelAdmin):
    """Lists and shows rows but offers no add, change or delete: the data is owned elsewhere."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyModelAdmin):
    list_display = ("sequence", "occurred_at", "actor", "action", "object_type", "object_repr")
    list_filter = ("action", "object_type")
    search_fields = ("actor", "action", "object_id", "object_repr", "hash")
    date_hierarchy = "occurred_at"
    list_select_related = ("actor_user",)
