"""Writes of the reports app: incident intake (Alertmanager, API, CSV), usage/cost and business outcome entry,
usage/cost CSV import and MLflow read-in, and archiving generated monthly reports. Each writes its audit events in the same transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone

from config.errors import ServiceError
from governance.services.audit import audit_event_record
from registry_sync.models import ModelVersion, RegisteredModel
from reports.intake import AlertNotice, RowError, incident_csv_parse, usage_cost_csv_parse
from reports.mlflow_usage import usage_figures_from_mirror
from reports.models import (
    BusinessOutcome,
    Incident,
    IncidentStatus,
    IntakeSource,
    MonthlyReport,
    UsageCost,
)
from reports.periods import Month

ALERTMANAGER_ACTOR = "system:alertmanager"


class ReportsError(ServiceError):
    """A request the reports services refuse (same fields as every ServiceError)."""


@dataclass
class IngestResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    unmapped_models: list[str] = field(default_factory=list)


def _versions_for(pairs: set[tuple[str, int]]) -> dict[tuple[str, int], ModelVersion]:
    if not pairs:
        return {}
    condition = Q()
    for name, number in pairs:
        condition |= Q(registered_model__name=name, version=number)
    found = ModelVersion.objects.filter(condition).select_related("registered_model")
    return {(v.registered_model.name, v.version): v for v in found}


@transaction.atomic
def incidents_alertmanager_ingest(*, notices: list[AlertNotice], actor: User | str) -> IngestResult:
    """Upsert one notification's alerts by (fingerprint, startsAt): all or nothing, and replay-safe.

    A resolved incident never reopens on a late or duplicated `firing` delivery of the same episode.
    """
    result = IngestResult()
    names = {n.model_name for n in notices if n.model_name}
    models_by_name = {m.name: m for m in RegisteredModel.objects.filter(name__in=names)}
    versions = _versions_for(
        {(n.model_name, n.version) for n in notices if n.model_name in models_by_name and n.version}
    )
    result.unmapped_models = sorted(names - set(models_by_name))
    existing = {
        (i.fingerprint, i.started_at): i
        for i in Incident.objects.select_for_update().filter(fingerprint__in={n.fingerprint for n in notices})
    }
    for notice in notices:
        key = (notice.fingerprint, notice.started_at)
        incident = existing.get(key)
        if incident is None:
            model = models_by_name.get(notice.model_name)
            incident = Incident.objects.create(
                kind=notice.kind,
                status=notice.status,
                registered_model=model,
                model_version=versions.get((notice.model_name, notice.version or 0)),
                model_name=notice.model_name,
                version=notice.version,
                fingerprint=notice.fingerprint,
                summary=notice.summary,
                started_at=notice.started_at,
                ended_at=notice.ended_at,
                labels=notice.labels,
                annotations=notice.annotations,
                source=IntakeSource.ALERTMANAGER,
            )
            existing[key] = incident
            result.created += 1
            audit_event_record(
                action="incident.recorded",
                actor=actor,
                target=incident,
                data={"kind": incident.kind, "status": incident.status, "model": notice.model_name},
            )
            continue
        if incident.status == IncidentStatus.RESOLVED or notice.status == IncidentStatus.FIRING:
            result.unchanged += 1
            continue
        incident.status = IncidentStatus.RESOLVED
        incident.ended_at = notice.ended_at
        incident.annotations = notice.annotations or incident.annotations
        incident.save(update_fields=["status", "ended_at", "annotations", "updated_at"])
        result.updated += 1
        audit_event_record(
            action="incident.resolved",
            actor=actor,
            target=incident,
            data={"ended_at": notice.ended_at.isoformat() if notice.ended_at else None},
        )
    return result


@transaction.atomic
def incident_record(
    *,
    kind: str,
    registered_model: RegisteredModel | None,
    version: int | None,
    started_at: datetime,
    ended_at: datetime | None,
    summary: str,
    labels: dict[str, str],
    source: str,
    actor: User | str,
) -> Incident:
    if ended_at is not None and ended_at < started_at:
        raise ReportsError("ended_at is before started_at.", code="INCIDENT_INVALID_PERIOD")
    model_version = None
    if registered_model is not None and version is not None:
        model_version = ModelVersion.objects.filter(
            registered_model=registered_model, version=version
        ).first()
    incident = Incident.objects.create(
        kind=kind,
        status=IncidentStatus.RESOLVED if ended_at else IncidentStatus.FIRING,
        registered_model=registered_model,
        model_version=model_version,
        model_name=registered_model.name if registered_model else "",
        version=version,
        summary=summary,
        started_at=started_at,
        ended_at=ended_at,
        labels=labels,
        source=source,
    )
    audit_event_record(
        action="incident.recorded",
        actor=actor,
        target=incident,
        data={"kind": kind, "status": incident.status, "model": incident.model_name, "source": source},
    )
    return incident


USAGE_FIELDS = (
    "requests",
    "predictions",
    "p95_latency_ms",
    "slo_target",
    "slo_attainment",
    "compute_cost",
    "storage_cost",
    "license_cost",
    "headcount_cost",
)


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {k: str(v) if isinstance(v, Decimal) else v for k, v in values.items()}


@transaction.atomic
def usage_cost_upsert(
    *, registered_model: RegisteredModel, month: Month, values: dict[str, Any], source: str, actor: User | str
) -> tuple[UsageCost, bool]:
    """Create or replace the month's figures for one model (fields not given keep their stored value)."""
    unknown = set(values) - set(USAGE_FIELDS)
    if unknown:
        raise ReportsError("Unknown usage fields.", code="USAGE_FIELDS_UNKNOWN", details=sorted(unknown))
    row, created = UsageCost.objects.select_for_update().get_or_create(
        registered_model=registered_model, month=month.first_day, defaults={"source": source, **values}
    )
    if not created:
        for name, value in values.items():
            setattr(row, name, value)
        row.source = source
        row.save()
    audit_event_record(
        action="usage_cost.created" if created else "usage_cost.updated",
        actor=actor,
        target=row,
        data={"model": registered_model.name, "month": str(month), "source": source, **_jsonable(values)},
    )
    return row, created


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors


def _models_by_name(named: list[tuple[int, str]], errors: list[RowError]) -> dict[str, RegisteredModel]:
    """Registered models for the (line, name) pairs given; an unknown name adds an error on its line."""
    names = {name for _line, name in named if name}
    found = {m.name: m for m in RegisteredModel.objects.filter(name__in=names)}
    errors += [
        RowError(line, "model", f"no registered model named {name!r}")
        for line, name in named
        if name and name not in found
    ]
    return found


def _import_report(errors: list[RowError], dry_run: bool) -> ImportReport:
    return ImportReport(errors=sorted(errors, key=lambda e: (e.line, e.column)), dry_run=dry_run)


@transaction.atomic
def usage_costs_import_csv(*, text: str, actor: User | str, dry_run: bool = False) -> ImportReport:
    """Import a usage/cost CSV: every row is valid and written, or nothing is (the report lists the errors)."""
    rows, errors = usage_cost_csv_parse(text)
    models_by_name = _models_by_name([(row.line, row.model) for row in rows], errors)
    report = _import_report(errors, dry_run)
    if report.errors or dry_run:
        return report
    existing = set(
        UsageCost.objects.filter(
            registered_model__in=models_by_name.values(), month__in={r.month.first_day for r in rows}
        ).values_list("registered_model__name", "month")
    )
    for row in rows:
        if (row.model, row.month.first_day) in existing:
            report.updated += 1
        else:
            report.created += 1
    for row in rows:
        usage_cost_upsert(
            registered_model=models_by_name[row.model],
            month=row.month,
            values=row.values,
            source=IntakeSource.CSV,
            actor=actor,
        )
    return report


CSV_FINGERPRINT_PREFIX = "csv:"


@transaction.atomic
def incidents_import_csv(*, text: str, actor: User | str, dry_run: bool = False) -> ImportReport:
    """Import incidents from CSV, all rows or none. The natural key is `external_id` (stored as the fingerprint
    `csv:<external_id>`): re-importing a file updates changed rows and leaves the others untouched."""
    rows, errors = incident_csv_parse(text)
    models_by_name = _models_by_name([(row.line, row.model) for row in rows], errors)
    report = _import_report(errors, dry_run)
    if report.errors:
        return report
    versions = _versions_for({(r.model, r.version) for r in rows if r.model and r.version})
    existing = {
        i.fingerprint: i
        for i in Incident.objects.select_for_update().filter(
            source=IntakeSource.CSV,
            fingerprint__in={CSV_FINGERPRINT_PREFIX + r.external_id for r in rows},
        )
    }
    for row in rows:
        fingerprint = CSV_FINGERPRINT_PREFIX + row.external_id
        values: dict[str, Any] = {
            "kind": row.kind,
            "status": IncidentStatus.RESOLVED if row.ended_at else IncidentStatus.FIRING,
            "registered_model_id": getattr(models_by_name.get(row.model), "pk", None),
            "model_version_id": getattr(versions.get((row.model, row.version or 0)), "pk", None),
            "model_name": row.model,
            "version": row.version,
            "summary": row.summary,
            "started_at": row.started_at,
            "ended_at": row.ended_at,
        }
        incident = existing.get(fingerprint)
        if incident is None:
            report.created += 1
            if not dry_run:
                incident = Incident.objects.create(
                    fingerprint=fingerprint, source=IntakeSource.CSV, labels={}, **values
                )
                audit_event_record(
                    action="incident.recorded",
                    actor=actor,
                    target=incident,
                    data={"kind": row.kind, "status": incident.status, "model": row.model, "source": "csv"},
                )
            continue
        changed = {name: value for name, value in values.items() if getattr(incident, name) != value}
        if not changed:
            report.unchanged += 1
            continue
        report.updated += 1
        if dry_run:
            continue
        for name, value in changed.items():
            setattr(incident, name, value)
        incident.save(update_fields=[*changed, "updated_at"])
        audit_event_record(
            action="incident.updated",
            actor=actor,
            target=incident,
            data={"source": "csv", "fields": sorted(changed)},
        )
    return report


@dataclass
class MlflowUsageResult:
    written: list[str] = field(default_factory=list)
    kept_manual: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)


MLFLOW_ACTOR = "system:mlflow-usage"


@transaction.atomic
def usage_costs_sync_from_mlflow(*, month: Month, actor: User | str = MLFLOW_ACTOR) -> MlflowUsageResult:
    """Upsert the month's usage/cost figures that teams logged in MLflow (read from the mirror tables).

    A row entered through the API or CSV is never touched: manual figures take precedence over MLflow ones.
    """
    result = MlflowUsageResult()
    figures = usage_figures_from_mirror(month=month)
    result.invalid = figures.invalid
    rows = {
        row.registered_model_id: row
        for row in UsageCost.objects.select_for_update().filter(
            month=month.first_day, registered_model__in=[m.pk for m in figures.models.values()]
        )
    }
    for model_id, values in sorted(figures.values.items()):
        model = figures.models[model_id]
        row = rows.get(model_id)
        if row is not None and row.source != IntakeSource.MLFLOW:
            result.kept_manual.append(model.name)
            continue
        if row is not None and all(getattr(row, name) == value for name, value in values.items()):
            result.unchanged.append(model.name)
            continue
        usage_cost_upsert(
            registered_model=model, month=month, values=values, source=IntakeSource.MLFLOW, actor=actor
        )
        result.written.append(model.name)
    return result


@transaction.atomic
def business_outcome_record(
    *,
    registered_model: RegisteredModel,
    month: Month,
    revenue_uplift: Decimal,
    refunds_avoided: Decimal,
    time_to_first_value_days: float | None,
    source: str,
    owner: User,
    actor: User | str,
) -> BusinessOutcome:
    if not source.strip():
        raise ReportsError("Say where the figures come from.", code="OUTCOME_SOURCE_REQUIRED")
    row, created = BusinessOutcome.objects.update_or_create(
        registered_model=registered_model,
        month=month.first_day,
        defaults={
            "revenue_uplift": revenue_uplift,
            "refunds_avoided": refunds_avoided,
            "time_to_first_value_days": time_to_first_value_days,
            "source": source.strip(),
            "owner": owner,
        },
    )
    audit_event_record(
        action="business_outcome.created" if created else "business_outcome.updated",
        actor=actor,
        target=row,
        data={
            "model": registered_model.name,
            "month": str(month),
            "revenue_uplift": str(revenue_uplift),
            "refunds_avoided": str(refunds_avoided),
            "time_to_first_value_days": time_to_first_value_days,
            "source": row.source,
            "owner": owner.get_username(),
        },
    )
    return row


ProgressCallback = Callable[[str], None]


def monthly_report_generate(
    *, month: Month, actor: User | str, progress: ProgressCallback | None = None
) -> MonthlyReport:
    """Read the month's MLflow-logged usage/cost, render the executive PDF (slow, outside any transaction),
    then archive it as a new version."""
    from reports.pdf import monthly_report_render

    if progress:
        progress("reading usage/cost logged in MLflow")
    usage_costs_sync_from_mlflow(month=month)
    rendered = monthly_report_render(month=month, progress=progress)
    if progress:
        progress("archiving")
    return _monthly_report_archive(month=month, pdf=rendered.pdf, page_count=rendered.page_count, actor=actor)


def _monthly_report_archive(*, month: Month, pdf: bytes, page_count: int, actor: User | str) -> MonthlyReport:
    digest = hashlib.sha256(pdf).hexdigest()
    for _attempt in range(3):
        try:
            with transaction.atomic():
                top = MonthlyReport.objects.filter(period=month.first_day).aggregate(top=Max("version"))[
                    "top"
                ]
                version = (top or 0) + 1
                report = MonthlyReport(
                    period=month.first_day,
                    version=version,
                    sha256=digest,
                    size=len(pdf),
                    page_count=page_count,
                    generated_at=timezone.now(),
                    generated_by=actor.get_username() if isinstance(actor, User) else actor,
                )
                report.file.save(
                    f"{month}/mlgov-executive-{month}-v{version}.pdf", ContentFile(pdf), save=False
                )
                report.save()
                audit_event_record(
                    action="report.generated",
                    actor=actor,
                    target=report,
                    data={"period": str(month), "version": version, "sha256": digest, "pages": page_count},
                )
                if getattr(settings, "REPORTS_SUBSCRIBERS", []):
                    from reports.tasks import monthly_report_email

                    transaction.on_commit(partial(monthly_report_email.delay, report.pk))
                return report
        except IntegrityError:
            continue  # a concurrent run took this version number; take the next one
    raise ReportsError("Could not allocate a report version.", code="REPORT_VERSION_CONFLICT", status=409)
