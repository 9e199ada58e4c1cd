"""OpenAPI generation: every operation documents the error responses the API really gives, in the house
shape {"error": {"code", "message", "details"}} (config.errors), so clients and schemathesis can rely on it.

`AutoSchema` adds the errors any view of its kind can return (validation, authentication, permission, not
found, throttling); `error_responses(...)` documents an operation's own refusals in its `@extend_schema`.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiResponse, extend_schema_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny


@extend_schema_serializer(component_name="ErrorDetail")
class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine-readable code, e.g. VALIDATION_ERROR.")
    message = serializers.CharField()
    details = serializers.JSONField(help_text="Field errors or context; {} when there is nothing more.")


@extend_schema_serializer(component_name="Error")
class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


ERROR_DESCRIPTIONS = {
    400: "The request is invalid (malformed body, field errors, or a refusal of the service).",
    401: "No credential, or an unknown, revoked or malformed one.",
    403: "The credential lacks the role, scope or object permission this operation needs (or a CSRF failure).",
    404: "The object named in the path, or a page past the end, does not exist.",
    409: "The object is not in a state that allows this operation; nothing changed.",
    413: "The upload is larger than allowed.",
    415: "The body's media type is not accepted.",
    429: "Rate limited; retry after the Retry-After header's seconds.",
    503: "A dependency (MLflow) is unavailable; nothing changed.",
}


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """Error responses for `@extend_schema(responses={200: X, **error_responses(409)})`."""
    return {
        status: OpenApiResponse(ErrorSerializer, description=ERROR_DESCRIPTIONS[status])
        for status in statuses
    }


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's AutoSchema plus the error responses the operation's view can produce."""

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        responses = operation.setdefault("responses", {})
        for status in self._generic_error_statuses(operation):
            responses.setdefault(
                str(status), self._get_response_for_code(error_responses(status)[status], str(status))
            )
        return operation

    def _generic_error_statuses(self, operation: dict[str, Any]) -> list[int]:
        query = [p for p in operation.get("parameters", []) if p.get("in") == "query"]
        has_body = "requestBody" in operation
        statuses = []
        if has_body or query:
            statuses.append(400)
        if not all(isinstance(p, AllowAny) for p in self.view.get_permissions()):
            # DRF answers 401 when the first authenticator names a WWW-Authenticate scheme, else 403.
            authenticators = self.view.get_authenticators()
            if authenticators and authenticators[0].authenticate_header(self.view.request):
                statuses.append(401)
            statuses.append(403)
        if any(p.get("in") == "path" for p in operation.get("parameters", [])) or any(
            p.get("name") == "page" for p in query
        ):
            statuses.append(404)
        if has_body:
            statuses.append(415)
        if self.view.get_throttles():
            statuses.append(429)
        return statuses
