"""The policy input document is built from the governance records (one query for all of them) and the whole
evaluate path issues a fixed number of queries, however many records the version has."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from governance.models import (
    ApprovalRequest,
    AuditEvent,
    EvidenceDocument,
    GateDecision,
    RaciAssignment,
    SignOff,
)
from governance.services.audit import audit_chain_verify, audit_event_record
from governance.services.gate import gate_evaluate
from registry_sync.models import ModelVersion
from tests.factories import ModelVersionFactory, UserFactory
from tests.gate.test_gate_api import governed_version

pytestmark = pytest.mark.django_db


def _user(username: str) -> User:
    return User.objects.filter(username=username).first() or UserFactory.create(username=username)


def _approval(version: ModelVersion, target: str, submitter: str, *, state: str, age_minutes: int) -> None:
    user = _user(submitter)
    approval = ApprovalRequest.objects.create(
        model_version=version, target_stage=target, state=state, created_by=user, submitted_by=user
    )
    created = timezone.now() - timedelta(minutes=age_minutes)
    ApprovalRequest.objects.filter(pk=approval.pk).update(created_at=created)


def _bias_report(version: ModelVersion, sha: str, *, age_minutes: int) -> EvidenceDocument:
    document = EvidenceDocument.objects.create(
        model_version=version,
        kind="bias_report",
        file=f"evidence/{sha}.pdf",
        filename=f"{sha}.pdf",
        content_type="application/pdf",
        size=10,
        sha256=sha * 64,
        uploaded_by=_user("uploader"),
    )
    uploaded = timezone.now() - timedelta(minutes=age_minutes)
    EvidenceDocument.objects.filter(pk=document.pk).update(uploaded_at=uploaded)
    return document


def test_input_document_is_built_from_the_records() -> None:
    version = governed_version(tier="limited", signoffs=[("owner", "olga"), ("validator", "vic")])
    model = version.registered_model
    RaciAssignment.objects.create(registered_model=model, role="accountable", user=_user("ann"))
    RaciAssignment.objects.create(registered_model=model, role="informed", user=_user("ivy"))
    # A group entry counts for each member; "ann" is named and a member, and is listed once.
    risk_team = Group.objects.create(name="risk-team")
    risk_team.user_set.add(_user("ann"), _user("gus"))
    RaciAssignment.objects.create(registered_model=model, role="accountable", group=risk_team)
    Group.objects.create(name="empty-team")
    RaciAssignment.objects.create(
        registered_model=model, role="consulted", group=Group.objects.get(name="empty-team")
    )
    # Sign-offs that must not reach the policy: invalidated, or for the other target.
    SignOff.objects.create(
        model_version=version, target_stage="production", role="compliance", user=_user("cora"), valid=False
    )
    SignOff.objects.create(model_version=version, target_stage="staging", role="committee", user=_user("c1"))
    # The latest submitted, not withdrawn, request for this target names the submitter.
    _approval(version, "production", "old-sub", state="rejected", age_minutes=60)
    _approval(version, "production", "sub", state="submitted", age_minutes=30)
    _approval(version, "production", "withdrawer", state="withdrawn", age_minutes=1)
    _approval(version, "staging", "staging-sub", state="submitted", age_minutes=1)
    # The newest bias report is the one the policy sees.
    _bias_report(version, "a", age_minutes=50)
    newest = _bias_report(version, "b", age_minutes=5)
    _bias_report(version, "c", age_minutes=20)

    decision = gate_evaluate(
        model_name=model.name, version=version.version, target="production", caller=_user("ci")
    )

    document = decision.input_document
    assert document["model"]["raci"] == {
        "responsible": ["rita"],
        "accountable": ["ann", "gus"],
        "consulted": [],
        "informed": ["ivy"],
    }
    assert document["signoffs"] == [
        {"role": "owner", "user": "olga", "version": version.version, "valid": True},
        {"role": "validator", "user": "vic", "version": version.version, "valid": True},
    ]
    assert document["version"]["submitted_by"] == "sub"
    assert document["version"]["bias_report"] == {
        "uri": f"mlgov:evidence/{newest.pk}",
        "sha256": "b" * 64,
        "filename": "b.pdf",
    }
    assert document["model"]["risk_tier"] == "limited"
    assert decision.allow, decision.reasons


def test_without_records_the_submitter_is_the_mlflow_user_and_there_is_no_report() -> None:
    version = governed_version(tier="minimal", signoffs=[], submitter="mlflow-user", responsible=())
    decision = gate_evaluate(
        model_name=version.registered_model.name,
        version=version.version,
        target="production",
        caller=_user("ci"),
    )
    document = decision.input_document
    assert document["version"]["submitted_by"] == "mlflow-user"
    assert document["version"]["bias_report"] is None
    assert document["signoffs"] == []
    assert all(not users for users in document["model"]["raci"].values())
    assert {r["code"] for r in decision.reasons} == {"SIGNOFF_MISSING"}


@pytest.mark.parametrize("records", [1, 12])
def test_evaluate_issues_a_fixed_number_of_queries(records: int) -> None:
    version = governed_version(
        tier="high", signoffs=[(role, f"{role}-{i}") for i in range(records) for role in ("committee",)]
    )
    for i in range(records):
        RaciAssignment.objects.create(
            registered_model=version.registered_model, role="consulted", user=_user(f"co{i}")
        )
        group = Group.objects.create(name=f"team-{i}")
        group.user_set.add(_user(f"co{i}"), _user(f"member{i}"))
        RaciAssignment.objects.create(registered_model=version.registered_model, role="informed", group=group)
        _bias_report(version, f"{i % 10}", age_minutes=i)
    caller = _user("ci")
    audit_event_record(
        action="test.chain_started", actor="test"
    )  # the chain head exists, as after any change
    with CaptureQueriesContext(connection) as queries:
        gate_evaluate(
            model_name=version.registered_model.name,
            version=version.version,
            target="production",
            caller=caller,
        )
    sql = [q["sql"] for q in queries.captured_queries]
    # One read: the version (+run, model, governance) and every governance record; one write: the chain head
    # advanced, the decision and its audit event inserted (the test database is PostgreSQL). Nothing else, not
    # even a savepoint: one statement is atomic on its own.
    assert len(sql) == 2, [statement[:90] for statement in sql]
    read, write = sql
    assert read.count("UNION ALL") == 5 and "INSERT" not in read
    assert write.count("INSERT INTO") == 3 and "ON CONFLICT (id) DO UPDATE" in write
    decision = GateDecision.objects.get()
    event = AuditEvent.objects.get(action="gate.decision")
    assert event.object_id == str(decision.pk)
    assert audit_chain_verify().ok


def test_a_version_without_governance_record_or_run_is_unassessed() -> None:
    version = ModelVersionFactory.create(run=None, user_id="mlflow-user")
    caller = _user("ci")
    audit_event_record(action="test.chain_started", actor="test")
    with CaptureQueriesContext(connection) as queries:
        decision = gate_evaluate(
            model_name=version.registered_model.name,
            version=version.version,
            target="production",
            caller=caller,
        )
    document = decision.input_document
    assert document["model"]["risk_tier"] == "unassessed"
    assert document["committee"] == {"quorum": 2}
    assert document["version"]["bias_metrics"] == {} and document["version"]["submitted_by"] == "mlflow-user"
    assert {r["code"] for r in decision.reasons} >= {"RISK_TIER_UNKNOWN", "BIAS_TEST_MISSING"}
    assert len(queries.captured_queries) == 2
