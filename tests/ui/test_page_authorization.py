"""Authorization matrix of the server-rendered pages: each role (and anonymous) by every page of the
governance, registry sync, assessments and reports UIs → the expected status; then each role by each action
a page posts, and the caller's standing on the model (steward: Responsible for it; other: someone else is;
unclaimed: nobody is) → done, or refused (403, or the page's refusal message) with nothing changed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from assessments import services as assessment_services
from assessments.models import Assessment, Team
from governance import roles
from governance.models import ApprovalRequest, GateDecision, ModelGovernance, RaciAssignment
from registry_sync.models import ModelVersion
from reports.models import MonthlyReport
from tests.factories import DenyingGateDecisionFactory, ModelVersionFactory, SyncRunFactory
from tests.ui.conftest import PersonMaker, steward
from tests.ui.test_intended_use import EU_CREDIT

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", *roles.ALL_ROLES]
REVIEWERS = {roles.VALIDATOR, roles.COMPLIANCE_OFFICER, roles.COMMITTEE_MEMBER}


@dataclass
class World:
    version: ModelVersion
    fresh: ModelVersion  # a newer version without requests
    draft: ApprovalRequest  # staging, opened by someone else
    submitted: ApprovalRequest  # production, submitted by someone else
    deployed: ApprovalRequest  # production, deployed earlier
    decision: GateDecision
    team: Team
    assessment: Assessment  # the team lead's draft
    report: MonthlyReport

    @property
    def name(self) -> str:
        return self.version.registered_model.name


def _user(person: PersonMaker, role: str) -> User | None:
    return None if role == "anonymous" else person(f"as-{role}", role)


def _client(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def world(version: ModelVersion, person: PersonMaker, settings: Any, tmp_path: Path) -> World:
    settings.MEDIA_ROOT = tmp_path / "media"
    SyncRunFactory.create()
    submitter = person("submitter", roles.MODEL_OWNER)
    common = {"model_version": version, "created_by": submitter}
    decision = DenyingGateDecisionFactory.create(
        model_version=version,
        risk_tier="limited",
        reasons=[{"code": "SIGNOFF_MISSING", "message": "validator missing"}],
    )
    lead = person("lead")
    team = assessment_services.team_create(name="credit-risk", lead=lead, actor=lead)
    report = MonthlyReport(
        period=timezone.now().date().replace(day=1),
        version=1,
        sha256="0" * 64,
        size=9,
        generated_at=timezone.now(),
        generated_by="test",
    )
    report.file.save("report.pdf", ContentFile(b"%PDF-1.7\n"), save=True)
    return World(
        version=version,
        fresh=ModelVersionFactory.create(registered_model=version.registered_model, user_id="ds-alex"),
        draft=ApprovalRequest.objects.create(**common, target_stage="staging", state="draft"),
        submitted=ApprovalRequest.objects.create(
            **common, target_stage="production", state="submitted", submitted_by=submitter
        ),
        deployed=ApprovalRequest.objects.create(
            **common, target_stage="production", state="deployed", submitted_by=submitter
        ),
        decision=decision,
        team=team,
        assessment=assessment_services.assessment_start(team=team, actor=lead),
        report=report,
    )


def _claim(world: World, user: User | None, ownership: str, person: PersonMaker) -> None:
    model = world.version.registered_model
    if ownership == "steward" and user is not None:
        steward(model, user)
    elif ownership in ("other", "steward"):
        steward(model, person("rita", roles.MODEL_OWNER))


# ------------------------------------------------------------------------------------------------ pages (GET)

SIGNED_IN = frozenset(set(ROLES) - {"anonymous"})
Url = Callable[[World], str]

# page → (its URL, the roles that get it). Everyone else who is signed in gets 403; anonymous visitors are
# sent to the login page. "Getting" a post-only URL is a 405, after the permission check where it has one.
PAGES: dict[str, tuple[Url, frozenset[str]]] = {
    "model list": (lambda w: reverse("governance:model-list"), SIGNED_IN),
    "review queue": (lambda w: reverse("governance:queue"), SIGNED_IN),
    "approval page": (
        lambda w: reverse("governance:approval-detail", kwargs={"pk": w.submitted.pk}),
        SIGNED_IN,
    ),
    "model page": (lambda w: reverse("governance:model-detail", kwargs={"name": w.name}), SIGNED_IN),
    "version lineage": (
        lambda w: reverse(
            "governance:version-lineage", kwargs={"name": w.name, "version": w.version.version}
        ),
        SIGNED_IN,
    ),
    "decision page": (
        lambda w: reverse("governance:decision-detail", kwargs={"decision_id": w.decision.pk}),
        SIGNED_IN,
    ),
    # The intended-use form: compliance and admins for any model; model owners only for their own (below).
    "intended-use form": (
        lambda w: reverse("governance:intended-use", kwargs={"name": w.name}),
        frozenset({roles.COMPLIANCE_OFFICER, roles.ADMIN}),
    ),
    "request approval (post only)": (
        lambda w: reverse("governance:approval-create", kwargs={"name": w.name}),
        SIGNED_IN,  # the service decides on the POST
    ),
    "assign RACI (post only)": (
        lambda w: reverse("governance:raci-assign", kwargs={"name": w.name}),
        frozenset({roles.ADMIN}),  # someone else stewards the model
    ),
    "registry sync status": (lambda w: reverse("governance:sync-status"), SIGNED_IN),
    "assessments": (lambda w: reverse("assessments:index"), SIGNED_IN),
    "create team (post only)": (lambda w: reverse("assessments:team-create"), SIGNED_IN),
    "team trend": (lambda w: reverse("assessments:team-trend", kwargs={"team_id": w.team.pk}), SIGNED_IN),
    "start assessment (post only)": (
        lambda w: reverse("assessments:start", kwargs={"team_id": w.team.pk}),
        SIGNED_IN,
    ),
    "organisation heatmap": (lambda w: reverse("assessments:org-heatmap"), SIGNED_IN),
    "assessment profile": (
        lambda w: reverse("assessments:profile", kwargs={"pk": w.assessment.pk}),
        SIGNED_IN,
    ),
    "assessment step": (
        lambda w: reverse("assessments:step", kwargs={"pk": w.assessment.pk, "step": 1}),
        SIGNED_IN,
    ),
    "assessment review": (lambda w: reverse("assessments:review", kwargs={"pk": w.assessment.pk}), SIGNED_IN),
    "assessment result": (lambda w: reverse("assessments:result", kwargs={"pk": w.assessment.pk}), SIGNED_IN),
    "assessment JSON": (
        lambda w: reverse("assessments:export-json", kwargs={"pk": w.assessment.pk}),
        SIGNED_IN,
    ),
    "assessment CSV": (
        lambda w: reverse("assessments:export-csv", kwargs={"pk": w.assessment.pk}),
        SIGNED_IN,
    ),
    "reports dashboard": (lambda w: reverse("reports:dashboard"), SIGNED_IN),
    "ROI worksheet": (lambda w: reverse("reports:roi"), SIGNED_IN),
    "business outcome form": (
        lambda w: reverse("reports:outcome-entry"),
        frozenset({roles.ADMIN, roles.MODEL_OWNER, roles.COMPLIANCE_OFFICER}),
    ),
    "report download": (lambda w: reverse("reports:download", kwargs={"pk": w.report.pk}), SIGNED_IN),
}
POST_ONLY = {name for name in PAGES if name.endswith("(post only)")}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("page", list(PAGES))
def test_page_matrix(world: World, person: PersonMaker, page: str, role: str) -> None:
    url, allowed = PAGES[page]
    user = _user(person, role)
    _claim(world, user, "other", person)

    response = _client(user).get(url(world))

    if role == "anonymous":
        assert response.status_code == 302 and response["Location"].startswith(reverse("login")), page
        return
    ok = 405 if page in POST_ONLY else 200
    assert response.status_code == (ok if role in allowed else 403), (page, role, response.status_code)


@pytest.mark.parametrize(("ownership", "status"), [("steward", 200), ("other", 403), ("unclaimed", 403)])
def test_intended_use_form_for_model_owners(
    world: World, person: PersonMaker, ownership: str, status: int
) -> None:
    owner = person("olivia", roles.MODEL_OWNER)
    _claim(world, owner, ownership, person)

    response = _client(owner).get(reverse("governance:intended-use", kwargs={"name": world.name}))

    assert response.status_code == status
    if status == 403:
        assert b"Responsible or Accountable" in response.content


# ------------------------------------------------------------------------------------------------ actions (POST)


@dataclass(frozen=True)
class Action:
    post: Callable[[Client, World], Any]
    done: Callable[[World], bool]  # did the change happen?
    anywhere: frozenset[str]  # roles that may do it on any model
    stewards: frozenset[str] = frozenset()  # roles that may do it on models they steward
    claimable: bool = False  # ... and on models nobody stewards yet
    refusal: str = "page"  # how a refusal shows: "page" (message on the page, 200), "403", "redirect"

    def allows(self, role: str, ownership: str) -> bool:
        if role in self.anywhere:
            return True
        return role in self.stewards and (
            ownership == "steward" or (self.claimable and ownership == "unclaimed")
        )


def _approval_post(attr: str, data: dict[str, str]) -> Callable[[Client, World], Any]:
    return lambda c, w: c.post(
        reverse("governance:approval-detail", kwargs={"pk": getattr(w, attr).pk}), data
    )


def _state(request: ApprovalRequest) -> str:
    return ApprovalRequest.objects.get(pk=request.pk).state


OWNER = frozenset({roles.MODEL_OWNER})
ACTIONS: dict[str, Action] = {
    "request approval": Action(
        post=lambda c, w: c.post(
            reverse("governance:approval-create", kwargs={"name": w.name}),
            {"version": w.fresh.version, "target": "production"},
        ),
        done=lambda w: ApprovalRequest.objects.filter(model_version=w.fresh).exists(),
        anywhere=frozenset({roles.ADMIN}),
        stewards=OWNER,
        refusal="redirect",
    ),
    "assign RACI": Action(
        post=lambda c, w: c.post(
            reverse("governance:raci-assign", kwargs={"name": w.name}), {"role": "informed", "user": "lead"}
        ),
        done=lambda w: RaciAssignment.objects.filter(role="informed").exists(),
        anywhere=frozenset({roles.ADMIN}),
        stewards=OWNER,
        claimable=True,
        refusal="403",
    ),
    "save intended use": Action(
        post=lambda c, w: c.post(reverse("governance:intended-use", kwargs={"name": w.name}), EU_CREDIT),
        done=lambda w: (
            ModelGovernance.objects.get(registered_model=w.version.registered_model).intended_use != {}
        ),
        anywhere=frozenset({roles.COMPLIANCE_OFFICER, roles.ADMIN}),
        stewards=OWNER,
        refusal="403",
    ),
    "submit": Action(
        post=_approval_post("draft", {"action": "submit"}),
        done=lambda w: _state(w.draft) == "submitted",
        anywhere=frozenset({roles.ADMIN}),
        stewards=OWNER,
    ),
    "retire": Action(
        post=_approval_post("deployed", {"action": "retire"}),
        done=lambda w: _state(w.deployed) == "retired",
        anywhere=frozenset({roles.ADMIN, roles.COMMITTEE_MEMBER}),
        stewards=OWNER,
    ),
    "start review": Action(
        post=_approval_post("submitted", {"action": "start_review"}),
        done=lambda w: _state(w.submitted) == "in_review",
        anywhere=frozenset({*REVIEWERS, roles.ADMIN}),
    ),
    "reject": Action(
        post=_approval_post("submitted", {"action": "reject", "reject-comment": "No model card."}),
        done=lambda w: _state(w.submitted) == "rejected",
        anywhere=frozenset({roles.COMMITTEE_MEMBER, roles.ADMIN}),
    ),
    # Sign-off roles are the groups themselves: only model owners give the owner sign-off, on their models.
    "owner sign-off": Action(
        post=_approval_post("submitted", {"action": "signoff", "signoff-role": "owner"}),
        done=lambda w: w.version.signoffs.filter(role="owner").exists(),
        anywhere=frozenset(),
        stewards=OWNER,
    ),
    "check the gate": Action(
        post=_approval_post("submitted", {"action": "check_gate"}),
        done=lambda w: GateDecision.objects.count() > 1,
        anywhere=frozenset(SIGNED_IN - {roles.VIEWER}),
    ),
    "create team": Action(
        post=lambda c, w: c.post(reverse("assessments:team-create"), {"name": "fraud"}),
        done=lambda w: Team.objects.filter(name="fraud").exists(),
        anywhere=frozenset(SIGNED_IN - {roles.VIEWER}),
        refusal="redirect",
    ),
    "start assessment": Action(
        post=lambda c, w: c.post(reverse("assessments:start", kwargs={"team_id": w.team.pk})),
        # The team's draft is resumed, not duplicated: allowed callers are sent to it.
        done=lambda w: True,
        anywhere=frozenset(SIGNED_IN - {roles.VIEWER}),
        refusal="redirect",
    ),
}


@pytest.mark.parametrize("ownership", ["steward", "other", "unclaimed"])
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", list(ACTIONS))
def test_action_matrix(world: World, person: PersonMaker, name: str, role: str, ownership: str) -> None:
    action = ACTIONS[name]
    user = _user(person, role)
    _claim(world, user, ownership, person)

    client = _client(user)
    response = action.post(client, world)

    assert response.status_code < 500
    if role == "anonymous":
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
        return
    if action.allows(role, ownership):
        assert response.status_code == 302, (name, role, ownership, response.status_code)
        assert action.done(world), (name, role, ownership)
        return
    if name != "start assessment":
        assert not action.done(world), (name, role, ownership)
    if action.refusal == "403":
        assert response.status_code == 403, (name, role, ownership, response.status_code)
    elif action.refusal == "redirect":
        followed = client.get(response["Location"])
        assert response.status_code == 302 and _messages(followed), (name, role, ownership)
        if name == "start assessment":
            assert response["Location"] == reverse("assessments:index")
    else:
        assert response.status_code == 200 and _messages(response), (name, role, ownership)
    if role in action.stewards:
        # The right role on someone else's (or nobody's) model: the refusal says what is missing.
        text = response.content.decode() if response.status_code != 302 else " ".join(_messages(followed))
        assert "Responsible or Accountable" in text, (name, role, ownership, text[:300])


def _messages(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []
