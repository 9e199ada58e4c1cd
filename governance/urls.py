"""Server-rendered pages of the governance app (mounted at /, namespace "governance")."""

from django.urls import path

from governance import views, views_workflow

app_name = "governance"
urlpatterns = [
    path("", views.ModelListView.as_view(), name="model-list"),
    path("queue/", views_workflow.ApprovalQueueView.as_view(), name="queue"),
    path("approvals/<int:pk>/", views_workflow.ApprovalDetailView.as_view(), name="approval-detail"),
    # The model's sub-pages come before the model page: <path:name> would swallow them.
    path(
        "models/<path:name>/intended-use/",
        views_workflow.IntendedUseView.as_view(),
        name="intended-use",
    ),
    path(
        "models/<path:name>/approval-requests/",
        views_workflow.ApprovalCreateView.as_view(),
        name="approval-create",
    ),
    path(
        "models/<path:name>/versions/<int:version>/lineage/",
        views_workflow.ModelVersionLineageView.as_view(),
        name="version-lineage",
    ),
    path("models/<path:name>/raci/", views_workflow.RaciAssignView.as_view(), name="raci-assign"),
    # <path:...> because MLflow model names may contain "/" as well as spaces and dots.
    path("models/<path:name>/", views_workflow.ModelWorkflowDetailView.as_view(), name="model-detail"),
    path("decisions/<uuid:decision_id>/", views.DecisionDetailView.as_view(), name="decision-detail"),
    path("sync/", views.SyncStatusView.as_view(), name="sync-status"),
]
