"""Promotion against the real MLflow fixture: only an allowing decision moves the alias, once; a protected
alias moved in MLflow by hand is flagged by the next sync."""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib.auth.models import Group, User
from mlflow import MlflowClient
from rest_framework.test import APIClient

from governance import roles
from governance.models import AuditEvent, Deployment, GateDecision
from governance.services.apikeys import api_key_create
from governance.services.approvals import (
    approval_request_approve,
    approval_request_create,
    approval_request_start_review,
    approval_request_submit,
)
from governance.services.audit import audit_chain_verify
from governance.services.gate import GateError
from governance.services.records import intended_use_set, raci_assign, signoff_record
from registry_sync.models import ModelAlias, ModelVersion, RegisteredModel
from registry_sync.services import sync_full
from tests.factories import UserFactory
from tests.mlflow_factory import experiment_id, make_version
from tests.policies.inputs import changed, minimal_profile

pytestmark = [pytest.mark.django_db, pytest.mark.mlflow]

BIAS_OK = {"bias.demographic_parity_difference": 0.03, "bias.equal_opportunity_difference": 0.02}


def person(username: str, role: str) -> User:
    user = UserFactory.create(username=username)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def ci() -> APIClient:
    key = api_key_create(
        name="pipeline", scopes=["evaluate", "promote"], user=UserFactory.create(username="ci"), actor="test"
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key.secret}")
    return client


def test_promote_sets_the_alias_only_for_an_allowing_decision(mlflow: MlflowClient, ci: APIClient) -> None:
    exp = experiment_id(mlflow)
    v1 = make_version(mlflow, model="churn-scorer", experiment=exp, metrics=BIAS_OK)
    v2 = make_version(mlflow, model="churn-scorer", experiment=exp, metrics=BIAS_OK)
    sync_full()
    model = RegisteredModel.objects.get(name="churn-scorer")
    governance = intended_use_set(
        registered_model=model, profile=minimal_profile()["profile"], actor="test", as_of=date(2026, 11, 23)
    )
    assert governance.risk_tier == "minimal"
    owner = person("olga", roles.MODEL_OWNER)
    submitter = person("sam", roles.MODEL_OWNER)
    # Model owners act on the models they steward: Sam is Responsible, Olga Accountable.
    raci_assign(registered_model=model, role="responsible", user=submitter, actor="test")
    raci_assign(registered_model=model, role="accountable", user=owner, actor="test")
    signoff_record(
        model_version=ModelVersion.objects.get(registered_model=model, version=v1),
        target="production",
        role="owner",
        user=owner,
    )

    # The committee's path: request → review → approve (the gate must allow), then CI promotes.
    version_1 = ModelVersion.objects.get(registered_model=model, version=v1)
    request = approval_request_create(model_version=version_1, target="production", actor=submitter)
    approval_request_submit(request=request, actor=submitter)
    approval_request_start_review(request=request, actor=person("val", roles.VALIDATOR))
    approval_request_approve(request=request, actor=person("cleo", roles.COMMITTEE_MEMBER))

    allowed = ci.post(
        "/api/v1/gates/evaluate",
        {"model": "churn-scorer", "version": v1, "target": "production"},
        format="json",
    ).json()
    assert allowed["allow"] is True and allowed["auto_deploy"] is True
    promoted = ci.post("/api/v1/gates/promote", {"decision_id": allowed["decision_id"]}, format="json")
    assert promoted.status_code == 201, promoted.content
    assert promoted.json()["alias"] == "champion" and promoted.json()["previous_version"] is None
    assert mlflow.get_model_version_by_alias("churn-scorer", "champion").version == str(v1)
    alias = ModelAlias.objects.get(registered_model=model, alias="champion")
    assert alias.model_version.version == v1 and alias.outside_platform is False

    request.refresh_from_db()
    assert request.state == "deployed"
    assert AuditEvent.objects.filter(action="approval.deployed", object_id=str(request.pk)).exists()

    again = ci.post("/api/v1/gates/promote", {"decision_id": allowed["decision_id"]}, format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "ALREADY_PROMOTED"

    denied = ci.post(
        "/api/v1/gates/evaluate",
        {"model": "churn-scorer", "version": v2, "target": "production"},
        format="json",
    ).json()
    assert denied["allow"] is False and {r["code"] for r in denied["reasons"]} == {"SIGNOFF_MISSING"}
    refused = ci.post("/api/v1/gates/promote", {"decision_id": denied["decision_id"]}, format="json")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "DECISION_DENIED"
    assert mlflow.get_model_version_by_alias("churn-scorer", "champion").version == str(v1)
    assert Deployment.objects.count() == 1

    # The platform's own move is not flagged by the next reconciliation; a hand-made move is.
    sync_full()
    assert ModelAlias.objects.get(registered_model=model, alias="champion").outside_platform is False
    mlflow.set_registered_model_alias("churn-scorer", "champion", str(v2))
    sync_full()
    moved = ModelAlias.objects.get(registered_model=model, alias="champion")
    assert moved.model_version.version == v2 and moved.outside_platform is True
    flagged = AuditEvent.objects.get(action="registry.protected_alias_moved_outside_platform")
    assert flagged.data == {"alias": "champion", "version": v2, "previous_version": v1}
    assert audit_chain_verify().ok


def test_unknown_decision_and_mlflow_refusal(mlflow: MlflowClient, ci: APIClient, settings) -> None:
    missing = ci.post(
        "/api/v1/gates/promote", {"decision_id": "00000000-0000-0000-0000-000000000000"}, format="json"
    )
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "DECISION_NOT_FOUND"
    malformed = ci.post("/api/v1/gates/promote", {"decision_id": "yesterday"}, format="json")
    assert malformed.status_code == 400 and "decision_id" in malformed.json()["error"]["details"]

    number = make_version(mlflow, model="gone-soon", experiment=experiment_id(mlflow), metrics=BIAS_OK)
    sync_full()
    model = RegisteredModel.objects.get(name="gone-soon")
    intended_use_set(registered_model=model, profile=minimal_profile()["profile"], actor="test")
    version = ModelVersion.objects.get(registered_model=model, version=number)
    owner = person("oz", roles.MODEL_OWNER)
    raci_assign(registered_model=model, role="accountable", user=owner, actor="test")
    signoff_record(model_version=version, target="production", role="owner", user=owner)
    decision = ci.post(
        "/api/v1/gates/evaluate",
        {"model": "gone-soon", "version": number, "target": "production"},
        format="json",
    ).json()
    assert decision["allow"] is True
    settings.MLFLOW_TRACKING_URI = "http://127.0.0.1:9"  # MLflow unreachable when promoting
    unavailable = ci.post("/api/v1/gates/promote", {"decision_id": decision["decision_id"]}, format="json")
    assert unavailable.status_code == 503 and unavailable.json()["error"]["code"] == "MLFLOW_UNAVAILABLE"
    assert not Deployment.objects.exists()  # rolled back with the failed MLflow call
    assert not AuditEvent.objects.filter(action="gate.promoted").exists()
    assert GateDecision.objects.filter(pk=decision["decision_id"]).exists()


def test_signoff_service_refuses_forbidden_combinations(mlflow: MlflowClient) -> None:
    number = make_version(mlflow, model="sod-model", experiment=experiment_id(mlflow), metrics=BIAS_OK)
    sync_full()
    version = ModelVersion.objects.select_related("registered_model", "run").get(
        registered_model__name="sod-model", version=number
    )
    assert version.run is not None
    submitter = person(version.run.user_id, roles.MODEL_OWNER)
    raci_assign(registered_model=version.registered_model, role="accountable", user=submitter, actor="test")
    with pytest.raises(GateError) as by_submitter:
        signoff_record(model_version=version, target="production", role="owner", user=submitter)
    assert by_submitter.value.code == "SEPARATION_OF_DUTIES"

    validator = person("val", roles.VALIDATOR)
    raci_assign(registered_model=version.registered_model, role="responsible", user=validator, actor="test")
    with pytest.raises(GateError) as responsible_validator:
        signoff_record(model_version=version, target="production", role="validator", user=validator)
    assert responsible_validator.value.code == "SEPARATION_OF_DUTIES"

    with pytest.raises(GateError) as not_held:
        signoff_record(model_version=version, target="production", role="compliance", user=validator)
    assert not_held.value.code == "SIGNOFF_ROLE_NOT_HELD"

    member = person("cm", roles.COMMITTEE_MEMBER)
    signoff_record(model_version=version, target="production", role="committee", user=member)
    with pytest.raises(GateError) as twice:
        signoff_record(model_version=version, target="production", role="committee", user=member)
    assert twice.value.code == "SIGNOFF_DUPLICATE"

    with pytest.raises(GateError) as invalid_profile:
        intended_use_set(
            registered_model=version.registered_model,
            profile=changed(minimal_profile(), {"profile.sectors": ["astrology"]})["profile"],
            actor="test",
        )
    assert invalid_profile.value.code == "PROFILE_INVALID"
