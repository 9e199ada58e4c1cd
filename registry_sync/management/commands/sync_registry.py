"""`manage.py sync_registry [--full]`: mirror the MLflow registry now, with a progress bar on a terminal."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from registry_sync import services
from registry_sync.mlflow_adapter import MlflowRegistry, RegistryUnavailable
from registry_sync.models import SyncRun


class Command(BaseCommand):
    help = "Mirror the MLflow model registry: incremental by default, --full to reconcile everything."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--full", action="store_true", help="Full reconciliation (detects deletions).")
        parser.add_argument("--tracking-uri", default=None, help="MLflow URI (default: MLFLOW_TRACKING_URI).")
        parser.add_argument("--page-size", type=int, default=None, help="Versions per MLflow request.")
        parser.add_argument("--no-progress", action="store_true", help="Never draw a progress bar.")

    def handle(self, *args: Any, **options: Any) -> None:
        show_bar = sys.stderr.isatty() and not options["no_progress"]
        bar = tqdm(unit=" items", desc="sync", disable=not show_bar, file=sys.stderr, leave=False)

        def progress(step: services.SyncProgress) -> None:
            bar.set_description(f"sync {step.phase}")
            bar.update(step.items)

        registry = MlflowRegistry(options["tracking_uri"])
        sync = services.sync_full if options["full"] else services.sync_incremental
        try:
            run = sync(registry=registry, page_size=options["page_size"], progress=progress)
        except RegistryUnavailable as exc:
            failed = SyncRun.objects.order_by("-pk").first()
            raise CommandError(f"sync #{failed.pk if failed else '?'} failed: {exc}") from exc
        finally:
            bar.close()
        seconds = (run.finished_at - run.started_at).total_seconds() if run.finished_at else 0.0
        self.stdout.write(
            f"{run.kind} sync #{run.pk} {run.status} in {seconds:.1f}s: "
            f"models +{run.models_created} ~{run.models_updated} archived {run.models_archived}; "
            f"versions +{run.versions_created} ~{run.versions_updated} archived {run.versions_archived}; "
            f"runs {run.runs_synced}; aliases changed {run.aliases_changed}; "
            f"{run.versions_seen} versions read in {run.pages} pages"
        )
