"""MLflow webhook receiver: signed deliveries queue a targeted sync; anything else is refused, nothing written."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from django.test import Client
from mlflow import MlflowClient

from governance.models import AuditEvent
from registry_sync.models import ModelAlias, ModelVersion, RegisteredModel, SyncRun, WebhookDelivery
from registry_sync.services.webhooks import webhook_signature
from tests.conftest import wait_until
from tests.mlflow_factory import experiment_id, make_version

URL = "/api/v1/registry/webhooks/mlflow"
SECRET = "test-webhook-secret"


def signed_headers(
    body: bytes, *, secret: str = SECRET, delivery_id: str | None = None, ts: int | None = None
):
    delivery_id = delivery_id or str(uuid.uuid4())
    timestamp = str(int(time.time()) if ts is None else ts)
    signature = webhook_signature(secret=secret, delivery_id=delivery_id, timestamp=timestamp, body=body)
    return {
        "HTTP_X_MLFLOW_DELIVERY_ID": delivery_id,
        "HTTP_X_MLFLOW_TIMESTAMP": timestamp,
        "HTTP_X_MLFLOW_SIGNATURE": signature,
    }


def payload(entity: str, action: str, **data: object) -> bytes:
    return json.dumps(
        {"entity": entity, "action": action, "timestamp": "2026-11-23T10:00:00+00:00", "data": data}
    ).encode()


def post(client: Client, body: bytes, headers: dict[str, str]) -> Any:
    return client.post(URL, data=body, content_type="application/json", **headers)  # type: ignore[arg-type]


@pytest.mark.django_db
@pytest.mark.mlflow
def test_signed_delivery_runs_a_targeted_sync(
    client: Client, mlflow: MlflowClient, django_capture_on_commit_callbacks
) -> None:
    number = make_version(
        mlflow, model="fraud-detector", experiment=experiment_id(mlflow), metrics={"auc": 0.9}
    )
    mlflow.set_registered_model_alias("fraud-detector", "champion", str(number))
    body = payload(
        "model_version_alias", "created", name="fraud-detector", alias="champion", version=str(number)
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, body, signed_headers(body))

    assert response.status_code == 202, response.content
    assert response.json()["status"] == "sync_queued"
    version = ModelVersion.objects.get(registered_model__name="fraud-detector", version=number)
    assert version.run is not None and version.run.metrics == {"auc": 0.9}
    assert ModelAlias.objects.get(alias="champion").model_version == version
    sync_run = SyncRun.objects.get()
    assert (sync_run.kind, sync_run.target, sync_run.status) == (
        "targeted",
        f"fraud-detector/{number}",
        "succeeded",
    )
    assert AuditEvent.objects.filter(action="registry.webhook_received").count() == 1


def _tampered(body: bytes) -> tuple[bytes, dict[str, str]]:
    headers = signed_headers(body)
    return body.replace(b"fraud", b"frauD"), headers


def _wrong_secret(body: bytes) -> tuple[bytes, dict[str, str]]:
    return body, signed_headers(body, secret="not-the-secret")


def _stale(body: bytes) -> tuple[bytes, dict[str, str]]:
    return body, signed_headers(body, ts=int(time.time()) - 301)


def _future(body: bytes) -> tuple[bytes, dict[str, str]]:
    return body, signed_headers(body, ts=int(time.time()) + 301)


def _unsigned(body: bytes) -> tuple[bytes, dict[str, str]]:
    headers = signed_headers(body)
    del headers["HTTP_X_MLFLOW_SIGNATURE"]
    return body, headers


def _bad_timestamp(body: bytes) -> tuple[bytes, dict[str, str]]:
    headers = signed_headers(body)
    headers["HTTP_X_MLFLOW_TIMESTAMP"] = "yesterday"
    return body, headers


def _malformed_json(body: bytes) -> tuple[bytes, dict[str, str]]:
    broken = b'{"entity": "model_version", "action": '
    return broken, signed_headers(broken)


def _deeply_nested(body: bytes) -> tuple[bytes, dict[str, str]]:
    deep = b'{"entity": "model_version", "action": "created", "data": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    return deep, signed_headers(deep)  # overflowed Python's JSON decoder: a RecursionError, a 500


def _no_model_name(body: bytes) -> tuple[bytes, dict[str, str]]:
    nameless = payload("model_version", "created", version="1")
    return nameless, signed_headers(nameless)


def _bad_version(body: bytes) -> tuple[bytes, dict[str, str]]:
    weird = payload("model_version", "created", name="fraud-detector", version="latest")
    return weird, signed_headers(weird)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("mutate", "status", "code"),
    [
        (_tampered, 401, "WEBHOOK_SIGNATURE_INVALID"),
        (_wrong_secret, 401, "WEBHOOK_SIGNATURE_INVALID"),
        (_stale, 401, "WEBHOOK_STALE"),
        (_future, 401, "WEBHOOK_STALE"),
        (_unsigned, 401, "WEBHOOK_SIGNATURE_MISSING"),
        (_bad_timestamp, 401, "WEBHOOK_TIMESTAMP_INVALID"),
        (_malformed_json, 400, "MALFORMED_REQUEST"),
        (_deeply_nested, 400, "MALFORMED_REQUEST"),
        (_no_model_name, 400, "MALFORMED_REQUEST"),
        (_bad_version, 400, "MALFORMED_REQUEST"),
    ],
)
def test_refused_deliveries_write_nothing(client: Client, mutate, status: int, code: str) -> None:
    body, headers = mutate(payload("model_version", "created", name="fraud-detector", version="1"))
    response = post(client, body, headers)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]
    assert not WebhookDelivery.objects.exists()
    assert not AuditEvent.objects.exists()
    assert not SyncRun.objects.exists()


@pytest.mark.django_db
def test_replayed_delivery_id_is_refused(client: Client, settings) -> None:
    settings.MLFLOW_TRACKING_URI = "http://127.0.0.1:9"  # the queued sync is not what this test is about
    body = payload("prompt", "created", name="a-prompt")  # acknowledged without a sync
    headers = signed_headers(body)
    first = post(client, body, headers)
    assert first.status_code == 202 and first.json()["status"] == "ignored"
    replay = post(client, body, headers)
    assert replay.status_code == 409
    assert replay.json()["error"]["code"] == "WEBHOOK_REPLAYED"
    assert WebhookDelivery.objects.count() == 1
    assert AuditEvent.objects.filter(action="registry.webhook_received").count() == 1


@pytest.mark.django_db
def test_previous_secret_is_accepted_during_rotation(client: Client, settings) -> None:
    settings.MLFLOW_WEBHOOK_SECRET = "new-secret"
    settings.MLFLOW_WEBHOOK_PREVIOUS_SECRET = SECRET
    body = payload("prompt", "created", name="p")
    assert post(client, body, signed_headers(body, secret=SECRET)).status_code == 202
    settings.MLFLOW_WEBHOOK_PREVIOUS_SECRET = ""
    assert post(client, body, signed_headers(body, secret=SECRET)).status_code == 401


@pytest.mark.django_db(transaction=True)
@pytest.mark.mlflow
def test_real_mlflow_webhook_delivery_mirrors_the_new_version(mlflow: MlflowClient, live_server) -> None:
    """MLflow itself signs and posts to the running platform; the new version appears in the mirror."""
    mlflow.create_webhook(
        name="mlgov",
        url=f"{live_server.url}{URL}",
        events=["model_version.created", "model_version_alias.created"],
        secret=SECRET,
    )
    time.sleep(1.2)  # the server caches its webhook list for MLFLOW_WEBHOOK_CACHE_TTL (1 s in the fixture)
    number = make_version(mlflow, model="live-hooked", experiment=experiment_id(mlflow), metrics={"f1": 0.5})
    mlflow.set_registered_model_alias("live-hooked", "champion", str(number))

    assert wait_until(lambda: ModelAlias.objects.filter(registered_model__name="live-hooked").exists())
    version = ModelVersion.objects.get(registered_model__name="live-hooked", version=number)
    assert version.run is not None and version.run.metrics == {"f1": 0.5}
    assert RegisteredModel.objects.filter(name="live-hooked").count() == 1
    events = set(WebhookDelivery.objects.values_list("event", flat=True))
    assert events == {"model_version.created", "model_version_alias.created"}
