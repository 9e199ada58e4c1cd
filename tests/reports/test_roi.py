"""The ROI/TCO worksheet, table-tested with hand-computed cash flows."""

from __future__ import annotations

import pytest

from reports.roi import RoiAssumptions, cash_flow, roi_worksheet, summarize

# Run cost 1000/month (compute 600 + storage 100 + license 100 + 1 FTE x 200), setup 6000 in month 1.
# Benefits: 10 incidents x 500 x 30 % = 1500; inference 1000 x 20 % = 200; revenue 300 -> 2000/month.
BASE = RoiAssumptions(
    setup_cost=6000,
    compute_monthly=600,
    storage_monthly=100,
    license_monthly=100,
    headcount_fte=1,
    fte_loaded_cost_monthly=200,
    baseline_incidents_monthly=10,
    cost_per_incident=500,
    inference_cost_monthly=1000,
    revenue_uplift_monthly=300,
)

CASES = [
    # name, assumptions, months, total cost, total benefit, ROI %, payback month
    # month 1: 2000 - 7000 = -5000, then +1000/month -> cumulative 0 at month 6.
    ("pays back in month 6", BASE, 12, 18000.0, 24000.0, 33.33, 6),
    ("24 months", BASE, 24, 30000.0, 48000.0, 60.0, 6),
    # Benefits 900/month (no incident or inference savings) never cover 1000/month plus setup.
    (
        "never pays back",
        BASE.with_changes(baseline_incidents_monthly=0, inference_cost_monthly=0, revenue_uplift_monthly=900),
        24,
        30000.0,
        21600.0,
        -28.0,
        None,
    ),
    # 3-month ramp: benefits 666.67, 1333.33, then 2000/month: 22000 over 12 months; payback month 8.
    ("ramp delays payback", BASE.with_changes(ramp_months=3), 12, 18000.0, 22000.0, 22.22, 8),
    ("no costs at all", RoiAssumptions(), 12, 0.0, 0.0, None, None),
]


@pytest.mark.parametrize(
    ("name", "assumptions", "months", "cost", "benefit", "roi", "payback"), CASES, ids=[c[0] for c in CASES]
)
def test_expected_scenario(name, assumptions, months, cost, benefit, roi, payback):
    summary = roi_worksheet(assumptions).expected.summaries[months]
    assert summary.total_cost == cost
    assert summary.total_benefit == benefit
    assert summary.roi_pct == roi
    assert summary.payback_month == payback


def test_ramp_cash_flow_by_hand():
    rows = cash_flow(BASE.with_changes(ramp_months=3), months=8)
    # month 1: 666.67 - 7000; month 2: +333.33; from month 3: +1000 each, so zero in month 8.
    assert [r.benefit for r in rows[:4]] == [666.67, 1333.33, 2000.0, 2000.0]
    assert [r.cumulative for r in rows] == [
        -6333.33,
        -6000.0,
        -5000.0,
        -4000.0,
        -3000.0,
        -2000.0,
        -1000.0,
        0.0,
    ]


def test_scenarios_scale_benefits_and_costs():
    sheet = roi_worksheet(BASE)
    low, high = sheet.scenarios["low"].summaries[12], sheet.scenarios["high"].summaries[12]
    assert low.total_benefit == 24000 * 0.7 and low.total_cost == pytest.approx(18000 * 1.1)
    assert high.total_benefit == pytest.approx(24000 * 1.3) and high.total_cost == pytest.approx(18000 * 0.9)
    assert low.payback_month is None or low.payback_month > 6
    assert high.payback_month is not None and high.payback_month < 6


def test_defaults_are_the_issue_assumptions():
    assert RoiAssumptions().incident_reduction_pct == 30
    assert RoiAssumptions().inference_cost_reduction_pct == 20


def test_summarize_shorter_horizon_uses_prefix():
    rows = cash_flow(BASE, months=24)
    assert summarize(rows, months=12).net_benefit == 6000.0
