"""`manage.py demo` (what `make demo` runs): migrate, start a local MLflow seeded with real models, register
the webhook, sync, create one user per role, then serve the UI on http://127.0.0.1:8000. Safe to re-run."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from mlflow import MlflowClient

from governance import roles
from governance.models import ApprovalRequest, Deployment, GateDecision, ModelGovernance, SignOff
from governance.services.approvals import (
    approval_request_approve,
    approval_request_create,
    approval_request_start_review,
    approval_request_submit,
)
from governance.services.gate import gate_evaluate, gate_promote
from governance.services.records import intended_use_set, raci_assign, signoff_record
from governance.services.users import user_with_roles_ensure
from registry_sync import services as sync_services
from registry_sync.demo_seed import seed_registry
from registry_sync.mlflow_server import MlflowServer, mlflow_is_healthy, start_mlflow_server
from registry_sync.models import ModelVersion, RegisteredModel
from registry_sync.services.webhooks import SYNC_EVENTS
from reports.models import MonthlyReport
from reports.periods import Month
from reports.services import monthly_report_generate, usage_cost_upsert

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


# Intended-use profiles of the seeded models (see docs/policies.md for the fields).
_HEALTH = {
    "domain": "healthcare",
    "sectors": ["health"],
    "decision_impact": "significant",
    "autonomy": "human_in_loop",
    "personal_data": True,
    "special_category_data": True,
    "phi": True,
    "jurisdictions": ["EU", "US"],
    "data_residency": ["EU", "US"],
    "users_affected": 20000,
    "prohibited_practice": False,
    "interacts_with_people": False,
    "generates_content": False,
}
DEMO_PROFILES: dict[str, dict[str, Any]] = {
    "diabetes-progression-risk": _HEALTH,
    "care-program-eligibility": {**_HEALTH, "decision_impact": "legal_or_similar"},
    "breast-cancer-screening": {**_HEALTH, "safety_component": True},
    "wine-cultivar-classifier": {
        **_HEALTH,
        "domain": "food quality control",
        "sectors": ["none"],
        "decision_impact": "advisory",
        "personal_data": False,
        "special_category_data": False,
        "phi": False,
        "users_affected": 40,
    },
}
_HIGH_SIGNERS = [
    ("owner", "owner"),
    ("validator", "validator"),
    ("compliance", "compliance"),
    ("committee", "committee1"),
    ("committee", "committee2"),
]
# (model, version, sign-offs given): v1 of the diabetes model gets every sign-off its tier needs.
DEMO_SIGNOFFS = [
    ("diabetes-progression-risk", 1, _HIGH_SIGNERS),
    ("care-program-eligibility", 1, _HIGH_SIGNERS),
    ("breast-cancer-screening", 1, _HIGH_SIGNERS[:2]),
    ("wine-cultivar-classifier", 1, [("owner", "owner")]),
]


class Command(BaseCommand):
    help = "Set up and serve the demo: local MLflow with real models, synced inventory, users per role."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-serve", action="store_true", help="Stop after setup (no web server).")
        parser.add_argument("--addrport", default="127.0.0.1:8000", help="Where the UI is served.")

    def handle(self, *args: Any, **options: Any) -> None:
        # SIGTERM ends the demo like Ctrl-C does, so the MLflow server it started is stopped too.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
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
            self._governance()
            self._report()
            self._print_logins(options["addrport"], tracking_uri)
            if not options["no_serve"]:
                call_command("runserver", options["addrport"], use_reloader=False)
        finally:
            if server is not None:
                server.stop()

    def _governance(self) -> None:
        """The main job on demo data: record RACI, assess intended use, sign off, ask the gate, promote.

        Model owners act only on models they steward (governance.permissions): the `owner` claims each
        unclaimed model by making themself Responsible, then assesses its intended use as its steward."""
        admin = User.objects.get(username="admin")
        owner = User.objects.get(username="owner")
        for name, profile in DEMO_PROFILES.items():
            model = RegisteredModel.objects.filter(name=name).first()
            if model is None:
                continue
            raci_assign(registered_model=model, role="responsible", user=owner, actor=owner)
            raci_assign(registered_model=model, role="accountable", user=admin, actor=admin)
            current = ModelGovernance.objects.filter(registered_model=model).first()
            if current is None or current.intended_use != profile:
                intended_use_set(registered_model=model, profile=profile, actor=owner)
        for name, number, signers in DEMO_SIGNOFFS:
            version = ModelVersion.objects.filter(registered_model__name=name, version=number).first()
            if version is None:
                continue
            for role, username in signers:
                if not SignOff.objects.filter(
                    model_version=version,
                    target_stage="production",
                    role=role,
                    user__username=username,
                    valid=True,
                ).exists():
                    signoff_record(
                        model_version=version,
                        target="production",
                        role=role,
                        user=User.objects.get(username=username),
                        comment="Reviewed in the demo committee meeting.",
                    )
        self._approvals(admin, owner)
        self.stdout.write("gate decisions (production):")
        for name, number, _ in DEMO_SIGNOFFS:
            earlier = GateDecision.objects.filter(
                model_version__registered_model__name=name,
                model_version__version=number,
                target_stage="production",
            ).first()  # a second run shows the stored decision instead of adding one
            decision = earlier or gate_evaluate(
                model_name=name, version=number, target="production", caller=admin
            )
            codes = ", ".join(sorted({r["code"] for r in decision.reasons})) or "all requirements met"
            verdict = "ALLOW" if decision.allow else "DENY "
            self.stdout.write(f"  {verdict} {name} v{number} (tier {decision.risk_tier}): {codes}")
            promoted = Deployment.objects.filter(
                model_version=decision.model_version, target_stage="production"
            )
            if decision.allow and not promoted.exists():
                deployment = gate_promote(decision_id=decision.pk, caller=admin)
                self.stdout.write(
                    f"        promoted: @{deployment.alias} -> v{number} set in MLflow by the platform"
                )

    def _approvals(self, admin: User, owner: User) -> None:
        """Approval requests in the committee's queue: one taken through review and approval, the others
        left submitted. The owner opens them as the models' Responsible; the admin (Accountable) submits,
        so the owner's sign-off still counts."""
        for name, number, _ in DEMO_SIGNOFFS:
            version = ModelVersion.objects.filter(registered_model__name=name, version=number).first()
            if version is None or ApprovalRequest.objects.filter(model_version=version).exists():
                continue
            request = approval_request_create(model_version=version, target="production", actor=owner)
            approval_request_submit(request=request, actor=admin)
            if name == "diabetes-progression-risk":
                approval_request_start_review(request=request, actor=User.objects.get(username="validator"))
                approval_request_approve(
                    request=request,
                    actor=User.objects.get(username="committee1"),
                    comment="Bias within the limited-tier limits; validation reviewed.",
                )

    def _report(self) -> None:
        """This month's executive PDF, with illustrative usage and cost figures (marked as demo data)."""
        month = Month.of(timezone.now())
        for index, name in enumerate(sorted(DEMO_PROFILES)):
            model = RegisteredModel.objects.filter(name=name).first()
            if model is None:
                continue
            requests = 120_000 * (index + 1)
            usage_cost_upsert(
                registered_model=model,
                month=month,
                values={
                    "requests": requests,
                    "predictions": requests,
                    "p95_latency_ms": 40 + 15 * index,
                    "slo_target": 0.99,
                    "slo_attainment": 0.995 - 0.004 * index,
                    "compute_cost": 900 + 350 * index,
                    "storage_cost": 120,
                    "license_cost": 0,
                    "headcount_cost": 4_000,
                },
                source="demo data (illustrative figures)",
                actor="system:demo",
            )
        report = MonthlyReport.objects.filter(period=month.first_day).order_by("-version").first()
        if report is None:  # a second run keeps the archived report (regenerating would add a version)
            report = monthly_report_generate(month=month, actor="system:demo", progress=lambda m: None)
        self.stdout.write(
            f"executive PDF for {month}: {report.file.path} ({report.page_count} pages, "
            f"sha256 {report.sha256[:16]}…) — dashboard: http://127.0.0.1:8000/reports/?month={month}"
        )

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
