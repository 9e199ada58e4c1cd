"""Committee review queue benchmark: SQL queries and server-side p50/p95 of GET /queue/ (and its filtered
variants and htmx partial) with 1,000 models, against a trivial authenticated endpoint in the same run.

Usage (from the project root):

    .venv/bin/python benchmarks/queue_bench.py [--models 1000] [--requests 200] [--database-url URL] [--check]

It (re)creates a throw-away PostgreSQL database, migrates it and bulk-fills N models (3 versions each,
governance records with risk tiers, overrides and teams, MLflow team tags), about 3 approval requests per
model in every state with submissions spread over 30 days, and 0-20 gate decisions per submitted request
(typically 1-4). A committee member, logged in with Django's test Client (in process, DEBUG off, persistent DB
connections), then requests:

* the SQL query count of every variant at N/2 and at N (goal: the same at both sizes and <= 8);
* server-side latency (the `Server-Timing: app;dur=` header) over R rounds, each round requesting the baseline
  (GET /api/v1/whoami, session-authenticated) and every queue variant once, so all see the same machine load;
  prints p50/p95 and p95_variant / p95_baseline (goal: p95 <= 150 ms for every variant).

See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
import uuid
import warnings
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.common import drop_database, percentile, recreate_database  # noqa: E402 (after the sys.path line above)

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/mlgov_queue_bench"
RESULTS_DIR = ROOT / "benchmarks" / "results"
GOAL_MAX_QUERIES = 8
GOAL_P95_MS = 150.0
TEAMS = 15
BASELINE = "baseline: GET /api/v1/whoami"

# (name, query parameters, htmx partial)
VARIANTS: list[tuple[str, dict[str, str], bool]] = [
    ("queue: open (default)", {}, False),
    ("queue: htmx partial", {}, True),
    ("queue: state=any", {"state": "any"}, False),
    ("queue: state=in_review", {"state": "in_review"}, False),
    ("queue: risk_tier=high", {"risk_tier": "high"}, False),
    ("queue: team=team-03", {"team": "team-03"}, False),
    ("queue: waiting=7d", {"waiting": "7d"}, False),
    ("queue: tier+team+waiting", {"risk_tier": "limited", "team": "team-07", "waiting": "2d"}, False),
    ("queue: state=any, last page", {"state": "any", "page": "last"}, False),
]


@dataclass
class Timing:
    name: str
    requests: int
    server_p50_ms: float
    server_p95_ms: float
    wall_p50_ms: float
    wall_p95_ms: float
    cpu_p50_ms: float
    sql_p50_ms: float
    rows: int


def make_people() -> dict[str, Any]:
    from django.contrib.auth.models import Group, User

    from governance import roles

    def person(username: str, role: str) -> User:
        user = User.objects.create(username=username, first_name=username.title())
        user.groups.add(Group.objects.get(name=role))
        return user

    return {
        "committee": person("committee-cora", roles.COMMITTEE_MEMBER),
        "owners": [person(f"owner-{i:02d}", roles.MODEL_OWNER) for i in range(20)],
        "validators": [person(f"validator-{i}", roles.VALIDATOR) for i in range(5)],
    }


def fill(*, first: int, count: int, people: dict[str, Any], rng: random.Random) -> None:
    """Models first..first+count-1, each with 3 versions, a governance record (90%), ~3 approval requests
    (one open per model and target at most, as the database enforces) and their gate decisions."""
    from governance.models import ApprovalRequest, ApprovalState, GateDecision, ModelGovernance
    from registry_sync.models import ModelVersion, RegisteredModel

    now = datetime.now(UTC)
    owners, validators = people["owners"], people["validators"]
    models = RegisteredModel.objects.bulk_create(
        RegisteredModel(
            name=f"bench-model-{i:04d}",
            # 10% without an MLflow team tag: their team comes from the governance record or is empty
            tags={"team": f"team-{i % TEAMS:02d}", "domain": "lending"} if i % 10 else {"domain": "lending"},
            mlflow_created_at=now - timedelta(days=200),
        )
        for i in range(first, first + count)
    )
    governance = []
    for model in models:
        if rng.random() < 0.1:
            continue  # unassessed: no governance record
        approved_override = rng.random() < 0.03
        governance.append(
            ModelGovernance(
                registered_model=model,
                risk_tier=rng.choices(["minimal", "limited", "high", "unassessed"], [3, 5, 2, 1])[0],
                team=f"team-{rng.randrange(TEAMS):02d}" if rng.random() < 0.3 else "",
                override_tier="high" if approved_override else "",
                override_approved_by=validators[0] if approved_override else None,
            )
        )
    ModelGovernance.objects.bulk_create(governance, batch_size=2000)
    versions = ModelVersion.objects.bulk_create(
        (
            ModelVersion(
                registered_model=model,
                version=v,
                user_id=f"ds-{model.pk % 30}",
                mlflow_created_at=now - timedelta(days=100 - 30 * v),
            )
            for model in models
            for v in (1, 2, 3)
        ),
        batch_size=3000,
    )
    closed = [ApprovalState.REJECTED, ApprovalState.WITHDRAWN, ApprovalState.DEPLOYED, ApprovalState.RETIRED]
    latest_states = [*closed, ApprovalState.DRAFT, ApprovalState.SUBMITTED, ApprovalState.IN_REVIEW]
    latest_states.append(ApprovalState.APPROVED)
    requests: list[ApprovalRequest] = []
    for index in range(0, len(versions), 3):
        v1, v2, v3 = versions[index : index + 3]
        plan = [
            (v1, "production", rng.choice(closed)),
            (v2, "staging", rng.choice([ApprovalState.DEPLOYED, ApprovalState.REJECTED])),
            (v3, "production", rng.choices(latest_states, [1, 1, 1, 1, 3, 7, 5, 2])[0]),
        ]
        if rng.random() < 0.3:
            plan.append((v3, "staging", rng.choice([ApprovalState.SUBMITTED, ApprovalState.DEPLOYED])))
        for version, target, state in plan:
            owner = rng.choice(owners)
            submitted = state != ApprovalState.DRAFT
            submitted_at = now - timedelta(days=rng.uniform(0, 30)) if submitted else None
            in_review = state not in (ApprovalState.DRAFT, ApprovalState.SUBMITTED, ApprovalState.WITHDRAWN)
            decided = state in (*closed, ApprovalState.APPROVED) and state != ApprovalState.WITHDRAWN
            requests.append(
                ApprovalRequest(
                    model_version=version,
                    target_stage=target,
                    state=state,
                    created_by=owner,
                    submitted_by=owner if submitted else None,
                    submitted_at=submitted_at,
                    reviewer=rng.choice(validators) if in_review else None,
                    decided_by=people["committee"] if decided else None,
                    decided_at=submitted_at + timedelta(days=1) if decided and submitted_at else None,
                )
            )
    ApprovalRequest.objects.bulk_create(requests, batch_size=2000)
    decisions = []
    for request in requests:
        if request.submitted_at is None:
            continue
        # Most requests see a gate run or two; a few are re-evaluated by CI many times.
        for n in range(rng.choice([0, 1, 1, 2, 2, 3, 4, 20])):
            received = min(n, 2)
            decisions.append(
                GateDecision(
                    id=uuid.uuid4(),
                    model_version=request.model_version,
                    target_stage=request.target_stage,
                    allow=received >= 2,
                    risk_tier="limited",
                    reasons=[] if received >= 2 else [{"code": "SIGNOFF_MISSING", "message": "missing"}],
                    required_signoffs=[
                        {"role": "owner", "count": 1, "received": min(received, 1), "independent": False},
                        {
                            "role": "validator",
                            "count": 1,
                            "received": max(received - 1, 0),
                            "independent": True,
                        },
                    ],
                    input_document={"bench": True},
                    input_digest="0" * 64,
                    engine="embedded",
                    latency_ms=1.0,
                    caller="bench",
                    evaluated_at=request.submitted_at + timedelta(hours=n + 1),
                    signed_document={},
                    signature="s",
                    key_id="k",
                )
            )
    GateDecision.objects.bulk_create(decisions, batch_size=2000)


def analyze() -> None:
    """Planner statistics, as autovacuum would have them for tables that did not just get bulk-filled."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def get(client: Any, name: str) -> Any:
    from django.urls import reverse

    if name == BASELINE:
        return client.get(reverse("api:whoami"))
    params, htmx = next((p, h) for n, p, h in VARIANTS if n == name)
    return client.get(reverse("governance:queue"), params, headers={"HX-Request": "true"} if htmx else {})


def rows(response: Any) -> int:
    return response.content.decode().count('href="/approvals/')


def query_counts(client: Any) -> dict[str, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = {}
    for name in [BASELINE, *(n for n, _, _ in VARIANTS)]:
        with CaptureQueriesContext(connection) as captured:
            response = get(client, name)
        assert response.status_code == 200, (name, response.status_code)
        counts[name] = len(captured.captured_queries)
    return counts


def measure(client: Any, *, rounds: int) -> list[Timing]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    names = [BASELINE, *(n for n, _, _ in VARIANTS)]
    samples: dict[str, dict[str, list[float]]] = {
        name: {"server": [], "wall": [], "cpu": [], "sql": []} for name in names
    }
    row_counts = {}
    for name in names:  # warm-up: template loading, URL resolver, plan caches
        for _ in range(5):
            row_counts[name] = rows(get(client, name))
    for round_ in range(rounds):
        # Rotate the order so no endpoint always follows the same one.
        for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
            connection.queries_log.clear()  # a full log (9,000 entries) would make the capture empty
            with CaptureQueriesContext(connection) as captured:
                cpu, started = time.process_time(), time.perf_counter()
                response = get(client, name)
                wall, cpu = time.perf_counter() - started, time.process_time() - cpu
            assert response.status_code == 200, (name, response.status_code)
            sample = samples[name]
            sample["server"].append(float(response["Server-Timing"].split("dur=")[1]))
            sample["wall"].append(wall * 1000)
            sample["cpu"].append(cpu * 1000)
            sample["sql"].append(sum(float(q["time"]) for q in captured.captured_queries) * 1000)
    return [
        Timing(
            name=name,
            requests=rounds,
            server_p50_ms=statistics.median(samples[name]["server"]),
            server_p95_ms=percentile(samples[name]["server"], 0.95),
            wall_p50_ms=statistics.median(samples[name]["wall"]),
            wall_p95_ms=percentile(samples[name]["wall"], 0.95),
            cpu_p50_ms=statistics.median(samples[name]["cpu"]),
            sql_p50_ms=statistics.median(samples[name]["sql"]),
            rows=row_counts[name],
        )
        for name in names
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", type=int, default=1000, help="registered models (default 1000)")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per endpoint (default 200)")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database at the end")
    parser.add_argument("--check", action="store_true", help="exit 1 when a goal is missed")
    args = parser.parse_args(argv)

    recreate_database(args.database_url)
    os.environ.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=args.database_url,
        DEBUG="false",  # as in production: no query log, cached template loader
        DATABASE_CONN_MAX_AGE="600",  # persistent connections, as in production
        LOG_LEVEL=os.environ.get("LOG_LEVEL", "WARNING"),
    )
    import django

    # WhiteNoise warns that STATIC_ROOT was never collected; static files play no part here.
    warnings.filterwarnings("ignore", message="No directory at")
    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from governance.models import ApprovalRequest, GateDecision
    from registry_sync.models import SyncKind, SyncRun, SyncStatus

    call_command("migrate", verbosity=0)
    rng = random.Random(11)
    started = time.perf_counter()
    people = make_people()
    SyncRun.objects.create(kind=SyncKind.FULL, status=SyncStatus.SUCCEEDED, finished_at=datetime.now(UTC))
    client = Client()
    client.force_login(people["committee"])
    half = args.models // 2
    fill(first=0, count=half, people=people, rng=rng)
    analyze()
    half_counts = query_counts(client)
    fill(first=half, count=args.models - half, people=people, rng=rng)
    analyze()
    full_counts = query_counts(client)
    requests_total = ApprovalRequest.objects.count()
    print(
        f"filled {args.models} models, {requests_total} approval requests, {GateDecision.objects.count()} gate "
        f"decisions in {time.perf_counter() - started:.1f} s"
    )
    print(
        f"load average before timing: {', '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} cores)"
    )

    timings = measure(client, rounds=args.requests)
    print(f"load average after timing: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    baseline = timings[0]
    print(
        f"\n{args.requests} requests per endpoint, interleaved. p50/p95: server side (Server-Timing app;dur); "
        "cpu: this process's CPU time; sql: time in SQL as the client sees it (both medians, ms)"
    )
    print(
        f"{'endpoint':<30}{'queries N/2':>12}{'N':>4}{'rows':>5}{'p50':>8}{'p95':>8}{'cpu':>7}{'sql':>7}"
        f"{'p95/base':>9}"
    )
    for t in timings:
        print(
            f"{t.name:<30}{half_counts[t.name]:>12}{full_counts[t.name]:>4}{t.rows:>5}{t.server_p50_ms:>8.1f}"
            f"{t.server_p95_ms:>8.1f}{t.cpu_p50_ms:>7.1f}{t.sql_p50_ms:>7.1f}"
            f"{t.server_p95_ms / baseline.server_p95_ms:>9.2f}"
        )
    queue = timings[1:]
    constant = all(half_counts[t.name] == full_counts[t.name] for t in queue)
    most = max(full_counts[t.name] for t in queue)
    slowest = max(queue, key=lambda t: t.server_p95_ms)
    queries_ok = constant and most <= GOAL_MAX_QUERIES
    p95_ok = slowest.server_p95_ms <= GOAL_P95_MS
    print(
        f"\nSQL queries per queue page: {'constant' if constant else 'GROWS with N'}, at most {most} "
        f"(goal: constant and <= {GOAL_MAX_QUERIES}: {'PASS' if queries_ok else 'FAIL'})"
    )
    print(
        f"slowest queue p95 = {slowest.server_p95_ms:.2f} ms ({slowest.name}), "
        f"{slowest.server_p95_ms / baseline.server_p95_ms:.2f} x baseline p95 "
        f"(goal <= {GOAL_P95_MS:.0f} ms: {'PASS' if p95_ok else 'FAIL'})"
    )
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (RESULTS_DIR / f"queue_bench-{stamp}.json").write_text(
        json.dumps(
            {
                "models": args.models,
                "approval_requests": requests_total,
                "requests_per_endpoint": args.requests,
                "queries_half": half_counts,
                "queries_full": full_counts,
                "timings": [asdict(t) for t in timings],
            },
            indent=2,
        )
    )
    from django.db import connections

    connections.close_all()
    if not args.keep_db:
        drop_database(args.database_url)
    return 1 if args.check and not (queries_ok and p95_ok) else 0


if __name__ == "__main__":
    raise SystemExit(main())
