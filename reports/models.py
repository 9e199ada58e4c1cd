"""Report intake and archive: incidents (Alertmanager, API, CSV), monthly usage/SLO/cost and business outcomes
per model, and the archived monthly PDF executive reports (one row per generated version).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class IncidentKind(models.TextChoices):
    DRIFT = "drift", "Drift"
    SLA_BREACH = "sla_breach", "SLA breach"
    SAFETY_FAILURE = "safety_failure", "Safety failure"
    ROLLBACK = "rollback", "Rollback"
    OTHER = "other", "Other"


class IncidentStatus(models.TextChoices):
    FIRING = "firing", "Firing"
    RESOLVED = "resolved", "Resolved"


class IntakeSource(models.TextChoices):
    ALERTMANAGER = "alertmanager", "Alertmanager"
    API = "api", "API"
    CSV = "csv", "CSV import"
    MLFLOW = "mlflow", "MLflow metrics/tags"


class Incident(models.Model):
    """A production incident of a model. Alertmanager alerts are keyed by (fingerprint, started_at): the same
    label set firing again later is a new incident, while repeated and resolved notifications update the row."""

    kind = models.CharField(max_length=16, choices=IncidentKind.choices)
    status = models.CharField(max_length=16, choices=IncidentStatus.choices, default=IncidentStatus.FIRING)
    registered_model = models.ForeignKey(
        "registry_sync.RegisteredModel",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="incidents",
    )
    model_version = models.ForeignKey(
        "registry_sync.ModelVersion", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    model_name = models.CharField(max_length=256, blank=True, default="", help_text="As reported.")
    version = models.PositiveIntegerField(null=True, blank=True, help_text="As reported.")
    fingerprint = models.CharField(max_length=128, blank=True, default="")
    summary = models.CharField(max_length=500, blank=True, default="")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    labels = models.JSONField(default=dict, blank=True)
    annotations = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=16, choices=IntakeSource.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["fingerprint", "started_at"],
                condition=~models.Q(fingerprint=""),
                name="uniq_incident_fingerprint_start",
            )
        ]
        indexes = [
            models.Index(fields=["kind", "started_at"]),
            models.Index(fields=["registered_model", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.model_name or '?'} ({self.status})"


class UsageCost(models.Model):
    """Usage, SLO and cost of one model in one calendar month (month = its first day)."""

    registered_model = models.ForeignKey(
        "registry_sync.RegisteredModel", on_delete=models.PROTECT, related_name="usage_costs"
    )
    month = models.DateField()
    requests = models.PositiveBigIntegerField(default=0)
    predictions = models.PositiveBigIntegerField(default=0)
    p95_latency_ms = models.FloatField(null=True, blank=True)
    slo_target = models.FloatField(null=True, blank=True, help_text="Availability/latency SLO target, %.")
    slo_attainment = models.FloatField(null=True, blank=True, help_text="Attained, % of the month.")
    compute_cost = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    storage_cost = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    license_cost = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    headcount_cost = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    source = models.CharField(max_length=16, choices=IntakeSource.choices)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-month", "registered_model_id"]
        constraints = [
            models.UniqueConstraint(fields=["registered_model", "month"], name="uniq_usage_cost_month")
        ]
        indexes = [models.Index(fields=["month"])]

    def __str__(self) -> str:
        return f"usage {self.registered_model_id} {self.month:%Y-%m}"


class BusinessOutcome(models.Model):
    """Business value of one model in one month, entered by its owner with the source of the figures."""

    registered_model = models.ForeignKey(
        "registry_sync.RegisteredModel", on_delete=models.PROTECT, related_name="business_outcomes"
    )
    month = models.DateField()
    revenue_uplift = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    refunds_avoided = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    time_to_first_value_days = models.FloatField(null=True, blank=True)
    source = models.CharField(max_length=300, help_text="Where the figures come from (report, dashboard).")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-month", "registered_model_id"]
        constraints = [
            models.UniqueConstraint(fields=["registered_model", "month"], name="uniq_business_outcome_month")
        ]
        indexes = [models.Index(fields=["month"])]

    def __str__(self) -> str:
        return f"outcome {self.registered_model_id} {self.month:%Y-%m}"


class MonthlyReport(models.Model):
    """One generated executive PDF; regenerating a month adds a version and never overwrites a file."""

    period = models.DateField(help_text="First day of the reported month.")
    version = models.PositiveIntegerField()
    file = models.FileField(upload_to="reports/")
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    page_count = models.PositiveIntegerField(default=0)
    generated_at = models.DateTimeField()
    generated_by = models.CharField(max_length=256)

    class Meta:
        ordering = ["-period", "-version"]
        constraints = [models.UniqueConstraint(fields=["period", "version"], name="uniq_report_version")]

    def __str__(self) -> str:
        return f"report {self.period:%Y-%m} v{self.version}"
