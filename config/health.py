"""Liveness and readiness probes for load balancers and orchestrators.

/readyz fails (503) when something the platform cannot work without is down (database, broker, policy
engine); MLflow reachability and sync age are reported as "degraded" without failing, since the gate then
denies with MIRROR_STALE rather than the whole service going away.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from policies.engine import gate_decision
from registry_sync.mlflow_server import mlflow_is_healthy
from registry_sync.models import SyncRun, SyncStatus


@require_GET
def liveness(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return "ok"


def _broker() -> str:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "ok (eager: no broker used)"
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=2, socket_connect_timeout=2)
    client.ping()
    return "ok"


def _policy_engine() -> str:
    # An empty input must produce a well-formed deny; an engine failure shows up as POLICY_ENGINE_ERROR.
    outcome = gate_decision({})
    if outcome.policy.error_code is not None:
        raise RuntimeError(f"{outcome.policy.error_code}: {outcome.policy.error}")
    return f"ok ({outcome.policy.engine}, bundle {outcome.policy.bundle_digest[:12]})"


def _mlflow() -> str:
    if mlflow_is_healthy(settings.MLFLOW_TRACKING_URI, timeout=2.0):
        return "ok"
    raise RuntimeError(f"{settings.MLFLOW_TRACKING_URI} is not answering /health")


def _sync_age() -> str:
    last = SyncRun.objects.filter(status=SyncStatus.SUCCEEDED).order_by("-finished_at").first()
    if last is None or last.finished_at is None:
        raise RuntimeError("no successful sync yet")
    age = timezone.now() - last.finished_at
    limit = timedelta(seconds=3 * settings.SYNC_INCREMENTAL_INTERVAL_SECONDS)
    if age > limit:
        raise RuntimeError(
            f"last successful sync {int(age.total_seconds())} s ago (limit {int(limit.total_seconds())} s)"
        )
    return f"ok ({int(age.total_seconds())} s ago)"


REQUIRED: dict[str, Callable[[], str]] = {
    "database": _database,
    "broker": _broker,
    "policy_engine": _policy_engine,
}
ADVISORY: dict[str, Callable[[], str]] = {"mlflow": _mlflow, "last_sync": _sync_age}


def _run(check: Callable[[], str]) -> tuple[bool, str]:
    try:
        return True, check()
    except Exception as exc:
        return False, f"error: {type(exc).__name__}: {exc}"[:300]


@require_GET
def readiness(request: HttpRequest) -> JsonResponse:
    checks: dict[str, str] = {}
    ready = True
    degraded = False
    for name, check in REQUIRED.items():
        ok, detail = _run(check)
        checks[name] = detail
        ready = ready and ok
    for name, check in ADVISORY.items():
        ok, detail = _run(check)
        checks[name] = detail
        degraded = degraded or not ok
    status = "unavailable" if not ready else ("degraded" if degraded else "ok")
    return JsonResponse({"status": status, "checks": checks}, status=200 if ready else 503)
