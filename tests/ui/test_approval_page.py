"""The approval page: buttons per state and role, transitions through the page (refusals shown as messages,
never a server error), the sign-off form limited to the user's roles, gate history, bias limits, the
activity timeline, and a query count that does not grow with the history."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from governance import roles
from governance.models import ApprovalRequest, AuditEvent, GateDecision, ModelGovernance, SignOff
from governance.services import approvals
from governance.services.gate import GateError
from governance.services.records import signoff_record
from registry_sync.models import ModelVersion
from tests.factories import RaciAssignmentFactory, SyncRunFactory
from tests.ui.conftest import REGISTRANT, PersonMaker, approval_in_state, logged_in

pytestmark = pytest.mark.django_db

# Session + user, sync banner (2), the request (version, run, model, governance, people, gate decision),
# the user's roles, sign-offs, gate decisions, timeline (sign-off ids, decision ids, events).
APPROVAL_PAGE_MAX_QUERIES = 11

BUTTONS = {
    "submit": "Submit for review",
    "start_review": "Start review",
    "approve": "✓</span> Approve",
    "reject": "✕</span> Reject",
    "withdraw": "Withdraw request",
    "retire": "Retire this deployment",
}


def url(approval: ApprovalRequest) -> str:
    return reverse("governance:approval-detail", kwargs={"pk": approval.pk})


def buttons(response: Any) -> set[str]:
    html = response.content.decode()
    return {action for action in BUTTONS if f'name="action" value="{action}"' in html}


def messages_of(response: Any) -> list[str]:
    return [str(message) for message in response.context["messages"]] if response.context else []


def state_of(approval: ApprovalRequest) -> str:
    return ApprovalRequest.objects.get(pk=approval.pk).state


@pytest.fixture
def team(person: PersonMaker, version: ModelVersion) -> dict[str, User]:
    people = {
        "owner": person("olivia", roles.MODEL_OWNER),
        "owner2": person("otto", roles.MODEL_OWNER),
        "validator": person("vik", roles.VALIDATOR),
        "committee": person("cleo", roles.COMMITTEE_MEMBER),
        "viewer": person("vera", roles.VIEWER),
    }
    # Olivia is made Responsible when she opens a request (approval_in_state); Otto, Accountable, gives
    # the owner sign-off.
    RaciAssignmentFactory.create(
        registered_model=version.registered_model, role="accountable", user=people["owner2"]
    )
    return people


# ------------------------------------------------------------------------------------------------ rendering


@pytest.mark.parametrize(
    ("state", "who", "expected"),
    [
        ("draft", "owner", {"submit", "withdraw"}),
        ("draft", "committee", set()),
        ("submitted", "owner", {"withdraw"}),  # the submitter cannot review their own request
        ("submitted", "validator", {"start_review"}),
        ("submitted", "committee", {"start_review", "reject"}),
        ("in_review", "committee", {"approve", "reject"}),
        ("in_review", "validator", set()),
        ("in_review", "owner", {"withdraw"}),
        ("approved", "committee", set()),
        ("deployed", "owner", {"retire"}),
        ("deployed", "committee", {"retire"}),
        ("rejected", "owner", set()),
        ("withdrawn", "owner", set()),
    ],
)
def test_buttons_per_state_and_role(
    version: ModelVersion, team: dict[str, User], state: str, who: str, expected: set[str]
) -> None:
    approval = approval_in_state(
        version, state, owner=team["owner"], reviewer=team["validator"], decider=team["committee"]
    )

    response = logged_in(team[who]).get(url(approval))

    assert response.status_code == 200
    assert buttons(response) == expected


@pytest.mark.parametrize("state", ["draft", "submitted", "in_review", "approved", "deployed", "rejected"])
def test_viewer_sees_the_request_but_no_actions(
    version: ModelVersion, team: dict[str, User], state: str
) -> None:
    approval = approval_in_state(
        version, state, owner=team["owner"], reviewer=team["validator"], decider=team["committee"]
    )

    html = logged_in(team["viewer"]).get(url(approval)).content.decode()

    assert f"Approval request #{approval.pk}" in html
    assert 'name="action"' not in html  # no transition, sign-off or gate-check form
    assert 'name="signoff-role"' not in html


def test_page_shows_request_tier_bias_and_links(version: ModelVersion, team: dict[str, User]) -> None:
    approval = approval_in_state(version, "in_review", owner=team["owner"], reviewer=team["validator"])
    model = version.registered_model

    html = logged_in(team["viewer"]).get(url(approval)).content.decode()

    model_url = reverse("governance:model-detail", kwargs={"name": model.name})
    assert f'href="{model_url}"' in html and f'href="{model_url}#v{version.version}"' in html
    assert "◔</span> In review" in html and "Limited risk" in html
    assert "SIGNIFICANT_DECISION_IMPACT" in html and "significant impact with a human in the loop" in html
    assert "bias.demographic_parity_difference" in html and "0.2000" in html and "✓</span> Pass" in html
    assert "The gate has not been evaluated for this version and target yet" in html
    assert f"registered by {REGISTRANT}" in html


def test_unknown_request_is_404(team: dict[str, User]) -> None:
    assert logged_in(team["viewer"]).get("/approvals/999999/").status_code == 404


def test_page_needs_login(client: Client, version: ModelVersion, team: dict[str, User]) -> None:
    approval = approval_in_state(version, "draft", owner=team["owner"])
    assert client.get(url(approval)).status_code == 302
    assert client.post(url(approval), {"action": "submit"}).status_code == 302
    assert state_of(approval) == "draft"


# ------------------------------------------------------------------------------------------------ transitions


def test_transitions_through_the_page(version: ModelVersion, team: dict[str, User]) -> None:
    approval = approval_in_state(version, "draft", owner=team["owner"])

    submitted = logged_in(team["owner"]).post(url(approval), {"action": "submit"}, follow=True)
    assert submitted.redirect_chain == [(url(approval), 302)]
    assert state_of(approval) == "submitted" and messages_of(submitted) == ["Submitted for review."]

    reviewed = logged_in(team["validator"]).post(url(approval), {"action": "start_review"})
    assert reviewed.status_code == 302 and state_of(approval) == "in_review"

    rejected = logged_in(team["committee"]).post(
        url(approval), {"action": "reject", "reject-comment": "No model card."}, follow=True
    )
    assert state_of(approval) == "rejected" and "Rejected." in messages_of(rejected)
    assert ApprovalRequest.objects.get(pk=approval.pk).decision_comment == "No model card."
    html = rejected.content.decode()
    assert "No model card." in html and "This request is closed (rejected)" in html


@pytest.mark.parametrize(
    ("state", "action", "who", "message"),
    [
        (
            "submitted",
            "submit",
            "owner",
            "A request that is submitted cannot become submitted; it must be draft first.",
        ),
        ("draft", "start_review", "validator", "A request that is draft cannot become in_review"),
        ("withdrawn", "withdraw", "owner", "A request that is withdrawn cannot become withdrawn"),
        (
            "submitted",
            "retire",
            "owner",
            "A request that is submitted cannot become retired; it must be deployed first.",
        ),
        ("draft", "approve", "committee", "Cannot approve a request that is draft."),
    ],
)
def test_invalid_transition_shows_the_409_message(
    version: ModelVersion, team: dict[str, User], state: str, action: str, who: str, message: str
) -> None:
    approval = approval_in_state(version, state, owner=team["owner"], reviewer=team["validator"])
    events = AuditEvent.objects.count()

    response = logged_in(team[who]).post(url(approval), {"action": action})

    assert response.status_code == 200
    assert any(message in text for text in messages_of(response)), messages_of(response)
    assert "<strong>Not done:</strong> " in response.content.decode()
    assert state_of(approval) == state and AuditEvent.objects.count() == events


def test_stale_page_double_submit_shows_the_message(version: ModelVersion, team: dict[str, User]) -> None:
    approval = approval_in_state(version, "draft", owner=team["owner"])
    owner = logged_in(team["owner"])

    assert owner.post(url(approval), {"action": "submit"}).status_code == 302
    again = owner.post(url(approval), {"action": "submit"})

    assert again.status_code == 200
    assert (
        messages_of(again)[-1]
        == "A request that is submitted cannot become submitted; it must be draft first."
    )
    assert buttons(again) == {"withdraw"}  # the page re-reads the request: it shows the current state


@pytest.mark.parametrize(
    ("state", "action", "who", "code_text"),
    [
        ("draft", "submit", "viewer", "To submit you need one of the roles: admin, model_owner."),
        ("submitted", "start_review", "viewer", "To review you need one of the roles"),
        (
            "in_review",
            "approve",
            "validator",
            "To approve you need one of the roles: admin, committee_member.",
        ),
        ("submitted", "withdraw", "validator", "Only the person who created or submitted the request"),
        ("submitted", "start_review", "owner", "To review you need one of the roles"),
    ],
)
def test_refused_by_role_or_separation_of_duties(
    version: ModelVersion, team: dict[str, User], state: str, action: str, who: str, code_text: str
) -> None:
    approval = approval_in_state(version, state, owner=team["owner"], reviewer=team["validator"])

    response = logged_in(team[who]).post(url(approval), {"action": action})

    assert response.status_code == 200
    assert any(code_text in text for text in messages_of(response)), messages_of(response)
    assert state_of(approval) == state


def test_separation_of_duties_is_shown(version: ModelVersion, person: PersonMaker) -> None:
    both = person("bea", roles.MODEL_OWNER, roles.VALIDATOR, roles.COMMITTEE_MEMBER)
    approval = approval_in_state(version, "submitted", owner=both)

    page = logged_in(both).get(url(approval))
    assert buttons(page) == {"withdraw", "reject"}  # no start review, no approve for the submitter
    assert "You submitted this request, so someone else must review" in page.content.decode()
    forced = logged_in(both).post(url(approval), {"action": "start_review"})
    assert messages_of(forced) == ["The submitter cannot review their own request."]
    assert state_of(approval) == "submitted"


def test_reject_without_comment_shows_the_service_message(
    version: ModelVersion, team: dict[str, User]
) -> None:
    approval = approval_in_state(version, "in_review", owner=team["owner"], reviewer=team["validator"])

    response = logged_in(team["committee"]).post(url(approval), {"action": "reject", "reject-comment": "  "})

    assert response.status_code == 200
    assert messages_of(response) == ["A rejection needs a comment saying why."]
    assert state_of(approval) == "in_review"
    assert 'name="reject-comment"' in response.content.decode() and "required" in response.content.decode()


def test_approve_denied_by_the_gate_keeps_the_comment(version: ModelVersion, team: dict[str, User]) -> None:
    approval = approval_in_state(version, "in_review", owner=team["owner"], reviewer=team["validator"])

    response = logged_in(team["committee"]).post(
        url(approval), {"action": "approve", "approve-comment": "Looks fine to me."}
    )

    assert response.status_code == 200 and state_of(approval) == "in_review"
    (message,) = messages_of(response)
    assert message.startswith("The gate denies this deployment (SIGNOFF_MISSING)")
    html = response.content.decode()
    assert "Looks fine to me.</textarea>" in html
    # The refused approval's evaluation is stored and now drives the required sign-offs table.
    assert GateDecision.objects.filter(model_version=version, allow=False).count() == 1
    assert "✕</span> Missing" in html and "Required by the gate" in html


def test_unknown_action(version: ModelVersion, team: dict[str, User]) -> None:
    approval = approval_in_state(version, "draft", owner=team["owner"])
    response = logged_in(team["owner"]).post(url(approval), {"action": "explode"}, follow=True)
    assert messages_of(response) == ["Unknown action 'explode'."] and state_of(approval) == "draft"


def test_post_without_csrf_token_is_refused(version: ModelVersion, team: dict[str, User]) -> None:
    approval = approval_in_state(version, "draft", owner=team["owner"])
    client = Client(enforce_csrf_checks=True)
    client.force_login(team["owner"])

    assert client.post(url(approval), {"action": "submit"}).status_code == 403
    assert state_of(approval) == "draft"


# ------------------------------------------------------------------------------------------------ sign-offs


def test_signoff_form_offers_only_the_roles_the_user_holds(
    version: ModelVersion, team: dict[str, User], person: PersonMaker
) -> None:
    approval = approval_in_state(version, "in_review", owner=team["owner"], reviewer=team["validator"])
    both = person("bea", roles.VALIDATOR, roles.COMPLIANCE_OFFICER)

    html = logged_in(both).get(url(approval)).content.decode()
    select = re.search(r'<select name="signoff-role".*?</select>', html, re.S)
    assert select is not None
    options = re.findall(r'<option value="(\w+)"', select.group(0))
    assert options == ["validator", "compliance"]
    assert '<label for="id_signoff-role" class="required">Role</label>' in html


def test_signoff_in_a_role_not_held_is_refused(version: ModelVersion, team: dict[str, User]) -> None:
    approval = approval_in_state(version, "in_review", owner=team["owner"], reviewer=team["validator"])

    response = logged_in(team["validator"]).post(
        url(approval), {"action": "signoff", "signoff-role": "committee"}
    )

    assert response.status_code == 200
    assert messages_of(response) == ["Choose a sign-off role you hold."]
    assert 'aria-invalid="true"' in response.content.decode()
    assert not SignOff.objects.exists()


def test_signoff_records_comment_and_evidence(version: ModelVersion, team: dict[str, User]) -> None:
    approval = approval_in_state(version, "in_review", owner=team["owner"], reviewer=team["validator"])
    digest = "ab" * 32

    response = logged_in(team["validator"]).post(
        url(approval),
        {
            "action": "signoff",
            "signoff-role": "validator",
            "signoff-comment": "Validation report v2 reviewed.",
            "signoff-evidence": f"{digest.upper()}\n{digest}",
        },
        follow=True,
    )

    signoff = SignOff.objects.get()
    assert (signoff.role, signoff.user, signoff.target_stage) == (
        "validator",
        team["validator"],
        "production",
    )
    assert signoff.evidence == [digest] and signoff.comment == "Validation report v2 reviewed."
    assert messages_of(response) == ["Signed off as validator."]
    html = response.content.decode()
    assert "Validation report v2 reviewed." in html and "signed off as <strong>validator</strong>" in html
    assert 'name="signoff-role"' not in html  # every role the validator holds is now signed
    assert "You have signed off this version in every role you hold." in html


def test_signoff_with_bad_evidence_keeps_the_input(version: ModelVersion, team: dict[str, User]) -> None:
    approval = approval_in_state(version, "in_review", owner=team["owner"], reviewer=team["validator"])

    response = logged_in(team["validator"]).post(
        url(approval),
        {
            "action": "signoff",
            "signoff-role": "validator",
            "signoff-comment": "ok",
            "signoff-evidence": "xyz",
        },
    )

    html = response.content.decode()
    assert response.status_code == 200 and not SignOff.objects.exists()
    assert "Each digest must be 64 hexadecimal characters" in html and ">\nxyz</textarea>" in html


def test_submitter_and_registrant_cannot_sign_off(
    version: ModelVersion, team: dict[str, User], person: PersonMaker
) -> None:
    approval = approval_in_state(version, "submitted", owner=team["owner"])
    registrant = person(REGISTRANT, roles.VALIDATOR)

    own = logged_in(team["owner"]).get(url(approval)).content.decode()
    assert (
        "You submitted this request, so you cannot sign it off." in own and 'name="signoff-role"' not in own
    )
    registered = logged_in(registrant).get(url(approval)).content.decode()
    assert "You registered this version in MLflow, so you cannot sign it off." in registered

    forced = logged_in(team["owner"]).post(url(approval), {"action": "signoff", "signoff-role": "owner"})
    assert forced.status_code == 200 and not SignOff.objects.exists()
    assert messages_of(forced) == ["Choose a sign-off role you hold."]


def test_signoff_refused_outside_review(version: ModelVersion, team: dict[str, User]) -> None:
    approval = approval_in_state(version, "draft", owner=team["owner"])

    response = logged_in(team["validator"]).post(
        url(approval), {"action": "signoff", "signoff-role": "validator"}
    )

    assert response.status_code == 200 and not SignOff.objects.exists()
    assert messages_of(response) == [
        "Sign-offs are taken while a request is submitted or in review, not draft."
    ]


def test_check_gate_stores_a_decision_and_viewer_cannot(version: ModelVersion, team: dict[str, User]) -> None:
    approval = approval_in_state(version, "submitted", owner=team["owner"])

    refused = logged_in(team["viewer"]).post(url(approval), {"action": "check_gate"})
    assert refused.status_code == 200 and not GateDecision.objects.exists()
    assert messages_of(refused)[0].startswith("Checking the gate needs")

    checked = logged_in(team["validator"]).post(url(approval), {"action": "check_gate"}, follow=True)
    assert GateDecision.objects.filter(model_version=version, target_stage="production").count() == 1
    assert messages_of(checked) == ["The gate denies this deployment now (SIGNOFF_MISSING)."]
    html = checked.content.decode()
    assert "vik</strong>\n      evaluated the gate" in html


# ------------------------------------------------------------------------------------------------ full flow


def test_full_flow_to_approved_with_timeline(version: ModelVersion, team: dict[str, User]) -> None:
    approval = approval_in_state(version, "draft", owner=team["owner"])
    logged_in(team["owner"]).post(url(approval), {"action": "submit"})
    logged_in(team["validator"]).post(url(approval), {"action": "start_review"})
    logged_in(team["validator"]).post(url(approval), {"action": "signoff", "signoff-role": "validator"})
    logged_in(team["owner2"]).post(url(approval), {"action": "signoff", "signoff-role": "owner"})

    approved = logged_in(team["committee"]).post(
        url(approval), {"action": "approve", "approve-comment": "Within limits."}, follow=True
    )

    assert state_of(approval) == "approved"
    assert messages_of(approved) == ["Approved: the gate allowed this deployment."]
    html = approved.content.decode()
    assert "✓</span> Approved" in html and "linked to this approval" in html
    assert "mlgov gate --model" in html  # how the approved request gets deployed
    timeline = html.split('id="timeline-title"', 1)[1]
    steps = [
        "opened the request as a draft",
        "submitted it for review",
        "started the review",
        "signed off as <strong>validator</strong>",
        "signed off as <strong>owner</strong>",
        "evaluated the gate",
        "approved</span> it",
        "Within limits.",
    ]
    positions = [timeline.index(step) for step in steps]
    assert positions == sorted(positions)  # newest last


# ------------------------------------------------------------------------------------------------ query count


@pytest.mark.parametrize("state", ["draft", "submitted", "deployed"])
def test_model_owner_of_another_model_sees_no_owner_actions(
    version: ModelVersion, team: dict[str, User], person: PersonMaker, state: str
) -> None:
    approval = approval_in_state(version, state, owner=team["owner"], reviewer=team["validator"])
    outsider = person("oscar", roles.MODEL_OWNER)  # steward of nothing here

    page = logged_in(outsider).get(url(approval))

    assert buttons(page) == set() and 'name="signoff-role"' not in page.content.decode()
    if state == "submitted":
        assert "You are not Responsible or Accountable for model" in page.content.decode()
    forced = logged_in(outsider).post(url(approval), {"action": "submit" if state == "draft" else "retire"})
    assert state_of(approval) == state
    if state != "submitted":
        assert "You are not Responsible or Accountable for model" in messages_of(forced)[0]


@pytest.mark.parametrize(
    ("who", "shown"), [("owner", True), ("owner2", True), ("viewer", False), ("validator", False)]
)
def test_assess_link_only_for_who_may_edit_the_intended_use(
    version: ModelVersion, team: dict[str, User], who: str, shown: bool
) -> None:
    ModelGovernance.objects.filter(registered_model=version.registered_model).update(risk_reasons=[])
    approval = approval_in_state(version, "submitted", owner=team["owner"])

    html = logged_in(team[who]).get(url(approval)).content.decode()

    assert "The intended use has not been assessed" in html
    assert ("Assess the intended use</a>" in html) is shown


def test_stewardship_costs_a_model_owner_one_query(
    version: ModelVersion, team: dict[str, User], django_assert_max_num_queries: Any
) -> None:
    SyncRunFactory.create()
    approval = approval_in_state(version, "draft", owner=team["owner"])
    owner = logged_in(team["owner"])
    with django_assert_max_num_queries(APPROVAL_PAGE_MAX_QUERIES + 1):
        response = owner.get(url(approval))
    assert buttons(response) == {"submit", "withdraw"}


def test_query_count_does_not_grow_with_history(
    version: ModelVersion, team: dict[str, User], person: PersonMaker, django_assert_max_num_queries: Any
) -> None:
    SyncRunFactory.create()
    approval = approval_in_state(version, "in_review", owner=team["owner"], reviewer=team["validator"])
    client = logged_in(team["committee"])
    with django_assert_max_num_queries(APPROVAL_PAGE_MAX_QUERIES):
        assert client.get(url(approval)).status_code == 200

    for index in range(6):
        owner = person(f"owner-{index}", roles.MODEL_OWNER)
        RaciAssignmentFactory.create(
            registered_model=version.registered_model, role="accountable", user=owner
        )
        signoff_record(model_version=version, target="production", role="owner", user=owner)
        with pytest.raises(GateError):  # validator sign-off missing; the denial is stored all the same
            approvals.approval_request_approve(request=approval, actor=team["committee"])
    assert GateDecision.objects.count() >= 6 and SignOff.objects.count() == 6

    with django_assert_max_num_queries(APPROVAL_PAGE_MAX_QUERIES):
        response = client.get(url(approval))
    assert response.status_code == 200 and response.content.decode().count("signed off as") == 6
