"""Read-only admin for assessments: changes go through the services (audited), never through the admin."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from assessments.models import Answer, Assessment, QuestionnaireVersion, Team


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(QuestionnaireVersion)
class QuestionnaireVersionAdmin(ReadOnlyAdmin):
    list_display = ["version_id", "title", "digest", "published_at"]


@admin.register(Team)
class TeamAdmin(ReadOnlyAdmin):
    list_display = ["name", "lead", "created_at"]
    search_fields = ["name"]


class AnswerInline(admin.TabularInline):
    model = Answer
    extra = 0
    can_delete = False
    readonly_fields = ["question_id", "value", "na_reason", "note", "updated_at"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Assessment)
class AssessmentAdmin(ReadOnlyAdmin):
    list_display = ["pk", "team", "state", "stage", "level", "verified_level", "submitted_at"]
    list_filter = ["state", "stage"]
    inlines = [AnswerInline]
