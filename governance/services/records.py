"""Governance records the gate reads: intended-use profile and risk tier, RACI, and sign-offs."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib.auth.models import Group, User
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from governance import roles
from governance.models import (
    ApprovalRequest,
    ApprovalState,
    ModelGovernance,
    RaciAssignment,
    RaciRole,
    RiskTier,
    SignOff,
    SignOffRole,
)
from governance.permissions import ModelAction, model_action_require
from governance.services.audit import audit_event_record
from governance.services.gate import GateError
from policies.engine import risk_tier_assessment
from registry_sync.models import ModelVersion, RegisteredModel

# Which Django group may give which sign-off.
SIGNOFF_ROLE_GROUPS = {
    SignOffRole.OWNER: roles.MODEL_OWNER,
    SignOffRole.VALIDATOR: roles.VALIDATOR,
    SignOffRole.COMPLIANCE: roles.COMPLIANCE_OFFICER,
    SignOffRole.COMMITTEE: roles.COMMITTEE_MEMBER,
}


def model_governance_for(*, registered_model: RegisteredModel) -> ModelGovernance:
    governance, _ = ModelGovernance.objects.get_or_create(registered_model=registered_model)
    return governance


@transaction.atomic
def intended_use_set(
    *,
    registered_model: RegisteredModel,
    profile: dict[str, Any],
    actor: User | str,
    as_of: date | None = None,
) -> ModelGovernance:
    """Store the profile and the risk tier the policy computes from it; an invalid profile is refused.
    A person needs to steward the model or be compliance/admin; a system actor (str) is trusted."""
    if isinstance(actor, User):
        model_action_require(
            user=actor, action=ModelAction.EDIT_INTENDED_USE, registered_model=registered_model
        )
    assessment = risk_tier_assessment(
        {"profile": profile, "as_of": (as_of or timezone.now().date()).isoformat()}
    )
    invalid = [r for r in assessment.reasons if r.get("code") in {"INPUT_INVALID", "POLICY_ENGINE_ERROR"}]
    if invalid:
        raise GateError(
            "PROFILE_INVALID",
            "The intended-use profile could not be assessed.",
            status=400,
        ) from ValueError([r.get("message") for r in invalid])
    governance = ModelGovernance.objects.select_for_update().get(
        pk=model_governance_for(registered_model=registered_model).pk
    )
    before = {"risk_tier": governance.risk_tier, "intended_use": governance.intended_use}
    effective_before = governance.effective_tier
    governance.intended_use = profile
    governance.risk_tier = assessment.tier
    governance.risk_reasons = list(assessment.reasons)
    governance.risk_assessed_at = timezone.now()
    governance.risk_bundle_digest = assessment.policy.bundle_digest
    governance.save()
    audit_event_record(
        action="governance.risk_tier_assessed",
        actor=actor,
        target=registered_model,
        data={
            "before": before,
            "after": {"risk_tier": assessment.tier, "intended_use": profile},
            "reasons": [r.get("code") for r in assessment.reasons],
            "bundle_digest": assessment.policy.bundle_digest,
        },
    )
    _reopen_approvals_on_tier_change(
        registered_model=registered_model,
        before=effective_before,
        after=governance.effective_tier,
        actor=actor,
    )
    return governance


@transaction.atomic
def raci_assign(
    *,
    registered_model: RegisteredModel,
    role: str,
    actor: User | str,
    user: User | None = None,
    group: Group | None = None,
) -> RaciAssignment:
    """Assign a RACI role to `user` or to `group` (one of them; a group counts for each of its members).
    People need to steward the model (or claim it while nobody does)."""
    if isinstance(actor, User):
        model_action_require(user=actor, action=ModelAction.EDIT_RACI, registered_model=registered_model)
    if role not in RaciRole.values:
        raise GateError("RACI_ROLE_INVALID", f"RACI role must be one of {RaciRole.values}.", status=400)
    if (user is None) == (group is None):
        raise GateError(
            "RACI_ASSIGNEE_INVALID", "Assign the RACI role to a person or to a group.", status=400
        )
    assignment, created = RaciAssignment.objects.get_or_create(
        registered_model=registered_model, role=role, user=user, group=group
    )
    if created:
        assignee = (
            {"user": user.get_username()} if user is not None else {"group": group.name if group else ""}
        )
        audit_event_record(
            action="governance.raci_assigned",
            actor=actor,
            target=registered_model,
            data={"role": role, **assignee},
        )
    return assignment


def _submitters(model_version: ModelVersion) -> set[str]:
    """Who put this version forward: its MLflow registrant (or run author) and any approval submitter."""
    registrant = model_version.user_id or (model_version.run.user_id if model_version.run else "")
    requested = ApprovalRequest.objects.filter(
        model_version=model_version, submitted_by__isnull=False
    ).values_list("submitted_by__username", flat=True)
    return {name for name in (registrant, *requested) if name}


@transaction.atomic
def signoff_record(
    *,
    model_version: ModelVersion,
    target: str,
    role: str,
    user: User,
    comment: str = "",
    evidence: list[str] | None = None,
) -> SignOff:
    """Record one sign-off after the separation-of-duties checks; the policy re-checks them at the gate."""
    group = SIGNOFF_ROLE_GROUPS.get(SignOffRole(role)) if role in SignOffRole.values else None
    if group is None:
        raise GateError(
            "SIGNOFF_ROLE_INVALID", f"Sign-off role must be one of {SignOffRole.values}.", status=400
        )
    if not user.is_superuser and not user.groups.filter(name=group).exists():
        raise GateError(
            "SIGNOFF_ROLE_NOT_HELD", f"{user.get_username()} does not hold the {group} role.", status=403
        )
    if role == SignOffRole.OWNER:
        model_action_require(
            user=user, action=ModelAction.OWNER_SIGNOFF, registered_model=model_version.registered_model
        )
    if user.get_username() in _submitters(model_version):
        raise GateError(
            "SEPARATION_OF_DUTIES", "The person who submitted this version cannot sign it off.", status=409
        )
    is_responsible = (
        RaciAssignment.objects.filter(
            registered_model=model_version.registered_model, role=RaciRole.RESPONSIBLE
        )
        .filter(Q(user=user) | Q(group_id__in=user.groups.values("pk")))
        .exists()
    )
    if role == SignOffRole.VALIDATOR and is_responsible:
        raise GateError(
            "SEPARATION_OF_DUTIES",
            "A validator cannot be Responsible for the model they validate.",
            status=409,
        )
    try:
        with transaction.atomic():
            signoff = SignOff.objects.create(
                model_version=model_version,
                target_stage=target,
                role=role,
                user=user,
                comment=comment,
                evidence=evidence or [],
            )
    except IntegrityError:
        raise GateError(
            "SIGNOFF_DUPLICATE", "This person already signed this role for this version.", status=409
        ) from None
    audit_event_record(
        action="governance.signoff_recorded",
        actor=user,
        target=signoff,
        data={
            "model": model_version.registered_model.name,
            "version": model_version.version,
            "target": target,
            "role": role,
            "evidence": signoff.evidence,
        },
    )
    return signoff


def _reopen_approvals_on_tier_change(
    *, registered_model: RegisteredModel, before: str, after: str, actor: User | str
) -> None:
    """A tier change changes the sign-offs required: approved-but-not-deployed requests go back to review."""
    if before == after:
        return
    reopened = ApprovalRequest.objects.filter(
        model_version__registered_model=registered_model, state=ApprovalState.APPROVED
    )
    for request in reopened:
        updated = ApprovalRequest.objects.filter(pk=request.pk, state=ApprovalState.APPROVED).update(
            state=ApprovalState.IN_REVIEW, decided_by=None, decided_at=None, gate_decision=None
        )
        if updated == 1:
            audit_event_record(
                action="approval.reopened",
                actor=actor,
                target=request,
                data={
                    "from": ApprovalState.APPROVED,
                    "to": ApprovalState.IN_REVIEW,
                    "tier_before": before,
                    "tier_after": after,
                },
            )


OVERRIDE_APPROVER_ROLES = {roles.COMPLIANCE_OFFICER, roles.COMMITTEE_MEMBER, roles.ADMIN}


@transaction.atomic
def risk_tier_override_request(
    *, registered_model: RegisteredModel, tier: str, justification: str, actor: User
) -> ModelGovernance:
    """Propose a manual tier; it takes effect only once a second person approves it."""
    model_action_require(
        user=actor, action=ModelAction.REQUEST_TIER_OVERRIDE, registered_model=registered_model
    )
    if tier not in RiskTier.values or tier == RiskTier.UNASSESSED:
        raise GateError(
            "TIER_INVALID", "The override must be minimal, limited, high or unacceptable.", status=400
        )
    if len(justification.strip()) < 20:
        raise GateError(
            "JUSTIFICATION_REQUIRED", "Explain the override in at least 20 characters.", status=400
        )
    governance = ModelGovernance.objects.select_for_update().get(
        pk=model_governance_for(registered_model=registered_model).pk
    )
    governance.override_tier = tier
    governance.override_justification = justification.strip()
    governance.override_requested_by = actor
    governance.override_approved_by = None
    governance.override_approved_at = None
    governance.save()
    audit_event_record(
        action="governance.tier_override_requested",
        actor=actor,
        target=registered_model,
        data={
            "computed_tier": governance.risk_tier,
            "override_tier": tier,
            "justification": governance.override_justification,
        },
    )
    return governance


@transaction.atomic
def risk_tier_override_approve(*, registered_model: RegisteredModel, actor: User) -> ModelGovernance:
    governance = ModelGovernance.objects.select_for_update().filter(registered_model=registered_model).first()
    if governance is None or not governance.override_pending:
        raise GateError("NO_PENDING_OVERRIDE", "There is no tier override waiting for approval.", status=409)
    if governance.override_requested_by_id == actor.pk:
        raise GateError("SEPARATION_OF_DUTIES", "A second person must approve the override.", status=409)
    if not actor.is_superuser and not actor.groups.filter(name__in=OVERRIDE_APPROVER_ROLES).exists():
        raise GateError(
            "ROLE_REQUIRED", "Only compliance, the committee or an admin approve overrides.", status=403
        )
    before = governance.effective_tier
    governance.override_approved_by = actor
    governance.override_approved_at = timezone.now()
    governance.save()
    audit_event_record(
        action="governance.tier_override_approved",
        actor=actor,
        target=registered_model,
        data={
            "before": before,
            "after": governance.effective_tier,
            "justification": governance.override_justification,
        },
    )
    _reopen_approvals_on_tier_change(
        registered_model=registered_model, before=before, after=governance.effective_tier, actor=actor
    )
    return governance
