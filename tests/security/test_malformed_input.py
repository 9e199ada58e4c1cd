"""NUL characters anywhere in a request (path, query string, JSON, form field) are refused with a 400, and so is
JSON nested deeper than any endpoint needs.

PostgreSQL stores neither "\\x00" in text nor "\\u0000" in jsonb: before these checks the value reached a query and
the client got a 500 (schemathesis found one in CI through a usage-cost form post). These run on PostgreSQL, where
the failure is real; the last test pins the API handler's safety net for whatever validation may still miss.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.db import DataError
from rest_framework.test import APIClient

from config.errors import api_exception_handler
from governance.models import AuditEvent
from reports.models import Incident, UsageCost
from tests.factories import ModelVersionFactory, RegisteredModelFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner() -> APIClient:
    model = RegisteredModelFactory.create(name="fraud-detector")
    ModelVersionFactory.create(registered_model=model)
    user = UserFactory.create(username="owner", is_superuser=True)
    user.groups.add(Group.objects.get_or_create(name="model_owner")[0])
    client = APIClient()
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    ("url", "where"),
    [
        ("/api/v1/models/fraud%00detector/", "URL path"),
        ("/api/v1/models/fraud%00detector/versions/1/", "URL path"),
        ("/api/v1/lineage/fraud%00detector/1", "URL path"),
        ("/api/v1/models/?search=fraud%00", "query string"),
        ("/api/v1/reports/kpis?month=2026-10%00", "query string"),
    ],
)
def test_api_paths_and_queries_with_nul_get_a_structured_400(owner, url, where):
    response = owner.get(url)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "MALFORMED_REQUEST"
    assert where in error["message"]


def test_page_paths_with_nul_get_a_400_page(owner):
    response = owner.get("/models/fraud%00detector/")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


def test_the_same_routes_still_serve_clean_names(owner):
    assert owner.get("/api/v1/models/fraud-detector/").status_code == 200
    assert owner.get("/models/fraud-detector/").status_code == 200


def test_form_field_naming_a_model_with_nul_is_a_validation_error(owner):
    """The CI failure: the model name was looked up before CharField's NUL validator ran."""
    response = owner.post(
        "/api/v1/reports/usage-costs",
        {"model": "\x002n", "month": "2026-10", "requests": "3"},
        format="multipart",
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert "model" in error["details"]
    assert not UsageCost.objects.exists()


@pytest.mark.parametrize(
    ("url", "body"),
    [
        (
            "/api/v1/reports/usage-costs",
            {"model": "fraud-detector", "month": "2026-10", "requests": 1, "x\x00": 1},
        ),
        ("/api/v1/incidents/", {"kind": "rollback", "model": "fraud-detector", "labels": {"team": "a\x00b"}}),
        ("/api/v1/gates/evaluate", {"model": "fraud-detector", "version": 1, "target": "prod\x00"}),
    ],
)
def test_json_strings_with_nul_are_malformed(owner, url, body):
    events_before = AuditEvent.objects.count()
    response = owner.post(url, body, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "MALFORMED_REQUEST"
    assert "\\u0000" in error["message"]
    assert not UsageCost.objects.exists()
    assert not Incident.objects.exists()
    assert AuditEvent.objects.count() == events_before


def test_a_value_the_database_refuses_is_a_400_not_a_500():
    response = api_exception_handler(DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes"), {})
    assert response is not None
    assert response.status_code == 400
    assert response.data["error"]["code"] == "INVALID_VALUE"


@pytest.mark.parametrize("depth", [40, 5000], ids=["over-the-limit", "past-pythons-recursion-limit"])
def test_json_nested_too_deeply_is_malformed(owner, depth):
    """5,000 levels used to raise RecursionError in the JSON decoder: a 500."""
    body = '{"model": ' + "[" * depth + "]" * depth + ', "version": 1, "target": "production"}'
    response = owner.post("/api/v1/gates/evaluate", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "MALFORMED_REQUEST",
        "message": "JSON nested deeper than 32 levels is not accepted.",
        "details": {},
    }


def test_json_nested_within_the_limit_reaches_validation(owner):
    body = '{"model": ' + "[" * 20 + "]" * 20 + ', "version": 1, "target": "production"}'
    response = owner.post("/api/v1/gates/evaluate", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert "model" in response.json()["error"]["details"]
