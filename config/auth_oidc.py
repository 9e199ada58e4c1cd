"""Optional single sign-on through OpenID Connect (mozilla-django-oidc), enabled by OIDC_ENABLED: the IdP's
group claim decides the platform role groups of the user at every login."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.auth.models import Group, User
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import QuerySet
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from governance import roles
from governance.services.audit import audit_event_record

OIDC_ACTOR = "system:oidc"


def oidc_role_map(*, raw: Mapping[str, Any]) -> dict[str, frozenset[str]]:
    """IdP group → platform roles, from OIDC_ROLE_MAP (a value is one role name or a list of them). Role
    names the platform does not know are a configuration error, not a silently ignored line."""
    mapping: dict[str, frozenset[str]] = {}
    for idp_group, value in raw.items():
        names = frozenset([value] if isinstance(value, str) else value)
        unknown = names - set(roles.ALL_ROLES)
        if unknown:
            raise ImproperlyConfigured(
                f"OIDC_ROLE_MAP[{idp_group!r}] names unknown roles {sorted(unknown)}; "
                f"the roles are {', '.join(roles.ALL_ROLES)}."
            )
        mapping[str(idp_group)] = names
    return mapping


def _claim_values(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, Iterable):
        return [str(item) for item in value]
    return [str(value)]


@transaction.atomic
def user_roles_sync(*, user: User, role_names: frozenset[str]) -> None:
    """Make the user's platform role groups exactly `role_names` (other groups are left alone); audited."""
    current = set(user.groups.filter(name__in=roles.ALL_ROLES).values_list("name", flat=True))
    granted, revoked = sorted(role_names - current), sorted(current - role_names)
    if not granted and not revoked:
        return
    if granted:
        user.groups.add(*(Group.objects.get_or_create(name=name)[0] for name in granted))
    if revoked:
        user.groups.remove(*Group.objects.filter(name__in=revoked))
    audit_event_record(
        action="auth.oidc_roles_synced",
        actor=OIDC_ACTOR,
        target=user,
        data={"granted": granted, "revoked": revoked},
    )


class RoleMappingOIDCBackend(OIDCAuthenticationBackend):
    """Matches users by verified e-mail, creates them on first login, and maps the `OIDC_ROLE_CLAIM` claim
    through `OIDC_ROLE_MAP` onto the role groups; a claim value equal to a role name maps to that role."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.role_claim: str = self.get_settings("OIDC_ROLE_CLAIM", "groups")
        self.role_map = oidc_role_map(raw=self.get_settings("OIDC_ROLE_MAP", {}))

    def roles_from_claims(self, claims: Mapping[str, Any]) -> frozenset[str]:
        names: set[str] = set()
        for value in _claim_values(claims.get(self.role_claim)):
            if value in self.role_map:
                names |= self.role_map[value]
            elif value in roles.ALL_ROLES:
                names.add(value)
        return frozenset(names)

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        # Users are matched by e-mail, so an address the IdP has not verified must not log anyone in.
        return bool(claims.get("email")) and claims.get("email_verified", True) is not False

    def filter_users_by_claims(self, claims: dict[str, Any]) -> QuerySet[User]:
        email = claims.get("email")
        if not email:
            return User.objects.none()
        return User.objects.filter(email__iexact=email, is_active=True)

    def get_username(self, claims: dict[str, Any]) -> str:
        preferred = str(claims.get("preferred_username") or "")[:150]
        if preferred and not User.objects.filter(username=preferred).exists():
            return preferred
        username: str = super().get_username(claims)
        return username

    @transaction.atomic
    def create_user(self, claims: dict[str, Any]) -> User:
        user = User.objects.create_user(
            self.get_username(claims),
            email=claims["email"],
            first_name=str(claims.get("given_name") or "")[:150],
            last_name=str(claims.get("family_name") or "")[:150],
        )
        audit_event_record(
            action="auth.oidc_user_created", actor=OIDC_ACTOR, target=user, data={"email": user.email}
        )
        user_roles_sync(user=user, role_names=self.roles_from_claims(claims))
        return user

    def update_user(self, user: User, claims: dict[str, Any]) -> User:
        names = {
            "first_name": str(claims.get("given_name") or user.first_name)[:150],
            "last_name": str(claims.get("family_name") or user.last_name)[:150],
        }
        if any(getattr(user, field) != value for field, value in names.items()):
            User.objects.filter(pk=user.pk).update(**names)
            for field, value in names.items():
                setattr(user, field, value)
        user_roles_sync(user=user, role_names=self.roles_from_claims(claims))
        return user
