"""Approval requests through the API: the state machine refuses invalid transitions with 409, separation of
duties holds, approval needs the gate to allow now, and every transition is audited."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from rest_framework.test import APIClient

from governance import roles
from governance.models import ApprovalRequest, AuditEvent, GateDecision, ModelGovernance
from registry_sync.models import ModelVersion
from tests.factories import ModelVersionFactory, RaciAssignmentFactory, RunFactory, UserFactory

pytestmark = pytest.mark.django_db

BIAS_OK = {"bias.demographic_parity_difference": 0.02, "bias.equal_opportunity_difference": 0.01}


def person(username: str, *role_names: str) -> APIClient:
    user = UserFactory.create(username=username)
    user.groups.add(*Group.objects.filter(name__in=role_names))
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def version() -> ModelVersion:
    run = RunFactory.create(metrics=BIAS_OK, user_id="ds-alex")
    mv = ModelVersionFactory.create(run=run, user_id="ds-alex")
    ModelGovernance.objects.create(registered_model=mv.registered_model, risk_tier="limited")
    return mv


def steward(version: ModelVersion, username: str, role: str = "responsible") -> None:
    """Model owners act on models they are Responsible or Accountable for."""
    RaciAssignmentFactory.create(
        registered_model=version.registered_model, role=role, user=User.objects.get(username=username)
    )


def open_request(client: APIClient, version: ModelVersion, target: str = "production") -> dict[str, Any]:
    response = client.post(
        "/api/v1/approvals",
        {"model": version.registered_model.name, "version": version.version, "target": target},
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()


def act(client: APIClient, approval_id: int, action: str, **body: Any) -> Any:
    return client.post(f"/api/v1/approvals/{approval_id}/{action}", body, format="json")


def test_full_review_flow_with_signoffs_and_gate(version: ModelVersion) -> None:
    owner = person("olivia", roles.MODEL_OWNER)
    validator = person("vik", roles.VALIDATOR)
    committee = person("cleo", roles.COMMITTEE_MEMBER)
    steward(version, "olivia")

    approval = open_request(owner, version)
    assert approval["state"] == "draft"
    assert act(owner, approval["id"], "submit").json()["state"] == "submitted"
    assert act(validator, approval["id"], "start-review").json()["state"] == "in_review"

    # The submitter cannot sign off; the gate still lacks the validator's sign-off, so approval is refused.
    refused_signoff = owner.post(
        f"/api/v1/approvals/{approval['id']}/signoffs", {"role": "owner"}, format="json"
    )
    assert (
        refused_signoff.status_code == 409
        and refused_signoff.json()["error"]["code"] == "SEPARATION_OF_DUTIES"
    )
    other_owner = person("otto", roles.MODEL_OWNER)
    steward(version, "otto", "accountable")  # the owner sign-off comes from a steward of the model
    assert (
        other_owner.post(
            f"/api/v1/approvals/{approval['id']}/signoffs", {"role": "owner"}, format="json"
        ).status_code
        == 201
    )
    premature = act(committee, approval["id"], "approve")
    assert premature.status_code == 409 and premature.json()["error"]["code"] == "GATE_DENIES"
    denied = GateDecision.objects.get()
    assert denied.allow is False  # the refused approval's evaluation is kept as evidence
    assert denied.input_document["version"]["submitted_by"] == "olivia"

    evidence = ["a" * 64]
    signed = validator.post(
        f"/api/v1/approvals/{approval['id']}/signoffs",
        {"role": "validator", "evidence": evidence},
        format="json",
    )
    assert signed.status_code == 201 and signed.json()["evidence"] == evidence
    approved = act(
        committee, approval["id"], "approve", comment="Bias within limits; validation report reviewed."
    )
    assert approved.status_code == 200, approved.content
    assert approved.json()["state"] == "approved" and approved.json()["decided_by"] == "cleo"
    assert GateDecision.objects.get(pk=approved.json()["gate_decision"]).allow is True

    actions = list(
        AuditEvent.objects.filter(object_type="governance.approvalrequest").values_list("action", flat=True)
    )
    assert actions == [
        "approval.created",
        "approval.submitted",
        "approval.review_started",
        "approval.approved",
    ]


@pytest.mark.parametrize(
    ("setup", "action", "actor_roles"),
    [
        ([], "approve", [roles.COMMITTEE_MEMBER]),  # draft cannot be approved
        ([], "start-review", [roles.VALIDATOR]),  # draft must be submitted first
        (["submit"], "submit", [roles.MODEL_OWNER]),  # twice
        (["submit", "withdraw"], "start-review", [roles.VALIDATOR]),
        (["submit", "withdraw"], "withdraw", [roles.MODEL_OWNER]),
        (["submit"], "retire", [roles.MODEL_OWNER]),  # only deployed versions retire
    ],
)
def test_invalid_transitions_are_409_and_change_nothing(
    version: ModelVersion, setup: list[str], action: str, actor_roles: list[str]
) -> None:
    owner = person("olivia", roles.MODEL_OWNER)
    steward(version, "olivia")
    approval = open_request(owner, version)
    for step in setup:
        assert act(owner, approval["id"], step).status_code == 200
    before = ApprovalRequest.objects.get(pk=approval["id"]).state
    events = AuditEvent.objects.count()
    actor = owner if roles.MODEL_OWNER in actor_roles else person("x", *actor_roles)
    response = act(actor, approval["id"], action)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "INVALID_TRANSITION"
    assert ApprovalRequest.objects.get(pk=approval["id"]).state == before
    assert AuditEvent.objects.count() == events


def test_separation_of_duties_and_roles(version: ModelVersion) -> None:
    both = person("bea", roles.MODEL_OWNER, roles.COMMITTEE_MEMBER, roles.VALIDATOR)
    steward(version, "bea", "accountable")
    approval = open_request(both, version)
    act(both, approval["id"], "submit")
    self_review = act(both, approval["id"], "start-review")
    assert self_review.status_code == 409 and self_review.json()["error"]["code"] == "SEPARATION_OF_DUTIES"
    viewer = person("vera", roles.VIEWER)
    assert act(viewer, approval["id"], "start-review").status_code == 403
    act(person("val", roles.VALIDATOR), approval["id"], "start-review")
    self_approve = act(both, approval["id"], "approve")
    assert self_approve.status_code == 409 and self_approve.json()["error"]["code"] == "SEPARATION_OF_DUTIES"
    committee = person("cm", roles.COMMITTEE_MEMBER)
    no_reason = act(committee, approval["id"], "reject", comment="  ")
    assert no_reason.status_code == 400 and no_reason.json()["error"]["code"] == "COMMENT_REQUIRED"
    rejected = act(committee, approval["id"], "reject", comment="Missing model card.")
    assert (
        rejected.json()["state"] == "rejected"
        and rejected.json()["decision_comment"] == "Missing model card."
    )


def test_one_open_request_per_version_and_target(version: ModelVersion) -> None:
    owner = person("olivia", roles.MODEL_OWNER)
    steward(version, "olivia")
    open_request(owner, version)
    duplicate = owner.post(
        "/api/v1/approvals",
        {"model": version.registered_model.name, "version": version.version, "target": "production"},
        format="json",
    )
    assert duplicate.status_code == 409 and duplicate.json()["error"]["code"] == "APPROVAL_ALREADY_OPEN"
    open_request(owner, version, target="staging")  # another target is fine
    missing = owner.post(
        "/api/v1/approvals", {"model": "nope", "version": 1, "target": "staging"}, format="json"
    )
    assert missing.status_code == 404
    assert owner.get("/api/v1/approvals/999999").status_code == 404
