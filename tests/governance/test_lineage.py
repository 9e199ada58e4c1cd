"""Lineage export: datasets → run → version → decisions → sign-offs → deployments, with the audit slice."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from governance.models import Deployment
from governance.services.gate import gate_evaluate
from tests.factories import ModelVersionFactory, UserFactory
from tests.gate.test_gate_api import governed_version

pytestmark = pytest.mark.django_db


def test_lineage_links_every_step_and_carries_the_audit_slice(django_assert_max_num_queries) -> None:
    version = governed_version(tier="minimal", signoffs=[("owner", "olga")])
    caller = UserFactory.create(username="ci")
    staging = gate_evaluate(
        model_name=version.registered_model.name, version=version.version, target="staging", caller=caller
    )
    allowed = gate_evaluate(
        model_name=version.registered_model.name, version=version.version, target="production", caller=caller
    )
    assert staging.allow and allowed.allow
    Deployment.objects.create(
        gate_decision=allowed,
        model_version=version,
        target_stage="production",
        alias="champion",
        deployed_by="ci",
    )
    ModelVersionFactory.create()  # another model's history must not leak in

    client = APIClient()
    client.force_authenticate(caller)
    url = f"/api/v1/lineage/{version.registered_model.name}/{version.version}"
    with django_assert_max_num_queries(12):
        body = client.get(url).json()

    kinds = {node["kind"] for node in body["nodes"]}
    assert kinds == {"dataset", "run", "model_version", "gate_decision", "signoff", "deployment"}
    relations = {(e["source"].split(":")[0], e["relation"], e["target"].split(":")[0]) for e in body["edges"]}
    assert ("dataset", "training", "run") in relations
    assert ("run", "produced", "model_version") in relations
    assert ("model_version", "evaluated", "gate_decision") in relations
    assert ("signoff", "signed", "model_version") in relations
    assert ("signoff", "considered_by", "gate_decision") in relations
    assert ("gate_decision", "promoted", "deployment") in relations
    actions = [event["action"] for event in body["audit_events"]]
    assert actions == ["gate.decision", "gate.decision"]
    assert all(len(event["hash"]) == 64 for event in body["audit_events"])
    decision_nodes = [n for n in body["nodes"] if n["kind"] == "gate_decision"]
    assert {n["attributes"]["signature"] for n in decision_nodes} == {staging.signature, allowed.signature}

    missing = client.get(f"/api/v1/lineage/{version.registered_model.name}/99")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NOT_FOUND"
