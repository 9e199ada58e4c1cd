"""Usage/cost read from the MLflow mirror: the tag/metric convention, tag-over-metric and latest-run
precedence, manual (API/CSV) rows never overwritten, invalid figures reported, re-runs idempotent, and the
hook in monthly report generation before the KPIs are computed."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from governance.models import AuditEvent
from registry_sync.models import MirrorState
from reports import services
from reports.models import IntakeSource, UsageCost
from reports.pdf import RenderedReport
from reports.periods import Month
from tests.factories import ModelVersionFactory, RegisteredModelFactory, RunFactory

OCTOBER = Month(2026, 10)


def _run(started: datetime, **metrics: float):
    return RunFactory.create(started_at=started, metrics={"accuracy": 0.9, **metrics})


@pytest.fixture
def mirrored(db):
    fraud = RegisteredModelFactory.create(
        name="fraud-detector",
        tags={
            "team": "risk",
            "mlgov.usage.requests.2026-10": "1000000",
            "mlgov.cost.compute.2026-10": "812.404",
            "mlgov.usage.requests.2026-09": "900000",
        },
    )
    ModelVersionFactory.create(
        registered_model=fraud,
        run=_run(
            datetime(2026, 9, 1, tzinfo=UTC),
            **{"usage.requests.2026-10": 5, "usage.predictions.2026-10": 111, "cost.storage.2026-10": 1},
        ),
    )
    ModelVersionFactory.create(
        registered_model=fraud,
        run=_run(
            datetime(2026, 9, 20, tzinfo=UTC),
            **{"usage.predictions.2026-10": 2000000.0, "usage.slo_attainment.2026-10": 99.9},
        ),
    )
    churn = RegisteredModelFactory.create(name="churn-predictor", tags={"mlgov.usage.requests.2026-10": "7"})
    RegisteredModelFactory.create(
        name="pricing", tags={"mlgov.cost.compute.2026-10": "abc", "mlgov.usage.slo_target.2026-10": "120"}
    )
    RegisteredModelFactory.create(
        name="retired", state=MirrorState.ARCHIVED, tags={"mlgov.usage.requests.2026-10": "3"}
    )
    return fraud, churn


def test_figures_follow_the_convention_and_keep_manual_rows(mirrored):
    fraud, churn = mirrored
    services.usage_cost_upsert(
        registered_model=churn, month=OCTOBER, values={"requests": 42}, source=IntakeSource.CSV, actor="t"
    )
    result = services.usage_costs_sync_from_mlflow(month=OCTOBER)
    assert result.written == ["fraud-detector"]
    assert result.kept_manual == ["churn-predictor"]
    assert sorted(result.invalid) == [
        "pricing: tag mlgov.cost.compute.2026-10 = 'abc'",
        "pricing: tag mlgov.usage.slo_target.2026-10 = '120'",
    ]
    row = UsageCost.objects.get(registered_model=fraud)
    assert row.source == IntakeSource.MLFLOW and row.month == OCTOBER.first_day
    assert row.requests == 1_000_000  # the tag wins over the run metric (5)
    assert row.predictions == 2_000_000  # the later run wins over the earlier one (111)
    assert row.storage_cost == Decimal("1.00")  # only the earlier run logged it
    assert row.compute_cost == Decimal("812.40")
    assert row.slo_attainment == 99.9
    assert UsageCost.objects.get(registered_model=churn).requests == 42
    assert UsageCost.objects.count() == 2

    events = AuditEvent.objects.filter(actor=services.MLFLOW_ACTOR).count()
    again = services.usage_costs_sync_from_mlflow(month=OCTOBER)
    assert again.written == [] and again.unchanged == ["fraud-detector"]
    assert AuditEvent.objects.filter(actor=services.MLFLOW_ACTOR).count() == events


def test_mlflow_figures_update_their_own_rows_but_manual_entry_takes_over(mirrored):
    fraud, _churn = mirrored
    services.usage_costs_sync_from_mlflow(month=OCTOBER)
    fraud.tags["mlgov.usage.requests.2026-10"] = "1500000"
    fraud.save()
    assert services.usage_costs_sync_from_mlflow(month=OCTOBER).written == ["fraud-detector"]
    assert UsageCost.objects.get(registered_model=fraud).requests == 1_500_000
    services.usage_cost_upsert(
        registered_model=fraud, month=OCTOBER, values={"requests": 9}, source=IntakeSource.API, actor="t"
    )
    assert "fraud-detector" in services.usage_costs_sync_from_mlflow(month=OCTOBER).kept_manual
    assert UsageCost.objects.get(registered_model=fraud).requests == 9


def test_no_logged_figures_writes_nothing(db):
    RegisteredModelFactory.create(name="quiet")
    assert services.usage_costs_sync_from_mlflow(month=OCTOBER) == services.MlflowUsageResult()
    assert not UsageCost.objects.exists()


def test_monthly_report_generation_reads_mlflow_before_the_kpis(mirrored, settings, tmp_path, monkeypatch):
    settings.MEDIA_ROOT = tmp_path / "media"
    seen: dict[str, int] = {}

    def render(*, month: Month, progress=None) -> RenderedReport:
        seen["requests"] = UsageCost.objects.get(registered_model__name="fraud-detector").requests
        return RenderedReport(pdf=b"%PDF-1.7 test", page_count=1)

    monkeypatch.setattr("reports.pdf.monthly_report_render", render)
    steps: list[str] = []
    report = services.monthly_report_generate(month=OCTOBER, actor="tester", progress=steps.append)
    assert seen == {"requests": 1_000_000}
    assert steps[0] == "reading usage/cost logged in MLflow" and report.version == 1
