"""Alertmanager's webhook credential: `Authorization: Bearer <REPORTS_ALERTMANAGER_TOKEN>` (its
http_config.authorization), compared in constant time. An empty setting disables the endpoint. Also the
writer-role check shared by the API and the entry pages."""

from __future__ import annotations

import hmac
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from governance import roles

ALERTMANAGER_PRINCIPAL = "alertmanager"
WRITER_ROLES = {roles.ADMIN, roles.MODEL_OWNER, roles.COMPLIANCE_OFFICER}


def user_can_enter_report_data(user: Any) -> bool:
    """Admins, model owners and compliance officers (or superusers) enter report figures."""
    if not user or not user.is_authenticated:
        return False
    return bool(user.is_superuser or user.groups.filter(name__in=WRITER_ROLES).exists())


class AlertmanagerTokenAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, str] | None:
        expected = str(getattr(settings, "REPORTS_ALERTMANAGER_TOKEN", "") or "")
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != b"bearer":
            return None
        if not expected:
            raise exceptions.AuthenticationFailed("The Alertmanager webhook is not configured.")
        if len(parts) != 2 or not hmac.compare_digest(parts[1], expected.encode("utf-8")):
            raise exceptions.AuthenticationFailed("The Alertmanager token is wrong.")
        return AnonymousUser(), ALERTMANAGER_PRINCIPAL

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="mlgov-alertmanager"'


class IsAlertmanager(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return request.auth == ALERTMANAGER_PRINCIPAL


class AlertmanagerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "reports.authentication.AlertmanagerTokenAuthentication"
    name = "alertmanagerToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "The shared secret REPORTS_ALERTMANAGER_TOKEN (Alertmanager http_config.authorization).",
        }
