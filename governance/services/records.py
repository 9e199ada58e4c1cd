"""Governance records the gate reads: intended-use profile and risk tier, RACI, and sign-offs."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from governance import roles
from governance.models import ApprovalRequest, ModelGovernance, RaciAssignment, RaciRole, SignOff, SignOffRole
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
    """Store the profile and the risk tier the policy computes from it; an invalid profile is refused."""
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
    return governance


@transaction.atomic
def raci_assign(
    *, registered_model: RegisteredModel, role: str, user: User, actor: User | str
) -> RaciAssignment:
    if role not in RaciRole.values:
        raise GateError("RACI_ROLE_INVALID", f"RACI role must be one of {RaciRole.values}.", status=400)
    assignment, created = RaciAssignment.objects.get_or_create(
        registered_model=registered_model, role=role, user=user
    )
    if created:
        audit_event_record(
            action="governance.raci_assigned",
            actor=actor,
            target=registered_model,
            data={"role": role, "user": user.get_username()},
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
    if user.get_username() in _submitters(model_version):
        raise GateError(
            "SEPARATION_OF_DUTIES", "The person who submitted this version cannot sign it off.", status=409
        )
    is_responsible = RaciAssignment.objects.filter(
        registered_model=model_version.registered_model, role=RaciRole.RESPONSIBLE, user=user
    ).exists()
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
