"""The HTTP security of a production deployment, through real requests: `check --deploy`, HTTPS redirect and
its exemptions, security headers, cookie flags, CSRF on session writes, body and upload limits, rate limits.

The security settings are read from config.settings loaded with MLGOV_ENV=production in a subprocess, and
applied with override_settings, so the tests follow the real production configuration, not a copy of it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings

from governance.services.apikeys import api_key_create
from registry_sync.models import ModelVersion
from tests.factories import ModelVersionFactory, UserFactory

ROOT = Path(__file__).resolve().parents[2]
HOST = "mlgov.example.org"
PRODUCTION_ENV = {
    "MLGOV_ENV": "production",
    "SECRET_KEY": "production-like-test-key-" + "x" * 40,
    "ALLOWED_HOSTS": HOST,
    "DATABASE_URL": "sqlite:////tmp/unused-mlgov-production-check.sqlite3",
}
SECURITY_SETTINGS = (
    "ALLOWED_HOSTS",
    "CSRF_COOKIE_HTTPONLY",
    "CSRF_COOKIE_SAMESITE",
    "CSRF_COOKIE_SECURE",
    "DATA_UPLOAD_MAX_MEMORY_SIZE",
    "EVIDENCE_MAX_BYTES",
    "FILE_UPLOAD_MAX_MEMORY_SIZE",
    "SECURE_CONTENT_TYPE_NOSNIFF",
    "SECURE_CROSS_ORIGIN_OPENER_POLICY",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_HSTS_SECONDS",
    "SECURE_PROXY_SSL_HEADER",
    "SECURE_REDIRECT_EXEMPT",
    "SECURE_REFERRER_POLICY",
    "SECURE_SSL_REDIRECT",
    "SESSION_COOKIE_HTTPONLY",
    "SESSION_COOKIE_SAMESITE",
    "SESSION_COOKIE_SECURE",
    "X_FRAME_OPTIONS",
)
HTTPS: dict[str, Any] = {
    "HTTP_X_FORWARDED_PROTO": "https"
}  # what the TLS-terminating proxy adds (SECURE_PROXY_SSL_HEADER)
PLAIN_HTTP: dict[str, Any] = {"HTTP_X_FORWARDED_PROTO": "http"}


def _production_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", "DEBUG"}}
    return {**env, **PRODUCTION_ENV, "DJANGO_SETTINGS_MODULE": "config.settings"}


def _run_under_production_settings(*args: str) -> subprocess.CompletedProcess[str]:
    """Python in a fresh process whose settings are config.settings with MLGOV_ENV=production."""
    return subprocess.run(  # callers check the return code
        [sys.executable, *args], cwd=ROOT, env=_production_env(), capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="module")
def production_security_settings() -> dict[str, Any]:
    names = json.dumps(SECURITY_SETTINGS)
    code = (
        "import json, django; from django.conf import settings as s; django.setup(); "
        f"print(json.dumps({{n: getattr(s, n) for n in {names}}}, default=str))"
    )
    result = _run_under_production_settings("-c", code)
    result.check_returncode()
    values: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    values["SECURE_PROXY_SSL_HEADER"] = tuple(values["SECURE_PROXY_SSL_HEADER"])
    return values


@pytest.fixture
def production(production_security_settings: dict[str, Any], db: None) -> Iterator[dict[str, Any]]:
    cache.clear()  # rate-limit counters
    with override_settings(**production_security_settings):
        yield production_security_settings


def _client(**defaults: Any) -> Client:
    return Client(HTTP_HOST=HOST, **defaults)  # the Host header the proxy forwards


def test_check_deploy_is_clean_under_production_settings() -> None:
    result = _run_under_production_settings("manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


# ------------------------------------------------------------------------------------------------ transport

SECURITY_HEADERS = {
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains; preload",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/accounts/login/", id="ui-page"),
        pytest.param("/api/v1/gates/public-key", id="public-api"),
        pytest.param("/api/v1/models/", id="api-needing-auth"),
        pytest.param("/healthz", id="probe"),
    ],
)
def test_https_responses_carry_the_security_headers(production: dict[str, Any], path: str) -> None:
    response = _client().get(path, **HTTPS)
    assert response.status_code in {200, 401}, response.content[:300]
    for header, value in SECURITY_HEADERS.items():
        assert response.headers.get(header) == value, header


@pytest.mark.parametrize(
    ("method", "path", "status", "why"),
    [
        ("get", "/accounts/login/", 301, "pages move to https"),
        ("get", "/api/v1/models/", 301, "the API moves to https"),
        ("post", "/api/v1/gates/evaluate", 301, "a CI call over http is not served"),
        ("get", "/healthz", 200, "probes come from inside the network"),
        ("post", "/api/v1/registry/webhooks/mlflow", 401, "MLflow calls in-network; its HMAC still applies"),
        ("post", "/api/v1/incidents/alertmanager", 401, "Alertmanager calls in-network; its token applies"),
    ],
)
def test_plain_http_is_redirected_except_in_network_callers(
    production: dict[str, Any], method: str, path: str, status: int, why: str
) -> None:
    response = getattr(_client(), method)(path, **PLAIN_HTTP)
    assert response.status_code == status, why
    if status == 301:
        assert response["Location"] == f"https://{HOST}{path}"
    assert "Strict-Transport-Security" not in response.headers  # HSTS is only ever sent over https


def test_requests_for_another_host_are_refused(production: dict[str, Any]) -> None:
    response = Client(HTTP_HOST="attacker.example").get("/api/v1/gates/public-key", **HTTPS)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "BAD_REQUEST"


# ------------------------------------------------------------------------------------------------ cookies


@pytest.mark.parametrize(
    ("cookie", "secure", "httponly", "samesite"),
    [
        pytest.param("sessionid", True, True, "Lax", id="session"),
        pytest.param("csrftoken", True, False, "Lax", id="csrf"),  # the UI's JavaScript sends it as a header
    ],
)
def test_cookie_flags(
    production: dict[str, Any], cookie: str, secure: bool, httponly: bool, samesite: str
) -> None:
    UserFactory.create(username="alice")
    client = _client()
    client.get("/accounts/login/", **HTTPS)
    response = client.post(
        "/accounts/login/", {"username": "alice", "password": "correct-horse-battery"}, **HTTPS
    )
    assert response.status_code == 302
    morsel = client.cookies[cookie]
    assert bool(morsel["secure"]) is secure
    assert bool(morsel["httponly"]) is httponly
    assert morsel["samesite"] == samesite


# ------------------------------------------------------------------------------------------------ CSRF

APPROVAL_CREATE = ("/api/v1/approvals", {"model": "no-such-model", "version": 1, "target": "staging"})


@pytest.mark.parametrize(
    ("credential", "token", "origin", "status", "code"),
    [
        pytest.param("session", False, f"https://{HOST}", 403, "PERMISSION_DENIED", id="session-no-token"),
        pytest.param(
            "session", True, "https://evil.example", 403, "PERMISSION_DENIED", id="session-foreign-origin"
        ),
        pytest.param("session", True, f"https://{HOST}", 404, "VERSION_NOT_FOUND", id="session-with-token"),
        pytest.param("api_key", False, None, 404, "VERSION_NOT_FOUND", id="api-key-needs-no-token"),
    ],
)
def test_csrf_guards_session_writes_to_the_api(
    production: dict[str, Any], credential: str, token: bool, origin: str | None, status: int, code: str
) -> None:
    user = UserFactory.create(username="owner")
    client = _client(enforce_csrf_checks=True)
    headers: dict[str, Any] = {**HTTPS}
    if credential == "session":
        client.force_login(user)
        client.get("/accounts/login/", **HTTPS)  # sets the csrftoken cookie
        if token:
            headers["HTTP_X_CSRFTOKEN"] = client.cookies["csrftoken"].value
    else:
        key = api_key_create(name="ci", scopes=["evaluate"], user=user, actor="test")
        headers["HTTP_AUTHORIZATION"] = f"Bearer {key.secret}"
    if origin:
        headers["HTTP_ORIGIN"] = origin
    path, body = APPROVAL_CREATE
    response = client.post(path, body, content_type="application/json", **headers)
    assert response.status_code == status, response.content[:300]
    assert response.json()["error"]["code"] == code
    if status == 403:
        assert "CSRF" in response.json()["error"]["message"]


def test_ui_form_post_without_csrf_token_is_refused(production: dict[str, Any]) -> None:
    response = _client(enforce_csrf_checks=True).post(
        "/accounts/login/", {"username": "alice", "password": "x"}, **HTTPS
    )
    assert response.status_code == 403


# ------------------------------------------------------------------------------------------------ limits


@pytest.fixture
def evidence_target() -> tuple[ModelVersion, Client]:
    version = ModelVersionFactory.create()
    admin = UserFactory.create(username="admin-user", is_superuser=True)
    client = _client()
    client.force_login(admin)
    return version, client


def test_json_body_over_the_memory_limit_is_refused(production: dict[str, Any]) -> None:
    user = UserFactory.create(username="ci")
    key = api_key_create(name="ci", scopes=["evaluate"], user=user, actor="test")
    oversized = json.dumps({"model": "m" * production["DATA_UPLOAD_MAX_MEMORY_SIZE"], "version": 1})
    response = _client().post(
        "/api/v1/gates/evaluate",
        oversized,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key.secret}",
        **HTTPS,
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "REQUEST_TOO_LARGE"


@pytest.mark.parametrize(
    ("extra_bytes", "status", "code"),
    [
        pytest.param(1, 413, "EVIDENCE_TOO_LARGE", id="one-byte-over"),
        pytest.param(0, 201, None, id="exactly-the-limit"),
    ],
)
def test_evidence_upload_limit(
    production: dict[str, Any],
    evidence_target: tuple[ModelVersion, Client],
    extra_bytes: int,
    status: int,
    code: str | None,
) -> None:
    version, client = evidence_target
    size = production["EVIDENCE_MAX_BYTES"] + extra_bytes
    document = SimpleUploadedFile("report.txt", b"a" * size, content_type="text/plain")
    response = client.post(
        f"/api/v1/models/{version.registered_model.name}/versions/{version.version}/evidence",
        {"kind": "validation_report", "file": document},
        **HTTPS,
    )
    assert response.status_code == status, response.content[:300]
    if code:
        assert response.json()["error"]["code"] == code


GATE_LIMIT = 2


@pytest.mark.parametrize(
    ("path", "body"),
    [
        pytest.param(
            "/api/v1/gates/evaluate", {"model": "m", "version": 1, "target": "staging"}, id="evaluate"
        ),
        pytest.param(
            "/api/v1/gates/promote", {"decision_id": "00000000-0000-0000-0000-000000000000"}, id="promote"
        ),
    ],
)
def test_gate_endpoints_are_rate_limited(
    production: dict[str, Any], settings: Any, path: str, body: dict[str, Any]
) -> None:
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "gate": f"{GATE_LIMIT}/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    user = UserFactory.create(username="ci")
    key = api_key_create(name="ci", scopes=["evaluate", "promote"], user=user, actor="test")
    client = _client()

    def call() -> Any:
        return client.post(
            path, body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key.secret}", **HTTPS
        )

    for _ in range(GATE_LIMIT):
        assert call().status_code != 429
    limited = call()
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "RATE_LIMITED"
    assert int(limited["Retry-After"]) > 0
