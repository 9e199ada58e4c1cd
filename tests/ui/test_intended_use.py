"""The intended-use form: one field per question of the policy's profile schema with help text, prefilled
from the current profile; saving computes the tier through the Rego policy; refusals are shown."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from django.urls import reverse

from governance import roles, selectors
from governance.models import AuditEvent, ModelGovernance
from registry_sync.models import ModelVersion
from tests.factories import RegisteredModelFactory
from tests.ui.conftest import PersonMaker, logged_in, steward

pytestmark = pytest.mark.django_db

EU_CREDIT = {
    "domain": "consumer lending",
    "sectors": ["credit"],
    "decision_impact": "legal_or_similar",
    "autonomy": "human_in_loop",
    "personal_data": "true",
    "special_category_data": "false",
    "phi": "false",
    "jurisdictions": "eu, us",
    "data_residency": "EU",
    "users_affected": "5000",
    "prohibited_practice": "false",
    "interacts_with_people": "false",
    "generates_content": "false",
    "safety_component": "",
}


def form_url(version: ModelVersion) -> str:
    return reverse("governance:intended-use", kwargs={"name": version.registered_model.name})


@pytest.mark.parametrize("role_names", [(roles.MODEL_OWNER,), (roles.COMPLIANCE_OFFICER,), (roles.ADMIN,)])
def test_editors_see_every_question_with_help(
    version: ModelVersion, person: PersonMaker, role_names: tuple[str, ...]
) -> None:
    editor = person("editor", *role_names)
    if roles.MODEL_OWNER in role_names:
        steward(version.registered_model, editor)  # compliance and admins edit any model's intended use
    response = logged_in(editor).get(form_url(version))

    html = response.content.decode()
    assert response.status_code == 200
    for name in selectors.intended_use_profile_schema():
        assert f'id="id_{name}_helptext"' in html, name
    assert html.count('type="checkbox" name="sectors"') == 11  # every sector of the schema
    assert '<legend class="required">Sectors</legend>' in html
    assert '<option value="legal_or_similar">Legal or similar effect</option>' in html
    assert "100,000 or more makes the model at least limited risk." in html
    assert '<label for="id_domain" class="required">Business domain</label>' in html


# A model owner who does not steward the model (nobody does, here) is refused like the other roles.
@pytest.mark.parametrize(
    "role_names",
    [(roles.VIEWER,), (roles.VALIDATOR,), (roles.COMMITTEE_MEMBER,), (roles.MODEL_OWNER,), ()],
)
def test_others_are_forbidden(
    version: ModelVersion, person: PersonMaker, role_names: tuple[str, ...]
) -> None:
    client = logged_in(person("someone", *role_names))
    assert client.get(form_url(version)).status_code == 403
    assert client.post(form_url(version), EU_CREDIT).status_code == 403
    assert ModelGovernance.objects.get(registered_model=version.registered_model).intended_use == {}


def test_unknown_model_is_404_and_login_is_required(client: Any, person: PersonMaker) -> None:
    url = reverse("governance:intended-use", kwargs={"name": "nope"})
    assert client.get(url).status_code == 302
    assert logged_in(person("olivia", roles.MODEL_OWNER)).get(url).status_code == 404


def test_save_computes_the_tier_and_the_model_page_shows_it(
    version: ModelVersion, person: PersonMaker
) -> None:
    owner = logged_in(steward(version.registered_model, person("olivia", roles.MODEL_OWNER)))

    response = owner.post(form_url(version), EU_CREDIT, follow=True)

    model_url = reverse("governance:model-detail", kwargs={"name": version.registered_model.name})
    assert response.redirect_chain == [(f"{model_url}#governance-title", 302)]
    governance = ModelGovernance.objects.get(registered_model=version.registered_model)
    assert governance.risk_tier == "high"
    assert governance.intended_use == {
        "domain": "consumer lending",
        "sectors": ["credit"],
        "decision_impact": "legal_or_similar",
        "autonomy": "human_in_loop",
        "personal_data": True,
        "special_category_data": False,
        "phi": False,
        "jurisdictions": ["EU", "US"],  # upper-cased: the policy compares codes exactly
        "data_residency": ["EU"],
        "users_affected": 5000,
        "prohibited_practice": False,
        "interacts_with_people": False,
        "generates_content": False,
    }
    html = response.content.decode()
    assert "Intended use saved. Risk tier: high." in html
    assert "High risk" in html and "EU_AI_ACT_ANNEX_III" in html and "MODEL_RISK_CREDIT" in html
    assert AuditEvent.objects.filter(action="governance.risk_tier_assessed").count() == 1


def test_form_is_prefilled_from_the_current_profile(version: ModelVersion, person: PersonMaker) -> None:
    owner = logged_in(steward(version.registered_model, person("olivia", roles.MODEL_OWNER)))
    owner.post(form_url(version), {**EU_CREDIT, "safety_component": "true", "sectors": ["credit", "banking"]})

    html = owner.get(form_url(version)).content.decode()

    assert 'value="consumer lending"' in html and 'value="EU, US"' in html and 'value="5000"' in html
    assert 'name="sectors" value="credit" id="id_sectors_1" checked' in html
    assert 'name="sectors" value="banking" id="id_sectors_0" checked' in html
    assert '<option value="legal_or_similar" selected>' in html
    assert 'name="safety_component" value="true" id="id_safety_component_0" checked' in html


def test_invalid_answers_are_shown_on_their_fields(version: ModelVersion, person: PersonMaker) -> None:
    owner = logged_in(steward(version.registered_model, person("olivia", roles.MODEL_OWNER)))
    answers = {**EU_CREDIT, "users_affected": "-4", "jurisdictions": "EU, not a code"}
    del answers["personal_data"]

    response = owner.post(form_url(version), answers)

    html = response.content.decode()
    assert response.status_code == 200 and "The profile was not saved." in html
    assert 'id="id_users_affected_error"' in html and "greater than or equal to 0" in html
    assert "not: not a code." in html
    assert 'id="id_personal_data_error"' in html
    assert ModelGovernance.objects.get(registered_model=version.registered_model).intended_use == {}


def test_profile_refused_by_the_policy_shows_its_findings(
    version: ModelVersion, person: PersonMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A form that lags the policy (here: domain optional) lets an incomplete profile through to the service.
    schema = copy.deepcopy(selectors.intended_use_profile_schema())
    schema["domain"]["required"] = False
    monkeypatch.setattr(selectors, "intended_use_profile_schema", lambda: schema)
    owner = logged_in(steward(version.registered_model, person("olivia", roles.MODEL_OWNER)))

    response = owner.post(form_url(version), {**EU_CREDIT, "domain": ""})

    html = response.content.decode()
    assert response.status_code == 200
    assert "The intended-use profile could not be assessed." in html
    assert "input.profile.domain" in html  # the policy's finding names the field
    governance = ModelGovernance.objects.get(registered_model=version.registered_model)
    assert governance.intended_use == {} and governance.risk_tier == "limited"


def test_model_without_governance_record(person: PersonMaker) -> None:
    model = RegisteredModelFactory.create(name="team/new model")
    url = reverse("governance:intended-use", kwargs={"name": model.name})
    owner = logged_in(steward(model, person("olivia", roles.MODEL_OWNER)))

    assert "Unassessed" in owner.get(url).content.decode()
    assert owner.post(url, EU_CREDIT).status_code == 302
    assert ModelGovernance.objects.get(registered_model=model).risk_tier == "high"
