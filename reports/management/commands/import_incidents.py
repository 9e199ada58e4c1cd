"""`manage.py import_incidents FILE.csv [--dry-run]`: all incident rows imported, or none with a row report."""

from __future__ import annotations

from reports import services
from reports.management.csv_import import CsvImportCommand


class Command(CsvImportCommand):
    help = "Import drift incidents, SLA breaches, safety failures and rollbacks from a CSV file."
    actor = "system:manage-import-incidents"

    def import_csv(self, *, text: str, actor: str, dry_run: bool) -> services.ImportReport:
        return services.incidents_import_csv(text=text, actor=actor, dry_run=dry_run)
