"""Verified checks from the platform's own data: factory-built mirror and governance rows, and one pass over
models synced from a real MLflow server."""

from __future__ import annotations

from typing import Any

import pytest
from mlflow import MlflowClient

from assessments.verification import CHECKS, team_checks, team_evidence_load
from registry_sync import services as sync_services
from registry_sync.models import MirrorState
from tests.assessments.factories import (
    ApiKeyFactory,
    DeploymentFactory,
    GateDecisionFactory,
    ModelGovernanceFactory,
    RaciAssignmentFactory,
    SignOffFactory,
)
from tests.factories import ModelAliasFactory, ModelVersionFactory, RegisteredModelFactory, RunFactory
from tests.mlflow_factory import experiment_id, make_version

pytestmark = pytest.mark.django_db

TEAM = "credit-risk"
EVIDENCE_MAX_QUERIES = 8


def _statuses(team: str = TEAM) -> dict[str, bool | None]:
    return {name: result.verified for name, result in team_checks(team_name=team).items()}


def _governed_model(name: str, **run_overrides: Any) -> Any:
    model = RegisteredModelFactory.create(name=name, tags={"team": TEAM})
    old = ModelVersionFactory.create(registered_model=model)
    latest = ModelVersionFactory.create(registered_model=model, run=RunFactory.create(**run_overrides))
    ModelGovernanceFactory.create(registered_model=model)
    RaciAssignmentFactory.create(registered_model=model)
    return model, old, latest


def test_a_team_without_models_is_refuted_on_registration_and_unknown_elsewhere() -> None:
    RegisteredModelFactory.create(tags={"team": "someone-else"})

    statuses = _statuses()

    assert statuses.pop("models_registered") is False
    assert set(statuses.values()) == {None}


def test_a_fully_governed_team_verifies_every_check(django_assert_max_num_queries: Any) -> None:
    _, old, latest = _governed_model("pd-model")
    ModelAliasFactory.create(model_version=latest, alias="champion")
    decision = GateDecisionFactory.create(model_version=latest, api_key=ApiKeyFactory.create())
    DeploymentFactory.create(gate_decision=decision, previous_version=old.version)
    SignOffFactory.create(model_version=latest)

    with django_assert_max_num_queries(EVIDENCE_MAX_QUERIES):
        evidence = team_evidence_load(team_name=TEAM)
    results = {name: check(evidence) for name, check in CHECKS.items()}

    assert {name: r.verified for name, r in results.items()} == dict.fromkeys(CHECKS, True)
    assert results["models_registered"].evidence == "1 active registered model: pd-model."
    assert results["ci_gate_calls"].evidence == "1 of 1 gate decisions came from a CI API key."


@pytest.mark.parametrize(
    ("setup", "check", "expected", "evidence_fragment"),
    [
        ("run_without_datasets", "versions_have_datasets", False, "missing: pd-model v2"),
        ("run_without_bias", "bias_metrics_logged", False, "0 of 1 latest versions log bias"),
        ("run_without_params", "versions_have_params_metrics", False, "0 of 1"),
        ("notebook_run", "training_runs_automated", False, "Trained from a notebook"),
        ("local_run", "training_runs_automated", None, "mlflow.source.type"),
        ("manual_gate_call", "ci_gate_calls", False, "none made with a CI API key"),
        ("alias_moved_outside", "promotions_via_platform", False, "outside the platform"),
        (
            "deployment_without_signoff",
            "approvals_signed_off",
            False,
            "1 of 1 deployed versions have no valid",
        ),
        ("deployment_without_previous", "rollback_target_recorded", None, "none has replaced"),
        ("unassessed_model", "risk_tiers_assessed", False, "missing: second"),
        ("no_accountable", "raci_assigned", False, "missing: second"),
    ],
)
def test_refuted_and_unknown_checks(
    setup: str, check: str, expected: bool | None, evidence_fragment: str
) -> None:
    overrides_by_setup: dict[str, dict[str, Any]] = {
        "run_without_datasets": {"datasets": []},
        "run_without_bias": {"metrics": {"auc": 0.9}},
        "run_without_params": {"params": {}},
        "notebook_run": {"tags": {"mlflow.source.type": "NOTEBOOK"}},
        "local_run": {"tags": {"mlflow.source.type": "LOCAL"}},
    }
    run_overrides = overrides_by_setup.get(setup, {})
    _, _, latest = _governed_model("pd-model", **run_overrides)
    if setup == "manual_gate_call":
        GateDecisionFactory.create(model_version=latest)
    if setup == "alias_moved_outside":
        ModelAliasFactory.create(model_version=latest, outside_platform=True)
        DeploymentFactory.create(gate_decision=GateDecisionFactory.create(model_version=latest))
    if setup in {"deployment_without_signoff", "deployment_without_previous"}:
        DeploymentFactory.create(gate_decision=GateDecisionFactory.create(model_version=latest))
    if setup == "unassessed_model":
        second = RegisteredModelFactory.create(name="second", tags={"team": TEAM})
        ModelGovernanceFactory.create(registered_model=second, risk_tier="unassessed")
        RaciAssignmentFactory.create(registered_model=second)
    if setup == "no_accountable":
        second = RegisteredModelFactory.create(name="second", tags={"team": TEAM})
        ModelGovernanceFactory.create(registered_model=second)
        RaciAssignmentFactory.create(registered_model=second, role="responsible")

    result = team_checks(team_name=TEAM)[check]

    assert result.verified is expected
    assert evidence_fragment in result.evidence


def test_checks_only_see_the_team_tag_and_active_models() -> None:
    RegisteredModelFactory.create(name="archived", tags={"team": TEAM}, state=MirrorState.ARCHIVED)
    other = RegisteredModelFactory.create(name="other-team", tags={"team": "marketing"})
    ModelAliasFactory.create(model_version=ModelVersionFactory.create(registered_model=other))

    statuses = _statuses()

    assert statuses["models_registered"] is False
    assert _statuses("marketing")["aliases_used"] is True


@pytest.mark.mlflow
def test_checks_on_models_synced_from_a_real_mlflow(mlflow: MlflowClient) -> None:
    experiment = experiment_id(mlflow)
    mlflow.create_registered_model("fraud-scorer", tags={"team": TEAM})
    make_version(mlflow, model="fraud-scorer", experiment=experiment, metrics={"auc": 0.9}, params={"C": "1"})
    version = make_version(
        mlflow,
        model="fraud-scorer",
        experiment=experiment,
        metrics={"auc": 0.91, "bias.demographic_parity_difference": 0.02},
        params={"C": "0.5"},
    )
    mlflow.set_registered_model_alias("fraud-scorer", "challenger", str(version))
    mlflow.create_registered_model("not-ours", tags={"team": "marketing"})
    sync_services.sync_full()

    results = team_checks(team_name=TEAM)

    assert results["models_registered"].verified is True
    assert results["models_registered"].evidence == "1 active registered model: fraud-scorer."
    assert results["versions_have_params_metrics"].verified is True
    assert results["versions_have_datasets"].verified is True
    assert results["bias_metrics_logged"].verified is True
    assert results["aliases_used"].verified is True
    assert results["ci_gate_calls"].verified is False
    assert results["raci_assigned"].verified is False
