"""Verified checks: what the platform's own mirrored data says about a team's claims.

A team's models are the active registered models whose MLflow tag `team` equals the Team's name. One loader
reads the evidence in a fixed number of queries; each check is a pure function of that evidence returning
verified True / False / None (cannot tell) with an evidence sentence.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from django.db.models import Count, OuterRef, Q, Subquery

from assessments.scoring import CheckResult
from governance.models import (
    Deployment,
    GateDecision,
    ModelGovernance,
    RaciAssignment,
    RaciRole,
    RiskTier,
    SignOff,
    TargetStage,
)
from registry_sync.models import MirrorState, ModelAlias, ModelVersion, RegisteredModel

TEAM_TAG = "team"
AUTOMATED_SOURCE_TYPES = {"JOB", "PROJECT"}
MAX_NAMES = 5


@dataclass(frozen=True)
class TeamEvidence:
    team_name: str
    model_names: tuple[str, ...]
    latest_versions: tuple[ModelVersion, ...]
    aliases: int
    aliases_outside_platform: int
    assessed_models: frozenset[int]
    accountable_models: frozenset[int]
    model_ids: tuple[int, ...]
    gate_decisions: int
    gate_decisions_ci: int
    production_deployments: int
    deployments_replacing: int
    deployed_versions: frozenset[int]
    signed_versions: frozenset[int]


def team_evidence_load(*, team_name: str) -> TeamEvidence:
    """Everything the checks need about a team's models, in eight queries."""
    models = list(
        RegisteredModel.objects.filter(state=MirrorState.ACTIVE, **{f"tags__{TEAM_TAG}": team_name})
        .order_by("name")
        .values_list("pk", "name")
    )
    model_ids = [pk for pk, _ in models]
    latest = (
        ModelVersion.objects.filter(registered_model=OuterRef("registered_model"), state=MirrorState.ACTIVE)
        .order_by("-version")
        .values("pk")[:1]
    )
    latest_versions = tuple(
        ModelVersion.objects.filter(registered_model_id__in=model_ids, pk=Subquery(latest))
        .select_related("registered_model", "run")
        .order_by("registered_model__name")
    )
    alias_counts = ModelAlias.objects.filter(registered_model_id__in=model_ids).aggregate(
        total=Count("pk"), outside=Count("pk", filter=Q(outside_platform=True))
    )
    assessed = ModelGovernance.objects.filter(registered_model_id__in=model_ids).exclude(
        risk_tier=RiskTier.UNASSESSED
    )
    accountable = RaciAssignment.objects.filter(registered_model_id__in=model_ids, role=RaciRole.ACCOUNTABLE)
    decisions = GateDecision.objects.filter(model_version__registered_model_id__in=model_ids).aggregate(
        total=Count("pk"), ci=Count("pk", filter=Q(api_key__isnull=False))
    )
    deployments = list(
        Deployment.objects.filter(
            model_version__registered_model_id__in=model_ids, target_stage=TargetStage.PRODUCTION
        ).values_list("model_version_id", "previous_version")
    )
    deployed_versions = frozenset(version_id for version_id, _ in deployments)
    signed = SignOff.objects.filter(
        model_version_id__in=deployed_versions, target_stage=TargetStage.PRODUCTION, valid=True
    )
    return TeamEvidence(
        team_name=team_name,
        model_names=tuple(name for _, name in models),
        model_ids=tuple(model_ids),
        latest_versions=latest_versions,
        aliases=alias_counts["total"],
        aliases_outside_platform=alias_counts["outside"],
        assessed_models=frozenset(assessed.values_list("registered_model_id", flat=True)),
        accountable_models=frozenset(accountable.values_list("registered_model_id", flat=True)),
        gate_decisions=decisions["total"],
        gate_decisions_ci=decisions["ci"],
        production_deployments=len(deployments),
        deployments_replacing=sum(1 for _, previous in deployments if previous is not None),
        deployed_versions=deployed_versions,
        signed_versions=frozenset(signed.values_list("model_version_id", flat=True)),
    )


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:MAX_NAMES])
    return shown + (f" and {len(names) - MAX_NAMES} more" if len(names) > MAX_NAMES else "")


def _no_models(evidence: TeamEvidence) -> CheckResult:
    return CheckResult(
        None, f"No active registered model carries the MLflow tag {TEAM_TAG}={evidence.team_name}."
    )


def _latest_versions_check(
    evidence: TeamEvidence, has: Callable[[ModelVersion], bool], what: str
) -> CheckResult:
    if not evidence.model_names:
        return _no_models(evidence)
    if not evidence.latest_versions:
        return CheckResult(None, "The team's models have no active versions.")
    missing = [str(v) for v in evidence.latest_versions if not has(v)]
    total = len(evidence.latest_versions)
    if not missing:
        return CheckResult(True, f"All {total} latest model versions {what}.")
    return CheckResult(
        False, f"{total - len(missing)} of {total} latest versions {what}; missing: {_names(missing)}."
    )


def check_models_registered(evidence: TeamEvidence) -> CheckResult:
    if not evidence.model_names:
        return CheckResult(False, _no_models(evidence).evidence)
    count = len(evidence.model_names)
    return CheckResult(
        True, f"{count} active registered model{'s' * (count != 1)}: {_names(list(evidence.model_names))}."
    )


def check_versions_have_params_metrics(evidence: TeamEvidence) -> CheckResult:
    return _latest_versions_check(
        evidence,
        lambda v: bool(v.run and v.run.params and v.run.metrics),
        "have a run with params and metrics",
    )


def check_versions_have_datasets(evidence: TeamEvidence) -> CheckResult:
    return _latest_versions_check(
        evidence,
        lambda v: bool(v.run and v.run.datasets and all(d.get("digest") for d in v.run.datasets)),
        "log their dataset inputs with digests",
    )


def check_bias_metrics_logged(evidence: TeamEvidence) -> CheckResult:
    return _latest_versions_check(
        evidence, lambda v: bool(v.run and v.run.bias_metrics), "log bias/fairness metrics"
    )


def check_training_runs_automated(evidence: TeamEvidence) -> CheckResult:
    if not evidence.model_names:
        return _no_models(evidence)
    sources = [
        (str(v), (v.run.tags.get("mlflow.source.type", "") if v.run else ""))
        for v in evidence.latest_versions
    ]
    notebooks = [name for name, source in sources if source == "NOTEBOOK"]
    if notebooks:
        return CheckResult(False, f"Trained from a notebook: {_names(notebooks)}.")
    if sources and all(source in AUTOMATED_SOURCE_TYPES for _, source in sources):
        return CheckResult(True, f"All {len(sources)} latest versions were trained by a job or project run.")
    return CheckResult(None, "The runs do not say whether they came from a pipeline (mlflow.source.type).")


def check_aliases_used(evidence: TeamEvidence) -> CheckResult:
    if not evidence.model_names:
        return _no_models(evidence)
    if evidence.aliases:
        return CheckResult(
            True, f"{evidence.aliases} alias{'es' * (evidence.aliases != 1)} set on the team's models."
        )
    return CheckResult(False, "No registry alias is set on any of the team's models.")


def check_ci_gate_calls(evidence: TeamEvidence) -> CheckResult:
    if not evidence.model_names:
        return _no_models(evidence)
    if evidence.gate_decisions_ci:
        return CheckResult(
            True,
            f"{evidence.gate_decisions_ci} of {evidence.gate_decisions} gate decisions came from a CI API key.",
        )
    if evidence.gate_decisions:
        return CheckResult(False, f"{evidence.gate_decisions} gate decisions, none made with a CI API key.")
    return CheckResult(False, "No gate decision has been recorded for the team's models.")


def check_promotions_via_platform(evidence: TeamEvidence) -> CheckResult:
    if not evidence.model_names:
        return _no_models(evidence)
    if evidence.aliases_outside_platform:
        return CheckResult(
            False,
            f"{evidence.aliases_outside_platform} protected alias(es) were moved in MLflow outside the platform.",
        )
    if evidence.production_deployments:
        return CheckResult(
            True, f"{evidence.production_deployments} production deployment(s) made by the platform."
        )
    return CheckResult(False, "No production deployment has been made through the platform.")


def check_rollback_target_recorded(evidence: TeamEvidence) -> CheckResult:
    if not evidence.model_names:
        return _no_models(evidence)
    if evidence.deployments_replacing:
        return CheckResult(
            True,
            f"{evidence.deployments_replacing} deployment(s) replaced a recorded previous version (rollback target).",
        )
    if evidence.production_deployments:
        return CheckResult(None, "Deployments recorded, but none has replaced a previous version yet.")
    return CheckResult(None, "No production deployment recorded, so rollback cannot be checked.")


def check_approvals_signed_off(evidence: TeamEvidence) -> CheckResult:
    if not evidence.model_names:
        return _no_models(evidence)
    if not evidence.deployed_versions:
        return CheckResult(None, "No production deployment recorded, so approvals cannot be checked.")
    unsigned = len(evidence.deployed_versions - evidence.signed_versions)
    total = len(evidence.deployed_versions)
    if unsigned:
        return CheckResult(
            False, f"{unsigned} of {total} deployed versions have no valid production sign-off."
        )
    return CheckResult(True, f"All {total} deployed versions have valid production sign-offs.")


def _per_model_check(evidence: TeamEvidence, covered: frozenset[int], what: str) -> CheckResult:
    if not evidence.model_names:
        return _no_models(evidence)
    missing = [
        name for pk, name in zip(evidence.model_ids, evidence.model_names, strict=True) if pk not in covered
    ]
    total = len(evidence.model_names)
    if missing:
        return CheckResult(
            False, f"{total - len(missing)} of {total} models {what}; missing: {_names(missing)}."
        )
    return CheckResult(True, f"All {total} models {what}.")


def check_risk_tiers_assessed(evidence: TeamEvidence) -> CheckResult:
    return _per_model_check(evidence, evidence.assessed_models, "have an assessed risk tier")


def check_raci_assigned(evidence: TeamEvidence) -> CheckResult:
    return _per_model_check(evidence, evidence.accountable_models, "have an accountable owner in the RACI")


CHECKS: Mapping[str, Callable[[TeamEvidence], CheckResult]] = {
    "models_registered": check_models_registered,
    "versions_have_params_metrics": check_versions_have_params_metrics,
    "versions_have_datasets": check_versions_have_datasets,
    "training_runs_automated": check_training_runs_automated,
    "aliases_used": check_aliases_used,
    "ci_gate_calls": check_ci_gate_calls,
    "promotions_via_platform": check_promotions_via_platform,
    "rollback_target_recorded": check_rollback_target_recorded,
    "approvals_signed_off": check_approvals_signed_off,
    "bias_metrics_logged": check_bias_metrics_logged,
    "risk_tiers_assessed": check_risk_tiers_assessed,
    "raci_assigned": check_raci_assigned,
}


def checks_run(*, evidence: TeamEvidence) -> dict[str, CheckResult]:
    return {name: check(evidence) for name, check in CHECKS.items()}


def team_checks(*, team_name: str) -> dict[str, CheckResult]:
    """Load the team's evidence and run every check."""
    return checks_run(evidence=team_evidence_load(team_name=team_name))
