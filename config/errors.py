"""One place that maps API errors to the house shape: {"error": {"code", "message", "details"}}."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import BadRequest, PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler


class ServiceError(Exception):
    """A refusal from a service: a stable code, a message for people, the HTTP status it maps to, details.

    Services raise subclasses (GateError, AssessmentError, ...); the API exception handler turns any of them
    into the house error shape, so views need no translation code of their own.
    """

    def __init__(self, message: str, *, code: str, status: int = 400, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.details = details


logger = logging.getLogger(__name__)


class MalformedRequest(BadRequest):
    """Raised before routing (middleware) for input no view can use; handler400 answers with its message."""

    code = "MALFORMED_REQUEST"


class ApiError(exceptions.APIException):
    """A domain error with a stable machine-readable code, raised from views or services."""

    status_code: int = status.HTTP_400_BAD_REQUEST
    default_code = "BAD_REQUEST"

    def __init__(
        self, message: str, *, code: str | None = None, status_code: int | None = None, details: Any = None
    ) -> None:
        super().__init__(detail=message, code=code or self.default_code)
        self.error_code = code or self.default_code
        if status_code is not None:
            self.status_code = status_code
        self.details = details


_CODES_BY_CLASS: dict[type[exceptions.APIException], str] = {
    exceptions.ValidationError: "VALIDATION_ERROR",
    exceptions.ParseError: "MALFORMED_REQUEST",
    exceptions.AuthenticationFailed: "AUTHENTICATION_FAILED",
    exceptions.NotAuthenticated: "NOT_AUTHENTICATED",
    exceptions.PermissionDenied: "PERMISSION_DENIED",
    exceptions.NotFound: "NOT_FOUND",
    exceptions.MethodNotAllowed: "METHOD_NOT_ALLOWED",
    exceptions.NotAcceptable: "NOT_ACCEPTABLE",
    exceptions.UnsupportedMediaType: "UNSUPPORTED_MEDIA_TYPE",
    exceptions.Throttled: "RATE_LIMITED",
}


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details if details is not None else {}}}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ServiceError):
        exc = ApiError(exc.message, code=exc.code, status_code=exc.status, details=exc.details)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(detail=exc.messages)
    elif isinstance(exc, DataError):
        # Last line of defence: the database refused a value (a NUL byte, a number out of range) that validation
        # should have caught. The client sent something unusable, so it gets a 400; the log keeps the trace so the
        # missing validation gets added.
        logger.warning("database refused a request value: %s", exc, exc_info=exc)
        exc = ApiError("A value in the request cannot be stored.", code="INVALID_VALUE")

    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, ApiError):
        response.data = error_body(exc.error_code, str(exc.detail), exc.details)
        return response
    if isinstance(exc, exceptions.ValidationError):
        response.data = error_body("VALIDATION_ERROR", "The request is invalid.", exc.detail)
        return response
    assert isinstance(exc, exceptions.APIException)
    code = next((c for cls, c in _CODES_BY_CLASS.items() if isinstance(exc, cls)), "ERROR")
    response.data = error_body(code, str(exc.detail))
    return response


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: a path under /api/ that no route matches answers in the house shape, not an HTML page."""
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("NOT_FOUND", "No API endpoint or object at this path."), status=404)
    return defaults.page_not_found(request, exception)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler400: Django's own refusals (a body over DATA_UPLOAD_MAX_MEMORY_SIZE, ...) in the house shape."""
    if request.path.startswith("/api/"):
        if isinstance(exception, RequestDataTooBig):
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            body = error_body("REQUEST_TOO_LARGE", f"The request body is larger than {limit} bytes.")
        elif isinstance(exception, MalformedRequest):
            body = error_body(MalformedRequest.code, str(exception))
        else:
            body = error_body("BAD_REQUEST", "The request was refused.")
        return JsonResponse(body, status=400)
    return defaults.bad_request(request, exception)
