"""The `opa` backend over real HTTP against a small server speaking OPA's Data API on 127.0.0.1.
Its normal answers come from the embedded engine, so both backends must agree; every failure must deny."""

from __future__ import annotations

import socket
import time
from typing import Any

import pytest

from policies.engine import GateOutcome, gate_decision, risk_tier_assessment
from policies.loader import bundle_digest
from tests.opa_server import TIMEOUT_SECONDS, FakeOpa
from tests.policies.inputs import approved_high, changed, minimal_profile


def assert_engine_error(outcome: GateOutcome, error_code: str) -> None:
    assert outcome.allow is False
    assert outcome.auto_deploy is False
    assert [reason["code"] for reason in outcome.deny] == ["POLICY_ENGINE_ERROR"]
    assert outcome.policy.engine == "opa"
    assert outcome.policy.error_code == error_code


def decision_fields(outcome: GateOutcome) -> tuple[Any, ...]:
    return (outcome.allow, outcome.risk_tier, outcome.deny, outcome.required_signoffs, outcome.auto_deploy)


GATE_DOCUMENTS = [
    approved_high(),
    changed(approved_high(), {"model.risk_tier": "minimal", "signoffs": approved_high()["signoffs"][:1]}),
    changed(approved_high(), {"committee.quorum": 5, "version.bias_metrics": {"bias.x": 1}}),
    {},
]


@pytest.mark.parametrize("document", GATE_DOCUMENTS, ids=["allow", "auto-deploy", "deny", "empty"])
def test_opa_and_embedded_backends_agree(opa: FakeOpa, settings: Any, document: dict[str, Any]) -> None:
    over_http = gate_decision(document)
    assert over_http.policy.error_code is None
    assert over_http.policy.engine == "opa"
    assert over_http.policy.bundle_digest == bundle_digest()
    assert opa.requests == [("/v1/data/gates/deploy/decision", {"input": document})]
    settings.POLICY_ENGINE = "embedded"
    assert decision_fields(over_http) == decision_fields(gate_decision(document))


def test_risk_tier_over_opa(opa: FakeOpa) -> None:
    document = changed(minimal_profile(), {"profile.sectors": ["credit"]})
    assessment = risk_tier_assessment(document)
    assert assessment.tier == "high"
    assert assessment.policy.engine == "opa"
    assert opa.requests[0][0] == "/v1/data/risk/tier/decision"


def test_undefined_result_denies(opa: FakeOpa) -> None:
    opa.mode = "undefined"
    outcome = gate_decision(approved_high())
    assert outcome.allow is False
    assert [reason["code"] for reason in outcome.deny] == ["POLICY_ENGINE_ERROR"]
    assert "undefined" in outcome.deny[0]["message"]
    assert outcome.policy.defined is False


def test_http_500_denies(opa: FakeOpa) -> None:
    opa.mode = "error"
    outcome = gate_decision(approved_high())
    assert_engine_error(outcome, "HTTP_ERROR")
    assert "HTTP 500: internal_error: boom" in outcome.deny[0]["message"]
    assert len(opa.requests) == 1  # no retries


def test_connection_refused_denies(settings: Any) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.POLICY_ENGINE = "opa"
    settings.OPA_URL = f"http://127.0.0.1:{port}"
    settings.POLICY_TIMEOUT_SECONDS = TIMEOUT_SECONDS
    assert_engine_error(gate_decision(approved_high()), "CONNECTION_ERROR")


def test_slow_server_times_out(opa: FakeOpa) -> None:
    opa.mode = "slow"
    started = time.monotonic()
    outcome = gate_decision(approved_high())
    elapsed = time.monotonic() - started
    assert_engine_error(outcome, "TIMEOUT")
    assert TIMEOUT_SECONDS <= elapsed < TIMEOUT_SECONDS * 2.5


def test_non_json_answer_denies(opa: FakeOpa) -> None:
    opa.mode = "not_json"
    assert_engine_error(gate_decision(approved_high()), "BAD_RESPONSE")


def test_result_that_is_not_a_decision_denies(opa: FakeOpa) -> None:
    opa.mode = "not_a_decision"
    assert_engine_error(gate_decision(approved_high()), "BAD_DECISION")


@pytest.mark.parametrize("url", ["127.0.0.1:8181", "ftp://opa:8181", "http://opa:8181/prefix"])
def test_unusable_opa_url_denies(settings: Any, url: str) -> None:
    settings.POLICY_ENGINE = "opa"
    settings.OPA_URL = url
    assert_engine_error(gate_decision(approved_high()), "CONFIG_ERROR")
