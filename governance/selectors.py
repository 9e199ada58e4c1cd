"""Governance reads: the model inventory mirrored from MLflow and the state of the sync passes.

Every list selector returns a queryset whose cost in queries does not depend on the number of rows.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import (
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce

from governance.models import Deployment, GateDecision, RaciAssignment, RiskTier, SignOff
from policies.loader import BUNDLE_DIR, DATA_FILE_NAME
from registry_sync.models import (
    ModelAlias,
    ModelVersion,
    RegisteredModel,
    SyncRun,
    SyncStatus,
)


def tag_filter_parse(value: str) -> tuple[str, str]:
    """Split a `key=value` tag filter; raises ValueError when there is no `=` or no key."""
    key, sep, tag_value = value.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ValueError("Use the form key=value, e.g. team=credit-risk.")
    return key, tag_value.strip()


def _aliases_prefetch() -> Prefetch:
    return Prefetch(
        "aliases",
        queryset=ModelAlias.objects.select_related("model_version").order_by("alias"),
    )


def registered_model_list(
    *,
    search: str = "",
    tag: tuple[str, str] | None = None,
    alias: str = "",
    state: str = "",
) -> QuerySet[RegisteredModel]:
    """Models with `version_count`, `latest_version` and prefetched `aliases` (with their versions)."""
    versions = ModelVersion.objects.filter(registered_model=OuterRef("pk")).order_by()
    qs = RegisteredModel.objects.annotate(
        version_count=Coalesce(
            Subquery(
                versions.values("registered_model").annotate(n=Count("pk")).values("n"),
                output_field=IntegerField(),
            ),
            Value(0),
        ),
        latest_version=Subquery(versions.order_by("-version").values("version")[:1]),
    ).prefetch_related(_aliases_prefetch())

    if search:
        qs = qs.filter(Q(name__icontains=search) | Q(description__icontains=search))
    if tag is not None:
        key, tag_value = tag
        # KeyTextTransform works on SQLite and PostgreSQL alike, unlike `tags__contains`.
        qs = qs.alias(tag_filter_value=KeyTextTransform(key, "tags")).filter(tag_filter_value=tag_value)
    if alias:
        qs = qs.filter(aliases__alias=alias)
    if state:
        qs = qs.filter(state=state)
    return qs.order_by("name")


def registered_model_alias_names() -> list[str]:
    """Distinct alias names in use, for the alias filter."""
    return list(ModelAlias.objects.order_by("alias").values_list("alias", flat=True).distinct())


def _versions_with_run() -> QuerySet[ModelVersion]:
    return (
        ModelVersion.objects.select_related("run")
        .prefetch_related(Prefetch("aliases", queryset=ModelAlias.objects.order_by("alias")))
        .order_by("-version")
    )


def registered_model_detail(*, name: str) -> RegisteredModel:
    """One model with its aliases and every version (newest first) with its run and aliases prefetched.

    Raises RegisteredModel.DoesNotExist for an unknown name.
    """
    return RegisteredModel.objects.prefetch_related(
        _aliases_prefetch(), Prefetch("versions", queryset=_versions_with_run())
    ).get(name=name)


def model_version_detail(*, name: str, version: int) -> ModelVersion:
    """One version of a model with its run and aliases; raises ModelVersion.DoesNotExist when unknown."""
    return (
        _versions_with_run()
        .select_related("registered_model")
        .get(registered_model__name=name, version=version)
    )


def sync_run_list() -> QuerySet[SyncRun]:
    """Sync passes, newest first, each with a `duration` (None while running)."""
    return SyncRun.objects.annotate(
        duration=ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())
    ).order_by("-started_at", "-id")


def sync_run_latest() -> SyncRun | None:
    """The most recent sync pass of any kind and status, for the "last synced" banner."""
    return sync_run_list().first()


def sync_run_last_succeeded() -> SyncRun | None:
    return sync_run_list().filter(status=SyncStatus.SUCCEEDED).first()


def protected_aliases() -> set[str]:
    """Aliases only the platform may move (one per promotion target)."""
    return set(settings.PROMOTION_ALIASES.values())


def alias_explained_by_deployment(*, registered_model_id: int, alias: str, version: int) -> bool:
    """Whether the platform's latest promotion to this alias put it on this version."""
    latest = (
        Deployment.objects.filter(model_version__registered_model_id=registered_model_id, alias=alias)
        .order_by("-deployed_at", "-pk")
        .values_list("model_version__version", flat=True)
        .first()
    )
    return latest == version


# ------------------------------------------------------------------------------------------------ governance


def registered_model_governance_detail(*, name: str) -> RegisteredModel:
    """One model for the governance page: its governance record, RACI (with users), aliases, and every
    version (newest first) with its run, sign-offs, gate decisions (newest first) and deployments.

    Version aliases are not prefetched: `aliases` (with their versions) already holds them.
    Raises RegisteredModel.DoesNotExist for an unknown name.
    """
    versions = ModelVersion.objects.select_related("run").prefetch_related(
        Prefetch("signoffs", queryset=SignOff.objects.select_related("user").order_by("-created_at", "-pk")),
        Prefetch(
            "gate_decisions",
            queryset=GateDecision.objects.select_related("deployment")
            .defer("input_document", "signed_document")
            .order_by("-evaluated_at", "-pk"),
        ),
        Prefetch("deployments", queryset=Deployment.objects.order_by("-deployed_at", "-pk")),
    )
    return (
        RegisteredModel.objects.select_related("governance")
        .prefetch_related(
            _aliases_prefetch(),
            Prefetch(
                "raci",
                queryset=RaciAssignment.objects.select_related("user").order_by("role", "user__username"),
            ),
            Prefetch("versions", queryset=versions.order_by("-version")),
        )
        .get(name=name)
    )


def gate_decision_detail(*, decision_id: uuid.UUID) -> GateDecision:
    """One gate decision with its version, model and deployment (if it was promoted).

    Raises GateDecision.DoesNotExist for an unknown id.
    """
    return GateDecision.objects.select_related("model_version__registered_model", "deployment").get(
        pk=decision_id
    )


@dataclass(frozen=True)
class BiasThresholds:
    """The bias limits the gate applies to a model: those of `tier` (its own, or the unassessed fallback)."""

    tier: str
    limits: Mapping[str, float]


@dataclass(frozen=True)
class BiasCheck:
    metric: str
    value: float | None  # None: logged as a non-finite number, or not logged at all (see `logged`)
    limit: float | None  # None: the policy sets no limit for this metric
    logged: bool
    passed: bool | None  # None: nothing to judge (no limit, or a limited metric that was not logged)


def _bundle_data(*directory: str) -> dict[str, Any]:
    # A data file of the policy bundle, e.g. config/data.json, which the gate loads as data.config.
    with BUNDLE_DIR.joinpath(*directory, DATA_FILE_NAME).open(encoding="utf-8") as data_file:
        data: dict[str, Any] = json.load(data_file)
    return data


def bias_thresholds_for_tier(*, risk_tier: str) -> BiasThresholds:
    """The limits `thresholds.<tier>` of the policy bundle; tiers without limits (unassessed, unacceptable)
    use `unassessed_threshold_tier`, as the gate does."""
    config = _bundle_data("config")
    thresholds: dict[str, dict[str, float]] = config.get("thresholds", {})
    tier = risk_tier if risk_tier in thresholds else str(config.get("unassessed_threshold_tier", ""))
    return BiasThresholds(tier=tier, limits=dict(thresholds.get(tier, {})))


def bias_metric_checks(*, metrics: Mapping[str, float | None], thresholds: BiasThresholds) -> list[BiasCheck]:
    """Each logged bias metric against its limit (the gate fails |value| > limit, and any non-number),
    then each limited metric that was not logged."""
    checks = []
    for metric, value in sorted(metrics.items()):
        limit = thresholds.limits.get(metric)
        if value is None:
            passed: bool | None = False
        elif limit is None:
            passed = None
        else:
            passed = abs(value) <= limit
        checks.append(BiasCheck(metric=metric, value=value, limit=limit, logged=True, passed=passed))
    for metric, limit in sorted(thresholds.limits.items()):
        if metric not in metrics:
            checks.append(BiasCheck(metric=metric, value=None, limit=limit, logged=False, passed=None))
    return checks


def model_risk_tier(*, model: RegisteredModel) -> str:
    """The model's assessed tier, or unassessed when it has no governance record."""
    governance = getattr(model, "governance", None)
    return governance.risk_tier if governance is not None else RiskTier.UNASSESSED.value


def intended_use_fields() -> list[str]:
    """The intended-use questions, in the order of the risk policy's profile schema."""
    return list(_bundle_data("config", "risk").get("profile_schema", {}))
