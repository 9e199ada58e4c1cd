"""Authorization matrix: each role (and anonymous, and CI keys by scope) by each API operation → the expected
status, table-driven. A 4xx other than 401/403 means "allowed in, refused for another reason"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from governance import roles
from governance.models import ApprovalRequest
from governance.services.apikeys import api_key_create
from registry_sync.models import ModelVersion
from tests.factories import UserFactory
from tests.gate.test_gate_api import governed_version

pytestmark = pytest.mark.django_db

ROLES = [
    "anonymous",
    roles.VIEWER,
    roles.MODEL_OWNER,
    roles.VALIDATOR,
    roles.COMPLIANCE_OFFICER,
    roles.COMMITTEE_MEMBER,
    roles.ADMIN,
]
DENIED = {401, 403}

Operation = Callable[[APIClient, ModelVersion, ApprovalRequest], Any]


def _list(c: APIClient, v: ModelVersion, a: ApprovalRequest) -> Any:
    return c.get("/api/v1/models/")


def _lineage(c: APIClient, v: ModelVersion, a: ApprovalRequest) -> Any:
    return c.get(f"/api/v1/lineage/{v.registered_model.name}/{v.version}")


def _evaluate(c: APIClient, v: ModelVersion, a: ApprovalRequest) -> Any:
    return c.post(
        "/api/v1/gates/evaluate",
        {"model": v.registered_model.name, "version": v.version, "target": "staging"},
        format="json",
    )


def _promote(c: APIClient, v: ModelVersion, a: ApprovalRequest) -> Any:
    return c.post(
        "/api/v1/gates/promote", {"decision_id": "00000000-0000-0000-0000-000000000000"}, format="json"
    )


def _create_approval(c: APIClient, v: ModelVersion, a: ApprovalRequest) -> Any:
    return c.post(
        "/api/v1/approvals",
        {"model": v.registered_model.name, "version": v.version, "target": "production"},
        format="json",
    )


def _start_review(c: APIClient, v: ModelVersion, a: ApprovalRequest) -> Any:
    return c.post(f"/api/v1/approvals/{a.pk}/start-review", {}, format="json")


def _reject(c: APIClient, v: ModelVersion, a: ApprovalRequest) -> Any:
    return c.post(f"/api/v1/approvals/{a.pk}/reject", {"comment": "no model card"}, format="json")


def _comment(c: APIClient, v: ModelVersion, a: ApprovalRequest) -> Any:
    return c.post(f"/api/v1/approvals/{a.pk}/comments", {"body": "looks fine"}, format="json")


def _upload(c: APIClient, v: ModelVersion, a: ApprovalRequest) -> Any:
    url = f"/api/v1/models/{v.registered_model.name}/versions/{v.version}/evidence"
    document = SimpleUploadedFile("card.md", b"# Model card", "text/markdown")
    return c.post(url, {"kind": "model_card", "file": document}, format="multipart")


def _intended_use(c: APIClient, v: ModelVersion, a: ApprovalRequest) -> Any:
    return c.put(f"/api/v1/risk/{v.registered_model.name}/intended-use", {"profile": {}}, format="json")


# operation → the roles that get in (everyone else: 401 anonymous / 403)
MATRIX: list[tuple[str, Operation, set[str]]] = [
    ("list models", _list, set(ROLES) - {"anonymous"}),
    ("lineage", _lineage, set(ROLES) - {"anonymous"}),
    (
        "evaluate gate",
        _evaluate,
        {roles.MODEL_OWNER, roles.VALIDATOR, roles.COMPLIANCE_OFFICER, roles.COMMITTEE_MEMBER, roles.ADMIN},
    ),
    ("promote", _promote, {roles.MODEL_OWNER, roles.ADMIN}),
    ("create approval", _create_approval, {roles.MODEL_OWNER, roles.ADMIN}),
    (
        "start review",
        _start_review,
        {roles.VALIDATOR, roles.COMPLIANCE_OFFICER, roles.COMMITTEE_MEMBER, roles.ADMIN},
    ),
    ("reject", _reject, {roles.COMMITTEE_MEMBER, roles.ADMIN}),
    (
        "comment",
        _comment,
        {roles.MODEL_OWNER, roles.VALIDATOR, roles.COMPLIANCE_OFFICER, roles.COMMITTEE_MEMBER, roles.ADMIN},
    ),
    (
        "upload evidence",
        _upload,
        {roles.MODEL_OWNER, roles.VALIDATOR, roles.COMPLIANCE_OFFICER, roles.COMMITTEE_MEMBER, roles.ADMIN},
    ),
    ("set intended use", _intended_use, {roles.MODEL_OWNER, roles.COMPLIANCE_OFFICER, roles.ADMIN}),
]


def client_as(role: str) -> APIClient:
    client = APIClient()
    if role != "anonymous":
        user = UserFactory.create(username=f"as-{role}")
        user.groups.add(Group.objects.get(name=role))
        client.force_authenticate(user)
    return client


@pytest.fixture
def subject() -> tuple[ModelVersion, ApprovalRequest]:
    version = governed_version(tier="minimal", signoffs=[("owner", "olga")])
    submitter = UserFactory.create(username="submitter")
    approval = ApprovalRequest.objects.create(
        model_version=version,
        target_stage="production",
        state="submitted",
        created_by=submitter,
        submitted_by=submitter,
    )
    return version, approval


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "operation", "allowed"), MATRIX, ids=[m[0] for m in MATRIX])
def test_role_matrix(
    role: str,
    name: str,
    operation: Operation,
    allowed: set[str],
    subject: tuple[ModelVersion, ApprovalRequest],
) -> None:
    version, approval = subject
    response = operation(client_as(role), version, approval)
    assert response.status_code < 500
    if role in allowed:
        assert response.status_code not in DENIED, (role, name, response.content)
    else:
        assert response.status_code in DENIED, (role, name, response.status_code)
        assert response.json()["error"]["code"] in {"NOT_AUTHENTICATED", "PERMISSION_DENIED", "ROLE_REQUIRED"}


@pytest.mark.parametrize(
    ("scopes", "operation", "allowed"),
    [
        (["evaluate"], _evaluate, True),
        (["evaluate"], _promote, False),
        (["promote"], _promote, True),
        (["promote"], _evaluate, False),
        (["evaluate", "promote"], _upload, False),  # people contribute evidence, CI keys do not
        (["evaluate", "promote"], _comment, False),
    ],
)
def test_api_key_scopes(
    scopes: list[str], operation: Operation, allowed: bool, subject: tuple[ModelVersion, ApprovalRequest]
) -> None:
    version, approval = subject
    key = api_key_create(name="ci", scopes=scopes, user=UserFactory.create(username="ci"), actor="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key.secret}")
    response = operation(client, version, approval)
    assert (response.status_code not in DENIED) is allowed, response.content
