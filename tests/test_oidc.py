"""OIDC single sign-on: the backend's claim → role-group mapping, user creation and update, e-mail matching,
and refusing misconfigured role maps. The IdP is external, so the claims are given directly."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.core.exceptions import ImproperlyConfigured

from config.auth_oidc import RoleMappingOIDCBackend
from governance import roles
from governance.models import AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ROLE_MAP = {
    "ml-engineers": "model_owner",
    "model-risk": ["validator", "viewer"],
    "grc": "compliance_officer",
}


@pytest.fixture
def backend(settings: Any) -> RoleMappingOIDCBackend:
    settings.OIDC_RP_CLIENT_ID = "mlgov"
    settings.OIDC_RP_CLIENT_SECRET = "not-a-secret"
    settings.OIDC_OP_TOKEN_ENDPOINT = "https://idp.example/token"
    settings.OIDC_OP_USER_ENDPOINT = "https://idp.example/userinfo"
    settings.OIDC_OP_JWKS_ENDPOINT = "https://idp.example/jwks"
    settings.OIDC_RP_SIGN_ALGO = "RS256"
    settings.OIDC_ROLE_CLAIM = "groups"
    settings.OIDC_ROLE_MAP = ROLE_MAP
    return RoleMappingOIDCBackend()


def claims(**overrides: Any) -> dict[str, Any]:
    return {
        "sub": "00u1",
        "email": "Rita.Risk@example.com",
        "email_verified": True,
        "preferred_username": "rita",
        "given_name": "Rita",
        "family_name": "Risk",
        "groups": ["model-risk", "everyone"],
        **overrides,
    }


def role_names(user: User) -> set[str]:
    return set(user.groups.filter(name__in=roles.ALL_ROLES).values_list("name", flat=True))


@pytest.mark.parametrize(
    ("groups", "expected", "reason"),
    [
        (["ml-engineers"], {"model_owner"}, "one IdP group, one role"),
        (["model-risk"], {"validator", "viewer"}, "one IdP group, several roles"),
        (["ml-engineers", "grc"], {"model_owner", "compliance_officer"}, "roles add up"),
        (["committee_member"], {"committee_member"}, "a role's own name maps to itself"),
        (["everyone", "Admin"], set(), "unmapped groups and case variants grant nothing"),
        ("grc", {"compliance_officer"}, "a single string claim"),
        (None, set(), "no claim, no roles"),
    ],
)
def test_role_claim_maps_to_platform_roles(
    backend: RoleMappingOIDCBackend, groups: Any, expected: set[str], reason: str
) -> None:
    assert backend.roles_from_claims({"groups": groups}) == expected, reason


def test_first_login_creates_the_user_with_mapped_roles_and_audits_it(
    backend: RoleMappingOIDCBackend,
) -> None:
    user = backend.create_user(claims())

    assert (user.username, user.email, user.get_full_name()) == ("rita", "Rita.Risk@example.com", "Rita Risk")
    assert not user.has_usable_password()
    assert role_names(user) == {"validator", "viewer"}
    actions = list(AuditEvent.objects.order_by("sequence").values_list("action", "data"))
    assert actions == [
        ("auth.oidc_user_created", {"email": "Rita.Risk@example.com"}),
        ("auth.oidc_roles_synced", {"granted": ["validator", "viewer"], "revoked": []}),
    ]


def test_taken_preferred_username_falls_back_to_the_generated_one(backend: RoleMappingOIDCBackend) -> None:
    UserFactory.create(username="rita", email="someone.else@example.com")
    user = backend.create_user(claims())
    assert user.username != "rita" and user.email == "Rita.Risk@example.com"


def test_later_logins_follow_the_idp_roles_and_keep_other_groups(backend: RoleMappingOIDCBackend) -> None:
    user = UserFactory.create(username="rita", email="rita.risk@example.com", first_name="R")
    user.groups.add(Group.objects.get_or_create(name="admin")[0], Group.objects.create(name="beta-testers"))

    backend.update_user(user, claims(groups=["ml-engineers"]))

    user.refresh_from_db()
    assert role_names(user) == {"model_owner"}
    assert set(user.groups.values_list("name", flat=True)) == {"model_owner", "beta-testers"}
    assert user.get_full_name() == "Rita Risk"
    synced = AuditEvent.objects.get(action="auth.oidc_roles_synced")
    assert synced.data == {"granted": ["model_owner"], "revoked": ["admin"]}

    backend.update_user(user, claims(groups=["ml-engineers"]))
    assert AuditEvent.objects.filter(action="auth.oidc_roles_synced").count() == 1  # nothing changed


def test_users_are_matched_by_verified_email_only(backend: RoleMappingOIDCBackend) -> None:
    active = UserFactory.create(email="rita.risk@example.com")
    UserFactory.create(email="RITA.RISK@example.com", is_active=False)

    assert list(backend.filter_users_by_claims(claims())) == [active]
    assert not backend.filter_users_by_claims(claims(email="")).exists()
    assert backend.verify_claims(claims())
    assert not backend.verify_claims(claims(email_verified=False))
    assert not backend.verify_claims(claims(email=None))


def test_get_or_create_user_from_the_userinfo_exchange(
    backend: RoleMappingOIDCBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(backend, "get_userinfo", lambda access_token, id_token, payload: claims())

    created = backend.get_or_create_user("access", "id", {})
    again = backend.get_or_create_user("access", "id", {})

    assert created is not None and again is not None and created.pk == again.pk
    assert role_names(again) == {"validator", "viewer"}


def test_a_role_map_naming_unknown_roles_is_refused(settings: Any, backend: Any) -> None:
    settings.OIDC_ROLE_MAP = {"ml-engineers": "owner"}
    with pytest.raises(ImproperlyConfigured, match="unknown roles \\['owner'\\]"):
        RoleMappingOIDCBackend()
