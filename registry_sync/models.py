"""The mirror of the MLflow model registry and the bookkeeping of each sync pass.

Rows are never deleted when MLflow deletes something: they are marked archived, because gate decisions,
sign-offs and audit events reference them.
"""

from __future__ import annotations

from django.db import models

BIAS_METRIC_PREFIXES = ("bias.", "fairness.")


class MirrorState(models.TextChoices):
    ACTIVE = "active", "Active"
    ARCHIVED = "archived", "Archived (deleted in MLflow)"


class RegisteredModel(models.Model):
    name = models.CharField(max_length=256, unique=True)
    description = models.TextField(blank=True, default="")
    tags = models.JSONField(default=dict, blank=True)
    mlflow_created_at = models.DateTimeField(null=True, blank=True)
    mlflow_updated_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=16, choices=MirrorState.choices, default=MirrorState.ACTIVE)
    archived_at = models.DateTimeField(null=True, blank=True)
    first_synced_at = models.DateTimeField(auto_now_add=True)
    last_synced_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["state", "name"])]

    def __str__(self) -> str:
        return self.name


class Run(models.Model):
    """An MLflow run that produced at least one mirrored model version."""

    run_id = models.CharField(max_length=64, unique=True)
    experiment_id = models.CharField(max_length=64, blank=True, default="")
    run_name = models.CharField(max_length=256, blank=True, default="")
    status = models.CharField(max_length=32, blank=True, default="")
    user_id = models.CharField(max_length=256, blank=True, default="")
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    params = models.JSONField(default=dict, blank=True)
    metrics = models.JSONField(default=dict, blank=True, help_text="Latest value of each metric key.")
    tags = models.JSONField(default=dict, blank=True)
    datasets = models.JSONField(
        default=list, blank=True, help_text="Dataset inputs: name, digest, source_type, source, context."
    )
    last_synced_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.run_id

    @property
    def bias_metrics(self) -> dict[str, float]:
        return {k: v for k, v in sorted(self.metrics.items()) if k.startswith(BIAS_METRIC_PREFIXES)}


class ModelVersion(models.Model):
    registered_model = models.ForeignKey(RegisteredModel, on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveIntegerField()
    source = models.TextField(blank=True, default="")
    mlflow_run_id = models.CharField(max_length=64, blank=True, default="")
    run = models.ForeignKey(
        Run, on_delete=models.PROTECT, null=True, blank=True, related_name="model_versions"
    )
    mlflow_status = models.CharField(max_length=32, blank=True, default="")
    status_message = models.TextField(blank=True, default="")
    description = models.TextField(blank=True, default="")
    user_id = models.CharField(max_length=256, blank=True, default="")
    tags = models.JSONField(default=dict, blank=True)
    mlflow_created_at = models.DateTimeField(null=True, blank=True)
    mlflow_updated_at = models.DateTimeField(null=True, blank=True)
    mlflow_updated_ms = models.BigIntegerField(default=0, help_text="MLflow last_updated_timestamp (ms).")
    state = models.CharField(max_length=16, choices=MirrorState.choices, default=MirrorState.ACTIVE)
    archived_at = models.DateTimeField(null=True, blank=True)
    first_synced_at = models.DateTimeField(auto_now_add=True)
    last_synced_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["registered_model__name", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["registered_model", "version"], name="uniq_model_version"),
        ]
        indexes = [models.Index(fields=["mlflow_run_id"])]

    def __str__(self) -> str:
        return f"{self.registered_model.name} v{self.version}"


class ModelAlias(models.Model):
    """An MLflow alias (e.g. `champion`) pointing at one version of a model."""

    registered_model = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE, related_name="aliases")
    alias = models.CharField(max_length=256)
    model_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="aliases")
    updated_at = models.DateTimeField(auto_now=True)
    outside_platform = models.BooleanField(
        default=False, help_text="A protected alias that was moved in MLflow without a platform promotion."
    )

    class Meta:
        ordering = ["alias"]
        constraints = [models.UniqueConstraint(fields=["registered_model", "alias"], name="uniq_model_alias")]

    def __str__(self) -> str:
        return f"{self.registered_model.name}@{self.alias}"


class SyncKind(models.TextChoices):
    INCREMENTAL = "incremental", "Incremental"
    FULL = "full", "Full reconciliation"
    TARGETED = "targeted", "Targeted (webhook)"


class SyncStatus(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class SyncRun(models.Model):
    kind = models.CharField(max_length=16, choices=SyncKind.choices)
    status = models.CharField(max_length=16, choices=SyncStatus.choices, default=SyncStatus.RUNNING)
    target = models.CharField(max_length=300, blank=True, default="", help_text="Model/version for targeted.")
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    models_created = models.PositiveIntegerField(default=0)
    models_updated = models.PositiveIntegerField(default=0)
    models_archived = models.PositiveIntegerField(default=0)
    versions_created = models.PositiveIntegerField(default=0)
    versions_updated = models.PositiveIntegerField(default=0)
    versions_archived = models.PositiveIntegerField(default=0)
    runs_synced = models.PositiveIntegerField(default=0)
    aliases_changed = models.PositiveIntegerField(default=0)
    versions_seen = models.PositiveIntegerField(default=0)
    pages = models.PositiveIntegerField(default=0)
    watermark_before = models.BigIntegerField(null=True, blank=True)
    watermark_after = models.BigIntegerField(null=True, blank=True)
    error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["kind", "status", "-finished_at"])]

    def __str__(self) -> str:
        return f"{self.kind} sync #{self.pk} ({self.status})"

    @property
    def changes(self) -> int:
        return (
            self.models_created
            + self.models_updated
            + self.models_archived
            + self.versions_created
            + self.versions_updated
            + self.versions_archived
            + self.aliases_changed
        )


class SyncCursor(models.Model):
    """The incremental watermark: MLflow's last_updated_timestamp (ms) that every older row was synced to."""

    key = models.CharField(max_length=64, unique=True)
    watermark_ms = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.key}={self.watermark_ms}"


class WebhookDelivery(models.Model):
    """One accepted MLflow webhook delivery; the unique delivery id makes replays detectable."""

    delivery_id = models.CharField(max_length=128, unique=True)
    event = models.CharField(max_length=64)
    model_name = models.CharField(max_length=256, blank=True, default="")
    version = models.PositiveIntegerField(null=True, blank=True)
    payload = models.JSONField(default=dict)
    sent_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.event} {self.delivery_id}"
