"""Intake API: Alertmanager webhook fixtures (firing, resolved, grouped), duplicates, malformed payloads and
auth; the plain incident API; usage/cost CSV import with its row-level error report; outcomes; KPI/ROI reads."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from governance.models import AuditEvent
from reports.models import BusinessOutcome, Incident, UsageCost
from tests.factories import ModelVersionFactory, RegisteredModelFactory, UserFactory
from tests.reports.seed import seed_october

TOKEN = "am-test-token"
URL = "/api/v1/incidents/alertmanager"


def alert(status: str = "firing", fingerprint: str = "f1", **labels: str) -> dict[str, Any]:
    return {
        "status": status,
        "labels": {"alertname": "FeatureDriftHigh", "model": "fraud-detector", "version": "2", **labels},
        "annotations": {"summary": "PSI above 0.2"},
        "startsAt": "2026-10-05T10:00:00.123456789Z",
        "endsAt": "2026-10-05T12:00:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus/graph",
        "fingerprint": fingerprint,
    }


def notification(*alerts: dict[str, Any], status: str = "firing") -> dict[str, Any]:
    return {
        "version": "4",
        "groupKey": '{}:{alertname="FeatureDriftHigh"}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "mlgov",
        "groupLabels": {"alertname": "FeatureDriftHigh"},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": list(alerts),
    }


@pytest.fixture
def am(db, settings) -> APIClient:
    settings.REPORTS_ALERTMANAGER_TOKEN = TOKEN
    model = RegisteredModelFactory.create(name="fraud-detector")
    ModelVersionFactory.create(registered_model=model)
    ModelVersionFactory.create(registered_model=model)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    return client


@pytest.fixture
def writer(db) -> APIClient:
    user = UserFactory.create(username="owner")
    user.groups.add(Group.objects.get_or_create(name="model_owner")[0])
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_firing_then_resolved_updates_one_incident(am):
    response = am.post(URL, notification(alert()), format="json")
    assert response.status_code == 200, response.json()
    assert response.json() == {"created": 1, "updated": 0, "unchanged": 0, "unmapped_models": []}
    incident = Incident.objects.get()
    assert (incident.kind, incident.status, incident.version) == ("drift", "firing", 2)
    assert incident.model_version is not None and incident.model_version.version == 2
    assert incident.ended_at is None

    response = am.post(URL, notification(alert("resolved"), status="resolved"), format="json")
    assert response.json()["updated"] == 1
    incident.refresh_from_db()
    assert incident.status == "resolved" and incident.ended_at is not None
    assert list(AuditEvent.objects.values_list("action", flat=True)) == [
        "incident.recorded",
        "incident.resolved",
    ]


@pytest.mark.parametrize(
    ("deliveries", "expected_status", "last_result"),
    [
        (["firing", "firing"], "firing", {"created": 0, "updated": 0, "unchanged": 1}),
        (["resolved", "resolved"], "resolved", {"created": 0, "updated": 0, "unchanged": 1}),
        (["firing", "resolved", "firing"], "resolved", {"created": 0, "updated": 0, "unchanged": 1}),
    ],
    ids=["duplicate-firing", "duplicate-resolved", "late-firing-never-reopens"],
)
def test_duplicate_deliveries_are_idempotent(am, deliveries, expected_status, last_result):
    for status in deliveries:
        response = am.post(URL, notification(alert(status)), format="json")
    assert {k: response.json()[k] for k in last_result} == last_result
    assert Incident.objects.get().status == expected_status


def test_grouped_alerts_map_labels_and_kinds(am):
    payload = notification(
        alert(fingerprint="a"),
        alert(fingerprint="b", alertname="LatencySLOBurn", version=""),
        alert(fingerprint="c", kind="rollback", model="unknown-model"),
        alert("resolved", fingerprint="d", alertname="Whatever"),
    )
    assert am.post(URL, payload, format="json").json() == {
        "created": 4,
        "updated": 0,
        "unchanged": 0,
        "unmapped_models": ["unknown-model"],
    }
    rows = {
        i.fingerprint: (i.kind, i.registered_model_id is not None, i.status) for i in Incident.objects.all()
    }
    assert rows == {
        "a": ("drift", True, "firing"),
        "b": ("sla_breach", True, "firing"),
        "c": ("rollback", False, "firing"),
        "d": ("other", True, "resolved"),
    }


def _broken(mutate) -> dict[str, Any]:
    payload = notification(alert(fingerprint="ok"), alert(fingerprint="bad"))
    mutate(payload)
    return payload


@pytest.mark.parametrize(
    ("payload", "details"),
    [
        ([1, 2], {"body": "not an object"}),
        (_broken(lambda p: p.update(version="3")), {"version": "expected '4', got '3'"}),
        (_broken(lambda p: p.pop("alerts")), {"alerts": "must be a list"}),
        (
            _broken(lambda p: p["alerts"][1].update(status="pending")),
            {"alerts": {"1": {"status": "must be 'firing' or 'resolved'"}}},
        ),
        (
            _broken(lambda p: p["alerts"][1].update(fingerprint="")),
            {"alerts": {"1": {"fingerprint": "must be a non-empty string of at most 128 characters"}}},
        ),
        (
            _broken(lambda p: p["alerts"][1].update(startsAt="yesterday")),
            {"alerts": {"1": {"startsAt": "must be an RFC 3339 timestamp with a time zone"}}},
        ),
        (
            _broken(lambda p: p["alerts"][1].update(status="resolved", endsAt="0001-01-01T00:00:00Z")),
            {"alerts": {"1": {"endsAt": "a resolved alert needs an RFC 3339 endsAt"}}},
        ),
        (
            _broken(lambda p: p["alerts"][1]["labels"].update(version="v2")),
            {"alerts": {"1": {"labels.version": "must be a positive integer up to 2147483647"}}},
        ),
        (
            _broken(lambda p: p["alerts"][1]["labels"].update(version="2147483648")),  # beyond the column
            {"alerts": {"1": {"labels.version": "must be a positive integer up to 2147483647"}}},
        ),
    ],
    ids=[
        "not-object",
        "version",
        "no-alerts",
        "status",
        "fingerprint",
        "startsAt",
        "resolved-no-end",
        "version-label",
        "version-label-too-large",
    ],
)
def test_malformed_payloads_are_rejected_whole(am, payload, details):
    response = am.post(URL, copy.deepcopy(payload), format="json")
    assert response.status_code == 400
    body = response.json()["error"]
    assert body["code"] == "ALERTMANAGER_PAYLOAD_INVALID"
    for key, value in details.items():
        assert body["details"][key] == value
    assert not Incident.objects.exists()  # the valid alert of the same payload was not written either


@pytest.mark.parametrize(
    ("header", "configured", "status"),
    [(None, TOKEN, 401), ("Bearer wrong", TOKEN, 401), (f"Bearer {TOKEN}", "", 401), ("Token x", TOKEN, 401)],
)
def test_webhook_needs_the_token(db, settings, header, configured, status):
    settings.REPORTS_ALERTMANAGER_TOKEN = configured
    client = APIClient()
    if header:
        client.credentials(HTTP_AUTHORIZATION=header)
    response = client.post(URL, notification(alert()), format="json")
    assert response.status_code == status
    assert not Incident.objects.exists()


def test_plain_incident_api(writer):
    RegisteredModelFactory.create(name="fraud-detector")
    response = writer.post(
        "/api/v1/incidents/",
        {
            "kind": "rollback",
            "model": "fraud-detector",
            "started_at": "2026-10-02T08:00:00Z",
            "ended_at": "2026-10-02T09:00:00Z",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "resolved"
    bad = writer.post(
        "/api/v1/incidents/", {"kind": "meteor", "model": "nope", "started_at": "x"}, format="json"
    )
    assert bad.status_code == 400
    assert set(bad.json()["error"]["details"]) == {"kind", "model", "started_at"}
    too_large = writer.post(
        "/api/v1/incidents/",
        {"kind": "rollback", "version": 2**31, "started_at": "2026-10-02T08:00:00Z"},
        format="json",
    )
    assert too_large.status_code == 400 and set(too_large.json()["error"]["details"]) == {"version"}


def test_viewer_cannot_enter_figures(db):
    client = APIClient()
    client.force_authenticate(UserFactory.create(username="viewer"))
    assert client.post("/api/v1/incidents/", {}, format="json").status_code == 403


GOOD_CSV = (
    "model,month,requests,predictions,p95_latency_ms,slo_target,slo_attainment,compute_cost,storage_cost,license_cost,headcount_cost\n"
    "fraud-detector,2026-10,1000000,2000000,85,99.5,99.9,800,100,50,50\n"
    "churn-predictor,2026-10,500000,500000,120,99,98,400,50,25,25\n"
)


def _upload(client: APIClient, text: str, **extra: Any):
    return client.post(
        "/api/v1/reports/usage-costs/import",
        {"file": SimpleUploadedFile("usage.csv", text.encode(), content_type="text/csv"), **extra},
        format="multipart",
    )


def test_csv_import_writes_all_rows(writer):
    RegisteredModelFactory.create(name="fraud-detector")
    RegisteredModelFactory.create(name="churn-predictor")
    assert _upload(writer, GOOD_CSV, dry_run="true").json()["created"] == 0
    assert not UsageCost.objects.exists()
    response = _upload(writer, GOOD_CSV)
    assert response.status_code == 200, response.json()
    assert response.json() == {"created": 2, "updated": 0, "dry_run": False, "errors": []}
    assert _upload(writer, GOOD_CSV).json()["updated"] == 2
    assert UsageCost.objects.count() == 2


def test_csv_import_reports_row_errors_and_writes_nothing(writer):
    RegisteredModelFactory.create(name="fraud-detector")
    text = (
        "model,month,requests,slo_attainment,compute_cost\n"
        "fraud-detector,2026-10,100,99,10\n"
        "ghost,2026-13,-5,120,abc\n"
        "fraud-detector,2026-10,1,1,1\n"
        "fraud-detector,2026-09,9223372036854775808,nan,1000000000000\n"
    )
    response = _upload(writer, text)
    assert response.status_code == 400
    assert response.json()["error"]["details"]["errors"] == [
        {"line": 3, "column": "compute_cost", "message": "'abc' is not a number"},
        {"line": 3, "column": "month", "message": "month must look like 2026-10, got '2026-13'"},
        {"line": 3, "column": "requests", "message": "must not be negative"},
        {"line": 3, "column": "slo_attainment", "message": "is a percentage and must be at most 100"},
        {"line": 4, "column": "model", "message": "duplicates line 2 for fraud-detector 2026-10"},
        {"line": 5, "column": "compute_cost", "message": "must be at most 999999999999.99"},
        {"line": 5, "column": "requests", "message": "must be at most 9223372036854775807"},
        {"line": 5, "column": "slo_attainment", "message": "'nan' is not a number"},
    ]
    assert not UsageCost.objects.exists()


def test_csv_import_command(db, tmp_path, capsys):
    RegisteredModelFactory.create(name="fraud-detector")
    RegisteredModelFactory.create(name="churn-predictor")
    path = tmp_path / "usage.csv"
    path.write_text(GOOD_CSV)
    call_command("import_usage_costs", str(path))
    assert "2 new" in capsys.readouterr().out
    path.write_text("model,month\nghost,2026-10\n")
    with pytest.raises(CommandError, match="1 problem"):
        call_command("import_usage_costs", str(path))


def test_usage_and_outcome_entry(writer):
    RegisteredModelFactory.create(name="fraud-detector")
    response = writer.post(
        "/api/v1/reports/usage-costs",
        {"model": "fraud-detector", "month": "2026-10", "requests": 10},
        format="json",
    )
    assert response.status_code == 201, response.json()
    response = writer.post(
        "/api/v1/reports/outcomes",
        {"model": "fraud-detector", "month": "2026-10", "revenue_uplift": "1200.50", "source": "finance"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert BusinessOutcome.objects.get().owner.username == "owner"


def test_kpi_and_roi_reads(writer, django_assert_max_num_queries):
    seed_october()
    with django_assert_max_num_queries(14):
        response = writer.get("/api/v1/reports/kpis?month=2026-10")
    assert response.status_code == 200
    kpis = {k["key"]: k for k in response.json()["kpis"]}
    assert kpis["cost_per_1k_requests"]["value"] == 0.75
    assert kpis["sla_adherence"]["coverage"]["text"] == "SLO data for 2 of 4 models"
    assert writer.get("/api/v1/reports/kpis?month=oct").json()["error"]["code"] == "MONTH_INVALID"
    roi = writer.post("/api/v1/reports/roi", {"assumptions": {"setup_cost": 1e9}}, format="json").json()
    expected = next(s for s in roi["scenarios"] if s["name"] == "expected")
    assert expected["summaries"][1]["payback_month"] is None
    assert len(expected["cash_flow"]) == 24


def test_dashboard_and_roi_pages_render(writer, client, django_assert_max_num_queries):
    seed_october()
    client.force_login(UserFactory.create(username="exec"))
    with django_assert_max_num_queries(16):
        page = client.get("/reports/?month=2026-10")
    assert page.status_code == 200
    html = page.content.decode()
    assert "vendor/plotly.min.js" in html and "cdn" not in html.lower()
    assert "Cost per 1,000 requests" in html and "fraud-detector" in html
    roi = client.get("/reports/roi/?month=2026-10&setup_cost=abc&ramp_months=3")
    assert roi.status_code == 200 and "not a number" in roi.content.decode()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("compute_monthly", "1.1e255", "at most 999,999,999,999.99"),
        ("compute_monthly", "NaN", "finite"),
        ("revenue_uplift_monthly", "Infinity", "finite"),
        ("incident_reduction_pct", "101", "at most 100"),
        ("high_benefit_factor", "-0.5", "negative"),
        ("ramp_months", "25", "at most 24"),
    ],
)
def test_roi_assumptions_out_of_range_are_refused(writer, client, field, value, message):
    """A fuzzing find: 1.1e255 made the worksheet overflow to inf, which JSON cannot carry (a 500)."""
    raw = '{"assumptions": {"%s": %s}}' % (field, value)  # noqa: UP031 - NaN and Infinity as JSON literals
    response = writer.post("/api/v1/reports/roi", raw, content_type="application/json")
    assert response.status_code == 400, response.content
    if value not in ("NaN", "Infinity"):  # those are refused by the strict JSON parser already
        errors = response.json()["error"]["details"]["assumptions"][field]
        assert any(message in error for error in errors), errors
    # The page refuses the same values and still renders the worksheet.
    client.force_login(UserFactory.create(username="exec"))
    page = client.get("/reports/roi/", {field: value.lower()})
    assert page.status_code == 200
    assert message in page.content.decode()
