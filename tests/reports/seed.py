"""A hand-checkable seeded month (October 2026, with September for deltas) shared by the reports tests.

The expected KPI values are worked out in tests/reports/test_kpis.py next to the assertions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from assessments.models import Assessment, AssessmentState, QuestionnaireVersion
from governance.models import ApprovalRequest, ApprovalState, Deployment, TargetStage
from registry_sync.models import ModelVersion, RegisteredModel
from reports.models import BusinessOutcome, Incident, IncidentKind, IncidentStatus, IntakeSource, UsageCost
from tests.assessments.factories import (
    DeploymentFactory,
    GateDecisionFactory,
    ModelGovernanceFactory,
    TeamFactory,
)
from tests.factories import ModelVersionFactory, RegisteredModelFactory, UserFactory


def at(month: int, day: int, hour: int = 12) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


@dataclass
class Seeded:
    fraud: RegisteredModel
    churn: RegisteredModel
    pricing: RegisteredModel
    ranking: RegisteredModel


def _model(name: str, team: str, tier: str | None) -> RegisteredModel:
    model = RegisteredModelFactory.create(name=name, tags={"team": team}, mlflow_created_at=at(1, 1))
    if tier is not None:
        ModelGovernanceFactory.create(registered_model=model, risk_tier=tier)
    return model


def _deploy(version: ModelVersion, when: datetime, stage: str = TargetStage.PRODUCTION) -> None:
    decision = GateDecisionFactory.create(model_version=version, evaluated_at=when, target_stage=stage)
    deployment = DeploymentFactory.create(gate_decision=decision, target_stage=stage)
    Deployment.objects.filter(pk=deployment.pk).update(deployed_at=when)


def _incident(model: RegisteredModel, kind: str, start: datetime, end: datetime | None) -> None:
    Incident.objects.create(
        kind=kind,
        status=IncidentStatus.RESOLVED if end else IncidentStatus.FIRING,
        registered_model=model,
        model_name=model.name,
        started_at=start,
        ended_at=end,
        source=IntakeSource.API,
    )


def _usage(
    model: RegisteredModel,
    requests: int,
    predictions: int,
    slo: tuple[float, float] | None,
    costs: tuple[int, int, int, int],
) -> None:
    UsageCost.objects.create(
        registered_model=model,
        month=date(2026, 10, 1),
        requests=requests,
        predictions=predictions,
        slo_target=slo[0] if slo else None,
        slo_attainment=slo[1] if slo else None,
        compute_cost=Decimal(costs[0]),
        storage_cost=Decimal(costs[1]),
        license_cost=Decimal(costs[2]),
        headcount_cost=Decimal(costs[3]),
        source=IntakeSource.CSV,
    )


def _approval(version: ModelVersion, state: str, submitted: datetime, decided: datetime | None) -> None:
    request = ApprovalRequest.objects.create(
        model_version=version,
        target_stage=TargetStage.STAGING if state == ApprovalState.REJECTED else TargetStage.PRODUCTION,
        state=state,
        created_by=UserFactory.create(username="requester"),
        submitted_at=submitted,
        decided_at=decided,
    )
    assert request.pk


def seed_october() -> Seeded:
    fraud = _model("fraud-detector", "fraud", "high")
    churn = _model("churn-predictor", "growth", "minimal")
    pricing = _model("dynamic-pricing", "growth", "limited")
    ranking = _model("search-ranking", "search", None)  # no governance record: unassessed
    fraud_v1, fraud_v2 = (
        ModelVersionFactory.create(registered_model=fraud),
        ModelVersionFactory.create(registered_model=fraud),
    )
    churn_v1 = ModelVersionFactory.create(registered_model=churn)
    pricing_v1, pricing_v2 = (
        ModelVersionFactory.create(registered_model=pricing),
        ModelVersionFactory.create(registered_model=pricing),
    )
    ranking_v1 = ModelVersionFactory.create(registered_model=ranking)

    # Deployments: October ships fraud (twice) and churn; September shipped pricing; staging does not count.
    _deploy(fraud_v1, at(10, 3))
    _deploy(fraud_v2, at(10, 20))
    _deploy(churn_v1, at(10, 8))
    _deploy(pricing_v1, at(9, 15))
    _deploy(ranking_v1, at(10, 9), stage=TargetStage.STAGING)

    # Incidents: October has 2 drift + 1 SLA breach, September 3 drift; fraud ends October with 2 open.
    _incident(fraud, IncidentKind.DRIFT, at(10, 5), None)
    _incident(churn, IncidentKind.DRIFT, at(10, 7), at(10, 10))
    _incident(fraud, IncidentKind.SLA_BREACH, at(10, 25), None)
    for day in (2, 12, 22):
        _incident(pricing, IncidentKind.DRIFT, at(9, day), at(9, day + 1))

    # Usage and cost for October: fraud meets its SLO, churn misses it, pricing has usage but no cost/SLO.
    _usage(fraud, 1_000_000, 2_000_000, (99.5, 99.9), (800, 100, 50, 50))
    _usage(churn, 500_000, 500_000, (99.0, 98.0), (400, 50, 25, 25))
    _usage(pricing, 500_000, 500_000, None, (0, 0, 0, 0))

    # Gate decisions evaluated in October (besides the deployments' own, which allow with no reasons).
    GateDecisionFactory.create(
        model_version=pricing_v2,
        evaluated_at=at(10, 11),
        allow=False,
        reasons=[{"code": "BIAS_THRESHOLD_EXCEEDED", "message": "dp 0.2"}],
    )
    GateDecisionFactory.create(
        model_version=pricing_v2,
        evaluated_at=at(10, 12),
        allow=False,
        reasons=[{"code": "SIGNOFF_MISSING", "message": "validator"}],
    )
    GateDecisionFactory.create(
        model_version=pricing_v2,
        evaluated_at=at(10, 13),
        allow=False,
        reasons=[
            {"code": "BIAS_TEST_MISSING", "message": "no bias"},
            {"code": "SIGNOFF_MISSING", "message": "x"},
        ],
    )

    # Approvals decided in October: 2, 4 and 10 days; one rejection (ignored); pricing v2 waits since 1 Sep.
    _approval(fraud_v1, ApprovalState.DEPLOYED, at(10, 1), at(10, 3))
    _approval(churn_v1, ApprovalState.APPROVED, at(10, 4), at(10, 8))
    _approval(fraud_v2, ApprovalState.APPROVED, at(10, 10), at(10, 20))
    _approval(ranking_v1, ApprovalState.REJECTED, at(10, 1), at(10, 30))
    _approval(pricing_v2, ApprovalState.IN_REVIEW, at(9, 1), None)

    owner = UserFactory.create(username="owner")
    BusinessOutcome.objects.create(
        registered_model=fraud,
        month=date(2026, 10, 1),
        revenue_uplift=Decimal(120000),
        refunds_avoided=Decimal(5000),
        time_to_first_value_days=30,
        source="finance dashboard",
        owner=owner,
    )
    BusinessOutcome.objects.create(
        registered_model=churn,
        month=date(2026, 10, 1),
        revenue_uplift=Decimal(30000),
        refunds_avoided=Decimal(0),
        time_to_first_value_days=10,
        source="crm",
        owner=owner,
    )

    questionnaire = QuestionnaireVersion.objects.create(
        version_id="mlops-v1", definition_id="mlops", version=1, title="MLOps", digest="0" * 64, content={}
    )
    for team_name, history in {"fraud": [(at(8, 10), 2), (at(10, 15), 3)], "growth": [(at(9, 5), 1)]}.items():
        team = TeamFactory.create(name=team_name)
        for submitted_at, level in history:
            Assessment.objects.create(
                team=team,
                questionnaire=questionnaire,
                state=AssessmentState.SUBMITTED,
                created_by=team.lead,
                submitted_at=submitted_at,
                level=level,
                verified_level=level,
            )
    TeamFactory.create(name="search")
    return Seeded(fraud=fraud, churn=churn, pricing=pricing, ranking=ranking)
