"""Admin for the MLflow registry mirror: read-only, because MLflow is the source of truth and sync writes."""

from __future__ import annotations

from django.contrib import admin

from governance.admin import ReadOnlyModelAdmin
from registry_sync.models import (
    ModelAlias,
    ModelVersion,
    RegisteredModel,
    Run,
    SyncCursor,
    SyncRun,
    WebhookDelivery,
)


@admin.register(RegisteredModel)
class RegisteredModelAdmin(ReadOnlyModelAdmin):
    list_display = ("name", "state", "mlflow_updated_at", "last_synced_at")
    list_filter = ("state",)
    search_fields = ("name", "description")


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyModelAdmin):
    list_display = (
        "registered_model",
        "version",
        "mlflow_status",
        "state",
        "mlflow_run_id",
        "mlflow_updated_at",
    )
    list_filter = ("state", "mlflow_status")
    search_fields = ("registered_model__name", "mlflow_run_id", "source")
    list_select_related = ("registered_model",)


@admin.register(Run)
class RunAdmin(ReadOnlyModelAdmin):
    list_display = ("run_id", "run_name", "experiment_id", "status", "user_id", "started_at")
    list_filter = ("status",)
    search_fields = ("run_id", "run_name", "experiment_id", "user_id")


@admin.register(ModelAlias)
class ModelAliasAdmin(ReadOnlyModelAdmin):
    list_display = ("registered_model", "alias", "model_version", "updated_at")
    search_fields = ("registered_model__name", "alias")
    list_select_related = ("registered_model", "model_version__registered_model")


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyModelAdmin):
    list_display = ("id", "kind", "status", "target", "started_at", "finished_at", "changes", "versions_seen")
    list_filter = ("kind", "status")
    date_hierarchy = "started_at"


@admin.register(SyncCursor)
class SyncCursorAdmin(ReadOnlyModelAdmin):
    list_display = ("key", "watermark_ms", "updated_at")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyModelAdmin):
    list_display = ("delivery_id", "event", "model_name", "version", "sent_at", "received_at")
    list_filter = ("event",)
    search_fields = ("delivery_id", "model_name")
