"""The REST approval gate: decisions come from the inventory, are stored, signed and audited; both policy
backends give identical answers; CI keys are scoped and revocable; errors are structured 4xx."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from django.contrib.auth.models import Group, User
from django.utils import timezone
from rest_framework import serializers
from rest_framework.test import APIClient

from governance import roles, signing
from governance.api_gate import GateDecisionOutputSerializer
from governance.models import AuditEvent, GateDecision, ModelGovernance, RaciAssignment, SignOff
from governance.services.apikeys import api_key_create, api_key_revoke
from registry_sync.models import MirrorState, ModelVersion
from tests.factories import ModelVersionFactory, RunFactory, UserFactory
from tests.opa_server import FakeOpa

pytestmark = pytest.mark.django_db

EVALUATE = "/api/v1/gates/evaluate"
PASSING_BIAS = {"bias.demographic_parity_difference": 0.04, "bias.equal_opportunity_difference": 0.03}


def user_with(role: str, username: str) -> User:
    user = UserFactory.create(username=username)
    user.groups.add(Group.objects.get(name=role))
    return user


def governed_version(
    *,
    tier: str,
    signoffs: list[tuple[str, str]],
    metrics: dict[str, float] | None = None,
    submitter: str = "sam",
    responsible: tuple[str, ...] = ("rita",),
) -> ModelVersion:
    """A mirrored version with its governance records written straight to the tables (the table under test
    is the policy's, so records the services would refuse can be set up too)."""
    run = RunFactory.create(metrics=PASSING_BIAS if metrics is None else metrics, user_id=submitter)
    version = ModelVersionFactory.create(run=run, user_id=submitter)
    model = version.registered_model
    ModelGovernance.objects.create(registered_model=model, risk_tier=tier, committee_quorum=2)
    for username in responsible:
        RaciAssignment.objects.create(
            registered_model=model, role="responsible", user=UserFactory.create(username=username)
        )
    for role, username in signoffs:
        user = User.objects.filter(username=username).first() or UserFactory.create(username=username)
        SignOff.objects.create(model_version=version, target_stage="production", role=role, user=user)
    return version


HIGH_SIGNOFFS = [
    ("owner", "olga"),
    ("validator", "vic"),
    ("compliance", "cora"),
    ("committee", "c1"),
    ("committee", "c2"),
]

CASES: list[tuple[str, Callable[[], ModelVersion], bool, set[str]]] = [
    ("minimal-allows", lambda: governed_version(tier="minimal", signoffs=[("owner", "olga")]), True, set()),
    ("high-allows", lambda: governed_version(tier="high", signoffs=HIGH_SIGNOFFS), True, set()),
    (
        "unassessed",
        lambda: governed_version(tier="unassessed", signoffs=[("owner", "olga")]),
        False,
        {"RISK_TIER_UNKNOWN"},
    ),
    (
        "unacceptable",
        lambda: governed_version(tier="unacceptable", signoffs=HIGH_SIGNOFFS),
        False,
        {"RISK_TIER_UNACCEPTABLE"},
    ),
    (
        "no-bias-test",
        lambda: governed_version(tier="minimal", signoffs=[("owner", "olga")], metrics={"auc": 0.9}),
        False,
        {"BIAS_TEST_MISSING"},
    ),
    (
        "bias-over-high-limit",
        lambda: governed_version(
            tier="high", signoffs=HIGH_SIGNOFFS, metrics={"bias.demographic_parity_difference": 0.15}
        ),
        False,
        {"BIAS_THRESHOLD_EXCEEDED"},
    ),
    (
        "limited-missing-validator",
        lambda: governed_version(tier="limited", signoffs=[("owner", "olga")]),
        False,
        {"SIGNOFF_MISSING"},
    ),
    (
        "submitter-signed",
        lambda: governed_version(tier="minimal", signoffs=[("owner", "sam")]),
        False,
        {"SIGNOFF_MISSING", "SIGNOFF_SEPARATION_OF_DUTIES"},
    ),
    (
        "validator-is-responsible",
        lambda: governed_version(
            tier="high", signoffs=[*HIGH_SIGNOFFS[:1], ("validator", "rita"), *HIGH_SIGNOFFS[2:]]
        ),
        False,
        {"SIGNOFF_MISSING", "SIGNOFF_NOT_INDEPENDENT"},
    ),
    (
        "no-submitter",
        lambda: governed_version(tier="minimal", signoffs=[("owner", "olga")], submitter=""),
        False,
        {"INPUT_INVALID"},
    ),
]


@pytest.fixture
def ci_key() -> str:
    bot = UserFactory.create(username="ci-bot")
    return api_key_create(name="ci", scopes=["evaluate", "promote"], user=bot, actor="test").secret


def evaluate(key: str, version: ModelVersion, target: str = "production", **extra: Any) -> Any:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    body = {"model": version.registered_model.name, "version": version.version, "target": target, **extra}
    return client.post(EVALUATE, body, format="json")


def decision_fields(body: dict[str, Any]) -> tuple[Any, ...]:
    return (body["allow"], body["risk_tier"], body["reasons"], body["required_signoffs"], body["auto_deploy"])


@pytest.mark.parametrize(("case", "make", "allow", "codes"), CASES, ids=[c[0] for c in CASES])
def test_decision_table_on_both_backends(
    case: str,
    make: Callable[[], ModelVersion],
    allow: bool,
    codes: set[str],
    ci_key: str,
    opa: FakeOpa,
    settings,
) -> None:
    version = make()
    settings.POLICY_ENGINE = "embedded"
    embedded = evaluate(ci_key, version)
    settings.POLICY_ENGINE = "opa"
    over_opa = evaluate(ci_key, version)

    assert embedded.status_code == over_opa.status_code == 200
    assert embedded.json()["allow"] is allow
    assert {r["code"] for r in embedded.json()["reasons"]} == codes
    assert decision_fields(embedded.json()) == decision_fields(over_opa.json())
    # The response's fast rendering equals DRF's generic field-by-field one of the stored decision.
    stored = GateDecision.objects.get(pk=embedded.json()["decision_id"])
    generic = serializers.Serializer.to_representation(GateDecisionOutputSerializer(stored), stored)
    assert embedded.json() == json.loads(json.dumps(generic))
    assert [e for (e,) in GateDecision.objects.order_by("evaluated_at").values_list("engine")] == [
        "embedded",
        "opa",
    ]
    assert AuditEvent.objects.filter(action="gate.decision").count() == 2


@pytest.mark.parametrize("mode", ["undefined", "error", "slow", "not_json"])
def test_opa_faults_deny_and_are_stored(mode: str, ci_key: str, opa: FakeOpa, settings) -> None:
    version = governed_version(tier="minimal", signoffs=[("owner", "olga")])
    settings.POLICY_ENGINE = "opa"
    opa.mode = mode
    body = evaluate(ci_key, version).json()
    assert body["allow"] is False
    assert [r["code"] for r in body["reasons"]] == ["POLICY_ENGINE_ERROR"]
    stored = GateDecision.objects.get(pk=body["decision_id"])
    assert stored.allow is False and stored.engine == "opa" and stored.engine_error


def test_caller_cannot_influence_the_input(ci_key: str) -> None:
    version = governed_version(tier="high", signoffs=[("owner", "olga")])
    claims: dict[str, Any] = {
        "risk_tier": "minimal",
        "signoffs": [{"role": "compliance", "user": "x", "version": version.version, "valid": True}],
        "bias_metrics": {"bias.demographic_parity_difference": 0.0},
        "model": {"name": "other"},
    }
    plain = evaluate(ci_key, version).json()
    claimed = evaluate(
        ci_key, version, input=claims, **{k: v for k, v in claims.items() if k != "model"}
    ).json()
    assert decision_fields(plain) == decision_fields(claimed)
    assert claimed["allow"] is False and claimed["risk_tier"] == "high"
    stored = GateDecision.objects.get(pk=claimed["decision_id"]).input_document
    assert stored["model"]["risk_tier"] == "high"
    assert [s["role"] for s in stored["signoffs"]] == ["owner"]


def test_signature_verifies_with_the_public_key_and_fails_on_any_changed_byte(ci_key: str) -> None:
    version = governed_version(tier="minimal", signoffs=[("owner", "olga")])
    body = evaluate(ci_key, version).json()
    published = APIClient().get("/api/v1/gates/public-key").json()
    public_key = signing.public_key_from_pem(published["public_key_pem"])
    assert published["key_id"] == body["key_id"] == body["signed_document"]["key_id"]
    assert signing.verify(public_key, body["signed_document"], body["signature"])
    assert body["signed_document"]["decision_id"] == body["decision_id"]
    assert body["signed_document"]["allow"] is body["allow"]

    canonical = signing.canonical_json(body["signed_document"])
    for position in range(0, len(canonical), 7):
        tampered = bytearray(canonical)
        tampered[position] ^= 0x01
        with pytest.raises(InvalidSignature):
            public_key.verify(base64.b64decode(body["signature"]), bytes(tampered))
    flipped = copy.deepcopy(body["signed_document"])
    flipped["allow"] = not flipped["allow"]
    assert not signing.verify(public_key, flipped, body["signature"])


def test_keys_are_scoped_and_revocable() -> None:
    bot = UserFactory.create(username="bot")
    evaluate_only = api_key_create(name="ro", scopes=["evaluate"], user=bot, actor="test")
    version = governed_version(tier="minimal", signoffs=[("owner", "olga")])
    assert evaluate(evaluate_only.secret, version).status_code == 200

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {evaluate_only.secret}")
    decision_id = GateDecision.objects.get().pk
    forbidden = client.post("/api/v1/gates/promote", {"decision_id": str(decision_id)}, format="json")
    assert forbidden.status_code == 403 and forbidden.json()["error"]["code"] == "PERMISSION_DENIED"

    api_key_revoke(api_key=evaluate_only.api_key, actor="test")
    revoked = evaluate(evaluate_only.secret, version)
    assert revoked.status_code == 401 and revoked.json()["error"]["code"] == "AUTHENTICATION_FAILED"
    assert evaluate("mlg_deadbeef_not-a-real-key", version).status_code == 401

    viewer = APIClient()
    viewer.force_authenticate(user_with(roles.VIEWER, "vera"))
    assert (
        viewer.post(EVALUATE, {"model": "m", "version": 1, "target": "production"}, format="json").status_code
        == 403
    )
    assert GateDecision.objects.count() == 1  # refused calls stored nothing


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"version": 1, "target": "production"}, "model"),
        ({"model": "m", "version": "latest", "target": "production"}, "version"),
        ({"model": "m", "version": 0, "target": "production"}, "version"),
        ({"model": "m", "version": 1, "target": "prod"}, "target"),
        ({"model": "m" * 300, "version": 1, "target": "staging"}, "model"),
    ],
)
def test_malformed_bodies_get_field_errors(body: dict[str, Any], field: str, ci_key: str) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {ci_key}")
    response = client.post(EVALUATE, body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert field in response.json()["error"]["details"]


def test_not_json_and_unknown_version(ci_key: str, settings) -> None:
    settings.MLFLOW_TRACKING_URI = "http://127.0.0.1:9"  # nothing listens: the lookup cannot reach MLflow
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {ci_key}")
    broken = client.post(EVALUATE, data=b"{not json", content_type="application/json")
    assert broken.status_code == 400 and broken.json()["error"]["code"] == "MALFORMED_REQUEST"
    missing = client.post(EVALUATE, {"model": "nope", "version": 3, "target": "production"}, format="json")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "VERSION_NOT_FOUND"


def test_stale_mirror_with_mlflow_down_denies(ci_key: str, settings) -> None:
    settings.MLFLOW_TRACKING_URI = "http://127.0.0.1:9"
    version = governed_version(tier="minimal", signoffs=[("owner", "olga")])
    ModelVersion.objects.filter(pk=version.pk).update(last_synced_at=timezone.now() - timedelta(hours=1))
    body = evaluate(ci_key, version).json()
    assert body["allow"] is False
    assert "MIRROR_STALE" in {r["code"] for r in body["reasons"]}


def test_archived_version_is_denied(ci_key: str) -> None:
    version = governed_version(tier="minimal", signoffs=[("owner", "olga")])
    ModelVersion.objects.filter(pk=version.pk).update(state=MirrorState.ARCHIVED)
    body = evaluate(ci_key, version).json()
    assert body["allow"] is False and {r["code"] for r in body["reasons"]} == {"VERSION_ARCHIVED"}


def test_whoami_reports_the_credential_and_responses_carry_server_timing(ci_key: str) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {ci_key}")
    response = client.get("/api/v1/whoami")
    assert response.json() == {
        "username": "ci-bot",
        "via": "api_key",
        "scopes": ["evaluate", "promote"],
        "roles": [],
    }
    assert response["Server-Timing"].startswith("app;dur=")
    assert APIClient().get("/api/v1/whoami").status_code == 401  # Bearer challenge
