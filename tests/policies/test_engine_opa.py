"""The `opa` backend over real HTTP against a small server speaking OPA's Data API on 127.0.0.1.
Its normal answers come from the embedded engine, so both backends must agree; every failure must deny."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from policies.engine import GateOutcome, gate_decision, risk_tier_assessment
from policies.loader import build_engine, bundle_digest, read_bundle
from tests.policies.inputs import approved_high, changed, minimal_profile

TIMEOUT_SECONDS = 0.3


@dataclass
class FakeOpa:
    url: str
    mode: str = "normal"  # normal | undefined | error | slow | not_json | not_a_decision
    requests: list[tuple[str, Any]] = field(default_factory=list)


class DataApiHandler(BaseHTTPRequestHandler):
    server: OpaServer

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        fake = self.server.fake
        fake.requests.append((self.path, body))
        if fake.mode == "error":
            self.reply(500, {"code": "internal_error", "message": "boom"})
        elif fake.mode == "undefined":
            self.reply(200, {})
        elif fake.mode == "not_json":
            self.reply(200, None, raw=b"<html>proxy error</html>")
        elif fake.mode == "not_a_decision":
            self.reply(200, {"result": "allow"})
        else:
            if fake.mode == "slow":
                time.sleep(TIMEOUT_SECONDS * 3)
            self.reply(200, evaluate_like_opa(self.path, body["input"]))

    def reply(self, status: int, document: Any, *, raw: bytes | None = None) -> None:
        payload = raw if raw is not None else json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep pytest output clean."""


class OpaServer(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeOpa


_handler_engines = threading.local()


def evaluate_like_opa(path: str, input: Any) -> dict[str, Any]:
    """POST /v1/data/<path> answered by regorus on the same bundle: {"result": value}, or {} when undefined."""
    engine = getattr(_handler_engines, "engine", None)
    if engine is None:
        engine = _handler_engines.engine = build_engine(files=read_bundle(), include_tests=False)
    engine.set_input_json(json.dumps(input))
    query = "data." + path.removeprefix("/v1/data/").replace("/", ".")
    rows = json.loads(engine.eval_query_as_json(query)).get("result") or []
    return {"result": rows[0]["expressions"][0]["value"]} if rows else {}


@pytest.fixture
def opa(settings: Any) -> Iterator[FakeOpa]:
    server = OpaServer(("127.0.0.1", 0), DataApiHandler)
    server.fake = FakeOpa(url=f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    settings.POLICY_ENGINE = "opa"
    settings.OPA_URL = server.fake.url
    settings.POLICY_TIMEOUT_SECONDS = TIMEOUT_SECONDS
    yield server.fake
    server.shutdown()
    server.server_close()


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
