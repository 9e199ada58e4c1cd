"""DRF authentication and permissions for CI API keys (`Authorization: Bearer mlg_...`)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from governance.models import ApiKey
from governance.services.apikeys import KEY_PREFIX, api_key_authenticate


class ApiKeyAuthentication(BaseAuthentication):
    keyword = b"bearer"

    def authenticate(self, request: Request) -> tuple[Any, ApiKey] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Authorization header must be 'Bearer <api key>'.")
        try:
            secret = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("The API key is malformed.") from None
        if not secret.startswith(f"{KEY_PREFIX}_"):
            raise exceptions.AuthenticationFailed("The API key is malformed.")
        key = api_key_authenticate(secret=secret)
        if key is None:
            raise exceptions.AuthenticationFailed("The API key is unknown or revoked.")
        return key.user, key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="mlgov"'


def request_api_key(request: Request) -> ApiKey | None:
    """The CI key the request authenticated with, if any (sessions have none)."""
    return request.auth if isinstance(request.auth, ApiKey) else None


def has_scope_or_role(request: Request, *, scope: str, roles: set[str]) -> bool:
    """API keys need the scope; interactive users need one of the roles (or be superuser)."""
    if isinstance(request.auth, ApiKey):
        return scope in request.auth.scopes
    user = request.user
    if not user or not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return user.groups.filter(name__in=roles).exists()


class ScopedPermission(BasePermission):
    scope: str = ""
    roles: set[str] = set()
    message = "This credential lacks the scope or role this operation needs."

    def has_permission(self, request: Request, view: Any) -> bool:
        return has_scope_or_role(request, scope=self.scope, roles=self.roles)


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "governance.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A CI API key: `Bearer mlg_<prefix>_<secret>`.",
        }
