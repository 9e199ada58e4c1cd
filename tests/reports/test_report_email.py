"""Subscribers receive the archived monthly PDF by email after it is generated (SMTP itself is external:
Django's test mail outbox stands in for it)."""

from __future__ import annotations

import hashlib
from datetime import date

import pytest
from django.core import mail
from django.core.files.base import ContentFile
from django.utils import timezone

from reports.models import MonthlyReport
from reports.tasks import monthly_report_email

pytestmark = pytest.mark.django_db


def archived(pdf: bytes) -> MonthlyReport:
    report = MonthlyReport(
        period=date(2026, 10, 1),
        version=2,
        sha256=hashlib.sha256(pdf).hexdigest(),
        size=len(pdf),
        page_count=1,
        generated_at=timezone.now(),
        generated_by="test",
    )
    report.file.save("2026-10/mlgov-executive-2026-10-v2.pdf", ContentFile(pdf), save=False)
    report.save()
    return report


def test_subscribers_get_the_pdf_attached(settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path
    settings.REPORTS_SUBSCRIBERS = ["cfo@example.org", "cro@example.org"]
    pdf = b"%PDF-1.7 executive report"
    report = archived(pdf)
    monthly_report_email(report.pk)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["cfo@example.org", "cro@example.org"]
    assert "v2" in message.subject and report.sha256 in message.body
    name, content, mimetype = message.attachments[0]
    assert (name, content, mimetype) == ("mlgov-executive-2026-10-v2.pdf", pdf, "application/pdf")


def test_no_subscribers_no_mail(settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path
    settings.REPORTS_SUBSCRIBERS = []
    monthly_report_email(archived(b"%PDF-1.7").pk)
    assert mail.outbox == []
