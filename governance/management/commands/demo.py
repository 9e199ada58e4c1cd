"""`manage.py demo` (what `make demo` runs): migrate, start a local MLflow seeded with real models, register
the webhook, sync, create one user per role, then serve the UI on http://127.0.0.1:8000. Safe to re-run."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from mlflow import MlflowClient

from governance import roles
from governance.services.users import user_with_roles_ensure
from registry_sync import services as sync_services
from registry_sync.demo_seed import seed_registry
from registry_sync.mlflow_server import MlflowServer, mlflow_is_healthy, start_mlflow_server
from registry_sync.services.webhooks import SYNC_EVENTS

DEMO_PASSWORD = "mlgov-demo"  # noqa: S105 - printed to the console on purpose: local demo logins only
DEMO_USERS = [
    ("admin", [roles.ADMIN], True),
    ("viewer", [roles.VIEWER], False),
    ("owner", [roles.MODEL_OWNER], False),
    ("validator", [roles.VALIDATOR], False),
    ("compliance", [roles.COMPLIANCE_OFFICER], False),
    ("committee1", [roles.COMMITTEE_MEMBER], False),
    ("committee2", [roles.COMMITTEE_MEMBER], False),
]
WEBHOOK_NAME = "mlgov-demo"
WEBHOOK_EVENTS: list[Any] = sorted(SYNC_EVENTS)


class Command(BaseCommand):
    help = "Set up and serve the demo: local MLflow with real models, synced inventory, users per role."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-serve", action="store_true", help="Stop after setup (no web server).")
        parser.add_argument("--addrport", default="127.0.0.1:8000", help="Where the UI is served.")

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("database migrated")
        server = self._mlflow()
        try:
            tracking_uri = settings.MLFLOW_TRACKING_URI
            summary = seed_registry(
                tracking_uri=tracking_uri, log=lambda line: self.stdout.write(f"  {line}")
            )
            self.stdout.write(
                "MLflow seeded: already complete"
                if summary.skipped
                else f"MLflow seeded: {summary.models_created} models, {summary.versions_created} versions"
            )
            self._webhook(tracking_uri, options["addrport"])
            run = sync_services.sync_full()
            self.stdout.write(
                f"registry synced (full pass #{run.pk}): {run.versions_seen} versions, "
                f"{run.changes} changes, {run.aliases_changed} alias changes"
            )
            for username, user_roles, superuser in DEMO_USERS:
                user_with_roles_ensure(
                    username=username,
                    roles=user_roles,
                    password=DEMO_PASSWORD,
                    email=f"{username}@demo.mlgov.local",
                    superuser=superuser,
                )
            self._print_logins(options["addrport"], tracking_uri)
            if not options["no_serve"]:
                call_command("runserver", options["addrport"], use_reloader=False)
        finally:
            if server is not None:
                server.stop()

    def _mlflow(self) -> MlflowServer | None:
        """Reuse an MLflow already answering at MLFLOW_TRACKING_URI, else start a local one there."""
        uri = settings.MLFLOW_TRACKING_URI
        if mlflow_is_healthy(uri):
            self.stdout.write(f"using the MLflow server already running at {uri}")
            return None
        parsed = urlparse(uri)
        if parsed.hostname not in {"127.0.0.1", "localhost"} or parsed.port is None:
            raise CommandError(f"MLflow at {uri} is not reachable, and the demo only starts a local one")
        workdir = Path(os.environ.get("MLGOV_DEMO_DIR", settings.BASE_DIR / ".demo")) / "mlflow"
        self.stdout.write(f"starting a local MLflow server at {uri} (data in {workdir}) ...")
        try:
            return start_mlflow_server(
                workdir=workdir,
                port=parsed.port,
                extra_env={
                    # The demo's webhook target is this machine over plain http.
                    "MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS": "true",
                    "MLFLOW_WEBHOOK_ALLOWED_SCHEMES": "https,http",
                    "MLFLOW_WEBHOOK_CACHE_TTL": "5",
                },
            )
        except RuntimeError as exc:
            raise CommandError(str(exc)) from exc

    def _webhook(self, tracking_uri: str, addrport: str) -> None:
        client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
        url = f"http://{addrport}/api/v1/registry/webhooks/mlflow"
        existing = [hook for hook in client.list_webhooks() if hook.name == WEBHOOK_NAME]
        if existing:
            client.update_webhook(
                existing[0].webhook_id, url=url, events=WEBHOOK_EVENTS, secret=settings.MLFLOW_WEBHOOK_SECRET
            )
        else:
            client.create_webhook(
                name=WEBHOOK_NAME, url=url, events=WEBHOOK_EVENTS, secret=settings.MLFLOW_WEBHOOK_SECRET
            )
        self.stdout.write(f"MLflow webhook '{WEBHOOK_NAME}' delivers to {url}")

    def _print_logins(self, addrport: str, tracking_uri: str) -> None:
        self.stdout.write("")
        self.stdout.write(
            self.style.SUCCESS(f"mlgov demo ready: http://{addrport}/  (MLflow UI: {tracking_uri})")
        )
        self.stdout.write(f"log in with any of these users, password '{DEMO_PASSWORD}':")
        for username, user_roles, _ in DEMO_USERS:
            self.stdout.write(f"  {username:<12} {', '.join(user_roles)}")
        self.stdout.write(f"API docs: http://{addrport}/api/docs/   stop with Ctrl-C")
