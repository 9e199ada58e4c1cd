"""The governance parts of the UI: alias guard, risk tier and intended use, RACI, per-version sign-offs,
gate decisions and deployments with bias limits on the model page, and the gate decision page."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from governance import selectors
from governance.models import Deployment, GateDecision, ModelGovernance, RaciAssignment, SignOff
from registry_sync.models import ModelVersion, RegisteredModel
from tests.factories import (
    ModelAliasFactory,
    ModelVersionFactory,
    RegisteredModelFactory,
    RunFactory,
    SyncRunFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

# Session + user, sync banner (2), model with governance, aliases, RACI, versions with runs, sign-offs,
# gate decisions with deployments, deployments.
MODEL_PAGE_MAX_QUERIES = 13
# Session + user, sync banner (2), the decision with its version, model and deployment.
DECISION_PAGE_MAX_QUERIES = 5

HIGH_REASONS = [
    {
        "code": "EU_AI_ACT_ANNEX_III",
        "regulation": "EU AI Act Annex III point 5(b) (creditworthiness and credit scoring)",
        "message": "EU AI Act Annex III: credit; high-risk obligations apply from 2027-12-02",
        "tier": "high",
    },
    {
        "code": "GDPR_ART_22",
        "regulation": "GDPR Art. 22",
        "message": "fully automated decisions with legal or similar effect",
        "tier": "limited",
    },
]
INTENDED_USE = {
    "domain": "consumer lending",
    "sectors": ["credit", "banking"],
    "decision_impact": "legal_or_similar",
    "personal_data": True,
    "phi": False,
    "users_affected": 250000,
}
HIGH_SIGNOFFS_REQUIRED = [
    {"role": "owner", "count": 1, "independent": False, "received": 1},
    {"role": "validator", "count": 1, "independent": True, "received": 0},
    {"role": "committee", "count": 2, "independent": False, "received": 2},
]


def _html(response: Any) -> str:
    return response.content.decode()


def model_url(model: RegisteredModel) -> str:
    return reverse("governance:model-detail", kwargs={"name": model.name})


def decision_url(decision: GateDecision) -> str:
    return reverse("governance:decision-detail", kwargs={"decision_id": decision.pk})


def governance_for(model: RegisteredModel, *, tier: str = "high", **fields: Any) -> ModelGovernance:
    defaults: dict[str, Any] = {
        "risk_reasons": HIGH_REASONS if tier == "high" else [],
        "intended_use": INTENDED_USE,
        "risk_assessed_at": timezone.now() - timedelta(days=2),
        "committee_quorum": 3,
        "team": "credit-risk",
    }
    return ModelGovernance.objects.create(registered_model=model, risk_tier=tier, **{**defaults, **fields})


def signoff(version: ModelVersion, *, role: str, username: str, **fields: Any) -> SignOff:
    return SignOff.objects.create(
        model_version=version,
        target_stage=fields.pop("target_stage", "production"),
        role=role,
        user=UserFactory.create(username=username),
        **fields,
    )


def decision(
    version: ModelVersion,
    *,
    allow: bool,
    minutes_ago: int = 0,
    target: str = "production",
    codes: tuple[str, ...] = (),
) -> GateDecision:
    decision_id = uuid.uuid4()
    reasons = [{"code": code, "message": f"{code.lower()} happened"} for code in codes]
    evaluated_at = timezone.now() - timedelta(minutes=minutes_ago)
    signed = {
        "decision_id": str(decision_id),
        "model": version.registered_model.name,
        "version": version.version,
        "target": target,
        "allow": allow,
        "risk_tier": "high",
        "reasons": reasons,
        "input_digest": "d1" * 32,
    }
    return GateDecision.objects.create(
        id=decision_id,
        model_version=version,
        target_stage=target,
        allow=allow,
        risk_tier="high",
        reasons=reasons,
        required_signoffs=HIGH_SIGNOFFS_REQUIRED,
        input_document={"model": {"name": version.registered_model.name, "risk_tier": "high"}},
        input_digest="d1" * 32,
        bundle_digest="b2" * 32,
        engine="embedded",
        latency_ms=3.21,
        caller="apikey:mlg_ab12:ci",
        evaluated_at=evaluated_at,
        signed_document=signed,
        signature="c2lnbmF0dXJl" * 4,
        key_id="0123456789abcdef",
    )


def deployment(gate_decision: GateDecision, *, previous_version: int | None = None) -> Deployment:
    return Deployment.objects.create(
        gate_decision=gate_decision,
        model_version=gate_decision.model_version,
        target_stage=gate_decision.target_stage,
        alias="champion",
        previous_version=previous_version,
        deployed_by="apikey:mlg_ab12:ci",
    )


def governed_model(*, versions: int, name: str = "credit-scoring") -> RegisteredModel:
    """A model whose every version has sign-offs (one invalidated), two denials, an allow and a deployment."""
    model = RegisteredModelFactory.create(name=name)
    governance_for(model)
    RaciAssignment.objects.create(
        registered_model=model, role="responsible", user=UserFactory.create(username="rita")
    )
    previous = None
    for _ in range(versions):
        version = ModelVersionFactory.create(registered_model=model)
        signoff(version, role="owner", username="olga", comment="Reviewed the model card.")
        signoff(version, role="committee", username="c1")
        signoff(version, role="validator", username="vic", valid=False, invalidated_reason="new evidence")
        decision(version, allow=False, minutes_ago=30, codes=("SIGNOFF_MISSING",))
        decision(version, allow=False, target="staging", minutes_ago=20, codes=("BIAS_THRESHOLD_EXCEEDED",))
        deployment(decision(version, allow=True, minutes_ago=10), previous_version=previous)
        previous = version.version
    return model


# ------------------------------------------------------------------------------------------------ access


@pytest.mark.parametrize(
    "url",
    [
        reverse("governance:model-detail", kwargs={"name": "any"}),
        reverse("governance:decision-detail", kwargs={"decision_id": uuid.uuid4()}),
    ],
)
def test_governance_pages_need_login(client: Client, url: str) -> None:
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


def test_decision_page_unknown_id_is_404(ui_client: Client) -> None:
    assert ui_client.get(f"/decisions/{uuid.uuid4()}/").status_code == 404
    assert ui_client.get("/decisions/not-a-uuid/").status_code == 404


# ------------------------------------------------------------------------------------------------ model page


def test_alias_guard_banner_only_for_aliases_moved_outside_the_platform(ui_client: Client) -> None:
    model = RegisteredModelFactory.create(name="fraud")
    v1 = ModelVersionFactory.create(registered_model=model)
    v2 = ModelVersionFactory.create(registered_model=model)
    ModelAliasFactory.create(model_version=v1, alias="challenger")
    champion = ModelAliasFactory.create(model_version=v2, alias="champion")

    calm = _html(ui_client.get(model_url(model)))
    assert 'role="alert"' not in calm
    assert "outside the platform" not in calm

    champion.outside_platform = True
    champion.save()
    html = _html(ui_client.get(model_url(model)))

    assert 'role="alert"' in html
    banner = html.split('role="alert"', 1)[1].split("</div>", 1)[0]
    assert (
        "Protected alias @champion was moved to v2 outside the platform (no gate decision promoted it)"
        in banner
    )
    assert "@challenger" not in banner
    assert "badge--alias-alert" in html  # marked in the aliases card and the version panels
    assert "moved outside the platform" in html


def test_governance_card_tier_reasons_quorum_and_intended_use(ui_client: Client) -> None:
    model = RegisteredModelFactory.create()
    governance_for(model, tier="high")
    for role, username in [("responsible", "rita"), ("accountable", "ann"), ("informed", "ivan")]:
        RaciAssignment.objects.create(
            registered_model=model, role=role, user=UserFactory.create(username=username)
        )

    html = _html(ui_client.get(model_url(model)))

    assert "badge--tier-high" in html and "High risk" in html
    assert "EU_AI_ACT_ANNEX_III" in html
    assert "EU AI Act Annex III point 5(b)" in html
    assert "fully automated decisions with legal or similar effect" in html
    assert "3 members" in html  # committee quorum
    assert "<dt>Decision impact</dt>" in html
    assert "legal_or_similar" in html
    assert "250,000" in html
    assert "<dt>Personal data</dt>\n      <dd>Yes</dd>" in html
    assert '<span class="chip">credit</span><span class="chip">banking</span>' in html
    # In the risk policy's question order (jsonb does not keep it); unanswered questions say so.
    profile = html.split("<h3>Intended use</h3>", 1)[1].split("</dl>", 1)[0]
    labels = ["Domain", "Sectors", "Decision impact", "Autonomy", "Personal data", "PHI (health data)"]
    assert [profile.index(f"<dt>{label}</dt>") for label in labels] == sorted(
        profile.index(f"<dt>{label}</dt>") for label in labels
    )
    assert '<dt>Autonomy</dt>\n      <dd><span class="muted">Not answered</span></dd>' in profile
    assert "Not assessed yet" not in html
    raci = html.split('id="raci-title"', 1)[1].split("</section>", 1)[0]
    assert "rita" in raci and "ann" in raci and "ivan" in raci
    assert "Nobody assigned" in raci  # consulted


@pytest.mark.parametrize("with_record", [False, True], ids=["no-record", "empty-profile"])
def test_unassessed_model_says_production_is_denied(ui_client: Client, with_record: bool) -> None:
    model = RegisteredModelFactory.create()
    if with_record:
        governance_for(model, tier="unassessed", intended_use={}, risk_assessed_at=None)

    html = _html(ui_client.get(model_url(model)))

    assert "badge--tier-unassessed" in html
    assert (
        "Not assessed yet — production deployments are denied until the intended use is assessed "
        "(<code>RISK_TIER_UNKNOWN</code>)"
    ) in html


def test_versions_show_signoffs_decisions_and_deployments(ui_client: Client) -> None:
    model = governed_model(versions=2)

    html = _html(ui_client.get(model_url(model)))

    v2 = html.split('id="v2"', 1)[1].split('id="v1"', 1)[0]
    assert "Model owner" in v2 and "olga" in v2 and "Reviewed the model card." in v2
    assert "Invalidated" in v2 and "new evidence" in v2
    # Newest decision first: the allow (10 min ago), then the staging and production denials.
    allow, deny_staging, deny_production = (
        v2.index("promoted @champion"),
        v2.index("BIAS_THRESHOLD_EXCEEDED"),
        v2.index("SIGNOFF_MISSING"),
    )
    assert allow < deny_staging < deny_production
    assert "promoted @champion" in v2
    assert "apikey:mlg_ab12:ci" in v2
    for stored in GateDecision.objects.filter(
        model_version__version=2, model_version__registered_model=model
    ):
        assert f'href="{decision_url(stored)}"' in v2
    deployments = v2.split("<h3>Deployments</h3>", 1)[1].split("<h3", 1)[0]
    assert '<a href="#v1">v1</a>' in deployments  # previous version
    assert "<h3>Sign-offs</h3>" in html.split('id="v1"', 1)[1]


def test_version_without_governance_records(ui_client: Client) -> None:
    version = ModelVersionFactory.create()

    html = _html(ui_client.get(model_url(version.registered_model)))

    assert "No sign-offs on this version." in html
    assert "The gate has not been evaluated for this version." in html
    assert "The platform has not promoted this version." in html


@pytest.mark.parametrize(
    ("tier", "metrics", "expected_tier", "expected"),
    [
        (
            "high",
            {"bias.demographic_parity_difference": 0.15, "bias.equal_opportunity_difference": -0.05},
            "high",
            {
                "bias.demographic_parity_difference": (0.1, False),
                "bias.equal_opportunity_difference": (0.1, True),
            },
        ),
        (
            "minimal",
            {"bias.demographic_parity_difference": 0.15},
            "minimal",
            {
                "bias.demographic_parity_difference": (0.25, True),
                "bias.equal_opportunity_difference": (0.25, None),
            },
        ),
        (
            "unassessed",
            {"bias.demographic_parity_difference": 0.15, "fairness.equalized_odds_ratio": 0.8},
            "high",
            {
                "bias.demographic_parity_difference": (0.1, False),
                "bias.equal_opportunity_difference": (0.1, None),
                "fairness.equalized_odds_ratio": (None, None),
            },
        ),
        ("unacceptable", {"bias.demographic_parity_difference": 0.1}, "high", None),
        ("limited", {"bias.demographic_parity_difference": None}, "limited", None),
    ],
    ids=["high", "minimal", "unassessed-uses-high", "unacceptable-uses-high", "non-finite-fails"],
)
def test_bias_checks_use_the_bundle_thresholds(
    tier: str,
    metrics: dict[str, float | None],
    expected_tier: str,
    expected: dict[str, tuple[float | None, bool | None]] | None,
) -> None:
    thresholds = selectors.bias_thresholds_for_tier(risk_tier=tier)
    checks = {
        check.metric: check for check in selectors.bias_metric_checks(metrics=metrics, thresholds=thresholds)
    }

    assert thresholds.tier == expected_tier
    if expected is not None:
        assert {metric: (check.limit, check.passed) for metric, check in checks.items()} == expected
    if tier == "unacceptable":
        assert checks["bias.demographic_parity_difference"].passed is True  # |0.1| is not over 0.1
    if tier == "limited":
        assert checks["bias.demographic_parity_difference"].passed is False  # the gate rejects non-numbers


def test_bias_table_shows_limits_and_results(ui_client: Client) -> None:
    run = RunFactory.create(
        metrics={"accuracy": 0.9, "bias.demographic_parity_difference": -0.25, "fairness.eor": 0.88}
    )
    version = ModelVersionFactory.create(run=run)
    governance_for(version.registered_model, tier="limited")

    html = _html(ui_client.get(model_url(version.registered_model)))
    bias = html.split("Bias &amp; fairness metrics", 1)[1].split("</section>", 1)[0]
    rows = {row.split("</td>", 1)[0]: row for row in bias.split('<td class="mono">')[1:]}

    assert "Limits of the <strong>limited</strong> tier" in bias
    dpd = rows["bias.demographic_parity_difference"]
    assert "-0.25" in dpd and "0.2" in dpd and "✕</span> Fail" in dpd
    assert "No limit" in rows["fairness.eor"]
    assert "Not logged" in rows["bias.equal_opportunity_difference"]
    assert "accuracy" not in rows


# ------------------------------------------------------------------------------------------------ decision page


def test_decision_page(ui_client: Client) -> None:
    model = RegisteredModelFactory.create(name="credit scoring")
    v1 = ModelVersionFactory.create(registered_model=model)
    v2 = ModelVersionFactory.create(registered_model=model)
    allowed = decision(v2, allow=True)
    deployment(allowed, previous_version=v1.version)
    denied = decision(v2, allow=False, codes=("SIGNOFF_MISSING", "RISK_TIER_UNKNOWN"))

    html = _html(ui_client.get(decision_url(allowed)))

    assert "✓</span> ALLOW" in html
    assert f'href="{model_url(model)}"' in html
    assert f'href="{model_url(model)}#v2"' in html
    assert "Production" in html and "High risk" in html
    assert "apikey:mlg_ab12:ci" in html and "embedded" in html and "3.2 ms" in html
    assert "No deny reasons" in html
    assert "<td>Validator</td>" in html and "(not a RACI responsible)" in html
    assert "✕</span> Missing" in html and "✓</span> Met" in html
    assert "&quot;decision_id&quot;: &quot;" in html  # the signed document, pretty-printed
    assert "c2lnbmF0dXJl" in html and "0123456789abcdef" in html
    assert "d1" * 32 in html and "b2" * 32 in html
    assert '<details class="json-details">' in html and "&quot;risk_tier&quot;: &quot;high&quot;" in html
    deployed = html.split('id="deployment-title"', 1)[1].split("</section>", 1)[0]
    assert "@champion" in deployed and f'href="{model_url(model)}#v1"' in deployed

    denied_html = _html(ui_client.get(decision_url(denied)))
    assert "✕</span> DENY" in denied_html
    assert "SIGNOFF_MISSING" in denied_html and "signoff_missing happened" in denied_html
    assert "Not promoted: the gate denied this deployment." in denied_html


# ------------------------------------------------------------------------------------------------ query counts


def test_model_page_query_count_does_not_grow_with_versions_or_records(
    ui_client: Client, user: User, django_assert_max_num_queries: Any
) -> None:
    SyncRunFactory.create()
    few, many = governed_model(versions=2, name="few"), governed_model(versions=20, name="many")
    ModelAliasFactory.create(
        model_version=many.versions.get(version=20), alias="champion", outside_platform=True
    )

    for model in (few, many):
        with django_assert_max_num_queries(MODEL_PAGE_MAX_QUERIES):
            response = ui_client.get(model_url(model))
        assert response.status_code == 200
    html = _html(response)
    assert 'id="v20"' in html and html.count("promoted @champion") == 20


def test_decision_page_query_count(ui_client: Client, django_assert_max_num_queries: Any) -> None:
    SyncRunFactory.create()
    version = ModelVersionFactory.create()
    promoted = decision(version, allow=True)
    deployment(promoted)
    denied = decision(version, allow=False, codes=("SIGNOFF_MISSING",))

    for shown in (promoted, denied):
        with django_assert_max_num_queries(DECISION_PAGE_MAX_QUERIES):
            assert ui_client.get(decision_url(shown)).status_code == 200
