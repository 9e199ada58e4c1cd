"""MLflow webhook intake: verify the signature over the raw body, reject stale or replayed deliveries,
record the delivery and enqueue a targeted sync after commit."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from config.errors import ServiceError
from config.observability import ENQUEUE_FAILURES
from governance.services.audit import audit_event_record
from registry_sync.models import WebhookDelivery

logger = logging.getLogger(__name__)

SIGNATURE_VERSION = "v1"
# Events whose payload names a model (and maybe a version) we mirror; prompt events are acknowledged only.
SYNC_EVENTS = {
    "registered_model.created",
    "model_version.created",
    "model_version_tag.set",
    "model_version_tag.deleted",
    "model_version_alias.created",
    "model_version_alias.deleted",
}
WEBHOOK_ACTOR = "system:mlflow-webhook"


class WebhookRejected(ServiceError):
    def __init__(self, code: str, message: str, *, status: int) -> None:
        super().__init__(message, code=code, status=status)


@dataclass(frozen=True)
class AcceptedDelivery:
    delivery_id: str
    event: str
    model_name: str
    version: int | None
    queued_sync: bool


def webhook_signature(*, secret: str, delivery_id: str, timestamp: str, body: bytes) -> str:
    signed = delivery_id.encode() + b"." + timestamp.encode() + b"." + body
    digest = hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode()}"


def _secrets() -> list[str]:
    # The previous secret stays valid during a rotation window (see docs/operations.md).
    return [s for s in (settings.MLFLOW_WEBHOOK_SECRET, settings.MLFLOW_WEBHOOK_PREVIOUS_SECRET) if s]


def _verify(*, delivery_id: str, timestamp: str, signature: str, body: bytes, now: float) -> None:
    if not delivery_id or not timestamp or not signature:
        raise WebhookRejected(
            "WEBHOOK_SIGNATURE_MISSING",
            "X-MLflow-Delivery-Id, X-MLflow-Timestamp and X-MLflow-Signature headers are required.",
            status=401,
        )
    secrets = _secrets()
    if not secrets:
        raise WebhookRejected(
            "WEBHOOK_NOT_CONFIGURED", "No MLFLOW_WEBHOOK_SECRET is configured on this server.", status=403
        )
    try:
        sent = int(timestamp)
    except ValueError:
        raise WebhookRejected(
            "WEBHOOK_TIMESTAMP_INVALID", "X-MLflow-Timestamp must be Unix seconds.", status=401
        ) from None
    offered = signature.split()
    if not any(
        hmac.compare_digest(
            candidate,
            webhook_signature(secret=secret, delivery_id=delivery_id, timestamp=timestamp, body=body),
        )
        for secret in secrets
        for candidate in offered
    ):
        raise WebhookRejected(
            "WEBHOOK_SIGNATURE_INVALID", "The webhook signature does not match.", status=401
        )
    if abs(now - sent) > settings.MLFLOW_WEBHOOK_MAX_AGE_SECONDS:
        raise WebhookRejected(
            "WEBHOOK_STALE",
            f"The delivery timestamp is more than {settings.MLFLOW_WEBHOOK_MAX_AGE_SECONDS} s away from now.",
            status=401,
        )


def _parse(body: bytes) -> tuple[str, str, int | None, dict[str, Any]]:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError):  # RecursionError: nested too deep to decode
        raise WebhookRejected("MALFORMED_REQUEST", "The body is not valid JSON.", status=400) from None
    if not isinstance(document, dict) or not isinstance(document.get("data"), dict):
        raise WebhookRejected(
            "MALFORMED_REQUEST", "Expected an object with entity, action and data.", status=400
        )
    entity, action, data = document.get("entity"), document.get("action"), document["data"]
    if not isinstance(entity, str) or not isinstance(action, str):
        raise WebhookRejected("MALFORMED_REQUEST", "entity and action must be strings.", status=400)
    event = f"{entity}.{action}"
    name = data.get("name", "")
    if event in SYNC_EVENTS and (not isinstance(name, str) or not name):
        raise WebhookRejected("MALFORMED_REQUEST", "data.name must name the registered model.", status=400)
    version: int | None = None
    raw_version = data.get("version")
    if raw_version is not None and event in SYNC_EVENTS:
        try:
            version = int(raw_version)
        except (TypeError, ValueError):
            raise WebhookRejected(
                "MALFORMED_REQUEST", "data.version must be a version number.", status=400
            ) from None
        if version < 1:
            raise WebhookRejected("MALFORMED_REQUEST", "data.version must be positive.", status=400)
    return event, name if isinstance(name, str) else "", version, document


def _enqueue_targeted_sync(model_name: str, version: int | None) -> None:
    from registry_sync.tasks import sync_registry_targeted

    try:
        sync_registry_targeted.delay(model_name, version)
    except Exception:
        # The periodic incremental and full passes pick the change up; the delivery itself is recorded.
        ENQUEUE_FAILURES.labels(task=sync_registry_targeted.name).inc()
        logger.exception("could not run targeted sync for %s/%s", model_name, version)


def webhook_delivery_accept(
    *, delivery_id: str, timestamp: str, signature: str, body: bytes, now: float | None = None
) -> AcceptedDelivery:
    """Verify and record one delivery; raises WebhookRejected (nothing written) when it must be refused."""
    _verify(
        delivery_id=delivery_id,
        timestamp=timestamp,
        signature=signature,
        body=body,
        now=time.time() if now is None else now,
    )
    event, model_name, version, document = _parse(body)
    queue = event in SYNC_EVENTS
    try:
        with transaction.atomic():
            delivery = WebhookDelivery.objects.create(
                delivery_id=delivery_id[:128],
                event=event[:64],
                model_name=model_name[:256],
                version=version,
                payload=document,
                sent_at=datetime.fromtimestamp(int(timestamp), tz=UTC),
            )
            audit_event_record(
                action="registry.webhook_received",
                actor=WEBHOOK_ACTOR,
                target=delivery,
                data={"event": event, "model": model_name, "version": version, "queued_sync": queue},
            )
            if queue:
                transaction.on_commit(lambda: _enqueue_targeted_sync(model_name, version))
    except IntegrityError:
        raise WebhookRejected(
            "WEBHOOK_REPLAYED", f"Delivery {delivery_id} was already received.", status=409
        ) from None
    return AcceptedDelivery(delivery_id, event, model_name, version, queue)
