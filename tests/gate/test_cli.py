"""The `mlgov gate` CLI end to end against the running app (pytest-django's live_server): allow, deny,
fail-closed errors, JSON output, signature verification (wrong pinned key, tampered answers), promotion in
the real MLflow fixture, and the console entry in a subprocess that cannot import Django."""

from __future__ import annotations

import copy
import json
import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.contrib.auth.models import Group
from mlflow import MlflowClient

from governance import cli, roles, signing
from governance.models import Deployment, GateDecision
from governance.services.apikeys import api_key_create
from governance.services.records import intended_use_set, signoff_record
from registry_sync.models import ModelVersion, RegisteredModel
from registry_sync.services import sync_full
from tests.factories import RaciAssignmentFactory, UserFactory
from tests.gate.test_gate_api import governed_version
from tests.mlflow_factory import experiment_id, make_version
from tests.policies.inputs import minimal_profile

# live_server serves from another thread, so the data must be committed (transactional test); the role
# groups a flush removes are recreated where they are used (get_or_create).
pytestmark = pytest.mark.django_db(transaction=True)

REPO_ROOT = Path(__file__).resolve().parents[2]


def new_key(*scopes: str) -> str:
    bot = UserFactory.create(username=f"ci-{'-'.join(scopes)}")
    return api_key_create(name="ci", scopes=list(scopes), user=bot, actor="test").secret


@pytest.fixture
def gate_env(live_server: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """MLGOV_URL points at the live app and MLGOV_API_KEY holds an evaluate+promote key; returns the URL."""
    monkeypatch.setenv("MLGOV_URL", live_server.url)
    monkeypatch.setenv("MLGOV_API_KEY", new_key("evaluate", "promote"))
    monkeypatch.delenv("MLGOV_PUBLIC_KEY_FILE", raising=False)
    return str(live_server.url)


def gate_args(version: ModelVersion, *extra: str, target: str = "production") -> list[str]:
    return [
        "gate",
        "--model",
        version.registered_model.name,
        "--version",
        str(version.version),
        "--target",
        target,
        *extra,
    ]


def allowing() -> ModelVersion:
    return governed_version(tier="minimal", signoffs=[("owner", "olga")])


def published_pem(url: str) -> str:
    body = requests.get(f"{url}{cli.PUBLIC_KEY_PATH}", timeout=10).json()
    return str(body["public_key_pem"])


def test_allow_exits_0_with_summary_and_verified_signature(
    gate_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    version = allowing()
    assert cli.main(gate_args(version)) == 0
    out = capsys.readouterr().out
    decision = GateDecision.objects.get()
    name = version.registered_model.name
    assert out.splitlines()[0] == (
        f"ALLOW {name} v{version.version} -> production (risk tier: minimal) decision {decision.pk}"
    )
    assert "  owner: 1/1 ok" in out
    assert f"signature verified (key {decision.key_id}, fetched from the platform" in out
    assert not Deployment.objects.exists()  # no --promote, no deployment


def test_deny_exits_1_and_prints_reasons_and_missing_signoffs(
    gate_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    version = governed_version(tier="limited", signoffs=[("owner", "olga")])
    assert cli.main(gate_args(version, "--promote")) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"DENY {version.registered_model.name} v{version.version} -> production")
    assert "  SIGNOFF_MISSING: " in out
    assert "  validator: 0/1 MISSING" in out and "  owner: 1/1 ok" in out
    assert "not promoted: the gate denied" in out
    assert not Deployment.objects.exists()


def test_unreachable_platform_exits_2(
    gate_env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("MLGOV_URL", f"http://127.0.0.1:{port}")
    args = ["gate", "--model", "m", "--version", "1", "--target", "staging", "--timeout", "2"]
    assert cli.main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "UNREACHABLE" in captured.err and "failing closed" in captured.err


def test_wrong_or_missing_key_exits_2(
    gate_env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    version = allowing()
    monkeypatch.setenv("MLGOV_API_KEY", "mlg_deadbeef_not-a-real-key")
    assert cli.main(gate_args(version)) == 2
    assert "(HTTP 401): AUTHENTICATION_FAILED" in capsys.readouterr().err
    monkeypatch.delenv("MLGOV_API_KEY")
    assert cli.main(gate_args(version)) == 2
    assert "CONFIG_ERROR: set MLGOV_API_KEY" in capsys.readouterr().err
    assert not GateDecision.objects.exists()


def test_promotion_refused_exits_2(
    gate_env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], settings: Any
) -> None:
    version = allowing()
    monkeypatch.setenv("MLGOV_API_KEY", new_key("evaluate"))  # no promote scope: 403 after the allow
    assert cli.main(gate_args(version, "--promote")) == 2
    captured = capsys.readouterr()
    assert captured.out.startswith("ALLOW ")
    assert "promotion refused (HTTP 403): PERMISSION_DENIED" in captured.err

    settings.GATE_DECISION_TTL_SECONDS = -1  # every decision is already expired when promoted: 409
    monkeypatch.setenv("MLGOV_API_KEY", new_key("evaluate", "promote"))
    assert cli.main(gate_args(version, "--promote", "--json")) == 2
    document = json.loads(capsys.readouterr().out)
    assert document["result"] == "error" and document["decision"]["allow"] is True
    assert document["error"]["code"] == "DECISION_EXPIRED" and document["error"]["http_status"] == 409
    assert document["error"]["stage"] == "promote" and document["deployment"] is None
    assert not Deployment.objects.exists()


def test_json_output_is_one_parseable_object(
    gate_env: str, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pinned = tmp_path / "gate.pem"
    pinned.write_text(published_pem(gate_env))
    monkeypatch.setenv("MLGOV_PUBLIC_KEY_FILE", str(pinned))
    version = governed_version(tier="high", signoffs=[("owner", "olga")])
    assert cli.main(gate_args(version, "--json")) == 1
    document = json.loads(capsys.readouterr().out)
    stored = GateDecision.objects.get()
    assert document["result"] == "deny" and document["exit_code"] == 1
    assert document["decision"]["decision_id"] == str(stored.pk)
    assert document["decision"]["allow"] is False and document["decision"]["risk_tier"] == "high"
    assert document["verification"] == {
        "verified": True,
        "key_id": stored.key_id,
        "key_source": f"pinned:{pinned}",
    }
    assert document["deployment"] is None and document["error"] is None

    assert cli.main(gate_args(allowing(), "--json")) == 0
    assert json.loads(capsys.readouterr().out)["result"] == "allow"


def test_a_different_pinned_key_fails_verification_and_exits_2(
    gate_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    impostor = tmp_path / "other.pem"
    impostor.write_text(signing.public_key_pem(Ed25519PrivateKey.generate().public_key()))
    version = allowing()  # the platform allows, but the answer cannot be trusted with this key
    assert cli.main(gate_args(version, "--public-key", str(impostor), "--promote")) == 2
    captured = capsys.readouterr()
    assert "ALLOW" not in captured.out
    assert "KEY_ID_MISMATCH" in captured.err
    assert not Deployment.objects.exists()

    assert cli.main(gate_args(version, "--public-key", str(impostor), "--json")) == 2
    document = json.loads(capsys.readouterr().out)
    assert document["decision"] is None and document["unverified_response"]["allow"] is True
    assert document["verification"]["verified"] is False


def test_a_deny_tampered_into_an_allow_in_transit_exits_2(
    gate_env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A man in the middle flips allow in the response and in the signed document: the signature fails."""
    real_request = requests.request

    def tampering(method: str, url: str, **kwargs: Any) -> requests.Response:
        response = real_request(method, url, **kwargs)
        if url.endswith(cli.EVALUATE_PATH):
            body = response.json()
            body["allow"] = body["signed_document"]["allow"] = True
            body["reasons"] = body["signed_document"]["reasons"] = []
            response._content = json.dumps(body).encode()
        return response

    monkeypatch.setattr(cli.requests, "request", tampering)
    version = governed_version(tier="unassessed", signoffs=[("owner", "olga")])
    assert cli.main(gate_args(version, "--promote")) == 2
    captured = capsys.readouterr()
    assert "ALLOW" not in captured.out
    assert "SIGNATURE_INVALID" in captured.err
    assert not Deployment.objects.exists()


def test_verify_decision_checks_signature_fields_request_and_age(gate_env: str) -> None:
    version = allowing()
    name = version.registered_model.name
    response = requests.post(
        f"{gate_env}{cli.EVALUATE_PATH}",
        json={"model": name, "version": version.version, "target": "production"},
        headers={"Authorization": f"Bearer {os.environ['MLGOV_API_KEY']}"},
        timeout=10,
    )
    decision = response.json()
    key = signing.public_key_from_pem(published_pem(gate_env))
    asked: dict[str, Any] = {"model": name, "version": version.version, "target": "production"}
    assert cli.verify_decision(decision, key, max_age=60, **asked) == decision["key_id"]

    def code(changed: dict[str, Any], **overrides: Any) -> str:
        with pytest.raises(cli.GateCliError) as failure:
            cli.verify_decision(changed, key, **{"max_age": 60, **asked, **overrides})
        return failure.value.code

    flipped = copy.deepcopy(decision)
    flipped["signed_document"]["allow"] = False
    assert code(flipped) == "SIGNATURE_INVALID"
    unsigned_field = copy.deepcopy(decision)
    unsigned_field["risk_tier"] = "high"
    assert code(unsigned_field) == "DECISION_MISMATCH"
    assert code(decision, version=version.version + 1) == "DECISION_MISMATCH"  # a replayed other decision
    assert code(decision, target="staging") == "DECISION_MISMATCH"
    later = datetime.now(UTC) + timedelta(hours=2)
    with pytest.raises(cli.GateCliError, match="possibly replayed"):
        cli.verify_decision(decision, key, max_age=3600, now=later, **asked)
    assert cli.verify_decision(decision, key, max_age=0, now=later, **asked)  # 0 = no age limit
    no_signature = {k: v for k, v in decision.items() if k != "signature"}
    assert code(no_signature) == "BAD_RESPONSE"


def test_console_entry_runs_in_a_subprocess_without_django(gate_env: str, tmp_path: Path) -> None:
    blocker = tmp_path / "no-django"
    blocker.mkdir()
    (blocker / "django.py").write_text('raise ImportError("the CLI must not import Django")\n')
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["PYTHONPATH"] = str(blocker)
    version = allowing()
    finished = subprocess.run(
        [sys.executable, "-m", "governance.cli", *gate_args(version)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.startswith(f"ALLOW {version.registered_model.name} v{version.version}")
    assert "signature verified" in finished.stdout


@pytest.mark.mlflow
def test_promote_sets_the_mlflow_alias(
    mlflow: MlflowClient, gate_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bias_ok = {"bias.demographic_parity_difference": 0.03, "bias.equal_opportunity_difference": 0.02}
    number = make_version(mlflow, model="cli-scorer", experiment=experiment_id(mlflow), metrics=bias_ok)
    sync_full()
    model = RegisteredModel.objects.get(name="cli-scorer")
    intended_use_set(registered_model=model, profile=minimal_profile()["profile"], actor="test")
    owner = UserFactory.create(username="olga")
    owner.groups.add(Group.objects.get_or_create(name=roles.MODEL_OWNER)[0])
    RaciAssignmentFactory.create(registered_model=model, role="accountable", user=owner)
    version = ModelVersion.objects.get(registered_model=model, version=number)
    signoff_record(model_version=version, target="production", role="owner", user=owner)
    capsys.readouterr()  # MLflow's client prints run links to stdout

    assert cli.main(gate_args(version, "--promote")) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert out.startswith(f"ALLOW cli-scorer v{number} -> production (risk tier: minimal)")
    assert f"PROMOTED cli-scorer v{number}: alias 'champion' (production) now points to v{number}" in out
    assert mlflow.get_model_version_by_alias("cli-scorer", "champion").version == str(number)
    deployment = Deployment.objects.get()
    assert deployment.alias == "champion" and deployment.model_version == version
