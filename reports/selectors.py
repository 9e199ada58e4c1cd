"""Reads of the reports app. `report_data` computes a month's KPIs, their month-over-month deltas, 12-month
trends, top risks and the maturity grid in a fixed number of queries, whatever the number of models.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet

from assessments.models import Assessment, AssessmentState, Team
from governance.models import ApprovalRequest, ApprovalState, Deployment, GateDecision, TargetStage
from registry_sync.models import MirrorState, RegisteredModel
from reports import kpis
from reports.kpis import Coverage, Kpi, MaturityGrid, RiskRow
from reports.models import BusinessOutcome, Incident, IncidentKind, MonthlyReport, UsageCost
from reports.periods import Month
from reports.roi import RoiAssumptions

TREND_MONTHS = 12
APPROVED_STATES = [ApprovalState.APPROVED, ApprovalState.DEPLOYED, ApprovalState.RETIRED]
REVIEW_STATES = [ApprovalState.SUBMITTED, ApprovalState.IN_REVIEW]
COST_FIELDS = ("compute_cost", "storage_cost", "license_cost", "headcount_cost")


@dataclass
class MonthFigures:
    """The raw per-month aggregates KPIs are computed from (also used for trend charts)."""

    month: Month
    models_total: int = 0
    shipped_models: set[int] = field(default_factory=set)
    deployments: int = 0
    deployed_ever: set[int] = field(default_factory=set)
    incidents_by_kind: dict[str, int] = field(default_factory=dict)
    incidents_total: int = 0
    incidents_mapped: int = 0
    slo_pairs: list[tuple[float, float]] = field(default_factory=list)
    cost_models: int = 0
    cost_by_kind: dict[str, Decimal] = field(default_factory=dict)
    requests: int = 0
    predictions: int = 0
    decisions: int = 0
    decisions_allowed: int = 0
    decisions_bias_safety_passed: int = 0
    decision_models: set[int] = field(default_factory=set)
    cycle_days: list[float] = field(default_factory=list)
    approved_requests: int = 0
    outcome_models: int = 0
    ttfv_days: list[float] = field(default_factory=list)
    revenue_uplift: Decimal = Decimal(0)
    refunds_avoided: Decimal = Decimal(0)

    @property
    def total_cost(self) -> Decimal:
        return sum(self.cost_by_kind.values(), Decimal(0))


@dataclass
class ReportData:
    month: Month
    months: list[Month]
    figures: dict[Month, MonthFigures]
    kpis: dict[str, Kpi]
    series: dict[str, list[float | None]]
    top_risks: list[RiskRow]
    maturity: MaturityGrid
    models_total: int
    roi_defaults: RoiAssumptions
    narrative: str

    @property
    def current(self) -> MonthFigures:
        return self.figures[self.month]

    def kpi_list(self) -> list[Kpi]:
        return list(self.kpis.values())


def _month_of(value: datetime | Any) -> Month:
    return Month.of(value)


def _effective_tier(risk_tier: str | None, override_tier: str | None, override_approver: int | None) -> str:
    if override_tier and override_approver is not None:
        return override_tier
    return risk_tier or "unassessed"


def _kpis_for(figures: MonthFigures, previous: MonthFigures | None) -> dict[str, Kpi]:
    def values(f: MonthFigures) -> dict[str, float | None]:
        return {
            "shipped_models": float(len(f.shipped_models)),
            "drift_incidents": float(f.incidents_by_kind.get(IncidentKind.DRIFT, 0)),
            "sla_adherence": kpis.sla_adherence(f.slo_pairs),
            "cost_per_1k_requests": kpis.cost_per_thousand(f.total_cost, f.requests),
            "cost_per_1k_predictions": kpis.cost_per_thousand(f.total_cost, f.predictions),
            "safety_pass_rate": kpis.rate(f.decisions_bias_safety_passed, f.decisions),
            "gate_allow_rate": kpis.rate(f.decisions_allowed, f.decisions),
            "approval_cycle_median": kpis.median(f.cycle_days),
            "approval_cycle_p90": kpis.percentile_nearest_rank(f.cycle_days, 90),
            "time_to_first_value": kpis.median(f.ttfv_days),
            "revenue_uplift": float(f.revenue_uplift) if f.outcome_models else None,
            "refunds_avoided": float(f.refunds_avoided) if f.outcome_models else None,
            "total_cost": float(f.total_cost) if f.cost_models else None,
        }

    total = figures.models_total
    coverage = {
        "shipped_models": Coverage(len(figures.deployed_ever), total, "platform deployment records"),
        "drift_incidents": Coverage(
            figures.incidents_mapped, figures.incidents_total, "a known model", "incidents"
        ),
        "sla_adherence": Coverage(len(figures.slo_pairs), total, "SLO data"),
        "cost_per_1k_requests": Coverage(figures.cost_models, total, "cost data"),
        "cost_per_1k_predictions": Coverage(figures.cost_models, total, "cost data"),
        "safety_pass_rate": Coverage(len(figures.decision_models), total, "gate decisions"),
        "gate_allow_rate": Coverage(len(figures.decision_models), total, "gate decisions"),
        "approval_cycle_median": Coverage(
            len(figures.cycle_days), figures.approved_requests, "submission times", "approved requests"
        ),
        "approval_cycle_p90": Coverage(
            len(figures.cycle_days), figures.approved_requests, "submission times", "approved requests"
        ),
        "time_to_first_value": Coverage(len(figures.ttfv_days), total, "time-to-first-value data"),
        "revenue_uplift": Coverage(figures.outcome_models, total, "outcome data"),
        "refunds_avoided": Coverage(figures.outcome_models, total, "outcome data"),
        "total_cost": Coverage(figures.cost_models, total, "cost data"),
    }
    now = values(figures)
    before = values(previous) if previous is not None else {}
    return {
        key: Kpi(key=key, value=now[key], coverage=coverage[key], previous=before.get(key)) for key in now
    }


def report_data(*, month: Month, trend_months: int = TREND_MONTHS) -> ReportData:
    """Everything the dashboard and the PDF show for `month` (11 queries)."""
    months = month.back(max(trend_months, 2))
    range_start, range_end = months[0].start, month.end
    figures = {m: MonthFigures(month=m) for m in months}

    model_rows = list(
        RegisteredModel.objects.filter(state=MirrorState.ACTIVE).values_list(
            "id",
            "name",
            "tags",
            "mlflow_created_at",
            "governance__risk_tier",
            "governance__override_tier",
            "governance__override_approved_by_id",
        )
    )
    for m, f in figures.items():
        f.models_total = sum(1 for row in model_rows if row[3] is None or row[3] < m.end)

    deployment_rows = Deployment.objects.filter(
        target_stage=TargetStage.PRODUCTION, deployed_at__lt=range_end
    ).values_list("deployed_at", "model_version__registered_model_id")
    first_deployed: dict[int, datetime] = {}
    for deployed_at, model_id in deployment_rows:
        first_deployed[model_id] = min(deployed_at, first_deployed.get(model_id, deployed_at))
        if deployed_at >= range_start:
            f = figures[_month_of(deployed_at)]
            f.shipped_models.add(model_id)
            f.deployments += 1
    for m, f in figures.items():
        f.deployed_ever = {mid for mid, at in first_deployed.items() if at < m.end}

    incident_rows = list(
        Incident.objects.filter(started_at__lt=range_end)
        .filter(Q(ended_at__isnull=True) | Q(ended_at__gte=range_start))
        .values_list("kind", "started_at", "ended_at", "registered_model_id")
    )
    for kind, started_at, _ended_at, model_id in incident_rows:
        if started_at >= range_start:
            f = figures[_month_of(started_at)]
            f.incidents_by_kind[kind] = f.incidents_by_kind.get(kind, 0) + 1
            f.incidents_total += 1
            f.incidents_mapped += model_id is not None

    usage_rows = UsageCost.objects.filter(
        month__gte=months[0].first_day, month__lte=month.first_day
    ).values_list("month", "requests", "predictions", "slo_target", "slo_attainment", *COST_FIELDS)
    for row in usage_rows:
        f = figures[_month_of(row[0])]
        f.requests += row[1]
        f.predictions += row[2]
        if row[3] is not None and row[4] is not None:
            f.slo_pairs.append((row[3], row[4]))
        costs = dict(zip(COST_FIELDS, row[5:], strict=True))
        if any(costs.values()):
            f.cost_models += 1
        for name, value in costs.items():
            f.cost_by_kind[name] = f.cost_by_kind.get(name, Decimal(0)) + value

    decision_rows = GateDecision.objects.filter(
        evaluated_at__gte=range_start, evaluated_at__lt=range_end
    ).values_list("evaluated_at", "allow", "reasons", "model_version__registered_model_id")
    for evaluated_at, allow, reasons, model_id in decision_rows:
        f = figures[_month_of(evaluated_at)]
        f.decisions += 1
        f.decisions_allowed += allow
        f.decisions_bias_safety_passed += kpis.passes_bias_safety(reasons or [])
        f.decision_models.add(model_id)

    approval_rows = ApprovalRequest.objects.filter(
        state__in=APPROVED_STATES, decided_at__gte=range_start, decided_at__lt=range_end
    ).values_list("submitted_at", "decided_at")
    for submitted_at, decided_at in approval_rows:
        assert decided_at is not None  # filtered on its range
        f = figures[_month_of(decided_at)]
        f.approved_requests += 1
        if submitted_at is not None:
            f.cycle_days.append(kpis.cycle_days(submitted_at, decided_at))

    outcome_rows = BusinessOutcome.objects.filter(
        month__gte=months[0].first_day, month__lte=month.first_day
    ).values_list("month", "revenue_uplift", "refunds_avoided", "time_to_first_value_days")
    for out_month, revenue, refunds, ttfv in outcome_rows:
        f = figures[_month_of(out_month)]
        f.outcome_models += 1
        f.revenue_uplift += revenue
        f.refunds_avoided += refunds
        if ttfv is not None:
            f.ttfv_days.append(ttfv)

    review_cutoff = month.end - timedelta(days=kpis.REVIEW_SLA_DAYS)
    overdue_rows = (
        ApprovalRequest.objects.filter(submitted_at__lt=review_cutoff)
        .filter(Q(decided_at__isnull=True, state__in=REVIEW_STATES) | Q(decided_at__gte=month.end))
        .values_list("model_version__registered_model_id", flat=True)
    )
    overdue: dict[int, int] = defaultdict(int)
    for model_id in overdue_rows:
        overdue[model_id] += 1
    open_incidents: dict[int, int] = defaultdict(int)
    for _kind, started_at, ended_at, model_id in incident_rows:
        if model_id is not None and started_at < month.end and (ended_at is None or ended_at >= month.end):
            open_incidents[model_id] += 1
    risk_rows = []
    for model_id, name, tags, _created, tier, override, approver in model_rows:
        effective = _effective_tier(tier, override, approver)
        risk_rows.append(
            RiskRow(
                model_id=model_id,
                model_name=name,
                team=str((tags or {}).get("team", "")),
                tier=effective,
                open_incidents=open_incidents[model_id],
                overdue_reviews=overdue[model_id],
                score=kpis.risk_score(
                    tier=effective, open_incidents=open_incidents[model_id], overdue_reviews=overdue[model_id]
                ),
            )
        )

    team_names = list(Team.objects.values_list("name", flat=True))
    submissions = [
        (team, at, verified if verified is not None else level)
        for team, at, level, verified in Assessment.objects.filter(
            state=AssessmentState.SUBMITTED, submitted_at__lt=month.end
        ).values_list("team__name", "submitted_at", "level", "verified_level")
        if at is not None
    ]
    maturity = kpis.maturity_grid(teams=team_names, submissions=submissions, months=months[-6:])

    current, previous = figures[month], figures[months[-2]]
    month_kpis = _kpis_for(current, previous)
    series: dict[str, list[float | None]] = defaultdict(list)
    for m in months:
        for key, kpi in _kpis_for(figures[m], None).items():
            series[key].append(kpi.value)
        series["incidents_total"].append(float(figures[m].incidents_total))
    return ReportData(
        month=month,
        months=months,
        figures=figures,
        kpis=month_kpis,
        series=dict(series),
        top_risks=kpis.top_risks(risk_rows),
        maturity=maturity,
        models_total=current.models_total,
        roi_defaults=roi_defaults_from(current),
        narrative=kpis.narrative(month_kpis),
    )


def roi_defaults_from(figures: MonthFigures) -> RoiAssumptions:
    """Worksheet defaults prefilled from the month's recorded cost, incidents and outcomes."""
    costs = figures.cost_by_kind
    return RoiAssumptions(
        compute_monthly=float(costs.get("compute_cost", 0)),
        storage_monthly=float(costs.get("storage_cost", 0)),
        license_monthly=float(costs.get("license_cost", 0)),
        headcount_fte=1.0 if costs.get("headcount_cost") else 0.0,
        fte_loaded_cost_monthly=float(costs.get("headcount_cost", 0)),
        baseline_incidents_monthly=float(figures.incidents_total),
        cost_per_incident=5000.0,
        inference_cost_monthly=float(costs.get("compute_cost", 0)),
        revenue_uplift_monthly=float(figures.revenue_uplift),
        refunds_reduced_monthly=float(figures.refunds_avoided),
    )


def monthly_report_list() -> QuerySet[MonthlyReport]:
    return MonthlyReport.objects.order_by("-period", "-version")


def incident_list(*, month: Month | None = None) -> QuerySet[Incident]:
    queryset = Incident.objects.select_related("registered_model")
    if month is not None:
        queryset = queryset.filter(started_at__gte=month.start, started_at__lt=month.end)
    return queryset
