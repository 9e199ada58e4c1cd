"""REST API v1 routes of maturity assessments (mounted at /api/v1/assessments/, namespace "assessments-api")."""

from django.urls import path

from assessments import api

app_name = "assessments-api"
urlpatterns = [
    path("", api.AssessmentListApi.as_view(), name="list"),
    path("start", api.AssessmentStartApi.as_view(), name="start"),
    path("questionnaire", api.QuestionnaireApi.as_view(), name="questionnaire"),
    path("teams/", api.TeamListApi.as_view(), name="team-list"),
    path("teams/create", api.TeamCreateApi.as_view(), name="team-create"),
    path("teams/<int:team_id>/trend", api.TeamTrendApi.as_view(), name="team-trend"),
    path("org/heatmap", api.OrgHeatmapApi.as_view(), name="org-heatmap"),
    path("<int:pk>/", api.AssessmentDetailApi.as_view(), name="detail"),
    path("<int:pk>/profile", api.AssessmentProfileApi.as_view(), name="profile"),
    path("<int:pk>/answers", api.AssessmentAnswersApi.as_view(), name="answers"),
    path("<int:pk>/submit", api.AssessmentSubmitApi.as_view(), name="submit"),
    path("<int:pk>/result", api.AssessmentResultApi.as_view(), name="result"),
]
