"""The model page's workflow forms: request approval per version (owners and admins), the version's approval
requests, the RACI form, the intended-use link; hidden from (and refused to) everyone else."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from governance import roles
from governance.models import ApprovalRequest, AuditEvent, RaciAssignment
from registry_sync.models import MirrorState, ModelVersion
from tests.factories import ModelVersionFactory, SyncRunFactory
from tests.ui.conftest import PersonMaker, approval_in_state, logged_in, steward

pytestmark = pytest.mark.django_db

# The model page's own queries (tests/inventory: 11), plus the user's roles, the approval requests of the
# versions and, for RACI editors, the people and the groups to choose from.
MODEL_PAGE_MAX_QUERIES = 15
REQUEST_FORM = 'name="target"'
RACI_FORM = 'name="user"'


def model_url(version: ModelVersion) -> str:
    return reverse("governance:model-detail", kwargs={"name": version.registered_model.name})


def create_url(version: ModelVersion) -> str:
    return reverse("governance:approval-create", kwargs={"name": version.registered_model.name})


def raci_url(version: ModelVersion) -> str:
    return reverse("governance:raci-assign", kwargs={"name": version.registered_model.name})


def messages_of(response: Any) -> list[str]:
    return [str(message) for message in response.context["messages"]]


# stewards: who is Responsible or Accountable for the model — "self" (the user), "other" (someone else),
# "nobody" (unclaimed: model owners may only claim it through the RACI form).
@pytest.mark.parametrize(
    ("role_names", "stewards", "request_form", "raci_form", "edit_link"),
    [
        ((roles.MODEL_OWNER,), "self", True, True, True),
        ((roles.MODEL_OWNER,), "other", False, False, False),
        ((roles.MODEL_OWNER,), "nobody", False, True, False),
        ((roles.ADMIN,), "other", True, True, True),
        ((roles.ADMIN,), "nobody", True, True, True),
        ((roles.COMPLIANCE_OFFICER,), "other", False, False, True),
        ((roles.VALIDATOR, roles.COMMITTEE_MEMBER), "other", False, False, False),
        ((roles.VIEWER,), "nobody", False, False, False),
        ((), "nobody", False, False, False),
    ],
)
def test_forms_shown_by_role_and_stewardship(
    version: ModelVersion,
    person: PersonMaker,
    role_names: tuple[str, ...],
    stewards: str,
    request_form: bool,
    raci_form: bool,
    edit_link: bool,
) -> None:
    user = person("someone", *role_names)
    if stewards != "nobody":
        steward(version.registered_model, user if stewards == "self" else person("rita", roles.MODEL_OWNER))

    html = logged_in(user).get(model_url(version)).content.decode()

    assert (REQUEST_FORM in html) is request_form
    assert (RACI_FORM in html) is raci_form
    assert ("Edit intended use" in html or "Assess intended use" in html) is edit_link
    # A model owner without the forms is told why.
    assert ('id="stewardship-note"' in html) is (roles.MODEL_OWNER in role_names and stewards != "self")


def test_request_approval_opens_a_draft_and_shows_it(version: ModelVersion, person: PersonMaker) -> None:
    owner = logged_in(steward(version.registered_model, person("olivia", roles.MODEL_OWNER)))

    response = owner.post(create_url(version), {"version": version.version, "target": "staging"}, follow=True)

    approval = ApprovalRequest.objects.get()
    assert (approval.model_version, approval.target_stage, approval.state) == (version, "staging", "draft")
    assert response.redirect_chain == [
        (reverse("governance:approval-detail", kwargs={"pk": approval.pk}), 302)
    ]
    assert messages_of(response) == [
        f"Approval request #{approval.pk} opened as a draft. Submit it when the evidence is ready."
    ]
    page = owner.get(model_url(version)).content.decode()
    assert f"approval #{approval.pk}: draft" in page and f'href="/approvals/{approval.pk}/"' in page


def test_duplicate_request_shows_the_service_message(version: ModelVersion, person: PersonMaker) -> None:
    owner = person("olivia", roles.MODEL_OWNER)
    approval_in_state(version, "draft", owner=owner)

    client = logged_in(owner)
    response = client.post(create_url(version), {"version": version.version, "target": "production"})

    assert response.status_code == 302
    assert response["Location"] == f"{model_url(version)}#v{version.version}"
    followed = client.get(response["Location"])
    assert ApprovalRequest.objects.count() == 1
    assert "An open approval request exists for this version and target." in followed.content.decode()


def test_request_refused_for_a_viewer_and_for_an_archived_version(
    version: ModelVersion, person: PersonMaker
) -> None:
    viewer = logged_in(person("vera", roles.VIEWER))
    refused = viewer.post(
        create_url(version), {"version": version.version, "target": "production"}, follow=True
    )
    assert messages_of(refused) == ["To request an approval you need one of the roles: admin, model_owner."]

    archived = ModelVersionFactory.create(
        registered_model=version.registered_model, state=MirrorState.ARCHIVED
    )
    owner = logged_in(steward(version.registered_model, person("olivia", roles.MODEL_OWNER)))
    page = owner.get(model_url(version)).content.decode()
    assert f'id="v{archived.version}-target"' not in page and f'id="v{version.version}-target"' in page
    gone = owner.post(create_url(version), {"version": archived.version, "target": "production"}, follow=True)
    assert messages_of(gone) == ["The version was deleted in MLflow."]
    assert not ApprovalRequest.objects.exists()


def test_request_for_unknown_version_is_404(version: ModelVersion, person: PersonMaker) -> None:
    owner = logged_in(person("olivia", roles.MODEL_OWNER))
    assert owner.post(create_url(version), {"version": 99, "target": "production"}).status_code == 404
    invalid = owner.post(create_url(version), {"version": "x", "target": "moon"}, follow=True)
    assert messages_of(invalid) == ["Choose a version and a target to request an approval."]


def test_raci_assign(version: ModelVersion, person: PersonMaker) -> None:
    owner = logged_in(steward(version.registered_model, person("olivia", roles.MODEL_OWNER), "accountable"))
    rita = person("rita")
    rita.first_name, rita.last_name = "Rita", "Rossi"
    rita.save()

    page = owner.get(model_url(version)).content.decode()
    assert '<option value="rita">Rita Rossi (rita)</option>' in page
    assert '<label for="id_role" class="required">RACI role</label>' in page

    response = owner.post(raci_url(version), {"role": "responsible", "user": "rita"}, follow=True)

    assert RaciAssignment.objects.filter(
        registered_model=version.registered_model, role="responsible", user=rita
    )
    assert messages_of(response) == [f"Rita Rossi is Responsible for {version.registered_model.name}."]
    assert AuditEvent.objects.filter(action="governance.raci_assigned").count() == 1
    invalid = owner.post(raci_url(version), {"role": "boss", "user": "nobody"}, follow=True)
    assert messages_of(invalid)[0].startswith("Nobody was assigned. RACI role: Select a valid choice.")


@pytest.mark.parametrize(
    ("chosen", "error"),
    [
        (
            {"user": "rita", "group": "risk-team"},
            "Nobody was assigned. Choose a person or a group, not both.",
        ),
        ({}, "Nobody was assigned. Choose a person or a group."),
    ],
)
def test_raci_assign_takes_a_person_or_a_group_not_both_or_neither(
    version: ModelVersion, person: PersonMaker, chosen: dict[str, str], error: str
) -> None:
    owner = logged_in(steward(version.registered_model, person("olivia", roles.MODEL_OWNER), "accountable"))
    person("rita")
    Group.objects.create(name="risk-team")
    refused = owner.post(raci_url(version), {"role": "consulted", **chosen}, follow=True)
    assert messages_of(refused) == [error]
    assert not RaciAssignment.objects.filter(role="consulted").exists()


def test_raci_assign_a_group_shows_it_and_counts_its_members(
    version: ModelVersion, person: PersonMaker
) -> None:
    owner = logged_in(steward(version.registered_model, person("olivia", roles.MODEL_OWNER), "accountable"))
    team = Group.objects.create(name="risk-team")
    otto = person("otto", roles.MODEL_OWNER)
    team.user_set.add(otto)
    assert '<option value="risk-team">risk-team</option>' in owner.get(model_url(version)).content.decode()

    response = owner.post(raci_url(version), {"role": "responsible", "group": "risk-team"}, follow=True)

    assert messages_of(response) == [f"Group risk-team is Responsible for {version.registered_model.name}."]
    assert RaciAssignment.objects.get(role="responsible", group=team).user is None
    event = AuditEvent.objects.filter(action="governance.raci_assigned").latest("pk")
    assert event.data == {"role": "responsible", "group": "risk-team"}
    assert "group: risk-team" in response.content.decode()
    # Otto stewards the model through the group: the page offers him the owner's forms.
    assert REQUEST_FORM in logged_in(otto).get(model_url(version)).content.decode()


@pytest.mark.parametrize("role_names", [(roles.VIEWER,), (roles.VALIDATOR,), (roles.COMPLIANCE_OFFICER,)])
def test_raci_assign_forbidden_for_others(
    version: ModelVersion, person: PersonMaker, role_names: tuple[str, ...]
) -> None:
    person("rita")
    client = logged_in(person("someone", *role_names))
    assert client.post(raci_url(version), {"role": "responsible", "user": "rita"}).status_code == 403
    assert not RaciAssignment.objects.exists()


def test_forms_need_login(client: Any, version: ModelVersion) -> None:
    for target in (create_url(version), raci_url(version)):
        response = client.post(target, {})
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_model_page_query_count_with_workflow(
    version: ModelVersion, person: PersonMaker, django_assert_max_num_queries: Any
) -> None:
    SyncRunFactory.create()
    owner = person("olivia", roles.MODEL_OWNER, roles.ADMIN)
    validator = person("vik", roles.VALIDATOR)
    client = logged_in(owner)
    with django_assert_max_num_queries(MODEL_PAGE_MAX_QUERIES):
        assert client.get(model_url(version)).status_code == 200

    for _ in range(8):
        extra = ModelVersionFactory.create(registered_model=version.registered_model)
        approval_in_state(extra, "in_review", owner=owner, reviewer=validator)
        approval_in_state(extra, "draft", owner=owner, target="staging")
        person(f"user-{extra.version}")

    with django_assert_max_num_queries(MODEL_PAGE_MAX_QUERIES):
        response = client.get(model_url(version))
    html = response.content.decode()
    assert html.count("approval #") == 8 and html.count('name="target"') == 9
    # A viewer gets no RACI form, so no list of people or groups.
    viewer = logged_in(person("vera", roles.VIEWER))
    with django_assert_max_num_queries(MODEL_PAGE_MAX_QUERIES - 2):
        assert viewer.get(model_url(version)).status_code == 200
