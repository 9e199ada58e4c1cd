"""`manage.py import_usage_costs FILE.csv [--dry-run]`: all rows imported, or none with a row-level report."""

from __future__ import annotations

from reports import services
from reports.management.csv_import import CsvImportCommand


class Command(CsvImportCommand):
    help = "Import monthly usage, SLO and cost figures per model from a CSV file (header line first)."
    actor = "system:manage-import-usage-costs"

    def import_csv(self, *, text: str, actor: str, dry_run: bool) -> services.ImportReport:
        return services.usage_costs_import_csv(text=text, actor=actor, dry_run=dry_run)
