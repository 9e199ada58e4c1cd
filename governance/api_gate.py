"""REST API (v1) of the approval gate, called by CI: evaluate, promote, fetch a decision, the public key."""

from __future__ import annotations

import uuid
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import ApiError
from config.openapi import error_responses
from config.throttling import WindowRateThrottle
from governance import roles, selectors
from governance.authentication import ScopedPermission, request_api_key
from governance.models import ApiKey, Deployment, GateDecision, TargetStage
from governance.permissions import ModelAction, api_key_project_require, model_action_require
from governance.services.gate import gate_evaluate, gate_promote, gate_public_key

GATE_TAG = "approval gate"


class CanEvaluate(ScopedPermission):
    scope = ApiKey.Scope.EVALUATE
    roles = {
        roles.MODEL_OWNER,
        roles.VALIDATOR,
        roles.COMPLIANCE_OFFICER,
        roles.COMMITTEE_MEMBER,
        roles.ADMIN,
    }


class CanPromote(ScopedPermission):
    scope = ApiKey.Scope.PROMOTE
    roles = {roles.MODEL_OWNER, roles.ADMIN}


_TIMESTAMP = serializers.DateTimeField()  # renders evaluated_at as every other API timestamp


@extend_schema_serializer(component_name="GateDecision")
class GateDecisionOutputSerializer(serializers.Serializer):
    decision_id = serializers.UUIDField(source="id")
    model = serializers.CharField(source="model_version.registered_model.name")
    version = serializers.IntegerField(source="model_version.version")
    target = serializers.CharField(source="target_stage")
    allow = serializers.BooleanField()
    risk_tier = serializers.CharField()
    reasons = serializers.ListField(child=serializers.DictField())
    required_signoffs = serializers.ListField(child=serializers.DictField())
    auto_deploy = serializers.BooleanField()
    bundle_digest = serializers.CharField()
    input_digest = serializers.CharField()
    engine = serializers.CharField()
    evaluated_at = serializers.DateTimeField()
    signed_document = serializers.DictField(
        help_text="The exact document the signature covers (canonical JSON)."
    )
    signature = serializers.CharField(help_text="Base64 Ed25519 signature of the canonical signed_document.")
    key_id = serializers.CharField()

    _SIGNED_FIELDS = (
        "model", "version", "target", "allow", "risk_tier", "reasons", "required_signoffs", "auto_deploy",
        "bundle_digest", "input_digest", "engine",
    )  # fmt: skip

    def to_representation(self, instance: GateDecision) -> dict[str, Any]:
        """The declared fields, read from the signed document the decision already holds: on the gate's hot path
        this skips building the 17 field objects per response. tests/gate/test_gate_api.py checks the result
        equals the generic field-by-field rendering."""
        signed = instance.signed_document
        return {
            "decision_id": str(instance.pk),
            **{name: signed[name] for name in self._SIGNED_FIELDS},
            "evaluated_at": _TIMESTAMP.to_representation(instance.evaluated_at),
            "signed_document": signed,
            "signature": instance.signature,
            "key_id": instance.key_id,
        }


class GateEvaluateApi(APIView):
    permission_classes = [CanEvaluate]
    throttle_classes = [WindowRateThrottle]
    throttle_scope = "gate"

    @extend_schema_serializer(component_name="GateEvaluateRequest")
    class InputSerializer(serializers.Serializer):
        model = serializers.CharField(max_length=256)
        version = serializers.IntegerField(min_value=1, max_value=2**31 - 1)
        target = serializers.ChoiceField(choices=TargetStage.choices)

    @extend_schema(
        operation_id="gate_evaluate",
        tags=[GATE_TAG],
        summary="May this model version go to this target?",
        description=(
            "Builds the policy input from the inventory (the request names the version; nothing else it sends is "
            "used), evaluates the Rego gate fail-closed and returns the signed decision. A deny is a 200 with "
            "`allow: false` and reasons."
        ),
        request=InputSerializer,
        responses={200: GateDecisionOutputSerializer, **error_responses(404)},
    )
    def post(self, request: Request) -> Response:
        data = plain_evaluate_request(request.data)
        if data is None:
            serializer = self.InputSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
        decision = gate_evaluate(
            model_name=data["model"],
            version=data["version"],
            target=data["target"],
            caller=request.user,  # type: ignore[arg-type]
            api_key=request_api_key(request),
        )
        return Response(GateDecisionOutputSerializer(decision).data)


_MAX_VERSION = 2**31 - 1
_TARGETS = frozenset(TargetStage.values)


def plain_evaluate_request(data: Any) -> dict[str, Any] | None:
    """The evaluate body as InputSerializer would validate it, for the plain form every CI call sends (a JSON object
    with an ASCII model name, a version number or digit string in range, a known target); None for anything else,
    which the serializer then validates and explains. DRF builds and runs fresh field objects per request (about a
    tenth of a millisecond); tests/gate/test_gate_api.py checks over generated bodies that whatever this accepts,
    the serializer accepts with the same result."""
    if type(data) is not dict:
        return None
    model, version, target = data.get("model"), data.get("version"), data.get("target")
    if not (
        type(model) is str
        and 0 < len(model) <= 256
        and model.isascii()
        and model.isprintable()
        and model == model.strip()
    ):
        return None
    if type(version) is str and 0 < len(version) <= 10 and version.isascii() and version.isdigit():
        version = int(version)
    if type(version) is not int or not 1 <= version <= _MAX_VERSION:
        return None
    if type(target) is not str or target not in _TARGETS:
        return None
    return {"model": model, "version": version, "target": target}


class GatePromoteApi(APIView):
    permission_classes = [CanPromote]
    throttle_classes = [WindowRateThrottle]
    throttle_scope = "gate"

    @extend_schema_serializer(component_name="GatePromoteRequest")
    class InputSerializer(serializers.Serializer):
        decision_id = serializers.UUIDField()

    @extend_schema_serializer(component_name="Deployment")
    class OutputSerializer(serializers.Serializer):
        deployment_id = serializers.IntegerField(source="id")
        decision_id = serializers.UUIDField(source="gate_decision_id")
        model = serializers.CharField(source="model_version.registered_model.name")
        version = serializers.IntegerField(source="model_version.version")
        target = serializers.CharField(source="target_stage")
        alias = serializers.CharField()
        previous_version = serializers.IntegerField(allow_null=True)
        deployed_by = serializers.CharField()
        deployed_at = serializers.DateTimeField()

    @extend_schema(
        operation_id="gate_promote",
        tags=[GATE_TAG],
        summary="Promote: the platform sets the target's MLflow alias for an allowing decision",
        description="409 when the decision denied, expired or was already promoted; nothing changes then.",
        request=InputSerializer,
        responses={201: OutputSerializer, **error_responses(404, 409, 503)},
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        decision_id = serializer.validated_data["decision_id"]
        self._check_model(request, decision_id)
        deployment: Deployment = gate_promote(
            decision_id=decision_id,
            caller=request.user,  # type: ignore[arg-type]
            api_key=request_api_key(request),
        )
        return Response(self.OutputSerializer(deployment).data, status=status.HTTP_201_CREATED)

    @staticmethod
    def _check_model(request: Request, decision_id: uuid.UUID) -> None:
        """A project key promotes only its team's models; a person only models they steward (or admin)."""
        try:
            decision = selectors.gate_decision_detail(decision_id=decision_id)
        except GateDecision.DoesNotExist:
            return  # the service answers DECISION_NOT_FOUND
        model = decision.model_version.registered_model
        key = request_api_key(request)
        if key is not None:
            api_key_project_require(key=key, registered_model=model)
        else:
            model_action_require(
                user=request.user,  # type: ignore[arg-type]
                action=ModelAction.PROMOTE,
                registered_model=model,
            )


class GateDecisionDetailApi(APIView):
    @extend_schema(
        operation_id="gate_decision_detail",
        tags=[GATE_TAG],
        summary="A stored gate decision with its signature",
        parameters=[OpenApiParameter("decision_id", str, OpenApiParameter.PATH)],
        responses={200: GateDecisionOutputSerializer},
    )
    def get(self, request: Request, decision_id: str) -> Response:
        decision = (
            GateDecision.objects.select_related("model_version__registered_model")
            .filter(pk=decision_id)
            .first()
        )
        if decision is None:
            raise ApiError(f"No gate decision {decision_id}.", code="DECISION_NOT_FOUND", status_code=404)
        return Response(GateDecisionOutputSerializer(decision).data)


class GatePublicKeyApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema_serializer(component_name="GatePublicKey")
    class OutputSerializer(serializers.Serializer):
        algorithm = serializers.CharField()
        key_id = serializers.CharField()
        public_key_pem = serializers.CharField()

    @extend_schema(
        operation_id="gate_public_key",
        tags=[GATE_TAG],
        summary="The Ed25519 public key that verifies gate decision signatures",
        responses={200: OutputSerializer},
    )
    def get(self, request: Request) -> Response:
        return Response(self.OutputSerializer(gate_public_key()).data)


class WhoAmIApi(APIView):
    """Who the credential acts as and what it may do: lets CI check its key before a deployment."""

    @extend_schema_serializer(component_name="WhoAmI")
    class OutputSerializer(serializers.Serializer):
        username = serializers.CharField()
        via = serializers.ChoiceField(choices=["api_key", "session"])
        scopes = serializers.ListField(child=serializers.CharField())
        roles = serializers.ListField(child=serializers.CharField())

    @extend_schema(
        operation_id="whoami",
        tags=[GATE_TAG],
        summary="The caller's identity",
        responses={200: OutputSerializer},
    )
    def get(self, request: Request) -> Response:
        key = request_api_key(request)
        return Response(
            self.OutputSerializer(
                {
                    "username": request.user.get_username(),
                    "via": "api_key" if key else "session",
                    "scopes": key.scopes if key else [],
                    "roles": sorted(request.user.groups.values_list("name", flat=True)),
                }
            ).data
        )
