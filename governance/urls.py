"""Server-rendered pages of the governance app (mounted at /, namespace "governance")."""

from django.urls import path

from governance import views

app_name = "governance"
urlpatterns = [
    path("", views.ModelListView.as_view(), name="model-list"),
    # <path:...> because MLflow model names may contain "/" as well as spaces and dots.
    path("models/<path:name>/", views.ModelDetailView.as_view(), name="model-detail"),
    path("decisions/<uuid:decision_id>/", views.DecisionDetailView.as_view(), name="decision-detail"),
    path("sync/", views.SyncStatusView.as_view(), name="sync-status"),
]
