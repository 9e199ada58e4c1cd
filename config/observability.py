"""Observability: request ids in every log line, JSON logs, and Prometheus metrics at /metrics.

Counters are updated where the event happens (gate decisions, sync passes, Celery failures); gauges that
describe stored state (sync lag) are computed when Prometheus scrapes.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from celery.signals import task_failure
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")

GATE_DECISIONS = Counter(
    "mlgov_gate_decisions_total", "Gate decisions by result and target.", ["result", "target"]
)
GATE_DENY_REASONS = Counter("mlgov_gate_deny_reasons_total", "Deny reasons by code.", ["code"])
GATE_LATENCY = Histogram(
    "mlgov_gate_decision_seconds",
    "Time to decide (inventory read, policy evaluation, signing, storing).",
    buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
POLICY_LATENCY = Histogram(
    "mlgov_policy_evaluation_seconds",
    "Policy engine evaluation time.",
    ["engine"],
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.1, 0.5, 2),
)
SYNC_RUNS = Counter("mlgov_sync_runs_total", "Registry sync passes by kind and outcome.", ["kind", "status"])
SYNC_CHANGES = Counter("mlgov_sync_changes_total", "Rows changed by sync passes.", ["kind"])
ENQUEUE_FAILURES = Counter(
    "mlgov_task_enqueue_failures_total", "Tasks that could not be queued (broker down).", ["task"]
)
TASK_FAILURES = Counter("mlgov_celery_task_failures_total", "Celery task failures.", ["task"])
REPORT_SECONDS = Histogram("mlgov_report_generation_seconds", "Monthly report generation time.")


def record_gate_decision(
    *, allow: bool, target: str, codes: list[str], seconds: float, policy_seconds: float, engine: str
) -> None:
    GATE_DECISIONS.labels(result="allow" if allow else "deny", target=target).inc()
    for code in codes:
        GATE_DENY_REASONS.labels(code=code).inc()
    GATE_LATENCY.observe(seconds)
    POLICY_LATENCY.labels(engine=engine).observe(policy_seconds)


@task_failure.connect
def _count_task_failure(sender: Any = None, **_: Any) -> None:
    TASK_FAILURES.labels(task=getattr(sender, "name", "unknown")).inc()


def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus exposition; guarded by METRICS_TOKEN when set (Authorization: Bearer <token>)."""
    token = settings.METRICS_TOKEN
    if token and request.headers.get("Authorization", "") != f"Bearer {token}":
        return HttpResponse("metrics need the bearer token\n", status=401, content_type="text/plain")
    from registry_sync.models import SyncRun, SyncStatus

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # gunicorn workers each write their own files
    else:
        registry = REGISTRY
    state = CollectorRegistry()
    lag = Gauge("mlgov_sync_lag_seconds", "Seconds since the last successful sync pass.", registry=state)
    last = (
        SyncRun.objects.filter(status=SyncStatus.SUCCEEDED)
        .order_by("-finished_at")
        .values_list("finished_at", flat=True)
        .first()
    )
    lag.set((timezone.now() - last).total_seconds() if last else float("inf"))
    return HttpResponse(generate_latest(registry) + generate_latest(state), content_type=CONTENT_TYPE_LATEST)


class RequestIdMiddleware:
    """Takes X-Request-ID from the caller (or makes one), puts it in every log line and echoes it back."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if 0 < len(incoming) <= 128 and incoming.isprintable() else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        return response


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True
