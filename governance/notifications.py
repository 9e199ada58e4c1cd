"""Email to the next actors of an approval request (Django's email backend: console in the demo, SMTP in
production). Sent after commit; a mail failure is logged and never undoes the state change."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import send_mail
from django.db.models import Q

from governance import roles
from governance.models import ApprovalRequest, ApprovalState, Comment

logger = logging.getLogger(__name__)

# Who acts next after a request enters a state.
NEXT_ACTORS: dict[str, set[str]] = {
    ApprovalState.SUBMITTED: {roles.VALIDATOR, roles.COMPLIANCE_OFFICER, roles.COMMITTEE_MEMBER},
    ApprovalState.IN_REVIEW: {roles.COMMITTEE_MEMBER},
}


def _recipients(request: ApprovalRequest, state: str) -> list[str]:
    people = Q(pk__in=[pk for pk in (request.created_by_id, request.submitted_by_id) if pk])
    if state in NEXT_ACTORS:
        people = Q(groups__name__in=NEXT_ACTORS[state])
    users = User.objects.filter(people, is_active=True).exclude(email="").distinct()
    return sorted({u.email for u in users})


def _send(subject: str, body: str, recipients: list[str]) -> None:
    if not recipients:
        return
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
    except Exception:
        logger.exception("could not send notification %r", subject)


def notify_transition(*, approval_request_id: int) -> None:
    request = ApprovalRequest.objects.select_related("model_version__registered_model").get(
        pk=approval_request_id
    )
    version = request.model_version
    subject = (
        f"[mlgov] {version.registered_model.name} v{version.version} → {request.target_stage}: "
        f"{request.get_state_display().lower()}"
    )
    body = (
        f"Approval request #{request.pk} is now {request.get_state_display().lower()}.\n"
        f"{request.decision_comment}\n\nOpen it in mlgov: /approvals/{request.pk}/\n"
    )
    _send(subject, body, _recipients(request, request.state))


def notify_comment(*, comment_id: int) -> None:
    comment = Comment.objects.select_related(
        "approval_request__model_version__registered_model", "author"
    ).get(pk=comment_id)
    request = comment.approval_request
    version = request.model_version
    recipients = [
        email
        for email in _recipients(request, "comment")
        + ([request.reviewer.email] if request.reviewer and request.reviewer.email else [])
        if email != comment.author.email
    ]
    _send(
        f"[mlgov] comment on {version.registered_model.name} v{version.version} → {request.target_stage}",
        f"{comment.author.get_username()} wrote:\n\n{comment.body}\n\n/approvals/{request.pk}/\n",
        sorted(set(recipients)),
    )
