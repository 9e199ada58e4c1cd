"""Health probes: liveness is trivial; readiness checks the database, broker and policy engine for real and
reports MLflow and sync age as degraded without failing."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import SyncRunFactory

pytestmark = pytest.mark.django_db


def test_liveness(client: Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readiness_is_ok_with_real_redis_and_engine_but_degraded_without_mlflow(
    client: Client, settings
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False  # check the real broker on 127.0.0.1:6379
    settings.MLFLOW_TRACKING_URI = "http://127.0.0.1:9"
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 200
    assert body["checks"]["database"] == "ok" and body["checks"]["broker"] == "ok"
    assert body["checks"]["policy_engine"].startswith("ok (embedded")
    assert body["checks"]["mlflow"].startswith("error") and body["checks"]["last_sync"].startswith("error")
    assert body["status"] == "degraded"

    SyncRunFactory.create(status="succeeded")
    assert client.get("/readyz").json()["checks"]["last_sync"].startswith("ok")


def test_readiness_fails_when_the_broker_or_policy_engine_is_down(client: Client, settings) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"
    settings.POLICY_ENGINE = "opa"
    settings.OPA_URL = "http://127.0.0.1:9"
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["checks"]["broker"].startswith("error")
    assert "CONNECTION_ERROR" in response.json()["checks"]["policy_engine"]
