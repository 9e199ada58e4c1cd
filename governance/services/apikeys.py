"""CI API keys: created once (the secret is shown once and stored only as a hash), scoped, revocable."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from governance.models import ApiKey
from governance.services.audit import audit_event_record

KEY_PREFIX = "mlg"


def api_key_hash(secret: str) -> str:
    # The secret has 256 bits of entropy, so a plain SHA-256 cannot be brute-forced; no slow KDF is needed.
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class IssuedApiKey:
    api_key: ApiKey
    secret: str  # shown to the caller once; never stored


@transaction.atomic
def api_key_create(
    *, name: str, scopes: list[str], user: User, project: str = "", actor: User | str
) -> IssuedApiKey:
    unknown = set(scopes) - set(ApiKey.Scope.values)
    if not scopes or unknown:
        raise ValueError(f"scopes must be a non-empty subset of {sorted(ApiKey.Scope.values)}")
    prefix = secrets.token_hex(4)
    secret = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(
        name=name,
        project=project,
        prefix=prefix,
        key_hash=api_key_hash(secret),
        scopes=sorted(set(scopes)),
        user=user,
    )
    audit_event_record(
        action="apikey.created",
        actor=actor,
        target=key,
        data={
            "name": name,
            "project": project,
            "scopes": key.scopes,
            "user": user.get_username(),
            "prefix": prefix,
        },
    )
    return IssuedApiKey(api_key=key, secret=secret)


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, actor: User | str) -> ApiKey:
    updated = ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    api_key.refresh_from_db()
    if updated == 1:
        audit_event_record(
            action="apikey.revoked", actor=actor, target=api_key, data={"prefix": api_key.prefix}
        )
    return api_key


def api_key_authenticate(*, secret: str) -> ApiKey | None:
    """The active key matching this secret, with last_used_at refreshed at most once a minute."""
    key = (
        ApiKey.objects.select_related("user")
        .filter(key_hash=api_key_hash(secret), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if key is None:
        return None
    now = timezone.now()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key
