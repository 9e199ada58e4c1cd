"""Server-rendered pages of maturity assessments (mounted at /assessments/, namespace "assessments")."""

from django.urls import path

from assessments import views

app_name = "assessments"
urlpatterns = [
    path("", views.AssessmentIndexView.as_view(), name="index"),
    path("teams/create/", views.TeamCreateView.as_view(), name="team-create"),
    path("teams/<int:team_id>/", views.TeamTrendView.as_view(), name="team-trend"),
    path("teams/<int:team_id>/start/", views.AssessmentStartView.as_view(), name="start"),
    path("organisation/", views.OrgHeatmapView.as_view(), name="org-heatmap"),
    path("<int:pk>/profile/", views.AssessmentProfileView.as_view(), name="profile"),
    path("<int:pk>/step/<int:step>/", views.AssessmentStepView.as_view(), name="step"),
    path("<int:pk>/review/", views.AssessmentReviewView.as_view(), name="review"),
    path("<int:pk>/", views.AssessmentResultView.as_view(), name="result"),
    path("<int:pk>/export.json", views.AssessmentExportJsonView.as_view(), name="export-json"),
    path("<int:pk>/export.csv", views.AssessmentExportCsvView.as_view(), name="export-csv"),
]
