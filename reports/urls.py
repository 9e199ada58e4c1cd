"""Report pages (mounted at /reports/, namespace "reports")."""

from django.urls import path

from reports import views

app_name = "reports"
urlpatterns = [
    path("", views.DashboardView.as_view(), name="dashboard"),
    path("roi/", views.RoiWorksheetView.as_view(), name="roi"),
    path("outcomes/new/", views.BusinessOutcomeEntryView.as_view(), name="outcome-entry"),
    path("archive/<int:pk>/download/", views.ReportDownloadView.as_view(), name="download"),
]
