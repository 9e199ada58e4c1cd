"""factory_boy factories for test data: users, the MLflow registry mirror (models, versions, runs,
aliases, sync passes) and RACI assignments.

`ModelVersionFactory` numbers versions per model (1, 2, 3, ...) and links a fresh run unless given `run=None`.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import factory
from django.contrib.auth.models import User
from django.db.models import Max
from django.utils import timezone
from factory.django import DjangoModelFactory, Password

from governance.models import GateDecision, RaciAssignment, RaciRole
from registry_sync.models import (
    MirrorState,
    ModelAlias,
    ModelVersion,
    RegisteredModel,
    Run,
    SyncKind,
    SyncRun,
    SyncStatus,
)

DEFAULT_PASSWORD = "correct-horse-battery"


class UserFactory(DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.org")
    password = Password(DEFAULT_PASSWORD)


class RegisteredModelFactory(DjangoModelFactory[RegisteredModel]):
    class Meta:
        model = RegisteredModel

    name = factory.Sequence(lambda n: f"model-{n:04d}")
    description = factory.LazyAttribute(lambda m: f"Scores applications for {m.name}.")
    tags = factory.LazyFunction(lambda: {"team": "credit-risk", "domain": "lending"})
    mlflow_created_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=30))
    mlflow_updated_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=2))
    state = MirrorState.ACTIVE


def _datasets() -> list[dict[str, str]]:
    return [
        {
            "name": "applications-2025q3",
            "digest": "3f2a9c1e",
            "source_type": "delta",
            "source": "s3://lake/applications/2025q3",
            "context": "training",
        },
        {
            "name": "applications-holdout",
            "digest": "b71d0e44",
            "source_type": "delta",
            "source": "s3://lake/applications/holdout",
            "context": "eval",
        },
    ]


class RunFactory(DjangoModelFactory[Run]):
    class Meta:
        model = Run

    run_id = factory.LazyFunction(lambda: uuid.uuid4().hex)
    experiment_id = "1"
    run_name = factory.Sequence(lambda n: f"train-{n}")
    status = "FINISHED"
    user_id = "data-scientist"
    started_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=3))
    ended_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=3) + timedelta(minutes=12))
    params = factory.LazyFunction(lambda: {"max_depth": "6", "n_estimators": "200"})
    metrics = factory.LazyFunction(
        lambda: {
            "accuracy": 0.912,
            "roc_auc": 0.951,
            "bias.demographic_parity_difference": 0.031,
            "fairness.equalized_odds_ratio": 0.88,
        }
    )
    tags = factory.LazyFunction(lambda: {"mlflow.source.type": "JOB"})
    datasets = factory.LazyFunction(_datasets)


def _next_version(version: Any) -> int:
    current = version.registered_model.versions.aggregate(top=Max("version"))["top"]
    return (current or 0) + 1


class ModelVersionFactory(DjangoModelFactory[ModelVersion]):
    class Meta:
        model = ModelVersion

    registered_model = factory.SubFactory(RegisteredModelFactory)
    version = factory.LazyAttribute(_next_version)
    run = factory.SubFactory(RunFactory)
    mlflow_run_id = factory.LazyAttribute(lambda v: v.run.run_id if v.run else "")
    source = factory.LazyAttribute(lambda v: f"models:/m-{uuid.uuid4().hex[:12]}")
    mlflow_status = "READY"
    user_id = "data-scientist"
    mlflow_created_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=3))
    mlflow_updated_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    state = MirrorState.ACTIVE


class ModelAliasFactory(DjangoModelFactory[ModelAlias]):
    class Meta:
        model = ModelAlias

    model_version = factory.SubFactory(ModelVersionFactory)
    registered_model = factory.SelfAttribute("model_version.registered_model")
    alias = "champion"


class SyncRunFactory(DjangoModelFactory[SyncRun]):
    class Meta:
        model = SyncRun

    kind = SyncKind.INCREMENTAL
    status = SyncStatus.SUCCEEDED
    finished_at = factory.LazyFunction(lambda: timezone.now() + timedelta(seconds=4))
    versions_seen = 12
    pages = 1


class RaciAssignmentFactory(DjangoModelFactory[RaciAssignment]):
    """Responsible for a model by default: the stewardship model owners need to act on it."""

    class Meta:
        model = RaciAssignment
        django_get_or_create = ("registered_model", "role", "user")

    registered_model = factory.SubFactory(RegisteredModelFactory)
    role = RaciRole.RESPONSIBLE
    user = factory.SubFactory(UserFactory)


class DenyingGateDecisionFactory(DjangoModelFactory[GateDecision]):
    """A stored gate decision that denied (signature fields are placeholders: nothing verifies them here)."""

    class Meta:
        model = GateDecision

    id = factory.LazyFunction(uuid.uuid4)
    model_version = factory.SubFactory(ModelVersionFactory)
    target_stage = "production"
    allow = False
    risk_tier = "minimal"
    reasons = factory.LazyFunction(lambda: [{"code": "SIGNOFF_MISSING", "message": "owner missing"}])
    input_document = factory.LazyFunction(dict)
    input_digest = "d1" * 32
    engine = "embedded"
    latency_ms = 1.0
    caller = "ci"
    evaluated_at = factory.LazyFunction(timezone.now)
    signed_document = factory.LazyFunction(dict)
    signature = "sig"
    key_id = "k"
