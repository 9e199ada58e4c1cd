"""REST API (v1) for governance records: evidence documents, comments, intended use and tier overrides,
and the evidence bundle download."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import ApiError
from config.openapi import error_responses
from governance import roles
from governance.api_approvals import _approval
from governance.authentication import ScopedPermission, request_api_key
from governance.evidence_bundle import evidence_bundle_build
from governance.models import EvidenceDocument, EvidenceKind, ModelGovernance, RiskTier
from governance.permissions import api_key_project_require
from governance.services.evidence import comment_add, evidence_upload
from governance.services.records import (
    intended_use_set,
    risk_tier_override_approve,
    risk_tier_override_request,
)
from registry_sync.models import ModelVersion, RegisteredModel

RECORDS_TAG = "governance records"


def _version(name: str, version: int) -> ModelVersion:
    found = (
        ModelVersion.objects.select_related("registered_model", "run")
        .filter(registered_model__name=name, version=version)
        .first()
    )
    if found is None:
        raise ApiError(f"No version {version} of model {name!r}.", code="VERSION_NOT_FOUND", status_code=404)
    return found


def _model(name: str) -> RegisteredModel:
    found = RegisteredModel.objects.filter(name=name).first()
    if found is None:
        raise ApiError(f"No model {name!r}.", code="MODEL_NOT_FOUND", status_code=404)
    return found


@extend_schema_serializer(component_name="EvidenceDocument")
class EvidenceOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    filename = serializers.CharField()
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField()
    uploaded_by = serializers.CharField(source="uploaded_by.username")
    uploaded_at = serializers.DateTimeField()


class CanContribute(ScopedPermission):
    """Uploading evidence and commenting: any governance role except the read-only viewer."""

    scope = "contribute"  # no API key carries it: contributions come from people
    roles = {
        roles.MODEL_OWNER,
        roles.VALIDATOR,
        roles.COMPLIANCE_OFFICER,
        roles.COMMITTEE_MEMBER,
        roles.ADMIN,
    }

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return bool(request.user and request.user.is_authenticated)
        return super().has_permission(request, view)


class EvidenceListCreateApi(APIView):
    parser_classes = [MultiPartParser]
    permission_classes = [CanContribute]

    @extend_schema_serializer(component_name="EvidenceUploadRequest")
    class InputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=EvidenceKind.choices)
        file = serializers.FileField()

    @extend_schema(
        operation_id="evidence_list", tags=[RECORDS_TAG], responses={200: EvidenceOutputSerializer(many=True)}
    )
    def get(self, request: Request, name: str, version: int) -> Response:
        documents = EvidenceDocument.objects.filter(model_version=_version(name, version)).select_related(
            "uploaded_by"
        )
        return Response(EvidenceOutputSerializer(documents, many=True).data)

    @extend_schema(
        operation_id="evidence_upload",
        tags=[RECORDS_TAG],
        summary="Upload a validation report, model card, compliance memo or bias report (stored with SHA-256)",
        request={"multipart/form-data": InputSerializer},
        responses={201: EvidenceOutputSerializer, **error_responses(413)},
    )
    def post(self, request: Request, name: str, version: int) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user: User = request.user  # type: ignore[assignment]
        model_version = _version(name, version)
        document = evidence_upload(
            model_version=model_version,
            kind=serializer.validated_data["kind"],
            upload=serializer.validated_data["file"],
            actor=user,
        )
        return Response(EvidenceOutputSerializer(document).data, status=status.HTTP_201_CREATED)


class ApprovalCommentApi(APIView):
    permission_classes = [CanContribute]

    @extend_schema_serializer(component_name="CommentRequest")
    class InputSerializer(serializers.Serializer):
        body = serializers.CharField(max_length=10000)

    @extend_schema_serializer(component_name="Comment")
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        author = serializers.CharField(source="author.username")
        body = serializers.CharField()
        created_at = serializers.DateTimeField()

    @extend_schema(
        operation_id="approval_comment",
        tags=["approvals"],
        summary="Comment on an approval request (the next actors are notified)",
        request=InputSerializer,
        responses={201: OutputSerializer},
    )
    def post(self, request: Request, pk: int) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user: User = request.user  # type: ignore[assignment]
        approval = _approval(pk)
        comment = comment_add(approval_request=approval, author=user, body=serializer.validated_data["body"])
        return Response(self.OutputSerializer(comment).data, status=status.HTTP_201_CREATED)


@extend_schema_serializer(component_name="ModelRiskTier")
class RiskTierOutputSerializer(serializers.Serializer):
    model = serializers.CharField(source="registered_model.name")
    risk_tier = serializers.CharField(help_text="Computed by the risk policy from the intended use.")
    effective_tier = serializers.CharField(help_text="What the gate applies (an approved override wins).")
    risk_reasons = serializers.ListField(child=serializers.DictField())
    intended_use = serializers.DictField()
    override_tier = serializers.CharField()
    override_pending = serializers.BooleanField()
    override_justification = serializers.CharField()


class IntendedUseApi(APIView):
    @extend_schema_serializer(component_name="IntendedUseRequest")
    class InputSerializer(serializers.Serializer):
        profile = serializers.DictField(
            help_text="The intended-use profile; see docs/policies.md (Risk tier)."
        )

    @extend_schema(
        operation_id="intended_use_set",
        tags=[RECORDS_TAG],
        summary="Set the intended-use profile; the risk tier is computed by the Rego policy",
        request=InputSerializer,
        responses={200: RiskTierOutputSerializer},
    )
    def put(self, request: Request, name: str) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        model = _model(name)
        api_key_project_require(key=request_api_key(request), registered_model=model)
        user: User = request.user  # type: ignore[assignment]
        governance = intended_use_set(
            registered_model=model, profile=serializer.validated_data["profile"], actor=user
        )
        return Response(RiskTierOutputSerializer(governance).data)


class TierOverrideApi(APIView):
    @extend_schema_serializer(component_name="TierOverrideRequest")
    class InputSerializer(serializers.Serializer):
        tier = serializers.ChoiceField(choices=[t for t in RiskTier.values if t != RiskTier.UNASSESSED])
        justification = serializers.CharField(max_length=4000)

    @extend_schema(
        operation_id="tier_override_request",
        tags=[RECORDS_TAG],
        summary="Propose a manual risk tier (takes effect after a second person approves)",
        request=InputSerializer,
        responses={200: RiskTierOutputSerializer},
    )
    def post(self, request: Request, name: str) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        model = _model(name)
        api_key_project_require(key=request_api_key(request), registered_model=model)
        user: User = request.user  # type: ignore[assignment]
        governance = risk_tier_override_request(
            registered_model=model,
            tier=serializer.validated_data["tier"],
            justification=serializer.validated_data["justification"],
            actor=user,
        )
        return Response(RiskTierOutputSerializer(governance).data)


class TierOverrideApproveApi(APIView):
    @extend_schema(
        operation_id="tier_override_approve",
        tags=[RECORDS_TAG],
        summary="Approve the pending tier override (not by the person who proposed it)",
        request=None,
        responses={200: RiskTierOutputSerializer, **error_responses(409)},
    )
    def post(self, request: Request, name: str) -> Response:
        model = _model(name)
        api_key_project_require(key=request_api_key(request), registered_model=model)
        user: User = request.user  # type: ignore[assignment]
        governance: ModelGovernance = risk_tier_override_approve(registered_model=model, actor=user)
        return Response(RiskTierOutputSerializer(governance).data)


class EvidenceBundleApi(APIView):
    @extend_schema(
        operation_id="evidence_bundle",
        tags=["audit & lineage"],
        summary="Zip of lineage, signed decisions, sign-offs, audit slice and document digests, with verify.py",
        responses={(200, "application/zip"): OpenApiTypes.BINARY},
    )
    def get(self, request: Request, name: str, version: int) -> HttpResponse:
        model_version = _version(name, version)
        response = HttpResponse(
            evidence_bundle_build(model_version=model_version), content_type="application/zip"
        )
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
        response["Content-Disposition"] = f'attachment; filename="mlgov-evidence-{safe}-v{version}.zip"'
        return response
