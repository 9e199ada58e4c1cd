"""Governance reads: the model inventory mirrored from MLflow and the state of the sync passes.

Every list selector returns a queryset whose cost in queries does not depend on the number of rows.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db.models import (
    Case,
    CharField,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    IntegerField,
    JSONField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce, Now, NullIf
from django.utils import timezone

from governance import roles
from governance.models import (
    ApprovalRequest,
    ApprovalState,
    AuditEvent,
    Deployment,
    GateDecision,
    RaciAssignment,
    RiskTier,
    SignOff,
    SignOffRole,
)
from governance.permissions import ModelAction, Stewardship, model_action_allowed
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
                queryset=RaciAssignment.objects.select_related("user", "group").order_by(
                    "role", "group__name", "user__username"
                ),
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


# ------------------------------------------------------------------------------------------------ approvals

# The queue's default view: requests someone still has to act on (review, decide or deploy).
QUEUE_DEFAULT_STATES = (ApprovalState.SUBMITTED, ApprovalState.IN_REVIEW, ApprovalState.APPROVED)
SIGNOFF_STATES = (ApprovalState.SUBMITTED, ApprovalState.IN_REVIEW)
TIMELINE_OBJECT_TYPES = {
    "approval": "governance.approvalrequest",
    "signoff": "governance.signoff",
    "decision": "governance.gatedecision",
}


def user_list_active() -> QuerySet[User]:
    """Active users by username, for the RACI assignment form."""
    return User.objects.filter(is_active=True).order_by("username")


def group_list() -> QuerySet[Group]:
    """Every group by name, for the RACI assignment form."""
    return Group.objects.order_by("name")


def _team_expression(prefix: str) -> Coalesce:
    # The governance record's team wins; the MLflow tag `team` is the fallback.
    return Coalesce(
        NullIf(F(f"{prefix}governance__team"), Value("")),
        KeyTextTransform("team", f"{prefix}tags"),
        output_field=CharField(),
    )


def _effective_tier_expression(prefix: str) -> Coalesce:
    # Mirrors ModelGovernance.effective_tier in SQL; a model without a governance record is unassessed.
    approved_override = Q(**{f"{prefix}governance__override_approved_by__isnull": False}) & ~Q(
        **{f"{prefix}governance__override_tier": ""}
    )
    return Coalesce(
        Case(
            When(approved_override, then=F(f"{prefix}governance__override_tier")),
            default=F(f"{prefix}governance__risk_tier"),
        ),
        Value(RiskTier.UNASSESSED.value),
        output_field=CharField(),
    )


def approval_request_queue(
    *,
    states: Sequence[str] = QUEUE_DEFAULT_STATES,
    risk_tier: str = "",
    team: str = "",
    waiting_over: timedelta | None = None,
    now: datetime | None = None,
) -> QuerySet[ApprovalRequest]:
    """Approval requests in `states`, oldest submission first (drafts last), each with `team_name`,
    `effective_risk_tier`, `waiting` (since submitted; None for drafts) and the latest gate decision for its version and target (`last_decision_id`,
    `last_decision_allow`, `last_decision_at`, `last_decision_signoffs`). One query per page, whatever
    the number of rows."""
    latest = GateDecision.objects.filter(
        model_version=OuterRef("model_version"), target_stage=OuterRef("target_stage")
    ).order_by("-evaluated_at", "-pk")
    model = "model_version__registered_model__"
    qs = (
        ApprovalRequest.objects.filter(state__in=states)
        .select_related(f"{model}governance", "submitted_by", "created_by")
        .annotate(
            team_name=_team_expression(model),
            effective_risk_tier=_effective_tier_expression(model),
            waiting=ExpressionWrapper(Now() - F("submitted_at"), output_field=DurationField()),
            last_decision_id=Subquery(latest.values("pk")[:1]),
            last_decision_allow=Subquery(latest.values("allow")[:1]),
            last_decision_at=Subquery(latest.values("evaluated_at")[:1]),
            last_decision_signoffs=Subquery(latest.values("required_signoffs")[:1], output_field=JSONField()),
        )
    )
    if risk_tier:
        qs = qs.filter(effective_risk_tier=risk_tier)
    if team:
        qs = qs.filter(team_name=team)
    if waiting_over is not None:
        qs = qs.filter(submitted_at__lte=(now or timezone.now()) - waiting_over)
    return qs.order_by(F("submitted_at").asc(nulls_last=True), "created_at", "pk")


def approval_request_team_names() -> list[str]:
    """Teams of the models that have approval requests, for the queue's team filter."""
    return list(
        ApprovalRequest.objects.annotate(team_name=_team_expression("model_version__registered_model__"))
        .exclude(team_name__isnull=True)
        .exclude(team_name="")
        .order_by("team_name")
        .values_list("team_name", flat=True)
        .distinct()
    )


def approval_request_detail(*, pk: int) -> ApprovalRequest:
    """One approval request with its version (run, model, governance), people and linked gate decision.

    Raises ApprovalRequest.DoesNotExist for an unknown id.
    """
    return (
        ApprovalRequest.objects.select_related(
            "model_version__run",
            "model_version__registered_model__governance",
            "created_by",
            "submitted_by",
            "reviewer",
            "decided_by",
            "gate_decision",
        )
        .defer("gate_decision__input_document", "gate_decision__signed_document")
        .get(pk=pk)
    )


def approval_requests_by_version(*, registered_model_id: int) -> dict[int, list[ApprovalRequest]]:
    """Every approval request of the model's versions, newest first, keyed by version id."""
    by_version: dict[int, list[ApprovalRequest]] = {}
    requests = ApprovalRequest.objects.filter(
        model_version__registered_model_id=registered_model_id
    ).select_related("submitted_by", "created_by")
    for request in requests.order_by("-created_at", "-pk"):
        by_version.setdefault(request.model_version_id, []).append(request)
    return by_version


def signoff_list(*, model_version_id: int, target: str) -> QuerySet[SignOff]:
    """Sign-offs (valid and invalidated) on one version for one target, oldest first."""
    return (
        SignOff.objects.filter(model_version_id=model_version_id, target_stage=target)
        .select_related("user")
        .order_by("created_at", "pk")
    )


def gate_decision_history(*, model_version_id: int, target: str) -> QuerySet[GateDecision]:
    """Gate decisions for one version and target, newest first, without the large documents."""
    return (
        GateDecision.objects.filter(model_version_id=model_version_id, target_stage=target)
        .select_related("deployment")
        .defer("input_document", "signed_document")
        .order_by("-evaluated_at", "-pk")
    )


def approval_request_timeline(*, approval: ApprovalRequest) -> QuerySet[AuditEvent]:
    """Audit events about the request, the sign-offs on its version and target, and the gate decisions
    for them since the request was opened; oldest first (the chain's order)."""
    # Ids are read first, not joined: object_id is text, and UUIDs print differently per database.
    signoff_ids = SignOff.objects.filter(
        model_version_id=approval.model_version_id, target_stage=approval.target_stage
    ).values_list("pk", flat=True)
    decision_ids = GateDecision.objects.filter(
        model_version_id=approval.model_version_id,
        target_stage=approval.target_stage,
        evaluated_at__gte=approval.created_at,
    ).values_list("pk", flat=True)
    return AuditEvent.objects.filter(
        Q(object_type=TIMELINE_OBJECT_TYPES["approval"], object_id=str(approval.pk))
        | Q(object_type=TIMELINE_OBJECT_TYPES["signoff"], object_id__in=[str(pk) for pk in signoff_ids])
        | Q(object_type=TIMELINE_OBJECT_TYPES["decision"], object_id__in=[str(pk) for pk in decision_ids])
    ).order_by("sequence")


def model_effective_risk_tier(*, model: RegisteredModel) -> str:
    """The tier the gate applies (an approved override wins), or unassessed without a governance record."""
    governance = getattr(model, "governance", None)
    return governance.effective_tier if governance is not None else RiskTier.UNASSESSED.value


def _holds(role_names: frozenset[str], allowed: set[str]) -> bool:
    return bool(role_names & allowed)


# Who may evaluate the gate: the roles the evaluate API accepts (api_gate.CanEvaluate), i.e. all but viewer.
GATE_CHECK_ROLES = set(roles.ALL_ROLES) - {roles.VIEWER}


@dataclass(frozen=True)
class ApprovalActions:
    """What the page offers one user on one request. The services still decide; this only hides buttons
    that would certainly be refused, and says why in `notes`."""

    submit: bool
    start_review: bool
    approve: bool
    reject: bool
    withdraw: bool
    retire: bool
    check_gate: bool
    edit_intended_use: bool
    signoff_roles: Sequence[tuple[str, str]]
    signoff_blocked: str  # why this user cannot sign off, when they hold a sign-off role
    notes: Sequence[str]

    @property
    def any_transition(self) -> bool:
        return any((self.submit, self.start_review, self.approve, self.reject, self.withdraw, self.retire))


def approval_request_available_actions(
    *,
    approval: ApprovalRequest,
    user: User,
    role_names: frozenset[str],
    stewardship: Stewardship | None,
    signoffs: Sequence[SignOff] = (),
) -> ApprovalActions:
    """The buttons and sign-off roles to offer `user` on `approval`, by state, role, the user's stewardship
    of the model (permissions.model_stewardship_for_roles; None when the roles decide alone) and
    separation of duties."""
    # Imported here: the services import registry_sync, whose sync imports this module.
    from governance.services.approvals import DECIDER_ROLES, REVIEWER_ROLES
    from governance.services.records import SIGNOFF_ROLE_GROUPS

    def may(action: ModelAction) -> bool:
        return model_action_allowed(action=action, role_names=role_names, stewardship=stewardship)

    state = approval.state
    is_submitter = approval.submitted_by_id == user.pk
    is_author = user.pk in {approval.created_by_id, approval.submitted_by_id}
    version = approval.model_version
    registrant = version.user_id or (version.run.user_id if version.run else "")
    notes = []
    if is_submitter and state in SIGNOFF_STATES:
        notes.append("You submitted this request, so someone else must review, sign off and decide it.")
    held = [role for role, group in SIGNOFF_ROLE_GROUPS.items() if group in role_names]
    if SignOffRole.OWNER in held and not may(ModelAction.OWNER_SIGNOFF):
        held.remove(SignOffRole.OWNER)
        if not held and state in SIGNOFF_STATES:
            notes.append(
                f"You are not Responsible or Accountable for model {version.registered_model.name}, "
                "so you cannot give its owner sign-off or act on its requests as its owner."
            )
    signed = {s.role for s in signoffs if s.valid and s.user_id == user.pk}
    signoff_blocked = ""
    if held and is_submitter:
        signoff_blocked = "You submitted this request, so you cannot sign it off."
    elif held and user.get_username() == registrant:
        signoff_blocked = "You registered this version in MLflow, so you cannot sign it off."
    elif held and all(role.value in signed for role in held):
        signoff_blocked = "You have signed off this version in every role you hold."
    signoff_roles = (
        [(role.value, SignOffRole(role).label) for role in held if role.value not in signed]
        if state in SIGNOFF_STATES and not signoff_blocked
        else []
    )
    return ApprovalActions(
        submit=state == ApprovalState.DRAFT and may(ModelAction.SUBMIT_APPROVAL),
        start_review=state == ApprovalState.SUBMITTED
        and not is_submitter
        and _holds(role_names, REVIEWER_ROLES),
        approve=state == ApprovalState.IN_REVIEW and not is_submitter and _holds(role_names, DECIDER_ROLES),
        reject=state in SIGNOFF_STATES and _holds(role_names, DECIDER_ROLES),
        withdraw=state in (ApprovalState.DRAFT, *SIGNOFF_STATES)
        and (roles.ADMIN in role_names or (is_author and may(ModelAction.WITHDRAW_APPROVAL))),
        retire=state == ApprovalState.DEPLOYED and may(ModelAction.RETIRE),
        check_gate=state in (*SIGNOFF_STATES, ApprovalState.APPROVED)
        and _holds(role_names, GATE_CHECK_ROLES),
        edit_intended_use=may(ModelAction.EDIT_INTENDED_USE),
        signoff_roles=signoff_roles,
        signoff_blocked=signoff_blocked,
        notes=notes,
    )


def intended_use_profile_schema() -> dict[str, dict[str, Any]]:
    """The risk policy's intended-use questions (type, allowed values, required), in the schema's order."""
    schema: dict[str, dict[str, Any]] = _bundle_data("config", "risk").get("profile_schema", {})
    return schema


def intended_use_large_user_base() -> int | None:
    """From how many people affected the risk policy raises the tier (LARGE_USER_BASE)."""
    value = _bundle_data("config", "risk").get("large_user_base")
    return int(value) if isinstance(value, int | float) else None


def registered_model_with_governance(*, name: str) -> RegisteredModel:
    """One model with its governance record; raises RegisteredModel.DoesNotExist for an unknown name."""
    return RegisteredModel.objects.select_related("governance").get(name=name)
