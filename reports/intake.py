"""Pure parsing of intake payloads: Alertmanager webhook notifications and usage/cost and incident CSV files.

Parsers collect every problem with its location (alert index or CSV line and column) instead of stopping at
the first, so a caller can reject the whole payload with a complete error report.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.dateparse import parse_datetime

from reports.models import IncidentKind, IncidentStatus
from reports.periods import Month

ALERTMANAGER_VERSION = "4"
_ZERO_TIME_YEAR = 1  # Alertmanager sends endsAt "0001-01-01T00:00:00Z" for alerts still firing
_KIND_KEYWORDS = (
    ("drift", IncidentKind.DRIFT),
    ("rollback", IncidentKind.ROLLBACK),
    ("safety", IncidentKind.SAFETY_FAILURE),
    ("bias", IncidentKind.SAFETY_FAILURE),
    ("sla", IncidentKind.SLA_BREACH),
    ("slo", IncidentKind.SLA_BREACH),
    ("latency", IncidentKind.SLA_BREACH),
)


class IntakeError(Exception):
    def __init__(self, message: str, details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


@dataclass(frozen=True)
class AlertNotice:
    fingerprint: str
    status: str
    kind: str
    model_name: str
    version: int | None
    started_at: datetime
    ended_at: datetime | None
    labels: dict[str, str]
    annotations: dict[str, str]
    summary: str


def incident_kind_from_labels(labels: dict[str, str]) -> str:
    """An explicit `kind` label wins; otherwise keywords in the alert name decide; else `other`."""
    explicit = labels.get("kind", "").strip().lower()
    if explicit in IncidentKind.values:
        return explicit
    name = labels.get("alertname", "").lower()
    return next((kind for keyword, kind in _KIND_KEYWORDS if keyword in name), IncidentKind.OTHER)


def _str_map(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    )


MAX_VERSION = 2**31 - 1  # the model version columns are 32-bit, as MLflow's are
VERSION_PROBLEM = f"must be a positive integer up to {MAX_VERSION}"


def _version_number(raw: str) -> int | None:
    """A reported model version, or None when it is not one (not digits, zero, or beyond the column)."""
    if raw.isascii() and raw.isdigit() and 0 < int(raw) <= MAX_VERSION:
        return int(raw)
    return None


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = parse_datetime(value)
    except ValueError:
        return None
    if parsed is None or parsed.tzinfo is None:
        return None
    return parsed


def alertmanager_payload_parse(payload: Any) -> list[AlertNotice]:
    """The alerts of one Alertmanager webhook notification, or IntakeError listing every problem."""
    if not isinstance(payload, dict):
        raise IntakeError("The body must be an Alertmanager webhook JSON object.", {"body": "not an object"})
    problems: dict[str, Any] = {}
    if payload.get("version") != ALERTMANAGER_VERSION:
        problems["version"] = f"expected {ALERTMANAGER_VERSION!r}, got {payload.get('version')!r}"
    alerts = payload.get("alerts")
    if not isinstance(alerts, list):
        problems["alerts"] = "must be a list"
        raise IntakeError("The Alertmanager payload is malformed.", problems)
    notices: list[AlertNotice] = []
    alert_problems: dict[str, dict[str, str]] = {}
    for index, alert in enumerate(alerts):
        errors: dict[str, str] = {}
        if not isinstance(alert, dict):
            alert_problems[str(index)] = {"alert": "must be an object"}
            continue
        status = alert.get("status")
        if status not in IncidentStatus.values:
            errors["status"] = "must be 'firing' or 'resolved'"
        fingerprint = alert.get("fingerprint")
        if not isinstance(fingerprint, str) or not fingerprint.strip() or len(fingerprint) > 128:
            errors["fingerprint"] = "must be a non-empty string of at most 128 characters"
        labels: dict[str, str] = alert.get("labels") or {}
        if not _str_map(labels):
            errors["labels"] = "must be an object of string values"
            labels = {}
        annotations: dict[str, str] = alert.get("annotations") or {}
        if not _str_map(annotations):
            errors["annotations"] = "must be an object of string values"
            annotations = {}
        started_at = _timestamp(alert.get("startsAt"))
        if started_at is None:
            errors["startsAt"] = "must be an RFC 3339 timestamp with a time zone"
        ended_at = _timestamp(alert.get("endsAt"))
        if ended_at is not None and ended_at.year == _ZERO_TIME_YEAR:
            ended_at = None
        if status == IncidentStatus.RESOLVED and ended_at is None:
            errors["endsAt"] = "a resolved alert needs an RFC 3339 endsAt"
        if status == IncidentStatus.FIRING:
            ended_at = None  # endsAt of a firing alert is only Alertmanager's expiry estimate
        version: int | None = None
        raw_version = labels.get("version", "")
        if raw_version:
            version = _version_number(raw_version)
            if version is None:
                errors["labels.version"] = VERSION_PROBLEM
        if errors:
            alert_problems[str(index)] = errors
            continue
        assert started_at is not None and isinstance(fingerprint, str) and isinstance(status, str)
        notices.append(
            AlertNotice(
                fingerprint=fingerprint.strip(),
                status=status,
                kind=incident_kind_from_labels(labels),
                model_name=labels.get("model", ""),
                version=version,
                started_at=started_at,
                ended_at=ended_at,
                labels=dict(labels),
                annotations=dict(annotations),
                summary=(annotations.get("summary") or labels.get("alertname", ""))[:500],
            )
        )
    if alert_problems:
        problems["alerts"] = alert_problems
    if problems:
        raise IntakeError("The Alertmanager payload is malformed.", problems)
    return notices


USAGE_COST_COLUMNS = (
    "model",
    "month",
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
_REQUIRED_COLUMNS = ("model", "month")
_INT_COLUMNS = ("requests", "predictions")
_FLOAT_COLUMNS = ("p95_latency_ms",)
_PERCENT_COLUMNS = ("slo_target", "slo_attainment")
_MONEY_COLUMNS = ("compute_cost", "storage_cost", "license_cost", "headcount_cost")
# The columns' ranges in the database (bigint counts, numeric(14, 2) money): larger values are row errors.
_COLUMN_MAXIMUM: dict[str, int | Decimal] = {
    **dict.fromkeys(_INT_COLUMNS, 2**63 - 1),
    **dict.fromkeys(_MONEY_COLUMNS, Decimal("999999999999.99")),
}


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "message": self.message}


@dataclass(frozen=True)
class UsageCostRow:
    line: int
    model: str
    month: Month
    values: dict[str, Any]


def csv_records_read(
    text: str, *, columns: tuple[str, ...], required: tuple[str, ...]
) -> tuple[list[tuple[int, dict[str, str]]], list[str], list[RowError]]:
    """The (line, record) pairs of a CSV with a header line, its header, and header problems (if any, no rows).

    Values are stripped; an empty cell is an empty string. Line numbers count the header as line 1.
    """
    if "\x00" in text:  # PostgreSQL cannot store it; a file holding one is not the text file it claims to be
        return [], [], [RowError(1, "", "the file contains NUL characters: it is not a CSV text file")]
    # newline="": the csv module's own line handling, so a bare "\r" ends a line instead of failing the reader.
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header: list[str] = []
    try:
        header = list(reader.fieldnames or [])
        errors = [
            RowError(1, column, "required column is missing") for column in required if column not in header
        ]
        errors += [RowError(1, column, "unknown column") for column in header if column not in columns]
        if errors:
            return [], header, errors
        records = [
            (reader.line_num, {k: (v or "").strip() for k, v in record.items() if isinstance(k, str)})
            for record in reader
        ]
    except csv.Error as exc:
        # line_num counts the lines read before the one that failed
        return [], header, [RowError(reader.line_num + 1, "", f"not valid CSV: {exc}")]
    return records, header, []


def usage_cost_csv_parse(text: str) -> tuple[list[UsageCostRow], list[RowError]]:
    """Rows of a usage/cost CSV (header line first) and the problems found, by line and column."""
    records, header, errors = csv_records_read(text, columns=USAGE_COST_COLUMNS, required=_REQUIRED_COLUMNS)
    rows: list[UsageCostRow] = []
    seen: dict[tuple[str, Month], int] = {}
    for line, record in records:
        row_errors: list[RowError] = []
        values: dict[str, Any] = {}
        model = record.get("model", "")
        if not model:
            row_errors.append(RowError(line, "model", "is required"))
        month: Month | None = None
        try:
            month = Month.parse(record.get("month", ""))
        except ValueError as exc:
            row_errors.append(RowError(line, "month", str(exc)))
        for column in header:
            raw = record.get(column, "")
            if column in _REQUIRED_COLUMNS or raw == "":
                continue
            try:
                if column in _INT_COLUMNS:
                    number: Any = int(raw)
                elif column in _MONEY_COLUMNS:
                    number = Decimal(raw)
                    if not number.is_finite():
                        raise InvalidOperation
                else:
                    number = float(raw)
            except (ValueError, InvalidOperation):
                row_errors.append(RowError(line, column, f"{raw!r} is not a number"))
                continue
            if isinstance(number, float) and not math.isfinite(number):
                row_errors.append(RowError(line, column, f"{raw!r} is not a number"))
            elif number < 0:
                row_errors.append(RowError(line, column, "must not be negative"))
            elif number > _COLUMN_MAXIMUM.get(column, number):
                row_errors.append(RowError(line, column, f"must be at most {_COLUMN_MAXIMUM[column]}"))
            elif column in _PERCENT_COLUMNS and number > 100:
                row_errors.append(RowError(line, column, "is a percentage and must be at most 100"))
            else:
                values[column] = number
        if model and month is not None:
            first = seen.setdefault((model, month), line)
            if first != line:
                row_errors.append(RowError(line, "model", f"duplicates line {first} for {model} {month}"))
        if row_errors:
            errors += row_errors
        elif month is not None:
            rows.append(UsageCostRow(line=line, model=model, month=month, values=values))
    return rows, errors


INCIDENT_COLUMNS = ("external_id", "kind", "model", "version", "started_at", "ended_at", "summary")
_INCIDENT_REQUIRED = ("external_id", "kind", "started_at")
_INCIDENT_KINDS = tuple(k for k in IncidentKind.values if k != IncidentKind.OTHER)


@dataclass(frozen=True)
class IncidentRow:
    line: int
    external_id: str
    kind: str
    model: str
    version: int | None
    started_at: datetime
    ended_at: datetime | None
    summary: str


def incident_csv_parse(text: str) -> tuple[list[IncidentRow], list[RowError]]:
    """Rows of an incident CSV (drift, SLA breach, safety failure, rollback) and the problems found."""
    records, _header, errors = csv_records_read(text, columns=INCIDENT_COLUMNS, required=_INCIDENT_REQUIRED)
    rows: list[IncidentRow] = []
    seen: dict[str, int] = {}
    for line, record in records:
        row_errors: list[RowError] = []
        external_id = record.get("external_id", "")
        if not external_id:
            row_errors.append(RowError(line, "external_id", "is required"))
        elif len(external_id) > 100:
            row_errors.append(RowError(line, "external_id", "must be at most 100 characters"))
        else:
            first = seen.setdefault(external_id, line)
            if first != line:
                row_errors.append(RowError(line, "external_id", f"duplicates line {first}"))
        kind = record.get("kind", "").lower()
        if kind not in _INCIDENT_KINDS:
            row_errors.append(RowError(line, "kind", f"must be one of {', '.join(_INCIDENT_KINDS)}"))
        version: int | None = None
        raw_version = record.get("version", "")
        if raw_version:
            version = _version_number(raw_version)
            if version is None:
                row_errors.append(RowError(line, "version", VERSION_PROBLEM))
        started_at = _timestamp(record.get("started_at"))
        if started_at is None:
            row_errors.append(RowError(line, "started_at", "must be an ISO 8601 timestamp with a time zone"))
        ended_at: datetime | None = None
        if record.get("ended_at"):
            ended_at = _timestamp(record["ended_at"])
            if ended_at is None:
                row_errors.append(
                    RowError(line, "ended_at", "must be an ISO 8601 timestamp with a time zone")
                )
            elif started_at is not None and ended_at < started_at:
                row_errors.append(RowError(line, "ended_at", "is before started_at"))
        summary = record.get("summary", "")
        if len(summary) > 500:
            row_errors.append(RowError(line, "summary", "must be at most 500 characters"))
        if row_errors:
            errors += row_errors
            continue
        assert started_at is not None
        rows.append(
            IncidentRow(
                line=line,
                external_id=external_id,
                kind=kind,
                model=record.get("model", ""),
                version=version,
                started_at=started_at,
                ended_at=ended_at,
                summary=summary,
            )
        )
    return rows, errors
