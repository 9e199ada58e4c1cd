"""Pure KPI arithmetic and presentation: no database access, so every number is table-testable by hand.

Selectors fetch plain values and call these; each KPI carries its definition and its data coverage.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from reports.periods import Month

BIAS_SAFETY_CODE_PREFIXES = ("BIAS_", "SAFETY_", "FAIRNESS_")
TIER_WEIGHTS = {"unacceptable": 5, "high": 4, "unassessed": 3, "limited": 2, "minimal": 1}
REVIEW_SLA_DAYS = 14


@dataclass(frozen=True)
class Coverage:
    have: int
    total: int
    what: str
    of_what: str = "models"

    @property
    def text(self) -> str:
        return f"{self.what} for {self.have} of {self.total} {self.of_what}"

    @property
    def complete(self) -> bool:
        return self.have >= self.total


@dataclass(frozen=True)
class KpiDefinition:
    key: str
    label: str
    unit: str  # count | percent | days | money | money_per_1k
    better: str  # up | down
    definition: str


DEFINITIONS: dict[str, KpiDefinition] = {
    d.key: d
    for d in (
        KpiDefinition(
            "shipped_models",
            "Models shipped",
            "count",
            "up",
            "Distinct models the platform deployed to production (a Deployment row) during the month.",
        ),
        KpiDefinition(
            "drift_incidents",
            "Drift incidents",
            "count",
            "down",
            "Incidents of kind drift that started during the month (Alertmanager, API or CSV intake).",
        ),
        KpiDefinition(
            "sla_adherence",
            "SLA adherence",
            "percent",
            "up",
            "Share of models with SLO data whose attained SLO met their target in the month.",
        ),
        KpiDefinition(
            "cost_per_1k_requests",
            "Cost per 1,000 requests",
            "money_per_1k",
            "down",
            "Compute + storage + license + headcount cost of models with usage data, per 1,000 requests served.",
        ),
        KpiDefinition(
            "cost_per_1k_predictions",
            "Cost per 1,000 predictions",
            "money_per_1k",
            "down",
            "The same total cost per 1,000 predictions made (a request may carry several predictions).",
        ),
        KpiDefinition(
            "safety_pass_rate",
            "Bias & safety pass rate",
            "percent",
            "up",
            "Share of gate decisions in the month with no BIAS_*, SAFETY_* or FAIRNESS_* denial reason.",
        ),
        KpiDefinition(
            "gate_allow_rate",
            "Gate allow rate",
            "percent",
            "up",
            "Share of gate decisions in the month that allowed the deployment (all policy rules passed).",
        ),
        KpiDefinition(
            "approval_cycle_median",
            "Approval cycle time (median)",
            "days",
            "down",
            "Median days from submission to approval of requests approved during the month.",
        ),
        KpiDefinition(
            "approval_cycle_p90",
            "Approval cycle time (p90)",
            "days",
            "down",
            "90th percentile (nearest rank) of the same submission-to-approval durations.",
        ),
        KpiDefinition(
            "time_to_first_value",
            "Time to first value (median)",
            "days",
            "down",
            "Median of the time-to-first-value days reported by model owners for the month.",
        ),
        KpiDefinition(
            "revenue_uplift",
            "Revenue uplift",
            "money",
            "up",
            "Sum of the revenue uplift model owners attribute to their models for the month.",
        ),
        KpiDefinition(
            "refunds_avoided",
            "Refunds avoided",
            "money",
            "up",
            "Sum of refunds avoided (reduced) that model owners attribute to their models for the month.",
        ),
        KpiDefinition(
            "total_cost",
            "Total run cost",
            "money",
            "down",
            "Sum of compute, storage, license and headcount cost reported for the month.",
        ),
    )
}


@dataclass(frozen=True)
class Kpi:
    key: str
    value: float | None
    coverage: Coverage
    previous: float | None = None

    @property
    def meta(self) -> KpiDefinition:
        return DEFINITIONS[self.key]

    @property
    def label(self) -> str:
        return self.meta.label

    @property
    def definition(self) -> str:
        return self.meta.definition

    @property
    def delta(self) -> float | None:
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous

    @property
    def trend(self) -> str:
        """good | bad | flat | none: whether the month-over-month change is an improvement."""
        delta = self.delta
        if delta is None:
            return "none"
        if abs(delta) < 1e-9:
            return "flat"
        return "good" if (delta > 0) == (self.meta.better == "up") else "bad"

    @property
    def display(self) -> str:
        return format_value(self.value, self.meta.unit)

    @property
    def previous_display(self) -> str:
        return format_value(self.previous, self.meta.unit)

    @property
    def delta_display(self) -> str:
        delta = self.delta
        if delta is None:
            return "n/a"
        sign = "+" if delta > 0 else ("-" if delta < 0 else "±")
        if self.meta.unit == "percent":
            return f"{sign}{abs(delta):.1f} pp"  # percentage points, not a relative change
        return sign + format_value(abs(delta), self.meta.unit)


@dataclass(frozen=True)
class RiskRow:
    model_id: int
    model_name: str
    team: str
    tier: str
    open_incidents: int
    overdue_reviews: int
    score: int


@dataclass
class MaturityGrid:
    months: list[Month]
    teams: list[str]
    levels: dict[str, list[int | None]] = field(default_factory=dict)


CURRENCY_SYMBOL = "$"


def format_value(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit == "count":
        return f"{value:,.0f}"
    if unit == "percent":
        return f"{value:.1f} %"
    if unit == "days":
        return f"{value:.1f} d"
    if unit == "money_per_1k":
        return f"{CURRENCY_SYMBOL}{value:,.2f}"
    if unit == "money":
        return f"{CURRENCY_SYMBOL}{value:,.0f}"
    return f"{value:g}"


def percentile_nearest_rank(values: Sequence[float], pct: float) -> float | None:
    """The smallest value with at least pct % of the values at or below it (nearest-rank method)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def cycle_days(submitted_at: datetime, decided_at: datetime) -> float:
    return (decided_at - submitted_at).total_seconds() / 86400


def sla_adherence(rows: Iterable[tuple[float, float]]) -> float | None:
    """% of (target, attained) pairs where attained met the target; None without data."""
    pairs = list(rows)
    if not pairs:
        return None
    return 100 * sum(1 for target, attained in pairs if attained >= target) / len(pairs)


def cost_per_thousand(total_cost: Decimal | float, units: int) -> float | None:
    if units <= 0:
        return None
    return float(total_cost) * 1000 / units


def passes_bias_safety(reasons: Iterable[object]) -> bool:
    for reason in reasons:
        code = reason.get("code", "") if isinstance(reason, dict) else str(reason)
        if str(code).startswith(BIAS_SAFETY_CODE_PREFIXES):
            return False
    return True


def rate(passed: int, total: int) -> float | None:
    return 100 * passed / total if total else None


def risk_score(*, tier: str, open_incidents: int, overdue_reviews: int) -> int:
    """Tier weight x (1 + open incidents) x (1 + overdue reviews): a high-tier model with nothing open still
    ranks above a minimal one, and every open item multiplies the exposure."""
    return TIER_WEIGHTS.get(tier, TIER_WEIGHTS["unassessed"]) * (1 + open_incidents) * (1 + overdue_reviews)


def top_risks(rows: Iterable[RiskRow], *, limit: int = 10) -> list[RiskRow]:
    """Models with at least one open incident or overdue review, highest score first."""
    exposed = [r for r in rows if r.open_incidents or r.overdue_reviews]
    return sorted(exposed, key=lambda r: (-r.score, r.model_name))[:limit]


def maturity_grid(
    *, teams: Iterable[str], submissions: Iterable[tuple[str, datetime, int | None]], months: list[Month]
) -> MaturityGrid:
    """The level of each team's latest submitted assessment as of each month's end (None before the first)."""
    grid = MaturityGrid(months=months, teams=sorted(set(teams)))
    by_team: dict[str, list[tuple[datetime, int | None]]] = {team: [] for team in grid.teams}
    for team, submitted_at, level in submissions:
        by_team.setdefault(team, []).append((submitted_at, level))
    grid.teams = sorted(by_team)
    for team, history in by_team.items():
        history.sort(key=lambda item: item[0])
        levels: list[int | None] = []
        for month in months:
            current = [level for at, level in history if at < month.end]
            levels.append(current[-1] if current else None)
        grid.levels[team] = levels
    return grid


def narrative(kpis: dict[str, Kpi]) -> str:
    """One sentence for executives built from the month's headline numbers and their direction."""
    parts: list[str] = []
    shipped = kpis["shipped_models"]
    parts.append(f"{shipped.display} model{'s' if shipped.value != 1 else ''} shipped")
    drift = kpis["drift_incidents"]
    if drift.delta is not None and drift.delta != 0:
        direction = "down" if drift.delta < 0 else "up"
        parts.append(f"drift incidents {direction} {abs(drift.delta):.0f} to {drift.display}")
    else:
        parts.append(f"{drift.display} drift incidents")
    sla = kpis["sla_adherence"]
    if sla.value is not None:
        parts.append(f"SLA adherence {sla.display}")
    revenue = kpis["revenue_uplift"]
    if revenue.value:
        parts.append(f"revenue uplift {revenue.display}")
    sentence = ", ".join(parts)
    return sentence[0].upper() + sentence[1:] + "."
