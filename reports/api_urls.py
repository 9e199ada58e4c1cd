"""REST API v1 routes of reports, mounted at /api/v1/ (namespace "reports-api"): the Alertmanager webhook
keeps the path Alertmanager is configured with, /api/v1/incidents/alertmanager."""

from django.urls import path

from reports import api

app_name = "reports-api"
urlpatterns = [
    path("incidents/alertmanager", api.AlertmanagerWebhookApi.as_view(), name="alertmanager"),
    path("incidents/", api.IncidentCreateApi.as_view(), name="incident-create"),
    path("incidents/import", api.IncidentImportApi.as_view(), name="incident-import"),
    path("reports/usage-costs", api.UsageCostUpsertApi.as_view(), name="usage-cost-upsert"),
    path("reports/usage-costs/import", api.UsageCostImportApi.as_view(), name="usage-cost-import"),
    path("reports/outcomes", api.BusinessOutcomeRecordApi.as_view(), name="outcome-record"),
    path("reports/kpis", api.KpiApi.as_view(), name="kpis"),
    path("reports/roi", api.RoiApi.as_view(), name="roi"),
    path("reports/monthly", api.MonthlyReportListApi.as_view(), name="monthly-list"),
    path("reports/monthly/generate", api.MonthlyReportGenerateApi.as_view(), name="monthly-generate"),
]
