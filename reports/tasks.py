"""Celery tasks of the reports app: thin wrappers that take ids or periods and call services."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMessage
from django.utils import timezone

from reports import services
from reports.models import MonthlyReport
from reports.periods import Month

REPORT_ACTOR = "system:reports-beat"


@shared_task
def monthly_report_generate(month: str = "") -> int:
    """Generate one month's report (default: the previous month, for the beat schedule on the 1st)."""
    period = Month.parse(month) if month else Month.of(timezone.now()).previous()
    return services.monthly_report_generate(month=period, actor=REPORT_ACTOR).pk


@shared_task(
    autoretry_for=(ConnectionError, TimeoutError), retry_backoff=True, retry_jitter=True, max_retries=5
)
def monthly_report_email(report_id: int) -> None:
    report = MonthlyReport.objects.get(pk=report_id)
    recipients = list(getattr(settings, "REPORTS_SUBSCRIBERS", []))
    if not recipients:
        return
    period = Month.of(report.period)
    message = EmailMessage(
        subject=f"Executive ML report {period.label} (v{report.version})",
        body=f"The executive ML report for {period.label} is attached.\nSHA-256: {report.sha256}\n",
        to=recipients,
    )
    with report.file.open("rb") as handle:
        message.attach(f"mlgov-executive-{period}-v{report.version}.pdf", handle.read(), "application/pdf")
    message.send()
