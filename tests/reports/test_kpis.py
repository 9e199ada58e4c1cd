"""KPI selectors on the seeded October 2026, each expected value worked out by hand beside it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from reports import kpis
from reports.kpis import Coverage, RiskRow
from reports.periods import Month
from reports.selectors import report_data
from tests.reports.seed import seed_october

OCTOBER = Month(2026, 10)


@pytest.fixture
def october(db):
    return seed_october()


# Hand computation (see tests/reports/seed.py):
#  shipped: fraud (twice) + churn in production = 2 models; September: pricing = 1.
#  drift: fraud + churn = 2; September 3.  4 models, all deployed? fraud, churn, pricing have production deployments.
#  SLA: fraud 99.9 >= 99.5 met, churn 98.0 < 99.0 missed -> 1 of 2 = 50 %.
#  cost: fraud 1000 + churn 500 = 1500 over 2,000,000 requests -> 0.75 per 1k; 3,000,000 predictions -> 0.50.
#  gate decisions (September: 1 allow = 100 %): 4 deployment decisions (allow, no reasons) + 3 denials (BIAS_..., SIGNOFF_..., BIAS_+SIGNOFF_)
#    -> bias/safety pass 5 of 7 = 71.43 %, allow 4 of 7 = 57.14 %.
#  approvals approved in October: 2, 4, 10 days -> median 4, p90 nearest rank ceil(0.9*3)=3rd -> 10.
#  outcomes: revenue 120000 + 30000 = 150000; refunds 5000; time to first value median(30, 10) = 20.
EXPECTED = [
    ("shipped_models", 2.0, 1.0, Coverage(3, 4, "platform deployment records")),
    ("drift_incidents", 2.0, 3.0, Coverage(3, 3, "a known model", "incidents")),
    ("sla_adherence", 50.0, None, Coverage(2, 4, "SLO data")),
    ("cost_per_1k_requests", 0.75, None, Coverage(2, 4, "cost data")),
    ("cost_per_1k_predictions", 0.5, None, Coverage(2, 4, "cost data")),
    ("safety_pass_rate", pytest.approx(500 / 7), 100.0, Coverage(4, 4, "gate decisions")),
    ("gate_allow_rate", pytest.approx(400 / 7), 100.0, Coverage(4, 4, "gate decisions")),
    ("approval_cycle_median", 4.0, None, Coverage(3, 3, "submission times", "approved requests")),
    ("approval_cycle_p90", 10.0, None, Coverage(3, 3, "submission times", "approved requests")),
    ("time_to_first_value", 20.0, None, Coverage(2, 4, "time-to-first-value data")),
    ("revenue_uplift", 150000.0, None, Coverage(2, 4, "outcome data")),
    ("refunds_avoided", 5000.0, None, Coverage(2, 4, "outcome data")),
    ("total_cost", 1500.0, None, Coverage(2, 4, "cost data")),
]


@pytest.mark.parametrize(("key", "value", "previous", "coverage"), EXPECTED, ids=[row[0] for row in EXPECTED])
def test_october_kpis(october, key, value, previous, coverage):
    data = report_data(month=OCTOBER)
    kpi = data.kpis[key]
    assert kpi.value == value
    assert kpi.previous == previous
    assert kpi.coverage == coverage
    assert kpi.definition


def test_coverage_text_reads_like_a_sentence():
    assert Coverage(7, 9, "cost data").text == "cost data for 7 of 9 models"


def test_deltas_and_narrative(october):
    data = report_data(month=OCTOBER)
    assert data.kpis["shipped_models"].delta_display == "+1"
    assert data.kpis["shipped_models"].trend == "good"
    assert data.kpis["drift_incidents"].delta_display == "-1"
    assert data.kpis["drift_incidents"].trend == "good"
    assert data.narrative == (
        "2 models shipped, drift incidents down 1 to 2, SLA adherence 50.0 %, revenue uplift $150,000."
    )


def test_top_risks_rank_tier_times_open_items(october):
    data = report_data(month=OCTOBER)
    # fraud: high (4) x (1 + 2 open incidents) x (1 + 0) = 12; pricing: limited (2) x 1 x (1 + 1 overdue) = 4.
    assert [(r.model_name, r.tier, r.open_incidents, r.overdue_reviews, r.score) for r in data.top_risks] == [
        ("fraud-detector", "high", 2, 0, 12),
        ("dynamic-pricing", "limited", 0, 1, 4),
    ]


def test_maturity_trend_by_team(october):
    grid = report_data(month=OCTOBER).maturity
    assert [str(m) for m in grid.months] == ["2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10"]
    assert grid.levels == {
        "fraud": [None, None, None, 2, 2, 3],
        "growth": [None, None, None, None, 1, 1],
        "search": [None] * 6,
    }


def test_report_data_queries_do_not_grow_with_models(october, django_assert_max_num_queries):
    with django_assert_max_num_queries(11):
        report_data(month=OCTOBER)


@pytest.mark.parametrize(
    ("values", "pct", "expected"),
    [
        ([], 90, None),
        ([5.0], 90, 5.0),
        ([2.0, 4.0, 10.0], 90, 10.0),
        ([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0], 90, 9.0),
        ([3.0, 1.0, 2.0, 4.0], 50, 2.0),
    ],
)
def test_percentile_nearest_rank(values, pct, expected):
    assert kpis.percentile_nearest_rank(values, pct) == expected


@pytest.mark.parametrize(
    ("pairs", "expected"),
    [([], None), ([(99.0, 99.0)], 100.0), ([(99.5, 99.9), (99.0, 98.0)], 50.0), ([(99.0, 98.9)], 0.0)],
)
def test_sla_adherence(pairs, expected):
    assert kpis.sla_adherence(pairs) == expected


@pytest.mark.parametrize(
    ("reasons", "passes"),
    [
        ([], True),
        ([{"code": "SIGNOFF_MISSING"}], True),
        ([{"code": "BIAS_THRESHOLD_EXCEEDED"}], False),
        ([{"code": "SAFETY_EVAL_FAILED"}], False),
        (["FAIRNESS_GAP"], False),
    ],
)
def test_bias_safety_pass(reasons, passes):
    assert kpis.passes_bias_safety(reasons) is passes


@pytest.mark.parametrize(
    ("tier", "incidents", "overdue", "score"),
    [
        ("high", 2, 0, 12),
        ("limited", 0, 1, 4),
        ("unacceptable", 1, 1, 20),
        ("bogus", 0, 0, 3),
        ("minimal", 0, 0, 1),
    ],
)
def test_risk_score(tier, incidents, overdue, score):
    assert kpis.risk_score(tier=tier, open_incidents=incidents, overdue_reviews=overdue) == score


def test_top_risks_skip_models_with_nothing_open():
    rows = [
        RiskRow(1, "a", "t", "high", 0, 0, 4),
        RiskRow(2, "b", "t", "minimal", 1, 0, 2),
        RiskRow(3, "c", "t", "limited", 1, 0, 4),
    ]
    assert [r.model_name for r in kpis.top_risks(rows)] == ["c", "b"]


def test_cost_per_thousand_without_usage_is_unknown():
    assert kpis.cost_per_thousand(100, 0) is None
    assert kpis.cost_per_thousand(100, 200_000) == 0.5


def test_cycle_days():
    assert kpis.cycle_days(datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 10, 2, 12, tzinfo=UTC)) == 1.5
