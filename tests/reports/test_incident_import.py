"""Incident CSV import: text/csv body and multipart upload, idempotent re-import keyed by external_id,
updates, dry runs, the all-or-nothing row-level error report, and the management command."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from governance.models import AuditEvent
from reports.models import Incident, UsageCost
from tests.factories import ModelVersionFactory, RegisteredModelFactory, UserFactory

URL = "/api/v1/incidents/import"
HEADER = "external_id,kind,model,version,started_at,ended_at,summary\n"
GOOD = (
    HEADER + "INC-1,drift,fraud-detector,1,2026-10-03T08:00:00Z,,PSI 0.31 on amount\n"
    "INC-2,rollback,fraud-detector,,2026-10-04T09:00:00+02:00,2026-10-04T10:30:00+02:00,rolled back v2\n"
    "INC-3,sla_breach,,,2026-10-05T00:00:00Z,2026-10-05T01:00:00Z,gateway latency\n"
)


@pytest.fixture
def writer(db) -> APIClient:
    user = UserFactory.create(username="owner")
    user.groups.add(Group.objects.get_or_create(name="compliance_officer")[0])
    client = APIClient()
    client.force_authenticate(user)
    model = RegisteredModelFactory.create(name="fraud-detector")
    ModelVersionFactory.create(registered_model=model)
    return client


def _post_csv(client: APIClient, text: str, query: str = "") -> Any:
    return client.post(URL + query, data=text.encode(), content_type="text/csv")


def test_import_creates_incidents_and_reimport_is_idempotent(writer):
    response = _post_csv(writer, GOOD)
    assert response.status_code == 200, response.json()
    assert response.json() == {"created": 3, "updated": 0, "unchanged": 0, "dry_run": False, "errors": []}
    drift = Incident.objects.get(fingerprint="csv:INC-1")
    assert (drift.kind, drift.status, drift.source, drift.model_name) == (
        "drift",
        "firing",
        "csv",
        "fraud-detector",
    )
    assert drift.registered_model is not None and drift.registered_model.name == "fraud-detector"
    assert drift.model_version is not None and drift.model_version.version == 1
    rollback = Incident.objects.get(fingerprint="csv:INC-2")
    assert rollback.status == "resolved" and rollback.model_version is None
    assert Incident.objects.get(fingerprint="csv:INC-3").registered_model is None

    assert _post_csv(writer, GOOD).json()["unchanged"] == 3
    assert Incident.objects.count() == 3
    assert AuditEvent.objects.filter(action="incident.recorded").count() == 3

    resolved = GOOD.replace("2026-10-03T08:00:00Z,,", "2026-10-03T08:00:00Z,2026-10-03T11:00:00Z,")
    assert _post_csv(writer, resolved).json() == {
        "created": 0,
        "updated": 1,
        "unchanged": 2,
        "dry_run": False,
        "errors": [],
    }
    drift.refresh_from_db()
    assert drift.status == "resolved" and drift.ended_at is not None
    event = AuditEvent.objects.get(action="incident.updated")
    assert event.data == {"source": "csv", "fields": ["ended_at", "status"]}


def test_multipart_upload_and_dry_run_write_nothing(writer):
    upload = SimpleUploadedFile("incidents.csv", GOOD.encode(), content_type="text/csv")
    response = writer.post(URL, {"file": upload, "dry_run": "true"}, format="multipart")
    assert response.status_code == 200, response.json()
    assert response.json()["created"] == 3 and response.json()["dry_run"] is True
    assert _post_csv(writer, GOOD, "?dry_run=true").json()["created"] == 3
    assert not Incident.objects.exists()
    assert not AuditEvent.objects.exists()
    upload = SimpleUploadedFile("incidents.csv", GOOD.encode(), content_type="text/csv")
    assert writer.post(URL, {"file": upload}, format="multipart").json()["created"] == 3


def test_row_errors_are_reported_and_nothing_is_written(writer):
    text = (
        HEADER + "INC-1,drift,fraud-detector,1,2026-10-03T08:00:00Z,,ok\n"
        "INC-2,outage,ghost,0,2026-10-03,,bad\n"
        "INC-3,rollback,,,2026-10-05T10:00:00Z,2026-10-05T09:00:00Z,ends first\n"
        "INC-1,drift,,,2026-10-06T10:00:00Z,,again\n"
    )
    response = _post_csv(writer, text)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "CSV_INVALID"
    assert response.json()["error"]["details"]["errors"] == [
        {
            "line": 3,
            "column": "kind",
            "message": "must be one of drift, sla_breach, safety_failure, rollback",
        },
        {"line": 3, "column": "started_at", "message": "must be an ISO 8601 timestamp with a time zone"},
        {"line": 3, "column": "version", "message": "must be a positive integer up to 2147483647"},
        {"line": 4, "column": "ended_at", "message": "is before started_at"},
        {"line": 5, "column": "external_id", "message": "duplicates line 2"},
    ]
    unknown_model = HEADER + "INC-9,drift,ghost,,2026-10-03T08:00:00Z,,x\n"
    assert _post_csv(writer, unknown_model).json()["error"]["details"]["errors"] == [
        {"line": 2, "column": "model", "message": "no registered model named 'ghost'"}
    ]
    assert _post_csv(writer, "kind,when\n").json()["error"]["details"]["errors"] == [
        {"line": 1, "column": "external_id", "message": "required column is missing"},
        {"line": 1, "column": "started_at", "message": "required column is missing"},
        {"line": 1, "column": "when", "message": "unknown column"},
    ]
    assert not Incident.objects.exists()


def test_carriage_return_line_endings_import(writer):
    """Old spreadsheet exports end lines with a bare CR; the reader treats it as a line end (a fuzzing find:
    it used to raise csv.Error, a 500)."""
    response = _post_csv(writer, GOOD.replace("\n", "\r"))
    assert response.status_code == 200, response.json()
    assert response.json()["created"] == 3


@pytest.mark.parametrize(
    ("row", "line"),
    [("x" * 140_000, 2), ("fraud\x00detector,2026-10", 1)],  # over csv's field size limit; a NUL character
    ids=["field-too-large", "nul-character"],
)
def test_unreadable_csv_is_a_400_and_writes_nothing(writer, row, line):
    for url, header in ((URL, HEADER), ("/api/v1/reports/usage-costs/import", "model,month,requests\n")):
        response = writer.post(url, data=(header + row + "\n").encode(), content_type="text/csv")
        assert response.status_code == 400, response.content
        body = response.json()["error"]
        assert body["code"] == "CSV_INVALID"
        [found] = body["details"]["errors"]
        assert (found["line"], found["column"]) == (line, "")
    assert not Incident.objects.exists()
    assert not UsageCost.objects.exists()


def test_body_must_be_utf8(writer):
    response = writer.post(URL, data="external_id\ncafé".encode("latin-1"), content_type="text/csv")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "CSV_ENCODING"


def test_import_needs_the_writer_role(db):
    client = APIClient()
    client.force_authenticate(UserFactory.create(username="viewer"))
    assert _post_csv(client, GOOD).status_code == 403
    assert _post_csv(APIClient(), GOOD).status_code in (401, 403)


def test_usage_cost_import_shares_the_text_csv_body(writer):
    text = "model,month,requests\nfraud-detector,2026-10,100\n"
    response = writer.post("/api/v1/reports/usage-costs/import", data=text, content_type="text/csv")
    assert response.status_code == 200, response.json()
    assert response.json() == {"created": 1, "updated": 0, "dry_run": False, "errors": []}
    assert UsageCost.objects.get().requests == 100


def test_import_incidents_command(writer, tmp_path, capsys):
    path = tmp_path / "incidents.csv"
    path.write_text(GOOD)
    call_command("import_incidents", str(path), "--dry-run")
    assert "would import: 3 new" in capsys.readouterr().out
    assert not Incident.objects.exists()
    call_command("import_incidents", str(path))
    call_command("import_incidents", str(path))
    assert "0 new, 0 updated, 3 unchanged" in capsys.readouterr().out
    path.write_text(HEADER + "INC-9,fire,,,yesterday,,\n")
    with pytest.raises(CommandError, match="2 problem"):
        call_command("import_incidents", str(path))
    assert "line 2, kind:" in capsys.readouterr().err
    assert Incident.objects.count() == 3
