"""The ROI/TCO worksheet: a pure function from editable assumptions to monthly cash flow, cumulative net
benefit, ROI % and payback month over 12 and 24 months, in low / expected / high scenarios.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

HORIZONS = (12, 24)
SCENARIOS = ("low", "expected", "high")


@dataclass(frozen=True)
class RoiAssumptions:
    """Monthly figures in the report currency; percentages as 0-100. Every field is editable and shown."""

    setup_cost: float = 0.0
    compute_monthly: float = 0.0
    storage_monthly: float = 0.0
    license_monthly: float = 0.0
    headcount_fte: float = 0.0
    fte_loaded_cost_monthly: float = 0.0
    baseline_incidents_monthly: float = 0.0
    cost_per_incident: float = 0.0
    incident_reduction_pct: float = 30.0
    inference_cost_monthly: float = 0.0
    inference_cost_reduction_pct: float = 20.0
    revenue_uplift_monthly: float = 0.0
    sla_penalty_avoided_monthly: float = 0.0
    refunds_reduced_monthly: float = 0.0
    ramp_months: int = 0
    low_benefit_factor: float = 0.7
    high_benefit_factor: float = 1.3
    low_cost_factor: float = 1.1
    high_cost_factor: float = 0.9

    def with_changes(self, **changes: Any) -> RoiAssumptions:
        return replace(self, **changes)

    def as_dict(self) -> dict[str, float]:
        return asdict(self)

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    @property
    def monthly_run_cost(self) -> float:
        return (
            self.compute_monthly
            + self.storage_monthly
            + self.license_monthly
            + self.headcount_fte * self.fte_loaded_cost_monthly
        )

    @property
    def monthly_full_benefit(self) -> float:
        incidents_saved = (
            self.baseline_incidents_monthly * self.cost_per_incident * self.incident_reduction_pct / 100
        )
        inference_saved = self.inference_cost_monthly * self.inference_cost_reduction_pct / 100
        return (
            incidents_saved
            + inference_saved
            + self.revenue_uplift_monthly
            + self.sla_penalty_avoided_monthly
            + self.refunds_reduced_monthly
        )


MAX_AMOUNT = 999_999_999_999.99  # the bound of a month's figures everywhere (usage/cost intake, outcomes)


def _limits(name: str) -> tuple[float, float]:
    if name == "ramp_months":
        return 0, max(HORIZONS)
    if name.endswith("_pct"):
        return 0, 100
    if name.endswith("_factor"):
        return 0, 10
    if name == "headcount_fte":
        return 0, 1_000_000
    if name == "baseline_incidents_monthly":
        return 0, 1_000_000_000
    return 0, MAX_AMOUNT


# How the worksheet page names each assumption (the API uses the field names).
ASSUMPTION_LABELS: dict[str, str] = {
    "setup_cost": "Set-up cost (one-off)",
    "compute_monthly": "Compute per month",
    "storage_monthly": "Storage per month",
    "license_monthly": "Licences per month",
    "headcount_fte": "Headcount (FTE)",
    "fte_loaded_cost_monthly": "Loaded cost per FTE per month",
    "baseline_incidents_monthly": "Incidents per month before",
    "cost_per_incident": "Cost per incident",
    "incident_reduction_pct": "Incident reduction (%)",
    "inference_cost_monthly": "Inference cost per month",
    "inference_cost_reduction_pct": "Inference cost reduction (%)",
    "revenue_uplift_monthly": "Revenue uplift per month",
    "sla_penalty_avoided_monthly": "SLA penalties avoided per month",
    "refunds_reduced_monthly": "Refunds avoided per month",
    "ramp_months": "Ramp-up (months to full benefit)",
    "low_benefit_factor": "Low scenario: benefit factor",
    "high_benefit_factor": "High scenario: benefit factor",
    "low_cost_factor": "Low scenario: cost factor",
    "high_cost_factor": "High scenario: cost factor",
}

# Every assumption's accepted range: the worksheet stays finite, and the API and the page refuse the same values.
ASSUMPTION_LIMITS: dict[str, tuple[float, float]] = {
    name: _limits(name) for name in RoiAssumptions.field_names()
}


def assumption_value_error(name: str, value: float) -> str | None:
    """Why this value of the assumption is refused, or None."""
    low, high = ASSUMPTION_LIMITS[name]
    if not math.isfinite(value):
        return "must be a finite number"
    if value < low:
        return "must not be negative"
    if value > high:
        return f"must be at most {int(high) if high == int(high) else high:,}"
    return None


@dataclass(frozen=True)
class CashFlowMonth:
    month: int
    cost: float
    benefit: float
    net: float
    cumulative: float


@dataclass(frozen=True)
class HorizonSummary:
    months: int
    total_cost: float
    total_benefit: float
    net_benefit: float
    roi_pct: float | None
    payback_month: int | None  # first month whose cumulative net benefit is >= 0; None = never


@dataclass(frozen=True)
class Scenario:
    name: str
    cash_flow: list[CashFlowMonth]
    summaries: dict[int, HorizonSummary] = field(default_factory=dict)


@dataclass(frozen=True)
class RoiWorksheet:
    assumptions: RoiAssumptions
    scenarios: dict[str, Scenario]

    @property
    def expected(self) -> Scenario:
        return self.scenarios["expected"]


def _ramp(month: int, ramp_months: int) -> float:
    return 1.0 if ramp_months <= 0 else min(1.0, month / ramp_months)


def cash_flow(
    assumptions: RoiAssumptions, *, months: int, benefit_factor: float = 1.0, cost_factor: float = 1.0
) -> list[CashFlowMonth]:
    rows: list[CashFlowMonth] = []
    cumulative = 0.0
    for month in range(1, months + 1):
        cost = (assumptions.monthly_run_cost + (assumptions.setup_cost if month == 1 else 0.0)) * cost_factor
        benefit = assumptions.monthly_full_benefit * _ramp(month, assumptions.ramp_months) * benefit_factor
        net = benefit - cost
        cumulative += net
        rows.append(
            CashFlowMonth(
                month=month,
                cost=round(cost, 2),
                benefit=round(benefit, 2),
                net=round(net, 2),
                cumulative=round(cumulative, 2),
            )
        )
    return rows


def summarize(rows: list[CashFlowMonth], *, months: int) -> HorizonSummary:
    window = rows[:months]
    total_cost = round(sum(r.cost for r in window), 2)
    total_benefit = round(sum(r.benefit for r in window), 2)
    net = round(total_benefit - total_cost, 2)
    payback = next((r.month for r in window if r.cumulative >= 0 and r.benefit > 0), None)
    return HorizonSummary(
        months=months,
        total_cost=total_cost,
        total_benefit=total_benefit,
        net_benefit=net,
        roi_pct=round(100 * net / total_cost, 2) if total_cost else None,
        payback_month=payback,
    )


def roi_worksheet(assumptions: RoiAssumptions) -> RoiWorksheet:
    factors = {
        "low": (assumptions.low_benefit_factor, assumptions.low_cost_factor),
        "expected": (1.0, 1.0),
        "high": (assumptions.high_benefit_factor, assumptions.high_cost_factor),
    }
    scenarios: dict[str, Scenario] = {}
    for name in SCENARIOS:
        benefit_factor, cost_factor = factors[name]
        rows = cash_flow(
            assumptions, months=max(HORIZONS), benefit_factor=benefit_factor, cost_factor=cost_factor
        )
        scenarios[name] = Scenario(
            name=name, cash_flow=rows, summaries={h: summarize(rows, months=h) for h in HORIZONS}
        )
    return RoiWorksheet(assumptions=assumptions, scenarios=scenarios)
