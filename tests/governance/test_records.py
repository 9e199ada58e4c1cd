"""Evidence uploads, comments and notifications, tier overrides, and the offline-verifiable evidence bundle."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from governance import roles
from governance.models import ApprovalRequest, AuditEvent, EvidenceDocument, ModelGovernance
from governance.services.approvals import (
    approval_request_approve,
    approval_request_create,
    approval_request_start_review,
    approval_request_submit,
)
from governance.services.gate import gate_evaluate
from registry_sync.models import ModelVersion
from tests.factories import ModelVersionFactory, RaciAssignmentFactory, RunFactory, UserFactory
from tests.gate.test_gate_api import governed_version

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def member(username: str, *role_names: str, email: str = "") -> User:
    user = UserFactory.create(username=username, email=email or f"{username}@example.org")
    # get_or_create: a transactional test's flush removes the groups the migration made
    user.groups.add(*(Group.objects.get_or_create(name=name)[0] for name in role_names))
    return user


def client_for(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def upload(
    client: APIClient,
    version: ModelVersion,
    name: str,
    content: bytes,
    content_type: str,
    kind: str = "validation_report",
):
    url = f"/api/v1/models/{version.registered_model.name}/versions/{version.version}/evidence"
    return client.post(
        url, {"kind": kind, "file": SimpleUploadedFile(name, content, content_type)}, format="multipart"
    )


@pytest.mark.parametrize(
    ("name", "content", "content_type", "status", "code"),
    [
        ("report.pdf", PDF, "application/pdf", 201, None),
        ("card.md", b"# Model card\nIntended use: triage.", "text/markdown", 201, None),
        ("fake.pdf", b"MZ\x90\x00 not a pdf", "application/pdf", 415, "EVIDENCE_TYPE_MISMATCH"),
        ("tool.exe", b"MZ\x90\x00", "application/octet-stream", 415, "EVIDENCE_TYPE_REFUSED"),
        ("report.txt", PDF, "application/pdf", 415, "EVIDENCE_TYPE_REFUSED"),
        ("data.json", b"{not json", "application/json", 415, "EVIDENCE_TYPE_MISMATCH"),
        ("big.pdf", PDF + b"0" * 2048, "application/pdf", 413, "EVIDENCE_TOO_LARGE"),
    ],
)
def test_evidence_upload_checks_type_and_size_and_stores_the_digest(
    name: str, content: bytes, content_type: str, status: int, code: str | None, settings
) -> None:
    settings.EVIDENCE_MAX_BYTES = 1024
    version = ModelVersionFactory.create()
    response = upload(client_for(member("vic", roles.VALIDATOR)), version, name, content, content_type)
    assert response.status_code == status, response.content
    if code is None:
        assert response.json()["sha256"] == hashlib.sha256(content).hexdigest()
        stored = EvidenceDocument.objects.get()
        assert stored.file.read() == content
        assert AuditEvent.objects.filter(action="evidence.uploaded", data__sha256=stored.sha256).exists()
    else:
        assert response.json()["error"]["code"] == code
        assert not EvidenceDocument.objects.exists()


def test_json_evidence_nested_thousands_of_levels_deep_is_refused_not_a_500() -> None:
    version = ModelVersionFactory.create()
    content = b"[" * 5000 + b"]" * 5000  # overflowed Python's JSON decoder: a RecursionError
    response = upload(
        client_for(member("vic", roles.VALIDATOR)), version, "deep.json", content, "application/json"
    )
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "EVIDENCE_TYPE_MISMATCH"
    assert not EvidenceDocument.objects.exists()


def test_an_uploaded_bias_report_counts_as_bias_evidence() -> None:
    version = governed_version(tier="minimal", signoffs=[("owner", "olga")], metrics={"auc": 0.9})
    caller = member("ci", roles.ADMIN)
    before = gate_evaluate(
        model_name=version.registered_model.name, version=version.version, target="production", caller=caller
    )
    assert {r["code"] for r in before.reasons} == {"BIAS_TEST_MISSING"}
    assert (
        upload(
            client_for(caller), version, "bias.pdf", PDF, "application/pdf", kind="bias_report"
        ).status_code
        == 201
    )
    after = gate_evaluate(
        model_name=version.registered_model.name, version=version.version, target="production", caller=caller
    )
    assert after.allow is True
    assert after.input_document["version"]["bias_report"]["sha256"] == EvidenceDocument.objects.get().sha256


@pytest.mark.django_db(transaction=True)
def test_notifications_are_sent_after_commit() -> None:
    version = ModelVersionFactory.create(run=RunFactory.create(user_id="ds"))
    owner = member("olivia", roles.MODEL_OWNER, email="olivia@example.org")
    RaciAssignmentFactory.create(registered_model=version.registered_model, user=owner)
    member("vik", roles.VALIDATOR, email="vik@example.org")
    member("cleo", roles.COMMITTEE_MEMBER, email="cleo@example.org")
    request = approval_request_create(model_version=version, target="production", actor=owner)
    approval_request_submit(request=request, actor=owner)
    assert len(mail.outbox) == 1
    assert set(mail.outbox[0].to) == {"vik@example.org", "cleo@example.org"}
    assert "submitted" in mail.outbox[0].subject

    response = client_for(User.objects.get(username="cleo")).post(
        f"/api/v1/approvals/{request.pk}/comments",
        {"body": "Please attach the validation report."},
        format="json",
    )
    assert response.status_code == 201
    assert mail.outbox[-1].to == ["olivia@example.org"]
    assert "Please attach the validation report." in mail.outbox[-1].body


def test_tier_override_needs_a_second_person_and_reopens_approvals() -> None:
    # Sam, a model owner, is Responsible for the model with Rita: he requests and proposes the override.
    version = governed_version(tier="minimal", signoffs=[("owner", "olga")], responsible=("rita", "sam"))
    model = version.registered_model
    owner = member("sam", roles.MODEL_OWNER)
    request = approval_request_create(model_version=version, target="production", actor=owner)
    approval_request_submit(request=request, actor=owner)
    approval_request_start_review(request=request, actor=member("val", roles.VALIDATOR))
    approval_request_approve(request=request, actor=member("cleo", roles.COMMITTEE_MEMBER))
    assert ApprovalRequest.objects.get(pk=request.pk).state == "approved"

    proposer = client_for(owner)
    url = f"/api/v1/risk/{model.name}/override"
    short = proposer.post(url, {"tier": "high", "justification": "because"}, format="json")
    assert short.status_code == 400 and short.json()["error"]["code"] == "JUSTIFICATION_REQUIRED"
    proposed = proposer.post(
        url,
        {"tier": "high", "justification": "Used for credit limits in practice, beyond the stated use."},
        format="json",
    )
    assert proposed.status_code == 200 and proposed.json()["override_pending"] is True
    assert proposed.json()["effective_tier"] == "minimal"  # not in force until approved
    self_approval = proposer.post(f"{url}/approve")
    assert (
        self_approval.status_code == 409 and self_approval.json()["error"]["code"] == "SEPARATION_OF_DUTIES"
    )
    approved = client_for(member("cora", roles.COMPLIANCE_OFFICER)).post(f"{url}/approve")
    assert approved.status_code == 200 and approved.json()["effective_tier"] == "high"

    assert ApprovalRequest.objects.get(pk=request.pk).state == "in_review"  # re-opened: the sign-offs changed
    decision = gate_evaluate(
        model_name=model.name, version=version.version, target="production", caller=owner
    )
    assert decision.risk_tier == "high" and not decision.allow
    assert AuditEvent.objects.filter(action="approval.reopened", object_id=str(request.pk)).exists()
    assert ModelGovernance.objects.get(registered_model=model).override_approved_by is not None


def test_evidence_bundle_verifies_offline_and_detects_tampering(tmp_path: Path) -> None:
    version = governed_version(tier="minimal", signoffs=[("owner", "olga")])
    admin = member("ada", roles.ADMIN)
    client = client_for(admin)
    assert (
        upload(client, version, "card.md", b"# Card", "text/markdown", kind="model_card").status_code == 201
    )
    gate_evaluate(
        model_name=version.registered_model.name, version=version.version, target="production", caller=admin
    )
    gate_evaluate(
        model_name=version.registered_model.name, version=version.version, target="staging", caller=admin
    )

    response = client.get(f"/api/v1/lineage/{version.registered_model.name}/{version.version}/bundle.zip")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        archive.extractall(tmp_path)
    assert json.loads((tmp_path / "documents.json").read_text())[0]["filename"] == "card.md"
    verified = subprocess.run(
        [sys.executable, "verify.py", "."], cwd=tmp_path, capture_output=True, text=True
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "2 decisions" in verified.stdout and "OK" in verified.stdout

    decisions = json.loads((tmp_path / "decisions.json").read_text())
    decisions[0]["signed_document"]["allow"] = not decisions[0]["signed_document"]["allow"]
    (tmp_path / "decisions.json").write_text(json.dumps(decisions))
    tampered = subprocess.run(
        [sys.executable, "verify.py", "."], cwd=tmp_path, capture_output=True, text=True
    )
    assert tampered.returncode == 1
    assert "decisions.json: sha256" in tampered.stdout and "bad signature" in tampered.stdout
