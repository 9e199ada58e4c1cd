"""Temporary: screenshots of the workflow pages with realistic data (not committed)."""

import os
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import sync_playwright

from governance import roles
from governance.models import ApprovalRequest, GateDecision, SignOff, RaciAssignment
from governance.services import approvals
from governance.services.records import signoff_record
from tests.factories import (
    ModelVersionFactory,
    RegisteredModelFactory,
    RunFactory,
    SyncRunFactory,
    UserFactory,
    DEFAULT_PASSWORD,
)
from tests.ui.conftest import approval_in_state, BIAS_OK
from governance.models import ModelGovernance

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
OUT = Path("/tmp/shots")


def test_shots(person, live_server, monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    OUT.mkdir(exist_ok=True)
    SyncRunFactory.create()
    owner = person("olivia", roles.MODEL_OWNER)
    owner.first_name, owner.last_name = "Olivia", "Owens"
    owner.save()
    owner2 = person("otto", roles.MODEL_OWNER)
    val = person("vik", roles.VALIDATOR)
    cm = person("cleo", roles.COMMITTEE_MEMBER)
    admin = person("ada", roles.ADMIN, roles.MODEL_OWNER)
    viewer = person("vera", roles.VIEWER)
    names = ["credit-scoring", "fraud-detector", "churn/propensity", "claims-triage"]
    tiers = ["high", "limited", "minimal", "unassessed"]
    reqs = []
    for i, (name, tier) in enumerate(zip(names, tiers)):
        m = RegisteredModelFactory.create(
            name=name, tags={"team": ["credit-risk", "payments", "marketing", "claims"][i]}
        )
        if tier != "unassessed":
            ModelGovernance.objects.create(
                registered_model=m,
                risk_tier=tier,
                risk_reasons=[
                    {
                        "code": "SIGNIFICANT_DECISION_IMPACT",
                        "regulation": "mlgov model risk policy",
                        "message": "significant impact with a human in the loop",
                        "tier": "limited",
                    }
                ],
                intended_use={"domain": "lending", "sectors": ["credit"]},
            )
        for v in range(3):
            run = RunFactory.create(metrics={**BIAS_OK, "accuracy": 0.9}, user_id="ds-alex")
            mv = ModelVersionFactory.create(registered_model=m, run=run, user_id="ds-alex")
        state = ["in_review", "submitted", "draft", "submitted"][i]
        a = approval_in_state(mv, state, owner=owner, reviewer=val)
        reqs.append(a)
    ApprovalRequest.objects.filter(pk=reqs[1].pk).update(submitted_at=timezone.now() - timedelta(days=9))
    ApprovalRequest.objects.filter(pk=reqs[0].pk).update(submitted_at=timezone.now() - timedelta(days=3))
    a0 = reqs[0]
    signoff_record(
        model_version=a0.model_version,
        target="production",
        role="owner",
        user=owner2,
        comment="Model card reviewed; limits documented.",
    )
    try:
        approvals.approval_request_approve(request=a0, actor=cm, comment="")
    except Exception as e:
        print("deny", e)
    RaciAssignment.objects.create(
        registered_model=a0.model_version.registered_model, role="responsible", user=owner
    )

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        for who in (cm, owner):
            ctx = b.new_context(viewport={"width": 1400, "height": 900})
            page = ctx.new_page()
            page.goto(f"{live_server.url}/accounts/login/")
            page.fill("#id_username", who.username)
            page.fill("#id_password", DEFAULT_PASSWORD)
            page.click("button[type=submit]")
            for width in (1400, 1024):
                page.set_viewport_size({"width": width, "height": 900})
                for label, url in [
                    ("queue", "/queue/"),
                    ("approval", f"/approvals/{a0.pk}/"),
                    ("approval-sub", f"/approvals/{reqs[1].pk}/"),
                    ("model", f"/models/{a0.model_version.registered_model.name}/"),
                    ("intended", f"/models/{a0.model_version.registered_model.name}/intended-use/"),
                ]:
                    page.goto(live_server.url + url)
                    page.screenshot(path=str(OUT / f"{who.username}-{label}-{width}.png"), full_page=True)
            ctx.close()
        b.close()
