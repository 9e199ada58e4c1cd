"""Monthly report benchmark: time per stage (queries, charts, PDF) for N models with 12 months of data.

Usage (from the project root):

    .venv/bin/python benchmarks/report_bench.py [--models 500] [--database-url URL]

It (re)creates a throw-away PostgreSQL database, migrates it, bulk-fills N models with 12 months of usage/cost,
outcomes, incidents, gate decisions, deployments and approvals, then renders the monthly PDF once to warm up
(Chromium start for kaleido) and once timed. The SQL query count is measured at N and N/2 to show it is
constant in the number of models. Goal: total <= 15 s at 500 models.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.common import recreate_database  # noqa: E402 (after the sys.path line above)

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/mlgov_report_bench"
MONTH = "2026-10"


def _fill(models: int) -> None:
    from django.contrib.auth.models import User

    from governance.models import ApprovalRequest, ApprovalState, Deployment, GateDecision, ModelGovernance
    from registry_sync.models import ModelVersion, RegisteredModel
    from reports.models import BusinessOutcome, Incident, IntakeSource, UsageCost
    from reports.periods import Month

    rng = random.Random(7)
    owner = User.objects.create(username=f"bench-{uuid.uuid4().hex[:6]}")
    months = Month.parse(MONTH).back(12)
    prefix = uuid.uuid4().hex[:6]
    registered = RegisteredModel.objects.bulk_create(
        RegisteredModel(name=f"m-{prefix}-{i:04d}", tags={"team": f"team-{i % 12}"}) for i in range(models)
    )
    ModelGovernance.objects.bulk_create(
        ModelGovernance(registered_model=m, risk_tier=rng.choice(["minimal", "limited", "high"]))
        for m in registered
    )
    versions = ModelVersion.objects.bulk_create(
        ModelVersion(registered_model=m, version=1) for m in registered
    )
    usage, outcomes, incidents, decisions, approvals = [], [], [], [], []
    for model, version in zip(registered, versions, strict=True):
        for month in months:
            usage.append(
                UsageCost(
                    registered_model=model,
                    month=month.first_day,
                    requests=rng.randint(10_000, 1_000_000),
                    predictions=rng.randint(10_000, 2_000_000),
                    slo_target=99.0,
                    slo_attainment=rng.uniform(97, 100),
                    compute_cost=Decimal(rng.randint(100, 2000)),
                    storage_cost=Decimal(rng.randint(10, 200)),
                    source=IntakeSource.CSV,
                )
            )
            outcomes.append(
                BusinessOutcome(
                    registered_model=model,
                    month=month.first_day,
                    revenue_uplift=Decimal(rng.randint(0, 50_000)),
                    source="bench",
                    owner=owner,
                )
            )
            start = month.start + timedelta(days=rng.randint(0, 27))
            incidents.append(
                Incident(
                    kind=rng.choice(["drift", "sla_breach", "other"]),
                    registered_model=model,
                    model_name=model.name,
                    started_at=start,
                    ended_at=start + timedelta(hours=5),
                    status="resolved",
                    source=IntakeSource.API,
                )
            )
            decisions.append(
                GateDecision(
                    id=uuid.uuid4(),
                    model_version=version,
                    target_stage="production",
                    allow=rng.random() > 0.3,
                    risk_tier="limited",
                    reasons=[],
                    input_document={},
                    input_digest="0" * 64,
                    engine="embedded",
                    latency_ms=1.0,
                    caller="bench",
                    evaluated_at=start,
                    signed_document={},
                    signature="s",
                    key_id="k",
                )
            )
            approvals.append(
                ApprovalRequest(
                    model_version=version,
                    target_stage="staging",
                    state=ApprovalState.REJECTED if rng.random() < 0.1 else ApprovalState.RETIRED,
                    created_by=owner,
                    submitted_at=start,
                    decided_at=start + timedelta(days=rng.randint(1, 20)),
                )
            )
    UsageCost.objects.bulk_create(usage, batch_size=2000)
    BusinessOutcome.objects.bulk_create(outcomes, batch_size=2000)
    Incident.objects.bulk_create(incidents, batch_size=2000)
    GateDecision.objects.bulk_create(decisions, batch_size=2000)
    ApprovalRequest.objects.bulk_create(approvals, batch_size=2000)
    Deployment.objects.bulk_create(
        Deployment(
            gate_decision=d,
            model_version=d.model_version,
            target_stage="production",
            alias="champion",
            deployed_by="bench",
        )
        for d in decisions[::3]
        if d.allow
    )


def _queries(month: object) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from reports.selectors import report_data

    with CaptureQueriesContext(connection) as captured:
        report_data(month=month)  # type: ignore[arg-type]
    return len(captured.captured_queries)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", type=int, default=500)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    args = parser.parse_args(argv)

    recreate_database(args.database_url)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    from reports.pdf import monthly_report_render
    from reports.periods import Month

    call_command("migrate", verbosity=0)
    month = Month.parse(MONTH)
    started = time.perf_counter()
    _fill(args.models // 2)
    half_queries = _queries(month)
    _fill(args.models - args.models // 2)
    full_queries = _queries(month)
    print(f"filled {args.models} models x 12 months in {time.perf_counter() - started:.1f} s")
    print(f"queries: {half_queries} at {args.models // 2} models, {full_queries} at {args.models} models")

    warm = time.perf_counter()
    monthly_report_render(month=month)
    print(f"warm-up render (starts Chromium for kaleido): {time.perf_counter() - warm:.2f} s")
    rendered = monthly_report_render(month=month)
    total = sum(rendered.timings.values())
    for stage, seconds in rendered.timings.items():
        print(f"  {stage:<8} {seconds:6.2f} s")
    print(
        f"  {'total':<8} {total:6.2f} s  ({rendered.page_count} pages, {len(rendered.pdf)} bytes; goal <= 15 s)"
    )
    return 0 if total <= 15 and half_queries == full_queries else 1


if __name__ == "__main__":
    raise SystemExit(main())
