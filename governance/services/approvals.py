"""Approval requests: draft → submitted → in_review → approved | rejected | withdrawn; approved → deployed
(by the gate's promote) → retired. Every transition is an idempotent claim on the expected state, audited."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from governance import roles
from governance.models import ApprovalRequest, ApprovalState
from governance.notifications import notify_transition
from governance.permissions import ModelAction, model_action_require
from governance.services.audit import audit_event_record
from governance.services.gate import GateError, gate_evaluate
from registry_sync.models import MirrorState, ModelVersion

# Reviewing and deciding are independent functions: these roles act on any model's requests. What model
# owners may do depends on the model (governance.permissions).
REVIEWER_ROLES = {roles.VALIDATOR, roles.COMPLIANCE_OFFICER, roles.COMMITTEE_MEMBER, roles.ADMIN}
DECIDER_ROLES = {roles.COMMITTEE_MEMBER, roles.ADMIN}


def _require_role(user: User, allowed: set[str], action: str) -> None:
    if user.is_superuser or user.groups.filter(name__in=allowed).exists():
        return
    raise GateError(
        "ROLE_REQUIRED", f"To {action} you need one of the roles: {', '.join(sorted(allowed))}.", status=403
    )


def _transition(
    request: ApprovalRequest,
    *,
    expected: list[str],
    to: str,
    actor: User,
    action: str,
    changes: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
) -> ApprovalRequest:
    """Move the request only if it is still in an expected state (the claim); audit in the same transaction."""
    updated = ApprovalRequest.objects.filter(pk=request.pk, state__in=expected).update(
        state=to, updated_at=timezone.now(), **(changes or {})
    )
    if updated != 1:
        current = ApprovalRequest.objects.filter(pk=request.pk).values_list("state", flat=True).first()
        raise GateError(
            "INVALID_TRANSITION",
            f"A request that is {current} cannot become {to}; it must be {' or '.join(expected)} first.",
            status=409,
        )
    previous = request.state
    request.refresh_from_db()
    transaction.on_commit(lambda: notify_transition(approval_request_id=request.pk))
    audit_event_record(
        action=f"approval.{action}",
        actor=actor,
        target=request,
        data={"from": previous, "to": to, **(data or {})},
    )
    return request


@transaction.atomic
def approval_request_create(*, model_version: ModelVersion, target: str, actor: User) -> ApprovalRequest:
    model_action_require(
        user=actor, action=ModelAction.CREATE_APPROVAL, registered_model=model_version.registered_model
    )
    if model_version.state == MirrorState.ARCHIVED:
        raise GateError("VERSION_ARCHIVED", "The version was deleted in MLflow.", status=409)
    try:
        with transaction.atomic():
            request = ApprovalRequest.objects.create(
                model_version=model_version, target_stage=target, created_by=actor
            )
    except IntegrityError:
        raise GateError(
            "APPROVAL_ALREADY_OPEN",
            "An open approval request exists for this version and target.",
            status=409,
        ) from None
    audit_event_record(
        action="approval.created",
        actor=actor,
        target=request,
        data={
            "model": model_version.registered_model.name,
            "version": model_version.version,
            "target": target,
        },
    )
    return request


@transaction.atomic
def approval_request_submit(*, request: ApprovalRequest, actor: User) -> ApprovalRequest:
    model_action_require(
        user=actor,
        action=ModelAction.SUBMIT_APPROVAL,
        registered_model=request.model_version.registered_model,
    )
    return _transition(
        request,
        expected=[ApprovalState.DRAFT],
        to=ApprovalState.SUBMITTED,
        actor=actor,
        action="submitted",
        changes={"submitted_by": actor, "submitted_at": timezone.now()},
    )


@transaction.atomic
def approval_request_start_review(*, request: ApprovalRequest, actor: User) -> ApprovalRequest:
    _require_role(actor, REVIEWER_ROLES, "review")
    if request.submitted_by_id == actor.pk:
        raise GateError("SEPARATION_OF_DUTIES", "The submitter cannot review their own request.", status=409)
    return _transition(
        request,
        expected=[ApprovalState.SUBMITTED],
        to=ApprovalState.IN_REVIEW,
        actor=actor,
        action="review_started",
        changes={"reviewer": actor},
    )


def approval_request_approve(*, request: ApprovalRequest, actor: User, comment: str = "") -> ApprovalRequest:
    """Approve only when the gate, evaluated now on the inventory, allows; the decision is linked.
    The evaluation is stored whatever the outcome, so it runs before (outside) the transition's transaction."""
    _require_role(actor, DECIDER_ROLES, "approve")
    if request.submitted_by_id == actor.pk:
        raise GateError("SEPARATION_OF_DUTIES", "The submitter cannot approve their own request.", status=409)
    if request.state != ApprovalState.IN_REVIEW:
        raise GateError(
            "INVALID_TRANSITION", f"Cannot approve a request that is {request.state}.", status=409
        )
    version = request.model_version
    decision = gate_evaluate(
        model_name=version.registered_model.name,
        version=version.version,
        target=request.target_stage,
        caller=actor,
    )
    if not decision.allow:
        codes = ", ".join(sorted({str(r["code"]) for r in decision.reasons}))
        raise GateError(
            "GATE_DENIES",
            f"The gate denies this deployment ({codes}); see decision {decision.pk}.",
            status=409,
        )
    with transaction.atomic():
        return _transition(
            request,
            expected=[ApprovalState.IN_REVIEW],
            to=ApprovalState.APPROVED,
            actor=actor,
            action="approved",
            changes={
                "decided_by": actor,
                "decided_at": timezone.now(),
                "decision_comment": comment,
                "gate_decision": decision,
            },
            data={"gate_decision": str(decision.pk), "comment": comment},
        )


@transaction.atomic
def approval_request_reject(*, request: ApprovalRequest, actor: User, comment: str) -> ApprovalRequest:
    _require_role(actor, DECIDER_ROLES, "reject")
    if not comment.strip():
        raise GateError("COMMENT_REQUIRED", "A rejection needs a comment saying why.", status=400)
    return _transition(
        request,
        expected=[ApprovalState.SUBMITTED, ApprovalState.IN_REVIEW],
        to=ApprovalState.REJECTED,
        actor=actor,
        action="rejected",
        changes={"decided_by": actor, "decided_at": timezone.now(), "decision_comment": comment},
        data={"comment": comment},
    )


@transaction.atomic
def approval_request_withdraw(*, request: ApprovalRequest, actor: User) -> ApprovalRequest:
    model = request.model_version.registered_model
    if not actor.is_superuser and not actor.groups.filter(name=roles.ADMIN).exists():
        if actor.pk not in {request.created_by_id, request.submitted_by_id}:
            raise GateError(
                "NOT_YOURS",
                "Only the person who created or submitted the request can withdraw it.",
                status=403,
            )
        model_action_require(user=actor, action=ModelAction.WITHDRAW_APPROVAL, registered_model=model)
    return _transition(
        request,
        expected=[ApprovalState.DRAFT, ApprovalState.SUBMITTED, ApprovalState.IN_REVIEW],
        to=ApprovalState.WITHDRAWN,
        actor=actor,
        action="withdrawn",
    )


@transaction.atomic
def approval_request_retire(*, request: ApprovalRequest, actor: User) -> ApprovalRequest:
    model_action_require(
        user=actor, action=ModelAction.RETIRE, registered_model=request.model_version.registered_model
    )
    return _transition(
        request, expected=[ApprovalState.DEPLOYED], to=ApprovalState.RETIRED, actor=actor, action="retired"
    )
