"""Authorization matrix: each role (and anonymous, and CI keys by scope and project) by each API operation and
the caller's standing on the model (steward: Responsible for it; other: someone else is; unclaimed: nobody is)
→ allowed, or refused with the expected code. Table-driven. A 4xx other than 401/403 means "allowed in, refused
for another reason" (state, validation, a denying decision)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from governance import roles
from governance.models import ApiKey, ApprovalRequest, GateDecision, ModelGovernance, RaciAssignment
from governance.permissions import (
    ModelAction,
    Stewardship,
    api_key_may_act_on,
    model_action_refusal,
    model_action_require,
    model_stewardship,
    registered_model_team,
)
from governance.services.apikeys import api_key_create
from registry_sync.models import ModelVersion
from tests.factories import (
    DenyingGateDecisionFactory,
    ModelVersionFactory,
    RegisteredModelFactory,
    UserFactory,
)
from tests.gate.test_gate_api import governed_version

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", *roles.ALL_ROLES]
OWNERSHIP = ["steward", "other", "unclaimed"]
DENIED = {401, 403}
REVIEWERS = {roles.VALIDATOR, roles.COMPLIANCE_OFFICER, roles.COMMITTEE_MEMBER}
CONTRIBUTORS = {roles.MODEL_OWNER, *REVIEWERS, roles.ADMIN}


@dataclass
class Subject:
    """One model version with requests in the states the operations need, and a gate decision."""

    version: ModelVersion
    submitted: ApprovalRequest  # production, submitted by someone else
    draft: ApprovalRequest  # staging, opened by someone else
    deployed: ApprovalRequest  # production, deployed earlier
    decision: GateDecision  # a deny: promoting it is refused with 409 once the caller is let in


Operation = Callable[[APIClient, Subject], Any]


def _name(s: Subject) -> str:
    return s.version.registered_model.name


OPERATIONS: dict[str, Operation] = {
    "list models": lambda c, s: c.get("/api/v1/models/"),
    "model detail": lambda c, s: c.get(f"/api/v1/models/{_name(s)}/"),
    "lineage": lambda c, s: c.get(f"/api/v1/lineage/{_name(s)}/{s.version.version}"),
    "approval detail": lambda c, s: c.get(f"/api/v1/approvals/{s.submitted.pk}"),
    "evaluate gate": lambda c, s: c.post(
        "/api/v1/gates/evaluate",
        {"model": _name(s), "version": s.version.version, "target": "staging"},
        format="json",
    ),
    "promote": lambda c, s: c.post(
        "/api/v1/gates/promote", {"decision_id": str(s.decision.pk)}, format="json"
    ),
    "create approval": lambda c, s: c.post(
        "/api/v1/approvals",
        {"model": _name(s), "version": s.version.version, "target": "production"},
        format="json",
    ),
    "submit": lambda c, s: c.post(f"/api/v1/approvals/{s.draft.pk}/submit", {}, format="json"),
    "retire": lambda c, s: c.post(f"/api/v1/approvals/{s.deployed.pk}/retire", {}, format="json"),
    "start review": lambda c, s: c.post(
        f"/api/v1/approvals/{s.submitted.pk}/start-review", {}, format="json"
    ),
    "reject": lambda c, s: c.post(
        f"/api/v1/approvals/{s.submitted.pk}/reject", {"comment": "no model card"}, format="json"
    ),
    "owner sign-off": lambda c, s: c.post(
        f"/api/v1/approvals/{s.submitted.pk}/signoffs", {"role": "owner"}, format="json"
    ),
    "comment": lambda c, s: c.post(
        f"/api/v1/approvals/{s.submitted.pk}/comments", {"body": "looks fine"}, format="json"
    ),
    "upload evidence": lambda c, s: c.post(
        f"/api/v1/models/{_name(s)}/versions/{s.version.version}/evidence",
        {"kind": "model_card", "file": SimpleUploadedFile("card.md", b"# Model card", "text/markdown")},
        format="multipart",
    ),
    "set intended use": lambda c, s: c.put(
        f"/api/v1/risk/{_name(s)}/intended-use", {"profile": {}}, format="json"
    ),
    "propose tier override": lambda c, s: c.post(
        f"/api/v1/risk/{_name(s)}/override", {"tier": "high", "justification": "too short"}, format="json"
    ),
}


@dataclass(frozen=True)
class Rule:
    """Who gets in: `anywhere` roles on any model; `stewards` roles only as Responsible or Accountable for
    the model (or, when `claimable`, also while nobody is)."""

    anywhere: frozenset[str]
    stewards: frozenset[str] = frozenset()
    claimable: bool = False

    def allows(self, role: str, ownership: str) -> bool:
        if role in self.anywhere:
            return True
        return role in self.stewards and (
            ownership == "steward" or (self.claimable and ownership == "unclaimed")
        )


SIGNED_IN = frozenset(set(ROLES) - {"anonymous"})
OWNER = frozenset({roles.MODEL_OWNER})
MATRIX: dict[str, Rule] = {
    "list models": Rule(SIGNED_IN),
    "model detail": Rule(SIGNED_IN),
    "lineage": Rule(SIGNED_IN),
    "approval detail": Rule(SIGNED_IN),
    "evaluate gate": Rule(frozenset(CONTRIBUTORS)),
    "promote": Rule(frozenset({roles.ADMIN}), OWNER),
    "create approval": Rule(frozenset({roles.ADMIN}), OWNER),
    "submit": Rule(frozenset({roles.ADMIN}), OWNER),
    "retire": Rule(frozenset({roles.ADMIN, roles.COMMITTEE_MEMBER}), OWNER),
    "start review": Rule(frozenset({*REVIEWERS, roles.ADMIN})),
    "reject": Rule(frozenset({roles.COMMITTEE_MEMBER, roles.ADMIN})),
    # Sign-off roles are the groups themselves: an admin who is not a superuser does not hold "owner".
    "owner sign-off": Rule(frozenset(), OWNER),
    "comment": Rule(frozenset(CONTRIBUTORS)),
    "upload evidence": Rule(frozenset({*REVIEWERS, roles.ADMIN}), OWNER),
    "set intended use": Rule(frozenset({roles.COMPLIANCE_OFFICER, roles.ADMIN}), OWNER),
    "propose tier override": Rule(frozenset({roles.COMPLIANCE_OFFICER, roles.ADMIN}), OWNER),
}
assert MATRIX.keys() == OPERATIONS.keys()


def user_as(role: str) -> User | None:
    if role == "anonymous":
        return None
    user = UserFactory.create(username=f"as-{role}")
    user.groups.add(Group.objects.get(name=role))
    return user


def client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def make_subject(*, responsible: tuple[str, ...]) -> Subject:
    version = governed_version(tier="minimal", signoffs=[], responsible=responsible)
    submitter = UserFactory.create(username="submitter")
    common = {"model_version": version, "created_by": submitter}
    return Subject(
        version=version,
        submitted=ApprovalRequest.objects.create(
            **common, target_stage="production", state="submitted", submitted_by=submitter
        ),
        draft=ApprovalRequest.objects.create(**common, target_stage="staging", state="draft"),
        deployed=ApprovalRequest.objects.create(
            **common, target_stage="production", state="deployed", submitted_by=submitter
        ),
        decision=DenyingGateDecisionFactory.create(model_version=version),
    )


@pytest.mark.parametrize("ownership", OWNERSHIP)
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", list(OPERATIONS))
def test_role_matrix(name: str, role: str, ownership: str) -> None:
    user = user_as(role)
    stewards = {"steward": (user.username if user else "rita",), "other": ("rita",), "unclaimed": ()}
    subject = make_subject(responsible=stewards[ownership])
    rule = MATRIX[name]

    response = OPERATIONS[name](client_for(user), subject)

    assert response.status_code < 500, response.content
    if rule.allows(role, ownership):
        assert response.status_code not in DENIED, (name, role, ownership, response.content)
        return
    assert response.status_code in DENIED, (name, role, ownership, response.status_code)
    code = response.json()["error"]["code"]
    if role == "anonymous":
        assert code == "NOT_AUTHENTICATED"
    elif role in rule.stewards:  # the right role, the wrong model
        assert code == "NOT_MODEL_STEWARD", response.content
        assert "Responsible or Accountable" in response.json()["error"]["message"]
    else:
        assert code in {"PERMISSION_DENIED", "ROLE_REQUIRED", "SIGNOFF_ROLE_NOT_HELD"}, response.content


def test_steward_refusal_names_the_model() -> None:
    owner = user_as(roles.MODEL_OWNER)
    subject = make_subject(responsible=("rita",))

    response = OPERATIONS["create approval"](client_for(owner), subject)

    assert response.status_code == 403
    assert response.json()["error"] == {
        "code": "NOT_MODEL_STEWARD",
        "message": f"You are not Responsible or Accountable for model {_name(subject)}, so you cannot "
        "request an approval for it.",
        "details": {"model": _name(subject), "action": "create_approval"},
    }


def open_request(client: APIClient, subject: Subject) -> Any:
    """Open a request on a new version of the subject's model (its own version has open requests)."""
    version = ModelVersionFactory.create(registered_model=subject.version.registered_model)
    return client.post(
        "/api/v1/approvals",
        {"model": _name(subject), "version": version.version, "target": "production"},
        format="json",
    )


def test_accountable_is_a_steward_too() -> None:
    owner = user_as(roles.MODEL_OWNER)
    assert owner is not None
    subject = make_subject(responsible=("rita",))
    RaciAssignment.objects.create(
        registered_model=subject.version.registered_model, role="accountable", user=owner
    )
    assert open_request(client_for(owner), subject).status_code == 201


def test_a_member_of_an_accountable_group_is_a_steward_while_a_member(django_assert_num_queries: Any) -> None:
    owner = user_as(roles.MODEL_OWNER)
    assert owner is not None
    subject = make_subject(responsible=("rita",))
    model = subject.version.registered_model
    stewards = Group.objects.create(name="risk-team")
    stewards.user_set.add(owner)
    RaciAssignment.objects.create(registered_model=model, role="accountable", group=stewards)
    with django_assert_num_queries(1):
        assert model_stewardship(user=owner, registered_model_id=model.pk) == Stewardship(True, claimed=True)
    assert open_request(client_for(owner), subject).status_code == 201

    stewards.user_set.remove(owner)
    assert model_stewardship(user=owner, registered_model_id=model.pk) == Stewardship(False, claimed=True)
    refused = OPERATIONS["create approval"](client_for(owner), subject)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "NOT_MODEL_STEWARD"


def test_consulted_or_informed_is_not_a_steward() -> None:
    owner = user_as(roles.MODEL_OWNER)
    assert owner is not None
    subject = make_subject(responsible=("rita",))
    for raci_role in ("consulted", "informed"):
        RaciAssignment.objects.create(
            registered_model=subject.version.registered_model, role=raci_role, user=owner
        )
    response = OPERATIONS["create approval"](client_for(owner), subject)
    assert response.status_code == 403 and response.json()["error"]["code"] == "NOT_MODEL_STEWARD"


def test_withdraw_needs_the_author_to_still_steward_the_model() -> None:
    owner = user_as(roles.MODEL_OWNER)
    assert owner is not None
    subject = make_subject(responsible=(owner.username,))
    created = open_request(client_for(owner), subject).json()
    RaciAssignment.objects.filter(user=owner).delete()  # handed the model over

    refused = client_for(owner).post(f"/api/v1/approvals/{created['id']}/withdraw", {}, format="json")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "NOT_MODEL_STEWARD"
    other_people = client_for(user_as(roles.VALIDATOR)).post(
        f"/api/v1/approvals/{created['id']}/withdraw", {}, format="json"
    )
    assert other_people.status_code == 403 and other_people.json()["error"]["code"] == "NOT_YOURS"
    admin = client_for(user_as(roles.ADMIN)).post(
        f"/api/v1/approvals/{created['id']}/withdraw", {}, format="json"
    )
    assert admin.status_code == 200 and admin.json()["state"] == "withdrawn"


# ------------------------------------------------------------------------------------------------ CI keys


def key_client(*, scopes: list[str], project: str = "", user: User | None = None) -> APIClient:
    issued = api_key_create(
        name="ci",
        scopes=scopes,
        user=user or UserFactory.create(username="ci"),
        project=project,
        actor="test",
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.secret}")
    return client


@pytest.mark.parametrize(
    ("scopes", "name", "allowed"),
    [
        (["evaluate"], "evaluate gate", True),
        (["evaluate"], "promote", False),
        (["promote"], "promote", True),
        (["promote"], "evaluate gate", False),
        (["evaluate", "promote"], "upload evidence", False),  # people contribute evidence, CI keys do not
        (["evaluate", "promote"], "comment", False),
    ],
)
def test_api_key_scopes(scopes: list[str], name: str, allowed: bool) -> None:
    subject = make_subject(responsible=("rita",))
    response = OPERATIONS[name](key_client(scopes=scopes), subject)
    assert (response.status_code not in DENIED) is allowed, response.content


def _team_model(*, team: str = "", tag: str = "") -> Subject:
    subject = make_subject(responsible=("rita",))
    model = subject.version.registered_model
    model.tags = {"team": tag} if tag else {}
    model.save(update_fields=["tags"])
    ModelGovernance.objects.filter(registered_model=model).update(team=team)
    return subject


@pytest.mark.parametrize(
    ("project", "team", "tag", "allowed"),
    [
        ("payments", "risk", "", False),  # another team's model
        ("payments", "", "risk", False),  # the team from the MLflow tag
        ("payments", "risk", "payments", False),  # the governance record's team wins over the tag
        ("risk", "risk", "", True),
        ("risk", "", "risk", True),
        ("payments", "", "", False),  # a model without a team is nobody's project
        ("", "risk", "", True),  # no project: organisation-wide
        ("", "", "", True),
    ],
)
def test_project_key_promotes_only_its_teams_models(project: str, team: str, tag: str, allowed: bool) -> None:
    subject = _team_model(team=team, tag=tag)

    response = OPERATIONS["promote"](key_client(scopes=["promote"], project=project), subject)

    if allowed:  # let in: the (denying) decision is refused on its merits
        assert response.status_code == 409 and response.json()["error"]["code"] == "DECISION_DENIED"
    else:
        assert response.status_code == 403
        error = response.json()["error"]
        assert error["code"] == "API_KEY_PROJECT_MISMATCH"
        assert error["message"].startswith(f"This API key is for project {project!r}")
        assert error["details"]["project"] == project


@pytest.mark.parametrize(
    ("project", "team", "tag", "allowed"),
    [
        ("payments", "risk", "", False),
        ("payments", "", "risk", False),
        ("risk", "", "risk", True),
        ("risk", "risk", "payments", True),
        ("", "risk", "", True),
    ],
)
def test_project_key_evaluates_only_its_teams_models(
    project: str, team: str, tag: str, allowed: bool
) -> None:
    subject = _team_model(team=team, tag=tag)
    decisions_before = GateDecision.objects.count()

    response = OPERATIONS["evaluate gate"](key_client(scopes=["evaluate"], project=project), subject)

    if allowed:
        assert response.status_code == 200, response.content
        assert GateDecision.objects.filter(pk=response.json()["decision_id"]).exists()
    else:
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "API_KEY_PROJECT_MISMATCH"
        assert GateDecision.objects.count() == decisions_before  # refused before anything was evaluated


@pytest.mark.parametrize(
    "name",
    ["create approval", "submit", "retire", "owner sign-off", "set intended use", "propose tier override"],
)
def test_project_key_acts_as_its_user_only_on_its_teams_models(name: str) -> None:
    """Keys act as their user everywhere keys are accepted; a project key stays within its project, even when
    its user steward the model."""
    bot = user_as(roles.MODEL_OWNER)
    assert bot is not None
    subject = _team_model(team="risk")
    RaciAssignment.objects.create(
        registered_model=subject.version.registered_model, role="responsible", user=bot
    )

    refused = OPERATIONS[name](key_client(scopes=["evaluate"], project="payments", user=bot), subject)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "API_KEY_PROJECT_MISMATCH"
    let_in = OPERATIONS[name](key_client(scopes=["evaluate"], project="risk", user=bot), subject)
    assert let_in.status_code not in DENIED, let_in.content


@pytest.mark.parametrize(
    ("project", "team", "allowed"),
    [
        ("", "", True),
        ("", "risk", True),
        ("risk", "risk", True),
        ("risk", "Risk", False),
        ("risk", "", False),
    ],
)
def test_api_key_may_act_on(project: str, team: str, allowed: bool) -> None:
    assert api_key_may_act_on(ApiKey(project=project), team) is allowed


def test_team_of_a_model_without_governance_record_is_its_tag() -> None:
    assert (
        registered_model_team(registered_model=RegisteredModelFactory.create(tags={"team": "fraud"}))
        == "fraud"
    )
    assert registered_model_team(registered_model=RegisteredModelFactory.create(tags={})) == ""


# ------------------------------------------------------------------------------------------------ policy


MINE = Stewardship(is_steward=True, claimed=True)
THEIRS = Stewardship(is_steward=False, claimed=True)
NOBODYS = Stewardship(is_steward=False, claimed=False)


@pytest.mark.parametrize(
    ("role_names", "action", "stewardship", "code"),
    [
        ({roles.ADMIN}, ModelAction.PROMOTE, None, None),
        ({roles.MODEL_OWNER}, ModelAction.PROMOTE, MINE, None),
        ({roles.MODEL_OWNER}, ModelAction.PROMOTE, THEIRS, "NOT_MODEL_STEWARD"),
        ({roles.MODEL_OWNER}, ModelAction.PROMOTE, NOBODYS, "NOT_MODEL_STEWARD"),
        ({roles.MODEL_OWNER}, ModelAction.EDIT_RACI, NOBODYS, None),  # claiming an unclaimed model
        ({roles.MODEL_OWNER}, ModelAction.EDIT_RACI, THEIRS, "NOT_MODEL_STEWARD"),
        ({roles.MODEL_OWNER}, ModelAction.EDIT_INTENDED_USE, NOBODYS, "NOT_MODEL_STEWARD"),
        ({roles.COMPLIANCE_OFFICER}, ModelAction.EDIT_INTENDED_USE, None, None),
        ({roles.COMPLIANCE_OFFICER}, ModelAction.REQUEST_TIER_OVERRIDE, None, None),
        ({roles.COMPLIANCE_OFFICER}, ModelAction.EDIT_RACI, None, "ROLE_REQUIRED"),
        ({roles.VALIDATOR}, ModelAction.UPLOAD_EVIDENCE, None, None),
        ({roles.VALIDATOR}, ModelAction.CREATE_APPROVAL, None, "ROLE_REQUIRED"),
        ({roles.COMMITTEE_MEMBER}, ModelAction.RETIRE, None, None),
        ({roles.MODEL_OWNER}, ModelAction.RETIRE, THEIRS, "NOT_MODEL_STEWARD"),
        ({roles.MODEL_OWNER, roles.COMMITTEE_MEMBER}, ModelAction.RETIRE, None, None),
        ({roles.MODEL_OWNER}, ModelAction.OWNER_SIGNOFF, THEIRS, "NOT_MODEL_STEWARD"),
        ({roles.VIEWER}, ModelAction.WITHDRAW_APPROVAL, None, "ROLE_REQUIRED"),
        (set(), ModelAction.SUBMIT_APPROVAL, None, "ROLE_REQUIRED"),
    ],
)
def test_model_action_refusal(
    role_names: set[str], action: ModelAction, stewardship: Stewardship | None, code: str | None
) -> None:
    refusal = model_action_refusal(
        action=action, role_names=frozenset(role_names), stewardship=stewardship, model_name="m"
    )
    assert (refusal.code if refusal else None) == code


@pytest.mark.parametrize(
    ("role", "queries"), [(roles.ADMIN, 1), (roles.VALIDATOR, 1), (roles.MODEL_OWNER, 2)]
)
def test_permission_check_costs_at_most_two_queries(
    role: str, queries: int, django_assert_num_queries: Any
) -> None:
    user = user_as(role)
    assert user is not None
    model = make_subject(responsible=(user.username,)).version.registered_model
    with django_assert_num_queries(queries):
        model_action_require(user=user, action=ModelAction.UPLOAD_EVIDENCE, registered_model=model)
