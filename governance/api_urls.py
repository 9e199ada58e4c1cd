"""REST API v1 routes of the governance app (mounted at /api/v1/, namespace "api")."""

from django.urls import path

from governance import api, api_approvals, api_evidence, api_gate

app_name = "api"
urlpatterns = [
    path(
        "models/<path:name>/versions/<int:version>/evidence",
        api_evidence.EvidenceListCreateApi.as_view(),
        name="evidence",
    ),
    path("models/", api.ModelListApi.as_view(), name="model-list"),
    # The version route comes first: model names may contain "/", so <path:name> would swallow it.
    path(
        "models/<path:name>/versions/<int:version>/",
        api.ModelVersionDetailApi.as_view(),
        name="model-version-detail",
    ),
    path("models/<path:name>/", api.ModelDetailApi.as_view(), name="model-detail"),
    path("sync-runs/", api.SyncRunListApi.as_view(), name="sync-run-list"),
    path(
        "lineage/<path:name>/<int:version>/bundle.zip",
        api_evidence.EvidenceBundleApi.as_view(),
        name="evidence-bundle",
    ),
    path("lineage/<path:name>/<int:version>", api.LineageApi.as_view(), name="lineage"),
    path("approvals/<int:pk>/comments", api_evidence.ApprovalCommentApi.as_view(), name="approval-comment"),
    path("risk/<path:name>/intended-use", api_evidence.IntendedUseApi.as_view(), name="intended-use"),
    path(
        "risk/<path:name>/override/approve",
        api_evidence.TierOverrideApproveApi.as_view(),
        name="tier-override-approve",
    ),
    path("risk/<path:name>/override", api_evidence.TierOverrideApi.as_view(), name="tier-override"),
    path("approvals", api_approvals.ApprovalCreateApi.as_view(), name="approval-create"),
    path("approvals/<int:pk>", api_approvals.ApprovalDetailApi.as_view(), name="approval-detail"),
    path("approvals/<int:pk>/submit", api_approvals.ApprovalSubmitApi.as_view(), name="approval-submit"),
    path(
        "approvals/<int:pk>/start-review",
        api_approvals.ApprovalStartReviewApi.as_view(),
        name="approval-start-review",
    ),
    path("approvals/<int:pk>/approve", api_approvals.ApprovalApproveApi.as_view(), name="approval-approve"),
    path("approvals/<int:pk>/reject", api_approvals.ApprovalRejectApi.as_view(), name="approval-reject"),
    path(
        "approvals/<int:pk>/withdraw", api_approvals.ApprovalWithdrawApi.as_view(), name="approval-withdraw"
    ),
    path("approvals/<int:pk>/retire", api_approvals.ApprovalRetireApi.as_view(), name="approval-retire"),
    path("approvals/<int:pk>/signoffs", api_approvals.ApprovalSignOffApi.as_view(), name="approval-signoff"),
    path("whoami", api_gate.WhoAmIApi.as_view(), name="whoami"),
    path("gates/evaluate", api_gate.GateEvaluateApi.as_view(), name="gate-evaluate"),
    path("gates/promote", api_gate.GatePromoteApi.as_view(), name="gate-promote"),
    path(
        "gates/decisions/<uuid:decision_id>", api_gate.GateDecisionDetailApi.as_view(), name="gate-decision"
    ),
    path("gates/public-key", api_gate.GatePublicKeyApi.as_view(), name="gate-public-key"),
]
