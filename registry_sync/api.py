"""REST endpoints of the registry mirror: the MLflow webhook receiver."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import ApiError
from config.openapi import error_responses
from registry_sync.services import WebhookRejected, webhook_delivery_accept


class MlflowWebhookApi(APIView):
    """Receives MLflow registry webhooks; authenticated by the HMAC signature, not by a session."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema_serializer(component_name="MlflowWebhookAccepted")
    class OutputSerializer(serializers.Serializer):
        delivery_id = serializers.CharField()
        event = serializers.CharField()
        model = serializers.CharField(allow_blank=True)
        version = serializers.IntegerField(allow_null=True)
        status = serializers.ChoiceField(choices=["sync_queued", "ignored"])

    @extend_schema(
        operation_id="registry_webhook_mlflow",
        tags=["registry sync"],
        summary="Receive an MLflow model-registry webhook",
        description=(
            "Verifies `X-MLflow-Signature` (`v1,` + base64 HMAC-SHA256 of `delivery_id.timestamp.raw_body`), "
            "rejects deliveries older than 5 minutes and replayed delivery ids, then queues a targeted sync."
        ),
        parameters=[
            OpenApiParameter("X-MLflow-Delivery-Id", str, OpenApiParameter.HEADER, required=True),
            OpenApiParameter("X-MLflow-Timestamp", str, OpenApiParameter.HEADER, required=True),
            OpenApiParameter("X-MLflow-Signature", str, OpenApiParameter.HEADER, required=True),
        ],
        request=inline_serializer(
            "MlflowWebhookPayload",
            fields={
                "entity": serializers.CharField(),
                "action": serializers.CharField(),
                "timestamp": serializers.CharField(),
                "data": serializers.DictField(),
            },
        ),
        responses={202: OutputSerializer, **error_responses(401, 403, 409)},
    )
    def post(self, request: Request) -> Response:
        try:
            accepted = webhook_delivery_accept(
                delivery_id=request.headers.get("X-MLflow-Delivery-Id", ""),
                timestamp=request.headers.get("X-MLflow-Timestamp", ""),
                signature=request.headers.get("X-MLflow-Signature", ""),
                body=request.body,
            )
        except WebhookRejected as exc:
            raise ApiError(exc.message, code=exc.code, status_code=exc.status) from exc
        body = self.OutputSerializer(
            {
                "delivery_id": accepted.delivery_id,
                "event": accepted.event,
                "model": accepted.model_name,
                "version": accepted.version,
                "status": "sync_queued" if accepted.queued_sync else "ignored",
            }
        ).data
        return Response(body, status=status.HTTP_202_ACCEPTED)
