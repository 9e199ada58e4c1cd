"""Metrics and request ids: gate decisions and sync passes show up in /metrics; every response and log line
carries the request id."""

from __future__ import annotations

import logging
import re

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.factories import UserFactory
from tests.gate.test_gate_api import governed_version

pytestmark = pytest.mark.django_db


def metric(body: str, name: str, labels: str) -> float:
    match = re.search(rf"^{re.escape(name)}\{{{re.escape(labels)}\}} ([0-9.e+]+)$", body, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def test_gate_decisions_are_counted_by_result_and_reason(client: Client) -> None:
    version = governed_version(tier="unassessed", signoffs=[])
    api = APIClient()
    api.force_authenticate(UserFactory.create(is_superuser=True))
    before = client.get("/metrics").content.decode()
    body = {"model": version.registered_model.name, "version": version.version, "target": "production"}
    assert api.post("/api/v1/gates/evaluate", body, format="json").json()["allow"] is False
    after = client.get("/metrics").content.decode()

    decisions = 'result="deny",target="production"'
    assert (
        metric(after, "mlgov_gate_decisions_total", decisions)
        == metric(before, "mlgov_gate_decisions_total", decisions) + 1
    )
    reason = 'code="RISK_TIER_UNKNOWN"'
    assert (
        metric(after, "mlgov_gate_deny_reasons_total", reason)
        == metric(before, "mlgov_gate_deny_reasons_total", reason) + 1
    )
    assert "mlgov_gate_decision_seconds_bucket" in after
    assert "mlgov_sync_lag_seconds" in after


def test_metrics_token_guards_the_endpoint(client: Client, settings) -> None:
    settings.METRICS_TOKEN = "scrape-me"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me").status_code == 200


def test_request_id_is_echoed_and_logged(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    response = client.get("/healthz", HTTP_X_REQUEST_ID="ci-run-42")
    assert response["X-Request-ID"] == "ci-run-42"
    generated = client.get("/healthz")["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)

    version = governed_version(tier="minimal", signoffs=[("owner", "olga")])
    api = APIClient()
    api.force_authenticate(UserFactory.create(is_superuser=True))
    with caplog.at_level(logging.INFO, logger="governance.services.gate"):
        api.post(
            "/api/v1/gates/evaluate",
            {"model": version.registered_model.name, "version": version.version, "target": "production"},
            format="json",
            HTTP_X_REQUEST_ID="trace-7",
        )
    record = next(r for r in caplog.records if getattr(r, "event", "") == "gate.decision")
    assert record.request_id == "trace-7"  # type: ignore[attr-defined]
    assert record.allow is True and record.reason_codes == []  # type: ignore[attr-defined]
