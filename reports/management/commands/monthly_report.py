"""`manage.py monthly_report --month 2026-10`: generate and archive a month's executive PDF (a new version)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from reports import services
from reports.periods import Month


class Command(BaseCommand):
    help = (
        "Generate the executive PDF of a month (default: the previous month) and archive it as a new version."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--month", default="", help="YYYY-MM (default: the previous month)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            month = Month.parse(options["month"]) if options["month"] else Month.of(timezone.now()).previous()
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        report = services.monthly_report_generate(
            month=month, actor="system:manage-monthly-report", progress=lambda m: self.stdout.write(f"  {m}")
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"report {month} v{report.version}: {report.file.name} "
                f"({report.page_count} pages, {report.size} bytes, sha256 {report.sha256})"
            )
        )
