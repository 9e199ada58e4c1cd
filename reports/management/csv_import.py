"""The shared body of the CSV import commands: read the file, import all rows or none, report per row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reports.services import ImportReport


class CsvImportCommand(BaseCommand):
    actor = ""

    def import_csv(self, *, text: str, actor: str, dry_run: bool) -> ImportReport:
        raise NotImplementedError

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--dry-run", action="store_true", help="Validate only.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            text = options["path"].read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"cannot read {options['path']}: {exc}") from exc
        report = self.import_csv(text=text, actor=self.actor, dry_run=options["dry_run"])
        if not report.ok:
            for error in report.errors:
                self.stderr.write(f"line {error.line}, {error.column}: {error.message}")
            raise CommandError(f"{len(report.errors)} problem(s); nothing was imported.")
        verb = "would import" if report.dry_run else "imported"
        self.stdout.write(
            self.style.SUCCESS(
                f"{verb}: {report.created} new, {report.updated} updated, {report.unchanged} unchanged"
            )
        )
