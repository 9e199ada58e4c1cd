"""Schemathesis against the generated OpenAPI schema, in-process over WSGI: no input may produce a 5xx.
Runs as a CI key holding every scope (the gate endpoints) — bounded examples keep it to seconds."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from config.wsgi import application
from governance.services.apikeys import api_key_create
from tests.factories import UserFactory

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)


@pytest.fixture
def in_process_requests() -> Iterator[None]:
    """As Django's test client does: requests must not close the test transaction's connection."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def ci_headers(db: None, in_process_requests: None) -> dict[str, str]:
    user = UserFactory.create(username="fuzz", is_superuser=True)
    key = api_key_create(name="fuzz", scopes=["evaluate", "promote"], user=user, actor="test")
    return {"Authorization": f"Bearer {key.secret}"}


@schema.parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@pytest.mark.django_db
def test_no_input_produces_a_server_error(case: schemathesis.Case, ci_headers: dict[str, str]) -> None:
    response = case.call(headers=ci_headers)
    case.validate_response(response, checks=[not_a_server_error])
