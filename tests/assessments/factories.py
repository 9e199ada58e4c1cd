"""Factories for assessment tests: teams, and the governance records the verified checks read."""

from __future__ import annotations

import uuid

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from assessments.models import Team
from governance.models import (
    ApiKey,
    Deployment,
    GateDecision,
    ModelGovernance,
    RaciAssignment,
    RaciRole,
    SignOff,
    SignOffRole,
    TargetStage,
)
from tests.factories import ModelVersionFactory, RegisteredModelFactory, UserFactory


class TeamFactory(DjangoModelFactory[Team]):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"team-{n}")
    lead = factory.SubFactory(UserFactory)


class ApiKeyFactory(DjangoModelFactory[ApiKey]):
    class Meta:
        model = ApiKey

    name = "ci"
    prefix = factory.Sequence(lambda n: f"pfx{n:05d}")
    key_hash = factory.LazyFunction(lambda: uuid.uuid4().hex + uuid.uuid4().hex)
    scopes = factory.LazyFunction(lambda: [ApiKey.Scope.EVALUATE])
    user = factory.SubFactory(UserFactory)


class GateDecisionFactory(DjangoModelFactory[GateDecision]):
    class Meta:
        model = GateDecision

    id = factory.LazyFunction(uuid.uuid4)
    model_version = factory.SubFactory(ModelVersionFactory)
    target_stage = TargetStage.PRODUCTION
    allow = True
    risk_tier = "limited"
    input_document = factory.LazyFunction(dict)
    input_digest = "0" * 64
    engine = "embedded"
    latency_ms = 3.0
    caller = "ci"
    api_key = None
    evaluated_at = factory.LazyFunction(timezone.now)
    signed_document = factory.LazyFunction(dict)
    signature = "sig"
    key_id = "k1"


class DeploymentFactory(DjangoModelFactory[Deployment]):
    class Meta:
        model = Deployment

    gate_decision = factory.SubFactory(GateDecisionFactory)
    model_version = factory.SelfAttribute("gate_decision.model_version")
    target_stage = TargetStage.PRODUCTION
    alias = "champion"
    previous_version = None
    deployed_by = "ci"


class SignOffFactory(DjangoModelFactory[SignOff]):
    class Meta:
        model = SignOff

    model_version = factory.SubFactory(ModelVersionFactory)
    target_stage = TargetStage.PRODUCTION
    role = SignOffRole.VALIDATOR
    user = factory.SubFactory(UserFactory)


class ModelGovernanceFactory(DjangoModelFactory[ModelGovernance]):
    class Meta:
        model = ModelGovernance

    registered_model = factory.SubFactory(RegisteredModelFactory)
    risk_tier = "limited"


class RaciAssignmentFactory(DjangoModelFactory[RaciAssignment]):
    class Meta:
        model = RaciAssignment

    registered_model = factory.SubFactory(RegisteredModelFactory)
    role = RaciRole.ACCOUNTABLE
    user = factory.SubFactory(UserFactory)
