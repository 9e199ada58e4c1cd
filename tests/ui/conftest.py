"""Fixtures for the workflow pages: people with roles, a limited-tier model version whose bias metrics pass,
and approval requests brought to a given state through the services."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from governance.models import ApprovalRequest, ModelGovernance
from governance.services import approvals
from registry_sync.models import ModelVersion, RegisteredModel
from tests.factories import ModelVersionFactory, RaciAssignmentFactory, RunFactory, UserFactory

BIAS_OK = {"bias.demographic_parity_difference": 0.02, "bias.equal_opportunity_difference": 0.01}
REGISTRANT = "ds-alex"

PersonMaker = Callable[..., User]


@pytest.fixture
def person() -> PersonMaker:
    """person("olivia", roles.MODEL_OWNER) -> a user holding those roles (Django groups)."""

    def make(username: str, *role_names: str) -> User:
        user = UserFactory.create(username=username)
        # get_or_create: a transactional test's flush removes the groups the migration made
        user.groups.add(*(Group.objects.get_or_create(name=name)[0] for name in role_names))
        return user

    return make


def steward(model: RegisteredModel, user: User, role: str = "responsible") -> User:
    """Make `user` Responsible (or `role`) for the model: model owners act only on models they steward."""
    RaciAssignmentFactory.create(registered_model=model, role=role, user=user)
    return user


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def version() -> ModelVersion:
    """A limited-tier model (owner and validator sign-offs required in production) with passing bias."""
    run = RunFactory.create(metrics={**BIAS_OK, "accuracy": 0.91}, user_id=REGISTRANT)
    mv = ModelVersionFactory.create(run=run, user_id=REGISTRANT)
    ModelGovernance.objects.create(
        registered_model=mv.registered_model,
        risk_tier="limited",
        team="credit-risk",
        risk_reasons=[
            {
                "code": "SIGNIFICANT_DECISION_IMPACT",
                "regulation": "mlgov model risk policy",
                "message": "significant impact with a human in the loop",
                "tier": "limited",
            }
        ],
    )
    return mv


def approval_in_state(
    version: ModelVersion,
    state: str,
    *,
    owner: User,
    reviewer: User | None = None,
    decider: User | None = None,
    target: str = "production",
) -> ApprovalRequest:
    """An approval request moved to `state` through the services (approved and deployed are set directly:
    they need an allowing gate and a promotion, which other tests cover; rejected without a `decider` too).
    `owner` is made Responsible for the model first: model owners act only on models they steward."""
    steward(version.registered_model, owner)
    request = approvals.approval_request_create(model_version=version, target=target, actor=owner)
    if state == "draft":
        return request
    request = approvals.approval_request_submit(request=request, actor=owner)
    if state == "submitted":
        return request
    if state == "withdrawn":
        return approvals.approval_request_withdraw(request=request, actor=owner)
    assert reviewer is not None
    request = approvals.approval_request_start_review(request=request, actor=reviewer)
    if state == "in_review":
        return request
    if state == "rejected" and decider is not None:
        return approvals.approval_request_reject(request=request, actor=decider, comment="Missing card.")
    ApprovalRequest.objects.filter(pk=request.pk).update(state=state)
    request.refresh_from_db()
    return request
