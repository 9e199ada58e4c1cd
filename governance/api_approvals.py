"""REST API (v1) of approval requests and sign-offs: one APIView per operation, thin over the services."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.models import User
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import ApiError
from config.openapi import error_responses
from governance.authentication import request_api_key
from governance.models import ApprovalRequest, ApprovalState, SignOff, SignOffRole, TargetStage
from governance.permissions import api_key_project_require
from governance.services import approvals
from governance.services.records import signoff_record
from registry_sync.models import ModelVersion

APPROVALS_TAG = "approvals"


@extend_schema_serializer(component_name="ApprovalRequest")
class ApprovalOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    model = serializers.CharField(source="model_version.registered_model.name")
    version = serializers.IntegerField(source="model_version.version")
    target = serializers.CharField(source="target_stage")
    state = serializers.ChoiceField(choices=ApprovalState.choices)
    created_by = serializers.CharField(source="created_by.username")
    submitted_by = serializers.CharField(source="submitted_by.username", allow_null=True, default=None)
    submitted_at = serializers.DateTimeField(allow_null=True)
    reviewer = serializers.CharField(source="reviewer.username", allow_null=True, default=None)
    decided_by = serializers.CharField(source="decided_by.username", allow_null=True, default=None)
    decided_at = serializers.DateTimeField(allow_null=True)
    decision_comment = serializers.CharField()
    gate_decision = serializers.UUIDField(source="gate_decision_id", allow_null=True)
    created_at = serializers.DateTimeField()


def _approval(pk: int) -> ApprovalRequest:
    request = (
        ApprovalRequest.objects.select_related(
            "model_version__registered_model", "created_by", "submitted_by", "reviewer", "decided_by"
        )
        .filter(pk=pk)
        .first()
    )
    if request is None:
        raise ApiError(f"No approval request {pk}.", code="APPROVAL_NOT_FOUND", status_code=404)
    return request


class ApprovalCreateApi(APIView):
    @extend_schema_serializer(component_name="ApprovalCreateRequest")
    class InputSerializer(serializers.Serializer):
        model = serializers.CharField(max_length=256)
        version = serializers.IntegerField(min_value=1, max_value=2**31 - 1)
        target = serializers.ChoiceField(choices=TargetStage.choices)

    @extend_schema(
        operation_id="approval_create",
        tags=[APPROVALS_TAG],
        summary="Open an approval request (draft) for a model version and target",
        request=InputSerializer,
        responses={201: ApprovalOutputSerializer, **error_responses(404, 409)},
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        version = (
            ModelVersion.objects.select_related("registered_model")
            .filter(registered_model__name=data["model"], version=data["version"])
            .first()
        )
        if version is None:
            raise ApiError(
                f"{data['model']} v{data['version']} is not in the inventory.",
                code="VERSION_NOT_FOUND",
                status_code=404,
            )
        api_key_project_require(key=request_api_key(request), registered_model=version.registered_model)
        user: User = request.user  # type: ignore[assignment]
        created = approvals.approval_request_create(model_version=version, target=data["target"], actor=user)
        return Response(ApprovalOutputSerializer(_approval(created.pk)).data, status=status.HTTP_201_CREATED)


class ApprovalDetailApi(APIView):
    @extend_schema(
        operation_id="approval_detail", tags=[APPROVALS_TAG], responses={200: ApprovalOutputSerializer}
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(ApprovalOutputSerializer(_approval(pk)).data)


class _TransitionApi(APIView):
    """POST /approvals/{id}/<action>: one subclass per transition."""

    action = ""

    @extend_schema_serializer(component_name="ApprovalTransitionRequest")
    class InputSerializer(serializers.Serializer):
        comment = serializers.CharField(required=False, allow_blank=True, max_length=4000, default="")

    def perform(self, approval: ApprovalRequest, user: User, comment: str) -> ApprovalRequest:
        raise NotImplementedError

    def post(self, request: Request, pk: int) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        approval = _approval(pk)
        api_key_project_require(
            key=request_api_key(request), registered_model=approval.model_version.registered_model
        )
        user: User = request.user  # type: ignore[assignment]
        self.perform(approval, user, serializer.validated_data["comment"])
        return Response(ApprovalOutputSerializer(_approval(pk)).data)


def _transition_schema(action: str, summary: str) -> Callable[[type[_TransitionApi]], type[_TransitionApi]]:
    def decorate(cls: type[_TransitionApi]) -> type[_TransitionApi]:
        # A function of its own per class: the schema is attached to the function object.
        def post(self: _TransitionApi, request: Request, pk: int) -> Response:
            return _TransitionApi.post(self, request, pk)

        cls.post = extend_schema(  # type: ignore[method-assign]
            operation_id=f"approval_{action.replace('-', '_')}",
            tags=[APPROVALS_TAG],
            summary=summary,
            request=_TransitionApi.InputSerializer,
            responses={200: ApprovalOutputSerializer, **error_responses(409)},
        )(post)
        return cls

    return decorate


@_transition_schema("submit", "Submit a draft for review")
class ApprovalSubmitApi(_TransitionApi):
    def perform(self, approval: ApprovalRequest, user: User, comment: str) -> ApprovalRequest:
        return approvals.approval_request_submit(request=approval, actor=user)


@_transition_schema("start-review", "Take a submitted request into review")
class ApprovalStartReviewApi(_TransitionApi):
    def perform(self, approval: ApprovalRequest, user: User, comment: str) -> ApprovalRequest:
        return approvals.approval_request_start_review(request=approval, actor=user)


@_transition_schema("approve", "Approve (the gate must allow now; the decision is linked)")
class ApprovalApproveApi(_TransitionApi):
    def perform(self, approval: ApprovalRequest, user: User, comment: str) -> ApprovalRequest:
        return approvals.approval_request_approve(request=approval, actor=user, comment=comment)


@_transition_schema("reject", "Reject with a comment")
class ApprovalRejectApi(_TransitionApi):
    def perform(self, approval: ApprovalRequest, user: User, comment: str) -> ApprovalRequest:
        return approvals.approval_request_reject(request=approval, actor=user, comment=comment)


@_transition_schema("withdraw", "Withdraw your own request")
class ApprovalWithdrawApi(_TransitionApi):
    def perform(self, approval: ApprovalRequest, user: User, comment: str) -> ApprovalRequest:
        return approvals.approval_request_withdraw(request=approval, actor=user)


@_transition_schema("retire", "Retire a deployed version")
class ApprovalRetireApi(_TransitionApi):
    def perform(self, approval: ApprovalRequest, user: User, comment: str) -> ApprovalRequest:
        return approvals.approval_request_retire(request=approval, actor=user)


class ApprovalSignOffApi(APIView):
    @extend_schema_serializer(component_name="SignOffRequest")
    class InputSerializer(serializers.Serializer):
        role = serializers.ChoiceField(choices=SignOffRole.choices)
        comment = serializers.CharField(required=False, allow_blank=True, max_length=4000, default="")
        evidence = serializers.ListField(
            child=serializers.RegexField(r"^[0-9a-f]{64}$"), required=False, default=list, max_length=50
        )

    @extend_schema_serializer(component_name="SignOff")
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        role = serializers.CharField()
        user = serializers.CharField(source="user.username")
        target = serializers.CharField(source="target_stage")
        comment = serializers.CharField()
        evidence = serializers.ListField(child=serializers.CharField())
        created_at = serializers.DateTimeField()

    @extend_schema(
        operation_id="approval_signoff",
        tags=[APPROVALS_TAG],
        summary="Sign off the request's version in a role you hold (separation of duties enforced)",
        request=InputSerializer,
        responses={201: OutputSerializer, **error_responses(409)},
    )
    def post(self, request: Request, pk: int) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        approval = _approval(pk)
        if approval.state not in {ApprovalState.SUBMITTED, ApprovalState.IN_REVIEW}:
            raise ApiError(
                f"Sign-offs are taken while a request is in review, not {approval.state}.",
                code="INVALID_TRANSITION",
                status_code=409,
            )
        api_key_project_require(
            key=request_api_key(request), registered_model=approval.model_version.registered_model
        )
        data = serializer.validated_data
        user: User = request.user  # type: ignore[assignment]
        signoff: SignOff = signoff_record(
            model_version=approval.model_version,
            target=approval.target_stage,
            role=data["role"],
            user=user,
            comment=data["comment"],
            evidence=data["evidence"],
        )
        return Response(self.OutputSerializer(signoff).data, status=status.HTTP_201_CREATED)
